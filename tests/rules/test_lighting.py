"""Lighting rules on hand-built scenes, the courtyard scene and the demo estate."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.ops

import safespace
from safespace.rules import lighting as lt
from safespace.rules.engine import Site, run_rule
from tests.conftest import FIXTURES, collection, feature

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def line(*xy):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def run(rule_, layout, cache=None, **params):
    site = Site(layout, cache if cache is not None else {}, {**rule_.defaults(), **params})
    return list(run_rule(rule_, site))


def findings(items):
    return [i for i in items if isinstance(i, safespace.Finding)]


def one_lamp_layout(lumens="3000"):
    return safespace.load(
        collection(
            feature(line((-24, 0), (24, 0)), id="fw", highway="footway", width="1"),
            feature(
                point(0, 0), id="l", highway="street_lamp", height="5", safespace__lumens=lumens
            ),  # fmt: skip
            crs=BNG,
        )
    )


def test_p_class_evidence_matches_hand_computed_closed_form():
    """One generic lamp (5 m, 3000 lm, MF 0.8) over a 48 m footway: Ē and Emin from
    E = k·I(C, γ)·cos³γ / h² at the grid points the rule uses (16 rows × 3 across)."""
    layout = one_lamp_layout()
    items = run(lt.p_class, layout, stretch_m=100.0)
    (f,) = findings(items)
    from safespace.photometry import generic_streetlight

    ph = generic_streetlight(1000.0)
    along = (np.arange(16) + 0.5) * 3.0 - 24.0
    off = np.array([-1 / 3, 0.0, 1 / 3])
    x, y = np.meshgrid(along, off)
    r = np.hypot(x, y)
    gamma = np.degrees(np.arctan2(r, 5.0))
    c = np.degrees(np.arctan2(y, x)) % 360  # C0 along the footway (lamp on its line)
    e = 3.0 * 0.8 * ph.intensity(c, gamma) * np.cos(np.radians(gamma)) ** 3 / 25.0
    assert f.evidence["E_avg_lx"] == pytest.approx(e.mean(), abs=1e-3)
    assert f.evidence["E_min_lx"] == pytest.approx(e.min(), abs=1e-3)
    assert f.evidence["U0"] == pytest.approx(e.min() / e.mean(), abs=1e-3)
    assert f.evidence["required_class"] == "P4"
    # the footway meets P6 with a bright enough lamp; the score is the length share
    assert e.mean() < 5.0
    (score,) = [i for i in items if isinstance(i, safespace.findings.Score)]
    assert score.value == 0.0


def test_p_class_passes_when_requirement_is_met():
    layout = one_lamp_layout(lumens="30000")
    items = run(lt.p_class, layout, stretch_m=100.0, footway_class="P6")
    assert not findings(items)
    (score,) = [i for i in items if isinstance(i, safespace.findings.Score)]
    assert score.value == 100.0


def test_dark_spot_length_between_two_lamps():
    # lamps 60 m apart (5 m, reach 30 m): the middle of a 120 m path is out of reach
    layout = safespace.load(
        collection(
            feature(line((0, 0), (120, 0)), id="fw", highway="footway", width="1"),
            feature(point(0, 0), highway="street_lamp", height="5"),
            feature(point(120, 0), highway="street_lamp", height="5"),
            crs=BNG,
        )
    )
    items = run(lt.dark_spots, layout)
    lengths = sorted(f.evidence["length_m"] for f in findings(items))
    # E_h falls below 1 lx (P4's Emin) somewhere before reach; the dark run is one stretch
    # around the middle, symmetric, covering at least the 60 m out of reach
    assert len(lengths) == 1 and 60.0 <= lengths[0] <= 120.0
    (f,) = findings(items)
    mid = f.geometry.interpolate(0.5, normalized=True)
    assert mid.x - X0 == pytest.approx(60.0, abs=1.6)


def test_courtyard_scene():
    layout = safespace.load(FIXTURES / "scenes" / "courtyard_lamp.geojson")
    cache = {}
    unlit = findings(run(lt.must_be_lit, layout, cache))
    # fp01 is tagged lit=no: flagged; the court is lit and is not a route in the list
    assert [f.features for f in unlit] == [["fp01"]]
    p = findings(run(lt.p_class, layout, cache))
    assert any(f.features == ["fp01"] and f.evidence["E_avg_lx"] == 0.0 for f in p)
    assert not findings(run(lt.shaded_lamps, layout, cache))


def test_demo_estate():
    layout = safespace.load(FIXTURES / "demo_estate.geojson")
    cache = {}
    unlit = findings(run(lt.must_be_lit, layout, cache))
    assert any(f.features == ["fp01"] and f.severity == "high" for f in unlit)
    part = findings(run(lt.dusk_to_dawn, layout, cache))
    assert [f.features for f in part] == [["fp02"]]
    dark = findings(run(lt.dark_spots, layout, cache))
    assert any(f.features == ["fp01"] and f.evidence["length_m"] > 72 for f in dark)
    shaded = findings(run(lt.shaded_lamps, layout, cache))
    assert [f.features for f in shaded] == [["l03"]]
    face = findings(run(lt.facial_recognition, layout, cache))
    assert any(f.features == ["fp01"] for f in face)
    # the sound cul-de-sac st02 meets its class
    p = findings(run(lt.p_class, layout, cache))
    assert not any(f.features == ["st02"] for f in p)


def test_bad_class_name_is_a_rule_error():
    with pytest.raises(safespace.errors.RuleError, match="P9"):
        run(lt.p_class, one_lamp_layout(), footway_class="P9")


def test_vectorised_substrings_match_shapely_substring():
    from safespace._geom import line_substrings as _substrings

    rng = np.random.default_rng(2)
    lines, a0, a1 = [], [], []
    for _ in range(200):
        xy = np.cumsum(rng.uniform(-5, 5, (rng.integers(2, 9), 2)), axis=0)
        line = shapely.LineString(xy)
        if line.length == 0:
            continue
        s = np.sort(rng.uniform(-0.1, 1.1, 2)) * line.length
        lines.append(line)
        a0.append(s[0])
        a1.append(s[1])
    # vertices exactly at the cut and a cut past the end
    sq = shapely.LineString([(0, 0), (10, 0), (10, 10)])
    lines += [sq, sq, sq]
    a0 += [0.0, 10.0, 5.0]
    a1 += [10.0, 20.0, 25.0]
    got = _substrings(np.array(lines, dtype=object), np.array(a0), np.array(a1))
    for g, line, s, e in zip(got, lines, a0, a1, strict=True):
        want = shapely.ops.substring(line, s, e)
        assert shapely.equals_exact(g, want, tolerance=1e-9), (g.wkt, want.wkt)


def test_failing_stretches_of_one_route_are_one_finding_per_tier_with_the_worst_figures():
    """48 m footway in 10 m stretches (5 of 9.6 m): the middle one, under the lamp, meets
    P4, the four others do not. LT001 reports the route once per tier (below every P class,
    or below only the chosen P4), as the failing stretches with the worst figures; LT003
    reports it once."""
    layout = one_lamp_layout()
    whole = findings(run(lt.p_class, layout, stretch_m=100.0))[0]
    fs = findings(run(lt.p_class, layout, stretch_m=10.0))
    assert {f.evidence["below_every_class"] for f in fs} == {True, False} and len(fs) == 2
    spans = sorted((s["from_m"], s["to_m"]) for f in fs for s in f.evidence["stretches"])
    assert spans == [(0.0, 9.6), (9.6, 19.2), (28.8, 38.4), (38.4, 48.0)]
    assert sum(f.geometry.length for f in fs) == pytest.approx(4 * 9.6, abs=1e-6)
    assert sum(f.evidence["length_m"] for f in fs) == pytest.approx(4 * 9.6, abs=0.1)
    for f in fs:
        ev = f.evidence
        assert ev["E_avg_lx"] == min(s["E_avg_lx"] for s in ev["stretches"])
        # the tier says whether the figures fail P6 (2 / 0.4 lx), the lowest class
        assert (ev["E_avg_lx"] < 2.0 or ev["E_min_lx"] < 0.4) == ev["below_every_class"]
        # below every class rests on no class choice; below P4 only rests on footway_class
        assert f.rests_on == ([] if ev["below_every_class"] else ["footway_class"])
    # the darkest point (the route's ends) is in a failing stretch
    assert min(f.evidence["E_min_lx"] for f in fs) == pytest.approx(
        whole.evidence["E_min_lx"], abs=1e-9
    )
    # rows every 3 m from 1.5 m: 3 + 3 + 3 + 3 of the 16 fall in the failing stretches
    assert whole.evidence["grid_points"] == 48
    assert sum(f.evidence["grid_points"] for f in fs) == 12 * 3
    faces = findings(run(lt.facial_recognition, layout, stretch_m=10.0, check_entrances=False))
    assert len(faces) == 1 and faces[0].geometry.geom_type == "MultiLineString"
