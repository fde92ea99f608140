"""Recesses and alcoves in building footprints: where someone can stand out of sight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numba
import numpy as np
import pandas as pd
import shapely

from safespace.analyses._visibility import group_tuples

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Half the width below which a pocket is a sliver along a wall, not a recess (m).
SLIVER_M = 0.05


#: Below this many vertices a GEOS call runs in one thread.
_SPLIT_VERTICES = 20_000


def _each(func, geoms: np.ndarray, *others, **kwargs) -> np.ndarray:
    """``func(geoms, *others, **kwargs)`` for a vectorised shapely function, the arrays cut
    into pieces of about equal vertex counts run on numba's thread count (GEOS releases the
    GIL). Each geometry is computed alone, so the answer is the one-call answer.
    O(vertices / threads) wall time, plus O(n) to cut and join.
    """
    threads = numba.get_num_threads()
    n = len(geoms)
    verts = np.cumsum(shapely.get_num_coordinates(geoms)) if n else np.zeros(0)
    if threads < 2 or n < 2 * threads or verts[-1] < _SPLIT_VERTICES:
        return func(geoms, *others, **kwargs)
    pieces = 4 * threads  # some slack: vertex counts only estimate the work
    cuts = np.unique(np.searchsorted(verts, verts[-1] * np.arange(1, pieces) / pieces))
    bounds = list(zip(np.r_[0, cuts].tolist(), np.r_[cuts, n].tolist(), strict=True))
    bounds = [(a, b) for a, b in bounds if b > a]

    def piece(ab: tuple[int, int]) -> np.ndarray:
        a, b = ab
        return func(geoms[a:b], *(o[a:b] for o in others), **kwargs)

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(piece, bounds))
    return np.concatenate(parts)


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
    closed = _each(_closing, blocks, closing=closing)
    pockets, owner = shapely.get_parts(_each(shapely.difference, closed, blocks), return_index=True)
    # drop slivers thinner than 2 × SLIVER_M: the closing also fills the faint kinks of a
    # wall drawn not quite straight, and such a sliver joined to a real recess made its
    # depth jump (1.2 m to 4.0 m) with the layout's orientation
    pockets = _each(_opening, pockets)
    pockets, sub = shapely.get_parts(pockets, return_index=True)
    owner = owner[sub]
    keep = (shapely.get_type_id(pockets) == 3) & (shapely.area(pockets) > 0.01)
    pockets, owner = pockets[keep], owner[keep]
    if not len(pockets):
        return pd.DataFrame({c: [] for c in cols})
    # each block's walls once (a block with several pockets shares them)
    owners, which = np.unique(owner, return_inverse=True)
    walls = _each(_walls, blocks[owners])[which]
    outline = shapely.boundary(pockets)
    mouths = _each(shapely.difference, outline, walls)
    xy, pid = shapely.get_coordinates(outline, return_index=True)
    d = shapely.distance(shapely.points(xy), mouths[pid])
    depth = np.zeros(len(pockets))
    np.maximum.at(depth, pid, np.nan_to_num(d, nan=0.0))
    tree = shapely.STRtree(buildings.geometry.values)
    hit = tree.query(shapely.buffer(pockets, 1e-3), predicate="intersects")
    fid = buildings["fid"].to_numpy()
    near = group_tuples(hit[0], fid[hit[1]], len(pockets))
    return pd.DataFrame(
        {
            "geometry": pockets,
            "mouth": mouths,
            "depth_m": depth,
            "width_m": shapely.length(mouths),
            "area_m2": shapely.area(pockets),
            "buildings": [tuple(sorted(set(t))) for t in near],
        }
    )


def _closing(blocks: np.ndarray, closing: float) -> np.ndarray:
    """Dilate then erode by ``closing`` (mitred joins): fills notches up to 2 × closing."""
    grown = shapely.buffer(blocks, closing, join_style="mitre", mitre_limit=10.0)
    return shapely.buffer(grown, -closing, join_style="mitre", mitre_limit=10.0)


def _opening(pockets: np.ndarray) -> np.ndarray:
    """Erode then dilate by ``SLIVER_M``: removes slivers thinner than 2 × SLIVER_M."""
    thin = shapely.buffer(pockets, -SLIVER_M, join_style="mitre")
    return shapely.buffer(thin, SLIVER_M, join_style="mitre")


def _walls(blocks: np.ndarray) -> np.ndarray:
    """The blocks' outlines widened by 1 mm."""
    # 1 mm: the closing's vertices on a wall are off it by round-off that grows with the
    # coordinates and the orientation (1e-6 m missed some once the layout was turned)
    return shapely.buffer(shapely.boundary(blocks), 1e-3)


def building_recesses(layout: Layout, *, closing: float = 2.5) -> pd.DataFrame:
    """:func:`recesses` of a layout's buildings (cacheable through ``site.analysis``)."""
    return recesses(layout.buildings, closing)
