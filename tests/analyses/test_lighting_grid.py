"""Lamps from a Layout (defaults by setting) and the illuminance grid on routes and areas."""

from __future__ import annotations

import numpy as np
import pytest

import safespace
from safespace.analyses.lighting_grid import (
    entrance_illuminance,
    illuminance_grid,
    lamp_shading,
    layout_lamps,
)
from safespace.errors import InputError
from tests.conftest import FIXTURES, collection, feature

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def line(*xy):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def box(x0, y0, x1, y1):
    c = [[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1]]
    return {"type": "Polygon", "coordinates": [c + [c[0]]]}


def load(*features):
    return safespace.load(collection(*features, crs=BNG))


def test_defaults_by_setting_of_nearest_route():
    layout = load(
        feature(line((0, 0), (100, 0)), id="fw", highway="footway"),
        feature(line((0, 100), (100, 100)), id="res", highway="residential"),
        feature(line((0, 200), (100, 200)), id="pri", highway="primary"),
        feature(point(50, 3), id="a", highway="street_lamp"),
        feature(point(50, 97), id="b", highway="street_lamp"),
        feature(point(50, 204), id="c", highway="street_lamp"),
        feature(
            point(50, 106), id="d", highway="street_lamp", height="7.5", safespace__lumens="2000"
        ),
    )
    lamps, frame = layout_lamps(layout)
    f = frame.set_index("fid")
    assert f.loc["a", "height_m"] == 5.0 and f.loc["a", "lumens"] == 3000.0
    assert f.loc["b", "height_m"] == 6.0 and f.loc["b", "lumens"] == 5000.0
    assert f.loc["c", "height_m"] == 10.0 and f.loc["c", "lumens"] == 15000.0
    assert f.loc["d", "height_m"] == 7.5 and f.loc["d", "lumens"] == 2000.0
    assert f.loc["d", "height_source"] == "tag" and f.loc["a", "height_source"] == "default:footway"
    # C90 faces the route: lamp a is north of its footway, so C90 points south (180°) and
    # C0 = C90 + 90° = 270° (west); lamp b is south of its street: C90 north, C0 east
    assert f.loc["a", "azimuth_deg"] == pytest.approx(270.0)
    assert f.loc["b", "azimuth_deg"] == pytest.approx(90.0)
    assert np.allclose(lamps.maintenance_factor, 0.8)
    assert np.allclose(lamps.positions[:, 2], frame["height_m"])


def test_azimuth_tag_and_direction_and_missing_photometry():
    layout = load(
        feature(line((0, 0), (100, 0)), highway="footway"),
        feature(point(10, 3), id="t", highway="street_lamp", safespace__azimuth="33"),
        feature(point(20, 3), id="d", highway="street_lamp", direction="S"),
    )
    _, frame = layout_lamps(layout)
    f = frame.set_index("fid")
    assert f.loc["t", "azimuth_deg"] == 33.0
    assert f.loc["d", "azimuth_deg"] == pytest.approx(270.0)  # C90 faces south
    bad = load(
        feature(line((0, 0), (100, 0)), highway="footway"),
        feature(point(10, 3), id="x", highway="street_lamp", safespace__photometry="nope.ldt"),
    )
    with pytest.raises(InputError, match="nope.ldt"):
        layout_lamps(bad)


def test_wall_lamp_inside_building_is_moved_out():
    layout = load(
        feature(box(0, 0, 10, 10), id="b", building="yes"),
        feature(line((-5, -2), (20, -2)), highway="footway"),
        feature(point(5, 0.5), id="w", highway="street_lamp"),
    )
    _, frame = layout_lamps(layout)
    assert frame["moved_m"].iat[0] == pytest.approx(0.8)
    p = frame.geometry.iat[0]
    assert p.y - Y0 == pytest.approx(-0.3)


def test_one_lamp_grid_matches_closed_form():
    """Generic lamp at 5 m, 3000 lm, over a 1 m wide footway: E_h = I·MF·cos³γ/h²."""
    layout = load(
        feature(line((-30, 0), (30, 0)), id="fw", highway="footway", width="1"),
        feature(point(0, 0), id="l", highway="street_lamp", height="5", safespace__lumens="3000"),
    )
    grid = illuminance_grid(layout)
    lamps, _ = layout_lamps(layout)
    ph = lamps.photometries[0]
    xy = np.column_stack([grid.geometry.x - X0, grid.geometry.y - Y0])
    r = np.hypot(*xy.T)
    gamma = np.degrees(np.arctan2(r, 5.0))
    # lamp on the route's line: C0 along it (east); C angle from east, counter-clockwise
    c = np.degrees(np.arctan2(xy[:, 1], xy[:, 0])) % 360
    expected = 3.0 * 0.8 * ph.intensity(c, gamma) * np.cos(np.radians(gamma)) ** 3 / 25.0
    expected[r > 30] = 0.0
    np.testing.assert_allclose(grid["E_h"], expected, rtol=1e-9, atol=1e-12)
    assert len(grid) == 20 * 3  # 60 m / 3 m rows × 3 across
    assert set(grid["fid"]) == {"fw"}


def test_courtyard_shadow_and_lamp_counts():
    layout = safespace.load(FIXTURES / "scenes" / "courtyard_lamp.geojson")
    grid = illuminance_grid(layout)
    court = grid[grid["kind"] == "pedestrian_area"]
    path = grid[grid["fid"] == "fp01"]
    assert (court["E_h"] > 0).all()
    assert (path["E_h"] == 0).all() and (path["lamps_in_reach"] > 0).any()
    open_ = illuminance_grid(layout, occlusion=False)
    assert (open_.loc[path.index, "E_h"] > 0).any()


def test_lamp_in_tree_crown_is_fully_blocked_on_demo():
    layout = safespace.load(FIXTURES / "demo_estate.geojson")
    sh = lamp_shading(layout).set_index("fid")
    assert sh.loc["l03", "in_crown"] and sh.loc["l03", "blocked_share"] == 1.0
    assert sh.loc["l02", "blocked_share"] < 0.5
    no_trees = lamp_shading(layout, tree_occlusion=False).set_index("fid")
    assert no_trees.loc["l03", "blocked_share"] < 0.5


def test_entrance_points_step_out_of_the_building():
    layout = load(
        feature(box(0, 0, 10, 10), id="b", building="yes"),
        feature(point(5, 0), id="e", entrance="main"),
        feature(point(5, -4), id="l", highway="street_lamp", height="5"),
    )
    e = entrance_illuminance(layout)
    assert e.geometry.iat[0].y - Y0 == pytest.approx(-0.5)
    assert e["E_sc"].iat[0] > 0 and e["lamps_in_reach"].iat[0] == 1
