"""Numba kernel of the exact isovist: an angular sweep over a uniform segment grid.

Private module: :mod:`safespace.analyses.isovist` is the public API. Everything here works
on plain arrays so that numba can compile it once (``cache=True``) and run viewpoints in
parallel (``prange``). The segment grid it sweeps over is built by
:func:`safespace.analyses._segment_grid.bbox_grid`.

Conventions
-----------
- Wall segments are stored as rows ``(ax, ay, bx, by)`` oriented so that the obstacle lies
  on the *left* of ``a -> b`` (shapely's counter-clockwise exteriors, clockwise holes).
- Angles inside the kernel are mathematical: radians, counter-clockwise from +x.
- A viewpoint's sweep runs over the relative angle ``phi`` in ``[0, span]`` from ``a0``;
  ``span == 2 pi`` is a full isovist, less is a field-of-view wedge.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

TWO_PI = 2.0 * math.pi

# Measures columns written by the sweep (one row per viewpoint).
M_AREA, M_PERIMETER, M_OCCLUSIVITY, M_MIN_R, M_MAX_R, M_CX, M_CY = range(7)
N_MEASURES = 7

_ANG_SNAP = 1e-9  # radians: events closer than this are one event (no sliver wedges)
_PT_EPS = 1e-8  # metres: consecutive ring vertices closer than this are one vertex
_RADIAL_EPS = 1e-7  # metres: a jump along a ray shorter than this is not an occluding edge
_S_EPS = 1e-9  # slack on the segment parameter of a mid-ray hit


@njit(cache=True)
def _query_box(ox, oy, radius, x0, y0, cell, nx, ny):
    qx0 = min(max(int(math.floor((ox - radius - x0) / cell)), 0), nx - 1)
    qx1 = min(max(int(math.floor((ox + radius - x0) / cell)), 0), nx - 1)
    qy0 = min(max(int(math.floor((oy - radius - y0) / cell)), 0), ny - 1)
    qy1 = min(max(int(math.floor((oy + radius - y0) / cell)), 0), ny - 1)
    empty = (
        ox + radius < x0
        or oy + radius < y0
        or ox - radius > x0 + nx * cell
        or oy - radius > y0 + ny * cell
    )
    return qx0, qx1, qy0, qy1, empty


@njit(cache=True)
def capacities(ox, oy, radius, arc_step, x0, y0, cell, nx, ny, cell_start):
    """Upper bound on the ring length of each viewpoint's isovist.

    Counts the grid memberships in the query box (k, with duplicates): at most 2k + 2
    events, so at most 2k + 2 runs, each emitting two wall vertices or an arc whose
    vertices total at most ``2 pi / arc_step`` plus two per run. O(cells in the box).
    """
    n = ox.shape[0]
    cap = np.empty(n, np.int64)
    arc = int(math.ceil(TWO_PI / arc_step))
    for i in range(n):
        qx0, qx1, qy0, qy1, empty = _query_box(ox[i], oy[i], radius, x0, y0, cell, nx, ny)
        k = 0
        if not empty:
            for cy in range(qy0, qy1 + 1):
                k += cell_start[cy * nx + qx1 + 1] - cell_start[cy * nx + qx0]
        cap[i] = 6 * k + arc + 16
    return cap


@njit(cache=True)
def _rel_angle(x, y, a0):
    a = math.atan2(y, x) - a0
    a = a % TWO_PI
    if a >= TWO_PI:  # -0.0 % 2pi style rounding
        a = 0.0
    return a


@njit(cache=True)
def _bin_range(lo, sp, span, scale, nb):
    """Bins ``[b0, b1]`` and, past the 2 pi wrap, ``[w0, w1]`` touched by ``[lo, lo + sp]``.

    An empty range comes back as ``(0, -1)``.
    """
    end = lo + sp
    b0, b1, w0, w1 = 0, -1, 0, -1
    if lo < span:
        b0 = int(lo * scale)
        b1 = min(int(min(end, span) * scale), nb - 1)
    if end > TWO_PI:
        w1 = min(int(min(end - TWO_PI, span) * scale), nb - 1)
    return b0, b1, w0, w1


@njit(cache=True)
def _push(ring_x, ring_y, base, cnt, x, y):
    """Append a vertex unless it repeats the previous one; return the new count."""
    if cnt > 0:
        if abs(ring_x[base + cnt - 1] - x) + abs(ring_y[base + cnt - 1] - y) < _PT_EPS:
            return cnt
    ring_x[base + cnt] = x
    ring_y[base + cnt] = y
    return cnt + 1


@njit(cache=True)
def _sweep_one(
    seg, grid, ox, oy, radius, a0, span, arc_step, cos_g, sin_g, ring_x, ring_y, base, meas, row
):
    """Isovist of one viewpoint; writes the closed ring at ``ring[base:]``, returns its length.

    Complexity: with k wall segments within the radius, O(k log k) for the event sort and
    the depth order, plus O(k) bin fills per bin spanned, plus one mid-ray query per
    interval that visits only the segments of its angular bin nearest first and stops at the
    first segment farther than the best hit -- about O(k log k) in street scenes.
    """
    six, siy, x0, y0, cell, nx, ny, cell_start, cell_items = grid
    full = span >= TWO_PI - 1e-12
    qx0, qx1, qy0, qy1, empty = _query_box(ox, oy, radius, x0, y0, cell, nx, ny)
    kmax = 0
    if not empty:
        for cy in range(qy0, qy1 + 1):
            kmax += cell_start[cy * nx + qx1 + 1] - cell_start[cy * nx + qx0]

    # 1. Gather front-facing segments clipped to the disc (local coordinates).
    px = np.empty(kmax)
    py = np.empty(kmax)
    qx = np.empty(kmax)
    qy = np.empty(kmax)
    dmin = np.empty(kmax)
    lo = np.empty(kmax)
    sp = np.empty(kmax)
    pux = np.empty(kmax)  # unit vectors towards the clipped ends (exact event directions)
    puy = np.empty(kmax)
    qux = np.empty(kmax)
    quy = np.empty(kmax)
    r2 = radius * radius
    k = 0
    if not empty:
        for cy in range(qy0, qy1 + 1):
            for cx in range(qx0, qx1 + 1):
                c = cy * nx + cx
                for it in range(cell_start[c], cell_start[c + 1]):
                    j = cell_items[it]
                    # Report a segment only in its first cell inside the query box.
                    if cx != max(six[j], qx0) or cy != max(siy[j], qy0):
                        continue
                    ax = seg[j, 0] - ox
                    ay = seg[j, 1] - oy
                    dx = seg[j, 2] - seg[j, 0]
                    dy = seg[j, 3] - seg[j, 1]
                    ll = dx * dx + dy * dy
                    if ll <= 0.0:
                        continue
                    # Obstacle on the left: visible only when the viewpoint is on the right.
                    # Back faces of closed outlines are hidden by their front faces.
                    cr = ay * dx - ax * dy
                    if cr <= 1e-9 * math.sqrt(ll):
                        continue
                    b = ax * dx + ay * dy
                    cc = ax * ax + ay * ay - r2
                    disc = b * b - ll * cc
                    if disc <= 0.0:
                        continue
                    sq = math.sqrt(disc)
                    s0 = max((-b - sq) / ll, 0.0)
                    s1 = min((-b + sq) / ll, 1.0)
                    if s1 <= s0:
                        continue
                    # Seen from the viewpoint a -> b runs clockwise: b-side end comes first.
                    qx[k] = ax + s0 * dx
                    qy[k] = ay + s0 * dy
                    px[k] = ax + s1 * dx
                    py[k] = ay + s1 * dy
                    sf = min(max(-b / ll, s0), s1)
                    fx = ax + sf * dx
                    fy = ay + sf * dy
                    dmin[k] = math.sqrt(fx * fx + fy * fy)
                    rp = math.hypot(px[k], py[k])
                    rq = math.hypot(qx[k], qy[k])
                    pux[k] = px[k] / rp
                    puy[k] = py[k] / rp
                    qux[k] = qx[k] / rq
                    quy[k] = qy[k] / rq
                    lo[k] = _rel_angle(px[k], py[k], 0.0)
                    hi = _rel_angle(qx[k], qy[k], 0.0)
                    sp[k] = (hi - lo[k]) % TWO_PI
                    k += 1

    # A full view starts at angle 0, a multiple of the arc step: its start vertex is an arc
    # grid vertex or a point on a wall (collinear), so it never changes the region.
    if full:
        a0 = 0.0
    for i in range(k):
        lo[i] = (lo[i] - a0) % TWO_PI
        if lo[i] >= TWO_PI:
            lo[i] = 0.0

    # 2. Events: segment end angles inside the view, plus its two limits.
    # Each event carries its unit direction, so rays need no trigonometry.
    ev0 = np.empty(2 * k + 2)
    ex0 = np.empty(2 * k + 2)
    ey0 = np.empty(2 * k + 2)
    ev0[0] = 0.0
    ex0[0] = math.cos(a0)
    ey0[0] = math.sin(a0)
    ev0[1] = span
    ex0[1] = math.cos(a0 + span)
    ey0[1] = math.sin(a0 + span)
    ne = 2
    for i in range(k):
        if lo[i] > 0.0 and lo[i] < span:
            ev0[ne] = lo[i]
            ex0[ne] = pux[i]
            ey0[ne] = puy[i]
            ne += 1
        hi = lo[i] + sp[i]
        if hi >= TWO_PI:
            hi -= TWO_PI
        if hi > 0.0 and hi < span:
            ev0[ne] = hi
            ex0[ne] = qux[i]
            ey0[ne] = quy[i]
            ne += 1
    eorder = np.argsort(ev0[:ne])
    ev = ev0[eorder]
    evx = ex0[eorder]
    evy = ey0[eorder]
    # Snap near-equal events together: a sliver interval would be resolved by a mid-ray
    # at the edge of floating-point precision and could fold the ring on itself.
    for e in range(1, ne):
        if ev[e] - ev[e - 1] < _ANG_SNAP:
            ev[e] = ev[e - 1]
            evx[e] = evx[e - 1]
            evy[e] = evy[e - 1]
    for e in range(ne - 1, -1, -1):
        if span - ev[e] < _ANG_SNAP:
            ev[e] = span
            evx[e] = ex0[1]
            evy[e] = ey0[1]
        else:
            break

    # 3. Angular bins over [0, span), each listing its segments nearest first.
    nb = 16
    while nb < k and nb < 1024:
        nb *= 2
    scale = nb / span
    order = np.argsort(dmin[:k])
    bcount = np.zeros(nb + 1, np.int64)
    for oi in range(k):
        i = order[oi]
        b0, b1, w0, w1 = _bin_range(lo[i], sp[i], span, scale, nb)
        for bb in range(b0, b1 + 1):
            bcount[bb + 1] += 1
        for bb in range(w0, w1 + 1):
            bcount[bb + 1] += 1
    bstart = np.cumsum(bcount)
    fill = bstart[:-1].copy()
    bitems = np.empty(bstart[-1], np.int64)
    for oi in range(k):
        i = order[oi]
        b0, b1, w0, w1 = _bin_range(lo[i], sp[i], span, scale, nb)
        for bb in range(b0, b1 + 1):
            bitems[fill[bb]] = i
            fill[bb] += 1
        for bb in range(w0, w1 + 1):
            bitems[fill[bb]] = i
            fill[bb] += 1

    # 4. Nearest segment of every interval, from one mid-ray (nothing changes inside).
    hit = np.full(ne, -1, np.int64)
    for e in range(ne - 1):
        w = ev[e + 1] - ev[e]
        if w <= 0.0:
            hit[e] = -2  # duplicate event: no interval
            continue
        m = 0.5 * (ev[e] + ev[e + 1])
        if w < 1.5:  # bisector of the two event directions
            ux = evx[e] + evx[e + 1]
            uy = evy[e] + evy[e + 1]
            un = math.hypot(ux, uy)
            ux /= un
            uy /= un
        else:
            ux = math.cos(a0 + m)
            uy = math.sin(a0 + m)
        bb = min(int(m * scale), nb - 1)
        best = math.inf
        for it in range(bstart[bb], bstart[bb + 1]):
            i = bitems[it]
            if dmin[i] >= best:
                break  # every later segment of the bin is farther than the best hit
            dx = qx[i] - px[i]
            dy = qy[i] - py[i]
            den = ux * dy - uy * dx
            if den == 0.0:
                continue
            t = (px[i] * dy - py[i] * dx) / den
            s = (px[i] * uy - py[i] * ux) / den
            if t > 0.0 and s >= -_S_EPS and s <= 1.0 + _S_EPS and t < best:
                best = t
                hit[e] = i

    # 5. Runs of intervals with the same nearest wall (or open sky) -> ring vertices.
    cnt = 0
    if not full:
        cnt = _push(ring_x, ring_y, base, cnt, 0.0, 0.0)
    occl = 0.0
    min_r = math.inf
    have_prev = False
    prev_x = 0.0
    prev_y = 0.0
    first_x = 0.0
    first_y = 0.0
    e = 0
    while e < ne - 1:
        if hit[e] == -2:
            e += 1
            continue
        h = hit[e]
        ra = ev[e]
        f = e + 1
        while f < ne - 1 and (hit[f] == h or hit[f] == -2):
            f += 1
        rb = ev[f]
        if h >= 0:
            dx = qx[h] - px[h]
            dy = qy[h] - py[h]
            c0 = evx[e]
            s0_ = evy[e]
            c1 = evx[f]
            s1_ = evy[f]
            num = px[h] * dy - py[h] * dx
            t0 = num / (c0 * dy - s0_ * dx)
            t1 = num / (c1 * dy - s1_ * dx)
            sx, sy, tx, ty = t0 * c0, t0 * s0_, t1 * c1, t1 * s1_
            # Distance from the viewpoint to the visible piece of the wall.
            ex = tx - sx
            ey = ty - sy
            el = ex * ex + ey * ey
            u = 0.0
            if el > 0.0:
                u = min(max(-(sx * ex + sy * ey) / el, 0.0), 1.0)
            min_r = min(min_r, math.hypot(sx + u * ex, sy + u * ey))
        else:
            sx = radius * evx[e]
            sy = radius * evy[e]
            min_r = min(min_r, radius)
        if have_prev:
            occl += _radial(prev_x, prev_y, sx, sy)
        else:
            first_x = sx
            first_y = sy
        cnt = _push(ring_x, ring_y, base, cnt, sx, sy)
        if h >= 0:
            cnt = _push(ring_x, ring_y, base, cnt, tx, ty)
            prev_x = tx
            prev_y = ty
        else:
            # Arc vertices on a fixed grid of absolute angles (multiples of arc_step), so
            # that an arc cut short by a new obstacle keeps its other vertices, and a
            # scene turned by a multiple of the step gives the same polygon turned.
            aa = a0 + ra
            ab = a0 + rb
            g0 = int(math.floor(aa / arc_step)) + 1
            g1 = int(math.ceil(ab / arc_step)) - 1
            ng = cos_g.shape[0]
            for g in range(g0, g1 + 1):
                a = g * arc_step
                if a - aa > 1e-9 and ab - a > 1e-9:
                    gm = g % ng
                    cnt = _push(ring_x, ring_y, base, cnt, radius * cos_g[gm], radius * sin_g[gm])
            prev_x = radius * evx[f]
            prev_y = radius * evy[f]
            cnt = _push(ring_x, ring_y, base, cnt, prev_x, prev_y)
        have_prev = True
        e = f

    # 6. Close the ring (full view: across the start ray; wedge: back to the viewpoint).
    if full:
        occl += _radial(prev_x, prev_y, first_x, first_y)
        last = base + cnt - 1
        if cnt > 1 and abs(ring_x[last] - first_x) + abs(ring_y[last] - first_y) < _PT_EPS:
            cnt -= 1
        ring_x[base + cnt] = ring_x[base]
        ring_y[base + cnt] = ring_y[base]
        cnt += 1
    else:
        cnt = _push(ring_x, ring_y, base, cnt, 0.0, 0.0)

    # 7. Measures of exactly this ring (shoelace area and centroid, edge lengths).
    area2 = 0.0
    cxs = 0.0
    cys = 0.0
    per = 0.0
    max_r = 0.0
    for i in range(cnt - 1):
        x1 = ring_x[base + i]
        y1 = ring_y[base + i]
        x2 = ring_x[base + i + 1]
        y2 = ring_y[base + i + 1]
        cr = x1 * y2 - x2 * y1
        area2 += cr
        cxs += (x1 + x2) * cr
        cys += (y1 + y2) * cr
        per += math.hypot(x2 - x1, y2 - y1)
        max_r = max(max_r, math.hypot(x1, y1))
    area = 0.5 * area2
    meas[row, M_AREA] = area
    meas[row, M_PERIMETER] = per
    meas[row, M_OCCLUSIVITY] = occl
    meas[row, M_MIN_R] = min_r
    meas[row, M_MAX_R] = max_r
    if area2 != 0.0:
        meas[row, M_CX] = ox + cxs / (3.0 * area2)
        meas[row, M_CY] = oy + cys / (3.0 * area2)
    else:
        meas[row, M_CX] = ox
        meas[row, M_CY] = oy
    # Back to layout coordinates.
    for i in range(cnt):
        ring_x[base + i] += ox
        ring_y[base + i] += oy
    return cnt


@njit(cache=True)
def _radial(x1, y1, x2, y2):
    """Length of the occluding radial edge between two ring points on one ray (0 if none)."""
    d = math.hypot(x2 - x1, y2 - y1)
    return d if d > _RADIAL_EPS else 0.0


@njit(parallel=True, cache=True)
def sweep_batch(seg, grid, ox, oy, radius, a0, span, arc_step, cap_start):
    """Isovists of many viewpoints in parallel (``prange`` over viewpoints).

    ``grid`` is the tuple ``(six, siy, x0, y0, cell, nx, ny, cell_start, cell_items)``.

    Complexity: the sum of :func:`_sweep_one` over viewpoints, divided among threads.

    Returns ``ring_x``, ``ring_y`` (viewpoint ``i`` writes at ``cap_start[i]``), the ring
    length of each viewpoint and the measures table (``N_MEASURES`` columns).
    """
    n = ox.shape[0]
    total = cap_start[n]
    ring_x = np.empty(total)
    ring_y = np.empty(total)
    counts = np.zeros(n, np.int64)
    meas = np.empty((n, N_MEASURES))
    # Unit vectors of the arc grid (arc_step divides the full turn).
    ng = int(round(TWO_PI / arc_step))
    cos_g = np.empty(ng)
    sin_g = np.empty(ng)
    for g in range(ng):
        cos_g[g] = math.cos(g * arc_step)
        sin_g[g] = math.sin(g * arc_step)
    for i in prange(n):
        counts[i] = _sweep_one(
            seg, grid, ox[i], oy[i], radius, a0[i], span[i], arc_step, cos_g, sin_g, ring_x,
            ring_y, cap_start[i], meas, i,
        )  # fmt: skip
    return ring_x, ring_y, counts, meas


@njit(cache=True)
def compact(ring_x, ring_y, cap_start, counts):
    """Pack the rings end to end: (m, 2) coordinates and ring offsets (length n + 1). O(m)."""
    n = counts.shape[0]
    offs = np.zeros(n + 1, np.int64)
    for i in range(n):
        offs[i + 1] = offs[i] + counts[i]
    out = np.empty((offs[n], 2))
    for i in range(n):
        src = cap_start[i]
        dst = offs[i]
        for j in range(counts[i]):
            out[dst + j, 0] = ring_x[src + j]
            out[dst + j, 1] = ring_y[src + j]
    return out, offs
