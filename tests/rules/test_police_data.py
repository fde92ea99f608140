"""Police access rules on real OpenStreetMap extracts: honest about what OSM does not map.

OSM extracts are partial in every layer: a police premises or an emergency phone that is not
mapped is unknown, not absent (issue 12). Each extract is loaded and assessed once
(module-scoped) with the PA rules only; the tests skip when ../shared/data/real is absent.
"""

from __future__ import annotations

import pytest

import safespace
from tests.conftest import real_file

EXTRACTS = ("heidelberg_altstadt", "london_moorgate", "helsinki_centre")


@pytest.fixture(scope="module", params=EXTRACTS)
def assessed(request):
    path = real_file("osm", f"{request.param}.osm.pbf")
    layout = safespace.load(path)
    return request.param, layout, safespace.assess(layout, rules=["PA"])


@pytest.fixture(scope="module")
def heidelberg():
    path = real_file("osm", "heidelberg_altstadt.osm.pbf")
    layout = safespace.load(path)
    return layout, safespace.assess(layout, rules=["PA"])


def test_no_police_rule_fails(assessed):
    _, _, result = assessed
    assert result.failures == []


def test_no_emergency_phone_finding_above_advisory(assessed):
    # phones are partial in OSM: at most one advisory data-gap note for the area
    _, _, result = assessed
    pa004 = [f for f in result.findings if f.rule_id == "PA004"]
    assert all(f.severity == "info" for f in pa004)
    assert len(pa004) <= 1
    for f in pa004:
        assert f.basis == "data-gap" and f.evidence["gap"]["kind"] == "emergency phones"
        assert f.evidence["gap"]["extent"] > 0


def test_no_raw_ids_or_nan_in_police_messages(assessed):
    _, _, result = assessed
    for f in result.findings:
        if f.rule_id.startswith("PA"):
            for bad in ("way/", "node/", "relation/", "nan", "None"):
                assert bad not in f.message, (f.rule_id, f.message)


def test_extracts_without_premises_are_not_assessable(assessed):
    name, layout, result = assessed
    if not layout.police.empty:
        pytest.skip(f"{name} has mapped police premises")
    assert result.scores["police_access"].value is None
    notes = [f for f in result.findings if f.rule_id in ("PA001", "PA002", "PA005")]
    assert sorted(f.rule_id for f in notes) == ["PA001", "PA002", "PA005"]
    assert all(f.severity == "info" and f.basis == "data-gap" for f in notes)
    assert all("--police FILE" in f.message for f in notes)


def test_heidelberg_existing_police_station_is_not_a_proposal(heidelberg):
    # Polizeirevier Heidelberg-Mitte is mapped in OSM and there is no red line
    layout, result = heidelberg
    assert len(layout.police) == 1 and layout.site is None
    assert [f for f in result.findings if f.rule_id == "PA003"] == []


def test_heidelberg_every_home_reachable_by_emergency_vehicle(heidelberg):
    # 83 of 171 homes were "unreachable by road" before pedestrian streets were driven
    layout, result = heidelberg
    m = result.metrics["police_access"]
    assert m["drive_unreachable_dwellings"] == 0
    assert m["assessable_share"] == pytest.approx(1.0)
    for f in result.findings:
        if f.rule_id == "PA001":
            assert f.evidence.get("unreachable", 0) == 0
            # the mapped premises are not all there are: at most advisory, and said
            assert f.severity == "info" and f.basis == "modelled"
            assert "not known" in f.message
    score = result.scores["police_access"]
    assert score.value is not None and score.confidence == pytest.approx(1.0)
