"""Travel-time fields from police premises (and emergency phones) on walk and drive networks.

Snapping
    Every origin (a premises' access point) and destination (a building entrance, a route
    sample) is snapped to the **nearest edge** of the network, at the projection of the point
    on that edge's geometry, never to the nearest node. The edge is split there: the cost from
    the edge's ``u`` end to the snapped point is ``cost_e × s / L`` where ``s`` is the distance
    along the geometry and ``L`` the geometry's length (and the rest to ``v``). Two points on
    the same edge are joined along it directly. The straight leg from the point to its snapped
    position (``access_m``) is walked, at the walking speed, in both modes.

Cost
    Walk mode: metres, time = metres / ``walk_speed_mps``. Drive mode: the drive network's
    ``travel_time`` (from ``maxspeed`` or the OSRM highway-type speeds, see
    :mod:`safespace.analyses.network`), plus the access legs at walking speed; directed, from
    the premises to the destination (the response direction); the distance reported is the
    length of the fastest route.

Kernel
    The split graph is one ``scipy.sparse`` CSR matrix: the network's edges (parallel edges
    reduced to the cheapest), each snapped edge replaced by its chain of pieces, plus one
    private node per origin joined to its snapped point by an edge of cost ``access + 1``
    (the constant 1 keeps zero-cost legs stored; it is subtracted again). One multi-source
    Dijkstra (``scipy.sparse.csgraph.dijkstra(indices=origins, min_only=True)``) gives every
    node's cost and its nearest origin; the distance along the chosen route is summed from the
    predecessor tree by pointer jumping. Cost O((V + P) log(V + P) + E) for V nodes, E edges
    and P snapped points, plus about O(P · k) for snapping: a numba ring search over a uniform
    grid of the edges' straight segments, k the segments near a point (points and building
    outlines alike; ties between segments at different places are settled by shapely's
    ``STRtree.query_nearest``, as before the kernel, so results do not depend on it).

Unreachable destinations (no route from any origin, or no origin at all) get ``NaN`` time and
distance and ``reachable = False``; no output ever holds an infinite number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numba
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from safespace._classify import DWELLINGS
from safespace._geom import inner_points
from safespace.analyses.network import WALK_SPEED_MPS
from safespace.errors import InputError

#: Residential ``building=*`` values counted as dwellings: the layout's one vocabulary
#: (``_classify.DWELLINGS``; this list once had 8 of its 13 values, so PA001 counted homes
#: differently from SL006, SL008 and PM005).
DWELLING_VALUES = DWELLINGS
_OFFSET = 1.0  # added to origin legs so that a zero-length leg is still a stored edge
_MIN_PIECE = 1e-12  # scipy would drop an explicit zero weight
_TIE_M = 1e-6  # segments this close in distance tie (beyond the kernels' rounding)

__all__ = [
    "AccessField",
    "DWELLING_VALUES",
    "Router",
    "WALK_SPEED_MPS",
    "access_field",
    "building_targets",
    "coverage",
    "dwelling_mask",
    "homes",
    "police_isochrones",
    "police_travel_times",
    "premises_points",
    "route_samples",
]


# --------------------------------------------------------------------------------------------
# premises
# --------------------------------------------------------------------------------------------


def _load_extra(extra: Any, layout: Any) -> gpd.GeoDataFrame:
    """Police premises given outside the layout: a police layer frame or a file path."""
    if isinstance(extra, str | Path):
        from safespace.layout import load

        return load(extra, crs=layout.crs).police
    if isinstance(extra, gpd.GeoDataFrame):
        frame = extra
        if frame.crs is not None and layout.crs is not None and not frame.crs.equals(layout.crs):
            frame = frame.to_crs(layout.crs)
        return frame
    raise InputError(f"extra_police must be a GeoDataFrame or a path, not {type(extra).__name__}")


def premises_points(
    layout: Any,
    which: str = "police",
    *,
    extra_police: Any = None,
) -> gpd.GeoDataFrame:
    """The points travel is measured from, one row per premises.

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`.
    which
        ``"police"`` every ``amenity=police`` object; ``"public"`` only the public-facing ones
        (column ``public_facing``, see ``docs/police-access.md``); ``"phones"`` the
        ``emergency=phone`` points; ``"public+phones"`` both.
    extra_police
        Premises outside the layout: a GeoDataFrame shaped like ``layout.police`` (rows
        without ``public_facing`` count as public-facing; without ``access_point`` the
        geometry's representative point is used) or a path read with
        ``safespace.load(path).police``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``fid``, ``kind`` (``police``/``phone``), ``origin``, ``public_facing``,
        ``name``; geometry the access point.
    """
    if which not in ("police", "public", "phones", "public+phones"):
        raise ValueError(f"which must be police, public, phones or public+phones, not {which!r}")
    parts = []
    police = [layout.police]
    if extra_police is not None:
        police.append(_load_extra(extra_police, layout))
    if which in ("police", "public", "public+phones"):
        for i, frame in enumerate(police):
            if frame is None or frame.empty:
                continue
            pts = (
                frame["access_point"].values
                if "access_point" in frame.columns
                else inner_points(frame.geometry.values)
            )
            pts = np.asarray(pts, dtype=object)
            missing = np.array([p is None or shapely.is_empty(p) for p in pts], dtype=bool)
            if missing.any():
                pts[missing] = inner_points(frame.geometry.values[missing])
            public = (
                frame["public_facing"].fillna(True).astype(bool).to_numpy()
                if "public_facing" in frame.columns
                else np.ones(len(frame), dtype=bool)
            )
            parts.append(
                pd.DataFrame(
                    {
                        "fid": frame["fid"].astype(str).to_numpy()
                        if "fid" in frame.columns
                        else [f"police/{j}" for j in range(len(frame))],
                        "kind": "police",
                        "origin": frame["origin"].to_numpy()
                        if "origin" in frame.columns
                        else ("context" if i else "proposal"),
                        "public_facing": public,
                        "name": frame["name"].to_numpy() if "name" in frame.columns else None,
                        "geometry": pts,
                    }
                )
            )
    if which == "public" or which == "public+phones":
        parts = [p[p["public_facing"]] for p in parts]
    if which in ("phones", "public+phones") and not layout.emergency_phones.empty:
        ph = layout.emergency_phones
        parts.append(
            pd.DataFrame(
                {
                    "fid": ph["fid"].astype(str).to_numpy(),
                    "kind": "phone",
                    "origin": ph["origin"].to_numpy(),
                    "public_facing": True,
                    "name": ph["name"].to_numpy(),
                    "geometry": inner_points(ph.geometry.values),
                }
            )
        )
    cols = ["fid", "kind", "origin", "public_facing", "name", "geometry"]
    parts = [p for p in parts if len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return gpd.GeoDataFrame(frame[cols], geometry="geometry", crs=layout.crs)


# --------------------------------------------------------------------------------------------
# the snapping kernels: a uniform grid over the network's straight segments
# --------------------------------------------------------------------------------------------


@dataclass
class SegmentGrid:
    """Straight segments bucketed in a uniform grid of square cells (CSR: cell -> segments)."""

    a: np.ndarray  # (S, 2) segment starts
    b: np.ndarray  # (S, 2) segment ends
    x0: float
    y0: float
    h: float  # cell side
    nx: int
    ny: int
    start: np.ndarray  # (nx * ny + 1,) CSR offsets
    items: np.ndarray  # segment ids

    @property
    def params(self) -> np.ndarray:
        """``[x0, y0, h, nx, ny]`` for the kernels."""
        return np.array([self.x0, self.y0, self.h, self.nx, self.ny], dtype=np.float64)


def segment_grid(a: np.ndarray, b: np.ndarray) -> SegmentGrid:
    """Bucket segments ``a[i]``–``b[i]`` in a uniform grid of about one segment per cell.

    Notes
    -----
    O(S + L / h) for S segments of total length L and cell side h: a segment is cut into
    pieces no longer than h, and each piece registered in the (at most 2 × 2) cells its box
    overlaps.
    """
    a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 2)
    if len(a) == 0:
        z = np.zeros(1, np.int64)
        return SegmentGrid(a, b, 0.0, 0.0, 1.0, 1, 1, np.zeros(2, np.int64), z[:0])
    lo = np.minimum(a.min(axis=0), b.min(axis=0))
    hi = np.maximum(a.max(axis=0), b.max(axis=0))
    w, hgt = np.maximum(hi - lo, 1e-9)
    # about one segment per cell, never more than 4 million cells; and never fewer than one
    # segment per cell along the long side, so that a network drawn along one axis (one
    # straight street: zero width) does not get cells of a fraction of a millimetre, through
    # which a ring search from a point metres away would crawl one cell at a time
    h = max(
        np.sqrt(w * hgt / len(a)),
        np.sqrt(w * hgt / 4e6),
        max(w, hgt) / len(a),
        max(w, hgt) * 1e-6,
        1e-6,
    )
    nx_, ny_ = int(w // h) + 1, int(hgt // h) + 1
    start, items = _grid_build(a[:, 0], a[:, 1], b[:, 0], b[:, 1], lo[0], lo[1], h, nx_, ny_)
    return SegmentGrid(a, b, float(lo[0]), float(lo[1]), float(h), nx_, ny_, start, items)


@numba.njit(cache=True)
def _cell(v, v0, h, n):
    c = int(np.floor((v - v0) / h))
    return min(max(c, 0), n - 1)


@numba.njit(cache=True)
def _grid_build(ax, ay, bx, by, x0, y0, h, nx, ny):
    n_cell = nx * ny
    start = np.zeros(n_cell + 1, np.int64)
    fill = np.zeros(n_cell, np.int64)
    items = np.zeros(0, np.int64)
    pad = h * 1e-9  # a rounding error must not keep a segment out of a cell it touches
    for step in range(2):
        last = np.full(n_cell, -1, np.int64)
        if step == 1:
            for c in range(n_cell):
                start[c + 1] += start[c]
                fill[c] = start[c]
            items = np.empty(start[n_cell], np.int64)
        for s in range(len(ax)):
            dx = bx[s] - ax[s]
            dy = by[s] - ay[s]
            m = max(1, int(np.ceil(np.sqrt(dx * dx + dy * dy) / h)))
            for k in range(m):
                t0 = k / m
                t1 = (k + 1) / m
                xa = ax[s] + t0 * dx
                xb = ax[s] + t1 * dx
                ya = ay[s] + t0 * dy
                yb = ay[s] + t1 * dy
                i0 = _cell(min(xa, xb) - pad, x0, h, nx)
                i1 = _cell(max(xa, xb) + pad, x0, h, nx)
                j0 = _cell(min(ya, yb) - pad, y0, h, ny)
                j1 = _cell(max(ya, yb) + pad, y0, h, ny)
                for j in range(j0, j1 + 1):
                    for i in range(i0, i1 + 1):
                        c = j * nx + i
                        if last[c] == s:
                            continue
                        last[c] = s
                        if step == 0:
                            start[c + 1] += 1
                        else:
                            items[fill[c]] = s
                            fill[c] += 1
    return start, items


@numba.njit(cache=True)
def _point_segment(px, py, ax, ay, bx, by):
    """Squared distance from a point to a segment, and the fraction of the nearest point."""
    dx = bx - ax
    dy = by - ay
    ll = dx * dx + dy * dy
    t = 0.0
    if ll > 0.0:
        t = ((px - ax) * dx + (py - ay) * dy) / ll
        if t <= 0.0:
            t = 0.0
        elif t >= 1.0:
            t = 1.0
    qx = ax + t * dx if 0.0 < t < 1.0 else (ax if t == 0.0 else bx)
    qy = ay + t * dy if 0.0 < t < 1.0 else (ay if t == 0.0 else by)
    return (px - qx) * (px - qx) + (py - qy) * (py - qy), t


@numba.njit(cache=True)
def _orient(ax, ay, bx, by, cx, cy):
    v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
    return 1 if v > 0.0 else (-1 if v < 0.0 else 0)


@numba.njit(cache=True)
def _segment_segment(ax, ay, bx, by, cx, cy, dx, dy):
    """Squared distance between segments ab and cd (0 when they cross), and the point of ab
    nearest cd (the crossing, else the first at the least distance of the projections of c
    and d onto ab and the ends a and b)."""
    o1 = _orient(cx, cy, dx, dy, ax, ay)
    o2 = _orient(cx, cy, dx, dy, bx, by)
    o3 = _orient(ax, ay, bx, by, cx, cy)
    o4 = _orient(ax, ay, bx, by, dx, dy)
    if o1 * o2 < 0 and o3 * o4 < 0:
        den = (bx - ax) * (dy - cy) - (by - ay) * (dx - cx)
        ta = ((cx - ax) * (dy - cy) - (cy - ay) * (dx - cx)) / den
        return 0.0, ax + ta * (bx - ax), ay + ta * (by - ay)
    # the order of GEOS' LineSegment::closestPoints, so that equal distances pick alike
    d, t = _point_segment(cx, cy, ax, ay, bx, by)
    px, py = _at(ax, ay, bx, by, t)
    e, t = _point_segment(dx, dy, ax, ay, bx, by)
    if e < d:
        d = e
        px, py = _at(ax, ay, bx, by, t)
    e = _point_segment(ax, ay, cx, cy, dx, dy)[0]
    if e < d:
        d, px, py = e, ax, ay
    e = _point_segment(bx, by, cx, cy, dx, dy)[0]
    if e < d:
        d, px, py = e, bx, by
    return d, px, py


@numba.njit(cache=True)
def _at(ax, ay, bx, by, t):
    """The point at fraction t of segment ab, its ends exactly at 0 and 1."""
    if t <= 0.0:
        return ax, ay
    if t >= 1.0:
        return bx, by
    return ax + t * (bx - ax), ay + t * (by - ay)


@numba.njit(cache=True)
def _unvisited_bound(x0, x1, y0, y1, i0, i1, j0, j1, gx, gy, h, nx, ny):
    """Lower bound on the distance from the box [x0, x1] × [y0, y1] to any grid cell outside
    the cell block [i0, i1] × [j0, j1] (inf when the block covers the grid)."""
    lb = np.inf
    if i0 > 0:
        lb = min(lb, max(0.0, x0 - (gx + i0 * h)))
    if i1 < nx - 1:
        lb = min(lb, max(0.0, gx + (i1 + 1) * h - x1))
    if j0 > 0:
        lb = min(lb, max(0.0, y0 - (gy + j0 * h)))
    if j1 < ny - 1:
        lb = min(lb, max(0.0, gy + (j1 + 1) * h - y1))
    return lb


@numba.njit(cache=True, parallel=True)
def _grid_nearest(qa, qb, qstart, g_a, g_b, start, items, grid, seg_key, tol):
    """Nearest grid segment to each query: a polyline of segments ``qa[k]``–``qb[k]`` for k in
    ``qstart[q]:qstart[q + 1]`` (a point is one zero-length segment).

    Cells are searched in rings around the query's box until the distance to any unvisited
    cell exceeds the best distance by more than ``tol``, so that every segment within ``tol``
    of the best is seen; ties go to the lowest segment id. A candidate's *place* is, for a
    point, where it snaps (``seg_key`` rows: edge, along-offset, length, u, v; a network node
    when at an edge end) and, for a polyline, its point nearest the segment.

    Returns
    -------
    segment, squared distance, fraction along the segment (point queries), the squared
    distance of the nearest candidate at another place (inf when none: when that is within
    ``tol`` of the best, the choice between them is a tie), and (polylines) the query's point
    nearest the network.
    """
    gx, gy, h = grid[0], grid[1], grid[2]
    nx, ny = int(grid[3]), int(grid[4])
    n = len(qstart) - 1
    seg = np.full(n, -1, np.int64)
    dist = np.full(n, np.inf)
    frac = np.zeros(n)
    other = np.full(n, np.inf)
    near = np.full((n, 2), np.nan)
    for q in numba.prange(n):  # queries are independent
        k0 = qstart[q]
        k1 = qstart[q + 1]
        if k1 == k0:
            continue
        x0 = min(qa[k0, 0], qb[k0, 0])
        x1 = max(qa[k0, 0], qb[k0, 0])
        y0 = min(qa[k0, 1], qb[k0, 1])
        y1 = max(qa[k0, 1], qb[k0, 1])
        for k in range(k0 + 1, k1):
            x0 = min(x0, qa[k, 0], qb[k, 0])
            x1 = max(x1, qa[k, 0], qb[k, 0])
            y0 = min(y0, qa[k, 1], qb[k, 1])
            y1 = max(y1, qa[k, 1], qb[k, 1])
        point = k1 - k0 == 1 and qa[k0, 0] == qb[k0, 0] and qa[k0, 1] == qb[k0, 1]
        ci0 = _cell(x0, gx, h, nx)
        ci1 = _cell(x1, gx, h, nx)
        cj0 = _cell(y0, gy, h, ny)
        cj1 = _cell(y1, gy, h, ny)
        best = np.inf
        bound = np.inf  # (sqrt(best) + tol)²: candidates beyond it cannot tie
        second = np.inf
        bs = -1
        bt = 0.0
        b0 = -1.0  # the best's place: (node or -1, x or along, y or edge)
        b1 = 0.0
        b2 = 0.0
        r = 0
        while True:
            i0, i1, j0, j1 = ci0 - r, ci1 + r, cj0 - r, cj1 + r
            for j in range(max(j0, 0), min(j1, ny - 1) + 1):
                # a ring's first and last rows in full, its inner rows at both ends only
                if r == 0 or j == j0 or j == j1:
                    ia, ib, stride = max(i0, 0), min(i1, nx - 1), 1
                else:
                    ia, ib, stride = i0, i1, i1 - i0
                for i in range(ia, ib + 1, stride):
                    if i < 0 or i >= nx:
                        continue
                    c = j * nx + i
                    for m in range(start[c], start[c + 1]):
                        s = items[m]
                        ax, ay, bx, by = g_a[s, 0], g_a[s, 1], g_b[s, 0], g_b[s, 1]
                        # box test first: most candidates are further than the best so far
                        gap_x = max(0.0, min(ax, bx) - x1, x0 - max(ax, bx))
                        gap_y = max(0.0, min(ay, by) - y1, y0 - max(ay, by))
                        if s == bs or gap_x * gap_x + gap_y * gap_y > bound:
                            continue
                        if point:
                            d, t = _point_segment(x0, y0, ax, ay, bx, by)
                            e = int(seg_key[s, 0])
                            along = seg_key[s, 1] + t * seg_key[s, 2]
                            glen = seg_key[s, 3]
                            f = along / glen if glen > 0 else 0.0
                            p0 = -1.0
                            if f <= 1e-12:
                                p0 = seg_key[s, 4]
                            elif f >= 1 - 1e-12:
                                p0 = seg_key[s, 5]
                            p1 = 0.0 if p0 >= 0 else along
                            p2 = 0.0 if p0 >= 0 else float(e)
                        else:
                            d = np.inf
                            t = 0.0
                            p0 = -1.0
                            p1 = 0.0
                            p2 = 0.0
                            for k in range(k0, k1):
                                e2, px, py = _segment_segment(
                                    qa[k, 0], qa[k, 1], qb[k, 0], qb[k, 1], ax, ay, bx, by
                                )
                                if e2 < d:
                                    d, p1, p2 = e2, px, py
                        same = p0 == b0 and abs(p1 - b1) <= tol and abs(p2 - b2) <= tol
                        if d < best or (d == best and s < bs):
                            if not same:
                                second = min(second, best)
                            best = d
                            bs = s
                            bt = t
                            b0, b1, b2 = p0, p1, p2
                            bound = (np.sqrt(best) + tol) ** 2
                        elif not same and d < second:
                            second = d
            lb = _unvisited_bound(x0, x1, y0, y1, i0, i1, j0, j1, gx, gy, h, nx, ny)
            if bound < lb * lb:
                break
            r += 1
        seg[q] = bs
        dist[q] = best
        frac[q] = bt
        other[q] = second
        if not point:
            near[q, 0] = b1
            near[q, 1] = b2
    return seg, dist, frac, other, near


# --------------------------------------------------------------------------------------------
# the router: a network as arrays, snapping and the multi-source kernel
# --------------------------------------------------------------------------------------------


def _outline_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Query segments (a, b) of every geometry's outline, grouped by geometry (CSR start).

    Any geometry type: polygon rings, lines, and points as zero-length segments.
    """
    n = len(geoms)
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    ptype = shapely.get_type_id(parts)
    # polygons with holes give their rings; a polygon without holes has the coordinates
    # of its exterior ring (the common case, and the fast one); lines and points stand
    # for themselves
    holed = np.flatnonzero((ptype == 3) & (shapely.get_num_interior_rings(parts) > 0))
    plain = np.setdiff1d(np.arange(len(parts)), holed)
    rings, ring_of = shapely.get_rings(parts[holed], return_index=True)
    lines = np.r_[rings, parts[plain]]
    part_idx = np.r_[holed[ring_of], plain]
    order = np.argsort(part_idx, kind="stable")  # the parts' order, rings in ring order
    lines, line_of = lines[order], part_of[part_idx[order]].astype(np.int64)
    xy, vert_of = shapely.get_coordinates(lines, return_index=True)
    same = np.r_[False, vert_of[1:] == vert_of[:-1]]
    k = np.flatnonzero(same)
    # a line's segments; a point (one vertex) is a zero-length segment
    lone = np.flatnonzero(~same & ~np.r_[same[1:], False])
    qa = np.r_[xy[k - 1], xy[lone]]
    qb = np.r_[xy[k], xy[lone]]
    owner = line_of[np.r_[vert_of[k], vert_of[lone]]]
    order = np.argsort(owner, kind="stable")
    qa, qb, owner = qa[order], qb[order], owner[order]
    qstart = np.searchsorted(owner, np.arange(n + 1)).astype(np.int64)
    return qa, qb, qstart


def _polygon_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_outline_segments` for (Multi)Polygons straight from their coordinates (no
    part or ring objects are made); None for other inputs.

    A geometry's coordinates are its rings one after another, each closed; a ring ends at
    the first later vertex equal to its first. A valid ring meets its start nowhere else;
    when the rings found do not match the rings counted, the general path is taken.
    """
    if len(geoms) == 0 or shapely.is_missing(geoms).any():
        return None
    kind = shapely.get_type_id(geoms)
    if not np.isin(kind, (3, 6)).all():
        return None
    polys = np.r_[geoms[kind == 3], shapely.get_parts(geoms[kind == 6])]
    polys = polys[~shapely.is_empty(polys)]
    rings = len(polys) + int(shapely.get_num_interior_rings(polys).sum())
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    k, closed = _ring_segment_ends(xy, owner.astype(np.int64))
    if closed != rings:  # a ring that meets its start twice (invalid): the general path
        return None
    qstart = np.searchsorted(owner[k], np.arange(len(geoms) + 1)).astype(np.int64)
    return xy[k - 1], xy[k], qstart


@numba.njit(cache=True)
def _ring_segment_ends(xy, owner):
    """Indices k such that (k − 1, k) is a ring segment (same geometry, same ring), and the
    number of rings closed (−1 when a geometry's coordinates end inside a ring). O(n)."""
    n = len(owner)
    out = np.empty(n, np.int64)
    m = 0
    closed = 0
    start = 0
    for k in range(1, n):
        if owner[k] != owner[k - 1] or start < 0:
            if start >= 0:
                return out[:0], -1  # a geometry ended inside a ring: not closed rings
            start = k  # a new geometry, or the previous vertex closed a ring
            continue
        out[m] = k
        m += 1
        if k - start >= 3 and xy[k, 0] == xy[start, 0] and xy[k, 1] == xy[start, 1]:
            start = -1
            closed += 1
    if n and start >= 0:
        return out[:0], -1
    return out[:m], closed


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


# --------------------------------------------------------------------------------------------
# destinations: buildings and route samples
# --------------------------------------------------------------------------------------------


def dwelling_mask(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, bool]:
    """Which buildings are dwellings by their ``building=*`` value alone, and whether any was.

    A dwelling has a ``building=*`` value in :data:`DWELLING_VALUES`. When no building has
    one, every building counts (second value False) — say so in any finding. The rules use
    :func:`homes`, the layout's one dwelling vocabulary, instead.
    """
    if buildings.empty:
        return np.zeros(0, dtype=bool), False
    col = buildings["building"] if "building" in buildings.columns else pd.Series([None])
    mask = col.astype(str).str.lower().isin(DWELLING_VALUES).to_numpy()
    if mask.any():
        return mask, True
    return np.ones(len(buildings), dtype=bool), False


def homes(layout: Any) -> np.ndarray:
    """Per row of ``layout.buildings``: is it a home? The layout's one dwelling vocabulary
    (:func:`safespace._classify.dwelling_mask`: tags, ``building:use``, an ``entrance=home``)
    when the buildings carry it, else :func:`dwelling_mask`."""
    b = layout.buildings
    if b.empty:
        return np.zeros(0, dtype=bool)
    if "dwelling" in b.columns:
        from safespace._classify import dwelling_mask as classified

        return np.asarray(classified(layout), dtype=bool)
    return dwelling_mask(b)[0]


def building_targets(layout: Any, router: Router) -> pd.DataFrame:
    """One or more destination points per building: its tagged entrances, else the point of
    its outline nearest the network.

    Returns
    -------
    pandas.DataFrame
        ``building`` (row index in ``layout.buildings``), ``entrance_fid`` (or None),
        ``point``.

    Notes
    -----
    O(B log E): one nearest-edge query for the buildings without entrances.
    """
    b = layout.buildings
    if b.empty:
        return pd.DataFrame({"building": np.zeros(0, np.int64), "entrance_fid": [], "point": []})
    ent = layout.entrances
    rows = []
    has_entrance = np.zeros(len(b), dtype=bool)
    if not ent.empty and "building_fid" in ent.columns:
        pos = pd.Series(np.arange(len(b)), index=b["fid"].astype(str))
        pos = pos[~pos.index.duplicated()]
        bf = ent["building_fid"]
        known = bf.notna().to_numpy() & bf.astype(str).isin(pos.index).to_numpy()
        e = ent[known]
        bi = pos.loc[e["building_fid"].astype(str)].to_numpy()
        has_entrance[bi] = True
        rows.append(
            pd.DataFrame(
                {
                    "building": bi,
                    "entrance_fid": e["fid"].to_numpy(),
                    "point": inner_points(e.geometry.values),
                }
            )
        )
    rest = np.flatnonzero(~has_entrance)
    if len(rest):
        polys = b.geometry.values[rest]
        ti, _, near = router.nearest_segments(polys)
        pts = np.empty(len(polys), dtype=object)
        found = ti >= 0
        pts[found] = shapely.points(near[found])
        if not found.all():
            pts[~found] = inner_points(polys[~found])
        rows.append(pd.DataFrame({"building": rest, "entrance_fid": None, "point": pts}))
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["building"], kind="stable").reset_index(drop=True)


def route_samples(lines: gpd.GeoDataFrame, spacing_m: float | None = 25.0) -> gpd.GeoDataFrame:
    """Sample points every ``spacing_m`` along lines: the midpoints of equal stretches.

    A line of length L gets n = ⌈L / spacing⌉ stretches of L / n metres each.

    Returns
    -------
    geopandas.GeoDataFrame
        ``route_fid``, ``route`` (row index), ``along_m`` (sample position), ``length_m``
        (stretch length), geometry the sample point.

    Notes
    -----
    O(N) vectorised interpolations for N samples.
    """
    if spacing_m is not None and spacing_m <= 0:
        raise ValueError("spacing_m must be positive")
    cols = {"route_fid": [], "route": np.zeros(0, np.int64), "along_m": [], "length_m": []}
    if spacing_m is None or lines is None or lines.empty:
        return gpd.GeoDataFrame(cols, geometry=[], crs=getattr(lines, "crs", None))
    geoms = lines.geometry.values
    length = shapely.length(geoms)
    ok = np.flatnonzero(length > 0)
    n = np.ceil(length[ok] / spacing_m - 1e-9).astype(np.int64).clip(min=1)
    row = np.repeat(ok, n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    each = np.repeat(length[ok] / n, n)
    along = (step + 0.5) * each
    pts = shapely.line_interpolate_point(geoms[row], along)
    fids = lines["fid"].astype(str).to_numpy() if "fid" in lines.columns else row.astype(str)
    return gpd.GeoDataFrame(
        {"route_fid": fids[row], "route": row, "along_m": along, "length_m": each},
        geometry=pts,
        crs=lines.crs,
    )


# --------------------------------------------------------------------------------------------
# the field: everything rules need, computed once
# --------------------------------------------------------------------------------------------


@dataclass
class AccessField:
    """Travel times from premises to every building and route sample, on one network.

    Attributes
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    premises
        The origins (:func:`premises_points`).
    buildings
        One row per building (see :func:`police_travel_times`).
    routes
        One row per route sample: ``route_fid``, ``along_m``, ``length_m``, ``premises_fid``,
        ``distance_m``, ``time_s``, ``reachable``.
    router, solution
        The network arrays and the split-graph solution (for isochrones).
    speed_mps
        The walking speed used.
    """

    mode: str
    premises: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    router: Router
    solution: Solution
    speed_mps: float


def _network(
    layout: Any,
    mode: str,
    graph: nx.MultiGraph | None,
    *,
    emergency: bool = False,
    pedestrian_speed_kmh: float | None = None,
) -> nx.MultiGraph:
    if graph is not None:
        return graph
    from safespace.analyses.network import drive_network, walk_network

    if mode == "walk":
        return walk_network(layout)
    if mode == "drive":
        return drive_network(layout, emergency=emergency, pedestrian_speed_kmh=pedestrian_speed_kmh)
    raise ValueError(f"mode must be 'walk' or 'drive', not {mode!r}")


def _premises(layout: Any, mode: str, premises: Any, extra_police: Any) -> gpd.GeoDataFrame:
    if premises is None:
        premises = "public" if mode == "walk" else "police"
    if isinstance(premises, str):
        return premises_points(layout, premises, extra_police=extra_police)
    if isinstance(premises, gpd.GeoDataFrame | gpd.GeoSeries):
        frame = (
            premises if isinstance(premises, gpd.GeoDataFrame) else premises.to_frame("geometry")
        )
        if frame.crs is not None and layout.crs is not None and not frame.crs.equals(layout.crs):
            frame = frame.to_crs(layout.crs)
        pts = inner_points(frame.geometry.values)
        fids = (
            frame["fid"].astype(str).to_numpy()
            if "fid" in frame.columns
            else np.array([f"premises/{i}" for i in range(len(frame))], dtype=object)
        )
        return gpd.GeoDataFrame(
            {"fid": fids, "kind": "police", "origin": "given", "public_facing": True, "name": None},
            geometry=pts,
            crs=layout.crs,
        )
    pts = shapely.points(np.asarray(premises, dtype=float).reshape(-1, 2))
    return gpd.GeoDataFrame(
        {
            "fid": [f"premises/{i}" for i in range(len(pts))],
            "kind": "police",
            "origin": "given",
            "public_facing": True,
            "name": None,
        },
        geometry=pts,
        crs=layout.crs,
    )


def _from_vehicle(
    graph: nx.MultiGraph,
    router: Router,
    sol: Solution,
    origins: Snap,
    points: np.ndarray,
    walk_speed_mps: float,
) -> dict[str, np.ndarray] | None:
    """Times to points via the nearest point of the network a vehicle reaches, then on foot.

    The reached network: every edge whose start node has a finite cost in ``sol`` (a
    directed edge can be driven from there to any point along it). Each point is snapped
    to it; time = cost at the edge's start + the cost along to the snapped point (the
    cheaper of the edge and its reverse twin) + the straight walk at ``walk_speed_mps``.

    Returns
    -------
    dict or None
        ``origin``, ``distance_m``, ``time_s``, ``reachable``, ``walk_m`` per point; None
        when no edge is reached.

    Notes
    -----
    O(E) to build the reached sub-network's arrays and O(P · k) to snap P points.
    """
    n = router.n_nodes
    cost = sol.cost[:n]
    if len(router.u) == 0:
        return None
    ok = np.isfinite(cost[router.u])
    if not ok.any():
        return None
    keys = list(graph.edges(keys=True))
    sub = graph.edge_subgraph([keys[e] for e in np.flatnonzero(ok)])
    r2 = Router(sub, router.weight)
    snap = r2.snap(points)
    e = snap.edge
    good = e >= 0
    e0 = np.where(good, e, 0)
    pos = {node: i for i, node in enumerate(router.nodes)}
    to_full = np.array([pos[node] for node in r2.nodes], dtype=np.int64)
    u = to_full[r2.u[e0]]
    v = to_full[r2.v[e0]]
    frac = snap.frac
    t = cost[u] + frac * r2.cost[e0]
    m = sol.length[u] + frac * r2.length[e0]
    org = sol.origin[u].copy()
    tw = r2.twin[e0] if len(r2.twin) else np.full(len(e0), -1)
    has = good & (tw >= 0)
    if has.any():
        tw0 = np.where(has, tw, 0)
        t_back = cost[v] + (1 - frac) * r2.cost[tw0]
        better = has & (t_back < t)
        t = np.where(better, t_back, t)
        m = np.where(better, sol.length[v] + (1 - frac) * r2.length[tw0], m)
        org = np.where(better, sol.origin[v], org)
    walk_m = np.where(good, snap.access_m, np.inf)
    reach = good & np.isfinite(t) & (org >= 0)
    o_leg = np.nan_to_num(origins.access_m, nan=0.0)
    o_leg = o_leg[np.maximum(org, 0)] if len(o_leg) else np.zeros(len(org))
    if router.weight == "length":
        time = (m + o_leg + walk_m) / walk_speed_mps
    else:
        time = t + walk_m / walk_speed_mps
    return {
        "origin": np.where(reach, org, -1),
        "distance_m": np.where(reach, m + o_leg + walk_m, np.nan),
        "time_s": np.where(reach, time, np.nan),
        "reachable": reach,
        "walk_m": walk_m,
    }


def access_field(
    layout: Any,
    mode: str = "walk",
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    route_spacing_m: float | None = 25.0,
    graph: nx.MultiGraph | None = None,
    emergency: bool = False,
    pedestrian_speed_kmh: float | None = None,
    walk_from_vehicle_m: float | None = None,
) -> AccessField:
    """Travel times from the nearest premises to every building and route sample.

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`.
    mode
        ``"walk"`` (walk network, undirected, metres / walking speed) or ``"drive"`` (drive
        network, directed from the premises, the network's ``travel_time``).
    premises
        ``None`` (walk: public-facing police premises; drive: every police premises), one of
        ``"police"``, ``"public"``, ``"phones"``, ``"public+phones"``, a GeoDataFrame /
        GeoSeries of premises, or an (n, 2) array of points in the layout's CRS.
    extra_police
        Premises outside the layout (GeoDataFrame or path), added to the layout's.
    walk_speed_mps
        Walking speed for walk routes and for the access legs in drive mode.
    route_spacing_m
        Spacing of the route samples along ``layout.foot_routes``.
    graph
        The network to use (default: built from the layout).
    emergency
        Drive mode: route on the emergency-vehicle network, which adds pedestrian streets
        (:func:`safespace.analyses.network.drive_network` with ``emergency=True``).
    pedestrian_speed_kmh
        Drive mode with ``emergency``: the speed on pedestrian ways (default
        :data:`safespace.analyses.network.EMERGENCY_PEDESTRIAN_SPEED_KMH`).
    walk_from_vehicle_m
        Drive mode: a destination whose nearest edge no vehicle can reach from the premises
        (a one-way street entering from beyond the data, a fragment of street cut off by the
        extract) is reached on foot, straight, from the nearest point of the network a
        vehicle does reach, when that point is within this distance (m); ``None`` or 0: such
        destinations stay unreachable. Column ``walk_from_vehicle_m`` gives that walk (NaN
        for every other destination).

    Returns
    -------
    AccessField

    Notes
    -----
    One multi-source Dijkstra over the split graph: O((V + P) log(V + P) + E), P the number of
    snapped points (premises, building entrances, route samples).
    """
    if walk_speed_mps <= 0:
        raise ValueError("walk_speed_mps must be positive")
    graph = _network(
        layout, mode, graph, emergency=emergency, pedestrian_speed_kmh=pedestrian_speed_kmh
    )
    router = Router(graph, "length" if mode == "walk" else "travel_time")
    prem = _premises(layout, mode, premises, extra_police)
    origins = router.snap(prem.geometry.values)
    bt = building_targets(layout, router)
    samples = route_samples(layout.foot_routes, route_spacing_m)
    n_bt = len(bt)
    pts = np.r_[
        np.asarray(bt["point"].to_numpy(), dtype=object),
        np.asarray(samples.geometry.values, dtype=object),
    ]
    tsnap = router.snap(pts)
    leg = np.nan_to_num(origins.access_m, nan=0.0)
    o_cost = leg if router.weight == "length" else leg / walk_speed_mps
    sol = router.solve(origins, o_cost, tsnap)
    res = router._at_targets(sol, origins, tsnap, walk_speed_mps)
    on_foot = np.full(len(pts), np.nan)
    if mode == "drive" and walk_from_vehicle_m and walk_from_vehicle_m > 0:
        miss = np.flatnonzero(~res["reachable"])
        if len(miss):
            got = _from_vehicle(graph, router, sol, origins, pts[miss], walk_speed_mps)
            if got is not None:
                ok = got["reachable"] & (got["walk_m"] <= float(walk_from_vehicle_m))
                for k in ("origin", "distance_m", "time_s", "reachable"):
                    res[k][miss[ok]] = got[k][ok]
                on_foot[miss[ok]] = got["walk_m"][ok]
    pfid = prem["fid"].to_numpy(dtype=object)

    def fid_of(org: np.ndarray) -> np.ndarray:
        out = np.full(len(org), None, dtype=object)
        out[org >= 0] = pfid[org[org >= 0]] if len(pfid) else None
        return out

    # buildings: best entrance per building
    bres = {k: v[:n_bt] for k, v in res.items()}
    key = np.where(bres["reachable"], bres["time_s"], np.inf)
    order = np.lexsort((key, bt["building"].to_numpy()))
    first = np.r_[True, np.diff(bt["building"].to_numpy()[order]) != 0] if n_bt else order
    best = order[first]
    b = layout.buildings
    dwell = homes(layout)
    n_b = len(b)
    bi = bt["building"].to_numpy()[best] if n_bt else np.zeros(0, np.int64)
    entrance_pt = np.full(n_b, None, dtype=object)
    entrance_fid = np.full(n_b, None, dtype=object)
    entrance_pt[bi] = bt["point"].to_numpy()[best]
    efid = bt["entrance_fid"].astype(object)
    entrance_fid[bi] = efid.where(efid.notna(), None).to_numpy()[best]
    cols = {}
    for k in ("distance_m", "time_s"):
        arr = np.full(n_b, np.nan)
        arr[bi] = bres[k][best]
        cols[k] = arr
    org = np.full(n_b, -1, dtype=np.int64)
    org[bi] = bres["origin"][best]
    reach = np.zeros(n_b, dtype=bool)
    reach[bi] = bres["reachable"][best]
    access = np.full(n_b, np.nan)
    access[bi] = tsnap.access_m[:n_bt][best]
    walked = np.full(n_b, np.nan)
    walked[bi] = on_foot[:n_bt][best]
    buildings = gpd.GeoDataFrame(
        {
            "building_fid": b["fid"].to_numpy() if n_b else np.zeros(0, object),
            "building": b["building"].to_numpy() if n_b else np.zeros(0, object),
            "origin": b["origin"].to_numpy() if n_b else np.zeros(0, object),
            "dwelling": dwell,
            "entrance_fid": pd.Series(entrance_fid, dtype=object),
            "entrance": gpd.GeoSeries(entrance_pt, crs=layout.crs),
            "premises_fid": pd.Series(fid_of(org), dtype=object),
            "access_m": access,
            "distance_m": cols["distance_m"],
            "time_s": cols["time_s"],
            "reachable": reach,
            "walk_from_vehicle_m": walked,
        },
        geometry=b.geometry.values if n_b else [],
        crs=layout.crs,
    )
    rres = {k: v[n_bt:] for k, v in res.items()}
    routes = samples.assign(
        premises_fid=pd.Series(fid_of(rres["origin"]), index=samples.index, dtype=object),
        distance_m=rres["distance_m"],
        time_s=rres["time_s"],
        reachable=rres["reachable"],
        walk_from_vehicle_m=on_foot[n_bt:],
    )
    return AccessField(mode, prem, buildings, routes, router, sol, float(walk_speed_mps))


def police_travel_times(
    layout: Any,
    mode: str = "walk",
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    graph: nx.MultiGraph | None = None,
) -> gpd.GeoDataFrame:
    """Nearest premises, distance and travel time for every building.

    Parameters
    ----------
    layout, mode, premises, extra_police, walk_speed_mps, graph
        As for :func:`access_field`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building of ``layout.buildings`` (same order): ``building_fid``,
        ``building``, ``origin``, ``dwelling`` (bool), ``entrance_fid`` (the tagged entrance
        used, or None when the outline point nearest the network was used), ``entrance``
        (that point), ``premises_fid`` (nearest premises, None when unreachable),
        ``access_m`` (entrance to network), ``distance_m``, ``time_s`` (NaN when
        unreachable), ``reachable``; geometry the building.

    Notes
    -----
    O((V + P) log(V + P) + E): see :func:`access_field`.
    """
    return access_field(
        layout,
        mode,
        premises=premises,
        extra_police=extra_police,
        walk_speed_mps=walk_speed_mps,
        graph=graph,
        route_spacing_m=None,
    ).buildings


# --------------------------------------------------------------------------------------------
# isochrones
# --------------------------------------------------------------------------------------------


def _substrings(geoms: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Vectorised line substrings between distances ``start`` < ``end`` along each line."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    seg = np.zeros(len(coords))
    same = np.r_[False, idx[1:] == idx[:-1]]
    seg[same] = np.hypot(*(coords[same] - coords[np.flatnonzero(same) - 1]).T)
    cum = np.cumsum(seg)
    firsts = np.flatnonzero(~same)
    cum -= np.repeat(cum[firsts], np.diff(np.r_[firsts, len(cum)]))
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, start))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, end))
    inside = (cum > start[idx]) & (cum < end[idx])
    # vertices per output line: start point, interior vertices, end point
    n_in = np.bincount(idx[inside], minlength=len(geoms))
    total = n_in + 2
    out_idx = np.repeat(np.arange(len(geoms)), total)
    pos = np.cumsum(total) - total
    xy = np.empty((total.sum(), 2))
    xy[pos] = p0
    xy[pos + total - 1] = p1
    inner_slot = np.arange(total.sum())
    mask = np.ones(total.sum(), dtype=bool)
    mask[pos] = False
    mask[pos + total - 1] = False
    xy[inner_slot[mask]] = coords[inside]
    return shapely.linestrings(xy, indices=out_idx)


def police_isochrones(
    layout: Any,
    mode: str = "walk",
    thresholds_s: Any = (300.0, 600.0),
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    buffer_m: float = 25.0,
    graph: nx.MultiGraph | None = None,
    field: AccessField | None = None,
) -> gpd.GeoDataFrame:
    """Areas reachable from the premises within each time threshold.

    The reachable part of every edge is cut out of its geometry (an edge whose end is reached
    at time t with time budget T contributes the first (T − t) × speed metres, where speed is
    that edge's own), and the reachable lines are buffered by ``buffer_m`` and merged.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold: ``threshold_s``, ``network_m`` (reachable network length),
        geometry the (possibly empty) polygon.

    Notes
    -----
    O(E) vectorised substring cutting plus the buffer union, after one
    :func:`access_field`-style Dijkstra.
    """
    if field is None:
        field = access_field(
            layout,
            mode,
            premises=premises,
            extra_police=extra_police,
            walk_speed_mps=walk_speed_mps,
            graph=graph,
            route_spacing_m=None,
        )
    r, sol = field.router, field.solution
    a, b, cost, length, e_all, f0, f1 = sol.pieces
    to_time = 1.0 / field.speed_mps if r.weight == "length" else 1.0
    rows = []
    for T in np.atleast_1d(np.asarray(thresholds_s, dtype=float)):
        budget = T / to_time  # in cost units
        ca = sol.cost[a] if len(a) else np.zeros(0)
        cb = sol.cost[b] if len(b) else np.zeros(0)
        w = cost
        frac_a = np.clip((budget - ca) / w, 0.0, 1.0)  # from a forwards
        frac_b = np.clip((budget - cb) / w, 0.0, 1.0) if not r.directed else np.zeros(len(a))
        frac_a = np.where(np.isfinite(ca), frac_a, 0.0)
        frac_b = np.where(np.isfinite(cb), frac_b, 0.0)
        whole = frac_a + frac_b >= 1.0
        parts_g, parts_s, parts_e = [], [], []
        glen = r.geom_length[e_all]
        s0, s1 = f0 * glen, f1 * glen
        span = s1 - s0
        sel = whole & (span > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s0[sel])
        parts_e.append(s1[sel])
        sel = ~whole & (frac_a > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s0[sel])
        parts_e.append(s0[sel] + frac_a[sel] * span[sel])
        sel = ~whole & (frac_b > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s1[sel] - frac_b[sel] * span[sel])
        parts_e.append(s1[sel])
        g = np.concatenate(parts_g)
        s = np.concatenate(parts_s)
        e = np.concatenate(parts_e)
        if len(g):
            lines = _substrings(g, s, e)
            net = float(np.sum(shapely.length(lines)))
            poly = shapely.union_all(shapely.buffer(lines, buffer_m))
        else:
            net, poly = 0.0, shapely.Polygon()
        rows.append((float(T), net, poly))
    return gpd.GeoDataFrame(
        {"threshold_s": [x[0] for x in rows], "network_m": [x[1] for x in rows]},
        geometry=[x[2] for x in rows],
        crs=layout.crs,
    )


def coverage(
    field: AccessField,
    threshold_s: float,
    *,
    within: shapely.Geometry | None = None,
) -> dict[str, Any]:
    """Share of dwellings and of route length within a travel-time threshold.

    Parameters
    ----------
    field
        An :class:`AccessField`.
    threshold_s
        The time threshold (s).
    within
        Count only dwellings whose outline and route samples that lie in this polygon
        (e.g. the site).

    Returns
    -------
    dict
        ``dwellings``, ``dwellings_within``, ``dwelling_share`` (NaN when no dwelling),
        ``dwellings_tagged`` (False when every building was counted), ``route_m``,
        ``route_m_within``, ``route_share`` (NaN when no route).
    """
    b = field.buildings
    dwell = b["dwelling"].to_numpy(dtype=bool).copy()
    _, tagged = dwelling_mask(b) if len(b) else (None, False)
    if within is not None and len(b):
        dwell &= np.asarray(shapely.intersects(b.geometry.values, within), dtype=bool)
    t = b["time_s"].to_numpy(dtype=float)
    ok = dwell & np.isfinite(t) & (t <= threshold_s)
    r = field.routes
    rm = np.ones(len(r), dtype=bool)
    if within is not None and len(r):
        rm = np.asarray(shapely.intersects(r.geometry.values, within), dtype=bool)
    lengths = r["length_m"].to_numpy(dtype=float)[rm] if len(r) else np.zeros(0)
    rt = r["time_s"].to_numpy(dtype=float)[rm] if len(r) else np.zeros(0)
    rok = np.isfinite(rt) & (rt <= threshold_s)
    n = int(dwell.sum())
    total = float(lengths.sum())
    return {
        "dwellings": n,
        "dwellings_within": int(ok.sum()),
        "dwelling_share": ok.sum() / n if n else float("nan"),
        "dwellings_tagged": bool(tagged),
        "route_m": total,
        "route_m_within": float(lengths[rok].sum()),
        "route_share": float(lengths[rok].sum()) / total if total > 0 else float("nan"),
    }
