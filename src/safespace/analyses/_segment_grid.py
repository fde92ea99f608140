"""Uniform bucket grids over straight segments (CSR: cell → segment ids), one home for all.

- :func:`grid_shape`: origin, cell size and cell counts for the wall grids;
- :func:`bbox_grid`: each segment in every cell its bounding box overlaps (the isovist
  sweep's and the sight-line kernels' wall grids, :mod:`.isovist`, :mod:`._visibility`);
- :func:`piece_grid`: each segment cut into pieces no longer than a cell, each piece in the
  cells its (padded) box overlaps, so that a long diagonal street is not registered in the
  whole square it spans (the snapping grid of the travel-time router, :mod:`._kern_snap`).

Both builders are numba kernels with a small path for small inputs (:mod:`._jit`): their own
Python source, run by the interpreter.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from safespace.analyses._jit import tiered

MAX_CELLS_PER_AXIS = 4096


def grid_shape(
    seg: np.ndarray, cell_size: float | None, min_cell: float
) -> tuple[float, float, float, int, int]:
    """Origin, cell size and cell counts of a grid covering segments ``(n, 4)``.

    Without a ``cell_size``, cells are about three times the mean segment spacing (a dozen
    segments per occupied cell), at least ``min_cell`` metres; at most
    :data:`MAX_CELLS_PER_AXIS` cells a side. Complexity: O(n).

    Returns
    -------
    (x0, y0, cell, nx, ny)
    """
    if len(seg) == 0:
        return 0.0, 0.0, 1.0, 1, 1
    x0 = float(min(seg[:, 0].min(), seg[:, 2].min()))
    y0 = float(min(seg[:, 1].min(), seg[:, 3].min()))
    w = float(max(seg[:, 0].max(), seg[:, 2].max())) - x0
    h = float(max(seg[:, 1].max(), seg[:, 3].max())) - y0
    if cell_size is None:
        cell_size = max(min_cell, 3.0 * math.sqrt(max(w * h, 1.0) / len(seg)))
    cell = float(cell_size)
    nx = max(1, min(int(w / cell) + 1, MAX_CELLS_PER_AXIS))
    ny = max(1, min(int(h / cell) + 1, MAX_CELLS_PER_AXIS))
    cell = max(cell, w / nx * 1.000001, h / ny * 1.000001)
    return x0, y0, cell, nx, ny


def _work_bbox(seg, x0, y0, cell, nx, ny):
    # grid memberships (interpreted: about 1 µs each, plus 5 µs a segment)
    lo_x = np.clip(((np.minimum(seg[:, 0], seg[:, 2]) - x0) / cell).astype(np.int64), 0, nx - 1)
    hi_x = np.clip(((np.maximum(seg[:, 0], seg[:, 2]) - x0) / cell).astype(np.int64), 0, nx - 1)
    lo_y = np.clip(((np.minimum(seg[:, 1], seg[:, 3]) - y0) / cell).astype(np.int64), 0, ny - 1)
    hi_y = np.clip(((np.maximum(seg[:, 1], seg[:, 3]) - y0) / cell).astype(np.int64), 0, ny - 1)
    return 5.0 * seg.shape[0] + float(np.sum((hi_x - lo_x + 1) * (hi_y - lo_y + 1)))


@tiered(_work_bbox, 20_000)
@numba.njit(cache=True)
def bbox_grid(seg, x0, y0, cell, nx, ny):
    """Bucket segments ``(n, 4)`` (rows ax, ay, bx, by) into a uniform grid by their
    bounding boxes.

    Complexity: O(n + total cell memberships) time and memory for n segments.

    Returns ``cell_start`` (CSR offsets, length ``nx * ny + 1``), ``cell_items`` (segment
    ids, in increasing order within a cell) and each segment's lowest cell column/row
    (``six``, ``siy``), which the isovist query uses to report every segment once even when
    it spans several cells.
    """
    n = seg.shape[0]
    six = np.empty(n, np.int64)
    siy = np.empty(n, np.int64)
    sjx = np.empty(n, np.int64)
    sjy = np.empty(n, np.int64)
    counts = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        lx = min(seg[i, 0], seg[i, 2])
        hx = max(seg[i, 0], seg[i, 2])
        ly = min(seg[i, 1], seg[i, 3])
        hy = max(seg[i, 1], seg[i, 3])
        six[i] = min(max(int((lx - x0) / cell), 0), nx - 1)
        sjx[i] = min(max(int((hx - x0) / cell), 0), nx - 1)
        siy[i] = min(max(int((ly - y0) / cell), 0), ny - 1)
        sjy[i] = min(max(int((hy - y0) / cell), 0), ny - 1)
        for cy in range(siy[i], sjy[i] + 1):
            for cx in range(six[i], sjx[i] + 1):
                counts[cy * nx + cx + 1] += 1
    cell_start = np.cumsum(counts)
    fill = cell_start[:-1].copy()
    cell_items = np.empty(cell_start[-1], np.int64)
    for i in range(n):
        for cy in range(siy[i], sjy[i] + 1):
            for cx in range(six[i], sjx[i] + 1):
                c = cy * nx + cx
                cell_items[fill[c]] = i
                fill[c] += 1
    return cell_start, cell_items, six, siy


@numba.njit(cache=True)
def cell_of(v, v0, h, n):
    """The cell (0 … n − 1, clamped) of coordinate ``v`` on an axis starting at ``v0``."""
    c = int(np.floor((v - v0) / h))
    return min(max(c, 0), n - 1)


def _work_pieces(ax, ay, bx, by, x0, y0, h, nx, ny):
    # pieces registered (interpreted: about 40 µs a piece)
    return float(np.sum(np.ceil(np.hypot(bx - ax, by - ay) / h) + 1.0))


@tiered(_work_pieces, 500)
@numba.njit(cache=True)
def piece_grid(ax, ay, bx, by, x0, y0, h, nx, ny):
    """Bucket segments ``a[i]``–``b[i]`` (coordinate arrays) in a grid of square cells of side
    ``h``: each segment is cut into m = ⌈length / h⌉ pieces and registered once in every cell
    the box of a piece (padded by h·1e-9 against rounding) overlaps.

    Complexity: O(S + L / h) for S segments of total length L (at most 2 × 2 cells a piece).

    Returns ``start`` (CSR offsets, length ``nx * ny + 1``) and ``items`` (segment ids,
    increasing within a cell).
    """
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
                i0 = cell_of(min(xa, xb) - pad, x0, h, nx)
                i1 = cell_of(max(xa, xb) + pad, x0, h, nx)
                j0 = cell_of(min(ya, yb) - pad, y0, h, ny)
                j1 = cell_of(max(ya, yb) + pad, y0, h, ny)
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
