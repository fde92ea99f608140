"""Reading layouts: GeoJSON mappings and files, frames, CRS handling, errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

import safespace
from safespace.errors import InputError
from tests.conftest import collection, feature, real_file, square

LON, LAT = 0.12, 52.205  # Cambridge, UTM zone 31N


def deg_square(dx: float, dy: float, size_m: float) -> dict:
    """A square of size_m metres at (dx, dy) metres from (LON, LAT), in degrees."""
    to_geo = Transformer.from_crs(32631, 4326, always_xy=True)
    x0, y0 = Transformer.from_crs(4326, 32631, always_xy=True).transform(LON, LAT)
    ring = [
        (x0 + dx, y0 + dy),
        (x0 + dx + size_m, y0 + dy),
        (x0 + dx + size_m, y0 + dy + size_m),
        (x0 + dx, y0 + dy + size_m),
        (x0 + dx, y0 + dy),
    ]
    return {"type": "Polygon", "coordinates": [[list(to_geo.transform(x, y)) for x, y in ring]]}


def test_geojson_mapping_gets_utm_of_centroid_and_metric_areas():
    doc = collection(feature(deg_square(0, 0, 10), building="house", name="A"))
    layout = safespace.load(doc)
    assert layout.crs.to_epsg() == 32631
    assert layout.source_crs.equals(CRS.from_epsg(4326))
    assert layout.buildings.geometry.area.iloc[0] == pytest.approx(100.0, rel=1e-6)
    assert layout.buildings["tags"].iloc[0] == {"building": "house", "name": "A"}
    assert layout.buildings["name"].iloc[0] == "A"


def test_southern_hemisphere_and_named_crs():
    doc = collection(
        feature({"type": "Point", "coordinates": [151.2, -33.87]}, highway="street_lamp")
    )
    assert safespace.load(doc).crs.to_epsg() == 32756
    assert safespace.load(doc, crs="EPSG:3857").crs.to_epsg() == 3857


def test_legacy_crs_member_is_honoured():
    # British National Grid metres, declared the pre-RFC-7946 way
    doc = collection(
        feature(square(545000, 258000, 20), building="yes"),
        crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
    )
    layout = safespace.load(doc)
    assert layout.source_crs.to_epsg() == 27700
    assert layout.crs.to_epsg() == 27700  # already metric: kept, no reprojection error
    assert layout.buildings.geometry.area.iloc[0] == pytest.approx(400.0)


def test_projected_metres_in_wgs84_file_is_a_clear_error(tmp_path):
    path = tmp_path / "metres.geojson"
    path.write_text(
        json.dumps(collection(feature(square(545000, 258000, 20), id="b1", building="yes")))
    )
    with pytest.raises(InputError) as info:
        safespace.load(path)
    assert str(path) in str(info.value) and "projected metres" in str(info.value)


def test_swapped_latitude_longitude_is_a_clear_error():
    # Sydney given as [lat, lon]: -33.87 fits a longitude, 151.2 is no latitude
    doc = collection(
        feature({"type": "Point", "coordinates": [-33.87, 151.2]}, highway="street_lamp")
    )
    with pytest.raises(InputError, match="swapped"):
        safespace.load(doc)


def test_degrees_in_a_file_declaring_a_projected_crs_is_a_clear_error():
    doc = collection(
        feature(square(0.1, 52.2, 0.001), building="yes"),
        crs={"type": "name", "properties": {"name": "EPSG:27700"}},
    )
    with pytest.raises(InputError, match="look like longitude"):
        safespace.load(doc)


def test_geodataframe_in_any_crs_and_without_crs():
    frame = gpd.GeoDataFrame(
        {"building": ["yes"], "height": [9.0]},
        geometry=[shapely.box(545000, 258000, 545010, 258010)],
        crs=27700,
    )
    layout = safespace.load(frame)
    assert layout.buildings["height_m"].iloc[0] == 9.0
    with pytest.raises(InputError, match="no CRS"):
        safespace.load(frame.set_crs(None, allow_override=True))


@pytest.mark.parametrize("bad", ["missing.geojson", "data.txt"])
def test_bad_paths_name_the_file(tmp_path, bad):
    path = tmp_path / bad
    if bad.endswith(".txt"):
        path.write_text("hello")
    with pytest.raises(InputError, match=bad):
        safespace.load(path)


def test_unreadable_feature_names_file_and_feature(tmp_path):
    path = tmp_path / "broken.geojson"
    doc = collection(
        feature({"type": "Polygon", "coordinates": "nonsense"}, id="b7", building="yes")
    )
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        safespace.load(path)
    assert info.value.file == str(path) and info.value.feature == "b7"


def test_point_survives_load_and_geojson_export_within_1cm(tmp_path):
    lon, lat = 8.7091234567, 49.4112345678
    doc = collection(
        feature({"type": "Point", "coordinates": [lon, lat]}, id="lamp", highway="street_lamp")
    )
    layout = safespace.load(doc)

    @safespace.rule("XX900", "lamp finder", "lighting")
    def lamp_finder(site):
        for geom in site.layout.lamps.geometry:
            yield safespace.Finding(severity="info", title="lamp", geometry=geom)

    profile = safespace.load_profile(_tmp_profile(tmp_path), {"XX900": lamp_finder})
    result = safespace.assess(layout, profile=profile, registry={"XX900": lamp_finder})
    out = result.to_geojson(tmp_path / "out.geojson")
    x, y = json.loads(out.read_text())["features"][0]["geometry"]["coordinates"]
    to_m = Transformer.from_crs(4326, layout.crs, always_xy=True)
    a, b = np.array(to_m.transform(lon, lat)), np.array(to_m.transform(x, y))
    assert np.hypot(*(a - b)) < 0.01


def _tmp_profile(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[profile]\nname = "t"\n')
    return path


def test_linz_geopackage_keeps_nztm(tmp_path):
    layout = safespace.load(real_file("buildings", "linz_nz_building_outlines_2000.gpkg"))
    assert layout.source_crs.to_epsg() == 2193 and layout.crs.to_epsg() == 2193
    assert len(layout.buildings) == 2000
    assert any(n.code == "read-as-buildings" for n in layout.notes)
    # median footprint 67 m² (SOURCES.md)
    assert np.median(layout.buildings.area) == pytest.approx(67, abs=2)


def test_overture_geojson_crs84_to_utm32():
    layout = safespace.load(
        real_file("buildings", "overture_buildings_100_de.geojson"), as_layer="buildings"
    )
    assert layout.source_crs.to_epsg() == 4326 and layout.crs.to_epsg() == 32632
    assert len(layout.buildings) == 100
    areas = layout.buildings.area
    # SOURCES.md: footprint area min 13.6, median 90.3, max 243.9 m²
    assert areas.min() == pytest.approx(13.6, abs=0.2)
    assert areas.median() == pytest.approx(90.3, abs=0.5)
    assert areas.max() == pytest.approx(243.9, abs=0.5)
    assert layout.buildings["height_m"].notna().sum() == 39
