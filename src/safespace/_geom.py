"""Small geometry helpers shared across analyses and rules: a point inside a polygon that
turns with it, the one finder of flagged runs along sampled chains, and vectorised line
substrings."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops


def inner_points(geoms):
    """A point inside each geometry that turns and mirrors with it: the centroid where the
    geometry covers it, else GEOS's point on surface.

    GEOS's ``point_on_surface`` scans along a horizontal line, so the point it picks in a
    polygon depends on the map grid's orientation; a home standing for its polygon would move
    when the layout is turned. Vectorised; accepts one geometry or an array.
    """
    scalar = isinstance(geoms, shapely.Geometry)
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    out = shapely.centroid(arr)
    outside = ~np.asarray(shapely.covers(arr, out), dtype=bool)
    if outside.any():
        out[outside] = shapely.point_on_surface(arr[outside])
    return out[0] if scalar else out


def flag_runs(
    chain,
    position,
    chain_length,
    flag,
    *,
    reach: str = "midpoint",
    max_gap_m: float | None = None,
    min_length_m: float = 0.0,
) -> list[tuple[int, float, float, np.ndarray]]:
    """Runs of flagged samples along chains: ``(chain, start_m, end_m, rows)``.

    The one run finder of safespace (the sightlines rules' unobserved and blind stretches,
    the rear-access runs, PM007's alleys).

    Parameters
    ----------
    chain, position, chain_length
        Per sample: its chain, its position along the chain (m) and the chain's length (m).
        Samples must be ordered by chain, then position.
    flag
        Per sample: is it flagged?
    reach
        How far along the chain a sample stands for. ``"midpoint"``: half-way to its
        neighbours on the chain, to the chain's ends for the first and last sample (for
        samples at any spacing). ``"half_step"``: half the chain's mean step (its length over
        its sample count) either side, clipped to the chain (for evenly spaced samples).
    max_gap_m
        Runs on a chain with at most this much unflagged route between them are joined;
        None joins none.
    min_length_m
        Runs shorter than this are left out.

    Returns
    -------
    list of (int, float, float, numpy.ndarray)
        Per run, in chain then position order: the chain, where the run starts and ends
        along it (m), and the positions of its flagged samples in the input.

    Notes
    -----
    O(S·C) for S samples on C chains with a flagged sample (one pass over the samples of
    each such chain).
    """
    if reach not in ("midpoint", "half_step"):
        raise ValueError(f"reach must be 'midpoint' or 'half_step', got {reach!r}")
    flag = np.asarray(flag, dtype=bool)
    chain = np.asarray(chain)
    if len(chain) == 0 or not flag.any():
        return []
    pos = np.asarray(position, dtype=float)
    length = np.asarray(chain_length, dtype=float)
    out: list[tuple[int, float, float, np.ndarray]] = []
    for c in np.unique(chain[flag]):
        rows = np.flatnonzero(chain == c)
        p = pos[rows]
        total = length[rows[0]]
        if reach == "midpoint":
            mid = 0.5 * (p[:-1] + p[1:])
            lo = np.r_[0.0, mid]
            hi = np.r_[mid, total]
        else:
            half = (total / len(rows)) / 2.0
            lo = np.maximum(0.0, p - half)
            hi = np.minimum(total, p + half)
        idx = np.flatnonzero(flag[rows])
        starts = np.r_[0, np.flatnonzero(np.diff(idx) > 1) + 1]
        ends = np.r_[starts[1:] - 1, len(idx) - 1]
        runs = [[lo[idx[a]], hi[idx[b]], idx[a], idx[b]] for a, b in zip(starts, ends, strict=True)]
        merged = [runs[0]]
        for r in runs[1:]:
            if max_gap_m is not None and r[0] - merged[-1][1] <= max_gap_m + 1e-9:
                merged[-1][1], merged[-1][3] = r[1], r[3]
            else:
                merged.append(r)
        for start, end, i0, i1 in merged:
            if end - start >= min_length_m - 1e-9:
                sel = rows[i0 : i1 + 1]
                out.append((int(c), float(start), float(end), sel[flag[sel]]))
    return out


def line_substrings(lines: np.ndarray, a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """``shapely.ops.substring(lines[k], a0[k], a1[k])`` for every k, vectorised.

    The same construction as shapely's: the point at ``a0``, the vertices strictly between
    ``a0`` and ``a1`` along the line, the point at ``a1``. Pieces outside the case
    0 ≤ a0 < a1, a0 < length fall back to shapely. O(Σ vertices of the lines).
    """
    lines = np.asarray(lines, dtype=object)
    a0 = np.asarray(a0, dtype=float)
    a1 = np.asarray(a1, dtype=float)
    k = lines.size
    out = np.empty(k, dtype=object)
    if k == 0:
        return out
    length = shapely.length(lines)
    easy = (a0 >= 0) & (a0 < a1) & (a0 < length)
    for i in np.flatnonzero(~easy):
        out[i] = shapely.ops.substring(lines[i], a0[i], a1[i])
    ids = np.flatnonzero(easy)
    if ids.size == 0:
        return out
    ls = lines[ids]
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(ls, a0[ids]))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(ls, a1[ids]))
    xy, owner = shapely.get_coordinates(ls, return_index=True)
    nv = np.bincount(owner, minlength=ids.size)
    first = np.cumsum(nv) - nv
    seg = np.zeros(owner.size)
    same = owner[1:] == owner[:-1]
    d = xy[1:] - xy[:-1]
    seg[1:] = np.where(same, np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2), 0.0)
    # distance along the line of each vertex (sequential sums, as shapely's loop)
    cum = np.cumsum(seg)
    cum = cum - cum[first][owner]
    last = np.r_[~same, True]  # a line's last vertex is never an interior one
    keep = ~last & (cum > a0[ids][owner]) & (cum < a1[ids][owner])
    n = ids.size
    cx = np.concatenate([p0[:, 0], xy[keep, 0], p1[:, 0]])
    cy = np.concatenate([p0[:, 1], xy[keep, 1], p1[:, 1]])
    who = np.concatenate([np.arange(n), owner[keep], np.arange(n)])
    pos = np.concatenate([np.full(n, -1), np.flatnonzero(keep), np.full(n, owner.size)])
    order = np.lexsort((pos, who))
    out[ids] = shapely.linestrings(np.column_stack([cx[order], cy[order]]), indices=who[order])
    return out


def convex_hull_xy(xy: np.ndarray) -> shapely.Geometry:
    """``shapely.convex_hull(shapely.multipoints(xy))``, without building a point per row.

    Points strictly inside the octagon of the extreme points in eight directions
    (Akl & Toussaint 1978) cannot be hull vertices, so they are dropped before GEOS sees the
    rest; GEOS's hull depends only on the extreme points, so the polygon is the same. The
    margin (1 mm) keeps round-off in the inside test from dropping a point on the hull.
    O(n) for n points, plus GEOS's O(k log k) on the k points kept.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) >= 64:
        x, y = xy[:, 0], xy[:, 1]
        # the extreme point in each of 8 directions, counter-clockwise from +x
        keys = (x, x + y, y, y - x, -x, -x - y, -y, x - y)
        octagon = xy[[int(np.argmax(k)) for k in keys]]
        a, b = octagon, np.roll(octagon, -1, axis=0)
        edge = b - a
        length = np.hypot(edge[:, 0], edge[:, 1])
        live = length > 0
        a, edge, length = a[live], edge[live], length[live]
        if len(a) >= 3:
            # inside every (counter-clockwise) edge by more than the margin
            cross = edge[:, 0, None] * (y - a[:, 1, None]) - edge[:, 1, None] * (x - a[:, 0, None])
            inside = (cross > 1e-3 * length[:, None]).all(axis=0)
            xy = xy[~inside]
    return shapely.convex_hull(shapely.multipoints(xy))
