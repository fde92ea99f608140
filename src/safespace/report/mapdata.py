"""Geometry for the report's map: layout layers and findings as compact, JSON-safe arrays.

The map draws in the layout's metric CRS (Leaflet ``L.CRS.Simple``), so nothing is
reprojected and no tiles are needed. Coordinates are taken relative to a local origin,
quantised to decimetres and delta-encoded per ring or line (``[x0, y0, dx1, dy1, ...]`` as
integers), after a topology-preserving simplification. That keeps the Monaco extract
(23k buildings) to a few megabytes of JSON; ``report.js`` decodes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace.findings import Finding

if TYPE_CHECKING:
    from safespace.layout import Layout

SCALE = 10  # quantisation: integers in decimetres
SIMPLIFY_M = 0.25  # below what a planner can see at the map's largest useful zoom


def _parts(geoms: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Single-part geometries of the given kinds from an array of (multi)geometries."""
    if len(geoms) == 0:
        return np.empty(0, dtype=object)
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    parts = shapely.get_parts(geoms)
    keep = np.isin(shapely.get_type_id(parts), [_TYPE_IDS[k] for k in kinds])
    return parts[keep]


_TYPE_IDS = {"Point": 0, "LineString": 1, "LinearRing": 2, "Polygon": 3}


def _delta_lists(coords: np.ndarray, index: np.ndarray, n: int, origin: np.ndarray) -> list:
    """Quantised, delta-encoded flat coordinate lists, one per index value in ``range(n)``.

    Repeated points after quantisation are dropped. O(total vertices).
    """
    q = np.rint((coords[:, :2] - origin) * SCALE).astype(np.int64)
    if len(q) == 0:
        return [[] for _ in range(n)]
    start = np.ones(len(q), dtype=bool)
    start[1:] = index[1:] != index[:-1]
    delta = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    delta[start] = q[start]
    keep = start | np.any(delta != 0, axis=1)
    delta, index = delta[keep], index[keep]
    bounds = np.searchsorted(index, np.arange(n + 1))
    flat = delta.ravel().tolist()
    return [flat[2 * bounds[i] : 2 * bounds[i + 1]] for i in range(n)]


def encode_lines(geoms: Any, origin: np.ndarray, tolerance: float = SIMPLIFY_M) -> list:
    """Lines (and polygon outlines are not lines: pass LineStrings) as delta lists."""
    lines = _parts(np.asarray(geoms, dtype=object), ("LineString",))
    if len(lines) == 0:
        return []
    lines = shapely.simplify(lines, tolerance, preserve_topology=False)
    coords, index = shapely.get_coordinates(lines, return_index=True)
    out = _delta_lists(coords, index, len(lines), origin)
    return [c for c in out if len(c) >= 4]


def encode_polygons(geoms: Any, origin: np.ndarray, tolerance: float = SIMPLIFY_M) -> list:
    """Polygons as ``[[exterior, hole, ...], ...]`` of delta lists; collapsed rings dropped."""
    polys = _parts(np.asarray(geoms, dtype=object), ("Polygon",))
    if len(polys) == 0:
        return []
    polys = shapely.simplify(polys, tolerance, preserve_topology=True)
    polys = _parts(polys, ("Polygon",))
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    encoded = _delta_lists(coords, ring_idx, len(rings), origin)
    out: list[list] = [[] for _ in range(len(polys))]
    exterior = np.ones(len(rings), dtype=bool)
    exterior[1:] = ring_poly[1:] != ring_poly[:-1]
    for enc, p, ext in zip(encoded, ring_poly.tolist(), exterior.tolist(), strict=True):
        if len(enc) < 8:  # fewer than 4 points (3 + closing) after quantisation
            if ext:
                out[p] = None  # the whole polygon collapsed
            continue
        if out[p] is not None:
            out[p].append(enc)
    return [p for p in out if p]


def encode_points(geoms: Any, origin: np.ndarray) -> list[int]:
    """Points (polygons by a point on their surface) as flat absolute ``[x, y, x, y, ...]``."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return []
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    pts = shapely.point_on_surface(geoms)
    q = np.rint((shapely.get_coordinates(pts) - origin) * SCALE).astype(np.int64)
    return q.ravel().tolist()


def origin_of(*bounds: np.ndarray) -> np.ndarray:
    """The local origin: the lower-left corner of the finite bounds given, floored to metres."""
    b = np.array([x for x in bounds if x is not None and np.all(np.isfinite(x))], dtype=float)
    if len(b) == 0:
        return np.zeros(2)
    return np.floor(b[:, :2].min(axis=0))


def encode_finding_geometry(geom: Any, origin: np.ndarray) -> dict[str, Any] | None:
    """One finding's shape: ``{"k": "pt"|"ln"|"pg", "c": ...}`` or None when unlocated.

    Points, lines and polygons (and their multi forms) become one Leaflet layer each.
    Multi-points and mixed collections are drawn as a marker on a point on their surface,
    with the individual parts in ``"parts"`` as decoration, so that every located finding
    is exactly one clickable shape.
    """
    if geom is None or geom.is_empty:
        return None
    kind = geom.geom_type
    if kind == "Point":
        return {"k": "pt", "c": encode_points([geom], origin)}
    if kind in ("LineString", "MultiLineString", "LinearRing"):
        lines = encode_lines([shapely.force_2d(geom)], origin, tolerance=SIMPLIFY_M / 2)
        if lines:
            return {"k": "ln", "c": lines}
    elif kind in ("Polygon", "MultiPolygon"):
        polys = encode_polygons([geom], origin, tolerance=SIMPLIFY_M / 2)
        if polys:
            return {"k": "pg", "c": polys}
    anchor = {"k": "pt", "c": encode_points([geom], origin)}
    if kind in ("MultiPoint", "GeometryCollection"):
        anchor["parts"] = encode_points(shapely.get_parts(geom), origin)
    return anchor


def finding_items(
    findings: list[Finding], geoms: list, ids: list[str], origin: np.ndarray, **extra: Any
) -> list[dict[str, Any]]:
    """The findings as the map's JSON: id, severity, texts and shape (``g``, None if unlocated)."""
    items = []
    for f, g, fid in zip(findings, geoms, ids, strict=True):
        items.append(
            {
                "id": fid,
                "sev": f.severity,
                "area": f.area,
                "rule": f.rule_id,
                "title": f.title,
                "msg": f.message,
                "rec": f.recommendation,
                "g": encode_finding_geometry(g, origin),
                **extra,
            }
        )
    return items


def _values(frame, crs) -> np.ndarray:
    if frame is None or frame.empty:
        return np.empty(0, dtype=object)
    if crs is not None and frame.crs is not None and not frame.crs.equals(crs):
        frame = frame.to_crs(crs)
    return np.asarray(frame.geometry.values, dtype=object)


def _names(frame) -> np.ndarray:
    if frame is None or frame.empty or "name" not in frame:
        return np.full(0 if frame is None else len(frame), None, dtype=object)
    return np.asarray(frame["name"].where(frame["name"].notna(), None), dtype=object)


def layout_layers(layout: Layout | None, origin: np.ndarray, crs: Any = None) -> dict[str, Any]:
    """The layout's layers as the map's base: buildings, routes, lamps, police premises, ...

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`.
    origin
        Local origin (metres, in ``crs``) the coordinates are taken from.
    crs
        Draw in this CRS (the comparison draws the existing layout in the proposal's CRS);
        the layout's own CRS by default.

    Returns
    -------
    dict
        Encoded layers; named buildings separately (``named``) so the map can label them.
        O(total vertices).
    """
    if layout is None:
        return {}
    crs = crs if crs is not None else layout.crs
    b = layout.buildings
    bgeoms = _values(b, crs)
    names = _names(b)
    named = np.array([isinstance(n, str) and n.strip() != "" for n in names], dtype=bool)
    origin_col = (
        np.asarray(b["origin"], dtype=object) if len(b) and "origin" in b else np.full(len(b), "")
    )
    proposal = origin_col != "context"
    streets = _values(layout.streets, crs)
    street_ids = set(layout.streets["fid"]) if len(layout.streets) else set()
    fr = layout.foot_routes
    foot_only = (
        _values(fr[~fr["fid"].isin(street_ids)], crs) if len(fr) else np.empty(0, dtype=object)
    )
    planting = _values(layout.planting, crs)
    police = layout.police
    police_items = []
    if len(police):
        pgeoms = _values(police, crs)
        pts = encode_points(pgeoms, origin)
        for i, (name, kind) in enumerate(
            zip(_names(police), police.get("police", [None] * len(police)), strict=True)
        ):
            police_items.append(
                {
                    "n": name if isinstance(name, str) and name else "Police premises",
                    "t": kind if isinstance(kind, str) else None,
                    "c": pts[2 * i : 2 * i + 2],
                }
            )
    return {
        "boundary": encode_polygons(_values(layout.boundary, crs), origin),
        "ped": encode_polygons(_values(layout.pedestrian_areas, crs), origin),
        "parking": encode_polygons(_values(layout.parking, crs), origin),
        "green": encode_polygons(planting, origin),
        "hedges": encode_lines(planting, origin),
        "trees": encode_points(
            planting[shapely.get_type_id(planting) == 0] if len(planting) else planting, origin
        ),
        "bld_prop": encode_polygons(bgeoms[proposal & ~named], origin),
        "bld_ctx": encode_polygons(bgeoms[~proposal & ~named], origin),
        "named": [
            {"n": str(n), "ctx": not bool(p), "p": encode_polygons([g], origin)}
            for g, n, p in zip(bgeoms[named], names[named], proposal[named], strict=True)
        ],
        "streets": encode_lines(streets, origin),
        "paths": encode_lines(foot_only, origin),
        "barriers": encode_lines(_values(layout.barriers, crs), origin),
        "entrances": encode_points(_values(layout.entrances, crs), origin),
        "lamps": encode_points(_values(layout.lamps, crs), origin),
        "phones": encode_points(_values(layout.emergency_phones, crs), origin),
        "police": police_items,
    }


VIEW_LAYERS = ("buildings", "streets", "foot_routes", "pedestrian_areas")


def layout_bounds(layout: Layout | None, crs: Any = None) -> np.ndarray | None:
    """``[minx, miny, maxx, maxy]`` to frame the layout in ``crs`` (default its own), or None.

    The site boundary when there is one; else the buildings and routes (a kilometre-long
    fence or river bank in an OSM extract should not shrink the site to a corner); else
    every layer's extent.
    """
    if layout is None:
        return None
    frames = [layout.boundary] if len(layout.boundary) else []
    frames = frames or [getattr(layout, n) for n in VIEW_LAYERS if len(getattr(layout, n))]
    if frames:
        b = np.array([f.total_bounds for f in frames], dtype=float)
        ext = shapely.box(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    else:
        ext = layout.extent
    if ext.is_empty:
        return None
    if crs is not None and not layout.crs.equals(crs):
        import geopandas as gpd

        ext = gpd.GeoSeries([ext], crs=layout.crs).to_crs(crs).values[0]
    return np.asarray(ext.bounds, dtype=float)


def issue_items(issues: list, geoms: list, origin: np.ndarray) -> list[dict[str, Any]]:
    """The issues as the map's JSON: id, severity, scope, place, texts and shape."""
    items = []
    for n, (i, g) in enumerate(zip(issues, geoms, strict=True), start=1):
        items.append(
            {
                "id": i.id,
                "n": n,
                "sev": i.severity,
                "w": i.planning_weight,
                "scope": i.scope,
                "key": bool(i.key_concern),
                "place": i.place,
                "title": i.title,
                "rec": i.recommendation,
                "g": encode_finding_geometry(g, origin),
            }
        )
    return items
