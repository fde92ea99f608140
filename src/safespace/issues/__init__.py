"""Issues: the findings that concern one place, as the points of a consultation response.

A consultation response raises perhaps 5–30 points, each about a place. :func:`group_issues`
turns the assessment's findings into such points (:class:`~safespace.findings.Issue`), ranks
them and marks the key concerns; :func:`overall_position` derives the response's position.
The method is documented in ``docs/issues.md`` and the ranking formula in ``docs/scoring.md``.

Grouping, in order (every finding ends in exactly one issue):

1. Data-gap findings (``basis == "data-gap"``) form one issue per area, gap kind and scope;
   input notes (``IN`` rules) one per scope; layout-wide network findings (PM001–PM004) and
   findings with no feature and no geometry one per area and scope. None of these is merged
   with a design issue.
2. Every other finding is placed by its features. A street or foot route among them is the
   place: a *named* route (``name`` column) by its name, so every way of one named street is
   one place; an unnamed route that runs alongside a named one (``SIDEWALK_M``) takes that
   street's place (a sidewalk is part of its street). In the context (what exists), a
   finding on unnamed routes only takes the place of the nearest named street within
   ``issue_cluster_m`` of it, as an officer describes an existing area by its streets; in
   the proposal every drawn path stays its own place, as the thing the applicant can amend.
   Other unnamed routes are joined with the ways they continue (two ways meeting end to end
   with nothing else there).
3. A finding whose features are not routes (an entrance, a lamp, a tree, a wall, a parking
   court) joins the place of the nearest route within ``issue_cluster_m`` (in space) of its
   geometry, else stands as its own place.
4. A finding naming several routes joins their places into one (the leaky cul-de-sac and
   its link; an underpass and its approaches).
5. In the context, places whose findings above advisory are all unobserved stretches
   (SL001, SL002) and lie within ``issue_cluster_m`` of each other join, naming at most
   :data:`MAX_CLUSTER_STREETS` streets (the streets round one open space).
6. Places whose findings are all advisory (``info``) are gathered into one advisory issue
   per issue kind and scope.

Proposal and context findings are never in one issue (the place key carries the scope).

Modules: ``kinds`` (what an issue is about, its title and action), ``places`` (where it is),
``priority`` (how it ranks, the key concerns, the overall position), ``text`` (its evidence
and recommendation); the grouping itself is here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shapely
import shapely.errors

from safespace._place import (
    PlaceIndex,
    join_names,
    plural,
)
from safespace.findings import Finding, Issue, severity_rank
from safespace.issues.kinds import (
    AREA_RULES,
    CLAUSES,
    DATA_GAP,
    KIND_BY_KEY,
    KINDS,
    OTHER,
    Kind,
    _special_key,
    issue_kind,
)
from safespace.issues.places import (
    MAX_CLUSTER_STREETS,
    SIDEWALK_M,
    _cluster_unobserved,
    _line_length,
    _place,
    _Placer,
    _scope,
    _Union,
    _union,
)
from safespace.issues.priority import (
    CHOICE_M,
    EXPOSURE_M,
    NOT_CONCERNS,
    POSITIONS,
    WEIGHT_POINTS,
    _choice_index,
    _dwelling_tree,
    _mark_key_concerns,
    overall_position,
    priority_of,
    priority_terms,
)
from safespace.issues.text import _cap, _evidence_lines, _gap_title, _recommendation, _sentence

if TYPE_CHECKING:
    from safespace.layout import Layout
    from safespace.rules.profiles import Profile


def group_issues(
    findings: list[Finding],
    layout: Layout | None,
    profile: Profile | None,
    *,
    exposure: Callable[[Issue], float] | None = None,
    site: Any = None,
) -> list[Issue]:
    """Group findings into place-based issues, rank them and mark the key concerns.

    Parameters
    ----------
    findings
        The assessment's findings, moderated, sorted and with ids; each gets its
        ``issue_id``.
    layout
        The assessed layout (names, routes, dwellings, CRS); None groups by features only.
    profile
        Its ``assessment`` table gives ``issue_cluster_m`` and ``key_concerns``.
    exposure
        Optional hook: an issue's further exposure (e.g. recorded crime nearby) as a number
        >= 0; its priority is multiplied by ``1 + exposure``.
    site
        The assessment's :class:`~safespace.rules.engine.Site`: where a rule already ran the
        walk angular analysis (PM008), the route's angular choice joins the ranking.

    Returns
    -------
    list of Issue
        In priority order (highest first); every finding belongs to exactly one.
    """
    params = dict(getattr(profile, "assessment", None) or {})
    cluster_m = float(params.get("issue_cluster_m", 40.0))
    n_key = int(params.get("key_concerns", 10))
    if not findings:
        return []
    idx = PlaceIndex.of(layout) if layout is not None else _empty_index()
    crs = layout.crs if layout is not None else None
    has_site = layout is not None and layout.site is not None
    placer = _Placer(idx, findings, cluster_m)

    union = _Union()
    keys_of: list[list[tuple]] = []

    def one_street(a: frozenset | None, b: frozenset | None) -> frozenset | None:
        both = (a or frozenset()) | (b or frozenset())
        return both if len(both) <= 1 else None  # an issue holds at most one named street

    for f in findings:
        special = _special_key(f)
        keys = [special] if special is not None else placer.keys(f)
        for k in keys:
            if union.find(k) == k and k not in union.data:
                union.data[k] = frozenset([(k[1], k[3])]) if k[0] == "street" else frozenset()
        kept = [keys[0]] + [k for k in keys[1:] if union.union(keys[0], k, one_street)]
        keys_of.append(kept)
    groups: dict[Any, list[int]] = {}
    for i, keys in enumerate(keys_of):
        groups.setdefault(union.find(keys[0]), []).append(i)

    # places whose findings are all advisory: one advisory issue per kind and scope
    merged: dict[Any, list[int]] = {}
    for root, rows in groups.items():
        members = [findings[i] for i in rows]
        special = root[0] in ("gap", "input", "network", "area")
        if not special and all(f.severity == "info" for f in members):
            kind = issue_kind([f.rule_id for f in members])
            root = ("advisory", kind.key, _scope(members[0]))
        merged.setdefault(root, []).extend(rows)

    merged = _cluster_unobserved(merged, findings, keys_of, cluster_m)

    dwellings = _dwelling_tree(layout)
    choice = _choice_index(site) if site is not None else None
    issues: list[Issue] = []
    for root, rows in merged.items():
        rows = sorted(rows)
        members = [findings[i] for i in rows]
        keys = sorted({k for i in rows for k in keys_of[i]}, key=repr)
        issues.append(_issue(root, keys, members, idx, crs, has_site, dwellings, exposure, choice))
    issues.sort(key=lambda i: (-i.priority, i.id))
    _mark_key_concerns(issues, n_key, has_site)
    return issues


def _empty_index() -> PlaceIndex:
    return PlaceIndex({}, {}, {}, {}, None, [], None)


def _issue(root, keys, members, idx, crs, has_site, dwellings, exposure, choice) -> Issue:
    basis_set = {f.basis for f in members}
    basis = next(b for b in ("measured", "modelled", "data-gap") if b in basis_set)
    rules = sorted({f.rule_id for f in members})
    # the first member of the highest severity (members.index in the key was O(n²))
    worst = max(enumerate(members), key=lambda m: (severity_rank(m[1].severity), -m[0]))[1]
    severity = worst.severity
    # an advisory member never names an issue that has findings above advisory
    top_rules = sorted({f.rule_id for f in members if f.severity != "info"}) or rules
    kind = issue_kind(top_rules, "data-gap" if root[0] == "gap" else "measured")
    geoms = [f.geometry for f in members if f.geometry is not None and not f.geometry.is_empty]
    geometry = _union(geoms)
    advisory = root[0] == "advisory"
    if advisory:
        inner = [k for k in keys if k[0] in ("street", "route", "feature")]
        names = sorted({str(k[1]) for k in inner if k[0] == "street"})
        n_places = len({(k[0], k[1]) for k in inner}) or len(members)
        place = plural(n_places, "place") + (f", among them {join_names(names)}" if names else "")
    elif kind is DATA_GAP:
        place = "the site" if has_site else "the area assessed"
    else:
        place = _place(keys, members, idx, crs, has_site)
    key_text = repr(root)  # the component's least place key: stable as members come and go
    iid = "I-" + hashlib.sha256(key_text.encode()).hexdigest()[:8]
    for f in members:
        f.issue_id = iid
    extent = _line_length(geoms)
    if kind is DATA_GAP:
        extent = sum(
            float(f.evidence.get("gap", {}).get("extent", 0.0) or 0.0)
            for f in members
            if isinstance(f.evidence.get("gap"), dict) and f.evidence["gap"].get("unit") == "m"
        )
    n_dw = 0
    if dwellings is not None and geometry is not None and kind.key not in ("network", "input"):
        n_dw = int(len(dwellings.query(geometry, predicate="dwithin", distance=EXPOSURE_M)))
    title_kind = kind.title if kind is not DATA_GAP else _gap_title(members)
    issue = Issue(
        id=iid,
        place=place,
        title=(f"Advisory: {title_kind.lower()}" if advisory else f"{title_kind}: {place}"),
        severity=severity,
        rules=rules,
        finding_ids=[f.id for f in members],
        areas=sorted({f.area for f in members}),
        geometry=geometry,
        extent_m=round(extent, 1),
        evidence=_evidence_lines(members, idx),
        recommendation=(
            _sentence(f"{_cap(place)}: {kind.action}")
            if advisory and kind.action
            else _recommendation(kind, place, members, idx)
        ),
        basis=basis,
        scope="proposal" if any(_scope(f) == "proposal" for f in members) else "context",
        references=sorted({r for f in members for r in f.references}),
        kind="advisory" if advisory else kind.key,
    )
    extra = float(exposure(issue)) if exposure is not None else 0.0
    q = None
    if choice is not None and geometry is not None and kind.key not in ("network", "input"):
        # length-weighted mean percentile of the segments along the issue (a segment only
        # touching it at a junction weighs little)
        zone = shapely.buffer(geometry, CHOICE_M)
        near = choice[0].query(zone, predicate="intersects")
        if len(near):
            segs = choice[0].geometries.take(near)
            w = shapely.length(shapely.intersection(segs, zone))
            q = float((w * choice[1][near]).sum() / w.sum()) if w.sum() > 0 else None
    terms = priority_terms(severity, issue.extent_m, n_dw, len(rules), extra, q)
    issue.priority_terms = terms
    issue.priority = priority_of(terms)
    return issue


__all__ = [
    "AREA_RULES",
    "CLAUSES",
    "DATA_GAP",
    "EXPOSURE_M",
    "KINDS",
    "KIND_BY_KEY",
    "MAX_CLUSTER_STREETS",
    "NOT_CONCERNS",
    "OTHER",
    "POSITIONS",
    "SIDEWALK_M",
    "WEIGHT_POINTS",
    "Kind",
    "group_issues",
    "issue_kind",
    "overall_position",
    "priority_of",
    "priority_terms",
]
