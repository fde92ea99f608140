"""Issues: findings grouped by place, ranked, with key concerns and the overall position."""

from __future__ import annotations

import copy

import pytest
import shapely

import safespace
from safespace._place import PlaceIndex, grid_reference, os_grid_reference, plain_text
from safespace.findings import Finding
from safespace.issues import group_issues, overall_position, priority_of
from tests.conftest import FIXTURES, real_file

ORIGIN = (303211.0, 5787749.0)  # the demo's local frame (fixtures/README.md)


@pytest.fixture(scope="module")
def demo():
    return safespace.assess(FIXTURES / "demo_estate.geojson")


def _issue_of(a, fid, rule=None):
    ids = {
        f.issue_id for f in a.findings if fid in f.features and (rule is None or f.rule_id == rule)
    }
    return [i for i in a.issues if i.id in ids]


def _local(x, y):
    return shapely.Point(ORIGIN[0] + x, ORIGIN[1] + y)


# --- structure ------------------------------------------------------------------------------


def assert_partition(a):
    """Every finding in exactly one issue, and its issue_id names that issue."""
    members = [fid for i in a.issues for fid in i.finding_ids]
    assert sorted(members) == sorted(f.id for f in a.findings)
    owner = {fid: i.id for i in a.issues for fid in i.finding_ids}
    assert all(owner[f.id] == f.issue_id for f in a.findings)
    assert len({i.id for i in a.issues}) == len(a.issues)


def test_demo_every_finding_in_one_issue_and_at_most_20(demo):
    assert_partition(demo)
    assert 0 < len(demo.issues) <= 20


def test_demo_rear_footpath_is_one_issue_with_one_recommendation(demo):
    issues = _issue_of(demo, "fp01")
    assert len(issues) == 1
    issue = issues[0]
    on_fp01 = {f.id for f in demo.findings if "fp01" in f.features}
    assert on_fp01 <= set(issue.finding_ids)
    assert len(issue.rules) >= 7 and {"PM005", "SL001", "LT004"} <= set(issue.rules)
    assert issue.kind == "rear_route" and issue.key_concern
    assert issue.recommendation.startswith(
        "Rear footpath fp01 (between Mill Lane and Orchard Way): remove it, or gate it at the "
        "front building line; if it is kept, light it and give it overlooking windows"
    )
    assert len(issue.evidence) == len(issue.rules)  # one line per member rule


@pytest.mark.parametrize(
    ("fid", "rule"),
    [
        ("fp01", "SL001"),  # 1 rear footpath not overlooked
        ("fp01", "PM005"),  # 2 behind dwellings
        ("fp01", "LT004"),  # 3 unlit
        ("fp02", "PM006"),  # 4 leaky cul-de-sac
        ("fp02", "LT005"),  # 5 lit=limited
        ("fp04", "SL005"),  # 6 underpass exit hidden
        ("hc09", "SL003"),  # 7 recess
        ("fp06", "PM009"),  # 8 dead-end path
        ("pk01", "SL006"),  # 9 parking not overlooked
        ("br03", "SL008"),  # 10 front wall
        ("br04", "SL007"),  # 11 hedge
        ("pl01", "SL007"),  # 12 shrubs
        ("t03", "SL007"),  # 13 low crown
        ("l03", "LT006"),  # 14 lamp in a crown
    ],
)
def test_demo_planted_problem_is_in_an_issue(demo, fid, rule):
    issues = _issue_of(demo, fid, rule)
    assert len(issues) == 1, f"{rule} on {fid}: {[i.title for i in issues]}"


def test_demo_high_planted_problems_are_key_concerns(demo):
    planted = [("fp01", "SL001"), ("fp01", "LT004"), ("fp04", "SL005"), ("pk01", "SL006"),
               ("fp02", "PM006"), ("fp06", "PM009"), ("hc09", "SL003")]  # fmt: skip
    highs = 0
    for fid, rule in planted:
        hits = [f for f in demo.findings if fid in f.features and f.rule_id == rule]
        assert hits, (fid, rule)
        if any(f.severity == "high" for f in hits):
            highs += 1
            (issue,) = _issue_of(demo, fid, rule)
            assert issue.key_concern and issue.severity == "high", (fid, rule)
    assert highs >= 2  # the rear footpath and the underpass at least
    keys = [i for i in demo.issues if i.key_concern]
    assert 0 < len(keys) <= 10
    assert all(i.scope == "proposal" and i.severity != "info" for i in keys)


def test_distinct_planted_places_stay_apart(demo):
    # the dead-end alley fp06 and the rear footpath fp01 are 33 m apart across Orchard Way
    (a,) = _issue_of(demo, "fp06", "PM009")
    (b,) = _issue_of(demo, "fp01", "PM005")
    (c,) = _issue_of(demo, "fp04", "SL005")
    (d,) = _issue_of(demo, "pk01", "SL006")
    assert len({a.id, b.id, c.id, d.id}) == 4
    assert "Orchard Close" in _issue_of(demo, "fp02", "PM006")[0].place


def test_ranking_sorted_and_documented_terms(demo):
    pr = [i.priority for i in demo.issues]
    assert pr == sorted(pr, reverse=True)
    for i in demo.issues:
        assert i.priority == pytest.approx(priority_of(i.priority_terms))
    # severity dominates: every high issue ranks above every medium one
    highs = [n for n, i in enumerate(demo.issues) if i.severity == "high"]
    mediums = [n for n, i in enumerate(demo.issues) if i.severity == "medium"]
    assert highs and mediums and max(highs) < min(mediums)


def test_ids_are_stable(demo):
    again = copy.deepcopy(demo.findings)
    issues = group_issues(again, demo.layout, demo.profile)
    assert [i.id for i in issues] == [i.id for i in demo.issues]
    assert [f.issue_id for f in again] == [f.issue_id for f in demo.findings]


# --- data gaps, scope, position ------------------------------------------------------------


def _finding(rule, severity, fid, scope="proposal", basis="measured", area="lighting", **ev):
    return Finding(
        rule_id=rule,
        severity=severity,
        title=rule,
        message=f"{rule} on {fid}.",
        geometry=None,
        area=area,
        features=[fid],
        basis=basis,
        scope=scope,
        id=f"{rule}-{fid}-{scope}",
        evidence=ev,
    )


def test_data_gaps_and_scopes_never_merge(demo):
    gap = {"kind": "lamps unmapped", "extent": 120.0, "unit": "m", "resolve": "supply lamps"}
    fs = [
        _finding("LT001", "high", "st01"),
        _finding("LT001", "info", "st01", basis="data-gap", gap=gap),
        _finding("LT003", "info", "st02", basis="data-gap", gap=dict(gap, kind="door lights")),
        _finding("SL001", "medium", "st01", scope="context", area="sightlines"),
    ]
    issues = group_issues(fs, demo.layout, demo.profile)
    assert len(issues) == 4  # design, two gap kinds, and the context finding
    gaps = [i for i in issues if i.kind == "data_gap"]
    assert len(gaps) == 2 and not any(i.key_concern for i in gaps)
    assert {i.extent_m for i in gaps} == {120.0}
    assert any("supply lamps" in i.recommendation.lower() for i in gaps)
    scopes = {i.scope for i in issues if i.kind != "data_gap"}
    assert scopes == {"proposal", "context"}


def test_position_rule_and_override(demo):
    assert demo.position["position"] == "objection"  # high key concerns in the proposal
    fs = [_finding("SL007", "medium", "br04", area="sightlines")]
    issues = group_issues(fs, demo.layout, demo.profile)
    assert overall_position(issues)["position"] == "subject to conditions"
    fs = [_finding("SL007", "info", "br04", area="sightlines")]
    issues = group_issues(fs, demo.layout, demo.profile)
    assert not any(i.key_concern for i in issues)
    assert overall_position(issues)["position"] == "no objection"
    over = overall_position(demo.issues, override="subject to conditions", reason="agreed")
    assert over == {"position": "subject to conditions", "reason": "agreed", "derived": "objection"}
    with pytest.raises(ValueError):
        overall_position(demo.issues, override="maybe")


def test_key_concerns_capped_by_profile(demo):
    prof = copy.deepcopy(demo.profile)
    prof.assessment["key_concerns"] = 2
    issues = group_issues(copy.deepcopy(demo.findings), demo.layout, prof)
    keys = [i for i in issues if i.key_concern]
    assert len(keys) == 2 and keys == issues[:2]


# --- place names ---------------------------------------------------------------------------


def test_os_grid_reference_known_points():
    # Ordnance Survey's own worked example: TG 51409 13177 is E 651409, N 313177
    assert os_grid_reference(651409, 313177) == "TG 5140 1317"
    assert os_grid_reference(545120, 258230) == "TL 4512 5823"
    assert os_grid_reference(-1, 0) is None


def test_grid_reference_uk_and_elsewhere():
    # the demo site (Cambridgeshire, UTM 31N) gets an OS reference in square TL
    assert grid_reference(_local(0, 0), "EPSG:32631").startswith("TL ")
    # Heidelberg: rounded UTM easting/northing with the CRS
    ref = grid_reference(shapely.Point(478243.0, 5473084.0), "EPSG:32632")
    assert ref == "E 478240 N 5473080 (EPSG:32632)"


def test_plain_text_replaces_raw_ids(demo):
    idx = PlaceIndex.of(demo.layout)
    idx.name["way/253080548"] = "Hauptstraße"
    assert plain_text("footway way/253080548, 0–14 m: 0.0 lx", idx) == (
        "footway Hauptstraße, 0–14 m: 0.0 lx"
    )
    assert plain_text("Lamp node/77: blocked", idx) == "Lamp: blocked"


# --- a real extract --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heidelberg():
    path = real_file("osm", "heidelberg_altstadt.osm.pbf")
    return safespace.assess(path)


def test_heidelberg_issues_partition_and_name_places(heidelberg):
    a = heidelberg
    assert_partition(a)
    keys = [i for i in a.issues if i.key_concern]
    assert 0 < len(keys) <= 10
    assert all(i.scope == "context" for i in a.issues)  # no red line: nothing proposed
    text = " ".join([i.title for i in a.issues] + [i.recommendation for i in a.issues])
    text += " ".join(e for i in a.issues for e in i.evidence)
    assert "way/" not in text and "node/" not in text and " nan" not in text
    # key concerns name a street (from the data) or give a grid reference
    streets = set(PlaceIndex.of(a.layout).name.values())
    for i in keys:
        assert any(s in i.place for s in streets) or "(EPSG:" in i.place, i.place
    # far fewer issues than findings (the old flat list had one point per 30 m stretch)
    assert len(a.issues) < len(a.findings) / 10


def test_tiled_assessment_groups_and_scores_as_untiled(demo):
    from safespace.batch.tiling import assess_tiled

    tiled = assess_tiled(demo.layout, tile_m=100, executor="inline")
    assert tiled.provenance["tiling"]["tiles_assessed"] > 1
    assert_partition(tiled)
    assert [(i.id, i.title, sorted(i.rules)) for i in tiled.issues] == [
        (i.id, i.title, sorted(i.rules)) for i in demo.issues
    ]
    assert [i.key_concern for i in tiled.issues] == [i.key_concern for i in demo.issues]
    for area, score in demo.scores.items():
        assert tiled.scores[area].value == pytest.approx(score.value, abs=0.5), area


def test_angular_choice_joins_the_people_term_when_cached(demo):
    from safespace.issues import priority_terms

    t = priority_terms("high", 0.0, 10, 1, choice=1.0)
    assert t["people"] == pytest.approx(1 + 0.5 * 10 / 20 + 0.5)
    issues = group_issues(copy.deepcopy(demo.findings), demo.layout, demo.profile, site=demo.site)
    by_kind = {i.kind: i for i in issues}
    spine = next(i for i in issues if i.place == "Orchard Way")
    rear = by_kind["rear_route"]
    # the spine road carries more movement than the isolated rear footpath (PM008's analysis)
    assert spine.priority_terms["choice_percentile"] > rear.priority_terms["choice_percentile"]
    assert "choice_percentile" not in by_kind["network"].priority_terms
