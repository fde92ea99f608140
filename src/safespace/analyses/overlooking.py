"""Doors that overlook a point: the entrances of other buildings inside the isovist there.

The analysis behind PA003's test that a proposed police entrance is overlooked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["overlooking_doors"]


def overlooking_doors(
    layout: Layout, *, points: np.ndarray, exclude: list[set], radius: float
) -> list[int | None]:
    """Per point: how many entrances of other buildings lie in its isovist.

    Parameters
    ----------
    layout
        The layout (``buildings`` block the view; ``entrances`` are the doors).
    points
        The viewpoints (shapely Points).
    exclude
        Per point, the fids of the buildings whose doors do not count (its own).
    radius
        The isovist's radius, m.

    Returns
    -------
    list
        One count per point: entrances within 1.5 m of the isovist whose building is not
        excluded; every entry None when the isovist analysis is not installed.

    Notes
    -----
    One exact isovist per point (:func:`~safespace.analyses.isovist.isovists`), then one
    distance test per entrance: O(P·(B log B + E)) for P points, B building edges and E
    entrances.
    """
    try:
        from safespace.analyses.isovist import isovists
    except ImportError:
        return [None] * len(points)
    obstacles = layout.buildings.geometry.values
    if len(obstacles) == 0:
        return [0] * len(points)
    ent = layout.entrances
    out: list[int | None] = []
    polys = isovists(obstacles, shapely.get_coordinates(points), radius)
    for poly, ex in zip(polys, exclude, strict=True):
        if poly.is_empty or ent.empty:
            out.append(0)
            continue
        near = shapely.dwithin(ent.geometry.values, poly, 1.5)
        bf = ent["building_fid"].to_numpy(dtype=object)
        out.append(int(sum(1 for i in np.flatnonzero(near) if bf[i] not in ex)))
    return out
