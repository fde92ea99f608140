"""The snapping kernels of :mod:`safespace.analyses.travel_time` (private).

A uniform grid over the network's straight segments (:func:`segment_grid`, built by
:func:`._segment_grid.piece_grid`) and the ring search :func:`_grid_nearest` that finds the
segment nearest each point or outline; the query segments of outlines
(:func:`_outline_segments`, :func:`_polygon_segments`). Costs are in each docstring and in
the docstring of :mod:`.travel_time`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import shapely

from safespace.analyses._jit import tiered
from safespace.analyses._segment_grid import cell_of as _cell
from safespace.analyses._segment_grid import piece_grid


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
    ax, ay, bx, by = (np.ascontiguousarray(c) for c in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    start, items = piece_grid(ax, ay, bx, by, float(lo[0]), float(lo[1]), float(h), nx_, ny_)
    return SegmentGrid(a, b, float(lo[0]), float(lo[1]), float(h), nx_, ny_, start, items)


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


def _work_grid_nearest(qa, qb, qstart, g_a, *_):
    # query segments × network segments bounds the candidates (interpreted: ~3 µs each)
    return qa.shape[0] * g_a.shape[0]


@tiered(_work_grid_nearest, 5_000)
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


# --- the query segments of outlines ---


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


@tiered(lambda xy, owner: owner.size, 20_000)
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
