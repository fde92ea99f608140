"""Every exported name is the documented object, whatever was imported before it (issue 14.3).

A submodule bound to its package's attribute by the import system used to shadow the lazy
``__getattr__`` of ``safespace.analyses``: ``from safespace.analyses import isovist`` gave the
*module* once any rule had used it. Checked in fresh interpreters, before and after every
submodule is imported, and after a whole assessment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = textwrap.dedent("""
    import importlib, inspect, json, sys, types
    import safespace, safespace.analyses as an

    def check(stage):
        bad = []
        for name in an.__all__:
            home = importlib.import_module(an._EXPORTS[name])
            got = getattr(an, name)
            ns = {}
            exec(f"from safespace.analyses import {name} as got", ns)
            for obj in (got, ns["got"]):
                if isinstance(obj, types.ModuleType) or obj is not vars(home)[name]:
                    bad.append(f"{stage}: safespace.analyses.{name} is {obj!r}")
        for name in safespace.__all__:
            obj = getattr(safespace, name)
            if name == "__version__":
                ok = isinstance(obj, str)
            else:
                ok = (inspect.isclass(obj) or inspect.isfunction(obj)) and not isinstance(
                    obj, types.ModuleType)
            if not ok:
                bad.append(f"{stage}: safespace.{name} is {obj!r}")
        return bad

    bad = check("fresh")
    if sys.argv[1] == "assess":
        safespace.assess(safespace.load(sys.argv[2]))
        bad += check("after assess")
    else:
        for mod in sorted(set(an._EXPORTS.values())):
            importlib.import_module(mod)
        bad += check("after importing every submodule")
    print(json.dumps(bad))
""")


def _run(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", CHECK, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_exported_names_after_importing_every_submodule():
    assert _run("imports") == []


def test_exported_names_after_a_full_assessment():
    assert _run("assess", str(ROOT / "fixtures" / "demo_estate.geojson")) == []
