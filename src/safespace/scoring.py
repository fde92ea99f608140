"""Area scores and data coverage, from the findings and metrics the rules produced."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from safespace.findings import AREAS, SEVERITY_PENALTY, Finding, Score


def area_coverage(
    findings: list[Finding], metrics: Mapping[str, Mapping[str, Any]], areas_run: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per area: the assessable share (the ``assessable_share`` metric) and its data gaps."""
    out: dict[str, dict[str, Any]] = {}
    for area in AREAS:
        if area not in areas_run:
            continue
        share = metrics.get(area, {}).get("assessable_share")
        gaps = [
            {"finding": f.id, "title": f.title, "message": f.message, **f.evidence.get("gap", {})}
            for f in findings
            if f.area == area and f.basis == "data-gap"
        ]
        out[area] = {"assessable_share": share, "gaps": gaps}
    return out


def area_scores(
    findings: list[Finding],
    given: list[Score],
    metrics: Mapping[str, Mapping[str, Any]],
    coverage: Mapping[str, Mapping[str, Any]],
    areas_run: Iterable[str],
) -> dict[str, Score]:
    """Per area that ran, its :class:`Score`."""
    by_area: dict[str, list[Score]] = {}
    for s in given:
        by_area.setdefault(s.area, []).append(s)
    scores = {}
    for area in AREAS:
        if area not in areas_run:
            continue
        if area in by_area:
            parts = [s for s in by_area[area] if s.value is not None]
            if parts:
                value = sum(s.value for s in parts) / len(parts)
                scores[area] = Score(
                    area, round(value, 1), "; ".join(s.explanation for s in parts)
                )
                continue
        mine = [f for f in findings if f.area == area]
        c = Counter(f.severity for f in mine)
        value = max(0.0, 100.0 - sum(SEVERITY_PENALTY[s] * n for s, n in c.items()))
        why = f"{len(mine)} finding(s)" if mine else "no findings from the rules that ran"
        scores[area] = Score(area, round(value, 1), why)
    return scores
