"""Where an issue is: findings placed by their routes, joined along continuations and
clusters, and the place's description.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.errors

from safespace._place import (
    PlaceIndex,
    grid_reference,
    join_names,
)
from safespace.findings import Finding

if TYPE_CHECKING:
    pass


#: An unnamed route with at least ``SIDEWALK_SHARE`` of its length within this distance of a
#: named street is treated as part of that street (a sidewalk mapped as its own way).
#: safespace convention [unverified]: a sidewalk lies 3–12 m from the street's centre line.
SIDEWALK_M = 15.0


SIDEWALK_SHARE = 0.6


#: A finding naming at most this many places, at most one of them a named street, joins
#: them into one issue (a cul-de-sac and its link, an underpass and its approaches).
MAX_JOINED = 4


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


def _sidewalk_of(
    idx: PlaceIndex, fid: str, ways: dict[str, list[str]], zones: dict[str, Any] | None = None
) -> str | None:
    """A way of the named street an unnamed route runs alongside, if any.

    ``zones`` keeps each street way's ``SIDEWALK_M`` buffer between calls (a way is beside
    many paths)."""
    geom = idx.geometry.get(fid)
    if geom is None or geom.is_empty or geom.length <= 0:
        return None
    zones = {} if zones is None else zones
    best, best_share = None, SIDEWALK_SHARE
    for _, name in idx.named_near(geom, SIDEWALK_M, exclude=[fid]):
        streets = [w for w in ways[name] if shapely.dwithin(idx.geometry[w], geom, SIDEWALK_M)]
        for w in streets:
            if w not in zones:
                zones[w] = shapely.buffer(idx.geometry[w], SIDEWALK_M)
        zone = shapely.union_all([zones[w] for w in streets])
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
        self._geom_parts: dict[bytes, tuple[np.ndarray, shapely.STRtree]] = {}
        self._way_zones: dict[str, Any] = {}

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
            self._street[fid] = _sidewalk_of(idx, fid, self.ways, self._way_zones)
        way = self._street[fid]
        if way:
            return ("street", idx.name[way], scope, self.street_part(way))
        return ("route", self.chains.find(fid), scope)

    def _geometry_parts(self, geom: Any) -> tuple[np.ndarray, shapely.STRtree]:
        """The parts of a finding's geometry and their tree, once per distinct geometry."""
        key = shapely.to_wkb(geom)
        if key not in self._geom_parts:
            parts = shapely.get_parts(geom)
            self._geom_parts[key] = (parts, shapely.STRtree(parts))
        return self._geom_parts[key]

    def _dominant(self, f: Finding, routes: list[str], scope: str) -> tuple:
        """The place of a finding naming many streets: the route it lies along most (the
        longest length within 1 m of the finding's geometry; the first in ``routes`` of
        equal ones)."""
        geom = f.geometry
        best = routes[0]
        if geom is not None and not geom.is_empty:
            parts, tree = self._geometry_parts(geom)
            geoms = [self.idx.geometry.get(x) for x in routes]
            # a route's overlap is at most its length: measure the longest first and stop
            # once no shorter route could reach the best (a network-wide finding names
            # hundreds); each is measured against the 1 m zone of the parts near it only
            # (buffering a network's lines whole takes seconds)
            bound = np.array([0.0 if g is None else g.length * (1 + 1e-9) + 1e-9 for g in geoms])
            best_len, best_at = -1.0, 0
            for i in np.lexsort((np.arange(len(routes)), -bound)).tolist():
                if bound[i] < best_len:
                    break
                g = geoms[i]
                overlap = 0.0
                near = tree.query(g, predicate="dwithin", distance=1.0) if g is not None else []
                if len(near):
                    zone = shapely.union_all(shapely.buffer(parts[near], 1.0))
                    overlap = float(shapely.intersection(g, zone).length)
                if overlap > best_len or (overlap == best_len and i < best_at):
                    best_len, best_at = overlap, i
            best = routes[best_at]
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
