"""Honest severities: what a finding may claim given the data and the place it is about.

A rule measures; this module decides how much weight the measurement can bear, once, for
every rule alike (see ``docs/data.md``):

- a finding that rests on data that is not there (``basis="data-gap"``) is advisory;
- a rule that judges a design decision (``Rule.proposal_rule``) is advisory outside the red
  line, and everywhere when there is no red line (nothing is proposed);
- a finding wholly within ``edge_margin_m`` of where the data stops — in an extract, whose
  buildings are partial — is advisory: what lies beyond (the windows that may overlook it,
  the street that may continue) is unknown;
- a finding whose severity rests on a threshold marked ``[unverified]`` is advisory, and one
  that an ``[unverified]`` threshold only raised a grade (``Finding.graded_by``) goes back
  down that grade;
- a finding whose figures are a lower bound (``evidence["lower_bound"]``: illuminance from a
  partly mapped lamp layer, which unmapped lamps would raise) is advisory.

Each lowering is recorded on the finding (``Finding.moderation``) with the rule's own
severity, so nothing is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace.findings import SEVERITIES, Finding
from safespace.layout import data_extent

if TYPE_CHECKING:
    from safespace.layout import Layout
    from safespace.rules.engine import Rule, Site
    from safespace.rules.profiles import Profile

ADVISORY = "info"
#: How far outside the red line a finding may lie and still be about the proposal (m):
#: drawing round-off, not a design margin.
SCOPE_TOLERANCE_M = 0.5
UNVERIFIED_MARK = "[unverified]"


def _geoms(findings: list[Finding]) -> np.ndarray:
    return np.array(
        [f.geometry if f.geometry is not None else shapely.Point() for f in findings],
        dtype=object,
    )


def assign_scope(findings: list[Finding], layout: Layout) -> None:
    """Set each finding's ``scope``: ``proposal`` when it touches the red line's interior.

    O(n log n) for n findings (one prepared polygon, vectorised predicates).
    """
    site = layout.site
    if site is None or site.is_empty:
        for f in findings:
            f.scope = "context"
        return
    # a finding drawn along the red line itself (a boundary gap) is about the proposal, even
    # when round-off puts it a hair outside: the red line is widened by SCOPE_TOLERANCE_M
    site = shapely.buffer(site, SCOPE_TOLERANCE_M)
    shapely.prepare(site)
    geoms = _geoms(findings)
    located = ~shapely.is_empty(geoms)
    inside = np.zeros(len(findings), dtype=bool)
    if located.any():
        # touching the red line from outside is not being inside it
        inside[located] = shapely.intersects(site, geoms[located]) & ~shapely.touches(
            site, geoms[located]
        )
    passing = _passing_routes(layout, site)
    for f, ok, loc in zip(findings, inside, located, strict=True):
        # a finding only about routes that pass the site (an existing road crossing a
        # corner of the red line) is about the context, wherever along them it lies
        if ok and f.features and all(fid in passing for fid in f.features):
            ok = False
        f.scope = "proposal" if (ok or (not loc and f.area != "input")) else "context"


def _passing_routes(layout: Layout, site: shapely.Geometry) -> set[str]:
    """Routes that cross the red line but lie mostly (over half their length) outside it."""
    out: set[str] = set()
    for name in ("streets", "foot_routes"):
        frame = layout.layers[name]
        if frame.empty:
            continue
        geoms = frame.geometry.values
        total = shapely.length(geoms)
        crosses = shapely.intersects(site, geoms)
        if not crosses.any():
            continue
        inside = np.zeros(len(geoms))
        inside[crosses] = shapely.length(shapely.intersection(geoms[crosses], site))
        mostly_out = crosses & (inside < 0.5 * total)
        out.update(str(fid) for fid in frame["fid"].to_numpy()[mostly_out])
    return out


def at_data_edge(
    findings: list[Finding], layout: Layout, margin_m: float, extent: Any = None
) -> np.ndarray:
    """Per finding: does it lie wholly within ``margin_m`` of where the data stops?

    Only an extract has such an edge: where every part of the layout has complete buildings
    (a drawing), what is not drawn is not there, and no finding is at an edge. Findings in
    the proposal (inside the red line) never are: a drawing describes its site.
    ``extent`` is the layout's :func:`~safespace.layout.data_extent` when the caller holds
    it (the assessment's analysis cache does); else it is computed.
    """
    out = np.zeros(len(findings), dtype=bool)
    if margin_m <= 0 or not findings:
        return out
    if all(layout.is_complete("buildings", origin) for origin in layout.origins):
        return out
    extent = layout.data_extent if extent is None else extent
    if extent.is_empty:
        return out
    core = shapely.buffer(extent, -margin_m)
    geoms = _geoms(findings)
    located = ~shapely.is_empty(geoms)
    scope = np.array([f.scope == "proposal" for f in findings], dtype=bool)
    check = located & ~scope
    if check.any():
        if core.is_empty:
            out[check] = True
        else:
            shapely.prepare(core)
            out[check] = ~shapely.intersects(core, geoms[check])
    return out


def unverified_thresholds(finding: Finding, sources: Mapping[str, str]) -> list[str]:
    """The parameters a finding rests on whose source is marked ``[unverified]``."""
    return [n for n in finding.rests_on if UNVERIFIED_MARK in str(sources.get(n, ""))]


def moderate(
    findings: list[Finding],
    layout: Layout,
    registry: Mapping[str, Rule],
    profile: Profile,
    site: Site | None = None,
) -> None:
    """Assign scopes and lower severities the data cannot bear (in place).

    ``site``, the assessment's :class:`~safespace.rules.engine.Site`, lends its cached
    data extent (the rules have computed it); without it the extent is computed here.
    """
    assign_scope(findings, layout)
    margin = float(profile.assessment.get("edge_margin_m", 0.0))
    extent = site.analysis(data_extent) if site is not None else None
    edge = at_data_edge(findings, layout, margin, extent)
    for f, near_edge in zip(findings, edge, strict=True):
        if f.area == "input":
            continue
        if f.basis == "data-gap":
            f.moderate(ADVISORY, "rests on data that is not in the input (a data gap)")
        if f.evidence.get("lower_bound"):
            f.moderate(
                ADVISORY,
                "its figures are a lower bound: the layer it rests on is partly mapped, and "
                "what is not mapped would add to them",
            )
        rule_ = registry.get(f.rule_id)
        if rule_ is not None and rule_.proposal_rule and f.scope != "proposal":
            f.moderate(
                ADVISORY,
                "judges a design decision, and lies in the existing area, not in a proposal",
            )
        if near_edge:
            f.moderate(
                ADVISORY,
                f"lies within {margin:g} m of where the data stops: what is beyond is unknown",
            )
        sources = profile.sources.get(f.rule_id, {})
        lifted = [n for n in f.graded_by if UNVERIFIED_MARK in str(sources.get(n, ""))]
        if lifted and f.severity != ADVISORY:
            one_down = SEVERITIES[max(1, SEVERITIES.index(f.severity) - 1)]
            f.moderate(
                one_down,
                f"its grade rests on threshold(s) {', '.join(lifted)} whose source is not verified",
            )
        weak = unverified_thresholds(f, sources)
        if weak:
            f.moderate(
                ADVISORY,
                f"rests on threshold(s) {', '.join(weak)} whose source is not verified",
            )
