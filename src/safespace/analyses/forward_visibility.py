"""Forward visibility: how far a walker sees along the route ahead and behind.

At each route sample a walker looks along the route in both directions of travel. The
forward visibility is the distance, measured *along the route*, to the first route point
that cannot be seen from the sample: the sight line between the two (both at eye height)
crosses a building, or a barrier or shrub taller than the sight line where it crosses.
A blind bend or corner has a short forward visibility; a straight open path sees to its end.

Routes are the chains of :func:`~safespace.analyses._visibility.route_chains`: ways joined
end to end where exactly two meet. The walk stops at a chain end (a junction of three or more
ways, or a dead end): what lies beyond depends on which way the walker turns, so the result
says so (``stop = "end"``) instead of guessing. It also stops at ``max_range``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numba import njit, prange

from safespace.analyses._jit import tiered
from safespace.analyses._visibility import (
    STOREY_HEIGHT_M,
    SightIndex,
    blocked_one,
    inside_any,
    route_chains,
    route_samples,
)
from safespace.analyses.surveillance import tagged_indoor
from safespace.errors import InputError

__all__ = ["STOP_BLOCKED", "STOP_BUILDING", "STOP_END", "STOP_RANGE", "forward_visibility"]

STOP_BLOCKED = "blocked"  # the sight line was cut: a bend or corner hides the route
STOP_BUILDING = "building"  # the route runs into a building (a covered passage, an arcade)
STOP_END = "end"  # reached the end of the chain (junction or dead end) still seeing it
STOP_RANGE = "range"  # saw the route as far as max_range
_CODES = np.array([STOP_BLOCKED, STOP_END, STOP_RANGE, STOP_BUILDING], dtype=object)
_BISECT = 30  # halvings of the last step: a 1 m step is located to 1e-9 m


@njit(cache=True)
def _point_at(coords, cum, lo, hi, s):
    """Point at distance ``s`` along the chain whose vertices are ``coords[lo:hi]``."""
    j = np.searchsorted(cum[lo:hi], s, side="right") - 1 + lo
    if j >= hi - 1:
        j = hi - 2
    if j < lo:
        j = lo
    seg = cum[j + 1] - cum[j]
    f = 0.0 if seg <= 0.0 else (s - cum[j]) / seg
    return (
        coords[j, 0] + f * (coords[j + 1, 0] - coords[j, 0]),
        coords[j, 1] + f * (coords[j + 1, 1] - coords[j, 1]),
    )


def _work_walk(coords, cum, starts, chain, pos, z_eye, z_target, step, max_range, *_):
    # sight-line tests at most: a walk and a bisection each way (NumPy: ~3 µs each)
    return pos.shape[0] * (max_range / step + _BISECT)


@tiered(_work_walk, 80_000, "safespace.analyses._kern_sight:walk")
@njit(cache=True, parallel=True)
def _walk(coords, cum, starts, chain, pos, z_eye, z_target, step, max_range, seg, heights,
          x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
    """Step along each chain from each sample, both ways, until the sight line is cut.

    Between the last visible step and the first blocked one the cut is found by bisection.
    Complexity: O(samples × (visible distance / step + log(step / tol)) × cost of one
    sight-line test); the walk stops at the first blocked point. Up to 80,000 sight-line
    tests (about 600 samples) take the NumPy twin :func:`._kern_sight.walk` (same answers).
    """
    n = pos.shape[0]
    dist = np.empty((n, 2))
    code = np.empty((n, 2), np.int64)
    for i in prange(n):
        c = chain[i]
        lo = starts[c]
        hi = starts[c + 1]
        length = cum[hi - 1]
        s0 = pos[i]
        ax, ay = _point_at(coords, cum, lo, hi, s0)
        for k in range(2):
            sign = 1.0 if k == 0 else -1.0
            room = (length - s0) if k == 0 else s0
            limit = min(room, max_range)
            d_ok = 0.0
            hit = False
            d = 0.0
            while d < limit:
                d = min(d + step, limit)
                bx, by = _point_at(coords, cum, lo, hi, s0 + sign * d)
                if blocked_one(ax, ay, z_eye, bx, by, z_target, seg, heights,
                               x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
                    hit = True
                    break
                d_ok = d
            if hit:
                a_ = d_ok
                b_ = d
                for _ in range(_BISECT):
                    m = 0.5 * (a_ + b_)
                    bx, by = _point_at(coords, cum, lo, hi, s0 + sign * m)
                    if blocked_one(ax, ay, z_eye, bx, by, z_target, seg, heights,
                                   x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
                        b_ = m
                    else:
                        a_ = m
                dist[i, k] = a_
                code[i, k] = 0
            else:
                dist[i, k] = limit
                code[i, k] = 1 if room <= max_range else 2
    return dist, code


def forward_visibility(
    layout,
    *,
    spacing: float = 5.0,
    max_range: float = 100.0,
    step: float = 1.0,
    eye_height: float = 1.6,
    target_height: float = 1.6,
    storey_height: float = STOREY_HEIGHT_M,
) -> gpd.GeoDataFrame:
    """Distance a walker at each route sample sees along the route, ahead and behind.

    Parameters
    ----------
    layout
        A :class:`~safespace.Layout`.
    spacing
        Sample spacing along routes, m (the samples of the surveillance field).
    max_range
        The walk stops here, m.
    step
        Step of the walk along the route, m. A cut is then located by bisection to 1e-9 m;
        an obstacle that hides the route only between two steps (thinner than a step, seen
        edge-on) can be missed.
    eye_height, target_height
        Eye height of the walker and height of what is looked at ahead (another person's
        eye), m. Walls and shrubs lower than the sight line do not cut it.
    storey_height
        Storey height used for buildings tagged with levels but no height, m.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per route sample (columns of ``route_samples``) plus ``ahead_m`` and
        ``behind_m`` (visible distance along the route in the chain's direction and
        against it) and ``ahead_stop``/``behind_stop``: ``blocked`` (a bend or corner cuts
        the view), ``building`` (the route enters a building footprint: a covered passage),
        ``end`` (the chain ends: junction or dead end) or ``range`` (``max_range``).
        Samples inside buildings have NaN distances and stop ``building``.

    Notes
    -----
    Complexity: O(S · (V / step + 30) · c) for S samples, V visible distance and c walls
    met per sight line; samples run in parallel (numba ``prange``).
    """
    if not (spacing > 0 and step > 0 and max_range > 0):
        raise InputError("spacing, step and max_range must be positive")
    samples = route_samples(layout, spacing, ("route",))
    out = samples.copy()
    out["indoor"] = out["indoor"].to_numpy(bool) | tagged_indoor(layout, out)
    n = len(out)
    if n == 0:
        for col in ("ahead_m", "behind_m"):
            out[col] = np.empty(0)
        for col in ("ahead_stop", "behind_stop"):
            out[col] = np.empty(0, dtype=object)
        return out
    chains = route_chains(layout)
    geoms = chains.geometry.values
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(idx, minlength=len(geoms))
    starts = np.r_[0, np.cumsum(counts)].astype(np.int64)
    seglen = np.hypot(*np.diff(xy, axis=0).T)
    seglen[idx[1:] != idx[:-1]] = 0.0
    cum = np.r_[0.0, np.cumsum(seglen)]
    cum = cum - np.repeat(cum[starts[:-1]], counts)  # restart at 0 on each chain
    index = SightIndex.from_layout(layout, storey_height=storey_height)
    x0, y0, cell, nx, ny, gstart, items = index.grid
    dist, code = _walk(
        np.ascontiguousarray(xy), cum, starts, out["chain"].to_numpy(np.int64),
        out["position_m"].to_numpy(float), float(eye_height), float(target_height),
        float(step), float(max_range), index.segments, index.heights,
        x0, y0, cell, nx, ny, gstart, items,
    )  # fmt: skip
    stops = _CODES[code]
    # A cut just where the route enters a building is a passage, not a blind bend.
    blocked = code == 0
    if blocked.any() and not layout.buildings.empty:
        bi, bk = np.nonzero(blocked)
        sign = np.where(bk == 0, 1.0, -1.0)
        s = out["position_m"].to_numpy(float)[bi] + sign * (dist[bi, bk] + 0.05)
        s = np.clip(s, 0.0, chains["length_m"].to_numpy()[out["chain"].to_numpy()[bi]])
        pts = shapely.line_interpolate_point(geoms[out["chain"].to_numpy()[bi]], s)
        into = inside_any(pts, layout.buildings.geometry.values)
        stops[bi[into], bk[into]] = STOP_BUILDING
    indoor = out["indoor"].to_numpy(bool)
    dist[indoor] = np.nan
    stops[indoor] = STOP_BUILDING
    out["ahead_m"] = dist[:, 0]
    out["behind_m"] = dist[:, 1]
    out["ahead_stop"] = stops[:, 0]
    out["behind_stop"] = stops[:, 1]
    out.attrs.update({"spacing": spacing, "max_range": max_range, "step": step})
    return out
