"""How an issue ranks: its priority terms, the key concerns and the overall position.

The formula is documented in ``docs/scoring.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.errors

from safespace._place import (
    plural,
)
from safespace.findings import PLANNING_WEIGHT, Issue

if TYPE_CHECKING:
    from safespace.layout import Layout


#: Dwellings within this distance of an issue count as the homes it concerns (exposure).
#: safespace convention [unverified]: about a plot depth and a street.
EXPOSURE_M = 50.0


#: Ranking weight of each planning weight; a factor of 10 between levels so that the other
#: terms (each below 2, product below 10) order issues only *within* a level.
WEIGHT_POINTS = {"objection": 1000.0, "amend": 100.0, "condition": 10.0, "advisory": 1.0}


#: Half-saturation constants of the ranking terms: at these values a term adds half its
#: maximum (safespace convention [unverified]).
EXTENT_HALF_M = 100.0


DWELLINGS_HALF = 10.0


RULES_HALF = 3.0


def _dwelling_tree(layout: Layout | None):
    if layout is None or layout.buildings.empty:
        return None
    from safespace.analyses.travel_time import homes

    geoms = layout.buildings.geometry.values[homes(layout)]
    return shapely.STRtree(geoms) if len(geoms) else None


def priority_terms(
    severity: str,
    extent_m: float,
    dwellings: int,
    n_rules: int,
    exposure: float = 0.0,
    choice: float | None = None,
) -> dict[str, float]:
    """The parts of an issue's priority (``docs/scoring.md``): weight × four factors.

    ``choice`` is the route's angular-choice percentile (0–1) where a space-syntax analysis
    was computed; it then shares the ``people`` term with the dwellings.
    """
    ext = max(float(extent_m), 0.0)
    homes = dwellings / (dwellings + DWELLINGS_HALF)
    people = 1.0 + (homes if choice is None else 0.5 * homes + 0.5 * _clamp01(choice))
    terms = {
        "weight": WEIGHT_POINTS[PLANNING_WEIGHT[severity]],
        "extent": 1.0 + ext / (ext + EXTENT_HALF_M),
        "people": people,
        "breadth": 1.0 + (n_rules - 1) / (n_rules - 1 + RULES_HALF),
        "exposure": 1.0 + max(float(exposure), 0.0),
        "dwellings": float(dwellings),
    }
    if choice is not None:
        terms["choice_percentile"] = _clamp01(choice)
    return terms


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, float(x)))


#: Segments within this distance of an issue give it their angular choice.
CHOICE_M = 5.0


def _choice_index(site: Any):
    """(STRtree of segments, choice percentile per segment) from a cached angular analysis.

    Only reads what a rule already computed (the ``Site`` cache of the walk angular
    analysis, PM008); None when there is none, so grouping never runs space syntax.
    """
    if site is None:
        return None
    for _, value in site.computed("walk_angular"):
        cols = [c for c in getattr(value, "columns", []) if str(c).startswith("nach_")]
        if not cols or len(value) == 0:
            continue
        nach = np.nan_to_num(value[cols[0]].to_numpy(float), nan=0.0)
        order = nach.argsort(kind="stable")
        pct = np.empty(len(nach))
        pct[order] = np.arange(len(nach)) / max(len(nach) - 1, 1)
        return shapely.STRtree(value.geometry.values), pct
    return None


def priority_of(terms: dict[str, float]) -> float:
    """``weight × extent × people × breadth × exposure``, rounded to 0.01."""
    p = terms["weight"] * terms["extent"] * terms["people"] * terms["breadth"]
    return round(p * terms["exposure"], 2)


#: Issue kinds that are never key concerns: they are about the data, not the design.
NOT_CONCERNS = frozenset({"data_gap", "input", "advisory"})


def _mark_key_concerns(issues: list[Issue], n: int, has_site: bool) -> None:
    chosen = 0
    for issue in issues:
        issue.key_concern = False
        eligible = (
            issue.severity != "info"
            and issue.kind not in NOT_CONCERNS
            and issue.basis != "data-gap"
            and (issue.scope == "proposal" or not has_site)
        )
        if eligible and chosen < n:
            issue.key_concern = True
            chosen += 1


POSITIONS = ("objection", "subject to conditions", "no objection")


def overall_position(
    issues: list[Issue], override: str | None = None, reason: str | None = None
) -> dict[str, str]:
    """The response's overall position, derived from the key concerns by a documented rule.

    Rule (``docs/issues.md``): any key concern whose planning weight is *objection* (a high
    issue) → ``objection``; else any at *amend* or *condition* → ``subject to conditions``;
    else ``no objection``. Key concerns are the top proposal issues above advisory (context
    issues when there is no red line), so an objection anywhere in the proposal is among
    them.

    Parameters
    ----------
    issues
        The assessment's issues (with ``key_concern`` set by :func:`group_issues`).
    override
        The officer's own position (one of :data:`POSITIONS`); the derived one is kept under
        ``"derived"``.
    reason
        The officer's reason for an override.

    Returns
    -------
    dict
        ``{"position": ..., "reason": ...}`` (and ``"derived"`` when overridden).
    """
    keys = [i for i in issues if i.key_concern]
    objections = [i for i in keys if i.planning_weight == "objection"]
    other = [i for i in keys if i.planning_weight in ("amend", "condition")]
    if objections:
        derived = {
            "position": "objection",
            "reason": f"{plural(len(objections), 'key concern')} would justify refusal as "
            f"drawn, first {objections[0].title}",
        }
    elif other:
        derived = {
            "position": "subject to conditions",
            "reason": f"{plural(len(other), 'key concern')} can be resolved by amendment or "
            f"condition, first {other[0].title}",
        }
    else:
        derived = {
            "position": "no objection",
            "reason": "no issue above advisory in the proposal",
        }
    if override is None:
        return derived
    if override not in POSITIONS:
        raise ValueError(f"unknown position {override!r}; use one of {POSITIONS}")
    return {
        "position": override,
        "reason": reason or "the officer's judgement",
        "derived": derived["position"],
    }
