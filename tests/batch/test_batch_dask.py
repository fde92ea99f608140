"""Dask distributed: a real LocalCluster (2 worker processes, loopback only) runs a batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from safespace.batch import run
from tests.batch.batch_test_rules import EXTRA
from tests.batch.conftest import write_site

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )  # fmt: skip
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _outputs(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.suffix in (".geojson", ".json") and p.name != "complete.json"
    }


def test_dask_local_cluster_matches_inline_and_process(tmp_path, real_sites, client):
    write_site(tmp_path / "row4.geojson", 4)
    (tmp_path / "bad.geojson").write_text("not json")
    m = tmp_path / "m.toml"
    m.write_text(
        "".join(
            f'[[site]]\nid = "{sid}"\ninput = "{path}"\n\n'
            for sid, path in [
                ("oak", real_sites["oak"]),
                ("de", real_sites["de"]),
                ("row4", "row4.geojson"),
                ("bad", "bad.geojson"),
            ]
        )
    )
    results = {
        "inline": run(m, outdir=tmp_path / "inline", executor="inline", extra_rules=EXTRA),
        "process": run(m, outdir=tmp_path / "process", workers=2, extra_rules=EXTRA),
        "dask": run(m, outdir=tmp_path / "dask", executor=client, extra_rules=EXTRA),
    }
    assert list(results["dask"]["status"]) == ["ok", "ok", "ok", "failed"]
    for frame in results.values():
        assert list(frame["status"]) == ["ok", "ok", "ok", "failed"]
        assert list(frame["findings"][:3]) == list(results["inline"]["findings"][:3])
    inline = _outputs(tmp_path / "inline")
    assert len(inline) == 6
    assert _outputs(tmp_path / "process") == inline
    assert _outputs(tmp_path / "dask") == inline


def test_dask_reschedules_the_site_of_a_killed_worker(tmp_path, client):
    flag = tmp_path / "flag"
    write_site(tmp_path / "a.geojson", 2, test__crash_once=str(flag))
    write_site(tmp_path / "b.geojson", 3)
    sites = [
        {"id": "a", "input": str(tmp_path / "a.geojson")},
        {"id": "b", "input": str(tmp_path / "b.geojson")},
    ]
    summary = run(sites, outdir=tmp_path / "out", executor=client, extra_rules=EXTRA)
    assert flag.exists()  # a worker died running site a ...
    assert list(summary["status"]) == ["ok", "ok"]  # ... and Dask ran it again elsewhere
    for sid, n in (("a", 2), ("b", 3)):
        doc = json.loads((tmp_path / "out" / sid / "findings.geojson").read_text())
        assert sum(f["properties"]["rule_id"] == "XT001" for f in doc["features"]) == n
