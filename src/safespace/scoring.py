"""Area scores and data coverage, from the intensive measures the rules yield.

Each area's score is a documented function of *intensive* measures (shares and ratios, never
counts of findings), so that a layout and two copies of it side by side score the same, and
a larger site does not score lower for being larger. The formulas, with worked examples on
the demo estate, are in ``docs/scoring.md``:

``sightlines``
    100 × the share of assessed route length overlooked by at least one building front
    (SL001 ``overlooked_route_share``).
``lighting``
    100 × the share of assessable route length meeting its EN 13201 P class (LT001
    ``lit_route_share``; routes whose lamps are not known are left out of the share).
``permeability``
    Two views. *Connectivity*: the mean of four sub-scores, each 100 × the share of its
    target reached (capped at 100): intersection density against LEED-ND's 154 /km², the
    connected node ratio against 0.7, the link–node ratio between 1.0 (a tree) and 1.4, and
    the median block side (√ median block area) against the Urban Design Compendium's 90 m.
    *Secured by Design*: the mean of four sub-scores, each 100 × (1 − the share of the
    network that is unwanted permeability): route length behind dwellings, in unobserved
    alleys, in isolated links, and the share of culs-de-sac that leak. The score is the
    profile's view, or the mean of both when the profile takes no side.
``police_access``
    100 × the mean of the share of homes within the drive-time standard (PA001) and within a
    walk of a public-facing office (PA002); not assessable without police premises.

A score is *not assessable* (``value=None``) when its measure is missing; there is no
fallback on counting findings. ``confidence`` is the area's assessable share
(``coverage[area]["assessable_share"]``) when known.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from safespace.findings import AREAS, Finding, Score

#: Connectivity-view targets: (metric, target, floor, source). A sub-score is
#: ``100 × clamp((value − floor) / (target − floor), 0, 1)``.
CONNECTIVITY_TARGETS: tuple[tuple[str, float, float, str], ...] = (
    (
        "intersection_density_km2",
        154.0,
        0.0,
        "LEED-ND 2009 NPDc6: > 154 junctions/km² for two points (> 116 for one) [checked]",
    ),
    (
        "connected_node_ratio",
        0.7,
        0.0,
        "Dill 2004 definition [checked]; 0.7 often quoted [unverified]",
    ),
    (
        "link_node_ratio",
        1.4,
        1.0,
        "≥ 1.4: Kentucky model ordinance as quoted [quoted]; 1.0 is a network without loops "
        "(safespace convention)",
    ),
)
#: Urban Design Compendium §3.7.2: blocks of 80–90 m [checked]; the sub-score is
#: ``100 × min(1, 90 / side)`` with side = √(median block area).
BLOCK_SIDE_M = 90.0
BLOCK_SOURCE = "Urban Design Compendium §3.7.2: blocks of 80–90 m [checked]"

#: Secured by Design view: lengths of unwanted permeability, each as a share of the network.
SBD_LENGTHS: tuple[tuple[str, str], ...] = (
    ("rear_route_length_m", "behind dwellings (PM005)"),
    ("unobserved_alley_length_m", "in unobserved alleys (PM007)"),
    ("isolated_route_length_m", "in isolated links (PM008)"),
)
SBD_SOURCE = (
    "Secured by Design Homes, residential scenario 5: avoid footpaths behind dwellings; "
    "footpath links through blocks are unnecessary permeability [checked]"
)

VIEWS = ("connectivity", "secured-by-design")

#: The metrics an area's formula reads: when any is present the formula decides, and a
#: missing measure makes the area not assessable (never a rule's own score instead).
KEY_METRICS: dict[str, tuple[str, ...]] = {
    "sightlines": ("overlooked_route_share",),
    "lighting": ("lit_route_share",),
    "permeability": (
        "intersection_density_km2",
        "connected_node_ratio",
        "link_node_ratio",
        "median_block_area_m2",
        "rear_route_length_m",
        "street_length_m",
    ),
    "police_access": (
        "police_premises",
        "drive_dwelling_share_within",
        "walk_dwelling_share_within",
    ),
}


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


def area_coverage(
    findings: list[Finding], metrics: Mapping[str, Mapping[str, Any]], areas_run: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per area: the assessable share (the ``assessable_share`` metric) and its data gaps.

    Where a lighting rule gives no ``assessable_share`` but reports the route length left out
    for unmapped lamps, the share is ``assessed / (assessed + unmapped)``.
    """
    areas_run = set(areas_run)
    out: dict[str, dict[str, Any]] = {}
    for area in AREAS:
        if area not in areas_run:
            continue
        m = metrics.get(area, {})
        share = _num(m.get("assessable_share"))
        if share is None and area == "lighting":
            done = _num(m.get("route_length_assessed_m"))
            left = _num(m.get("route_length_lamps_unmapped_m"))
            if done is not None and left is not None and done + left > 0:
                share = round(done / (done + left), 4)
        gaps = [
            {"finding": f.id, "title": f.title, "message": f.message, **f.evidence.get("gap", {})}
            for f in findings
            if f.area == area and f.basis == "data-gap"
        ]
        out[area] = {"assessable_share": share, "gaps": gaps}
    return out


# --- per-area measures ----------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def sightlines_score(m: Mapping[str, Any]) -> tuple[float | None, str]:
    """100 × the overlooked share of assessed route length (SL001)."""
    share = _num(m.get("overlooked_route_share"))
    if share is None:
        return None, "no route length could be assessed for overlooking"
    total = _num(m.get("route_length_assessed_m"))
    seen = _num(m.get("route_length_overlooked_m"))
    why = (
        f"{seen:.0f} m of {total:.0f} m of route ({_pct(share)}) is overlooked by at least one "
        "building front"
        if total is not None and seen is not None
        else f"{_pct(share)} of route length is overlooked by at least one building front"
    )
    clear = _num(m.get("clear_forward_view_share"))
    if clear is not None:
        why += f"; {_pct(clear)} of route samples see far enough along the route (not scored)"
    return 100.0 * share, why


def lighting_score(m: Mapping[str, Any]) -> tuple[float | None, str]:
    """100 × the share of assessable route length meeting its P class (LT001)."""
    share = _num(m.get("lit_route_share"))
    if share is None:
        return None, "no route length could be assessed against its lighting class"
    total = _num(m.get("route_length_assessed_m"))
    met = _num(m.get("route_length_meeting_class_m"))
    why = (
        f"{met:.0f} m of {total:.0f} m of assessable route ({_pct(share)}) meets its "
        "EN 13201 P class"
        if total is not None and met is not None
        else f"{_pct(share)} of assessable route length meets its EN 13201 P class"
    )
    left = _num(m.get("route_length_lamps_unmapped_m"))
    if left:
        why += f"; {left:.0f} m whose lamps are not known are left out"
    return 100.0 * share, why


def connectivity_view(m: Mapping[str, Any]) -> tuple[float | None, str, dict[str, float]]:
    """The connectivity view of permeability: the mean of the sub-scores that can be measured.

    Returns the value (None when no measure is present), an explanation and the sub-scores.
    """
    subs: dict[str, float] = {}
    words = []
    for key, target, floor, _src in CONNECTIVITY_TARGETS:
        v = _num(m.get(key))
        if v is None:
            continue
        subs[key] = 100.0 * _clamp01((v - floor) / (target - floor))
        words.append(f"{_LABEL[key]} {v:.2f} vs {target:g} → {subs[key]:.0f}")
    area = _num(m.get("median_block_area_m2"))
    if area is not None and area > 0:
        side = math.sqrt(area)
        subs["median_block_side_m"] = 100.0 * min(1.0, BLOCK_SIDE_M / side)
        words.append(
            f"median block side {side:.0f} m vs {BLOCK_SIDE_M:g} m → "
            f"{subs['median_block_side_m']:.0f}"
        )
    if not subs:
        return None, "no network measure", subs
    value = sum(subs.values()) / len(subs)
    return value, f"connectivity view {value:.0f} ({'; '.join(words)})", subs


_LABEL = {
    "intersection_density_km2": "junctions per km²",
    "connected_node_ratio": "connected node ratio",
    "link_node_ratio": "link–node ratio",
}


def sbd_view(m: Mapping[str, Any]) -> tuple[float | None, str, dict[str, float]]:
    """The Secured by Design view: 100 × (1 − share of unwanted permeability), averaged."""
    subs: dict[str, float] = {}
    words = []
    length = _num(m.get("street_length_m"))
    if length is not None and length > 0:
        for key, what in SBD_LENGTHS:
            v = _num(m.get(key))
            if v is None:
                continue
            share = _clamp01(v / length)
            subs[key] = 100.0 * (1.0 - share)
            words.append(f"{_pct(share)} of the network {what}")
    culs = _num(m.get("culdesac_count"))
    leaky = _num(m.get("leaky_culdesacs"))
    if culs is not None and culs > 0 and leaky is not None:
        share = _clamp01(leaky / culs)
        subs["leaky_culdesac_share"] = 100.0 * (1.0 - share)
        words.append(f"{leaky:.0f} of {culs:.0f} culs-de-sac leak")
    if not subs:
        return None, "no Secured by Design measure", subs
    value = sum(subs.values()) / len(subs)
    return value, f"Secured by Design view {value:.0f} ({'; '.join(words)})", subs


def permeability_views(m: Mapping[str, Any]) -> dict[str, float | None]:
    """Both views' values (None where not measurable), for reports showing both."""
    return {"connectivity": connectivity_view(m)[0], "secured-by-design": sbd_view(m)[0]}


def permeability_score(m: Mapping[str, Any], view: str | None = None) -> tuple[float | None, str]:
    """The profile's view of permeability, or the mean of both views when it takes none."""
    con, con_why, _ = connectivity_view(m)
    sbd, sbd_why, _ = sbd_view(m)
    parts = [(v, w) for v, w in ((con, con_why), (sbd, sbd_why)) if v is not None]
    if not parts:
        return None, "no network measure could be made"
    if view == "connectivity" and con is not None:
        return con, con_why + (f"; {sbd_why} (not scored)" if sbd is not None else "")
    if view == "secured-by-design" and sbd is not None:
        return sbd, sbd_why + (f"; {con_why} (not scored)" if con is not None else "")
    value = sum(v for v, _ in parts) / len(parts)
    why = "; ".join(w for _, w in parts)
    if len(parts) == 2:
        why += "; the score is the mean of the two views"
    return value, why


def police_score(m: Mapping[str, Any]) -> tuple[float | None, str]:
    """100 × mean of the shares of homes within the drive and walk standards."""
    if _num(m.get("police_premises")) == 0:
        return None, "no police premises in the data: travel times cannot be measured"
    drive = _num(m.get("drive_dwelling_share_within"))
    walk = _num(m.get("walk_dwelling_share_within"))
    parts = []
    if drive is not None:
        parts.append((drive, f"{_pct(drive)} of homes within the drive-time standard"))
    if walk is not None:
        parts.append((walk, f"{_pct(walk)} within a walk of a public-facing police office"))
    if not parts:
        return None, "no home could be assessed for police access"
    value = 100.0 * sum(v for v, _ in parts) / len(parts)
    why = ", ".join(w for _, w in parts)
    if len(parts) == 2:
        why += " (the score is their mean)"
    return value, why


def _confidence(coverage: Mapping[str, Mapping[str, Any]], area: str) -> float | None:
    share = _num(coverage.get(area, {}).get("assessable_share"))
    return None if share is None else _clamp01(share)


def area_scores(
    findings: list[Finding],
    given: list[Score],
    metrics: Mapping[str, Mapping[str, Any]],
    coverage: Mapping[str, Mapping[str, Any]],
    areas_run: Iterable[str],
    *,
    view: str | None = None,
) -> dict[str, Score]:
    """Per area that ran, its :class:`Score` from the area's intensive measure.

    Parameters
    ----------
    findings
        The assessment's findings (unused by the formulas; kept for the signature).
    given
        Scores the rules yielded: used only for an area whose documented measure is absent
        (a plugin's own area, or a rule set that yields its own score).
    metrics
        Per area, the metrics the rules yielded.
    coverage
        :func:`area_coverage`: the assessable share gives each score's ``confidence``.
    areas_run
        The areas whose rules ran.
    view
        The profile's permeability view (``connectivity``, ``secured-by-design``) or None.

    Returns
    -------
    dict
        Area → Score; ``value=None`` (not assessable) where nothing could be measured.
    """
    del findings  # scores never count findings
    areas_run = set(areas_run)
    by_area: dict[str, list[Score]] = {}
    for s in given:
        by_area.setdefault(s.area, []).append(s)
    formulas = {
        "sightlines": sightlines_score,
        "lighting": lighting_score,
        "permeability": lambda m: permeability_score(m, view),
        "police_access": police_score,
    }
    scores: dict[str, Score] = {}
    ordered = [a for a in AREAS if a in areas_run] + sorted(a for a in by_area if a not in AREAS)
    for area in ordered:
        conf = _confidence(coverage, area)
        value, why = (None, "no measure")
        if area in formulas:
            value, why = formulas[area](metrics.get(area, {}))
        measured = any(k in metrics.get(area, {}) for k in KEY_METRICS.get(area, ()))
        if value is None and not measured:  # a rule set with its own score for the area
            parts = [s for s in by_area.get(area, []) if s.value is not None]
            if parts:
                value = sum(s.value for s in parts) / len(parts)
                why = "; ".join(s.explanation for s in parts)
        if value is None:
            scores[area] = Score(area, None, f"not assessable: {why}", conf)
            continue
        value = round(min(100.0, max(0.0, value)), 1)
        if conf is not None:
            why += f"; confidence {conf:.2f} (share assessable from measured data)"
        scores[area] = Score(area, value, why, conf)
    return scores
