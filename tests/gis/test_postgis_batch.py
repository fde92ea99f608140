"""A batch into PostGIS: killed mid-run, resumed, with no site lost or duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

sa = pytest.importorskip("sqlalchemy", reason="the postgis extra is not installed")

#: The demo estate and two real extracts, by path relative to the repository root.
SITES = {
    "orchard": FIXTURES / "demo_estate.geojson",
    "moorgate": ROOT / ".." / "shared" / "data" / "real" / "osm" / "london_moorgate.osm.pbf",
    "oakland": ROOT / ".." / "shared" / "data" / "real" / "osm" / "west_oakland.osm.bz2",
}


@pytest.fixture
def manifest(tmp_path):
    for path in SITES.values():
        if not path.exists():
            pytest.skip(f"real data not present: {path} (../shared/ sits beside the checkout)")
    m = tmp_path / "sites.csv"
    lines = ["id,input"] + [f"{sid},{os.path.relpath(p, tmp_path)}" for sid, p in SITES.items()]
    m.write_text("\n".join(lines) + "\n")
    return m


def _state(engine, schema: str) -> dict[str, dict]:
    """Per site in the runs table: its run ids, finding rows and the count its record says."""
    with engine.connect() as conn:
        if conn.execute(sa.text(f"SELECT to_regclass('{schema}.b_runs')")).scalar() is None:
            return {}
        runs = conn.execute(
            sa.text(f"SELECT site_id, run_id, marker->'summary'->>'findings' FROM {schema}.b_runs")
        ).all()
        rows = dict(
            conn.execute(
                sa.text(f"SELECT site_id, count(*) FROM {schema}.b_findings GROUP BY site_id")
            ).all()
        )
        run_ids = dict(
            conn.execute(
                sa.text(f"SELECT site_id, count(DISTINCT run_id) FROM {schema}.b_findings "
                        "GROUP BY site_id")
            ).all()
        )  # fmt: skip
        orphans = conn.execute(
            sa.text(f"SELECT count(*) FROM {schema}.b_findings f LEFT JOIN {schema}.b_runs r "
                    "USING (run_id) WHERE r.run_id IS NULL")
        ).scalar()  # fmt: skip
    assert orphans == 0  # no findings without their site's run record
    state: dict[str, dict] = {}
    for site, run, n in runs:
        assert site not in state, f"site {site} has two runs"
        state[site] = {"run": run, "expected": int(n), "rows": rows.get(site, 0),
                       "run_ids": run_ids.get(site, 0)}  # fmt: skip
    return state


def _batch(manifest: Path, url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "safespace", "batch", str(manifest), "-o", url, "--workers", "1",
         "-q", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def test_batch_into_postgis_killed_then_resumed(pg_server, pg_engine, manifest):
    url = pg_server.url(schema="batch", prefix="b_")
    proc = _batch(manifest, url)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_state(pg_engine, "batch")) >= 1:
            break
        time.sleep(0.2)
    assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stderr.read()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    killed = _state(pg_engine, "batch")
    assert 1 <= len(killed) < len(SITES)  # killed mid-run
    for site, s in killed.items():  # every site there is there whole
        assert s["rows"] == s["expected"] > 0 and s["run_ids"] == 1, site

    proc = _batch(manifest, url, "--resume")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert pg_server.password not in out + err
    assert f"3 sites: 3 ok ({len(killed)} already done)" in out
    final = _state(pg_engine, "batch")
    assert sorted(final) == sorted(SITES)  # no site lost
    for site, s in final.items():  # ... or duplicated
        assert s["rows"] == s["expected"] > 0 and s["run_ids"] == 1, site
    for site in killed:  # the sites done before the kill were not redone
        assert final[site]["run"] == killed[site]["run"]

    # the same findings as assessing the demo estate directly
    import safespace

    assert final["orchard"]["rows"] == len(safespace.assess(SITES["orchard"]).findings)

    # a run without --resume replaces each site's rows in place
    proc = _batch(manifest, url)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    again = _state(pg_engine, "batch")
    assert {k: v["rows"] for k, v in again.items()} == {k: v["rows"] for k, v in final.items()}
    assert all(again[k]["run"] != final[k]["run"] for k in SITES)


def test_batch_with_a_wrong_password_stops_before_any_site(pg_server, manifest):
    wrong = "not-the-Pa55word"
    proc = _batch(manifest, pg_server.url(password=wrong, schema="nope"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "password authentication failed" in err
    assert wrong not in out + err


def test_two_worker_processes_write_into_the_same_tables(pg_server, pg_engine, tmp_path):
    """Sites written concurrently by a process pool: tables created once, every site whole."""
    from safespace.batch import run
    from tests.batch.conftest import write_site

    sites = []
    for i in range(4):
        write_site(tmp_path / f"s{i}.geojson", i + 2, lon=0.1 + i * 0.01)
        sites.append({"id": f"s{i}", "input": str(tmp_path / f"s{i}.geojson")})
    url = pg_server.url(schema="pool", prefix="b_")
    summary = run(sites, outdir=url, executor="process", workers=2)
    assert list(summary["status"]) == ["ok"] * 4
    state = _state(pg_engine, "pool")
    assert sorted(state) == [s["id"] for s in sites]
    for site, s in state.items():
        assert s["rows"] == s["expected"] > 0 and s["run_ids"] == 1, site
    again = run(sites, outdir=url, executor="process", workers=2, resume=True)
    assert again["resumed"].all()
    assert _state(pg_engine, "pool") == state
