"""Lighting rules honest about the data: partial vs complete lamps, modelled light, indoor
ways, the class choice, and the real extracts (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import safespace
from safespace.analyses.lighting_grid import layout_lamps
from safespace.rules import lighting as lt
from safespace.rules.engine import Site, run_rule
from tests.conftest import FIXTURES, collection, feature, real_file

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0
LT_RULES = ("LT001", "LT002", "LT003", "LT004")


def line(*xy):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def run(rule_, layout, cache=None, **params):
    site = Site(layout, cache if cache is not None else {}, {**rule_.defaults(), **params})
    return [i for i in run_rule(rule_, site) if isinstance(i, safespace.Finding)]


def run_all(rule_, layout, **params):
    site = Site(layout, {}, {**rule_.defaults(), **params})
    return list(run_rule(rule_, site))


def drawing(**tags):
    """A 60 m street lit by a 6 m lamp at each end (reach 36 m: every point lit) and a
    footway 120 m away (no lamp within reach), drawn with plain ids."""
    return collection(
        feature(line((0, 0), (60, 0)), id="st", highway="residential", name="Mill Lane"),
        feature(point(0, 3), id="l1", highway="street_lamp", height="6"),
        feature(point(60, 3), id="l2", highway="street_lamp", height="6"),
        feature(line((0, 120), (60, 120)), id="fw", highway="footway", **tags),
        crs=BNG,
    )


@pytest.mark.parametrize("lit", [None, "yes"])
def test_partial_lamps_no_lamp_in_reach_is_a_data_gap_not_a_finding(lit):
    tags = {} if lit is None else {"lit": lit}
    partial = safespace.load(drawing(**tags), complete=False)
    assert not partial.is_complete("lamps")
    cache = {}
    p = run(lt.p_class, partial, cache)
    on_fw = [f for f in p if f.features == ["fw"]]
    assert on_fw == []
    (gap,) = [f for f in p if f.basis == "data-gap"]
    assert gap.title == "Street lighting not mapped" and gap.severity == "info"
    ev = gap.evidence["gap"]
    assert ev["kind"] == "lamps-unmapped" and ev["unit"] == "m"
    assert "lighting plan" in ev["resolve"]
    # the whole 60 m footway is beyond the 36 m reach of the 6 m lamp (120 m away)
    assert ev["extent"] >= 60.0 - 0.5
    assert "60 m" in gap.message or "km" in gap.message
    assert gap.geometry.geom_type == "MultiLineString"
    # the gap geometry covers the footway
    fw = shapely.LineString([(X0, Y0 + 120), (X0 + 60, Y0 + 120)])
    assert gap.geometry.buffer(0.01).covers(fw)
    for rule_ in (lt.dark_spots, lt.facial_recognition, lt.must_be_lit):
        assert not [f for f in run(rule_, partial, cache) if f.features == ["fw"]]


def test_complete_lamps_no_lamp_in_reach_is_measured_darkness():
    complete = safespace.load(drawing())
    assert complete.is_complete("lamps")
    cache = {}
    p = run(lt.p_class, complete, cache)
    (f,) = [f for f in p if f.features == ["fw"]]
    assert f.basis == "measured" and f.severity == "high"
    assert f.evidence["E_avg_lx"] == 0.0 and f.evidence["below_every_class"]
    assert f.evidence["lit_tag"] is None  # untagged: None, not NaN
    assert "nan" not in f.message.lower()
    assert not [g for g in p if g.basis == "data-gap"]
    (m,) = [f for f in run(lt.must_be_lit, complete, cache) if f.features == ["fw"]]
    assert m.severity == "medium" and m.basis == "measured"
    assert m.rests_on == ["footpath_highways"]


def test_lit_no_is_measured_even_with_partial_lamps():
    partial = safespace.load(drawing(lit="no"), complete=False)
    cache = {}
    (m,) = [f for f in run(lt.must_be_lit, partial, cache) if f.features == ["fw"]]
    assert m.severity == "high" and m.basis == "measured" and m.evidence["lit_tag"] == "no"
    (p,) = [f for f in run(lt.p_class, partial, cache) if f.features == ["fw"]]
    assert p.basis == "measured" and p.evidence["E_avg_lx"] == 0.0
    assert not [g for g in run(lt.p_class, partial, cache) if g.basis == "data-gap"]


def test_assessable_share_and_score_confidence():
    """The street (60 m) is lit by its lamps, the footway (60 m) by none: in partial data
    the share is assessed length / all route length = 60 / 120."""
    partial = safespace.load(drawing(), complete=False)
    items = run_all(lt.p_class, partial)
    metrics = {i.key: i.value for i in items if isinstance(i, safespace.findings.Metric)}
    (score,) = [i for i in items if isinstance(i, safespace.findings.Score)]
    total = metrics["route_length_m"]
    assert total == pytest.approx(120.0, abs=0.5)
    assessed = metrics["route_length_assessed_m"]
    assert assessed == pytest.approx(60.0, abs=0.5)
    assert metrics["assessable_share"] == pytest.approx(0.5, abs=1e-3)
    assert score.confidence == pytest.approx(metrics["assessable_share"], abs=1e-3)
    assert score.value == pytest.approx(
        100 * metrics["route_length_meeting_class_m"] / assessed, abs=0.1
    )
    # no lamp at all in partial data: nothing assessable, the score is not a number
    bare = safespace.load(
        collection(feature(line((0, 0), (50, 0)), id="fw", highway="footway"), crs=BNG),
        complete=False,
    )
    items = run_all(lt.p_class, bare)
    (score,) = [i for i in items if isinstance(i, safespace.findings.Score)]
    assert score.value is None
    metrics = {i.key: i.value for i in items if isinstance(i, safespace.findings.Metric)}
    assert metrics["assessable_share"] == 0.0


def test_generic_lamp_light_is_modelled_with_its_assumptions():
    """A lamp with no photometry file and no height: the light is modelled, and the
    evidence lists the generic photometry, the assumed height and the assumed flux."""
    layout = safespace.load(
        collection(
            feature(line((-24, 0), (24, 0)), id="fw", highway="footway", width="1"),
            feature(point(0, 0), id="l", highway="street_lamp"),
            crs=BNG,
        )
    )
    fs = run(lt.p_class, layout, stretch_m=100.0)
    (f,) = fs
    assert f.basis == "modelled"
    text = " ".join(f.evidence["assumptions"])
    assert "generic" in text and "height" in text and "lm" in text


def test_indoor_and_underground_ways_get_no_lighting_findings():
    ways = [
        {"highway": "corridor"},
        {"highway": "footway", "indoor": "yes"},
        {"highway": "footway", "level": "-1"},
        {"highway": "footway", "level": "-2;-1"},
        {"highway": "footway", "location": "underground"},
        {"highway": "footway", "railway": "platform"},
    ]
    feats = [
        feature(line((0, 10 * i), (40, 10 * i)), id=f"w{i}", lit="no", **t)
        for i, t in enumerate(ways)
    ]
    # an outdoor control: a building passage stays outdoor (a public route at night)
    feats.append(
        feature(line((0, 100), (40, 100)), id="bp", highway="footway", tunnel="building_passage")
    )
    layout = safespace.load(collection(*feats, crs=BNG))
    cache = {}
    got = set()
    for rule_ in (lt.p_class, lt.dark_spots, lt.facial_recognition, lt.must_be_lit):
        got |= {fid for f in run(rule_, layout, cache) for fid in f.features}
    assert got == {"bp"}


def test_level_across_ground_is_not_underground():
    """Steps from -1 to 0 reach the street: ``level=-1;0`` stays outdoor."""
    layout = safespace.load(
        collection(
            feature(line((0, 0), (20, 0)), id="s", highway="steps", level="-1;0", lit="no"),
            crs=BNG,
        )
    )
    assert [f.features for f in run(lt.must_be_lit, layout)] == [["s"]]


def test_unnamed_osm_route_is_named_by_its_neighbour_street():
    layout = safespace.load(
        collection(
            feature(line((0, 0), (100, 0)), id="way/1", highway="residential", name="Mill Lane"),
            feature(line((0, 8), (40, 8)), id="way/2", highway="footway", lit="no"),
            crs=BNG,
        )
    )
    (f,) = [f for f in run(lt.must_be_lit, layout) if f.features == ["way/2"]]
    assert f.message.startswith("The footway by Mill Lane")
    assert "way/" not in f.message


# --- the demo estate (complete) ----------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    return safespace.assess(FIXTURES / "demo_estate.geojson", rules=["LT"])


def test_demo_planted_problems_stay_above_info(demo):
    by = {}
    for f in demo.findings:
        for fid in f.features:
            by.setdefault((f.rule_id, fid), []).append(f)
    # row 3: fp01 lit=no — LT004 high and LT001 high, both measured
    assert [f.severity for f in by[("LT004", "fp01")]] == ["high"]
    assert by[("LT004", "fp01")][0].basis == "measured"
    assert any(f.severity == "high" and f.basis == "measured" for f in by[("LT001", "fp01")])
    # row 5: fp02 lit=limited; row 14: lamp l03 inside the crown of t03
    assert [(f.severity, f.basis) for f in by[("LT005", "fp02")]] == [("medium", "measured")]
    assert [(f.severity, f.basis) for f in by[("LT006", "l03")]] == [("medium", "measured")]
    # row 9: the parking court below every P class (its one lamp has generic photometry)
    assert any(f.severity == "high" for f in by[("LT001", "pk01")])
    assert not [f for f in demo.findings if f.basis == "data-gap"]


def test_demo_orchard_way_and_fp03_fail_only_an_unverified_choice(demo):
    """Orchard Way outside the tree's stretch (5.0–6.3 lx, below P3 but above P5) and the
    approach fp03 (4.5 lx, below P4) fail only the profile's [unverified] class choice:
    advisory. The tree's stretch of Orchard Way is below every class: it stays high."""
    lt1 = [f for f in demo.findings if f.rule_id in ("LT001", "LT003")]
    fp03 = [f for f in lt1 if f.features == ["fp03"]]
    assert fp03 and all(f.severity == "info" for f in fp03)
    st01 = [f for f in demo.findings if f.rule_id == "LT001" and f.features == ["st01"]]
    above = [f for f in st01 if f.severity != "info"]
    info = [f for f in st01 if f.severity == "info"]
    assert len(above) == 1 and above[0].evidence["below_every_class"]
    # the tree t03 stands beside Orchard Way inside the failing stretch
    assert above[0].evidence["E_avg_lx"] < 2.0
    (choice,) = info
    assert choice.rests_on == ["residential_class"]
    assert all(4.95 <= s["E_avg_lx"] <= 6.3 for s in choice.evidence["stretches"])
    assert any("residential_class" in m for m in choice.moderation)


# --- real extracts ------------------------------------------------------------------------

EXTRACTS = ("london_moorgate", "heidelberg_altstadt", "helsinki_centre")


@pytest.fixture(scope="module", params=EXTRACTS)
def extract(request):
    path = real_file("osm", f"{request.param}.osm.pbf")
    layout = safespace.load(path)
    result = safespace.assess(layout, rules=["LT"])
    return request.param, layout, result


def _lamp_reach(layout):
    """Mapped lamps as points, and the reach of each (6 × mounting height, as the rules)."""
    _, frame = layout_lamps(layout)
    return frame.geometry.values, 6.0 * frame["height_m"].to_numpy(dtype=float)


def test_real_no_finding_above_info_without_a_mapped_lamp(extract):
    name, layout, result = extract
    lamps, reach = _lamp_reach(layout)
    tree = shapely.STRtree(lamps) if len(lamps) else None
    lit = dict(zip(layout.foot_routes["fid"], layout.foot_routes["lit"], strict=False))
    for f in result.findings:
        if f.rule_id not in LT_RULES or f.severity == "info" or f.geometry is None:
            continue
        if any(lit.get(fid) in ("no", "disused") for fid in f.features):
            continue
        assert tree is not None, (name, f.message)
        near = tree.query(f.geometry, predicate="dwithin", distance=float(reach.max()))
        d = shapely.distance(lamps[near], f.geometry)
        assert np.any(d <= reach[near] + 1e-6), (name, f.rule_id, f.message)


def test_real_extract_has_its_lighting_gap_with_the_length(extract):
    name, layout, result = extract
    gaps = [
        f
        for f in result.findings
        if f.rule_id == "LT001" and f.evidence.get("gap", {}).get("kind") == "lamps-unmapped"
    ]
    assert len(gaps) == 1, name
    (gap,) = gaps
    assert gap.basis == "data-gap" and gap.severity == "info"
    assert gap.evidence["gap"]["extent"] > 1000.0
    assert " km " in gap.message
    share = result.metrics["lighting"]["assessable_share"]
    assert 0.0 <= share < 1.0
    # one entrance gap at most, and no finding on a single entrance in partial data
    assert not [f for f in result.findings if f.title == "Entrance too dark to recognise a face"]
    for f in result.findings:
        if f.area == "lighting":
            assert "nan" not in f.message.lower().split() and "way/" not in f.message


def test_real_heidelberg_at_most_20_lighting_findings_above_info(extract):
    name, _, result = extract
    if name != "heidelberg_altstadt":
        pytest.skip("Heidelberg only")
    above = [f for f in result.findings if f.area == "lighting" and f.severity != "info"]
    assert len(above) <= 20, [f.message for f in above]


def test_real_london_station_corridors_get_no_lighting_findings(extract):
    name, layout, result = extract
    if name != "london_moorgate":
        pytest.skip("London only")
    fr = layout.foot_routes
    corridors = set(fr.loc[fr["highway"] == "corridor", "fid"])
    assert len(corridors) > 10  # the extract has Moorgate/Barbican station corridors
    assert not [f for f in result.findings if set(f.features) & corridors]
