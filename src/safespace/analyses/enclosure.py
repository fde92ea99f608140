"""Enclosure round a point: how much of the horizon walls, fences, hedges and buildings close.

An entrapment spot is a small place beside a route shielded on most sides, where someone can
wait unseen and a walker cannot get away; the end of a path that runs out into open ground
is not one, however little it is overlooked. :func:`enclosure_share` measures that
shielding as the share of rays from the point that meet an obstacle within a radius.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Barrier values that close a view and a way out (OSM ``barrier=*``); kerbs, bollards,
#: gates and guard rails do not.
ENCLOSING_BARRIERS = frozenset({"wall", "fence", "hedge", "retaining_wall", "city_wall"})
#: Planting that closes a way out (OSM ``natural=*``): dense shrubs, not trees.
ENCLOSING_PLANTING = frozenset({"shrub", "scrub", "shrubbery", "hedge"})


def enclosing_obstacles(layout: Layout) -> np.ndarray:
    """The layout's obstacles that enclose: building footprints, walls, fences and hedges
    (:data:`ENCLOSING_BARRIERS`) and dense planting (:data:`ENCLOSING_PLANTING`)."""
    parts = []
    if not layout.buildings.empty:
        parts.append(layout.buildings.geometry.values)
    br = layout.barriers
    if not br.empty:
        parts.append(br.geometry.values[br["barrier"].isin(ENCLOSING_BARRIERS).to_numpy()])
    pl = layout.planting
    if not pl.empty:
        parts.append(pl.geometry.values[pl["natural"].isin(ENCLOSING_PLANTING).to_numpy()])
    if not parts:
        return np.empty(0, dtype=object)
    geoms = np.concatenate([np.asarray(p, dtype=object) for p in parts])
    return geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]


def enclosure_share(points, obstacles, radius: float, rays: int = 16) -> np.ndarray:
    """Share of ``rays`` equally spaced rays of length ``radius`` from each point that meet
    an obstacle.

    Parameters
    ----------
    points
        Shapely points (array-like), in metres.
    obstacles
        Shapely geometries that block a ray (footprints, walls, hedges).
    radius
        Ray length in metres.
    rays
        Number of rays, equally spaced from east anticlockwise.

    Returns
    -------
    numpy.ndarray
        One share in [0, 1] per point; 1 where the point lies inside an obstacle.

    Notes
    -----
    Complexity: O(p · r · log m) for p points, r rays and m obstacles (an STR-tree query
    per ray).
    """
    pts = np.asarray(points, dtype=object)
    out = np.zeros(len(pts))
    obs = np.asarray(obstacles, dtype=object)
    if not len(pts) or not len(obs) or radius <= 0:
        return out
    xy = shapely.get_coordinates(pts)
    angles = 2 * np.pi * np.arange(rays) / rays
    d = np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius
    start = np.repeat(xy, rays, axis=0)
    end = start + np.tile(d, (len(pts), 1))
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    hit, _ = shapely.STRtree(obs).query(lines, predicate="intersects")
    blocked = np.zeros(len(lines), dtype=bool)
    blocked[hit] = True
    return blocked.reshape(len(pts), rays).mean(axis=1)
