"""Crash injection: a worker process dies mid-batch; --resume then loses and duplicates nothing."""

from __future__ import annotations

import json
from pathlib import Path

from safespace.batch import run
from tests.batch.batch_test_rules import EXTRA
from tests.batch.conftest import write_site

N_SITES = 6


def _sites(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    flag = tmp_path / "crashed.flag"
    buildings = {}
    lines = ["id,input"]
    for i in range(N_SITES):
        n = i + 1
        tags = {"test__crash_once": str(flag)} if i == 2 else {}
        write_site(tmp_path / f"s{i}.geojson", n, lon=0.1 + i * 0.01, **tags)
        buildings[f"s{i}"] = n
        lines.append(f"s{i},s{i}.geojson")
    m = tmp_path / "m.csv"
    m.write_text("\n".join(lines) + "\n")
    return m, buildings


def _check_outputs(out: Path, buildings: dict[str, int]) -> None:
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(buildings)
    for sid, n in buildings.items():
        doc = json.loads((out / sid / "findings.geojson").read_text())
        xt = [f for f in doc["features"] if f["properties"]["rule_id"] == "XT001"]
        assert len(xt) == n  # one finding per building: nothing lost, nothing twice
        assert len({f["properties"]["message"] for f in xt}) == n
        marker = json.loads((out / sid / "complete.json").read_text())
        assert marker["site_id"] == sid
        assert not list((out / sid).glob(".*"))  # no temporary leftovers


def test_worker_killed_mid_batch_then_resume(tmp_path):
    m, buildings = _sites(tmp_path)
    out = tmp_path / "out"
    first = run(m, outdir=out, executor="process", workers=2, extra_rules=EXTRA, formats="geojson")
    assert (tmp_path / "crashed.flag").exists()  # the worker really died
    by_id = first.set_index("site_id")
    assert by_id.loc["s2", "status"] == "failed"
    assert "BrokenProcessPool" in by_id.loc["s2", "error"]
    assert "terminated abruptly" in (out / "s2" / "error.txt").read_text()
    done_first = set(by_id.index[by_id["status"] == "ok"])
    assert list(first["site_id"]) == list(buildings)  # every site has exactly one row

    second = run(
        m, outdir=out, executor="process", workers=2, extra_rules=EXTRA, formats="geojson",
        resume=True,
    )  # fmt: skip
    assert list(second["site_id"]) == list(buildings)
    assert (second["status"] == "ok").all()
    resumed = set(second.loc[second["resumed"], "site_id"])
    assert resumed == done_first  # completed sites were not redone
    assert not (out / "s2" / "error.txt").exists()
    _check_outputs(out, buildings)
    csv_ids = [line.split(",")[0] for line in (out / "summary.csv").read_text().splitlines()[1:]]
    assert csv_ids == list(buildings)
