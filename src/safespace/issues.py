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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.errors

from safespace._place import (
    ROUTE_WORDS,
    PlaceIndex,
    first_sentence,
    grid_reference,
    join_names,
    plain_text,
    plural,
)
from safespace.findings import PLANNING_WEIGHT, Finding, Issue, severity_rank

if TYPE_CHECKING:
    from safespace.layout import Layout
    from safespace.rules.profiles import Profile

#: An unnamed route with at least ``SIDEWALK_SHARE`` of its length within this distance of a
#: named street is treated as part of that street (a sidewalk mapped as its own way).
#: safespace convention [unverified]: a sidewalk lies 3–12 m from the street's centre line.
SIDEWALK_M = 15.0
SIDEWALK_SHARE = 0.6

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

NETWORK_RULES = frozenset({"PM001", "PM002", "PM003", "PM004"})
#: Police-access findings about the whole layout (homes outside a standard, a best site).
AREA_RULES = frozenset({"PA001", "PA002", "PA005"})
#: A finding naming at most this many places, at most one of them a named street, joins
#: them into one issue (a cul-de-sac and its link, an underpass and its approaches).
MAX_JOINED = 4
_LIGHT = frozenset({"LT001", "LT002", "LT003", "LT004", "LT005"})


@dataclass(frozen=True)
class Kind:
    """An issue kind: which member rules make it, which it answers, and its action."""

    key: str
    title: str
    noun: str | None
    triggers: frozenset[str]
    answers: frozenset[str]
    action: str


def _k(key, title, noun, triggers, answers, action) -> Kind:
    t = frozenset(triggers.split())
    return Kind(key, title, noun, t, t | frozenset(answers.split()), action)


#: Issue kinds in order of precedence: an issue takes the first kind one of its members
#: triggers. Its recommendation is the kind's action for its place, then a short clause for
#: each member rule the action does not answer (:data:`CLAUSES`).
KINDS: tuple[Kind, ...] = (
    _k(
        "rear_route",
        "Footpath behind homes",
        "rear footpath",
        "PM005",
        "PM007 PM008 PM009 SL001 SL002 SL004 LT001 LT002 LT003 LT004 LT005",
        "remove it, or gate it at the front building line; if it is kept, light it and give "
        "it overlooking windows",
    ),
    _k(
        "hidden_underpass",
        "Underpass with a hidden exit",
        "underpass",
        "SL005",
        "SL001 SL002 LT001 LT002 LT003 LT004 PM008",
        "make the way out visible from the way in (straighten or widen it, or open up its "
        "approaches) and light it to its class throughout, day and night",
    ),
    _k(
        "unobserved_parking",
        "Parking not overlooked",
        None,
        "SL006",
        "SL001 LT001 LT002 LT003 LT004",
        "bring the parking into view of active rooms (homes with windows onto it, frontage "
        "instead of blank garage and store walls) or split it into small groups beside the "
        "homes they serve, and light it to its class",
    ),
    _k(
        "leaky_culdesac",
        "Cul-de-sac with a foot link",
        "cul-de-sac",
        "PM006",
        "LT001 LT002 LT004 LT005 SL001",
        "close the foot link at the turning head; if it must stay, make it wide, straight "
        "and overlooked, and light it dusk to dawn",
    ),
    _k(
        "dead_end",
        "Dead-end path",
        "dead-end path",
        "PM009 SL004",
        "SL001 LT001 LT002 LT003 LT004",
        "close the dead end at the street or give it somewhere to lead; if it stays, gate "
        "it, and make it overlooked and lit",
    ),
    _k(
        "entrapment_recess",
        "Recess beside a route",
        None,
        "SL003",
        "",
        "fill the recess or bring the wall forward so that no recess is deeper than 0.6 m",
    ),
    _k(
        "unlit_route",
        "Route below its lighting class",
        None,
        "LT001 LT002 LT004 LT005",
        "LT003",
        "light it to its EN 13201 class dusk to dawn (a lighting scheme to BS 5489-1 / EN 13201-3)",
    ),
    _k(
        "unobserved_route",
        "Route not overlooked",
        None,
        "SL001 SL002 PM007 PM008",
        "",
        "give it overlooking windows and doors (active frontage), or route the path past them",
    ),
    _k(
        "dark_entrances",
        "Entrances too dark",
        None,
        "LT003 LT006",
        "",
        "light the entrances and the faces of people at them (door lights on dusk to dawn)",
    ),
    _k(
        "planting_boundary",
        "Planting or boundary too high",
        None,
        "SL007 SL008",
        "",
        "keep shrubs below 1 m and tree crowns above 2 m beside routes and parking, and "
        "front boundaries below 1 m",
    ),
    _k(
        "police_access",
        "Police access",
        None,
        "PA001 PA002 PA003 PA004 PA005",
        "",
        "agree emergency access and the police presence the area needs with the police",
    ),
    _k(
        "network",
        "Walking network",
        None,
        "PM001 PM002 PM003 PM004",
        "",
        "connect the network where movement needs it (junctions often, blocks of 80–150 m, "
        "a connection at least every 120 m of boundary), each link overlooked and lit",
    ),
    _k(
        "input",
        "Input data",
        None,
        "IN001 IN002",
        "",
        "check the repairs the loader made against the design intent and correct the drawing",
    ),
    _k(
        "crime_context",
        "Crime context",
        None,
        "CR001 CR002 CR003",
        "",
        "describe the recorded crime in the vicinity in the response; the design issues near "
        "it are ranked by it (docs/crime.md)",
    ),
)
KIND_BY_KEY = {k.key: k for k in KINDS}
DATA_GAP = Kind("data_gap", "Data gap", None, frozenset(), frozenset(), "")
OTHER = Kind("other", "Other matters", None, frozenset(), frozenset(), "")

#: Short clauses for member rules the issue's kind does not answer; ``{what}`` is the
#: feature they concern.
CLAUSES: dict[str, str] = {
    "SL001": "give it overlooking windows",
    "SL002": "open up the view round its bends and corners",
    "SL003": "fill the recess in {what} to 0.6 m deep or less",
    "SL004": "close the dead end or bring it into view",
    "SL005": "make the way out of {what} visible from the way in",
    "SL006": "bring {what} into view of active rooms",
    "SL007": "cut back {what} (shrubs below 1 m, tree crowns above 2 m)",
    "SL008": "lower {what} to below 1 m",
    "LT001": "light it to its EN 13201 class",
    "LT002": "light it to its EN 13201 class",
    "LT003": "light entrances and faces (door lights, dusk to dawn)",
    "LT004": "light it dusk to dawn",
    "LT005": "keep its lighting on dusk to dawn",
    "LT006": "move {what} clear of what blocks its light, or crown-lift the tree",
    "PM005": "remove it or gate it at the front building line",
    "PM006": "close the foot link at the turning head, or make it overlooked and lit",
    "PM007": "give it overlooking windows",
    "PM008": "give it overlooking windows and a reason to use it, or close it",
    "PM009": "close the dead end or bring it into view",
}


class _Union:
    """Union–find; ``union`` returns False (and does nothing) when ``allow`` refuses."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}
        self.data: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Any, b: Any, merge: Callable[[Any, Any], Any] | None = None) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        data = None
        if merge is not None:
            data = merge(self.data.get(ra), self.data.get(rb))
            if data is None:
                return False
        lo, hi = sorted((ra, rb), key=repr)
        self.parent[hi] = lo
        if merge is not None:
            self.data[lo] = data
            self.data.pop(hi, None)
        return True


def _scope(f: Finding) -> str:
    return f.scope or "context"


#: Unnamed foot-only ways that touch are joined into one path up to this total length
#: (safespace convention [unverified]: a path a walker sees as one, not a city's sidewalks).
MAX_PATH_M = 400.0

#: Foot-only route types: unnamed ways of these types that touch form one path network.
FOOT_ONLY = frozenset({"footway", "path", "steps", "pedestrian", "cycleway", "bridleway"})


def _continuations(idx: PlaceIndex, fids: Iterable[str]) -> _Union:
    """Unnamed routes that are one path: joined end to end with nothing else meeting there,
    or foot-only ways (footway, path, steps, ...) with findings that touch each other."""
    u = _Union()
    wanted = [f for f in sorted(set(fids)) if f not in idx.name]
    if not wanted or idx.route_tree is None:
        return u
    foot = [f for f in wanted if idx.highway.get(f) in FOOT_ONLY and idx.geometry.get(f)]
    if foot:
        for f in foot:
            u.find(f)
            u.data[f] = float(idx.geometry[f].length)

        def capped(a: float | None, b: float | None) -> float | None:
            total = (a or 0.0) + (b or 0.0)
            return total if total <= MAX_PATH_M else None

        tree = shapely.STRtree([idx.geometry[f] for f in foot])
        left, right = tree.query([idx.geometry[f] for f in foot], predicate="dwithin", distance=0.5)
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i < j:
                u.union(foot[i], foot[j], capped)
    for fid in wanted:
        geom = idx.geometry[fid]
        if geom is None or geom.geom_type != "LineString":
            continue
        for end in shapely.get_coordinates(geom)[[0, -1]]:
            pt = shapely.Point(end)
            near = [
                idx.routes[int(i)]
                for i in idx.route_tree.query(pt, predicate="dwithin", distance=0.5)
            ]
            others = [o for o in near if o != fid]
            if len(others) != 1:
                continue
            other = others[0]
            og = idx.geometry[other]
            if other in idx.name or og is None or og.geom_type != "LineString":
                continue
            oc = shapely.get_coordinates(og)[[0, -1]]
            if np.min(np.hypot(*(oc - end).T)) <= 0.5:  # the other way ends there too
                u.union(fid, other, lambda a, b: (a or 0.0) + (b or 0.0))
    return u


def _sidewalk_of(idx: PlaceIndex, fid: str, ways: dict[str, list[str]]) -> str | None:
    """A way of the named street an unnamed route runs alongside, if any."""
    geom = idx.geometry.get(fid)
    if geom is None or geom.is_empty or geom.length <= 0:
        return None
    best, best_share = None, SIDEWALK_SHARE
    for _, name in idx.named_near(geom, SIDEWALK_M, exclude=[fid]):
        streets = [w for w in ways[name] if shapely.dwithin(idx.geometry[w], geom, SIDEWALK_M)]
        zone = shapely.union_all([shapely.buffer(idx.geometry[w], SIDEWALK_M) for w in streets])
        share = float(shapely.intersection(geom, zone).length) / geom.length
        if share >= best_share:
            nearest = min(streets, key=lambda w: (shapely.distance(idx.geometry[w], geom), w))
            best, best_share = nearest, share
    return best


class _Placer:
    """Place keys for findings (steps 2–4 of the module docstring)."""

    def __init__(self, idx: PlaceIndex, findings: list[Finding], cluster_m: float) -> None:
        self.idx = idx
        self.cluster_m = cluster_m
        route_fids = {x for f in findings for x in f.features if idx.is_route(x)}
        self.chains = _continuations(idx, route_fids)
        self._street: dict[str, str | None] = {}
        self.ways: dict[str, list[str]] = {}
        for fid in idx.routes:
            if fid in idx.name:
                self.ways.setdefault(idx.name[fid], []).append(fid)
        self._parts: dict[str, _Union] = {}

    def street_part(self, fid: str) -> str:
        """Ways of one name within ``issue_cluster_m`` of each other are one street; two
        streets of the same name apart (another district, a copy) are two places."""
        name = self.idx.name[fid]
        if name not in self._parts:
            u = _Union()
            ways = self.ways[name]
            if len(ways) > 1:
                geoms = [self.idx.geometry[w] for w in ways]
                tree = shapely.STRtree(geoms)
                left, right = tree.query(geoms, predicate="dwithin", distance=self.cluster_m)
                for i, j in zip(left.tolist(), right.tolist(), strict=True):
                    if i < j:
                        u.union(ways[i], ways[j])
            self._parts[name] = u
        return self._parts[name].find(fid)

    def route_key(self, fid: str, scope: str) -> tuple:
        idx = self.idx
        if fid in idx.name:
            return ("street", idx.name[fid], scope, self.street_part(fid))
        if fid not in self._street:
            self._street[fid] = _sidewalk_of(idx, fid, self.ways)
        way = self._street[fid]
        if way:
            return ("street", idx.name[way], scope, self.street_part(way))
        return ("route", self.chains.find(fid), scope)

    def _dominant(self, f: Finding, routes: list[str], scope: str) -> tuple:
        """The place of a finding naming many streets: the route it lies along most."""
        geom = f.geometry
        best, best_len = routes[0], -1.0
        if geom is not None and not geom.is_empty:
            zone = shapely.buffer(geom, 1.0)
            for x in routes:
                g = self.idx.geometry.get(x)
                overlap = float(shapely.intersection(g, zone).length) if g is not None else 0.0
                if overlap > best_len:
                    best, best_len = x, overlap
        return self.route_key(best, scope)

    def _nearest_street(self, geom, scope: str) -> tuple | None:
        """The place of the named street nearest ``geom`` within ``issue_cluster_m``."""
        near = self.idx.named_near(geom, self.cluster_m)
        if not near:
            return None
        name = near[0][1]
        way = min(self.ways[name], key=lambda w: (shapely.distance(self.idx.geometry[w], geom), w))
        return ("street", name, scope, self.street_part(way))

    def keys(self, f: Finding) -> list[tuple]:
        scope = _scope(f)
        routes = [x for x in f.features if self.idx.is_route(x)]
        if routes:
            keys = sorted({self.route_key(x, scope) for x in routes}, key=repr)
            streets = sum(k[0] == "street" for k in keys)
            if scope == "context" and streets == 0:
                near = self._nearest_street(f.geometry, scope)
                if near is not None:
                    return [near]  # an existing path is described by the street beside it
            if len(keys) <= MAX_JOINED and streets <= 1:
                return keys  # one place: a street and its link, a path and its continuations
            return [self._dominant(f, routes, scope)]
        geom = f.geometry
        if geom is None and f.features and f.features[0] in self.idx.geometry:
            geom = self.idx.geometry[f.features[0]]
        if geom is not None and not geom.is_empty and self.idx.route_tree is not None:
            hits = self.idx.route_tree.query(geom, predicate="dwithin", distance=self.cluster_m)
            if len(hits):
                fids = [self.idx.routes[int(i)] for i in hits]
                d = shapely.distance(np.array([self.idx.geometry[x] for x in fids]), geom)
                order = np.lexsort((np.array(fids, dtype=object).astype(str), d))
                return [self.route_key(fids[int(order[0])], scope)]
        if f.features:
            return [("feature", f.features[0], scope)]
        if geom is not None and not geom.is_empty:
            c = shapely.get_coordinates(shapely.point_on_surface(geom))[0]
            cell = tuple(np.floor(c / max(self.cluster_m, 1.0)).astype(int).tolist())
            return [("cell", cell, scope)]
        return [("area", f.area, scope)]


def _special_key(f: Finding) -> tuple | None:
    scope = _scope(f)
    if f.basis == "data-gap":
        gap = f.evidence.get("gap") if isinstance(f.evidence, dict) else None
        kind = gap.get("kind") if isinstance(gap, dict) and gap.get("kind") else f.rule_id
        return ("gap", f.area, str(kind), scope)
    if f.rule_id.startswith("IN") or f.area == "input":
        return ("input", scope)
    if f.rule_id in NETWORK_RULES:
        return ("network", f.area, scope)
    if f.rule_id in AREA_RULES or f.area == "crime" or (not f.features and f.geometry is None):
        # crime context (CR rules) is one issue, never merged with the design issues
        return ("area", f.area, scope)
    return None


def issue_kind(rules: Iterable[str], basis: str = "measured") -> Kind:
    """The kind of an issue with these member rules (first in :data:`KINDS` they trigger)."""
    if basis == "data-gap":
        return DATA_GAP
    rs = set(rules)
    for kind in KINDS:
        if kind.triggers & rs:
            return kind
    return OTHER


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
    cache = getattr(site, "_cache", None)
    if not cache:
        return None
    for key, value in sorted(cache.items(), key=lambda kv: repr(kv[0])):
        if not (isinstance(key, tuple) and len(key) >= 2 and key[1] == "walk_angular"):
            continue
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


def _line_length(geoms: list) -> float:
    lines = [g for g in geoms if g is not None and not g.is_empty]
    lines = [
        part
        for g in lines
        for part in (getattr(g, "geoms", None) or [g])
        if part.geom_type in ("LineString", "LinearRing")
    ]
    if not lines:
        return 0.0
    # stretches of one route reported by several rules overlap without sharing vertices:
    # measure the union of 1 m-wide ribbons, area / width = length covered once
    ribbons = shapely.buffer(np.array(lines, dtype=object), 0.5, cap_style="flat")
    return float(shapely.union_all(ribbons).area) / 1.0


def _evidence_lines(members: list[Finding], idx: PlaceIndex) -> list[str]:
    by_rule: dict[str, list[Finding]] = {}
    for f in members:
        by_rule.setdefault(f.rule_id, []).append(f)
    lines = []
    for rid in sorted(
        by_rule, key=lambda r: (-max(severity_rank(f.severity) for f in by_rule[r]), r)
    ):
        group = by_rule[rid]
        worst = max(group, key=lambda f: severity_rank(f.severity))
        msg = first_sentence(plain_text(worst.message, idx)) if worst.message else ""
        head = plain_text(worst.title, idx) or rid
        line = f"{head}: {msg}" if msg else head
        if len(group) > 1:
            line += f" ({plural(len(group), 'finding')}; the worst is quoted)"
        lines.append(line)
    return lines


def _what(members: list[Finding], idx: PlaceIndex) -> str:
    labels = []
    for f in members:  # the first feature that is not a route: the thing the rule is about
        own = [x for x in f.features if not idx.is_route(x)]
        if own:
            labels.append(idx.label(own[0]))
    return join_names(labels) or "it"


def _recommendation(kind: Kind, place: str, members: list[Finding], idx: PlaceIndex) -> str:
    rules = sorted({f.rule_id for f in members})
    if kind is DATA_GAP:
        resolves = []
        for f in members:
            gap = f.evidence.get("gap", {}) if isinstance(f.evidence, dict) else {}
            text = gap.get("resolve") if isinstance(gap, dict) else None
            resolves.append(text or first_sentence(f.recommendation))
        body = "; ".join(dict.fromkeys(r for r in resolves if r)) or "supply the missing data"
        return _sentence(body)
    if kind is OTHER or kind.key == "police_access":
        recs = [first_sentence(plain_text(f.recommendation, idx)) for f in members]
        recs = [r for r in dict.fromkeys(recs) if r]
        return _sentence("; ".join(recs[:3]) or kind.action)
    clauses = []
    # advisory members add no action to an issue that has findings above advisory
    weighty = {f.rule_id for f in members if f.severity != "info"}
    for rid in rules:
        if rid in kind.answers or rid not in CLAUSES or (weighty and rid not in weighty):
            continue
        of_rule = [f for f in members if f.rule_id == rid]
        clause = CLAUSES[rid].format(what=_what(of_rule, idx))
        if clause not in clauses:
            clauses.append(clause)
    text = f"{_cap(_with_noun(place, kind.noun))}: {kind.action}"
    if clauses:
        text += "; also " + "; ".join(clauses)
    return _sentence(text)


def _with_noun(place: str, noun: str | None) -> str:
    """``footway fp01 (…)`` → ``rear footpath fp01 (…)``: the kind's noun for the route's."""
    if not noun:
        return place
    for word in sorted(set(ROUTE_WORDS.values()), key=len, reverse=True):
        for lead in ("the ", ""):
            if place.startswith(lead + word + " "):
                return lead + noun + place[len(lead + word) :]
    return place


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _sentence(text: str) -> str:
    text = _cap(text.strip())
    return text if text.endswith(".") else text + "."


def _place(keys: list[tuple], members: list[Finding], idx: PlaceIndex, crs: Any, site: bool):
    """Words for where a group of findings is."""
    kinds = {k[0] for k in keys}
    if kinds & {"gap", "input", "network", "area"}:
        where = "the site" if site else "the area assessed"
        return where
    streets = sorted({k[1] for k in keys if k[0] == "street"})
    route_fids = sorted(
        {x for f in members for x in f.features if idx.is_route(x) and x not in idx.name}
    )
    route_fids = [x for x in route_fids if ("route", x) in {(k[0], k[1]) for k in keys}] or [
        k[1] for k in keys if k[0] == "route"
    ]
    places = sorted(
        {
            x
            for f in members
            for x in f.features[:1]
            if idx.layer.get(x) in ("parking", "pedestrian_areas")
            or (idx.layer.get(x) == "buildings" and x in idx.name)
        }
    )
    parts: list[str] = []
    parts.extend(streets)
    if route_fids and not streets:
        labels = [idx.label(x) for x in route_fids]
        shown = [lb for lb in labels if not lb.startswith("the ")]
        text = join_names(shown) if shown else labels[0][4:] if labels else ""
        geom = shapely.union_all([idx.geometry[x] for x in route_fids])
        ends = idx.ends_between(geom, exclude=route_fids)
        if len(ends) == 2:
            text += f" (between {ends[0]} and {ends[1]})"
        elif len(ends) == 1:
            text += f" (off {ends[0]})"
        else:
            near = idx.named_near(geom, 60.0, exclude=route_fids)
            if near:
                text += f" (near {near[0][1]})"
            else:
                text += " at " + grid_reference(shapely.point_on_surface(geom), crs)
        if not shown:
            text = "the " + text
        parts.append(text)
    for x in places:
        if not any(idx.label(x) in p for p in parts):
            parts.append(idx.label(x))
    if parts:
        return join_names(parts)
    # features without a route within reach
    feats = [f.features[0] for f in members if f.features]
    geom = shapely.union_all([f.geometry for f in members if f.geometry is not None])
    label = join_names([idx.label(x) for x in dict.fromkeys(feats)]) if feats else ""
    if geom is None or geom.is_empty:
        return label or "the site"
    ref = grid_reference(shapely.point_on_surface(geom), crs)
    return f"{label} at {ref}" if label else ref


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


#: In the context, unobserved-route places within ``issue_cluster_m`` of each other are one
#: issue, naming at most this many streets (the streets round one park or square).
MAX_CLUSTER_STREETS = 3
_UNOBSERVED = frozenset({"SL001", "SL002"})


def _cluster_unobserved(
    merged: dict[Any, list[int]],
    findings: list[Finding],
    keys_of: list[list[tuple]],
    cluster_m: float,
) -> dict[Any, list[int]]:
    """Join context places whose findings above advisory are all unobserved stretches
    (SL001, SL002) when they lie within ``cluster_m`` of each other: the streets and paths
    round one open space are one point of a response about an existing area. A cluster
    names at most :data:`MAX_CLUSTER_STREETS` streets. O(g log g) for g places."""
    roots, geoms, streets = [], [], []
    for root, rows in merged.items():
        if root[0] not in ("street", "route", "feature") or root[2] != "context":
            continue
        above = [findings[i] for i in rows if findings[i].severity != "info"]
        if not above or not {f.rule_id for f in above} <= _UNOBSERVED:
            continue
        g = [f.geometry for f in above if f.geometry is not None and not f.geometry.is_empty]
        if not g:
            continue
        roots.append(root)
        geoms.append(_union(g))
        streets.append(frozenset(k[1] for i in rows for k in keys_of[i] if k[0] == "street"))
    if len(roots) < 2:
        return merged
    u = _Union()
    for i, st in enumerate(streets):
        u.find(i)
        u.data[i] = st

    def capped(a: frozenset | None, b: frozenset | None) -> frozenset | None:
        both = (a or frozenset()) | (b or frozenset())
        return both if len(both) <= MAX_CLUSTER_STREETS else None

    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=cluster_m)
    pairs = sorted(
        ((float(shapely.distance(geoms[i], geoms[j])), i, j)
         for i, j in zip(left.tolist(), right.tolist(), strict=True) if i < j)
    )  # fmt: skip
    for _, i, j in pairs:  # nearest first, so the cap keeps the closest neighbours together
        u.union(i, j, capped)
    out: dict[Any, list[int]] = {}
    index = {r: k for k, r in enumerate(roots)}
    for root, rows in merged.items():
        k = index.get(root)
        key = root if k is None else roots[u.find(k)]
        out.setdefault(key, []).extend(rows)
    return out


def _union(geoms: list) -> shapely.Geometry | None:
    """The members' union; a collection of them where GEOS cannot build one (a finding
    drawn on an input polygon that no repair made valid)."""
    if not geoms:
        return None
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.GeometryCollection(geoms)


def _empty_index() -> PlaceIndex:
    return PlaceIndex({}, {}, {}, {}, None, [], None)


def _issue(root, keys, members, idx, crs, has_site, dwellings, exposure, choice) -> Issue:
    basis_set = {f.basis for f in members}
    basis = next(b for b in ("measured", "modelled", "data-gap") if b in basis_set)
    rules = sorted({f.rule_id for f in members})
    worst = max(members, key=lambda f: (severity_rank(f.severity), -members.index(f)))
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


def _gap_title(members: list[Finding]) -> str:
    areas = sorted({f.area.replace("_", " ") for f in members})
    return f"Data gap in {join_names(areas)}"


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
