"""Forward visibility along routes, against hand-computed sight lines round corners."""

from __future__ import annotations

import numpy as np
import pytest

import safespace
from safespace.analyses.forward_visibility import forward_visibility
from safespace.errors import InputError
from tests.conftest import FIXTURES, collection, feature

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0
DEMO_ORIGIN = np.array([303211.0, 5787749.0])


def line(*xy):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def box(x0, y0, x1, y1):
    ring = [[X0 + x0, Y0 + y0], [X0 + x1, Y0 + y0], [X0 + x1, Y0 + y1], [X0 + x0, Y0 + y1]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def l_route(*extra):
    """A footway east along y = 0 to (20, 0), then north to (20, 20); a building fills the
    inside of the corner from (0, 1) to (19, 30), so its corner (19, 1) hides the north leg."""
    return safespace.load(
        collection(
            feature(line((0, 0), (20, 0), (20, 20)), id="p", highway="footway"),
            *extra,
            crs=BNG,
        )
    )


def corner_visibility(s):
    """From (s, 0) the sight line to (20, t) clears the corner (19, 1) while
    t <= (20 − s) / (19 − s); add the 20 − s m to the bend."""
    return (20 - s) + (20 - s) / (19 - s)


def test_l_shaped_route_round_a_building_corner_equals_the_hand_computed_distance():
    lay = l_route(feature(box(0, 1, 19, 30), id="b", building="yes"))
    fv = forward_visibility(lay, spacing=5.0)
    fv = fv.sort_values("position_m")
    pos = fv["position_m"].to_numpy()
    assert np.allclose(pos, [2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 32.5, 37.5])
    east = fv[pos < 20]
    assert (east["ahead_stop"] == "blocked").all()
    expect = [corner_visibility(s) for s in east["position_m"]]
    assert np.allclose(east["ahead_m"], expect, atol=1e-6)
    # behind, the walker sees back to the chain's start
    assert (
        np.allclose(east["behind_m"], east["position_m"]) and (east["behind_stop"] == "end").all()
    )
    # the scene is symmetric about the corner's diagonal: (20, t) mirrors (20 − t, 0)
    north = fv[pos > 20]
    t = north["position_m"].to_numpy() - 20
    assert np.allclose(north["behind_m"], [corner_visibility(20 - tt) for tt in t], atol=1e-6)
    assert (north["ahead_stop"] == "end").all()


def test_a_hedge_above_eye_height_blocks_like_a_wall_a_low_one_does_not():
    hedge = {"type": "LineString", "coordinates": [[X0 + 0, Y0 + 1], [X0 + 19, Y0 + 1],
                                                  [X0 + 19, Y0 + 30]]}  # fmt: skip
    tall = forward_visibility(l_route(feature(hedge, id="h", barrier="hedge", height="1.8")))
    first = tall.sort_values("position_m").iloc[0]
    assert first["ahead_stop"] == "blocked"
    assert first["ahead_m"] == pytest.approx(corner_visibility(2.5), abs=1e-6)
    low = forward_visibility(l_route(feature(hedge, id="h", barrier="hedge", height="1.0")))
    assert (low["ahead_stop"] == "end").all()  # seen over: to the end of the route


def test_open_corner_sees_to_the_end_and_max_range_stops_the_walk():
    fv = forward_visibility(l_route())
    assert (fv["ahead_stop"] == "end").all()
    assert np.allclose(fv["ahead_m"], 40 - fv["position_m"])
    lay = safespace.load(
        collection(feature(line((0, 0), (300, 0)), id="p", highway="footway"), crs=BNG)
    )
    fv = forward_visibility(lay, max_range=100.0)
    mid = fv[(fv["position_m"] > 100) & (fv["position_m"] < 200)]
    assert (mid["ahead_stop"] == "range").all() and np.allclose(mid["ahead_m"], 100.0)


def test_a_route_through_a_building_is_a_passage_not_a_blind_bend():
    lay = safespace.load(
        collection(
            feature(line((0, 0), (60, 0)), id="p", highway="footway", covered="yes"),
            feature(box(25, -5, 35, 5), id="b", building="yes"),
            crs=BNG,
        )
    )
    fv = forward_visibility(lay, spacing=5.0).sort_values("position_m")
    inside = fv["indoor"].to_numpy()
    assert inside.sum() == 2  # samples at 27.5 and 32.5
    assert fv.loc[inside, "ahead_m"].isna().all()
    before = fv[fv["position_m"] < 25]
    assert (before["ahead_stop"] == "building").all()
    assert np.allclose(before["ahead_m"], 25 - before["position_m"], atol=0.06)


def test_demo_rear_footpath_corner_is_blind():
    lay = safespace.load(FIXTURES / "demo_estate.geojson")
    fv = forward_visibility(lay)
    fp = fv[fv["fid"] == "fp01"]
    xy = np.column_stack([fp.geometry.x, fp.geometry.y]) - DEMO_ORIGIN
    # approaching the corner (108, 99) from the west between 1.8 m fences
    near = (np.abs(xy[:, 1] - 99) < 0.01) & (xy[:, 0] > 95) & (xy[:, 0] < 107)
    assert near.any()
    assert (fp.loc[near, "ahead_stop"] == "blocked").all()
    assert (fp.loc[near, "ahead_m"] < 15).all()


def test_bad_parameters():
    with pytest.raises(InputError):
        forward_visibility(l_route(), step=0)
