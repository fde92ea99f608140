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

from safespace.analyses._kern_angular import _closeness_kernel, _kernel, _zero_rank
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
