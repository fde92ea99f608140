"""NumPy small paths of the illuminance kernels (:mod:`._kern_light`).

Each function performs, for all pairs at once, the floating-point operations the kernel
performs for one pair, in the same order (Python's ``min(a, b)`` is ``b if b < a else a``,
``max(a, b)`` is ``b if b > a else a`` and ``int(x)`` truncates), and sums per point in the
kernel's order (``np.bincount`` adds its weights one after another). So it returns what the
kernel's Python source returns; the compiled kernels use ``fastmath``, which may change the
last bits. Used for small inputs only (:mod:`._jit`); the kernels themselves are unchanged.
"""

from __future__ import annotations

import numpy as np

from safespace.analyses._kern_light import (
    _MOREBITS,
    _P0,
    _P1,
    _P2,
    _P3,
    _P4,
    _Q0,
    _Q1,
    _Q2,
    _Q3,
    _Q4,
)

_CHUNK = 1 << 18  # candidate (ray, edge) pairs per NumPy pass: bounds the memory


def _pymin(a, b):
    return np.where(b < a, b, a)


def _pymax(a, b):
    return np.where(b > a, b, a)


def _int(x):
    """``int(x)`` elementwise: truncation toward zero (x finite; clipped to int64 range)."""
    return np.trunc(np.clip(x, -(2.0**62), 2.0**62)).astype(np.int64)


def _atan2(y, x):
    ax = np.abs(x)
    ay = np.abs(y)
    num = _pymin(ax, ay)
    den = _pymax(_pymax(ax, ay), 1e-300)
    t0 = num / den
    big = t0 > 0.66
    t1 = (t0 - 1.0) / (t0 + 1.0)
    t = np.where(big, t1, t0)
    z = t * t
    p = (((_P0 * z + _P1) * z + _P2) * z + _P3) * z + _P4
    q = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    r = t * z * p / q + t
    r = r + np.where(big, 0.7853981633974483096 + 0.5 * _MOREBITS, 0.0)
    r = np.where(ay > ax, 1.5707963267948966192 - r, r)
    r = np.where(x < 0.0, 3.141592653589793238 - r, r)
    return np.where(y < 0.0, -r, r)


def _table_cell(c_deg, gam, g_lo, c0, c_inv, g_inv, offset, nc, ng):
    cc = c_deg - c0
    cc = _pymin(_pymax(cc - 360.0 * np.floor(cc * (1.0 / 360.0)), 0.0), 360.0)
    fc = cc * c_inv
    fg = _pymin(_pymax(gam - g_lo, 0.0), 180.0) * g_inv
    ic = np.minimum(_int(fc), nc - 2)
    ig = np.minimum(_int(fg), ng - 2)
    return offset + ic * ng + ig, fc - ic, fg - ig


def _bilinear(i_all, base, ng, tc, tg):
    i00 = i_all[base]
    i01 = i_all[base + 1]
    i10 = i_all[base + ng]
    i11 = i_all[base + ng + 1]
    return (i00 + (i01 - i00) * tg) * (1.0 - tc) + (i10 + (i11 - i10) * tg) * tc


def _lamp_frame(rows, dx, dy, dz):
    """``rows``: the lamp rows of the pairs (k, 17)."""
    ca = rows[:, 3]
    sa = rows[:, 4]
    ct = rows[:, 5]
    st = rows[:, 6]
    u = dx * sa + dy * ca
    v = -dx * ca + dy * sa
    return u, ct * v + st * dz, -st * v + ct * dz


def _angles(u, b, w):
    rad2deg = 57.29577951308232
    return _atan2(b, u) * rad2deg, _atan2(np.sqrt(u * u + b * b), -w) * rad2deg


def _table_intensity(rows, c_deg, gam, i_all):
    ng = _int(rows[:, 16])
    base, tc, tg = _table_cell(
        c_deg, gam, rows[:, 9], rows[:, 11], rows[:, 12], rows[:, 13], _int(rows[:, 14]),
        _int(rows[:, 15]), ng,
    )  # fmt: skip
    val = _bilinear(i_all, base, ng, tc, tg) * rows[:, 7]
    return np.where((gam < rows[:, 9]) | (gam > rows[:, 10]), 0.0, val)


def pair_kernel(lamp_i, pt_i, lamps, px, py, pz, nx, ny, want, i_all):
    """Small path of ``_pair_kernel``: per-pair E_h, E_sc, E_v. O(K)."""
    k = lamp_i.size
    out = np.zeros((k, 3))
    if k == 0:
        return out
    rows = lamps[lamp_i]
    dx = px[pt_i] - rows[:, 0]
    dy = py[pt_i] - rows[:, 1]
    dz = pz[pt_i] - rows[:, 2]
    r2 = dx * dx + dy * dy
    d2 = r2 + dz * dz
    with np.errstate(divide="ignore", invalid="ignore"):
        u, b, w = _lamp_frame(rows, dx, dy, dz)
        c_deg, gam = _angles(u, b, w)
        inten = _table_intensity(rows, c_deg, gam, i_all)
        ok = (d2 > 1e-12) & (inten != 0.0)
        inv3 = 1.0 / (d2 * np.sqrt(d2))
        if want[0]:
            sel = ok & (dz < 0.0)
            out[sel, 0] = (inten * (-dz) * inv3)[sel]
        if want[1] or want[2]:
            proj = -(dx * nx[pt_i] + dy * ny[pt_i])
            if want[1]:
                out[ok, 1] = (inten * (np.sqrt(r2) + proj) * inv3 / np.pi)[ok]
            if want[2]:
                sel = ok & (proj > 0.0)
                out[sel, 2] = (inten * proj * inv3)[sel]
    return out


def ray_blocked(lamp, ax, ay, az, bz, rx, ry, minx, maxx, miny, maxy, eps, e_start, e_stop,
                e_ids, edges, e_height, e_base):  # fmt: skip
    """Vector ``_ray_blocked`` for rays from lamps: does ray k (from lamp ``lamp[k]``) cross
    one of the edges ``e_ids[e_start[lamp[k]]:e_stop[lamp[k]]]``? Rays are taken lamp by
    lamp, each against its lamp's edges at once. O(rays × edges per lamp)."""
    n = ax.shape[0]
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    order = np.argsort(lamp, kind="stable")
    cuts = np.flatnonzero(np.diff(lamp[order])) + 1
    for rays in np.split(order, cuts):
        li = lamp[rays[0]]
        e_all = e_ids[e_start[li] : e_stop[li]]
        if e_all.size == 0:
            continue
        step = max(1, _CHUNK // e_all.size)
        for r0 in range(0, rays.size, step):
            r = rays[r0 : r0 + step, None]
            cx = edges[e_all, 0]
            cy = edges[e_all, 1]
            ex = edges[e_all, 2]
            ey = edges[e_all, 3]
            # the kernel's box tests first (most candidates fail them), the rest on survivors
            near = ~(
                (np.maximum(cx, ex) < minx[r])
                | (np.minimum(cx, ex) > maxx[r])
                | (np.maximum(cy, ey) < miny[r])
                | (np.minimum(cy, ey) > maxy[r])
            )
            ri, ei = np.nonzero(near)
            ray = r[ri, 0]
            e = e_all[ei]
            cx, cy = cx[ei], cy[ei]
            sx = ex[ei] - cx
            sy = ey[ei] - cy
            rxr = rx[ray]
            ryr = ry[ray]
            den = rxr * sy - ryr * sx
            qx = cx - ax[ray]
            qy = cy - ay[ray]
            with np.errstate(divide="ignore", invalid="ignore"):  # den == 0 is masked out
                t = (qx * sy - qy * sx) / den
                u = (qx * ryr - qy * rxr) / den
                azr = az[ray]
                zc = azr + t * (bz[ray] - azr)
                hit = (
                    (den != 0.0)
                    & ~((t <= eps) | (t >= 1.0 - eps) | (u < 0.0) | (u > 1.0))
                    & (zc < e_height[e])
                    & (zc >= e_base[e])
                )
            out[ray[hit]] = True
    return out


def blocked_kernel(lamp_i, pt_i, lamps, px, py, pz, e_start, e_stop, e_ids, edges, e_height,
                   e_base):  # fmt: skip
    """Small path of ``_blocked_kernel``. O(K × e)."""
    ax = lamps[lamp_i, 0]
    ay = lamps[lamp_i, 1]
    az = lamps[lamp_i, 2]
    bx = px[pt_i]
    by = py[pt_i]
    return ray_blocked(
        lamp_i, ax, ay, az, pz[pt_i], bx - ax, by - ay, _pymin(ax, bx), _pymax(ax, bx),
        _pymin(ay, by), _pymax(ay, by), 1e-9, e_start, e_stop, e_ids, edges, e_height, e_base,
    )  # fmt: skip


def _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max):
    i0 = np.maximum(_int(np.floor((x - reach_max - x0) * inv_cell)), 0)
    i1 = np.minimum(_int(np.floor((x + reach_max - x0) * inv_cell)), gnx - 1)
    j0 = np.maximum(_int(np.floor((y - reach_max - y0) * inv_cell)), 0)
    j1 = np.minimum(_int(np.floor((y + reach_max - y0) * inv_cell)), gny - 1)
    return i0, i1, j0, j1


def _row_ranges(i0, i1, j0, j1, gnx, start):
    """For each query k and grid row j in j0[k]..j1[k] (i0 ≤ i1): the contiguous CSR range
    ``start[j·gnx + i0] : start[j·gnx + i1 + 1]`` of the row's cells i0..i1. Returns the
    query of each candidate and its CSR position, in the kernels' loop order (query, row,
    cell, item)."""
    rows = np.where(i1 >= i0, np.maximum(j1 - j0 + 1, 0), 0)
    q = np.repeat(np.arange(rows.size), rows)
    j = np.arange(q.size) - np.repeat(np.cumsum(rows) - rows, rows) + j0[q]
    lo = start[j * gnx + i0[q]]
    cnt = start[j * gnx + i1[q] + 1] - lo
    cand_q = np.repeat(q, cnt)
    s = np.arange(cand_q.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo, cnt)
    return cand_q, s


def box_point_pairs(bx0, by0, bx1, by1, px, py, x0, y0, inv_cell, gnx, gny, start, items):
    """Small path of ``_box_point_pairs``: (box, point) pairs, point inside the closed box."""
    i0 = np.maximum(_int(np.floor((bx0 - x0) * inv_cell)), 0)
    i1 = np.minimum(_int(np.floor((bx1 - x0) * inv_cell)), gnx - 1)
    j0 = np.maximum(_int(np.floor((by0 - y0) * inv_cell)), 0)
    j1 = np.minimum(_int(np.floor((by1 - y0) * inv_cell)), gny - 1)
    k, s = _row_ranges(i0, i1, j0, j1, gnx, start)
    p = items[s]
    keep = (bx0[k] <= px[p]) & (px[p] <= bx1[k]) & (by0[k] <= py[p]) & (py[p] <= by1[k])
    return k[keep].astype(np.int64), p[keep].astype(np.int64)


def box_point_candidates(bx0, by0, bx1, by1, px, py, x0, y0, inv_cell, gnx, gny, start,
                         items):  # fmt: skip
    """The number of (box, point) candidates ``_box_point_pairs`` tests. O(boxes + rows)."""
    i0 = np.maximum(_int(np.floor((bx0 - x0) * inv_cell)), 0)
    i1 = np.minimum(_int(np.floor((bx1 - x0) * inv_cell)), gnx - 1)
    j0 = np.maximum(_int(np.floor((by0 - y0) * inv_cell)), 0)
    j1 = np.minimum(_int(np.floor((by1 - y0) * inv_cell)), gny - 1)
    rows = np.where(i1 >= i0, np.maximum(j1 - j0 + 1, 0), 0)
    q = np.repeat(np.arange(rows.size), rows)
    j = np.arange(q.size) - np.repeat(np.cumsum(rows) - rows, rows) + j0[q]
    return float(np.sum(start[j * gnx + i1[q] + 1] - start[j * gnx + i0[q]]))


def point_kernel(
    px, py, nx, ny, zh, zv, want, inside, lamps, dark,
    x0, y0, inv_cell, gnx, gny, reach_max, start, items,
    occl, e_start, e_stop, e_ids, edges, e_height, e_base, i_all,
):  # fmt: skip
    """Small path of ``_point_kernel``: the same (P, 6) table. O(P × lamps near + K)."""
    n = px.size
    out = np.zeros((n, 6))
    if n == 0:
        return out
    i0, i1, j0, j1 = _cell_range(px, py, x0, y0, inv_cell, gnx, gny, reach_max)
    pp, s = _row_ranges(i0, i1, j0, j1, gnx, start)
    li = items[s]
    dx = px[pp] - lamps[li, 0]
    dy = py[pp] - lamps[li, 1]
    reach = dx * dx + dy * dy <= lamps[li, 8]
    out[:, 5] = np.bincount(pp[reach], minlength=n)
    keep = reach & ~inside[pp]
    pp = pp[keep]
    li = li[keep]
    rows = lamps[li]
    k8 = np.where(dark[li], 0.0, rows[:, 7])
    eps = 1e-9
    do_h = want[0]
    do_v = want[1] or want[2]
    for plane in range(2):
        if (plane == 0 and not do_h) or (plane == 1 and not do_v):
            continue
        z = zh if plane == 0 else zv
        ddx = px[pp] - rows[:, 0]
        ddy = py[pp] - rows[:, 1]
        ddz = z - rows[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            fu, fb, fw = _lamp_frame(rows, ddx, ddy, ddz)
            c_deg, gam = _angles(fu, fb, fw)
        d2 = ddx * ddx + ddy * ddy + ddz * ddz
        g_lo = rows[:, 9]
        ok = (gam >= g_lo) & (gam <= rows[:, 10]) & (d2 > 1e-12)
        if plane == 0:
            ok = ok & (ddz < 0.0)
        ng = _int(rows[:, 16])
        base, wc, wg = _table_cell(
            c_deg, gam, g_lo, rows[:, 11], rows[:, 12], rows[:, 13], _int(rows[:, 14]),
            _int(rows[:, 15]), ng,
        )  # fmt: skip
        d2 = _pymax(d2, 1e-12)
        light = np.where(ok, k8, 0.0) / (d2 * np.sqrt(d2))
        if occl:
            lit = np.flatnonzero(light != 0.0)
            lx = rows[lit, 0]
            ly = rows[lit, 1]
            x = lx + ddx[lit]
            y = ly + ddy[lit]
            blk = ray_blocked(
                li[lit], lx, ly, rows[lit, 2], np.full(lit.size, z), ddx[lit], ddy[lit],
                _pymin(lx, x), _pymax(lx, x), _pymin(ly, y), _pymax(ly, y), eps, e_start,
                e_stop, e_ids, edges, e_height, e_base,
            )  # fmt: skip
            light[lit[blk]] = 0.0
        light = light * _bilinear(i_all, base, ng, wc, wg)
        if plane == 0:
            out[:, 0] = np.bincount(pp, weights=-ddz * light, minlength=n)
            continue
        proj = -(ddx * nx[pp] + ddy * ny[pp])
        rr = np.sqrt(ddx * ddx + ddy * ddy)
        esc = np.bincount(pp, weights=(rr + proj) * light, minlength=n)
        escb = np.bincount(pp, weights=(rr - proj) * light, minlength=n)
        ev = np.bincount(pp, weights=_pymax(proj, 0.0) * light, minlength=n)
        evb = np.bincount(pp, weights=_pymax(-proj, 0.0) * light, minlength=n)
        out[:, 1] = esc / np.pi
        out[:, 2] = ev
        out[:, 3] = escb / np.pi
        out[:, 4] = evb
    return out
