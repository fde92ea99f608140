"""Reading incidents: data.police.uk street CSVs (every row accounted for) and generic tables."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely

import safespace
from safespace.errors import InputError
from tests.conftest import FIXTURES, real_file

#: SOURCES.md (measured with the csv module): rows, with coordinates, distinct points, no id.
WY = {
    "2016-07": (27176, 25829, 12500, 7429),
    "2017-07": (28537, 26996, 12724, 5955),
}


def _csv_counts(path):
    """The same figures, independently, with the csv module."""
    rows = list(csv.DictReader(path.open(newline="", encoding="utf-8")))
    located = [r for r in rows if r["Longitude"] and r["Latitude"]]
    return (
        len(rows),
        len(located),
        len({(r["Longitude"], r["Latitude"]) for r in located}),
        sum(1 for r in rows if not r["Crime ID"]),
        Counter(r["Crime type"] for r in rows),
        Counter(r["Crime type"] for r in rows if not (r["Longitude"] and r["Latitude"])),
    )


@pytest.mark.parametrize("month", sorted(WY))
def test_west_yorkshire_every_row_accounted_for(month):
    path = real_file("crime", f"{month}-west-yorkshire-street.csv")
    t0 = time.perf_counter()
    frame = safespace.read_incidents(path)
    elapsed = time.perf_counter() - t0
    rows, located, points, no_id, by_cat, unloc_cat = _csv_counts(path)
    assert (rows, located, points, no_id) == WY[month]
    a = frame.attrs
    assert a["rows"] == rows and a["located"] == located == len(frame)
    assert a["unlocated"] == rows - located
    assert a["no_id"] == no_id
    assert a["by_category"] == dict(by_cat)
    assert a["unlocated_by_category"] == dict(unloc_cat)
    assert frame["category"].value_counts().to_dict() == dict(by_cat - unloc_cat)
    xy = shapely.get_coordinates(frame.geometry.values)
    assert len(np.unique(xy, axis=0)) == points
    # anti-social behaviour has no Crime ID: its rows get file:row ids, all distinct
    asb = frame[frame["category"] == "Anti-social behaviour"]
    assert asb["id"].str.startswith(path.name + ":").all()
    assert frame["month"].eq(month).all()
    assert frame.crs.to_epsg() == 4326
    assert elapsed <= 2.0, f"read in {elapsed:.2f} s"


def test_folder_and_list_read_both_months():
    a = real_file("crime", "2016-07-west-yorkshire-street.csv")
    b = real_file("crime", "2017-07-west-yorkshire-street.csv")
    both = safespace.read_incidents([a, b])
    folder = safespace.read_incidents(a.parent)
    assert both.attrs["rows"] == folder.attrs["rows"] == 27176 + 28537
    assert len(both) == len(folder) == 25829 + 26996
    assert sorted(both["month"].unique()) == ["2016-07", "2017-07"]
    assert [s["file"] for s in folder.attrs["sources"]] == [str(a), str(b)]


def test_load_gives_the_layout_an_incidents_layer_in_its_crs():
    path = real_file("crime", "2016-07-west-yorkshire-street.csv")
    layout = safespace.load(FIXTURES / "demo_estate.geojson", incidents=path)
    inc = layout.incidents
    assert inc.crs == layout.crs and len(inc) == 25829
    assert {"id", "category", "month", "source", "geometry"} <= set(inc.columns)
    note = [n for n in layout.notes if n.code == "incidents-read"]
    assert note and "1,347 without a location" in note[0].message
    assert any(i["role"] == "incidents" for i in layout.inputs)
    assert safespace.load(FIXTURES / "demo_estate.geojson").incidents is None


def test_generic_csv_with_named_columns_and_dates(tmp_path):
    p = tmp_path / "inc.csv"
    p.write_text(
        "ref,E,N,offence,when\n"
        "a,430000,433000,Burglary,2021-03-04\n"
        "b,430010,433000,Robbery,04/05/2021\n"
        "c,,,Robbery,2021-06-01\n"
    )
    f = safespace.read_incidents(
        p, x="E", y="N", crs="EPSG:27700", category="offence", date="when", id="ref"
    )
    assert list(f["id"]) == ["a", "b"]
    assert list(f["category"]) == ["Burglary", "Robbery"]
    assert list(f["month"]) == ["2021-03", "2021-04"]
    assert f.crs.to_epsg() == 27700
    assert f.attrs["unlocated"] == 1 and f.attrs["unlocated_by_category"] == {"Robbery": 1}


def test_generic_lonlat_csv_is_detected(tmp_path):
    p = tmp_path / "inc.csv"
    p.write_text("lat,lon,category,month\n53.8,-1.55,Drugs,2020-01\n")
    f = safespace.read_incidents(p)
    assert f.crs.to_epsg() == 4326
    assert f.geometry.iloc[0].x == pytest.approx(-1.55)
    assert f["month"].iloc[0] == "2020-01"


def test_geojson_and_gpkg(tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [2.0, 52.0]},
                "properties": {"category": "Burglary", "month": "2022-02"},
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {"category": "Burglary", "month": "2022-03"},
            },
        ],
    }
    p = tmp_path / "inc.geojson"
    p.write_text(json.dumps(fc))
    f = safespace.read_incidents(p)
    assert len(f) == 1 and f.attrs["unlocated"] == 1 and f.attrs["rows"] == 2
    g = tmp_path / "inc.gpkg"
    gpd.GeoDataFrame(
        {"Crime type": ["Robbery"], "date": ["2022-05-06"]},
        geometry=[shapely.Point(430000, 433000)],
        crs=27700,
    ).to_file(g)
    h = safespace.read_incidents(g)
    assert list(h["category"]) == ["Robbery"] and list(h["month"]) == ["2022-05"]
    assert h.crs.to_epsg() == 27700


def test_bad_input_names_file_and_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("x,y,category\n1,2,A\nabc,3,B\n")
    with pytest.raises(InputError) as e:
        safespace.read_incidents(p, crs="EPSG:27700")
    assert e.value.file == str(p) and e.value.feature == "row 2" and "'abc'" in str(e.value)
    q = tmp_path / "nocrs.csv"
    q.write_text("x,y,category\n1,2,A\n")
    with pytest.raises(InputError, match="need a CRS"):
        safespace.read_incidents(q)
    r = tmp_path / "month.csv"
    r.write_text("lon,lat,category,month\n1,2,A,2020-01\n1,2,A,soon\n")
    with pytest.raises(InputError) as e:
        safespace.read_incidents(r)
    assert e.value.feature == "row 2" and "soon" in str(e.value)
    with pytest.raises(InputError, match="no such incident file"):
        safespace.read_incidents(tmp_path / "missing.csv")


def test_cli_assess_with_incidents(tmp_path):
    import json as _json

    from safespace.cli import main

    out = tmp_path / "findings.geojson"
    code = main(
        [
            "assess",
            str(FIXTURES / "demo_estate.geojson"),
            "--incidents",
            str(FIXTURES / "demo_incidents.csv"),
            "-o",
            str(out),
            "-q",
        ]
    )
    assert code in (0, None)
    feats = _json.loads(out.read_text())["features"]
    assert sorted(
        f["properties"]["rule_id"] for f in feats if f["properties"]["rule_id"].startswith("CR")
    ) == ["CR001", "CR002", "CR003"]


def test_folder_skips_outcomes_and_stop_and_search(tmp_path):
    month = tmp_path / "2020-01"
    month.mkdir()
    header = ",".join(
        [
            "Crime ID",
            "Month",
            "Reported by",
            "Falls within",
            "Longitude",
            "Latitude",
            "Location",
            "LSOA code",
            "LSOA name",
            "Crime type",
            "Last outcome category",
            "Context",
        ]
    )
    (month / "2020-01-x-street.csv").write_text(
        header + "\nabc,2020-01,F,F,-1.5,53.8,On or near A,,,Burglary,,\n"
    )
    (month / "2020-01-x-outcomes.csv").write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Outcome type\nabc,2020-01,F,F,-1.5,53.8,On or near A,,,Court\n"
    )
    (month / "2020-01-x-stop-and-search.csv").write_text("Type,Date,Latitude,Longitude\n")
    f = safespace.read_incidents(tmp_path)
    assert len(f) == 1 and f.attrs["rows"] == 1 and list(f["id"]) == ["abc"]
