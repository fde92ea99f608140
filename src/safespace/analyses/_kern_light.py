"""The numba kernels of :mod:`safespace.analyses.illuminance` (private).

Photometry refined for the kernels, the lamp grid, the pair and point kernels and the
occlusion kernels; the formulas, conventions and costs are in the docstring of
:mod:`.illuminance`, each kernel's own cost in its docstring. The kernels called from Python
are :class:`~safespace.analyses._jit.Kernel` objects: small inputs take their NumPy twins in
:mod:`._kern_light_np` (same answers, no compilation), large ones the compiled kernel.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from safespace.analyses._jit import tiered

if TYPE_CHECKING:
    from safespace.analyses.illuminance import LampSet
    from safespace.photometry import Photometry


# --------------------------------------------------------------------------------------
# Photometry packed for the numba kernel
# --------------------------------------------------------------------------------------
_REFINED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_INTERVALS = 2048  # per axis of a refined table (a table is at most ~4 M values)


def _common_step(angles: np.ndarray) -> float:
    """Largest step (to 1e-6°) of which every angle step is a whole multiple."""
    micro = np.round(np.diff(angles) * 1e6).astype(np.int64)
    return float(np.gcd.reduce(micro)) / 1e6


def _refined(photometry: Photometry) -> tuple[np.ndarray, float, float]:
    """The photometry's candela table on a uniform (C, γ) grid, and 1/ΔC, 1/Δγ.

    The uniform step is the common divisor of the file's steps, so every tabulated angle is
    a node and bilinear interpolation on the uniform grid equals bilinear interpolation on
    the file's grid (a bilinear function restricted to a sub-rectangle is the bilinear
    interpolant of its corners). The kernels then find a cell by one multiplication instead
    of a search. A file whose steps share no divisor giving at most ``_MAX_INTERVALS`` per
    axis is resampled at that many intervals, with a warning giving the largest change at
    its own angles. Cached per photometry.
    """
    hit = _REFINED.get(photometry)
    if hit is not None:
        return hit
    axes = []
    for ang in (photometry.c_angles, photometry.gamma_angles):
        span = float(ang[-1] - ang[0])
        step = _common_step(ang)
        if step <= 0 or span / step > _MAX_INTERVALS + 0.5:
            step = span / _MAX_INTERVALS
        count = int(round(span / step))
        nodes = np.minimum(ang[0] + (span / count) * np.arange(count + 1), ang[-1])
        nodes[-1] = ang[-1]
        axes.append((nodes, count / span))
    (c, c_inv), (g, g_inv) = axes
    cc, gg = np.meshgrid(c, g, indexing="ij")
    table = np.ascontiguousarray(photometry.intensity(cc, gg))
    exact = all(
        np.max(np.abs(f - np.round(f))) < 1e-6
        for f in ((photometry.c_angles - c[0]) * c_inv, (photometry.gamma_angles - g[0]) * g_inv)
    )
    if not exact:
        back = _bilinear_uniform(table, c[0], g[0], c_inv, g_inv, photometry)
        dev = float(np.max(np.abs(back - photometry.candela)))
        warnings.warn(
            f"photometry {photometry.name or photometry.source!r}: its angle steps share no "
            f"common divisor; resampled on a {c.size} × {g.size} grid, which changes the "
            f"intensity at the file's own angles by up to {dev:.3g} cd",
            stacklevel=3,
        )
    out = (table, c_inv, g_inv)
    _REFINED[photometry] = out
    return out


def _bilinear_uniform(table, c0, g0, c_inv, g_inv, photometry: Photometry) -> np.ndarray:
    """The resampled table evaluated back at the file's own (C, γ) nodes (for the warning)."""
    cc, gg = np.meshgrid(photometry.c_angles, photometry.gamma_angles, indexing="ij")
    fc = (cc - c0) * c_inv
    fg = (gg - g0) * g_inv
    ic = np.clip(fc.astype(np.int64), 0, table.shape[0] - 2)
    ig = np.clip(fg.astype(np.int64), 0, table.shape[1] - 2)
    tc, tg = fc - ic, fg - ig
    lo = table[ic, ig] * (1 - tg) + table[ic, ig + 1] * tg
    hi = table[ic + 1, ig] * (1 - tg) + table[ic + 1, ig + 1] * tg
    return lo * (1 - tc) + hi * tc


def _candela(photometries: Sequence[Photometry]) -> np.ndarray:
    """The refined tables of ``photometries`` flattened one after another (C-major)."""
    return np.concatenate([_refined(p)[0].ravel() for p in photometries])


# --------------------------------------------------------------------------------------
# Work estimates of the kernels called from Python (see safespace.analyses._jit); the
# limits below are where a NumPy twin costs about as much as loading the compiled kernel
# --------------------------------------------------------------------------------------
def _work_pairs(lamp_i, *_):
    return lamp_i.size


def _work_point_lamp(px, py, lamps, *_):
    return px.size * lamps.shape[0]


def _work_point(px, py, nx, ny, zh, zv, want, inside, lamps, dark, *rest):
    occl, e_ids = rest[8], rest[11]
    return px.size * (lamps.shape[0] + (e_ids.size if occl else 0))


def _work_blocked(lamp_i, pt_i, lamps, px, py, pz, e_start, e_stop, *_):
    return float(np.sum((e_stop - e_start)[lamp_i]))


def _work_boxes(*args):
    from safespace.analyses._kern_light_np import box_point_candidates

    return box_point_candidates(*args)


# Cephes atan coefficients (S. L. Moshier, Cephes Math Library, atan.c; |error| ~ 1e-16).
_P0, _P1, _P2, _P3, _P4 = (-8.750608600031904122785e-1, -1.615753718733365076637e1,
                           -7.500855792314704667340e1, -1.228866684490136173410e2,
                           -6.485021904942025371773e1)  # fmt: skip
_Q0, _Q1, _Q2, _Q3, _Q4 = (2.485846490142306297962e1, 1.650270098316988542046e2,
                           4.328810604912902668951e2, 4.853903996359136964868e2,
                           1.945506571482613964425e2)  # fmt: skip
_MOREBITS = 6.123233995736765886130e-17


@nb.njit(cache=True, inline="always")
def _atan2(y, x):
    """atan2 in radians, accurate to ~1e-16; cheaper than libm's inside a numba loop.

    Both argument reductions are computed and selected (no branch), so a loop over it
    vectorises.
    """
    ax = abs(x)
    ay = abs(y)
    num = min(ax, ay)
    den = max(max(ax, ay), 1e-300)
    t0 = num / den
    big = t0 > 0.66
    t1 = (t0 - 1.0) / (t0 + 1.0)
    t = t1 if big else t0
    z = t * t
    p = (((_P0 * z + _P1) * z + _P2) * z + _P3) * z + _P4
    q = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    r = t * z * p / q + t
    r = r + (0.7853981633974483096 + 0.5 * _MOREBITS if big else 0.0)
    r = 1.5707963267948966192 - r if ay > ax else r
    r = 3.141592653589793238 - r if x < 0.0 else r
    return -r if y < 0.0 else r


@nb.njit(cache=True, inline="always")
def _table_cell(c_deg, gam, g_lo, c0, c_inv, g_inv, offset, nc, ng):
    """Flat index of the lower-left corner of (C, γ)'s cell in a refined table starting at
    ``offset`` (nc × ng, C-major), and the weights along C and γ. Branch-free; γ is clamped
    into the table (the caller tests the span), C wraps at 360°."""
    cc = c_deg - c0
    cc = min(max(cc - 360.0 * np.floor(cc * (1.0 / 360.0)), 0.0), 360.0)
    fc = cc * c_inv
    fg = min(max(gam - g_lo, 0.0), 180.0) * g_inv
    ic = min(int(fc), nc - 2)
    ig = min(int(fg), ng - 2)
    return offset + ic * ng + ig, fc - ic, fg - ig


@nb.njit(cache=True, inline="always")
def _bilinear(i_all, base, ng, tc, tg):
    """Bilinear blend of the table cell whose lower-left corner is ``base``."""
    i00 = i_all[base]
    i01 = i_all[base + 1]
    i10 = i_all[base + ng]
    i11 = i_all[base + ng + 1]
    return (i00 + (i01 - i00) * tg) * (1.0 - tc) + (i10 + (i11 - i10) * tg) * tc


@nb.njit(cache=True, inline="always")
def _table_intensity(lamps, li, c_deg, gam, i_all):
    """Maintained intensity (cd × flux scale × MF) of lamp ``li`` at (C, γ) in degrees.

    Bilinear on the lamp's refined uniform table (see :func:`_refined`); 0 outside its γ span.
    """
    # lamps columns 9-16: first γ, last γ, first C, 1/ΔC, 1/Δγ, table offset, nC, nγ
    if gam < lamps[li, 9] or gam > lamps[li, 10]:
        return 0.0
    ng = int(lamps[li, 16])
    base, tc, tg = _table_cell(
        c_deg, gam, lamps[li, 9], lamps[li, 11], lamps[li, 12], lamps[li, 13],
        int(lamps[li, 14]), int(lamps[li, 15]), ng,
    )  # fmt: skip
    return _bilinear(i_all, base, ng, tc, tg) * lamps[li, 7]


@nb.njit(cache=True, inline="always")
def _lamp_frame(lamps, li, dx, dy, dz):
    """(u, b, w): the direction (dx, dy, dz) point − lamp in lamp ``li``'s own frame.

    u along C0 = (sin az, cos az), b along C90 after the tilt about the C0 axis, w upward.
    """
    ca = lamps[li, 3]
    sa = lamps[li, 4]
    ct = lamps[li, 5]
    st = lamps[li, 6]
    u = dx * sa + dy * ca
    v = -dx * ca + dy * sa
    return u, ct * v + st * dz, -st * v + ct * dz


@nb.njit(cache=True, inline="always")
def _angles(u, b, w):
    """(C, γ) in degrees of the direction (u, b, w) in a lamp's frame; branch-free."""
    rad2deg = 57.29577951308232
    return _atan2(b, u) * rad2deg, _atan2(np.sqrt(u * u + b * b), -w) * rad2deg


@tiered(_work_pairs, 40_000, "safespace.analyses._kern_light_np:pair_kernel")
@nb.njit(parallel=True, fastmath=True, cache=True)
def _pair_kernel(lamp_i, pt_i, lamps, px, py, pz, nx, ny, want, i_all):
    """Per-pair E_h, E_sc, E_v (columns 0, 1, 2) for explicit lamp/point pairs. O(K)."""
    k = lamp_i.size
    out = np.zeros((k, 3))
    for q in nb.prange(k):
        li = lamp_i[q]
        pi_ = pt_i[q]
        dx = px[pi_] - lamps[li, 0]
        dy = py[pi_] - lamps[li, 1]
        dz = pz[pi_] - lamps[li, 2]
        r2 = dx * dx + dy * dy
        d2 = r2 + dz * dz
        if d2 <= 1e-12:
            continue
        u, b, w = _lamp_frame(lamps, li, dx, dy, dz)
        c_deg, gam = _angles(u, b, w)
        inten = _table_intensity(lamps, li, c_deg, gam, i_all)
        if inten == 0.0:
            continue
        inv3 = 1.0 / (d2 * np.sqrt(d2))
        if want[0] and dz < 0.0:
            out[q, 0] = inten * (-dz) * inv3
        if want[1] or want[2]:
            # horizontal vector point -> lamp is (-dx, -dy); its projection on n
            proj = -(dx * nx[pi_] + dy * ny[pi_])
            if want[1]:
                out[q, 1] = inten * (np.sqrt(r2) + proj) * inv3 / np.pi
            if want[2] and proj > 0.0:
                out[q, 2] = inten * proj * inv3
    return out


# --------------------------------------------------------------------------------------
# Uniform grid of lamps: neighbours of a point without a tree
# --------------------------------------------------------------------------------------
@dataclass
class _LampGrid:
    """Lamps bucketed in square cells of side ≥ the largest reach (CSR: start, items)."""

    x0: float
    y0: float
    inv_cell: float
    nx: int
    ny: int
    reach_max: float
    start: np.ndarray
    items: np.ndarray


def _lamp_grid(xy: np.ndarray, reach: np.ndarray, max_cells: int = 1 << 22) -> _LampGrid:
    reach_max = float(reach.max())
    x0, y0 = xy.min(axis=0) - 1e-6
    span = np.maximum(xy.max(axis=0) - (x0, y0), 1e-6)
    cell = max(reach_max, 1e-3)
    while np.prod(np.floor(span / cell) + 1) > max_cells:  # far-flung lamps: coarser cells
        cell *= 2.0
    nx, ny = (np.floor(span / cell) + 1).astype(np.int64)
    ix = np.minimum(((xy[:, 0] - x0) / cell).astype(np.int64), nx - 1)
    iy = np.minimum(((xy[:, 1] - y0) / cell).astype(np.int64), ny - 1)
    cid = iy * nx + ix
    items = np.argsort(cid, kind="stable").astype(np.int64)
    start = np.searchsorted(cid[items], np.arange(nx * ny + 1)).astype(np.int64)
    return _LampGrid(float(x0), float(y0), 1.0 / cell, int(nx), int(ny), reach_max, start, items)


@nb.njit(cache=True, inline="always")
def _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max):
    i0 = max(int(np.floor((x - reach_max - x0) * inv_cell)), 0)
    i1 = min(int(np.floor((x + reach_max - x0) * inv_cell)), gnx - 1)
    j0 = max(int(np.floor((y - reach_max - y0) * inv_cell)), 0)
    j1 = min(int(np.floor((y + reach_max - y0) * inv_cell)), gny - 1)
    return i0, i1, j0, j1


@tiered(_work_point_lamp, 20_000)
@nb.njit(parallel=True, cache=True)
def _count_pairs(px, py, lamps, x0, y0, inv_cell, gnx, gny, reach_max, start, items):
    n = px.size
    counts = np.zeros(n, np.int64)
    for p in nb.prange(n):
        x = px[p]
        y = py[p]
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        m = 0
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    li = items[s]
                    dx = x - lamps[li, 0]
                    dy = y - lamps[li, 1]
                    if dx * dx + dy * dy <= lamps[li, 8]:
                        m += 1
        counts[p] = m
    return counts


@tiered(_work_point_lamp, 20_000)
@nb.njit(parallel=True, cache=True)
def _fill_pairs(px, py, lamps, x0, y0, inv_cell, gnx, gny, reach_max, start, items, offs):
    n = px.size
    lamp_i = np.empty(offs[n], np.int64)
    pt_i = np.empty(offs[n], np.int64)
    for p in nb.prange(n):
        x = px[p]
        y = py[p]
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        q = offs[p]
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    li = items[s]
                    dx = x - lamps[li, 0]
                    dy = y - lamps[li, 1]
                    if dx * dx + dy * dy <= lamps[li, 8]:
                        lamp_i[q] = li
                        pt_i[q] = p
                        q += 1
    return lamp_i, pt_i


@nb.njit(cache=True, inline="always")
def _gather_in_reach(
    p0, p1, px, py, inside, counts, cell_xyr, x0, y0, inv_cell, gnx, gny, reach_max, start,
    items, pl, pp, seg,
):  # fmt: skip
    """Lamp/point pairs in reach for points p0..p1, grouped by point (pairs of point p are
    seg[p - p0]:seg[p - p0 + 1]); lamps-in-reach counts into ``counts``. Returns the pair
    arrays (grown when full) and the pair count. Points flagged ``inside`` get no pairs.

    The reach test is unpredictable, so lamps are appended without a branch (the write
    always happens; the count advances only for a lamp in reach).
    """
    kk = 0
    for p in range(p0, p1):
        x = px[p]
        y = py[p]
        seg[p - p0] = kk
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        need = 0
        if i1 >= i0:  # (a point far outside the grid has an empty, inverted range)
            for j in range(j0, j1 + 1):
                need += start[j * gnx + i1 + 1] - start[j * gnx + i0]
        if kk + need > pl.size:
            cap = max(2 * pl.size, kk + need)
            grown_l = np.empty(cap, np.int64)
            grown_p = np.empty(cap, np.int64)
            grown_l[:kk] = pl[:kk]
            grown_p[:kk] = pp[:kk]
            pl = grown_l
            pp = grown_p
        k0 = kk
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    # cell_xyr: x, y, reach² of the lamps in cell order (contiguous)
                    dx = x - cell_xyr[s, 0]
                    dy = y - cell_xyr[s, 1]
                    pl[kk] = items[s]
                    pp[kk] = p
                    kk += dx * dx + dy * dy <= cell_xyr[s, 2]
        counts[p] = kk - k0
        if inside[p]:
            kk = k0
    seg[p1 - p0] = kk
    return pl, pp, kk


@tiered(_work_point, 3_000_000, "safespace.analyses._kern_light_np:point_kernel")
@nb.njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def _point_kernel(
    px, py, nx, ny, zh, zv, want, inside, lamps, dark,
    x0, y0, inv_cell, gnx, gny, reach_max, start, items,
    occl, e_start, e_stop, e_ids, edges, e_height, e_base, i_all,
):  # fmt: skip
    """Per point: E_h, E_sc, E_v facing n, E_sc, E_v facing −n, lamps in reach (6 columns).

    Parallel over chunks of points. Each chunk gathers its lamp/point pairs in reach from
    the lamp-grid cells within the largest reach (no global pair list), then, per plane, runs
    passes over the pairs: a gather (offsets in each lamp's frame, and the lamp's table
    constants copied per pair); the C and γ angles and the table cell of every pair, in a
    contiguous branch-free loop that LLVM vectorises (the two atan2 dominate the arithmetic);
    the occlusion test when ``occl``; and the table look-up. Per-point sums follow. Both
    faces of a semi-cylinder / vertical plane share one look-up (the back face's projection
    is minus the front's). ``error_model="numpy"`` lets divisions vectorise (no zero check:
    every divisor here is guarded). O(P × lamps in the neighbouring cells + K), plus the
    edges near each lamp for each pair when ``occl``.
    """
    n = px.size
    out = np.zeros((n, 6))
    counts = np.zeros(n)
    eps = 1e-9
    cell_xyr = np.empty((items.size, 3))
    for s in range(items.size):
        cell_xyr[s, 0] = lamps[items[s], 0]
        cell_xyr[s, 1] = lamps[items[s], 1]
        cell_xyr[s, 2] = lamps[items[s], 8]
    do_h = want[0]
    do_v = want[1] or want[2]
    chunk = 256
    n_chunks = (n + chunk - 1) // chunk
    for ch in nb.prange(n_chunks):
        p0 = ch * chunk
        p1 = min(n, p0 + chunk)
        seg = np.empty(p1 - p0 + 1, np.int64)
        pl, pp, kk = _gather_in_reach(
            p0, p1, px, py, inside, counts, cell_xyr, x0, y0, inv_cell, gnx, gny, reach_max,
            start, items, np.empty(32 * chunk, np.int64), np.empty(32 * chunk, np.int64), seg,
        )  # fmt: skip
        ddx = np.empty(kk)
        ddy = np.empty(kk)
        ddz = np.empty(kk)
        fu = np.empty(kk)
        fb = np.empty(kk)
        fw = np.empty(kk)
        lc = np.empty((9, kk))  # per pair: the lamp's table constants (rows 9-16) and k
        base = np.empty(kk, np.int64)
        ngs = np.empty(kk, np.int64)
        wc = np.empty(kk)
        wg = np.empty(kk)
        light = np.empty(kk)  # I / |d|³ per pair (0 where dark, blocked or out of span)
        for plane in range(2):
            if (plane == 0 and not do_h) or (plane == 1 and not do_v):
                continue
            z = zh if plane == 0 else zv
            for q in range(kk):  # pass 1: gather
                li = pl[q]
                dx = px[pp[q]] - lamps[li, 0]
                dy = py[pp[q]] - lamps[li, 1]
                dz = z - lamps[li, 2]
                ddx[q] = dx
                ddy[q] = dy
                ddz[q] = dz
                fu[q], fb[q], fw[q] = _lamp_frame(lamps, li, dx, dy, dz)
                for c in range(8):
                    lc[c, q] = lamps[li, 9 + c]
                lc[8, q] = 0.0 if dark[li] else lamps[li, 7]
            for q in range(kk):  # pass 2: angles and table cells, vectorised
                c_deg, gam = _angles(fu[q], fb[q], fw[q])
                dx = ddx[q]
                dy = ddy[q]
                dz = ddz[q]
                d2 = dx * dx + dy * dy + dz * dz
                g_lo = lc[0, q]
                ok = (gam >= g_lo) & (gam <= lc[1, q]) & (d2 > 1e-12)
                if plane == 0:
                    ok = ok & (dz < 0.0)
                ng = int(lc[7, q])
                base[q], wc[q], wg[q] = _table_cell(
                    c_deg, gam, g_lo, lc[2, q], lc[3, q], lc[4, q], int(lc[5, q]),
                    int(lc[6, q]), ng,
                )  # fmt: skip
                ngs[q] = ng
                d2 = max(d2, 1e-12)
                light[q] = (lc[8, q] if ok else 0.0) / (d2 * np.sqrt(d2))
            if occl:
                for q in range(kk):  # pass 3: occlusion
                    if light[q] == 0.0:
                        continue
                    li = pl[q]
                    lx = lamps[li, 0]
                    ly = lamps[li, 1]
                    x = lx + ddx[q]
                    y = ly + ddy[q]
                    if _ray_blocked(
                        lx, ly, lamps[li, 2], x, y, z, ddx[q], ddy[q], min(lx, x), max(lx, x),
                        min(ly, y), max(ly, y), eps, e_start[li], e_stop[li],
                        e_ids, edges, e_height, e_base,
                    ):  # fmt: skip
                        light[q] = 0.0
            for q in range(kk):  # pass 4: the table look-up
                light[q] *= _bilinear(i_all, base[q], ngs[q], wc[q], wg[q])
            for p in range(p0, p1):
                q0 = seg[p - p0]
                q1 = seg[p - p0 + 1]
                if plane == 0:
                    eh = 0.0
                    for q in range(q0, q1):
                        eh += -ddz[q] * light[q]
                    out[p, 0] = eh
                    continue
                nxp = nx[p]
                nyp = ny[p]
                esc = 0.0
                escb = 0.0
                ev = 0.0
                evb = 0.0
                for q in range(q0, q1):
                    # horizontal vector point -> lamp is (-dx, -dy); its projection on n
                    proj = -(ddx[q] * nxp + ddy[q] * nyp)
                    rr = np.sqrt(ddx[q] * ddx[q] + ddy[q] * ddy[q])
                    e = light[q]
                    esc += (rr + proj) * e
                    escb += (rr - proj) * e
                    ev += max(proj, 0.0) * e
                    evb += max(-proj, 0.0) * e
                out[p, 1] = esc / np.pi
                out[p, 2] = ev
                out[p, 3] = escb / np.pi
                out[p, 4] = evb
    out[:, 5] = counts
    return out


# --------------------------------------------------------------------------------------
# Obstacles: the kernels of the occlusion tests
# --------------------------------------------------------------------------------------
@tiered(_work_boxes, 200_000, "safespace.analyses._kern_light_np:box_point_pairs")
@nb.njit(cache=True)
def _box_point_pairs(bx0, by0, bx1, by1, px, py, x0, y0, inv_cell, gnx, gny, start, items):
    """(box, point) index pairs with the point inside the closed box; points bucketed in a
    uniform grid (CSR start/items). Two passes (count, fill): O(boxes × cells + pairs)."""
    nb_ = bx0.size
    total = 0
    for pas in range(2):
        if pas == 1:
            ob = np.empty(total, np.int64)
            pt = np.empty(total, np.int64)
        q = 0
        for k in range(nb_):
            i0 = max(int(np.floor((bx0[k] - x0) * inv_cell)), 0)
            i1 = min(int(np.floor((bx1[k] - x0) * inv_cell)), gnx - 1)
            j0 = max(int(np.floor((by0[k] - y0) * inv_cell)), 0)
            j1 = min(int(np.floor((by1[k] - y0) * inv_cell)), gny - 1)
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    c = j * gnx + i
                    for s in range(start[c], start[c + 1]):
                        p = items[s]
                        if bx0[k] <= px[p] <= bx1[k] and by0[k] <= py[p] <= by1[k]:
                            if pas == 1:
                                ob[q] = k
                                pt[q] = p
                            q += 1
        total = q
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return ob, pt


@tiered(_work_blocked, 2_000_000, "safespace.analyses._kern_light_np:blocked_kernel")
@nb.njit(parallel=True, cache=True)
def _blocked_kernel(
    lamp_i, pt_i, lamps, px, py, pz, e_start, e_stop, e_ids, edges, e_height, e_base
):  # fmt: skip
    """True where the lamp→point segment properly crosses an obstacle side (base ≤ z < top)."""
    k = lamp_i.size
    out = np.zeros(k, dtype=np.bool_)
    eps = 1e-9
    for q in nb.prange(k):
        li = lamp_i[q]
        pi_ = pt_i[q]
        ax = lamps[li, 0]
        ay = lamps[li, 1]
        az = lamps[li, 2]
        bx = px[pi_]
        by = py[pi_]
        rx = bx - ax
        ry = by - ay
        minx = min(ax, bx)
        maxx = max(ax, bx)
        miny = min(ay, by)
        maxy = max(ay, by)
        out[q] = _ray_blocked(
            ax, ay, az, bx, by, pz[pi_], rx, ry, minx, maxx, miny, maxy, eps,
            e_start[li], e_stop[li], e_ids, edges, e_height, e_base,
        )  # fmt: skip
    return out


@nb.njit(cache=True, inline="always")
def _ray_blocked(
    ax, ay, az, bx, by, bz, rx, ry, minx, maxx, miny, maxy, eps,
    s0, s1, e_ids, edges, e_height, e_base,
):  # fmt: skip
    """Does the segment (ax, ay, az)→(bx, by, bz) cross one of the edges e_ids[s0:s1]?"""
    for s in range(s0, s1):
        e = e_ids[s]
        cx = edges[e, 0]
        cy = edges[e, 1]
        ex = edges[e, 2]
        ey = edges[e, 3]
        if max(cx, ex) < minx or min(cx, ex) > maxx:
            continue
        if max(cy, ey) < miny or min(cy, ey) > maxy:
            continue
        sx = ex - cx
        sy = ey - cy
        den = rx * sy - ry * sx
        if den == 0.0:
            continue  # parallel: grazing along a wall does not block
        qx = cx - ax
        qy = cy - ay
        t = (qx * sy - qy * sx) / den  # along lamp -> point
        u = (qx * ry - qy * rx) / den  # along the edge
        if t <= eps or t >= 1.0 - eps or u < 0.0 or u > 1.0:
            continue
        # height of the ray where it crosses the obstacle's side
        zc = az + t * (bz - az)
        if zc < e_height[e] and zc >= e_base[e]:
            return True
    return False


# --------------------------------------------------------------------------------------
# Lamp rows: what the kernels read of a lamp
# --------------------------------------------------------------------------------------
def _lamp_rows(lamps: LampSet, reach_factor: float) -> np.ndarray:
    """(m, 17) float rows the kernels read: x, y, H, cos/sin azimuth, cos/sin tilt, k, reach²,
    and, of the lamp's photometry's refined table (:func:`_refined`), first γ, last γ, first C,
    1/ΔC, 1/Δγ, offset in :func:`_candela`'s array, number of C and of γ nodes.

    Copied per lamp so the kernels make no dependent loads through a photometry index.
    """
    az = np.radians(lamps.azimuth_deg)
    tl = np.radians(lamps.tilt_deg)
    reach = reach_factor * lamps.positions[:, 2]
    phs = lamps.photometries
    tables = [_refined(p) for p in phs]
    sizes = np.array([t[0].size for t in tables], dtype=np.float64)
    per_photometry = np.column_stack(
        [
            [p.gamma_angles[0] for p in phs],
            [p.gamma_angles[-1] for p in phs],
            [p.c_angles[0] for p in phs],
            [t[1] for t in tables],
            [t[2] for t in tables],
            np.concatenate([[0.0], np.cumsum(sizes)[:-1]]),
            [t[0].shape[0] for t in tables],
            [t[0].shape[1] for t in tables],
        ]
    ).astype(np.float64)
    return np.ascontiguousarray(
        np.column_stack(
            [
                lamps.positions,
                np.cos(az),
                np.sin(az),
                np.cos(tl),
                np.sin(tl),
                lamps.flux_scale * lamps.maintenance_factor,
                reach * reach,
                per_photometry[lamps.photometry_index],
            ]
        )
    )
