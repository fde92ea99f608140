"""Area scores: intensive measures, not assessable rather than 0/100, confidence, views."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import safespace
from safespace.batch.tiling import clip_layout
from safespace.findings import Finding, Score
from safespace.scoring import (
    area_coverage,
    area_scores,
    connectivity_view,
    permeability_views,
    sbd_view,
)
from tests.conftest import FIXTURES, real_file

AREAS4 = ("sightlines", "lighting", "permeability", "police_access")


def doubled(layout, dx: float):
    """The layout and a copy of it ``dx`` metres east, side by side (disjoint)."""
    frames = {}
    for name, fr in layout.layers.items():
        b = fr.copy()
        b["geometry"] = shapely.transform(b.geometry.values, lambda c: c + [dx, 0.0])
        b["fid"] = [f"{x}~b" for x in b["fid"]]
        if "access_point" in b:
            b["access_point"] = [
                None if p is None else shapely.transform(p, lambda c: c + [dx, 0.0])
                for p in b["access_point"]
            ]
        if "building_fid" in b:
            b["building_fid"] = [None if x is None else f"{x}~b" for x in b["building_fid"]]
        both = pd.concat([fr, b], ignore_index=True)
        frames[name] = gpd.GeoDataFrame(both, geometry="geometry", crs=fr.crs)
    return dataclasses.replace(layout, **frames)


def _values(a):
    return {k: a.scores[k].value for k in AREAS4 if k in a.scores}


# --- formulas, by hand ----------------------------------------------------------------------


def test_connectivity_view_by_hand():
    # each measure at half its target: 77/154, 0.35/0.7, LNR 1.2 between 1.0 and 1.4,
    # median block 180 m across against 90 m
    m = {
        "intersection_density_km2": 77.0,
        "connected_node_ratio": 0.35,
        "link_node_ratio": 1.2,
        "median_block_area_m2": 180.0**2,
    }
    value, why, subs = connectivity_view(m)
    assert subs == pytest.approx(
        {
            "intersection_density_km2": 50.0,
            "connected_node_ratio": 50.0,
            "link_node_ratio": 50.0,
            "median_block_side_m": 50.0,
        }
    )
    assert value == pytest.approx(50.0) and "154" in why
    # above target is capped at 100, a tree (LNR below 1) is 0
    m.update(intersection_density_km2=400.0, link_node_ratio=0.9)
    assert connectivity_view(m)[2]["intersection_density_km2"] == 100.0
    assert connectivity_view(m)[2]["link_node_ratio"] == 0.0


def test_sbd_view_by_hand():
    m = {
        "street_length_m": 1000.0,
        "rear_route_length_m": 100.0,  # 10% behind dwellings → 90
        "unobserved_alley_length_m": 0.0,  # → 100
        "isolated_route_length_m": 300.0,  # → 70
        "culdesac_count": 4,
        "leaky_culdesacs": 1,  # → 75
    }
    value, _, subs = sbd_view(m)
    assert sorted(subs.values()) == pytest.approx([70.0, 75.0, 90.0, 100.0])
    assert value == pytest.approx(83.75)


def test_view_selection_and_both_views_shown():
    m = {"intersection_density_km2": 154.0, "street_length_m": 100.0, "rear_route_length_m": 50.0}
    views = permeability_views(m)
    assert views == {"connectivity": 100.0, "secured-by-design": 50.0}
    run = {"permeability"}
    con = area_scores([], [], {"permeability": m}, {}, run, view="connectivity")
    sbd = area_scores([], [], {"permeability": m}, {}, run, view="secured-by-design")
    both = area_scores([], [], {"permeability": m}, {}, run)
    assert con["permeability"].value == 100.0 and sbd["permeability"].value == 50.0
    assert both["permeability"].value == 75.0
    for s in (con, sbd, both):
        text = s["permeability"].explanation
        assert "connectivity view" in text and "Secured by Design view" in text


def test_not_assessable_rather_than_zero_and_no_penalty_fallback():
    run = set(AREAS4)
    given = [Score("police_access", 0.0, "a rule's own 0")]
    metrics = {"police_access": {"police_premises": 0, "drive_dwelling_share_within": 0.0}}
    scores = area_scores([], given, metrics, {}, run)
    assert scores["police_access"].value is None
    assert scores["police_access"].label() == "not assessable"
    # nothing measured in an area that ran: not assessable, whatever the findings say
    many = [Finding(rule_id="SL009", severity="high", area="sightlines") for _ in range(40)]
    assert area_scores(many, [], {}, {}, run)["sightlines"].value is None
    m = {"sightlines": {"overlooked_route_share": 0.5}}
    assert area_scores(many, [], m, {}, run)["sightlines"].value == 50.0
    assert area_scores([], [], m, {}, run)["sightlines"].value == 50.0


def test_confidence_is_the_assessable_share():
    metrics = {
        "lighting": {
            "lit_route_share": 0.25,
            "route_length_assessed_m": 300.0,
            "route_length_meeting_class_m": 75.0,
            "route_length_lamps_unmapped_m": 100.0,
        }
    }
    cov = area_coverage([], metrics, {"lighting"})
    assert cov["lighting"]["assessable_share"] == pytest.approx(0.75)  # 300 of 400 m
    s = area_scores([], [], metrics, cov, {"lighting"})["lighting"]
    assert (s.value, s.confidence) == (25.0, 0.75)
    metrics["lighting"]["assessable_share"] = 0.6  # the rule's own figure wins
    cov = area_coverage([], metrics, {"lighting"})
    assert area_scores([], [], metrics, cov, {"lighting"})["lighting"].confidence == 0.6


# --- properties on layouts -----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_layout():
    return safespace.load(FIXTURES / "demo_estate.geojson")


@pytest.fixture(scope="module")
def demo(demo_layout):
    return safespace.assess(demo_layout)


def test_demo_scores_are_intensive_under_doubling(demo, demo_layout):
    twice = safespace.assess(doubled(demo_layout, 3000.0))
    a, b = _values(demo), _values(twice)
    assert a.keys() == b.keys() == set(AREAS4)
    for area in AREAS4:
        assert b[area] == pytest.approx(a[area], abs=2.0), area
    # twice the findings, the same scores: size does not score
    assert len(twice.findings) > 1.8 * len(demo.findings)


def test_demo_scores_follow_their_formulas(demo):
    m = demo.metrics
    s = demo.scores
    assert s["sightlines"].value == pytest.approx(
        100 * m["sightlines"]["overlooked_route_share"], abs=0.05
    )
    assert s["lighting"].value == pytest.approx(100 * m["lighting"]["lit_route_share"], abs=0.05)
    views = permeability_views(m["permeability"])
    assert s["permeability"].value == pytest.approx(sum(views.values()) / 2, abs=0.05)
    assert all(0 < v < 100 for v in (s["sightlines"].value, s["lighting"].value))


def test_a_data_gap_leaves_measured_scores_alone(demo):
    # declaring the lamps partial (an extract's view of the same drawing) may only move
    # lighting, through what it can assess; every other area keeps its measured value
    layers = [
        "buildings", "entrances", "streets", "foot_routes", "police", "emergency_phones",
        "planting", "barriers", "parking", "pedestrian_areas",
    ]  # fmt: skip
    partial = safespace.assess(safespace.load(FIXTURES / "demo_estate.geojson", complete=layers))
    for area in ("sightlines", "permeability", "police_access"):
        assert partial.scores[area].value == demo.scores[area].value, area
    lt, lt0 = partial.scores["lighting"], demo.scores["lighting"]
    assert (lt.confidence or 0.0) <= (lt0.confidence if lt0.confidence is not None else 1.0)
    if lt.value is not None:
        share = partial.metrics["lighting"]["lit_route_share"]
        assert lt.value == pytest.approx(100 * share, abs=0.05)


@pytest.fixture(scope="module")
def heidelberg_layout():
    return safespace.load(real_file("osm", "heidelberg_altstadt.osm.pbf"))


@pytest.fixture(scope="module")
def heidelberg(heidelberg_layout):
    return safespace.assess(heidelberg_layout)


def test_heidelberg_permeability_connectivity_view_at_least_50(heidelberg):
    con = permeability_views(heidelberg.metrics["permeability"])["connectivity"]
    assert con is not None and con >= 50
    assert heidelberg.scores["permeability"].value >= 50


def test_heidelberg_scores_are_intensive_under_doubling(heidelberg, heidelberg_layout):
    x0, _, x1, _ = heidelberg_layout.extent.bounds
    twice = safespace.assess(doubled(heidelberg_layout, (x1 - x0) + 1000.0))
    a, b = _values(heidelberg), _values(twice)
    assert a.keys() == b.keys()
    for area, value in a.items():
        if value is None:
            assert b[area] is None, area
        else:
            assert b[area] == pytest.approx(value, abs=2.0), area
    assert len(twice.findings) > 1.8 * len(heidelberg.findings)


def test_helsinki_two_clips_of_one_fabric_score_alike():
    # the two southern quarters of the extract: the dense block grid of the centre (the
    # northern half holds the Töölönlahti and Kaisaniemi parks, another fabric)
    layout = safespace.load(real_file("osm", "helsinki_centre.osm.pbf"))
    x0, y0, x1, y1 = layout.extent.bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    rules = ["SL001", "LT001", "PM", "PA001", "PA002"]
    clips = [
        safespace.assess(clip_layout(layout, shapely.box(*box), mode="cut"), rules=rules)
        for box in ((x0, y0, xm, ym), (xm, y0, x1, ym))
    ]
    west, east = (_values(c) for c in clips)
    for area in ("sightlines", "permeability"):
        assert west[area] is not None and east[area] is not None
        assert math.isclose(west[area], east[area], abs_tol=5.0), (area, west, east)
    # lighting is scored over the routes whose lamps are mapped, and OSM maps them unevenly
    # (about a third of Helsinki's route length): the score is a measure of the mapped part
    # only, and says so through its confidence, which is what must hold here
    for c in clips:
        light = c.scores["lighting"]
        assert light.value is not None and 0.0 < light.confidence < 0.8
        assert light.confidence == pytest.approx(c.coverage["lighting"]["assessable_share"])
    # no police premises in the extract: not assessable in both, never 0
    assert west["police_access"] is None and east["police_access"] is None
