"""Rear access: fronts from entrances or the nearest street, flanks, runs behind dwellings."""

from __future__ import annotations

import pytest

import safespace
from safespace.analyses.rear_access import building_fronts, rear_access, route_flanks
from tests.conftest import FIXTURES, collection, feature

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def line(*pts):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in pts]}


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def box(x0, y0, x1, y1):
    ring = [[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def terrace(door_side: str | None, *, kind="terrace", street=None):
    """Four 10 × 10 m houses at x 0–40, y 10–20, a footway at y = 0 from x −20 to 60."""
    feats = [feature(line((-20, 0), (60, 0)), "fp", highway="footway")]
    for k in range(4):
        x = 10 * k
        feats.append(feature(box(x, 10, x + 10, 20), f"h{k}", building=kind))
        if door_side == "away":
            feats.append(feature(point(x + 5, 20), f"e{k}", entrance="main"))
        elif door_side == "path":
            feats.append(feature(point(x + 5, 10), f"e{k}", entrance="main"))
        elif door_side == "gable":
            feats.append(feature(point(x + 10, 15), f"e{k}", entrance="main"))
    if street is not None:
        feats.append(feature(line((-20, street), (60, street)), "st", highway="residential"))
    return safespace.load(collection(*feats, crs=BNG))


def test_doors_facing_away_make_a_rear_run_of_the_terrace_length():
    runs = rear_access(terrace("away"))
    assert len(runs) == 1
    r = runs.iloc[0]
    # samples every 5 m at 2.5, 7.5, ... ; those at x = 2.5 ... 37.5 see a house; the run
    # reaches half a spacing beyond them: x 0 → 40, i.e. 20 → 60 m along the path
    assert r.start_m == pytest.approx(20.0, abs=1e-6)
    assert r.end_m == pytest.approx(60.0, abs=1e-6)
    assert r.fids == ("fp",)
    assert set(r.buildings) == {"h0", "h1", "h2", "h3"}
    assert r.both_sides_share == 0.0  # nothing on the other side


def test_doors_facing_the_path_or_side_are_not_rear():
    assert rear_access(terrace("path")).empty
    assert rear_access(terrace("gable")).empty
    fl = route_flanks(terrace("gable"))
    rel = set(fl.samples["left_relation"].dropna())
    assert rel == {"side"}


def test_without_entrances_the_front_faces_the_nearest_street():
    # street north of the houses: the fronts face it, away from the path
    assert len(rear_access(terrace(None, street=30.0))) == 1
    # street south of the path: the fronts face the path
    assert rear_access(terrace(None, street=-10.0)).empty
    # no street and no entrance: the front is unknown, nothing is claimed
    assert rear_access(terrace(None)).empty


def test_non_dwellings_do_not_make_rear_routes():
    assert rear_access(terrace("away", kind="garage")).empty


def test_building_fronts_prefer_main_entrances():
    feats = [
        feature(box(0, 0, 10, 10), "h", building="house"),
        feature(point(5, 10), "front", entrance="main"),
        feature(point(5, 0), "back", entrance="service"),
        feature(line((-20, -30), (60, -30)), "st", highway="residential"),
        feature(box(30, 0, 40, 10), "g", building="house"),
    ]
    lay = safespace.load(collection(*feats, crs=BNG))
    f = building_fronts(lay).set_index("fid")
    assert f.at["h", "method"] == "entrance"
    assert (f.at["h", "fx"] - lay.buildings.geometry.iloc[0].centroid.x) == pytest.approx(0.0)
    assert f.at["h", "fy"] - f.at["h", "cy"] == pytest.approx(5.0)
    # g has no entrance: it faces the point of the street nearest its centroid, (35, -30)
    assert f.at["g", "method"] == "street"
    assert f.at["g", "fy"] - f.at["g", "cy"] == pytest.approx(-35.0)
    assert f.at["g", "fx"] - f.at["g", "cx"] == pytest.approx(0.0, abs=1e-6)


def test_rear_footpath_scene_finds_fp01_flanked_by_eight_houses():
    lay = safespace.load(FIXTURES / "scenes" / "rear_footpath.geojson")
    runs = rear_access(lay)
    assert len(runs) == 1
    r = runs.iloc[0]
    assert r.fids == ("fp01",)
    assert len(r.buildings) == 8
    assert r.both_sides_share == 1.0


def test_demo_estate_rear_footpath_is_fp01_only():
    lay = safespace.load(FIXTURES / "demo_estate.geojson")
    runs = rear_access(lay)
    assert [r.fids for r in runs.itertuples()] == [("fp01",)]
    assert runs.iloc[0].length_m > 100
    # every flanking building is a dwelling whose door faces away (the garden shed is not)
    assert "s02" not in runs.iloc[0].buildings
    assert {f"ha{k:02d}" for k in range(3, 11)} <= set(runs.iloc[0].buildings)


def test_bad_spacing_is_an_input_error():
    with pytest.raises(safespace.errors.InputError):
        route_flanks(terrace("away"), spacing=0.0)
