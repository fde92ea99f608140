"""The evaluation table as fixed-width text for a terminal."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def format_table(table: pd.DataFrame) -> str:
    """The table as fixed-width text for a terminal: counts, WDQ, TNE, WDD with its CI.

    Counts read ``before→after`` per area (T treated, B buffer, C control, CB control
    buffer); ``—`` marks an undefined value (its reason is in the notes under the table).
    """

    def num(v: Any, fmt: str) -> str:
        return (
            "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)
        )

    def pair(row: pd.Series, area: str) -> str:
        b, a = row[f"{area}_before"], row[f"{area}_after"]
        if pd.isna(b) or pd.isna(a):
            return "—"
        return f"{int(b)}→{int(a)}"

    header = ["category", "T", "B", "C", "CB", "SM", "WDQ", "TNE", "WDD", "SE", "z", "95% CI"]
    lines = [header]
    for _, row in table.iterrows():
        ci = (
            f"{row['wdd_ci_low']:.0f}..{row['wdd_ci_high']:.0f}"
            if math.isfinite(row["wdd_z"])
            else "—"
        )
        lines.append(
            [
                str(row["category"]),
                pair(row, "treated"),
                pair(row, "buffer"),
                pair(row, "control"),
                pair(row, "control_buffer"),
                num(row["success_measure"], "{:+.3f}"),
                num(row["wdq"], "{:+.2f}"),
                num(row["total_net_effect"], "{:+.1f}"),
                num(row["wdd"], "{:+.0f}"),
                num(row["wdd_se"], "{:.1f}"),
                num(row["wdd_z"], "{:+.2f}"),
                ci,
            ]
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    out = []
    for n, r in enumerate(lines):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {row['category']}: {row['note']}" for _, row in table.iterrows() if row["note"]]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)
