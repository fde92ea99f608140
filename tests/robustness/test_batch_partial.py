"""A batch site whose rules partly fail is reported ``partial``, not ``ok`` (issue 14.10)."""

from __future__ import annotations

import shutil
from pathlib import Path

from safespace.batch import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_a_site_with_a_failing_rule_is_partial(tmp_path):
    shutil.copy(FIXTURES / "demo_estate.geojson", tmp_path / "demo.geojson")
    (tmp_path / "sites.csv").write_text("id,input\ndemo,demo.geojson\n")
    summary = run(
        tmp_path / "sites.csv",
        outdir=tmp_path / "out",
        executor="inline",
        formats="json",
        extra_rules=["tests.robustness.failing_rule"],
    )
    row = summary.iloc[0]
    assert row["status"] == "partial"
    assert row["rule_failures"] == 1
    assert "rule XF001: RuntimeError: deliberate failure" in row["error"]
    assert row["findings"] > 0  # the other rules' results stand
    assert (tmp_path / "out" / "demo" / "findings.json").is_file() or any(
        (tmp_path / "out" / "demo").glob("*.json")
    )
    index = (tmp_path / "out" / "index.html").read_text()
    assert "1 sites: 0 ok, 1 partial" in index and 'class="partial"' in index
