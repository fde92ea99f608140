"""NumPy small paths of the sight-line kernels (:mod:`._visibility`, :mod:`.forward_visibility`).

Each function here performs, for every sight line at once, the floating-point operations the
numba kernel performs for one line, in the same order, so its answers are the kernel's
answers (see :mod:`._jit`). Python's ``min(a, b)`` is ``b if b < a else a`` and ``int(x)``
truncates toward zero; both are written out as such.
"""

from __future__ import annotations

import numpy as np

_T_EPS = 1e-9  # as in _visibility: a wall touched at the very end of a line does not block
_BISECT = 30  # as in forward_visibility
_STEPS = 16  # walk steps tested together by the small path of _walk
_INF = 1e300


def _pymin(a, b):
    return np.where(b < a, b, a)


def _pymax(a, b):
    return np.where(b > a, b, a)


def _trunc_int(x: np.ndarray) -> np.ndarray:
    """``int(x)`` elementwise (toward zero) for finite x; 0 elsewhere (never read)."""
    x = np.where(np.isfinite(x), x, 0.0)
    return np.trunc(np.clip(x, -(2.0**62), 2.0**62)).astype(np.int64)


def _clip(p, d, hi, t0, t1):
    """Vector :func:`._visibility._clip` (Liang–Barsky on one axis)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (0.0 - p) / d
        tb = (hi - p) / d
    swap = ta > tb
    ta, tb = np.where(swap, tb, ta), np.where(swap, ta, tb)
    r0 = _pymax(t0, ta)
    r1 = _pymin(t1, tb)
    flat = d == 0.0
    outside = flat & ((p < 0.0) | (p > hi))
    r0 = np.where(flat, np.where(outside, 1.0, t0), r0)
    r1 = np.where(flat, np.where(outside, 0.0, t1), r1)
    return r0, r1


def _hits(ax, ay, az, bx, by, bz, seg, heights, s):
    """Vector :func:`._visibility._hits`: does wall ``s[k]`` block line ``k``?"""
    rx = bx - ax
    ry = by - ay
    px = seg[s, 0]
    py = seg[s, 1]
    sx = seg[s, 2] - px
    sy = seg[s, 3] - py
    den = rx * sy - ry * sx
    qx = px - ax
    qy = py - ay
    with np.errstate(divide="ignore", invalid="ignore"):  # den == 0 is masked out
        t = (qx * sy - qy * sx) / den
        u = (qx * ry - qy * rx) / den
        ok = (den != 0.0) & (t > _T_EPS) & (t < 1.0 - _T_EPS) & (u >= 0.0) & (u <= 1.0)
        return ok & (az + t * (bz - az) < heights[s])


def blocked_many(ax, ay, az, bx, by, bz, seg, heights, x0, y0, cell, nx, ny, start, items):
    """Vector :func:`._visibility.blocked_one`: whether each line ``a[k] → b[k]`` is blocked.

    The grid walk (Amanatides & Woo 1987) advances every unfinished line one cell per round
    and tests the walls of its current cell. ``az``/``bz`` may be scalars. Complexity: the
    kernel's work, plus O(longest walk) rounds of NumPy calls.
    """
    ax, ay, bx, by = (np.asarray(v, dtype=np.float64) for v in (ax, ay, bx, by))
    n = ax.shape[0]
    az = np.broadcast_to(np.asarray(az, dtype=np.float64), (n,))
    bz = np.broadcast_to(np.asarray(bz, dtype=np.float64), (n,))
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    gx = (ax - x0) / cell
    gy = (ay - y0) / cell
    ex = (bx - x0) / cell
    ey = (by - y0) / cell
    t0, t1 = _clip(gx, ex - gx, float(nx), np.zeros(n), np.ones(n))
    t0, t1 = _clip(gy, ey - gy, float(ny), t0, t1)
    dx = ex - gx
    dy = ey - gy
    live = ~(t0 > t1)
    cx = np.clip(_trunc_int(gx + t0 * dx), 0, nx - 1)
    cy = np.clip(_trunc_int(gy + t0 * dy), 0, ny - 1)
    cx_end = np.clip(_trunc_int(gx + t1 * dx), 0, nx - 1)
    cy_end = np.clip(_trunc_int(gy + t1 * dy), 0, ny - 1)
    step_x = np.where(dx > 0, 1, -1)
    step_y = np.where(dy > 0, 1, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tmx = np.where(dx != 0.0, ((cx + (dx > 0)) - gx) / dx, _INF)
        tdx = np.where(dx != 0.0, np.abs(1.0 / dx), _INF)
        tmy = np.where(dy != 0.0, ((cy + (dy > 0)) - gy) / dy, _INF)
        tdy = np.where(dy != 0.0, np.abs(1.0 / dy), _INF)
    rounds = np.abs(cx_end - cx) + np.abs(cy_end - cy) + 3  # the kernel's n_cells + 2
    act = np.flatnonzero(live)
    r = 0
    while act.size:
        c = cy[act] * nx + cx[act]
        lo = start[c]
        cnt = start[c + 1] - lo
        if cnt.sum():
            line = np.repeat(np.arange(act.size), cnt)
            k = np.arange(line.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + lo[line]
            li = act[line]
            hit = _hits(ax[li], ay[li], az[li], bx[li], by[li], bz[li], seg, heights, items[k])
            hit_line = np.zeros(act.size, dtype=bool)
            hit_line[line[hit]] = True
            out[act[hit_line]] = True
            act = act[~hit_line]
        done = (cx[act] == cx_end[act]) & (cy[act] == cy_end[act])
        act = act[~done]
        along_x = tmx[act] < tmy[act]
        ix, iy = act[along_x], act[~along_x]
        cx[ix] += step_x[ix]
        tmx[ix] += tdx[ix]
        cy[iy] += step_y[iy]
        tmy[iy] += tdy[iy]
        inside = (cx[act] >= 0) & (cx[act] < nx) & (cy[act] >= 0) & (cy[act] < ny)
        r += 1
        act = act[inside & (rounds[act] > r)]
    return out


def blocked_batch(a, b, seg, heights, x0, y0, cell, nx, ny, start, items):
    """Small path of :func:`._visibility._blocked_batch`."""
    return blocked_many(
        a[:, 0], a[:, 1], a[:, 2], b[:, 0], b[:, 1], b[:, 2],
        seg, heights, x0, y0, cell, nx, ny, start, items,
    )  # fmt: skip


def _point_at(coords, cum, lo, hi, s):
    """Vector :func:`.forward_visibility._point_at` for chains ``coords[lo[k]:hi[k]]``."""
    # np.searchsorted(cum[lo:hi], s, side="right") by bisection on each chain's slice
    left = lo.copy()
    right = hi.copy()
    open_ = left < right
    while open_.any():
        mid = (left + right) // 2
        go = open_ & (cum[np.minimum(mid, cum.size - 1)] <= s)
        stay = open_ & ~go
        left = np.where(go, mid + 1, left)
        right = np.where(stay, mid, right)
        open_ = left < right
    j = left - 1
    j = np.where(j >= hi - 1, hi - 2, j)
    j = np.where(j < lo, lo, j)
    seg = cum[j + 1] - cum[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(seg <= 0.0, 0.0, (s - cum[j]) / seg)
    return (
        coords[j, 0] + f * (coords[j + 1, 0] - coords[j, 0]),
        coords[j, 1] + f * (coords[j + 1, 1] - coords[j, 1]),
    )


def walk(coords, cum, starts, chain, pos, z_eye, z_target, step, max_range, seg, heights,
         x0, y0, cell, nx, ny, gstart, items):  # fmt: skip
    """Small path of :func:`.forward_visibility._walk`: every (sample, direction) walker
    steps at once; then the blocked ones bisect at once. Same answers as the kernel."""
    n = pos.shape[0]
    dist = np.empty((n, 2))
    code = np.empty((n, 2), np.int64)
    if n == 0:
        return dist, code
    grid = (seg, heights, x0, y0, cell, nx, ny, gstart, items)
    lo = starts[chain]
    hi = starts[chain + 1]
    length = cum[hi - 1]
    ax, ay = _point_at(coords, cum, lo, hi, pos)
    for k in range(2):
        sign = 1.0 if k == 0 else -1.0
        room = (length - pos) if k == 0 else pos
        limit = np.where(max_range < room, max_range, room)
        d = np.zeros(n)
        d_ok = np.zeros(n)
        hit = np.zeros(n, dtype=bool)
        act = np.flatnonzero(d < limit)
        while act.size:
            # the kernel's next _STEPS steps of each walker (d = min(d + step, limit) while
            # d < limit), tested together; the first blocked one ends the walk
            lim = limit[act]
            cur = d[act]
            ds = np.empty((_STEPS, act.size))
            valid = np.empty((_STEPS, act.size), dtype=bool)
            for j in range(_STEPS):
                valid[j] = cur < lim
                nd = cur + step
                cur = np.where(valid[j], np.where(lim < nd, lim, nd), cur)
                ds[j] = cur
            jj, ww = np.nonzero(valid)
            w = act[ww]
            bx, by = _point_at(coords, cum, lo[w], hi[w], pos[w] + sign * ds[jj, ww])
            blk = np.zeros((_STEPS, act.size), dtype=bool)
            blk[jj, ww] = blocked_many(ax[w], ay[w], z_eye, bx, by, z_target, *grid)
            stop = blk.any(axis=0)
            first = np.argmax(blk, axis=0)
            cols = np.arange(act.size)
            before = np.where(first > 0, ds[np.maximum(first - 1, 0), cols], d[act])
            s_act = act[stop]
            hit[s_act] = True
            d[s_act] = ds[first[stop], cols[stop]]
            d_ok[s_act] = before[stop]
            go = act[~stop]
            d[go] = cur[~stop]
            d_ok[go] = cur[~stop]
            act = go[d[go] < limit[go]]
        a_ = d_ok.copy()
        b_ = d.copy()
        hw = np.flatnonzero(hit)
        for _ in range(_BISECT):
            if not hw.size:
                break
            m = 0.5 * (a_[hw] + b_[hw])
            bx, by = _point_at(coords, cum, lo[hw], hi[hw], pos[hw] + sign * m)
            blk = blocked_many(ax[hw], ay[hw], z_eye, bx, by, z_target, *grid)
            b_[hw[blk]] = m[blk]
            a_[hw[~blk]] = m[~blk]
        dist[:, k] = np.where(hit, a_, limit)
        code[:, k] = np.where(hit, 0, np.where(room <= max_range, 1, 2))
    return dist, code
