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

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["STOP_BLOCKED", "STOP_BUILDING", "STOP_END", "STOP_RANGE", "forward_visibility"]

STOP_BLOCKED = "blocked"  # the sight line was cut: a bend or corner hides the route
STOP_BUILDING = "building"  # the route runs into a building (a covered passage, an arcade)
STOP_END = "end"  # reached the end of the chain (junction or dead end) still seeing it
STOP_RANGE = "range"  # saw the route as far as max_range
_CODES = np.array([STOP_BLOCKED, STOP_END, STOP_RANGE, STOP_BUILDING], dtype=object)
_BISECT = 30  # halvings of the last step: a 1 m step is located to 1e-9 m
_FAN_RUN = 16  # walk steps on one straight piece of route cleared by one fan test
_FAN_MIN = 3  # shorter runs are tested step by step
_FAN_PAD = 1e-6  # m: a wall this near a fan of sight lines may cut one of them


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


@njit(cache=True)
def _seg_of(cum, lo, hi, s):
    """Index of the chain segment :func:`_point_at` interpolates on for distance ``s``."""
    j = np.searchsorted(cum[lo:hi], s, side="right") - 1 + lo
    if j >= hi - 1:
        j = hi - 2
    if j < lo:
        j = lo
    return j


@njit(cache=True)
def _apart(vx, vy, px, py, qx, qy, ux, uy, wx, wy):
    """Do the wall ``p–q`` and the triangle ``0, u, w`` lie more than ``_FAN_PAD`` apart
    along the normal of the direction ``v`` (an edge of the triangle)?"""
    length = np.sqrt(vx * vx + vy * vy)
    if length < 1e-9:
        return False  # no usable axis
    nx = -vy / length
    ny = vx / length
    t0 = 0.0
    t1 = nx * ux + ny * uy
    t2 = nx * wx + ny * wy
    lo = min(t0, min(t1, t2))
    hi = max(t0, max(t1, t2))
    a = nx * px + ny * py
    b = nx * qx + ny * qy
    return max(a, b) < lo - _FAN_PAD or min(a, b) > hi + _FAN_PAD


@njit(cache=True)
def _fan_clear(ax, ay, bx, by, cx, cy, zmin, seg, heights, x0, y0, cell, nx, ny,
               start, items):  # fmt: skip
    """True when no wall comes within ``_FAN_PAD`` of the triangle ``a, b, c`` (or every
    wall near it is lower than ``zmin``): then no sight line from ``a`` to a point of the
    segment ``b–c`` is blocked, and the walk's tests of those points may be skipped.

    A wall that :func:`._visibility.blocked_one` finds crossing such a sight line lies on it
    (to round-off, far below ``_FAN_PAD``), so within the triangle. The walls are read from
    the grid cells the triangle (padded) covers, row by row, and each is kept apart by a
    separating axis (the grid axes, the triangle's edge normals, the wall's normal).
    Complexity: O(cells covered + walls in them).
    """
    pad = _FAN_PAD
    ux = bx - ax
    uy = by - ay
    wx = cx - ax
    wy = cy - ay
    minx = min(0.0, min(ux, wx)) - pad
    maxx = max(0.0, max(ux, wx)) + pad
    miny = min(0.0, min(uy, wy)) - pad
    maxy = max(0.0, max(uy, wy)) + pad
    r0 = min(max(int((ay + miny - y0) / cell), 0), ny - 1)
    r1 = min(max(int((ay + maxy - y0) / cell), 0), ny - 1)
    for r in range(r0, r1 + 1):
        # x-extent of the triangle within the band of row r (padded)
        ylo = y0 + r * cell - ay - pad
        yhi = y0 + (r + 1) * cell - ay + pad
        xl = np.inf
        xh = -np.inf
        for e in range(3):
            if e == 0:
                p_x, p_y, q_x, q_y = 0.0, 0.0, ux, uy
            elif e == 1:
                p_x, p_y, q_x, q_y = ux, uy, wx, wy
            else:
                p_x, p_y, q_x, q_y = wx, wy, 0.0, 0.0
            if max(p_y, q_y) < ylo or min(p_y, q_y) > yhi:
                continue
            dy = q_y - p_y
            if dy == 0.0:
                ta = 0.0
                tb = 1.0
            else:
                ta = (ylo - p_y) / dy
                tb = (yhi - p_y) / dy
                if ta > tb:
                    ta, tb = tb, ta
                ta = max(ta, 0.0)
                tb = min(tb, 1.0)
            xa = p_x + ta * (q_x - p_x)
            xb = p_x + tb * (q_x - p_x)
            xl = min(xl, min(xa, xb))
            xh = max(xh, max(xa, xb))
        if xl > xh:
            continue
        c0 = min(max(int((ax + xl - pad - x0) / cell), 0), nx - 1)
        c1 = min(max(int((ax + xh + pad - x0) / cell), 0), nx - 1)
        for c in range(r * nx + c0, r * nx + c1 + 1):
            for k in range(start[c], start[c + 1]):
                s = items[k]
                if heights[s] <= zmin - pad:
                    continue  # below every sight line
                px = seg[s, 0] - ax
                py = seg[s, 1] - ay
                qx = seg[s, 2] - ax
                qy = seg[s, 3] - ay
                if max(px, qx) < minx or min(px, qx) > maxx:
                    continue
                if max(py, qy) < miny or min(py, qy) > maxy:
                    continue
                if _apart(ux, uy, px, py, qx, qy, ux, uy, wx, wy):
                    continue
                if _apart(wx - ux, wy - uy, px, py, qx, qy, ux, uy, wx, wy):
                    continue
                if _apart(wx, wy, px, py, qx, qy, ux, uy, wx, wy):
                    continue
                # the wall's own normal: the triangle wholly on one side of its line
                sx = qx - px
                sy = qy - py
                length = np.sqrt(sx * sx + sy * sy)
                if length >= 1e-9:
                    mx = -sy / length
                    my = sx / length
                    base = mx * px + my * py
                    t0 = -base
                    t1 = mx * ux + my * uy - base
                    t2 = mx * wx + my * wy - base
                    if max(t0, max(t1, t2)) < -pad or min(t0, min(t1, t2)) > pad:
                        continue
                return False
    return True


def _work_walk(coords, cum, starts, chain, pos, z_eye, z_target, step, max_range, *_):
    # sight-line tests at most: a walk and a bisection each way (NumPy: ~3 µs each)
    return pos.shape[0] * (max_range / step + _BISECT)


@tiered(_work_walk, 80_000, "safespace.analyses._kern_sight:walk")
@njit(cache=True, parallel=True)
def _walk(coords, cum, starts, chain, pos, z_eye, z_target, step, max_range, seg, heights,
          x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
    """Step along each chain from each sample, both ways, until the sight line is cut.

    Between the last visible step and the first blocked one the cut is found by bisection.
    Runs of up to ``_FAN_RUN`` steps on one straight piece of the route are first cleared
    together by :func:`_fan_clear` (no wall near the triangle of their sight lines); a run
    it cannot clear is tested step by step, so the answers are those of the plain walk.
    Complexity: O(samples × (visible distance / step + log(step / tol)) × cost of one
    sight-line test) at worst, O(samples × visible distance / (step × _FAN_RUN) × cost of
    a fan test) on open straight routes; the walk stops at the first blocked point. Up to
    80,000 sight-line tests (about 600 samples) take the NumPy twin
    :func:`._kern_sight.walk` (same answers, step by step).
    """
    n = pos.shape[0]
    dist = np.empty((n, 2))
    code = np.empty((n, 2), np.int64)
    zmin = min(z_eye, z_target)
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
                # the next steps whose points lie on one straight piece of the route: the
                # sight lines to them fill a thin triangle; if no wall comes near it, none
                # of them is blocked and the steps are passed over
                e = min(d + step, limit)
                first = e
                j = _seg_of(cum, lo, hi, s0 + sign * e)
                run = 1
                while run < _FAN_RUN and e < limit:
                    e2 = min(e + step, limit)
                    if _seg_of(cum, lo, hi, s0 + sign * e2) != j:
                        break
                    e = e2
                    run += 1
                if run >= _FAN_MIN:
                    bx, by = _point_at(coords, cum, lo, hi, s0 + sign * first)
                    cx, cy = _point_at(coords, cum, lo, hi, s0 + sign * e)
                    if _fan_clear(ax, ay, bx, by, cx, cy, zmin, seg, heights,
                                  x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
                        d = e
                        d_ok = e
                        continue
                for _ in range(run):
                    d = min(d + step, limit)
                    bx, by = _point_at(coords, cum, lo, hi, s0 + sign * d)
                    if blocked_one(ax, ay, z_eye, bx, by, z_target, seg, heights,
                                   x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
                        hit = True
                        break
                    d_ok = d
                if hit:
                    break
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
    layout: Layout,
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
    met per sight line, at worst; along straight open stretches up to 16 steps are cleared
    by one test of the triangle of their sight lines (:func:`_fan_clear`). Samples run in
    parallel (numba ``prange``).
    """
    if not (spacing > 0 and step > 0 and max_range > 0):
        raise InputError("spacing, step and max_range must be positive")
    chains = route_chains(layout)
    samples = route_samples(layout, spacing, ("route",), chains=chains)
    out = samples.copy()
    out["indoor"] = out["indoor"].to_numpy(bool) | tagged_indoor(layout, out)
    n = len(out)
    if n == 0:
        for col in ("ahead_m", "behind_m"):
            out[col] = np.empty(0)
        for col in ("ahead_stop", "behind_stop"):
            out[col] = np.empty(0, dtype=object)
        return out
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
