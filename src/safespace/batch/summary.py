"""The batch summary: one row per site as a DataFrame, a CSV and an HTML index."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from safespace.findings import AREAS
from safespace.io.writers import _atomic_write

from .markers import ERROR_FILE, OUTPUT_NAMES
from .task import COUNT_COLUMNS, empty_summary

SUMMARY_CSV = "summary.csv"
INDEX_HTML = "index.html"
COLUMNS = list(empty_summary({"id": "", "input": ""}))
INT_COLUMNS = [*COUNT_COLUMNS, "rule_failures"]


def summary_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The summary rows as a DataFrame with fixed columns, counts as nullable integers."""
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    for col in INT_COLUMNS:
        frame[col] = pd.array(frame[col], dtype="Int64")
    for col in (f"score_{a}" for a in AREAS):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Float64")
    frame["resumed"] = frame["resumed"].astype(bool)
    return frame


def write_csv(frame: pd.DataFrame, outdir: Path) -> Path:
    """``OUTDIR/summary.csv``, written atomically."""
    return _atomic_write(outdir / SUMMARY_CSV, frame.to_csv(index=False, lineterminator="\n"))


def _cell(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def write_index(frame: pd.DataFrame, outdir: Path) -> Path:
    """``OUTDIR/index.html``: the summary table, each site linking to its outputs."""
    shown = ["status", *COUNT_COLUMNS, *(f"score_{a}" for a in AREAS), "rule_failures", "error"]
    head = "".join(f"<th>{html.escape(c.replace('score_', ''))}</th>" for c in ["site", *shown])
    body = []
    for row in frame.to_dict("records"):
        sid = row["site_id"]  # checked safe: [A-Za-z0-9._-]+, so it is a relative URL
        links = [
            f'<a href="{html.escape(sid)}/{name}">{fmt}</a>'
            for fmt, name in OUTPUT_NAMES.items()
            if (outdir / sid / name).is_file()
        ]
        if (outdir / sid / ERROR_FILE).is_file():
            links.append(f'<a href="{html.escape(sid)}/{ERROR_FILE}">error</a>')
        first = f"<td><b>{html.escape(sid)}</b> {' '.join(links)}</td>"
        cls = f' class="{row["status"]}"' if row["status"] != "ok" else ""
        body.append(f"<tr{cls}>{first}{''.join(f'<td>{_cell(row[c])}</td>' for c in shown)}</tr>")
    ok = int((frame["status"] == "ok").sum())
    partial = int((frame["status"] == "partial").sum())
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>safespace batch summary</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #bbb;padding:.25em .5em;text-align:left}}tr.failed{{background:#fdd}}
tr.partial{{background:#ffd}}
</style></head><body>
<h1>safespace batch summary</h1>
<p>{len(frame)} sites: {ok} ok, {partial} partial (some rules failed: see rule_failures
and error), {len(frame) - ok - partial} failed. Scores are 0 (worst) to 100 (best).</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table></body></html>
"""
    return _atomic_write(outdir / INDEX_HTML, doc)
