"""Layer completeness and the moderation of severities the data cannot bear (issue 12)."""

from __future__ import annotations

import pytest
import shapely

import safespace
from safespace.cli import main
from safespace.errors import InputError
from safespace.layout import COMPLETENESS_LAYERS, parse_complete
from safespace.rules.engine import Param, rule
from tests.conftest import FIXTURES, collection, feature, real_file, square

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def _line(*xy):
    return {"type": "LineString", "coordinates": [list(p) for p in xy]}


def _drawing(*extra, ids=None, site_tags=None):
    """A 5 × 5 grid of 10 m houses at a 20 m pitch (x, y 0..90), a footway along y = −5, and
    an optional red line (x 40..98, y −20..38) holding b20, b21, b30, b31, b40 and b41."""
    feats = [
        feature(
            square(X0 + 20 * i, Y0 + 20 * j, 10), id=(ids or "b{}{}").format(i, j), building="house"
        )
        for i in range(5)
        for j in range(5)
    ]
    feats.append(
        feature(_line((X0, Y0 - 5), (X0 + 90, Y0 - 5)), id="fp1", highway="footway", name="Lane")
    )
    if site_tags is not None:
        feats.append(feature(square(X0 + 40, Y0 - 20, 58), id="site", **site_tags))
    return collection(*feats, *extra, crs=BNG)


# --- completeness ---------------------------------------------------------------------------


def test_parse_complete_names_all_none_and_aliases():
    assert parse_complete("lamps, entrances") == {"lamps", "entrances"}
    assert parse_complete(["lamp", "phones"]) == {"lamps", "emergency_phones"}
    assert parse_complete("all") == set(COMPLETENESS_LAYERS)
    assert parse_complete(True) == set(COMPLETENESS_LAYERS)
    assert parse_complete("none") == set() == parse_complete(None)
    assert "boundary" not in COMPLETENESS_LAYERS
    with pytest.raises(InputError, match="unknown layer.*streetlights"):
        parse_complete("lamps,streetlights", "site.geojson")


def test_a_drawing_is_complete_and_an_osm_export_partial():
    drawn = safespace.load(_drawing())
    assert drawn.is_complete("lamps") and drawn.is_complete("entrances")
    # the same features with OSM ids, as an Overpass export gives them: unknown, not absent
    exported = safespace.load(_drawing(ids="way/10{}{}"))
    assert not exported.is_complete("lamps")
    assert exported.layer_status()["buildings"] == "partial"
    note = [n for n in exported.notes if n.code == "completeness"][0]
    assert "partial in every layer" in note.message and "OpenStreetMap" in note.message


def test_declaration_on_the_site_feature_and_the_caller_override():
    declared = safespace.load(
        _drawing(site_tags={"safespace:role": "site", "safespace:complete": "lamps,police"})
    )
    assert declared.is_complete("lamps") and declared.is_complete("police")
    assert not declared.is_complete("entrances")
    # the caller's word wins over the file's
    told = safespace.load(
        _drawing(site_tags={"safespace:role": "site", "safespace:complete": "lamps"}),
        complete="none",
    )
    assert not told.is_complete("lamps")
    with pytest.raises(InputError, match="unknown layer"):
        safespace.load(_drawing(site_tags={"safespace:role": "site", "safespace:complete": "x"}))


def test_demo_estate_declares_itself_complete_and_context_follows_its_source():
    demo = safespace.load(FIXTURES / "demo_estate.geojson")
    assert all(demo.is_complete(layer) for layer in COMPLETENESS_LAYERS)
    # a proposal drawn inside an OSM-exported context: each part follows its own source
    both = safespace.load(
        _drawing(site_tags={"safespace:role": "site"}), context=_drawing(ids="way/20{}{}")
    )
    assert both.is_complete("lamps", "proposal")
    assert not both.is_complete("lamps", "context")
    assert both.complete_mask("lamps", ["proposal", "context"]).tolist() == [True, False]


def test_osm_extract_is_partial_unless_told(tmp_path):
    path = real_file("osm", "heidelberg_altstadt.osm.pbf")
    layout = safespace.load(path)
    assert not any(layout.is_complete(layer) for layer in COMPLETENESS_LAYERS)
    told = safespace.load(path, complete="lamps,emergency_phones")
    assert told.is_complete("lamps") and not told.is_complete("police")


def test_cli_complete_flag_reaches_load(tmp_path, capsys):
    import json

    src = tmp_path / "osm_like.geojson"
    src.write_text(json.dumps(_drawing(ids="way/10{}{}")))
    out = tmp_path / "out.json"
    assert main(["assess", str(src), "-q", "--complete", "lamps", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["completeness"]["proposal"]["lamps"] == "complete"
    assert doc["completeness"]["proposal"]["buildings"] == "partial"


# --- moderation -----------------------------------------------------------------------------


@rule(
    "XX101",
    "One finding per building",
    "sightlines",
    params={
        "soft_m": Param(1.0, "m", "an unverified threshold", "guesswork [unverified]"),
        "hard_m": Param(1.0, "m", "a checked threshold", "a standard [checked]"),
    },
)
def per_building(site):
    for fid, geom in zip(site.layout.buildings["fid"], site.layout.buildings.geometry, strict=True):
        yield safespace.Finding(severity="high", title="b", geometry=geom, features=[fid])


@rule("XX102", "A design judgement", "permeability", proposal_rule=True)
def design_rule(site):
    for fid, geom in zip(site.layout.buildings["fid"], site.layout.buildings.geometry, strict=True):
        yield safespace.Finding(severity="high", title="d", geometry=geom, features=[fid])


@rule("XX103", "A gap and a weak threshold", "lighting", params=per_building.params)
def gap_rule(site):
    geom = site.layout.buildings.geometry.iloc[12]
    yield safespace.Finding(severity="high", title="gap", geometry=geom, basis="data-gap")
    yield safespace.Finding(severity="high", title="soft", geometry=geom, rests_on=["soft_m"])
    yield safespace.Finding(severity="high", title="hard", geometry=geom, rests_on=["hard_m"])


REGISTRY = {r.id: r for r in (per_building, design_rule, gap_rule)}


def _assess(doc, **assessment):
    from safespace.rules.profiles import Profile

    profile = Profile(
        name="t",
        description="",
        path="",
        rule_ids=sorted(REGISTRY),
        params={rid: r.defaults() for rid, r in REGISTRY.items()},
        sources={
            rid: {n: p.source for n, p in r.all_params.items()} for rid, r in REGISTRY.items()
        },
        sha256="",
    )
    profile.assessment.update(assessment)
    return safespace.assess(doc, profile=profile, registry=REGISTRY)


def _by(result, rule_id):
    return {f.features[0]: f for f in result.findings if f.rule_id == rule_id and f.features}


def test_data_gap_and_unverified_thresholds_are_advisory():
    result = _assess(_drawing(site_tags={"safespace:role": "site"}), edge_margin_m=0.0)
    titles = {f.title: f for f in result.findings if f.rule_id == "XX103"}
    assert titles["gap"].severity == "info" and "data gap" in titles["gap"].moderation[0]
    assert titles["soft"].severity == "info" and "soft_m" in titles["soft"].moderation[0]
    assert titles["hard"].severity == "high" and titles["hard"].moderation == []
    assert "(rule said high)" in titles["soft"].moderation[0]


PROPOSED = {"b20", "b21", "b30", "b31", "b40", "b41"}
INNER = {f"b{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3)}


def test_proposal_rules_are_advisory_outside_the_red_line_and_everywhere_without_one():
    result = _assess(_drawing(site_tags={"safespace:role": "site"}), edge_margin_m=0.0)
    design = _by(result, "XX102")
    assert {k for k, f in design.items() if f.severity == "high"} == PROPOSED
    assert {k for k, f in design.items() if f.scope == "proposal"} == PROPOSED
    # b22 (y 40..50) lies 2 m beyond the red line (y = 38): outside it
    assert design["b22"].scope == "context" and design["b22"].severity == "info"
    # a rule that describes a condition people meet keeps its severity in the context
    assert all(f.severity == "high" for f in _by(result, "XX101").values())
    # no red line: nothing is proposed
    bare = _assess(_drawing(), edge_margin_m=0.0)
    assert {f.severity for f in _by(bare, "XX102").values()} == {"info"}


def test_findings_at_the_data_edge_are_advisory_unless_in_the_proposal():
    # the building data spans x, y 0..90; a 15 m margin leaves the core 15..75, which the
    # outer ring of houses (e.g. b00 at 0..10, b40 at 80..90) does not reach
    result = _assess(safespace.load(_drawing(), complete="none"), edge_margin_m=15.0)
    sev = {k: f.severity for k, f in _by(result, "XX101").items()}
    assert {k for k, s in sev.items() if s == "high"} == INNER
    assert "within 15 m of where the data stops" in _by(result, "XX101")["b00"].moderation[0]
    core = shapely.buffer(result.layout.data_extent, -15.0)
    assert core.bounds == pytest.approx((X0 + 15, Y0 + 15, X0 + 75, Y0 + 75))
    # inside a red line a drawing describes its own site: no edge moderation there
    extract = safespace.load(_drawing(site_tags={"safespace:role": "site"}), complete="none")
    inside = _by(_assess(extract, edge_margin_m=15.0), "XX101")
    assert {k for k, f in inside.items() if f.severity == "high"} == INNER | PROPOSED
    # a drawing (complete buildings) has no data edge: what is not drawn is not there
    drawn = _by(_assess(_drawing(), edge_margin_m=15.0), "XX101")
    assert {f.severity for f in drawn.values()} == {"high"}


def test_every_export_carries_basis_scope_issue_and_moderation(tmp_path):
    import csv
    import json

    result = _assess(_drawing(site_tags={"safespace:role": "site"}), edge_margin_m=0.0)
    doc = json.loads(result.to_geojson(tmp_path / "f.geojson").read_text())
    props = doc["features"][0]["properties"]
    for key in ("basis", "scope", "issue_id", "moderation", "planning_weight"):
        assert key in props
    assert {p["properties"]["basis"] for p in doc["features"]} == {"measured", "data-gap"}
    assert all(p["properties"]["issue_id"] for p in doc["features"])
    rows = list(csv.DictReader((result.to_csv(tmp_path / "f.csv")).open()))
    assert {"basis", "scope", "issue_id", "moderation"} <= set(rows[0])
    frame = result.to_geodataframe()
    assert {"basis", "scope", "issue_id", "moderation"} <= set(frame.columns)


def test_demo_ring_road_is_context_though_it_crosses_the_red_line_tongue():
    # the red line's tongue (x 108..136, y -30..0) takes in 28 m of the 218 m Ring Road r03
    # where it crosses the underpass: the road passes the site, it is not part of it
    result = safespace.assess(FIXTURES / "demo_estate.geojson")
    on_r03 = [f for f in result.findings if "r03" in f.features]
    assert on_r03 and {f.scope for f in on_r03} == {"context"}
    # the underpass itself, wholly inside the tongue, is the proposal's
    under = [f for f in result.findings if "fp04" in f.features and f.rule_id == "SL005"]
    assert under and {f.scope for f in under} == {"proposal"}
    assert {i.scope for i in result.issues if set(i.rules) & {"SL005"}} == {"proposal"}
