"""Tiled assessment: grid, clipping, margins, and tiled == untiled findings."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import safespace
from safespace.batch import assess_tiled, clip_layout, default_margin, tile_grid
from safespace.batch.task import registry_with
from safespace.batch.tiling import anchor_cells
from safespace.cli import main
from safespace.findings import Finding
from tests.batch.batch_test_rules import EXTRA
from tests.conftest import collection, feature


def finding_keys(findings) -> Counter:
    """(rule, severity, anchor rounded to cm) of every finding: rule-agnostic comparison."""
    keys = []
    for f in findings:
        if f.geometry is None or f.geometry.is_empty:
            keys.append((f.rule_id, f.severity, None))
        else:
            p = shapely.point_on_surface(f.geometry)
            keys.append((f.rule_id, f.severity, (round(p.x, 2), round(p.y, 2))))
    return Counter(keys)


@settings(deadline=None)
@given(
    st.floats(-1e4, 1e4), st.floats(-1e4, 1e4), st.floats(0, 3000), st.floats(0, 3000),
    st.floats(50, 1000), st.floats(0, 1), st.floats(0, 1),
)  # fmt: skip
def test_every_point_of_the_extent_is_in_exactly_one_core(x0, y0, w, h, size, fx, fy):
    tiles, (nx, ny) = tile_grid((x0, y0, x0 + w, y0 + h), size)
    assert len(tiles) == nx * ny
    px, py = x0 + fx * w, y0 + fy * h
    inside = [t for t in tiles if t.x0 <= px < t.x0 + t.size and t.y0 <= py < t.y0 + t.size]
    assert len(inside) == 1
    cells = anchor_cells([Finding(geometry=shapely.Point(px, py))], (x0, y0), size, (nx, ny))
    assert tuple(cells[0]) == (inside[0].ix, inside[0].iy)


def _hand_layout():
    # Metric CRS (EPSG:32631) so lengths are exact: buildings at x = 0, 150 (straddling the
    # 100 m tile border), 320; a street from x = -50 to 450.
    feats = [
        feature(shapely.geometry.mapping(shapely.box(x, 0, x + 60, 20)), id=f"b{x}", building="yes")
        for x in (0, 70, 320)
    ]
    feats.append(feature({"type": "LineString", "coordinates": [[-50, -10], [450, -10]]}, id="s",
                         highway="residential"))  # fmt: skip
    doc = collection(*feats, crs={"type": "name", "properties": {"name": "EPSG:32631"}})
    return safespace.load(doc, crs="EPSG:32631")


def test_clip_layout_select_keeps_whole_features_and_cut_cuts():
    layout = _hand_layout()
    region = shapely.box(100, -50, 200, 50)
    sel = clip_layout(layout, region)
    assert sorted(sel.buildings["fid"]) == ["b70"]  # b70 spans 70..130, crosses x=100
    assert sel.buildings.geometry.iloc[0].equals(shapely.box(70, 0, 130, 20))
    assert len(sel.streets) == 1 and sel.streets.geometry.iloc[0].length == pytest.approx(500)
    cut = clip_layout(layout, region, mode="cut")
    assert cut.buildings.geometry.iloc[0].area == pytest.approx(30 * 20)
    assert cut.streets.geometry.iloc[0].length == pytest.approx(100)
    assert clip_layout(layout, shapely.box(1000, 1000, 1100, 1100)).summary()["buildings"] == 0


def test_default_margin_is_the_longest_reach_at_least_200m():
    prof = safespace.load_profile("default", registry_with(EXTRA))
    prof.rule_ids, prof.params = ["XT001"], {"XT001": {}}
    assert default_margin(prof) == 200.0  # nothing reaches: the floor
    prof.params["XT001"] = {"search_radius": 350, "max_gap_m": 90.0, "flag": True, "n": 900}
    assert default_margin(prof) == 350.0  # a radius; 'n' is not a length
    prof.params["XT001"]["look_m"] = 1200.0
    assert default_margin(prof) == 1200.0
    prof.params["ZZ999"] = {"far_m": 5000.0}  # a rule the profile does not run
    assert default_margin(prof) == 1200.0


def assert_scores_match(tiled, untiled):
    """Same areas scored; scores derived from findings are equal (a score a rule gives
    itself is a core-area-weighted mean of the tiles', an approximation by design)."""
    assert tiled.scores.keys() == untiled.scores.keys()
    for area, score in tiled.scores.items():
        if not score.explanation.startswith("core-area-weighted mean"):
            assert score == untiled.scores[area]


def _both(source, tile_m, margin_m=None, executor="inline", **kw):
    registry = registry_with(EXTRA)
    untiled = safespace.assess(source, registry=registry, **kw)
    tiled = assess_tiled(
        source, tile_m=tile_m, margin_m=margin_m, executor=executor, workers=2,
        extra_rules=EXTRA, **kw,
    )  # fmt: skip
    return untiled, tiled


def test_border_straddling_building_is_kept_once():
    untiled, tiled = _both(_hand_layout(), tile_m=100, margin_m=20)
    xt = [f for f in tiled.findings if f.rule_id == "XT001"]
    assert len(xt) == 3 and len({f.message for f in xt}) == 3
    assert tiled.provenance["tiling"]["tiles_assessed"] >= 4
    assert finding_keys(tiled.findings) == finding_keys(untiled.findings)
    assert_scores_match(tiled, untiled)


@pytest.mark.parametrize(("name", "tile_m"), [("oak", 400.0), ("de", 150.0)])
def test_tiled_equals_untiled_on_real_data(real_sites, name, tile_m):
    layout = safespace.load(real_sites[name])
    untiled, tiled = _both(layout, tile_m=tile_m)
    assert tiled.provenance["tiling"]["tiles_assessed"] > 1  # really tiled
    assert sum(f.rule_id == "XT001" for f in untiled.findings) == len(layout.buildings) > 0
    assert finding_keys(tiled.findings) == finding_keys(untiled.findings)
    assert_scores_match(tiled, untiled)
    assert tiled.counts() == untiled.counts()


def test_tiled_through_a_process_pool_matches_inline(real_sites):
    layout = safespace.load(real_sites["oak"])
    a = assess_tiled(layout, tile_m=500, executor="inline", extra_rules=EXTRA)
    b = assess_tiled(layout, tile_m=500, executor="process", workers=2, extra_rules=EXTRA)
    wkb = [[None if f.geometry is None else f.geometry.wkb for f in r.findings] for r in (a, b)]
    assert wkb[0] == wkb[1]
    assert finding_keys(a.findings) == finding_keys(b.findings)
    assert [(f.rule_id, f.message) for f in a.findings] == [
        (f.rule_id, f.message) for f in b.findings
    ]


def test_cli_assess_tile(tmp_path, real_sites, capsys):
    out = tmp_path / "tiled.geojson"
    rc = main(["assess", str(real_sites["oak"]), "--tile", "400", "--workers", "1",
               "-o", str(out)])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    tiling = doc["safespace"]["provenance"]["tiling"]
    margin = default_margin(safespace.load_profile("default"))
    assert tiling["tile_m"] == 400 and tiling["margin_m"] == margin >= 200
    untiled = safespace.assess(real_sites["oak"])
    assert len(doc["features"]) == len(untiled.findings)
    assert f"tiles, margin {margin:g} m" in capsys.readouterr().err


def test_bad_tile_size_is_a_clear_error(real_sites):
    with pytest.raises(safespace.SafespaceError, match="positive number of metres"):
        assess_tiled(real_sites["oak"], tile_m=0, executor="inline")
    assert np.isfinite(default_margin(safespace.load_profile("default")))
