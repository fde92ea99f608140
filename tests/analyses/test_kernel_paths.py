"""The two paths of every tiered kernel give one answer.

Small inputs take a kernel's small path (its own source interpreted, or a NumPy twin), large
ones the compiled numba kernel (``safespace.analyses._jit``). Most unit tests have small
inputs, so here the whole demo assessment runs on each path, forced with
``SAFESPACE_KERNELS``, and the findings must agree exactly: the rule, severity, features,
message and geometry of every finding, and every area score.
"""

from __future__ import annotations

import pytest
import shapely

import safespace
from safespace.analyses._jit import mode
from tests.conftest import FIXTURES


def _run(monkeypatch, kernels: str):
    monkeypatch.setenv("SAFESPACE_KERNELS", kernels)
    assert mode() == kernels
    a = safespace.assess(FIXTURES / "demo_estate.geojson")
    rows = [
        (f.rule_id, f.severity, tuple(f.features), f.message,
         None if f.geometry is None else shapely.normalize(f.geometry).wkt)
        for f in a.findings
    ]  # fmt: skip
    return rows, {k: s.value for k, s in a.scores.items()}, [i.priority for i in a.issues]


def test_small_and_compiled_paths_give_the_same_assessment(monkeypatch):
    small = _run(monkeypatch, "small")
    jit = _run(monkeypatch, "jit")
    assert small[0] == jit[0]
    assert small[1] == jit[1]
    assert small[2] == pytest.approx(jit[2], rel=1e-9)


def test_a_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("SAFESPACE_KERNELS", "fast")
    with pytest.raises(ValueError, match="auto, jit or small"):
        mode()
