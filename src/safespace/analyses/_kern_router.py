"""The travel-time router of :mod:`safespace.analyses.travel_time` (private): a network as
arrays, snapping to edges and the multi-source kernel (costs: :mod:`.travel_time`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from safespace.analyses._kern_snap import (
    _grid_nearest,
    _outline_segments,
    _polygon_segments,
    segment_grid,
)
from safespace.errors import InputError

_OFFSET = 1.0  # added to origin legs so that a zero-length leg is still a stored edge
_MIN_PIECE = 1e-12  # scipy would drop an explicit zero weight
_TIE_M = 1e-6  # segments this close in distance tie (beyond the kernels' rounding)


@dataclass
class Snap:
    """Points snapped to edges: edge index, fraction along it, leg length, snapped point
    (``xy``, NaN where not snapped; ``point`` makes the shapely points on demand)."""

    edge: np.ndarray
    frac: np.ndarray
    access_m: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def point(self) -> np.ndarray:
        """The snapped points as shapely Points (None where not snapped)."""
        out = np.full(len(self.edge), None, dtype=object)
        ok = self.edge >= 0
        out[ok] = shapely.points(self.xy[ok])
        return out


def _empty_snap() -> Snap:
    return Snap(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros((0, 2)))


@dataclass
class Solution:
    """Multi-source result on the split graph (costs already without the origin offset)."""

    cost: np.ndarray  # per split-graph node, inf unreachable
    length: np.ndarray  # metres along the chosen route, per node
    origin: np.ndarray  # origin index per node, -1 unreachable
    target_node: np.ndarray  # split-graph node of each target
    pieces: tuple[np.ndarray, ...]  # (a, b, cost, length, edge, f0, f1, two_way)


class Router:
    """A network graph as arrays, ready for snapping and multi-source shortest paths.

    Parameters
    ----------
    graph
        A walk (``MultiGraph``) or drive (``MultiDiGraph``) network with node ``x``/``y`` and
        edge ``geometry``, ``length`` and (drive) ``travel_time``.
    weight
        ``"length"`` or ``"travel_time"``.

    Notes
    -----
    O(E) to build (one pass over the edges), O(S) for the segment grid (S straight segments).
    """

    def __init__(self, graph: nx.MultiGraph, weight: str = "length"):
        if weight not in ("length", "travel_time"):
            raise ValueError(f"weight must be 'length' or 'travel_time', not {weight!r}")
        self.weight = weight
        self.crs = graph.graph.get("crs")
        self.directed = graph.is_directed()
        nodes = list(graph.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        self.nodes = nodes
        self.node_xy = np.array(
            [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=float
        ).reshape(-1, 2)
        us, vs, geoms, lens, costs = [], [], [], [], []
        for a, b, d in graph.edges(data=True):
            g = d.get("geometry")
            i, j = index[a], index[b]
            if g is None:
                g = shapely.linestrings([self.node_xy[i], self.node_xy[j]])
            length = d.get("length")
            length = float(shapely.length(g) if length is None else length)
            us.append(i)
            vs.append(j)
            geoms.append(g)
            lens.append(length)
            costs.append(float(d.get(weight, length)))
        self.u = np.asarray(us, dtype=np.int64)
        self.v = np.asarray(vs, dtype=np.int64)
        self.geometry = np.asarray(geoms, dtype=object)
        coords_all, owner_all = (
            shapely.get_coordinates(self.geometry, return_index=True)
            if len(self.u)
            else (np.zeros((0, 2)), np.zeros(0, np.int64))
        )
        if not self.directed and len(self.u):
            # an undirected graph lists an edge as (u, v) in adjacency order, whatever way its
            # geometry runs: orient u to the geometry's first vertex
            first = coords_all[np.searchsorted(owner_all, np.arange(len(self.u)))]
            du = np.hypot(*(first - self.node_xy[self.u]).T)
            dv = np.hypot(*(first - self.node_xy[self.v]).T)
            flip = dv < du
            self.u, self.v = np.where(flip, self.v, self.u), np.where(flip, self.u, self.v)
        self.length = np.asarray(lens, dtype=float)
        self.cost = np.asarray(costs, dtype=float)
        if len(self.cost) and not np.all(np.isfinite(self.cost) & (self.cost >= 0)):
            raise InputError(f"network edges need finite, non-negative {weight!r}")
        self.geom_length = shapely.length(self.geometry) if len(self.geometry) else np.zeros(0)
        # in a directed graph a two-way street is two edges with reversed geometry: snap to one
        # of them and split both
        self.twin = np.full(len(self.u), -1, dtype=np.int64)
        if self.directed and len(self.u):
            rl = np.round(np.asarray(lens), 6).tolist()
            key = {k: e for e, k in enumerate(zip(us, vs, rl, strict=True))}
            for e, k in enumerate(zip(vs, us, rl, strict=True)):
                t = key.get(k)
                if t is not None and t != e:
                    self.twin[e] = t
            primary = (self.twin < 0) | (np.arange(len(self.u)) < self.twin)
        else:
            primary = np.ones(len(self.u), dtype=bool)
        self._snap_edges = np.flatnonzero(primary)
        # the index holds the straight pieces of the edges: long, bent edges have large boxes
        # that make nearest-neighbour search slow
        keep = primary[owner_all]
        coords = coords_all[keep]
        owner = np.cumsum(primary)[owner_all[keep]] - 1
        same = np.zeros(len(coords), dtype=bool)  # (length 0 on an empty network)
        same[1:] = owner[1:] == owner[:-1]
        step = np.zeros(len(coords))
        step[same] = np.hypot(*(coords[same] - coords[np.flatnonzero(same) - 1]).T)
        cum = np.cumsum(step)
        firsts = np.flatnonzero(~same)
        cum -= np.repeat(cum[firsts], np.diff(np.r_[firsts, len(cum)]))
        seg_end = np.flatnonzero(same)
        self._seg_edge = self._snap_edges[owner[seg_end]]
        self._seg_along = cum[seg_end - 1]
        self._seg_a = coords[seg_end - 1]
        self._seg_b = coords[seg_end]
        self._seg_len = step[seg_end]
        self._grid = segment_grid(self._seg_a, self._seg_b) if len(seg_end) else None
        # what the kernel needs to tell where a point snaps: edge, offset, length, u, v
        se = self._seg_edge
        self._seg_key = np.ascontiguousarray(
            np.stack(
                [se, self._seg_along, self._seg_len, self.geom_length[se], self.u[se], self.v[se]],
                axis=1,
            ).astype(np.float64)
        ).reshape(-1, 6)
        self._seg_geom_cache: np.ndarray | None = None
        self._tree_cache: shapely.STRtree | None = None

    @property
    def _seg_geom(self) -> np.ndarray:
        """The straight segments as shapely lines (built on first use)."""
        if self._seg_geom_cache is None:
            self._seg_geom_cache = (
                shapely.linestrings(np.stack([self._seg_a, self._seg_b], axis=1))
                if len(self._seg_a)
                else np.empty(0, dtype=object)
            )
        return self._seg_geom_cache

    @property
    def _tree(self) -> shapely.STRtree | None:
        """An STRtree of the segments, for snapping geometries other than points."""
        if self._tree_cache is None and len(self._seg_a):
            self._tree_cache = shapely.STRtree(self._seg_geom)
        return self._tree_cache

    def nearest_segments(self, geoms: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The nearest straight network segment to each geometry's outline (or point).

        Lines and polygon rings are compared segment against segment (distance 0 where they
        cross). Where segments at different places tie (within :data:`_TIE_M`), the choice
        and the point are shapely's (``STRtree.query_nearest``, ``shortest_line``).

        Returns
        -------
        (segment, distance, point)
            Segment index per geometry (-1 for a missing or empty geometry, or an empty
            network), the distance (inf where -1) and the geometry's point nearest the
            network, as an (n, 2) array (NaN where -1).

        Notes
        -----
        A uniform-grid ring search (:func:`segment_grid`): about O(Q · k) for Q query
        segments with k grid segments near each, O(S) to build the grid.
        """
        geoms = np.asarray(geoms, dtype=object).ravel()
        n = len(geoms)
        if n == 0 or self._grid is None:
            return np.full(n, -1, np.int64), np.full(n, np.inf), np.full((n, 2), np.nan)
        ragged = _polygon_segments(geoms)
        if ragged is not None:
            qa, qb, qstart = ragged
        else:
            qa, qb, qstart = _outline_segments(geoms)
        seg, d2, _, d2_other, near = self._search(qa, qb, qstart)
        dist = np.sqrt(d2)
        redo = np.flatnonzero((seg >= 0) & (np.sqrt(d2_other) <= dist + _TIE_M))
        if len(redo) and self._tree is not None:
            # ties: the segment and the point shapely picks for the outline
            g = geoms[redo]
            areal = np.isin(shapely.get_type_id(g), (3, 6))
            g[areal] = shapely.boundary(g[areal])
            qi, ti = self._tree.query_nearest(g, all_matches=False)
            seg = seg.copy()
            seg[redo[qi]] = ti
            line = shapely.shortest_line(g[qi], self._seg_geom[ti])
            near[redo[qi]] = shapely.get_coordinates(shapely.get_point(line, 0))
        return seg, dist, near

    def _search(self, qa: np.ndarray, qb: np.ndarray, qstart: np.ndarray) -> tuple:
        """:func:`_grid_nearest` of the query polylines (segments qa–qb grouped by qstart)
        over this network's segment grid."""
        g = self._grid
        return _grid_nearest(
            np.ascontiguousarray(qa), np.ascontiguousarray(qb), qstart, g.a, g.b, g.start,
            g.items, g.params, self._seg_key, _TIE_M,
        )  # fmt: skip

    def _break_ties(
        self, geoms: np.ndarray, seg: np.ndarray, dist: np.ndarray, other: np.ndarray
    ) -> np.ndarray:
        """Settle ties as earlier releases did.

        When another segment lies within :data:`_TIE_M` of the nearest (a geometry across or
        along the network touches it at several places; a point at a vertex, or on edges
        drawn twice), the segment taken decides the travel time. The choice stays shapely's
        ``STRtree.query_nearest`` first match, so results do not depend on the kernel; the
        tree query runs on the tied geometries only.
        """
        tied = np.flatnonzero((seg >= 0) & (other <= dist + _TIE_M))
        if len(tied) and self._tree is not None:
            qi, ti = self._tree.query_nearest(geoms[tied], all_matches=False)
            seg = seg.copy()
            seg[tied[qi]] = ti
        return seg

    @property
    def n_nodes(self) -> int:
        """Number of network nodes."""
        return len(self.node_xy)

    def snap(self, points: Any) -> Snap:
        """Snap points to the nearest edge geometry.

        Notes
        -----
        A uniform-grid ring search over the edges' straight segments (see
        :func:`segment_grid`): about O(P · k) for P points and k segments in the cells near
        each, plus O(S) for the grid; ties go to the lowest segment index. Geometries other
        than points are snapped at their point nearest the network.
        """
        pts = np.asarray(points, dtype=object).ravel() if len(points) else np.empty(0, object)
        n = len(pts)
        if n == 0 or self._grid is None:
            z = np.zeros(n)
            return Snap(np.full(n, -1, np.int64), z, np.full(n, np.nan), np.full((n, 2), np.nan))
        missing = shapely.is_missing(pts) | shapely.is_empty(pts)
        is_point = (shapely.get_type_id(pts) == 0) & ~missing
        seg = np.full(n, -1, dtype=np.int64)
        t = np.zeros(n)
        xy = np.zeros((n, 2))
        if is_point.any():
            xy[is_point] = shapely.get_coordinates(pts[is_point])
            q = np.ascontiguousarray(xy[is_point])
            s_p, d_p, t_p, d_o, _ = self._search(q, q, np.arange(len(q) + 1, dtype=np.int64))
            s_t = self._break_ties(pts[is_point], s_p, np.sqrt(d_p), np.sqrt(d_o))
            changed = s_t != s_p
            if changed.any():  # the fraction along the segment the tree chose
                a, b = self._seg_a[s_t[changed]], self._seg_b[s_t[changed]]
                d = b - a
                ll = np.einsum("ij,ij->i", d, d)
                tt = np.einsum("ij,ij->i", q[changed] - a, d) / np.where(ll > 0, ll, 1.0)
                t_p[changed] = np.where(ll > 0, tt, 0.0).clip(0.0, 1.0)
            seg[is_point], t[is_point] = s_t, t_p
        other = ~is_point & ~missing
        if other.any() and self._tree is not None:
            # lines, polygons: their point nearest the network (shapely's, as ever) stands
            qi, s_o = self._tree.query_nearest(pts[other], all_matches=False)
            line = shapely.shortest_line(self._seg_geom[s_o], pts[other][qi])
            near = shapely.get_point(line, 1)
            idx = np.flatnonzero(other)[qi]
            xy[idx] = shapely.get_coordinates(near)
            a, b = self._seg_a[s_o], self._seg_b[s_o]
            d = b - a
            ll = np.einsum("ij,ij->i", d, d)
            tt = np.einsum("ij,ij->i", xy[idx] - a, d) / np.where(ll > 0, ll, 1.0)
            seg[idx], t[idx] = s_o, np.where(ll > 0, tt, 0.0).clip(0.0, 1.0)
        ok = seg >= 0
        s0 = np.where(ok, seg, 0)
        a, b = self._seg_a[s0], self._seg_b[s0]
        # the projection as GEOS computes it: the end points themselves at t = 0 and t = 1
        on_xy = np.where(
            (t <= 0.0)[:, None], a, np.where((t >= 1.0)[:, None], b, a + t[:, None] * (b - a))
        )
        along = self._seg_along[s0] + np.hypot(*(on_xy - a).T)
        edge = np.where(ok, self._seg_edge[s0], -1)
        glen = self.geom_length[np.where(ok, edge, 0)]
        frac = np.where(glen > 0, along / np.where(glen > 0, glen, 1.0), 0.0).clip(0.0, 1.0)
        access = np.where(ok, np.hypot(*(xy - on_xy).T), np.nan)
        on_xy[~ok] = np.nan
        return Snap(edge, np.where(ok, frac, 0.0), access, on_xy)

    def _pieces(self, snaps: list[Snap]) -> tuple[tuple[np.ndarray, ...], list[np.ndarray], int]:
        """Split snapped edges; return the piece arrays and each snap list's node ids."""
        n = self.n_nodes
        edge = np.concatenate([s.edge for s in snaps]) if snaps else np.zeros(0, np.int64)
        frac = np.concatenate([s.frac for s in snaps]) if snaps else np.zeros(0)
        node = np.full(len(edge), -1, dtype=np.int64)
        ok = edge >= 0
        e_ok = np.where(ok, edge, 0)
        # a point at an edge end is that node (fractions within 1e-12 of the ends)
        at_u = ok & (frac <= 1e-12)
        at_v = ok & (frac >= 1 - 1e-12)
        node[at_u] = self.u[e_ok[at_u]]
        node[at_v] = self.v[e_ok[at_v]]
        inner = ok & ~at_u & ~at_v
        ie, ifr = edge[inner], frac[inner]
        # the distinct (edge, fraction) pairs in sorted order, one new node each
        order = np.lexsort((ifr, ie))
        se, sf = ie[order], ifr[order]
        new = np.r_[True, (se[1:] != se[:-1]) | (sf[1:] != sf[:-1])] if len(se) else se > 0
        inv = np.empty(len(ie), dtype=np.int64)
        inv[order] = np.cumsum(new) - 1
        node[inner] = n + inv
        ue, uf = se[new], sf[new]
        n_new = len(ue)
        split_edges = np.unique(ue)
        # pieces along every split edge: rows (edge, frac, node) including both ends
        re = np.r_[split_edges, ue, split_edges]
        rf = np.r_[np.zeros(len(split_edges)), uf, np.ones(len(split_edges))]
        rn = np.r_[self.u[split_edges], n + np.arange(n_new), self.v[split_edges]]
        order = np.lexsort((rf, re))
        re, rf, rn = re[order], rf[order], rn[order]
        same = re[1:] == re[:-1]
        pe, pf0, pf1 = re[:-1][same], rf[:-1][same], rf[1:][same]
        pa, pb = rn[:-1][same], rn[1:][same]
        # the reverse twin of a split directed edge is split at the mirrored fractions
        tw = self.twin[pe] if len(pe) else np.zeros(0, np.int64)
        has_tw = tw >= 0
        whole = np.ones(len(self.u), dtype=bool)
        whole[split_edges] = False
        if len(pe):
            whole[tw[has_tw]] = False
        we = np.flatnonzero(whole)
        a = np.r_[self.u[we], pa, pb[has_tw]]
        b = np.r_[self.v[we], pb, pa[has_tw]]
        e_all = np.r_[we, pe, tw[has_tw]]
        f0 = np.r_[np.zeros(len(we)), pf0, 1 - pf1[has_tw]]
        f1 = np.r_[np.ones(len(we)), pf1, 1 - pf0[has_tw]]
        span = f1 - f0
        cost = np.maximum(self.cost[e_all] * span, _MIN_PIECE)
        length = self.length[e_all] * span
        pieces = (a, b, cost, length, e_all, f0, f1)
        sizes = np.cumsum([0] + [len(s) for s in snaps])
        return pieces, [node[sizes[k] : sizes[k + 1]] for k in range(len(snaps))], n + n_new

    def split_graph(self, origins: Snap, origin_cost: np.ndarray, targets: Snap):
        """The split graph as a CSR matrix with one private node per origin.

        Returns
        -------
        tuple
            ``(csr, a, b, length, origin_nodes, origin_valid, target_nodes, n_split, pieces)``;
            ``a``, ``b``, ``length`` are the stored edges sorted by (a, b); origin edges cost
            ``origin_cost + 1``.

        Notes
        -----
        O((E + P) log(E + P)) for the sorting.
        """
        pieces, (o_node, t_node), n_split = self._pieces([origins, targets])
        a, b, cost, length = pieces[:4]
        if not self.directed:
            a, b, cost, length = np.r_[a, b], np.r_[b, a], np.r_[cost, cost], np.r_[length, length]
        # private origin nodes
        valid = o_node >= 0
        n_o = len(o_node)
        on = n_split + np.arange(n_o)
        a = np.r_[a, on[valid]]
        b = np.r_[b, o_node[valid]]
        cost = np.r_[cost, np.asarray(origin_cost, float)[valid] + _OFFSET]
        length = np.r_[length, np.zeros(int(valid.sum()))]
        n_all = n_split + n_o
        # drop self-loops, keep the cheapest of parallel edges (scipy would sum them)
        keep = a != b
        a, b, cost, length = a[keep], b[keep], cost[keep], length[keep]
        order = np.lexsort((cost, b, a))
        a, b, cost, length = a[order], b[order], cost[order], length[order]
        first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])] if len(a) else np.zeros(0, bool)
        a, b, cost, length = a[first], b[first], cost[first], length[first]
        graph = csr_matrix((cost, (a, b)), shape=(n_all, n_all))
        return graph, a, b, length, on, valid, t_node, n_split, pieces

    def solve(
        self,
        origins: Snap,
        origin_cost: np.ndarray,
        targets: Snap | None = None,
    ) -> Solution:
        """Multi-source shortest paths from snapped origins.

        Parameters
        ----------
        origins
            Snapped origins.
        origin_cost
            Cost of each origin's access leg, in the router's weight unit.
        targets
            Snapped destinations (their points become split-graph nodes).

        Notes
        -----
        O((V + P) log(V + P) + E): one Dijkstra over the split graph.
        """
        targets = targets if targets is not None else _empty_snap()
        graph, a, b, length, on, valid, t_node, n_split, pieces = self.split_graph(
            origins, origin_cost, targets
        )
        n_all = graph.shape[0]
        if not valid.any():
            dist = np.full(n_all, np.inf)
            src = np.full(n_all, -1)
            return Solution(dist[:n_split], np.full(n_split, np.nan), src[:n_split], t_node, pieces)
        dist, pred, src = dijkstra(
            graph, directed=True, indices=on[valid], min_only=True, return_predecessors=True
        )
        # metres along each node's route: sum the predecessor edges' lengths by pointer jumping
        has = pred >= 0
        idx = np.flatnonzero(has)
        k = np.searchsorted(a * n_all + b, pred[idx].astype(np.int64) * n_all + idx)
        acc = np.zeros(n_all)
        acc[idx] = length[k]
        ptr = np.where(has, pred, -1).astype(np.int64)
        while (ptr >= 0).any():
            m = ptr >= 0
            acc_new = acc.copy()
            acc_new[m] += acc[ptr[m]]
            ptr_new = ptr.copy()
            ptr_new[m] = ptr[ptr[m]]
            acc, ptr = acc_new, ptr_new
        dist = dist[:n_split] - _OFFSET
        src = np.where(src[:n_split] >= 0, src[:n_split] - n_split, -1)
        acc = np.where(np.isfinite(dist), acc[:n_split], np.nan)
        return Solution(dist, acc, src, t_node, pieces)

    def nearest(
        self,
        origins: Snap,
        targets: Snap,
        *,
        speed_mps: float,
    ) -> dict[str, np.ndarray]:
        """Nearest origin, distance (m) and time (s) for every target.

        Access legs are walked at ``speed_mps``; in walk mode the whole route is.

        Returns
        -------
        dict
            ``origin`` (index, -1 when unreachable), ``distance_m``, ``time_s`` (NaN when
            unreachable), ``reachable`` (bool).
        """
        leg = np.nan_to_num(origins.access_m, nan=0.0)
        o_cost = leg if self.weight == "length" else leg / speed_mps
        sol = self.solve(origins, o_cost, targets)
        return self._at_targets(sol, origins, targets, speed_mps)

    def _at_targets(self, sol, origins, targets, speed_mps):
        tn = sol.target_node
        ok = tn >= 0
        cost = np.full(len(tn), np.inf)
        cost[ok] = sol.cost[tn[ok]]
        net_m = np.full(len(tn), np.nan)
        net_m[ok] = sol.length[tn[ok]]
        org = np.full(len(tn), -1, dtype=np.int64)
        org[ok] = sol.origin[tn[ok]]
        reach = np.isfinite(cost) & (org >= 0)
        o_leg = np.where(
            org >= 0,
            np.nan_to_num(origins.access_m, nan=0.0)[np.maximum(org, 0)] if len(origins) else 0.0,
            0.0,
        )
        t_leg = np.nan_to_num(targets.access_m, nan=0.0)
        dist_m = np.where(reach, net_m + o_leg + t_leg, np.nan)
        if self.weight == "length":
            time_s = dist_m / speed_mps
        else:
            time_s = np.where(reach, cost + t_leg / speed_mps, np.nan)
        return {
            "origin": np.where(reach, org, -1),
            "distance_m": dist_m,
            "time_s": time_s,
            "reachable": reach,
        }
