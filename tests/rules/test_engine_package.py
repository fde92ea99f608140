"""``safespace.rules.engine`` as a package: every name it had as a module, parts < 450 lines.

Issue 17.5 split the 800-line ``rules/engine.py`` into parts; what other modules, tests,
rule packs and the docs import from ``safespace.rules.engine`` must still be there.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import safespace.rules.engine as engine

ENGINE = Path(engine.__file__).parent

#: Every top-level name ``rules/engine.py`` defined before the split (private ones too:
#: the batch runner imports ``_rules_in``).
NAMES = [
    "CRIME_AREA",
    "ENTRY_POINT_GROUP",
    "INPUT_AREA",
    "PREFIX_AREAS",
    "PRINCIPLES",
    "RULE_ID",
    "Feed",
    "Param",
    "Rule",
    "RuleDiscoveryWarning",
    "SettingsGroup",
    "Site",
    "_PLAIN",
    "_Result",
    "_as_kind",
    "_groups_of",
    "_is_builtin",
    "_malformed",
    "_rules_in",
    "discover_rules",
    "rule",
    "run_rule",
    "select_rules",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_of_the_old_module_is_importable(name):
    ns: dict = {}
    exec(f"from safespace.rules.engine import {name} as got", ns)
    assert ns["got"] is getattr(engine, name)


def test_the_public_names_are_all_of_it():
    assert sorted(engine.__all__) == sorted(n for n in NAMES if not n.startswith("_"))


def test_the_decorator_is_the_function_not_a_submodule():
    # a submodule called "rule" would be bound over the decorator by the import system
    assert callable(engine.rule) and not isinstance(engine.rule, type(engine))
    assert engine.rule.__module__ == "safespace.rules.engine.definition"


def test_each_part_is_well_under_the_module_limit():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in ENGINE.glob("*.py")}
    assert {"params.py", "definition.py", "discovery.py", "site.py", "run.py"} <= set(sizes)
    assert max(sizes.values()) < 450, sizes


def test_replacing_entry_points_on_the_package_is_obeyed(monkeypatch):
    # the plugin tests install fake rule packs this way
    seen = []

    def fake(group):
        seen.append(group)
        return []

    monkeypatch.setattr(engine, "entry_points", fake)
    assert engine.discover_rules() == {}
    assert seen == [engine.ENTRY_POINT_GROUP]


def test_the_engine_s_values_survive_pickling():
    # a batch run hands work to processes and Dask workers; what it passes of the engine
    # must pickle by reference to the new modules
    from safespace.analyses.surveillance import surveillance_field

    group = engine.SettingsGroup(
        "g",
        {"spacing_m": engine.Param(5.0, "m", "sample spacing")},
        {"field": engine.Feed(surveillance_field, {"spacing_m": "spacing"})},
    )
    back = pickle.loads(pickle.dumps(group))
    assert back.same_as(group) and back["spacing_m"] == group["spacing_m"]
    site = pickle.loads(pickle.dumps(engine.Site(None, params={"a": 1})))
    assert isinstance(site, engine.Site) and site.params == {"a": 1}
