"""The plugin's runner without QGIS: finding the command, its progress, cancelling.

``runner.py`` imports nothing from QGIS that it cannot do without, so these run everywhere.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def runner():
    sys.path.insert(0, str(ROOT / "qgis"))
    try:
        yield importlib.import_module("safespace_qgis.runner")
    finally:
        sys.path.remove(str(ROOT / "qgis"))


class Feedback:
    """Records what a QgsProcessingFeedback would be told."""

    def __init__(self, cancel_after: int | None = None):
        self.progress: list[float] = []
        self.lines: list[str] = []
        self.cancel_after = cancel_after

    def setProgress(self, value):  # noqa: N802 - QGIS's name
        self.progress.append(value)

    def pushConsoleInfo(self, line):  # noqa: N802
        self.lines.append(line)

    pushInfo = pushCommandInfo = pushConsoleInfo  # noqa: N815

    def isCanceled(self):  # noqa: N802
        return self.cancel_after is not None and len(self.lines) > self.cancel_after


def _fake(tmp_path, body: str) -> str:
    path = tmp_path / "safespace"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_each_rule_line_moves_the_progress_bar(runner, tmp_path):
    command = _fake(
        tmp_path,
        'for r in SL001 SL002 LT001 PM001; do echo "[   0.1s] $r a rule" >&2; done\n'
        'echo "[   0.2s] wrote x" >&2\necho "4 findings"\n',
    )
    fb = Feedback()
    out = runner.run(command, ["assess", "x"], fb, steps=4, start=0, span=100)
    assert out.strip() == "4 findings"
    assert fb.progress == [25.0, 50.0, 75.0, 100.0, 100.0]
    assert "[   0.1s] LT001 a rule" in fb.lines


def test_a_failing_command_and_cancelling_raise(runner, tmp_path):
    bad = _fake(tmp_path, 'echo "safespace: error: x.geojson: file not found" >&2\nexit 2\n')
    with pytest.raises(runner.QgsProcessingException, match="exit 2.*file not found"):
        runner.run(bad, ["assess", "x.geojson"], Feedback())
    slow = tmp_path / "slow"
    slow.mkdir()
    command = _fake(slow, 'echo "[   0.1s] SL001 a" >&2\nsleep 30\n')
    start = time.monotonic()
    with pytest.raises(runner.QgsProcessingException, match="cancelled"):
        runner.run(command, [], Feedback(cancel_after=1))
    assert time.monotonic() - start < 10  # terminated, not waited for


def test_the_command_is_found_checked_and_run_without_qgis_paths(runner, tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    command = _fake(env_dir / "bin", 'echo "safespace 0.1.0"\n')
    assert runner.resolve_command(str(env_dir)) == command
    assert runner.check_command(str(env_dir)) == (command, (0, 1, 0))
    with pytest.raises(runner.SafespaceNotFound, match="does not exist or is not executable"):
        runner.resolve_command(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(runner.SafespaceNotFound, match="looked for bin/safespace"):
        runner.resolve_command(str(tmp_path / "empty"))
    monkeypatch.setenv(runner.ENV_VAR, command)
    assert runner.resolve_command() == command
    monkeypatch.setenv("PYTHONPATH", "/usr/share/qgis/python")
    monkeypatch.setenv("PROJ_LIB", "/usr/share/proj")
    env = runner.clean_env()
    assert "PYTHONPATH" not in env and "PROJ_LIB" not in env
    assert env["PATH"] == os.environ["PATH"]
