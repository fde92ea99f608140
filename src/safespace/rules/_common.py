"""Helpers several built-in rule modules share: what lies in the site, where the data is cut,
and naming routes and buildings in words.

Rule-side helpers (they read a :class:`~safespace.rules.engine.Site`, its profile and its
cache); the pure naming of :mod:`safespace._place` (``plural``, ``where_unnamed``) is used
from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace._place import named_surface_routes, plural
from safespace._place import where_unnamed as place_where_unnamed
from safespace.layout import data_extent
from safespace.rules.profiles import ASSESSMENT_PARAMS

if TYPE_CHECKING:
    from safespace.layout import Layout
    from safespace.rules.engine import Site

__all__ = [
    "assessable_region",
    "building_place",
    "data_core",
    "edge_margin",
    "in_site",
    "indoor_of",
    "is_label",
    "join_words",
    "known",
    "near_data_edge",
    "plural",
    "route_place",
    "route_words",
    "building_words",
    "where_unnamed",
]


def in_site(site: Site, geoms: Any) -> np.ndarray:
    """Per geometry: does it meet the site polygon (the boundary, or the layout's extent)?"""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(geoms, site.site_polygon), dtype=bool)


def indoor_of(frame) -> np.ndarray:
    """The route layer's ``indoor`` column (:func:`safespace._classify.is_indoor`)."""
    if "indoor" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["indoor"].fillna(False).to_numpy(dtype=bool)


# --- where the data is cut ------------------------------------------------------------------


def edge_margin(site: Site) -> float:
    """The profile's ``[assessment] edge_margin_m`` (its default when the engine does not
    hand the assessment table to the rules)."""
    table = getattr(site, "assessment", None) or {}
    return float(table.get("edge_margin_m", ASSESSMENT_PARAMS["edge_margin_m"].default))


def data_core(site: Site):
    """The data extent less the edge margin: where what lies around a place is known."""
    extent = site.analysis(data_extent)
    margin = edge_margin(site)
    return extent if margin <= 0 or extent.is_empty else shapely.buffer(extent, -margin)


def assessable_region(site: Site, layer: str = "foot_routes"):
    """Where a layer's subject can be assessed from the data: the data core, plus the whole
    proposal when the layer is complete there (a drawing describes its site to the edge)."""
    region = data_core(site)
    if site.layout.is_complete(layer, "proposal"):
        region = shapely.union(region, site.site_polygon)
    return region


def near_data_edge(site: Site, points, origins=None, layer: str = "foot_routes") -> np.ndarray:
    """Per point: within the edge margin of where the data stops, in a partial layer (a
    complete, drawn layer describes its site to the edge: nothing is cut there)."""
    pts = np.asarray(points, dtype=object)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    origins = ["proposal"] * len(pts) if origins is None else list(origins)
    partial = ~site.layout.complete_mask(layer, origins)
    if not partial.any():
        return np.zeros(len(pts), dtype=bool)
    extent = site.analysis(data_extent)
    if extent.is_empty:
        return partial
    ring = shapely.boundary(extent)
    return partial & (shapely.distance(pts, ring) <= edge_margin(site))


# --- naming routes and buildings ------------------------------------------------------------

#: Plain words for route types, for unnamed routes.
_ROUTE_WORDS = {
    "footway": "footway", "path": "path", "pedestrian": "pedestrian street", "steps": "flight of steps",
    "cycleway": "cycle path", "bridleway": "bridleway", "track": "track",
    "corridor": "passage", "service": "service road", "living_street": "street",
    "residential": "street",
}  # fmt: skip


def known(value) -> str | None:
    """A tag value as text, or None when missing (None, NaN, empty, ``nan``, ``none``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text if text and text.lower() not in ("nan", "none") else None


def is_label(fid) -> bool:
    """A drawn proposal's own feature label (``fp01``), not a database id (``way/12``)."""
    return "/" not in str(fid)


def join_words(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    if len(words) > 3:
        words = words[:3] + [f"{len(words) - 3} more"]
    return ", ".join(words[:-1]) + " and " + words[-1]


def route_words(layout: Layout) -> dict[Any, list[tuple[int, int, str | None, str, Any]]]:
    """Per route fid, how :func:`route_place` names it: ``(layer, row, label, kind, geom)``
    for each row with that fid in ``foot_routes`` (layer 0) then ``streets`` (layer 1).

    ``label`` is the street name, else a drawn plan's label, else None (then ``kind``, the
    plain word for the route type, names it). An analysis (``site.analysis(route_words)``):
    O(n) for n routes, once per assessment, so naming a route is a dictionary look-up.
    """
    index: dict[Any, list[tuple[int, int, str | None, str, Any]]] = {}
    for layer, frame in enumerate((layout.foot_routes, layout.streets)):
        if frame.empty:
            continue
        n = len(frame)
        names = frame["name"].to_numpy(dtype=object) if "name" in frame else [None] * n
        kinds = frame["highway"].to_numpy(dtype=object) if "highway" in frame else [None] * n
        for row, (fid, name, hw, geom) in enumerate(
            zip(
                frame["fid"].to_numpy(dtype=object),
                names,
                kinds,
                frame.geometry.values,
                strict=True,
            )
        ):
            label = known(name) or (str(fid) if is_label(fid) else None)
            kind = _ROUTE_WORDS.get(known(hw) or "", "route")
            index.setdefault(fid, []).append((layer, row, label, kind, geom))
    return index


def route_place(site: Site, fids, geom=None) -> str:
    """Name routes in words: their street names, a drawn plan's labels, else what they are
    (``an unnamed footway``). Never a raw OSM id.

    ``fids`` are route fids (in any order: the routes are named in the layers' order);
    ``geom``, where the finding is, places unnamed routes the layout does not hold.
    """
    index = site.analysis(route_words)
    rows = sorted(
        (entry for fid in dict.fromkeys(fids) for entry in index.get(fid, ())),
        key=lambda e: (e[0], e[1]),
    )
    names = [e[2] for e in rows if e[2] is not None]
    if names:
        return join_words(names)
    kinds = [e[3] for e in rows]
    geoms = [e[4] for e in rows]
    at = shapely.union_all(geoms) if geoms else geom  # ``geom``: where the finding is
    where = where_unnamed(site, at) if at is not None else ""
    # the commonest kind; a tie goes to the first in the layers' order, never to the order
    # of a set (which changes with the interpreter's string hashing from run to run)
    kind = max(dict.fromkeys(kinds), key=kinds.count) if kinds else "route"
    return f"an unnamed {kind} {where}".strip()


def building_words(layout: Layout) -> dict[Any, list[tuple[int, str | None]]]:
    """Per building fid, ``(row, label)``: its name, else a drawn plan's label, else None.

    An analysis for :func:`building_place`: O(n) for n buildings, once per assessment.
    """
    b = layout.buildings
    index: dict[Any, list[tuple[int, str | None]]] = {}
    if b.empty:
        return index
    names = b["name"].to_numpy(dtype=object) if "name" in b else [None] * len(b)
    for row, (fid, name) in enumerate(zip(b["fid"].to_numpy(dtype=object), names, strict=True)):
        label = known(name) or (str(fid) if is_label(fid) else None)
        index.setdefault(fid, []).append((row, label))
    return index


def building_place(site: Site, fids, noun: str = "building") -> str:
    """Name buildings in words: their names or a drawn plan's labels, else a count."""
    fids = list(dict.fromkeys(fids))
    index = site.analysis(building_words)
    rows = sorted(entry for fid in fids for entry in index.get(fid, ()))
    names = [label for _, label in rows if label is not None]
    if names and len(names) == len(fids):
        return join_words(names)
    return plural(len(fids), noun)


def where_unnamed(site: Site, geom, within: float = 60.0) -> str:
    """:func:`safespace._place.where_unnamed`, with the named-route index cached for the
    assessment (``off Hauptstraße``, else a grid reference)."""
    return place_where_unnamed(site.layout, geom, within, index=site.analysis(named_surface_routes))
