"""Angular segment analysis (space syntax) on a walk network.

Segment map
    ``split="vertex"`` (default, as depthmapX segment maps): every edge geometry is cut at
    each of its vertices, so a segment is one straight piece. ``split="edge"``: each
    simplified network edge is one segment; its internal bends are charged half to entering
    and half to leaving it (see *angular cost*).

Angular cost (Turner 2007; depthmapX)
    A step from segment ``i`` to an adjacent segment ``j`` across their shared end costs the
    turn angle between the direction of travel arriving along ``i`` and leaving along ``j``,
    in quarter turns (90° = 1; straight on = 0; a U-turn = 2). In edge mode the step also costs
    half of the summed vertex turns inside ``i`` and half of those inside ``j``. Travel is
    directed: a path entering a segment at one end leaves it by the other end (no turning
    through a segment at the same junction), so the search runs on *states* (segment, end it
    is left by). Costs are quantised to ``1/65536`` of a quarter turn so that equal-angle
    paths tie exactly.

Metric radius (our definition; the brute-force reference uses the same)
    Metric distance between two segments is the shortest network distance between their
    midpoints (a step from ``i`` to ``j`` costs ``(len_i + len_j) / 2``). For a radius ``r``
    the origin's *catchment* is every segment at metric distance ``<= r``. Angular depths and
    least-angle paths are then computed inside the catchment only (paths may not leave it).
    ``"n"`` means no radius. depthmapX instead prunes the angular search by the metric length
    of the least-angle path itself; that rule depends on how angular ties are broken, ours
    does not.

Per segment and radius ``r`` (column suffix ``_r``, e.g. ``_800``, ``_n``)
    ``node_count`` NC: segments in the catchment reachable from the origin, origin included.
    ``total_depth`` TD: sum of least angular depths (quarter turns) to them.
    ``mean_depth``: TD / (NC - 1).
    ``integration``: NC² / TD, depthmapX's angular integration (Turner 2007).
    ``nain``: NC^1.2 / (TD + 2), normalised angular integration (Hillier, Yang & Turner 2012).
    ``choice``: angular betweenness — for every ordered pair (origin i, destination j ≠ i)
    with j reachable in i's catchment, each least-angle path from i to j adds 1/σ_ij to
    every segment strictly between them (σ_ij = number of least-angle paths). Counting
    ordered pairs gives twice depthmapX's unordered count on symmetric (radius-n) cases.
    ``nach``: log10(choice + 1) / log10(TD + 3), normalised angular choice (Hillier et al.
    2012).
    ``reach_m``: total length of the segments in the catchment (metric reach).

Kernel: per origin, a metric Dijkstra bounded by the largest finite radius, then for each
radius a Dijkstra on angular cost with Brandes' path counting and dependency accumulation
(Brandes 2001), parallel over origins (numba ``prange``, per-chunk accumulators). Cost:
O(S · (T_r log T_r)) for S segments and T_r state transitions inside a catchment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numba
import numpy as np
import shapely

from safespace.analyses._jit import tiered
from safespace.analyses.network import NetworkTable, build_network, table_from_graph

#: Quantisation of angular cost: units per quarter turn.
ANGLE_SCALE = 65536


# --------------------------------------------------------------------------------------------
# segment map
# --------------------------------------------------------------------------------------------


class SegmentMap:
    """Segments and their directed step graph.

    Attributes
    ----------
    geometry : (S,) LineStrings
    length : (S,) float
    edge : (S,) int, the network edge each segment comes from
    ptr, to, angle_cost, metric_cost : CSR of the state graph; state ``2*s + e`` means
        "on segment s, leaving it by end e" (0 = first vertex, 1 = last)
    """

    def __init__(self, geometry, length, edge, ptr, to, angle_cost, metric_cost):
        self.geometry, self.length, self.edge = geometry, length, edge
        self.ptr, self.to = ptr, to
        self.angle_cost, self.metric_cost = angle_cost, metric_cost


def segment_map(
    graph_or_lines: nx.MultiGraph | NetworkTable | gpd.GeoDataFrame | Sequence[Any],
    *,
    split: str = "vertex",
    snap_tolerance: float = 1.0,
) -> SegmentMap:
    """Build the segment map and its angular step graph.

    Parameters
    ----------
    graph_or_lines
        A walk network (networkx), its :class:`NetworkTable`, or lines (GeoDataFrame /
        array of LineStrings) from which a walk network is built first.
    split
        ``"vertex"`` or ``"edge"`` (see the module docstring).
    snap_tolerance
        Passed to :func:`~safespace.analyses.network.build_network` when lines are given.

    Notes
    -----
    Vectorised: O(S + Σ_k deg_k²) over junctions k.
    """
    if split not in ("vertex", "edge"):
        raise ValueError(f"split must be 'vertex' or 'edge', not {split!r}")
    t = _table(graph_or_lines, snap_tolerance)
    n_nodes = len(t.node_xy)
    if len(t.u) == 0:
        e = np.zeros(0, dtype=np.int64)
        return SegmentMap(
            np.empty(0, object), np.zeros(0), e, np.zeros(1, np.int64), e, e, np.zeros(0)
        )
    coords, eidx = shapely.get_coordinates(t.geometry, return_index=True)
    # drop repeated vertices (zero-length pieces have no direction)
    dup = np.zeros(len(coords), dtype=bool)
    dup[1:] = (eidx[1:] == eidx[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    coords, eidx = coords[~dup], eidx[~dup]
    first = np.r_[True, eidx[1:] != eidx[:-1]]
    last = np.r_[eidx[1:] != eidx[:-1], True]
    if split == "vertex":
        a = np.flatnonzero(~last)  # segment from vertex a to a + 1
        seg_edge = eidx[a]
        p0, p1 = coords[a], coords[a + 1]
        # end ids: graph nodes at edge ends, a private id for every interior vertex
        vid = n_nodes + np.arange(len(coords))
        vid[first] = t.u[eidx[first]]
        vid[last] = t.v[eidx[last]]
        end_a, end_b = vid[a], vid[a + 1]
        geoms = shapely.linestrings(np.stack([p0, p1], axis=1))
        length = np.hypot(*(p1 - p0).T)
        tan_a = (p1 - p0) / length[:, None]
        tan_b = -tan_a
        bend = np.zeros(len(a))
    else:
        seg_edge = np.arange(len(t.u))
        fi, li = np.flatnonzero(first), np.flatnonzero(last)
        end_a, end_b = t.u, t.v
        geoms = t.geometry
        length = shapely.length(geoms)
        # An edge that collapsed to one point (zero length: its ends snapped together) has
        # no direction; give it an arbitrary one rather than borrow a neighbour's vertex.
        single = fi == li
        da = coords[np.minimum(fi + 1, len(coords) - 1)] - coords[fi]
        db = coords[np.maximum(li - 1, 0)] - coords[li]
        da[single], db[single] = (1.0, 0.0), (-1.0, 0.0)
        na, nb = np.hypot(*da.T), np.hypot(*db.T)
        tan_a = da / np.where(na > 0, na, 1.0)[:, None]
        tan_b = db / np.where(nb > 0, nb, 1.0)[:, None]
        tan_a[na == 0], tan_b[nb == 0] = (1.0, 0.0), (-1.0, 0.0)
        # internal turning: angles between consecutive pieces of the same edge
        d = coords[1:] - coords[:-1]
        same = eidx[1:] == eidx[:-1]
        d = d[same]
        de = eidx[1:][same]
        d1, d2 = d[:-1], d[1:]
        inner = de[:-1] == de[1:]
        turn = _angle(d1[inner], d2[inner])
        bend = np.bincount(de[:-1][inner], weights=turn, minlength=len(t.u)) / 90.0
    n_seg = len(length)
    # incidences (segment, end, node, outward tangent)
    inc_seg = np.r_[np.arange(n_seg), np.arange(n_seg)]
    inc_end = np.r_[np.zeros(n_seg, np.int64), np.ones(n_seg, np.int64)]
    inc_node = np.r_[end_a, end_b]
    inc_tan = np.r_[tan_a, tan_b]  # pointing into the segment from that end
    order = np.argsort(inc_node, kind="stable")
    inc_seg, inc_end, inc_node, inc_tan = (
        inc_seg[order],
        inc_end[order],
        inc_node[order],
        inc_tan[order],
    )
    gstart = np.r_[0, np.flatnonzero(np.diff(inc_node)) + 1]
    gsize = np.diff(np.r_[gstart, len(inc_node)])
    g_of = np.repeat(np.arange(len(gstart)), gsize)
    k = gsize[g_of]
    i = np.repeat(np.arange(len(inc_node)), k)
    j = gstart[g_of][i] + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
    keep = inc_seg[i] != inc_seg[j]
    i, j = i[keep], j[keep]
    # leave segment s by end e_s (arriving at the junction), enter t by end e_t
    src = 2 * inc_seg[i] + inc_end[i]
    dst = 2 * inc_seg[j] + (1 - inc_end[j])
    theta = _angle(-inc_tan[i], inc_tan[j])
    cost = theta / 90.0 + 0.5 * bend[inc_seg[i]] + 0.5 * bend[inc_seg[j]]
    acost = np.rint(cost * ANGLE_SCALE).astype(np.int64)
    mcost = 0.5 * (length[inc_seg[i]] + length[inc_seg[j]])
    o = np.lexsort((dst, src))
    src, dst, acost, mcost = src[o], dst[o], acost[o], mcost[o]
    ptr = np.searchsorted(src, np.arange(2 * n_seg + 1)).astype(np.int64)
    return SegmentMap(
        np.asarray(geoms, dtype=object),
        length,
        seg_edge.astype(np.int64),
        ptr,
        dst.astype(np.int64),
        acost,
        mcost,
    )


def _angle(d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Unsigned angle (degrees, 0..180) between direction vectors, row-wise."""
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    dot = (d1 * d2).sum(axis=1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def _table(obj: Any, snap_tolerance: float) -> NetworkTable:
    if isinstance(obj, NetworkTable):
        return obj
    if isinstance(obj, nx.Graph):
        return table_from_graph(obj)
    return table_from_graph(build_network(obj, snap_tolerance=snap_tolerance))


# --------------------------------------------------------------------------------------------
# analysis
# --------------------------------------------------------------------------------------------


def angular_segment_analysis(
    graph_or_lines: nx.MultiGraph | NetworkTable | gpd.GeoDataFrame | Sequence[Any],
    radii: Sequence[float | str] = (400, 800, "n"),
    *,
    split: str = "vertex",
    choice: bool = True,
    snap_tolerance: float = 1.0,
) -> gpd.GeoDataFrame:
    """Angular integration, choice and metric reach per segment.

    Parameters
    ----------
    graph_or_lines
        Walk network (networkx / :class:`NetworkTable`) or lines to build one from.
    radii
        Metric radii in metres; ``"n"`` for no radius.
    split
        ``"vertex"`` (depthmapX-style segments) or ``"edge"`` (one segment per network edge).
    choice
        Compute choice (betweenness); closeness-only runs are about twice as fast.
    snap_tolerance
        Endpoint snapping (m) when a network is built from lines.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment: ``edge`` (index of the network edge), ``length``, and per radius
        ``node_count_r``, ``total_depth_r``, ``mean_depth_r``, ``integration_r``, ``nain_r``,
        ``choice_r``, ``nach_r``, ``reach_m_r`` as defined in the module docstring.

    Notes
    -----
    O(S · T_r log T_r) for S segments and T_r step transitions inside a catchment; parallel
    over origins.
    """
    crs = (
        graph_or_lines.graph.get("crs")
        if isinstance(graph_or_lines, nx.Graph)
        else getattr(graph_or_lines, "crs", None)
    )
    sm = (
        graph_or_lines
        if isinstance(graph_or_lines, SegmentMap)
        else segment_map(graph_or_lines, split=split, snap_tolerance=snap_tolerance)
    )
    labels, rad = _radii(radii)
    nc, td, ch, reach = segment_centrality(sm, rad, choice=choice)
    cols: dict[str, Any] = {"edge": sm.edge, "length": sm.length}
    for k, lab in enumerate(labels):
        ncr, tdr = nc[k], td[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[f"node_count_{lab}"] = ncr
            cols[f"total_depth_{lab}"] = tdr
            cols[f"mean_depth_{lab}"] = np.where(ncr > 1, tdr / (ncr - 1), np.nan)
            cols[f"integration_{lab}"] = np.where(tdr > 0, ncr**2 / tdr, np.nan)
            cols[f"nain_{lab}"] = ncr**1.2 / (tdr + 2)
            if choice:
                cols[f"choice_{lab}"] = ch[k]
                cols[f"nach_{lab}"] = np.log10(ch[k] + 1) / np.log10(tdr + 3)
            cols[f"reach_m_{lab}"] = reach[k]
    return gpd.GeoDataFrame(cols, geometry=list(sm.geometry), crs=crs)


def segment_centrality(
    sm: SegmentMap, radii: np.ndarray, *, choice: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Raw kernel: (node_count, total_depth, choice, reach_m), each (len(radii), S).

    ``radii`` in metres, ``np.inf`` for radius n.

    Notes
    -----
    O(S · T_r log T_r); numba-parallel over origins.
    """
    n_seg = len(sm.length)
    radii = np.asarray(radii, dtype=np.float64)
    if n_seg == 0:
        z = np.zeros((len(radii), 0))
        return z, z, z, z
    zrank = _zero_rank(sm.ptr, sm.to, sm.angle_cost, 2 * n_seg)
    n_chunks = max(1, min(n_seg, numba.get_num_threads() * 8))
    nc, td, ch, reach = _kernel(
        sm.ptr,
        sm.to,
        sm.angle_cost,
        sm.metric_cost,
        sm.length.astype(np.float64),
        zrank,
        radii,
        bool(choice),
        n_chunks,
    )
    return nc, td / ANGLE_SCALE, ch, reach


def segment_closeness(sm: SegmentMap, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Closeness only, at one radius: (node_count, total_depth), each (S,).

    The same ``node_count`` and ``total_depth`` as :func:`segment_centrality` (``choice``
    off) gives at this radius, bit for bit, with neither reach nor choice: siting ranks
    segments by integration alone. ``radius`` in metres, ``np.inf`` for radius n.

    Notes
    -----
    Per origin, the metric search and the least-angle search of :func:`segment_centrality`,
    but a state with a single incoming step (the inside of a polyline, in vertex mode most
    states) is settled as soon as its one predecessor is, without the heap: its distance is
    then final. A distance is the least float sum over paths either way, so the answers are
    unchanged. O(S · (T_r + J_r log J_r)) for S segments, T_r transitions inside a catchment
    and J_r of its states with several incoming steps; numba-parallel over origins.
    """
    n_seg = len(sm.length)
    if n_seg == 0:
        return np.zeros(0), np.zeros(0)
    indeg = np.bincount(sm.to, minlength=2 * n_seg).astype(np.int64)
    n_chunks = max(1, min(n_seg, numba.get_num_threads() * 8))
    nc, td = _closeness_kernel(
        sm.ptr, sm.to, sm.angle_cost, sm.metric_cost, indeg, float(radius), n_chunks
    )
    return nc, td / ANGLE_SCALE


def _radii(radii: Sequence[float | str]) -> tuple[list[str], np.ndarray]:
    labels, values = [], []
    for r in radii:
        if isinstance(r, str):
            if r.lower() != "n":
                raise ValueError(f"radius must be a number of metres or 'n', not {r!r}")
            labels.append("n")
            values.append(np.inf)
        else:
            r = float(r)
            if not r > 0:
                raise ValueError(f"radius must be positive, not {r!r}")
            labels.append(f"{r:g}")
            values.append(r)
    return labels, np.asarray(values, dtype=np.float64)


def _work_zero_rank(ptr, to, cost, n):
    # O(states + transitions); interpreted: about 1 µs each
    return ptr.size + to.size


def _work_kernel(ptr, to, *_):
    # states × transitions bounds the searches of all origins; interpreted: about 7 µs a unit
    return (ptr.size - 1) * to.size


@tiered(_work_zero_rank, 20_000)
@numba.njit(cache=True)
def _zero_rank(ptr, to, cost, n):
    """Topological rank of states in the graph of zero-cost steps (Kahn); others keep order."""
    indeg = np.zeros(n, np.int64)
    for s in range(n):
        for k in range(ptr[s], ptr[s + 1]):
            if cost[k] == 0:
                indeg[to[k]] += 1
    queue = np.empty(n, np.int64)
    head = 0
    tail = 0
    for s in range(n):
        if indeg[s] == 0:
            queue[tail] = s
            tail += 1
    rank = np.full(n, -1, np.int64)
    r = 0
    while head < tail:
        s = queue[head]
        head += 1
        rank[s] = r
        r += 1
        for k in range(ptr[s], ptr[s + 1]):
            if cost[k] == 0:
                w = to[k]
                indeg[w] -= 1
                if indeg[w] == 0:
                    queue[tail] = w
                    tail += 1
    for s in range(n):  # a zero-cost cycle (degenerate geometry): rank arbitrarily
        if rank[s] < 0:
            rank[s] = r
            r += 1
    return rank


@numba.njit(cache=True, inline="always")
def _push(hk, hv, size, key, val):
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


@numba.njit(cache=True, inline="always")
def _pop(hk, hv, size):
    key = hk[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return key, val, size


@tiered(_work_kernel, 12_000)  # small layouts (the demo estate: 8,540) run interpreted
@numba.njit(cache=True, parallel=True)
def _kernel(ptr, to, acost, mcost, length, zrank, radii, do_choice, n_chunks):
    n_seg = length.shape[0]
    n_st = 2 * n_seg
    n_r = radii.shape[0]
    nc = np.zeros((n_r, n_seg))
    td = np.zeros((n_r, n_seg))
    reach = np.zeros((n_r, n_seg))
    ch_acc = np.zeros((n_chunks, n_r, n_seg))
    rmax = 0.0
    for k in range(n_r):
        if np.isfinite(radii[k]) and radii[k] > rmax:
            rmax = radii[k]
    has_finite = rmax > 0.0
    n_tr = ptr[n_st]
    big = np.iinfo(np.int64).max
    for c in numba.prange(n_chunks):
        hk = np.empty(n_tr + 4, np.float64)
        hv = np.empty(n_tr + 4, np.int64)
        mdist = np.full(n_st, np.inf)
        dm = np.full(n_seg, np.inf)
        adist = np.full(n_st, big, np.int64)
        sigma = np.zeros(n_st)
        g = np.zeros(n_st)
        wgt = np.zeros(n_st)
        settled = np.zeros(n_st, np.bool_)
        order = np.empty(n_st, np.int64)
        mtouched = np.empty(n_st, np.int64)
        segbest = np.full(n_seg, big, np.int64)
        segsig = np.zeros(n_seg)
        for src in range(c, n_seg, n_chunks):
            # ---- metric catchment (midpoint distances), bounded by the largest finite radius
            n_mt = 0
            if has_finite:
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    mdist[s0] = 0.0
                    mtouched[n_mt] = s0
                    n_mt += 1
                    size = _push(hk, hv, size, 0.0, s0)
                while size > 0:
                    d, s, size = _pop(hk, hv, size)
                    if settled[s] or d > mdist[s]:
                        continue
                    settled[s] = True
                    sg = s >> 1
                    if d < dm[sg]:
                        dm[sg] = d
                    for k in range(ptr[s], ptr[s + 1]):
                        w = to[k]
                        nd = d + mcost[k]
                        if nd <= rmax and nd < mdist[w]:
                            if mdist[w] == np.inf:
                                mtouched[n_mt] = w
                                n_mt += 1
                            mdist[w] = nd
                            size = _push(hk, hv, size, nd, w)
                for q in range(n_mt):
                    settled[mtouched[q]] = False
            for r in range(n_r):
                rad = radii[r]
                inf_r = not np.isfinite(rad)
                # ---- least-angle search inside the catchment, with path counts
                n_ord = 0
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    adist[s0] = 0
                    sigma[s0] = 1.0
                    size = _push(hk, hv, size, float(zrank[s0]), s0)
                while size > 0:
                    key, s, size = _pop(hk, hv, size)
                    if settled[s]:
                        continue
                    settled[s] = True
                    order[n_ord] = s
                    n_ord += 1
                    ds = adist[s]
                    for k in range(ptr[s], ptr[s + 1]):
                        w = to[k]
                        if not inf_r and not (dm[w >> 1] <= rad):
                            continue
                        nd = ds + acost[k]
                        if nd < adist[w]:
                            adist[w] = nd
                            sigma[w] = sigma[s]
                            size = _push(hk, hv, size, float(nd) * n_st + zrank[w], w)
                        elif nd == adist[w] and not settled[w]:
                            sigma[w] += sigma[s]
                # ---- closeness and reach per segment (best of its two states)
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    if adist[s] < segbest[sg]:
                        segbest[sg] = adist[s]
                        segsig[sg] = sigma[s]
                    elif adist[s] == segbest[sg]:
                        segsig[sg] += sigma[s]
                cnt = 0.0
                tot = 0.0
                rch = 0.0
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    if segbest[sg] >= 0 and adist[s] == segbest[sg]:
                        if (s & 1) == 0 or adist[s - 1] != adist[s] or not settled[s - 1]:
                            # count each segment once (its first best state)
                            cnt += 1.0
                            tot += segbest[sg]
                            rch += length[sg]
                        if sg != src:
                            wgt[s] = 1.0 / segsig[sg]
                nc[r, src] = cnt
                td[r, src] = tot
                reach[r, src] = rch
                # ---- Brandes accumulation over the least-angle DAG
                if do_choice:
                    for q in range(n_ord - 1, -1, -1):
                        s = order[q]
                        acc = wgt[s]
                        ds = adist[s]
                        for k in range(ptr[s], ptr[s + 1]):
                            w = to[k]
                            if settled[w] and adist[w] == ds + acost[k]:
                                if inf_r or dm[w >> 1] <= rad:
                                    acc += g[w]
                        g[s] = acc
                        sg = s >> 1
                        if sg != src:
                            ch_acc[c, r, sg] += sigma[s] * (acc - wgt[s])
                # ---- reset the touched states
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    settled[s] = False
                    adist[s] = big
                    sigma[s] = 0.0
                    g[s] = 0.0
                    wgt[s] = 0.0
                    segbest[sg] = big
                    segsig[sg] = 0.0
            for q in range(n_mt):
                s = mtouched[q]
                mdist[s] = np.inf
                dm[s >> 1] = np.inf
    ch = np.zeros((n_r, n_seg))
    for c in range(n_chunks):
        ch += ch_acc[c]
    return nc, td, ch, reach


@numba.njit(cache=True, inline="always")
def _push4(hk, hv, size, key, val):
    """Push onto a 4-ary min-heap (keys ``hk``, values ``hv``); returns the new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = val
    return size + 1


@numba.njit(cache=True, inline="always")
def _pop4(hk, hv, size):
    """Pop the least key of a 4-ary min-heap: (key, value, new size)."""
    key = hk[0]
    val = hv[0]
    size -= 1
    lk = hk[size]
    lv = hv[size]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        mk = hk[c]
        for j in range(c + 1, min(c + 4, size)):
            if hk[j] < mk:
                mk = hk[j]
                m = j
        if lk <= mk:
            break
        hk[i] = mk
        hv[i] = hv[m]
        i = m
    hk[i] = lk
    hv[i] = lv
    return key, val, size


@tiered(_work_kernel, 12_000)
@numba.njit(cache=True, parallel=True)
def _closeness_kernel(ptr, to, acost, mcost, indeg, rad, n_chunks):
    n_st = ptr.shape[0] - 1
    n_seg = n_st // 2
    nc = np.zeros(n_seg)
    td = np.zeros(n_seg)
    finite = np.isfinite(rad)
    n_tr = ptr[n_st]
    big = np.iinfo(np.int64).max
    for c in numba.prange(n_chunks):
        hk = np.empty(n_tr + 4, np.float64)
        hv = np.empty(n_tr + 4, np.int64)
        stack = np.empty(n_st, np.int64)
        mdist = np.full(n_st, np.inf)
        dm = np.full(n_seg, np.inf)
        adist = np.full(n_st, big, np.int64)
        settled = np.zeros(n_st, np.bool_)
        order = np.empty(n_st, np.int64)
        mtouched = np.empty(n_st, np.int64)
        segbest = np.full(n_seg, big, np.int64)
        for src in range(c, n_seg, n_chunks):
            # ---- metric catchment (midpoint distances), bounded by the radius
            n_mt = 0
            if finite:
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    mdist[s0] = 0.0
                    mtouched[n_mt] = s0
                    n_mt += 1
                    size = _push4(hk, hv, size, 0.0, s0)
                while size > 0:
                    d, s, size = _pop4(hk, hv, size)
                    if settled[s] or d > mdist[s]:
                        continue
                    settled[s] = True
                    stack[0] = s
                    top = 1
                    while top > 0:
                        top -= 1
                        u = stack[top]
                        du = mdist[u]
                        sg = u >> 1
                        if du < dm[sg]:
                            dm[sg] = du
                        for k in range(ptr[u], ptr[u + 1]):
                            w = to[k]
                            nd = du + mcost[k]
                            if nd <= rad and nd < mdist[w]:
                                if mdist[w] == np.inf:
                                    mtouched[n_mt] = w
                                    n_mt += 1
                                mdist[w] = nd
                                if indeg[w] == 1:  # u is its only way in: final now
                                    settled[w] = True
                                    stack[top] = w
                                    top += 1
                                else:
                                    size = _push4(hk, hv, size, nd, w)
                for q in range(n_mt):
                    settled[mtouched[q]] = False
            # ---- least-angle search inside the catchment
            n_ord = 0
            size = 0
            for e in range(2):
                s0 = 2 * src + e
                adist[s0] = 0
                size = _push4(hk, hv, size, 0.0, s0)
            while size > 0:
                key, s, size = _pop4(hk, hv, size)
                if settled[s] or key > adist[s]:
                    continue
                settled[s] = True
                stack[0] = s
                top = 1
                while top > 0:
                    top -= 1
                    u = stack[top]
                    order[n_ord] = u
                    n_ord += 1
                    du = adist[u]
                    for k in range(ptr[u], ptr[u + 1]):
                        w = to[k]
                        if finite and not (dm[w >> 1] <= rad):
                            continue
                        nd = du + acost[k]
                        if nd < adist[w]:
                            adist[w] = nd
                            if indeg[w] == 1:
                                settled[w] = True
                                stack[top] = w
                                top += 1
                            else:
                                size = _push4(hk, hv, size, float(nd), w)
            # ---- closeness per segment (best of its two states)
            cnt = 0
            tot = 0
            for q in range(n_ord):
                s = order[q]
                sg = s >> 1
                if segbest[sg] == big:
                    cnt += 1
                    segbest[sg] = adist[s]
                elif adist[s] < segbest[sg]:
                    segbest[sg] = adist[s]
            for q in range(n_ord):
                s = order[q]
                sg = s >> 1
                if segbest[sg] != big:
                    tot += segbest[sg]
                    segbest[sg] = big
                settled[s] = False
                adist[s] = big
            nc[src] = cnt
            td[src] = tot
            for q in range(n_mt):
                s = mtouched[q]
                mdist[s] = np.inf
                dm[s >> 1] = np.inf
    return nc, td
