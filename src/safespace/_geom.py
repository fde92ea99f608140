"""Small geometry helpers shared across analyses and rules: a point inside a polygon that
turns with it, and the one finder of flagged runs along sampled chains."""

from __future__ import annotations

import numpy as np
import shapely


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
