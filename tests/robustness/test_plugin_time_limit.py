"""A rule from an installed rule pack that hangs is stopped and reported (issue 14, item 8)."""

from __future__ import annotations

import time

import safespace
from safespace._timeout import RuleTimeout, can_limit, time_limit
from safespace.findings import Finding
from safespace.rules.engine import rule
from tests.conftest import FIXTURES


@rule("XH001", "Hangs", "sightlines")
def hangs(site):
    """Loop for ever (a plugin with a bug)."""
    while True:
        time.sleep(0.01)
    yield  # pragma: no cover


@rule("XH002", "Finds one thing", "sightlines")
def finds_one(site):
    """One finding, quickly."""
    yield Finding(severity="low", title="One", message="one thing", features=[])


REGISTRY = {r.id: r for r in (hangs, finds_one)}


def test_a_hanging_plugin_is_stopped_and_the_others_stand(tmp_path):
    assert can_limit()  # pytest runs tests on the main thread
    path = tmp_path / "p.toml"
    path.write_text("[profile]\nname='t'\n[assessment]\nplugin_time_limit_s = 0.5\n")
    prof = safespace.load_profile(path, REGISTRY)
    t0 = time.perf_counter()
    a = safespace.assess(FIXTURES / "demo_estate.geojson", profile=prof, registry=REGISTRY)
    assert time.perf_counter() - t0 < 30
    assert [(f.rule_id, f.error) for f in a.failures] == [("XH001", "RuleTimeout")]
    assert "0.5 s" in a.failures[0].message
    assert [f.rule_id for f in a.findings] == ["XH002"]


def test_time_limit_leaves_quick_code_alone_and_restores_the_alarm():
    with time_limit(5.0, "quick"):
        x = sum(range(1000))
    assert x == 499500
    try:
        with time_limit(0.05, "slow"):
            while True:
                pass
    except RuleTimeout as e:
        assert "slow still running after 0.05 s" in str(e)
    else:  # pragma: no cover
        raise AssertionError("not stopped")
    with time_limit(0.0, "unbounded"):  # 0: no limit
        time.sleep(0.06)
