"""A third-party rule pack is discovered through the entry-point group once installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import venv
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
                      "metrics": result.metrics}))
""")


def test_installed_rule_pack_is_discovered_and_run(tmp_path):
    env_dir = tmp_path / "venv"
    # system site packages: the venv sees the safespace under test and its dependencies
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    build = tmp_path / "pkg"
    shutil.copytree(PLUGIN, build)
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(build),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([python, "-c", SCRIPT], check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert "XT001" in result["ids"] and "IN001" in result["ids"]
    assert result["findings"] == ["tower is 30 m tall (limit 10 m)"]
    assert result["metrics"] == {"x-demo": {"tall_buildings": 1}}
    # and it is not visible to this interpreter, which never installed it
    from safespace.rules.engine import discover_rules

    assert "XT001" not in discover_rules() or sys.prefix == str(env_dir)
