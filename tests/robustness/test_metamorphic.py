"""Metamorphic invariance (issue 14, item 7): turning or mirroring the whole layout changes
no finding and no score.

No oracle is needed: a layout rotated by 37° (or 90°) about a point, or mirrored, is the same
place, so every rule must find the same things in it, each as long as before, and every area
must score the same. Translation is in ``test_determinism.py``; reprojection in
``test_crs_invariance.py``. These tests found two defects (see docs/reliability.md): LT006
sampled each lamp's reach on a map-aligned grid, and PM005 counted its samples with
``floor``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import pytest
import shapely
import shapely.affinity

import safespace
from tests.conftest import FIXTURES, real_file

TRANSFORMS = {
    "rotated 37°": lambda g, c: shapely.affinity.rotate(g, 37.0, origin=c),
    "rotated 90°": lambda g, c: shapely.affinity.rotate(g, 90.0, origin=c),
    "mirrored": lambda g, c: shapely.affinity.scale(g, -1.0, 1.0, origin=c),
}


#: Findings about the whole layout, drawn as the area assessed: without a red line that is
#: the data's bounding rectangle on the map grid, which is larger once the data is turned.
#: Their measures are intrinsic and compared through their messages instead.
AREA_WIDE = {"PM001", "PM002", "PM003", "PM004", "PA001", "PA002", "PA005"}


def _transformed(layout, how: str):
    """The layout with every layer's geometry turned or mirrored about its centre."""
    frames = [f for f in layout.layers.values() if not f.empty]
    centre = shapely.box(*shapely.total_bounds([g for f in frames for g in f.geometry])).centroid
    fn = TRANSFORMS[how]
    changes = {}
    for name, frame in layout.layers.items():
        if frame.empty:
            continue
        out = frame.copy()
        out["geometry"] = [None if g is None else fn(g, centre) for g in frame.geometry]
        out = out.set_geometry("geometry", crs=layout.crs)
        changes[name] = out
    return dataclasses.replace(layout, **changes)


def _summary(a):
    """Findings per (rule, severity), and the total length (or area) they cover per rule."""
    counts = Counter((f.rule_id, f.severity) for f in a.findings)
    extent: dict[str, float] = defaultdict(float)
    for f in a.findings:
        if f.geometry is not None and not f.geometry.is_empty:
            extent[f.rule_id] += f.geometry.length or f.geometry.area
    return counts, extent


def _same(ref, got):
    rc, re_ = _summary(ref)
    gc, ge = _summary(got)
    assert not got.failures
    assert gc == rc, (gc - rc, rc - gc)
    for rule, length in re_.items():
        if rule in AREA_WIDE:
            continue
        assert ge[rule] == pytest.approx(length, rel=0.01, abs=0.5), rule
    for area, score in ref.scores.items():
        other = got.scores[area]
        assert (score.value is None) == (other.value is None), area
        if score.value is not None:
            assert other.value == pytest.approx(score.value, abs=0.5), area
    assert sorted(i.kind for i in got.issues) == sorted(i.kind for i in ref.issues)
    wide = [(f.rule_id, f.message) for f in ref.findings if f.rule_id in AREA_WIDE]
    assert sorted(wide) == sorted(
        (f.rule_id, f.message) for f in got.findings if f.rule_id in AREA_WIDE
    )


@pytest.fixture(scope="module")
def demo():
    layout = safespace.load(FIXTURES / "demo_estate.geojson")
    return layout, safespace.assess(layout)


@pytest.mark.parametrize("how", sorted(TRANSFORMS))
def test_demo_estate_turned_or_mirrored_finds_the_same(demo, how):
    layout, ref = demo
    assert len(ref.findings) > 40
    _same(ref, safespace.assess(_transformed(layout, how)))


@pytest.mark.parametrize("how", ["rotated 37°", "mirrored"])
def test_real_extract_turned_or_mirrored_finds_the_same(how):
    layout = safespace.load(real_file("osm", "london_moorgate.osm.pbf"))
    ref = safespace.assess(layout)
    assert len(ref.findings) > 100
    _same(ref, safespace.assess(_transformed(layout, how)))
