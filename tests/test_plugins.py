"""A third-party rule pack is discovered through the entry-point group once installed.

The pack in ``tests/plugin_pkg`` is built into a wheel and installed with nothing but what
``pip install -e '.[test]'`` put into the environment running the tests (pip and hatchling
of ``sys.executable``): no venv on the base interpreter, no network, no build isolation.
The wheel goes into a private ``--target`` directory that only the child interpreter sees
(through ``PYTHONPATH``), so this interpreter never has the pack installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = Path(__file__).resolve().parent / "plugin_pkg"

SCRIPT = textwrap.dedent("""
    import json, sys
    import safespace
    from safespace.rules.engine import discover_rules
    registry = discover_rules()
    doc = {"type": "FeatureCollection", "crs": {"type": "name",
           "properties": {"name": "EPSG:27700"}}, "features": [
        {"type": "Feature", "id": "tower", "properties": {"building": "yes", "height": "30"},
         "geometry": {"type": "Polygon", "coordinates": [[[545000, 258000], [545010, 258000],
         [545010, 258010], [545000, 258010], [545000, 258000]]]}},
        {"type": "Feature", "id": "shed", "properties": {"building": "shed", "height": "3"},
         "geometry": {"type": "Polygon", "coordinates": [[[545020, 258000], [545025, 258000],
         [545025, 258005], [545020, 258005], [545020, 258000]]]}}]}
    result = safespace.assess(doc, rules=["XT"])
    print(json.dumps({"ids": sorted(registry), "findings": [f.message for f in result.findings],
                      "metrics": result.metrics, "path": sys.path,
                      "safespace": safespace.__file__}))
""")


def _pip(*args: str) -> None:
    # pip of the interpreter running the tests: never the base interpreter's, never the network
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--no-index", "--no-deps"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"pip {args[0]} failed:\n{done.stdout}\n{done.stderr}"


def test_installed_rule_pack_is_discovered_and_run(tmp_path):
    build = tmp_path / "pkg"
    shutil.copytree(PLUGIN, build, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    wheels = tmp_path / "wheels"
    # hatchling from this environment builds the wheel (the [test] extra installs it)
    _pip("wheel", "--no-build-isolation", "--wheel-dir", str(wheels), str(build))
    (wheel,) = wheels.glob("safespace_demo_rules-*.whl")
    target = tmp_path / "site"
    _pip("install", "--target", str(target), str(wheel))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=True, capture_output=True, text=True, env=env
    )
    result = json.loads(out.stdout)
    assert "XT001" in result["ids"] and "IN001" in result["ids"]
    assert result["findings"] == ["tower is 30 m tall (limit 10 m)"]
    assert result["metrics"] == {"x-demo": {"tall_buildings": 1}}
    # the child saw this environment and the target directory, not the base interpreter's
    # site-packages (which on a fresh machine hold nothing but pip)
    base_site = [
        p for p in result["path"] if p.startswith(sys.base_prefix) and "site-packages" in p
    ]
    assert sys.prefix == sys.base_prefix or not base_site, base_site
    assert str(target) in result["path"]
    # and it is not visible to this interpreter, which never installed it
    from safespace.rules.engine import discover_rules

    assert "XT001" not in discover_rules()


# -- broken rule packs are isolated ----------------------------------------------------------

BUILDING_DOC = {
    "type": "FeatureCollection",
    "crs": {"type": "name", "properties": {"name": "EPSG:27700"}},
    "features": [
        {
            "type": "Feature",
            "id": "tower",
            "properties": {"building": "yes", "height": "30"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[545000, 258000], [545010, 258000], [545010, 258010], [545000, 258000]]
                ],
            },
        }
    ],
}

PACKS = {
    "good_pack": textwrap.dedent("""
        from safespace import Metric, rule

        @rule("XG001", "Counts buildings", "x-good")
        def count(site):
            yield Metric("buildings", len(site.layout.buildings))
    """),
    "broken_pack": "import a_module_nobody_has_installed\n",
    "syntax_pack": "def (:\n",
    "badrule_pack": textwrap.dedent("""
        from safespace import rule

        @rule("bad id", "Invalid id", "x-bad")
        def nothing(site):
            return []
    """),
    "notrules_pack": "THING = 42\n",
    "raising_pack": "def make():\n    raise RuntimeError('no licence key')\n",
    "clash_pack": textwrap.dedent("""
        from safespace import Metric, rule

        @rule("SL001", "Pretends to be a built-in rule", "sightlines")
        def impostor(site):
            yield Metric("impostor", 1)

        @rule("XC001", "Would be fine alone", "x-clash")
        def fine(site):
            yield Metric("fine", 1)
    """),
}


def _fake_entry_points(monkeypatch, tmp_path, values):
    from importlib.metadata import EntryPoint, entry_points

    from safespace.rules import engine

    for name, text in PACKS.items():
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    real = list(entry_points(group=engine.ENTRY_POINT_GROUP))
    fakes = [EntryPoint(name=f"z{i}", value=v, group=engine.ENTRY_POINT_GROUP) for i, v in values]
    monkeypatch.setattr(
        engine,
        "entry_points",
        lambda group: real + fakes if group == engine.ENTRY_POINT_GROUP else [],
    )


def test_one_broken_pack_does_not_hide_the_others(monkeypatch, tmp_path):
    from safespace.rules.engine import discover_rules

    values = [
        (0, "broken_pack"),
        (1, "syntax_pack"),
        (2, "badrule_pack"),
        (3, "notrules_pack:THING"),
        (4, "raising_pack:make"),
        (5, "clash_pack"),
        (6, "good_pack"),
    ]
    _fake_entry_points(monkeypatch, tmp_path, values)
    errors = []
    registry = discover_rules(errors=errors)
    # the good pack and every built-in rule are there; the clashing pack is out as a whole
    assert "XG001" in registry and "IN001" in registry
    assert registry["SL001"].area == "sightlines"
    assert "XC001" not in registry
    text = "\n".join(str(e) for e in errors)
    assert len(errors) == 6, text
    assert "z0 = broken_pack: cannot be loaded (ModuleNotFoundError" in text
    assert "z1 = syntax_pack: cannot be loaded (SyntaxError" in text
    assert "z2 = badrule_pack" in text and "two capital letters" in text
    assert "z3 = notrules_pack:THING: entry point gives int, not rules" in text
    assert "z4 = raising_pack:make: raised RuntimeError: no licence key" in text
    assert "z5 = clash_pack: left out, rule id(s) SL001 already registered" in text
    # the good pack's rule runs through assess with the others
    import safespace

    result = safespace.assess(BUILDING_DOC, rules=["XG"], registry=registry)
    assert result.metrics == {"x-good": {"buildings": 1}} and not result.failures


def test_broken_packs_warn_when_nobody_collects_the_errors(monkeypatch, tmp_path):
    import pytest

    from safespace.rules.engine import RuleDiscoveryWarning, discover_rules

    _fake_entry_points(monkeypatch, tmp_path, [(0, "broken_pack"), (1, "good_pack")])
    with pytest.warns(RuleDiscoveryWarning, match="z0 = broken_pack: cannot be loaded"):
        registry = discover_rules()
    assert "XG001" in registry


def _malformed_rules():
    from shapely.geometry import Point

    from safespace import Finding, Metric, Score, rule

    @rule("XM001", "Bad severity", "x-bad")
    def bad_severity(site):
        f = Finding(severity="low", title="t", message="m", geometry=Point(0, 0))
        f.severity = "catastrophic"
        yield f

    @rule("XM002", "Coordinates, not geometry", "x-bad")
    def bad_geometry(site):
        yield Finding(severity="low", title="t", message="m", geometry=(545000, 258000))

    @rule("XM003", "Message not text", "x-bad")
    def bad_message(site):
        yield Finding(severity="low", title="t", message=42)

    @rule("XM004", "A dict, not a finding", "x-bad")
    def bad_item(site):
        yield {"severity": "high"}

    @rule("XM005", "Returns a number", "x-bad")
    def bad_return(site):
        return 3

    @rule("XM006", "Score for another area", "x-bad")
    def bad_score(site):
        yield Score("lighting", 50.0, "borrowed")

    @rule("XM007", "Features as one string", "x-bad")
    def bad_features(site):
        yield Finding(severity="low", title="t", message="m", features="tower")

    @rule("XM008", "Fine", "x-ok")
    def fine(site):
        yield Finding(severity="low", title="Fine", message="fine", geometry=Point(545005, 258005))
        yield Metric("fine", 1)

    return {
        r.id: r
        for r in (
            bad_severity,
            bad_geometry,
            bad_message,
            bad_item,
            bad_return,
            bad_score,
            bad_features,
            fine,
        )
    }


def test_malformed_findings_fail_only_their_rule():
    import safespace
    from safespace.rules.engine import discover_rules

    bad = _malformed_rules()
    registry = {**discover_rules(), **bad}
    result = safespace.assess(BUILDING_DOC, registry=registry, rules=list(bad))
    failures = {f.rule_id: f.message for f in result.failures}
    assert sorted(failures) == [f"XM00{i}" for i in range(1, 8)]
    assert "severity 'catastrophic' is not one of info, low, medium, high" in failures["XM001"]
    assert "geometry is tuple, not a shapely geometry" in failures["XM002"]
    assert "message is int, not text" in failures["XM003"]
    assert "dict is not a Finding, Metric or Score" in failures["XM004"]
    assert "returned int, not findings" in failures["XM005"]
    assert "score is for area 'lighting'" in failures["XM006"]
    assert "features is str, not a list" in failures["XM007"]
    assert all(f.error == "RuleError" for f in result.failures)
    # the well-formed rule's output stands
    assert [f.rule_id for f in result.findings] == ["XM008"]
    assert result.metrics["x-ok"] == {"fine": 1}
