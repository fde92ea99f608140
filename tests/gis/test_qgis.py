"""The QGIS plugin, headless: qgis_process enables it, lists and runs its algorithms.

Needs Debian's ``qgis``, ``python3-qgis`` and ``qgis-providers`` (``.ci/run`` installs them);
skips with the reason where ``/usr/bin/qgis_process.bin`` is absent. The plugin runs the
``safespace`` command of the environment running these tests (``SAFESPACE_COMMAND``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest

from tests.conftest import FIXTURES, ROOT

QGIS_PROCESS = Path(
    "/usr/bin/qgis_process.bin"
)  # the wrapper passes --noversioncheck: 3.22 rejects it
PLUGINS = ROOT / "qgis"
DEMO = FIXTURES / "demo_estate.geojson"
EXISTING = FIXTURES / "demo_existing.geojson"

pytestmark = pytest.mark.skipif(
    not QGIS_PROCESS.exists(),
    reason=f"{QGIS_PROCESS} absent: apt-get install qgis python3-qgis qgis-providers",
)


def _safespace_command() -> str:
    found = Path(sys.executable).with_name("safespace")
    if found.exists():
        return str(found)
    which = shutil.which("safespace")
    if which is None:
        pytest.skip("no safespace command beside this Python")
    return which


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("qgis")
    (base / "profile").mkdir()
    (base / "runtime").mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        QGIS_CUSTOM_CONFIG_PATH=str(base / "profile"),
        XDG_RUNTIME_DIR=str(base / "runtime"),
        QGIS_PLUGINPATH=str(PLUGINS),
        SAFESPACE_COMMAND=_safespace_command(),
        # QGIS's Python is Debian's: keep the venv off its path
        PATH=":".join(p for p in env.get("PATH", "").split(":") if "venv" not in p),
    )
    done = _qgis(env, "plugins", "enable", "safespace_qgis")
    assert done.returncode == 0, done.stderr
    return env


def _qgis(env, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(QGIS_PROCESS), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _run(env, alg: str, **params: str) -> dict:
    args = ["--json", "run", alg, "--", *(f"{k}={v}" for k, v in params.items())]
    done = _qgis(env, *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def _layers(path: Path) -> dict[str, tuple[int, list[str]]]:
    info = {}
    for name, _ in pyogrio.list_layers(path):
        if name == "layer_styles":
            continue
        meta = pyogrio.read_info(path, layer=name)
        info[name] = (meta["features"], list(meta["fields"]))
    return info


def test_the_provider_lists_its_algorithms(qgis_env):
    done = _qgis(qgis_env, "list")
    assert done.returncode == 0, done.stderr
    for alg, title in (
        ("safespace:assess", "Assess layout"),
        ("safespace:compare", "Compare before and after"),
        ("safespace:sitepolice", "Site a neighbourhood police office"),
        ("safespace:evaluate", "Evaluate test area"),
    ):
        assert f"{alg}\t{title}" in done.stdout
    help_ = _qgis(qgis_env, "help", "safespace:assess")
    assert "INPUT" in help_.stdout and "OUTPUT" in help_.stdout and "REPORT" in help_.stdout


def test_assess_in_qgis_matches_the_command_run_directly(qgis_env, tmp_path):
    out, report = tmp_path / "qgis.gpkg", tmp_path / "report.html"
    doc = _run(qgis_env, "safespace:assess", INPUT=str(DEMO), OUTPUT=str(out), REPORT=str(report))
    results = doc["results"]
    assert results["OUTPUT"] == str(out)
    assert results["ISSUES"] == f"{out}|layername=issues"
    assert results["FINDINGS_LINES"] == f"{out}|layername=findings_lines"
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    # the progress the plugin read from safespace: one line per rule, the summary at the end
    log = "\n".join(doc.get("log", {}).get("info", []))
    assert "SL001" in log and "findings (" in log

    direct = tmp_path / "direct.gpkg"
    subprocess.run([qgis_env["SAFESPACE_COMMAND"], "assess", str(DEMO), "-q", "-o", str(direct)],
                   check=True, capture_output=True)  # fmt: skip
    got, expected = _layers(out), _layers(direct)
    assert got == expected
    assert {"findings_points", "findings_lines", "findings_polygons", "issues"} <= set(got)
    assert sum(n for name, (n, _) in got.items() if name.startswith("findings_")) > 10
    assert "severity" in got["findings_lines"][1] and "title" in got["findings_lines"][1]


def test_compare_and_site_police_in_qgis(qgis_env, tmp_path):
    out = tmp_path / "changes.geojson"
    doc = _run(qgis_env, "safespace:compare", INPUT=str(EXISTING), AFTER=str(DEMO),
               OUTPUT=str(out), REPORT=str(tmp_path / "compare.html"))  # fmt: skip
    assert doc["results"]["OUTPUT"] == str(out)
    changes = json.loads(out.read_text())
    direct = tmp_path / "direct.geojson"
    subprocess.run([qgis_env["SAFESPACE_COMMAND"], "compare", str(EXISTING), str(DEMO), "-q",
                    "-o", str(direct)], check=True, capture_output=True)  # fmt: skip
    assert len(changes["features"]) == len(json.loads(direct.read_text())["features"]) > 0
    assert (tmp_path / "compare.html").stat().st_size > 1000

    chosen = tmp_path / "chosen.gpkg"
    doc = _run(qgis_env, "safespace:sitepolice", INPUT=str(DEMO), K="2", OUTPUT=str(chosen))
    assert doc["results"]["CHOSEN"] == f"{chosen}|layername=chosen"
    info = pyogrio.read_info(chosen, layer="chosen")
    assert info["features"] == 2 and info["geometry_type"] == "Point"


def test_a_missing_command_is_a_clear_message(qgis_env, tmp_path):
    env = dict(qgis_env, SAFESPACE_COMMAND=str(tmp_path / "no-env"))
    done = _qgis(env, "run", "safespace:assess", "--", f"INPUT={DEMO}",
                 f"OUTPUT={tmp_path / 'x.gpkg'}")  # fmt: skip
    assert done.returncode != 0
    assert "does not exist or is not executable" in done.stdout + done.stderr

    old = tmp_path / "old-safespace"
    old.write_text("#!/bin/sh\necho 'safespace 0.0.9'\n")
    old.chmod(0o755)
    env = dict(qgis_env, SAFESPACE_COMMAND=str(old))
    done = _qgis(env, "run", "safespace:assess", "--", f"INPUT={DEMO}",
                 f"OUTPUT={tmp_path / 'x.gpkg'}")  # fmt: skip
    assert "too old for this plugin" in done.stdout + done.stderr


def test_evaluate_test_area_in_qgis_matches_the_command(qgis_env, tmp_path):
    crime = ROOT / ".." / "shared" / "data" / "real" / "crime"
    files = [crime / f"{m}-west-yorkshire-street.csv" for m in ("2016-07", "2017-07")]
    if not all(f.exists() for f in files):
        pytest.skip(f"real data not present: {crime}")
    leeds = FIXTURES / "leeds_test_area"
    out, report = tmp_path / "qgis.csv", tmp_path / "evaluation.html"
    args = ["--json", "run", "safespace:evaluate", "--", f"INPUT={leeds / 'treated.geojson'}",
            f"CONTROL={leeds / 'control.geojson'}", "BUFFER=200", "BEFORE=2016-07",
            "AFTER=2017-07", *(f"INCIDENTS={f}" for f in files), f"OUTPUT={out}",
            f"REPORT={report}"]  # fmt: skip
    done = _qgis(qgis_env, *args)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["results"]["OUTPUT"] == str(out)
    direct = tmp_path / "direct.csv"
    subprocess.run(
        [qgis_env["SAFESPACE_COMMAND"], "evaluate", "--treated", str(leeds / "treated.geojson"),
         "--control", str(leeds / "control.geojson"), "--buffer", "200", "--before", "2016-07",
         "--after", "2017-07", "--incidents", *map(str, files), "-o", str(direct), "-q"],
        check=True, capture_output=True,
    )  # fmt: skip
    assert out.read_bytes() == direct.read_bytes()
    assert "Burglary" in out.read_text()
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
