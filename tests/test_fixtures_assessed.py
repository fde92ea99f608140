"""The demo estate, assessed with every built-in rule: no rule fails, every area is scored."""

from __future__ import annotations

import pytest

import safespace
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def demo():
    return safespace.assess(FIXTURES / "demo_estate.geojson")


def test_no_rule_fails_on_the_demo(demo):
    assert demo.failures == [], [(f.rule_id, f.message) for f in demo.failures]


def test_every_area_is_scored_and_explained(demo):
    assert set(demo.scores) == {"sightlines", "lighting", "permeability", "police_access"}
    for score in demo.scores.values():
        assert score.explanation


@pytest.mark.parametrize(
    ("rule_id", "feature"),
    [
        ("SL001", "fp01"),  # rear footpath overlooked by no front
        ("SL005", "fp04"),  # underpass with a bend
        ("LT004", "fp01"),  # rear footpath must be lit but is lit=no
        ("LT005", "fp02"),  # lit=limited link
        ("PM005", "fp01"),  # footpath behind dwellings
        ("PM006", "fp02"),  # leaky cul-de-sac link
        ("PM009", "fp06"),  # dead-end stub
    ],
)
def test_planted_problems_are_found(demo, rule_id, feature):
    hits = [f for f in demo.findings if f.rule_id == rule_id and feature in f.features]
    assert hits, f"{rule_id} did not flag {feature}"


def test_planted_input_notes_are_reported(demo):
    notes = {(n.code, n.feature) for n in demo.notes}
    assert ("repaired-invalid", "s02") in notes
    assert ("merged-duplicate", "hb05") in notes
    assert ("dropped-degenerate", "fp08") in notes
