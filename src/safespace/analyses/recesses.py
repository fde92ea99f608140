"""Recesses and alcoves in building footprints: where someone can stand out of sight."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Half the width below which a pocket is a sliver along a wall, not a recess (m).
SLIVER_M = 0.05


def recesses(buildings, closing: float) -> pd.DataFrame:
    """Recesses in building blocks: the pockets a morphological closing fills.

    Buildings that touch are merged into blocks; each block is closed (dilated then eroded by
    ``closing`` m, mitred joins), which fills every notch narrower than ``2 × closing``. A
    pocket's *mouth* is the part of its outline not on a wall; its *depth* is the largest
    distance from the pocket's outline to the mouth and its *width* the mouth's length.
    Complexity: O(v log v) for v footprint vertices.
    """
    cols = ["geometry", "mouth", "depth_m", "width_m", "area_m2", "buildings"]
    if buildings.empty:
        return pd.DataFrame({c: [] for c in cols})
    blocks = shapely.get_parts(shapely.union_all(buildings.geometry.values))
    blocks = blocks[shapely.get_type_id(blocks) == 3]
    closed = shapely.buffer(
        shapely.buffer(blocks, closing, join_style="mitre", mitre_limit=10.0),
        -closing,
        join_style="mitre",
        mitre_limit=10.0,
    )
    pockets, owner = shapely.get_parts(shapely.difference(closed, blocks), return_index=True)
    # drop slivers thinner than 2 × SLIVER_M: the closing also fills the faint kinks of a
    # wall drawn not quite straight, and such a sliver joined to a real recess made its
    # depth jump (1.2 m to 4.0 m) with the layout's orientation
    pockets = shapely.buffer(
        shapely.buffer(pockets, -SLIVER_M, join_style="mitre"), SLIVER_M, join_style="mitre"
    )
    pockets, sub = shapely.get_parts(pockets, return_index=True)
    owner = owner[sub]
    keep = (shapely.get_type_id(pockets) == 3) & (shapely.area(pockets) > 0.01)
    pockets, owner = pockets[keep], owner[keep]
    if not len(pockets):
        return pd.DataFrame({c: [] for c in cols})
    # 1 mm: the closing's vertices on a wall are off it by round-off that grows with the
    # coordinates and the orientation (1e-6 m missed some once the layout was turned)
    walls = shapely.buffer(shapely.boundary(blocks[owner]), 1e-3)
    mouths = shapely.difference(shapely.boundary(pockets), walls)
    xy, pid = shapely.get_coordinates(shapely.boundary(pockets), return_index=True)
    d = shapely.distance(shapely.points(xy), mouths[pid])
    depth = np.zeros(len(pockets))
    np.maximum.at(depth, pid, np.nan_to_num(d, nan=0.0))
    tree = shapely.STRtree(buildings.geometry.values)
    hit = tree.query(shapely.buffer(pockets, 1e-3), predicate="intersects")
    fid = buildings["fid"].to_numpy()
    bl = pd.Series(fid[hit[1]]).groupby(hit[0]).agg(lambda s: tuple(sorted(set(s))))
    return pd.DataFrame(
        {
            "geometry": pockets,
            "mouth": mouths,
            "depth_m": depth,
            "width_m": shapely.length(mouths),
            "area_m2": shapely.area(pockets),
            "buildings": [bl.get(i, ()) for i in range(len(pockets))],
        }
    )


def building_recesses(layout: Layout, *, closing: float = 2.5) -> pd.DataFrame:
    """:func:`recesses` of a layout's buildings (cacheable through ``site.analysis``)."""
    return recesses(layout.buildings, closing)
