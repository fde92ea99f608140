"""Indexes of the layout's named streets and paths, for naming places that have no name.

Two indexes, each cached once per assessment through ``site.analysis``:

:func:`named_route_index`
    The lighting rules' (``the footway by Mill Lane``): every street and foot route whose
    ``name`` is a text, searched within a distance for the nearest by distance.
:func:`named_ways`
    The police access rules' (``the police premises on Mill Lane``): the same layers, but a
    name that is an OSM id is no name, and the nearest named way within ``within_m`` is
    found by one nearest-neighbour query.

They differ in what counts as a name and how the nearest is found, and their messages
depend on both, so they stay two analyses. (:func:`safespace._place.where_unnamed` is a
third, for the issue grouping: it leaves out ways below ground.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace._classify import tag_text

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["NamedWays", "named_route_index", "named_ways"]


def named_route_index(layout: Layout) -> tuple[shapely.STRtree | None, np.ndarray, np.ndarray]:
    """An index of the named streets and routes.

    Parameters
    ----------
    layout
        The layout (``streets``, ``foot_routes``).

    Returns
    -------
    tuple
        ``(tree, names, geometries)``: an STRtree of the named ways (None when there is
        none), their names and geometries, in the layers' order (streets first).

    Notes
    -----
    O(n log n) for n ways (the tree).
    """
    parts = [f for f in (layout.streets, layout.foot_routes) if not f.empty and "name" in f]
    if not parts:
        return None, np.empty(0, dtype=object), np.empty(0, dtype=object)
    names = np.concatenate([f["name"].to_numpy(dtype=object) for f in parts])
    geoms = np.concatenate([f.geometry.values for f in parts])
    ok = np.array([tag_text(n) is not None for n in names], dtype=bool)
    if not ok.any():
        return None, np.empty(0, dtype=object), np.empty(0, dtype=object)
    return shapely.STRtree(geoms[ok]), names[ok], geoms[ok]


def way_name(value: Any) -> str | None:
    """A usable name: not None, NaN, empty or an OSM id."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = str(value).strip()
    if not s or s.lower() in ("nan", "none") or s.split("/")[0] in ("node", "way", "relation"):
        return None
    return s


class NamedWays:
    """Nearest named street or path, for describing places that have no name of their own."""

    def __init__(self, layout: Layout, within_m: float = 40.0):
        geoms, names = [], []
        for frame in (layout.streets, layout.foot_routes):
            if frame.empty or "name" not in frame.columns:
                continue
            for g, nm in zip(frame.geometry.values, frame["name"], strict=True):
                t = way_name(nm)
                if t and g is not None:
                    geoms.append(g)
                    names.append(t)
        self.geoms = np.asarray(geoms, dtype=object)
        self.names = names
        self.tree = shapely.STRtree(self.geoms) if len(self.geoms) else None
        self.within_m = within_m

    def near(self, geoms: Any) -> list[str | None]:
        """The nearest named way within ``within_m`` of each geometry (None if none)."""
        geoms = np.asarray(geoms, dtype=object).ravel()
        out: list[str | None] = [None] * len(geoms)
        if self.tree is None or len(geoms) == 0:
            return out
        qi, ti = self.tree.query_nearest(geoms, max_distance=self.within_m, all_matches=False)
        for q, t in zip(qi.tolist(), ti.tolist(), strict=True):
            out[q] = self.names[t]
        return out


def named_ways(layout: Layout, *, within_m: float = 40.0) -> NamedWays:
    """The named streets and paths of a layout, for :meth:`NamedWays.near`.

    Parameters
    ----------
    layout
        The layout (``streets``, ``foot_routes``).
    within_m
        A way farther than this from a place does not name it, m.

    Returns
    -------
    NamedWays

    Notes
    -----
    O(n log n) for n named ways (the tree); each :meth:`NamedWays.near` query O(q log n).
    """
    return NamedWays(layout, within_m)
