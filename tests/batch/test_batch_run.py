"""Running a batch: per-site outputs, summary, failures isolated, resume, executor parity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import safespace
from safespace.batch import run
from safespace.cli import main
from tests.batch.batch_test_rules import EXTRA
from tests.batch.conftest import write_site


def _manifest(tmp_path: Path, real_sites: dict) -> Path:
    write_site(tmp_path / "row3.geojson", 3)
    write_site(tmp_path / "row5.geojson", 5, lon=0.13)
    (tmp_path / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [')
    lines = ["id,input", f"oak,{real_sites['oak']}", f"de,{real_sites['de']}"]
    lines += ["row3,row3.geojson", "broken,broken.geojson", "row5,row5.geojson"]
    m = tmp_path / "sites.csv"
    m.write_text("\n".join(lines) + "\n")
    return m


def test_inline_batch_writes_outputs_and_a_summary_matching_assess(tmp_path, real_sites):
    m = _manifest(tmp_path, real_sites)
    out = tmp_path / "out"
    summary = run(m, outdir=out, executor="inline", extra_rules=EXTRA)
    assert list(summary["site_id"]) == ["oak", "de", "row3", "broken", "row5"]
    assert list(summary["status"]) == ["ok", "ok", "ok", "failed", "ok"]

    # Independent expectation: assess each input directly with the same rules.
    from safespace.batch.task import registry_with

    for sid, path in [("oak", real_sites["oak"]), ("row3", tmp_path / "row3.geojson")]:
        direct = safespace.assess(str(path), registry=registry_with(EXTRA))
        row = summary.set_index("site_id").loc[sid]
        assert row["findings"] == len(direct.findings)
        assert {k: row[k] for k in ("high", "medium", "low", "info")} == direct.counts()
        doc = json.loads((out / sid / "findings.geojson").read_text())
        assert len(doc["features"]) == len(direct.findings)
        assert json.loads((out / sid / "assessment.json").read_text())["counts"] == direct.counts()
    # XT001: one finding per building; the row site has 5 buildings.
    rules = summary.set_index("site_id")
    doc = json.loads((out / "row5" / "findings.geojson").read_text())
    assert sum(f["properties"]["rule_id"] == "XT001" for f in doc["features"]) == 5

    broken = rules.loc["broken"]
    assert "InputError" in broken["error"] and str(tmp_path / "broken.geojson") in broken["error"]
    assert "Traceback" in (out / "broken" / "error.txt").read_text()
    assert not (out / "broken" / "complete.json").exists()

    csv_text = (out / "summary.csv").read_text().splitlines()
    assert csv_text[0].startswith("site_id,status") and len(csv_text) == 6
    index = (out / "index.html").read_text()
    for sid in ("oak", "de", "row3", "row5"):
        assert f'href="{sid}/findings.geojson"' in index
    assert 'href="broken/error.txt"' in index


def test_resume_skips_done_sites_and_redoes_changed_or_damaged_ones(tmp_path, real_sites):
    m = _manifest(tmp_path, real_sites)
    out = tmp_path / "out"
    first = run(m, outdir=out, executor="inline", extra_rules=EXTRA, formats="geojson")
    assert not first["resumed"].any()

    again = run(m, outdir=out, executor="inline", extra_rules=EXTRA, formats="geojson", resume=True)
    assert list(again["resumed"]) == [True, True, True, False, True]  # the failed one reruns
    assert (
        again.set_index("site_id").loc["row3", "seconds"]
        == first.set_index("site_id").loc["row3", "seconds"]
    )

    write_site(tmp_path / "row3.geojson", 4)  # input changed
    (out / "row5" / "findings.geojson").write_text("{")  # output damaged
    third = run(m, outdir=out, executor="inline", extra_rules=EXTRA, formats="geojson", resume=True)
    by_id = third.set_index("site_id")
    assert not by_id.loc["row3", "resumed"]
    doc = json.loads((out / "row3" / "findings.geojson").read_text())
    assert sum(f["properties"]["rule_id"] == "XT001" for f in doc["features"]) == 4
    assert not by_id.loc["row5", "resumed"]
    json.loads((out / "row5" / "findings.geojson").read_text())
    assert by_id.loc["oak", "resumed"]

    # Asking for a format the marker does not list reruns the site.
    fourth = run(
        m, outdir=out, executor="inline", extra_rules=EXTRA, formats="geojson,json", resume=True
    )
    assert not fourth["resumed"].any()
    assert (out / "oak" / "assessment.json").is_file()


def test_cli_exit_codes_and_progress(tmp_path, real_sites, capsys):
    m = _manifest(tmp_path, real_sites)
    rc = main(
        ["batch", str(m), "-o", str(tmp_path / "out"), "--workers", "1", "--format", "geojson"]
    )
    captured = capsys.readouterr()
    assert rc == 1  # the broken site failed
    assert "site broken failed: InputError" in captured.err
    assert "5/5 sites, 1 failed" in captured.err and "ETA" in captured.err
    assert "4 ok" in captured.out

    ok = tmp_path / "ok.csv"
    ok.write_text(f"id,input\nrow3,{tmp_path / 'row3.geojson'}\n")
    assert main(["batch", str(ok), "-o", str(tmp_path / "out2"), "--workers", "1", "-q"]) == 0


def _outputs(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.suffix in (".geojson", ".json") and p.name != "complete.json"
    }


@pytest.mark.parametrize("executor", ["process"])
def test_process_pool_gives_byte_identical_outputs(tmp_path, real_sites, executor):
    m = _manifest(tmp_path, real_sites)
    a = run(m, outdir=tmp_path / "inline", executor="inline", extra_rules=EXTRA)
    b = run(m, outdir=tmp_path / "pool", executor=executor, workers=2, extra_rules=EXTRA)
    assert list(a["status"]) == list(b["status"])
    inline, pool = _outputs(tmp_path / "inline"), _outputs(tmp_path / "pool")
    assert len(inline) == 8 and inline == pool


def test_largest_sites_start_first_and_the_summary_keeps_manifest_order(tmp_path):
    """Longest-processing-time order: executors get the biggest inputs first, so a batch
    does not end with one large site running alone; the summary stays in manifest order."""
    from safespace.batch.executors import InlineExecutor

    sizes = {"small": 1, "big": 12, "middle": 5}
    lines = ["id,input"]
    for name, n in sizes.items():
        write_site(tmp_path / f"{name}.geojson", n)
        lines.append(f"{name},{name}.geojson")
    (tmp_path / "sites.csv").write_text("\n".join(lines) + "\n")

    started = []

    class Recording(InlineExecutor):
        def map_unordered(self, fn, items):
            started.extend(item["spec"]["id"] for item in items)
            yield from super().map_unordered(fn, items)

    summary = run(tmp_path / "sites.csv", outdir=tmp_path / "out", executor=Recording())
    assert started == ["big", "middle", "small"]
    assert summary["site_id"].tolist() == ["small", "big", "middle"]
    assert (summary["status"] == "ok").all()


def test_tasks_in_the_callers_process_never_freeze_its_heap(tmp_path):
    """gc.freeze() is for worker processes only: a thread pool runs sites in this process,
    whose objects must stay collectable."""
    import gc
    from concurrent.futures import ThreadPoolExecutor

    write_site(tmp_path / "a.geojson", 2)
    (tmp_path / "sites.csv").write_text("id,input\na,a.geojson\n")
    before = gc.get_freeze_count()
    with ThreadPoolExecutor(1) as pool:
        summary = run(tmp_path / "sites.csv", outdir=tmp_path / "out", executor=pool)
    assert (summary["status"] == "ok").all()
    assert gc.get_freeze_count() == before
