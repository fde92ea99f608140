"""The shape of a uniform bucket grid over wall segments, shared by the visibility kernels."""

from __future__ import annotations

import math

import numpy as np

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
