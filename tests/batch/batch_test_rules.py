"""Test-only rules for the batch tests, loaded through ``extra_rules`` in every worker.

``XT001`` yields one finding per building (so tiling tests are not vacuous while few rules
exist); ``XT002`` kills its own worker process the first time it sees a building tagged
``test:crash_once=<flag path>`` (it creates the flag, so a rerun succeeds).
"""

from __future__ import annotations

import os
from pathlib import Path

from safespace.findings import Finding
from safespace.rules.engine import rule


@rule("XT001", "One finding per building", "x-test")
def per_building(site):
    """A low finding on every building, located on its outline."""
    b = site.layout.buildings
    for fid, geom in zip(b["fid"], b.geometry.values, strict=True):
        yield Finding(
            severity="low",
            title="Building",
            message=f"building {fid}",
            geometry=geom,
            features=[fid],
        )


@rule("XT002", "Crash the worker once", "x-test")
def crash_once(site):
    """Exit the process abruptly (as a segfault or OOM kill would) on a flagged building."""
    for tags in site.layout.buildings["tags"]:
        flag = tags.get("test:crash_once") if isinstance(tags, dict) else None
        if flag and not Path(flag).exists():
            Path(flag).write_text(str(os.getpid()))
            os._exit(17)
    return iter(())


EXTRA = ("tests.batch.batch_test_rules",)
