"""Design findings weighed by local crime: the ``exposure`` hook of issue ranking.

A profile's ``[crime]`` table links finding rules to the crime categories the design
problem they flag enables (``[crime.links.NAME]`` with ``rules``, ``categories`` and the
``source`` of the link). For an issue, the incidents of its members' linked categories
within ``near_m`` of the issue's geometry are counted and compared with what the rate of
those categories in the wider area (within ``wider_m`` of the site) would put there. The
excess ``e = max(0, observed − expected)`` gives the issue's further exposure
``e / (e + half_excess)`` (0 to 1), so its priority is multiplied by up to 2
(``docs/scoring.md``). The counts go into every linked member finding's
``evidence["crime"]`` and one line of the issue's evidence.

No incidents layer, or a profile without ``[crime]``: no hook, nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace.findings import Finding, Issue

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Issues crime never weighs: gaps in the data, advisory collections of places, the
#: layout-wide network, the input notes and the crime context itself.
SKIPPED_KINDS = frozenset({"data_gap", "advisory", "network", "input", "crime_context"})
#: Defaults of the ``[crime]`` table (each overridable in the profile).
DEFAULTS: dict[str, float] = {"near_m": 50.0, "wider_m": 1000.0, "half_excess": 5.0}


def crime_links(profile: Any) -> list[dict[str, Any]]:
    """The profile's rule→category links: ``[{"name", "rules", "categories", "source"}]``."""
    table = profile.table("crime") if profile is not None and hasattr(profile, "table") else {}
    links = table.get("links", {}) if isinstance(table, dict) else {}
    out = []
    for name, link in sorted(links.items()):
        if not isinstance(link, dict):
            continue
        out.append(
            {
                "name": name,
                "rules": [str(r) for r in link.get("rules", [])],
                "categories": [str(c) for c in link.get("categories", [])],
                "source": str(link.get("source", "")),
            }
        )
    return out


def crime_params(profile: Any) -> dict[str, float]:
    """``near_m``, ``wider_m`` and ``half_excess`` from the profile's ``[crime]`` table."""
    table = profile.table("crime") if profile is not None and hasattr(profile, "table") else {}
    return {k: float(table.get(k, v)) for k, v in DEFAULTS.items()}


def categories_for(rule_ids: list[str], links: list[dict[str, Any]]) -> list[str]:
    """The crime categories linked to any of the rules (a link's rule may be a prefix)."""
    cats: list[str] = []
    for link in links:
        if any(r.startswith(p) for r in rule_ids for p in link["rules"]):
            cats += [c for c in link["categories"] if c not in cats]
    return cats


def crime_exposure(
    findings: list[Finding], layout: Layout, profile: Any
) -> Callable[[Issue], float] | None:
    """The ``exposure`` hook for :func:`safespace.issues.group_issues`, or None.

    Parameters
    ----------
    findings
        The assessment's findings (with ids): linked members get ``evidence["crime"]``.
    layout
        The layout; its ``incidents`` layer (None or empty: no hook).
    profile
        Its ``[crime]`` table (no links: no hook).

    Returns
    -------
    callable or None
        ``issue -> e / (e + half_excess)`` for the excess count ``e`` of the linked
        categories near the issue.

    Notes
    -----
    The incidents go into one STRtree, O(P log P); each issue is one tree query.
    """
    inc = getattr(layout, "incidents", None)
    links = crime_links(profile)
    if inc is None or len(inc) == 0 or not links:
        return None
    p = crime_params(profile)
    near_m, wider_m, half = p["near_m"], p["wider_m"], max(p["half_excess"], 1e-9)
    geoms = np.asarray(inc.geometry.values, dtype=object)
    cats = np.array([str(c).casefold() for c in inc["category"]], dtype=object)
    tree = shapely.STRtree(geoms)
    zone = shapely.buffer(layout.site_polygon, wider_m)
    in_zone = tree.query(zone, predicate="intersects")
    zone_area = float(shapely.area(zone))
    by_id = {f.id: f for f in findings}

    def hook(issue: Issue) -> float:
        members = [by_id[i] for i in issue.finding_ids if i in by_id]
        if issue.basis == "data-gap" or issue.kind in SKIPPED_KINDS:
            return 0.0  # crime weighs design issues, not gaps, advisories or the network
        wanted = categories_for(issue.rules, links)
        if not wanted or issue.geometry is None or issue.geometry.is_empty:
            return 0.0
        keys = [c.casefold() for c in wanted]
        area = shapely.buffer(issue.geometry, near_m)
        near = tree.query(area, predicate="intersects")
        counts = {c: int((cats[near] == k).sum()) for c, k in zip(wanted, keys, strict=True)}
        rate = {
            c: int((cats[in_zone] == k).sum()) / zone_area if zone_area > 0 else 0.0
            for c, k in zip(wanted, keys, strict=True)
        }
        a = float(shapely.area(area))
        expected = {c: rate[c] * a for c in wanted}
        observed = sum(counts.values())
        exp_total = sum(expected.values())
        excess = max(0.0, observed - exp_total)
        x = excess / (excess + half)
        record = {
            "categories": wanted,
            "within_m": near_m,
            "counts": counts,
            "expected": {c: round(v, 2) for c, v in expected.items()},
            "wider_m": wider_m,
            "exposure": round(x, 4),
            "sources": sorted(
                {lk["source"] for lk in links if set(lk["categories"]) & set(wanted)}
            ),
        }
        for f in members:
            if categories_for([f.rule_id], links):
                f.evidence["crime"] = record
        if observed:
            parts = ", ".join(f"{c.lower()} {n:,}" for c, n in counts.items() if n)
            issue.evidence.append(
                f"Recorded crime within {near_m:g} m: {parts} "
                f"(about {exp_total:.1f} expected at the rate within {wider_m:g} m of the site)"
            )
        return 0.0 if math.isnan(x) else x

    return hook
