"""Geometry hygiene on the way in: repair what can be repaired, drop what cannot, say so."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from safespace.findings import InputNote

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_LINEAR = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a make_valid result (which may mix in lines and points)."""
    if shapely.get_type_id(geom) in _POLYGONAL:
        return geom
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in _POLYGONAL]
    if not polys:
        return shapely.Polygon()
    return shapely.union_all(polys)


def _repair(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a repaired polygon; empty when GEOS cannot repair it at all.

    ``make_valid``'s default (linework) method raises on some degenerate input (a shell
    collapsed to a point around a hole: "Overlay input is mixed-dimension"); the structure
    method is tried next, and a polygon neither can repair is dropped with a note.
    """
    for method in ("linework", "structure"):
        try:
            if method == "linework":
                fixed = shapely.make_valid(geom)
            else:
                fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
            return _polygonal_part(fixed)
        except shapely.errors.GEOSException:
            continue
    return shapely.Polygon()


_POINT_TAGS = (("highway", "street_lamp"), ("emergency", "phone"))


def _point_lamps(raw: gpd.GeoDataFrame, label: str, notes: list[InputNote]) -> gpd.GeoDataFrame:
    """Lamps and emergency phones drawn as anything but a Point, made Points, with a note.

    A MultiPoint becomes one feature per point (``fid#1``, ``fid#2``, ...); a line or
    polygon becomes its representative point (a lamp is a point light source).
    """
    if raw.empty:
        return raw
    types = shapely.get_type_id(raw.geometry.values)
    wanted = np.array(
        [
            isinstance(t, dict) and any(t.get(k) == v for k, v in _POINT_TAGS)
            for t in raw["tags"].to_numpy()
        ],
        dtype=bool,
    )
    odd = wanted & (types > 0)  # 0 = Point; -1 = missing (dropped later)
    if not odd.any():
        return raw
    rows = []
    for i, row in enumerate(raw.itertuples(index=False)):
        geom = row.geometry
        if not odd[i] or geom is None or geom.is_empty:
            rows.append(row._asdict())
            continue
        what = "lamp" if row.tags.get("highway") == "street_lamp" else "emergency phone"
        points = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) == 0]
        if shapely.get_type_id(geom) == 4 and points:  # MultiPoint
            for n, p in enumerate(points, 1):
                rows.append({**row._asdict(), "fid": f"{row.fid}#{n}", "geometry": p})
            notes.append(
                InputNote(
                    "info",
                    "split-multipoint",
                    f"{what} drawn as {len(points)} points: read as {len(points)} {what}s",
                    label,
                    row.fid,
                )
            )
            continue
        rows.append({**row._asdict(), "geometry": shapely.point_on_surface(geom)})
        notes.append(
            InputNote(
                "info",
                "point-from-shape",
                f"{what} drawn as a {geom.geom_type}: placed at a point on it",
                label,
                row.fid,
            )
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=raw.crs)[list(raw.columns)]


def clean_features(raw: gpd.GeoDataFrame, label: str) -> tuple[gpd.GeoDataFrame, list[InputNote]]:
    """Repair invalid polygons, drop empty and degenerate features, and note each change.

    Parameters
    ----------
    raw
        Raw features (``fid``, ``tags``, ``geometry``) in a metric CRS.
    label
        The input's name, for the notes.

    Returns
    -------
    (GeoDataFrame, list of InputNote)
    """
    notes: list[InputNote] = []
    raw = _point_lamps(raw, label, notes)
    geoms = raw.geometry.values.copy()
    fids = raw["fid"].to_numpy()
    keep = np.ones(len(raw), dtype=bool)

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        notes.append(
            InputNote(
                "warning", "dropped-empty", "feature has no geometry; dropped", label, fids[i]
            )
        )
    keep &= ~missing

    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, _POLYGONAL) & keep
    invalid = polygonal & ~shapely.is_valid(geoms)
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        repaired = _repair(geoms[i])
        if repaired.is_empty:
            notes.append(
                InputNote(
                    "warning",
                    "dropped-invalid",
                    f"invalid polygon ({reason}) has no area once repaired; dropped",
                    label,
                    fids[i],
                )
            )
            keep[i] = False
            continue
        notes.append(
            InputNote(
                "warning",
                "repaired-invalid",
                f"invalid polygon ({reason}) repaired with make_valid "
                f"(area {shapely.area(geoms[i]):.1f} -> {repaired.area:.1f} m²)",
                label,
                fids[i],
            )
        )
        geoms[i] = repaired

    linear = np.isin(types, _LINEAR) & keep
    degenerate_line = linear & (shapely.length(geoms) < 1e-3)
    degenerate_poly = polygonal & keep & (shapely.area(geoms) < 1e-3)
    for i in np.flatnonzero(degenerate_line | degenerate_poly):
        what = "line of zero length" if degenerate_line[i] else "polygon of zero area"
        notes.append(InputNote("warning", "dropped-degenerate", f"{what}; dropped", label, fids[i]))
    keep &= ~(degenerate_line | degenerate_poly)

    out = raw.loc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries(geoms[keep], index=out.index, crs=raw.crs))
    return out, notes


def merge_duplicates(
    frame: gpd.GeoDataFrame, label: str, what: str = "building"
) -> tuple[gpd.GeoDataFrame, list[InputNote]]:
    """Merge features whose geometries are exactly equal (after normalisation).

    The first feature is kept; tags of the others are added where the first lacks them.
    """
    if len(frame) < 2:
        return frame, []
    keys = shapely.to_wkb(shapely.normalize(frame.geometry.values))
    first: dict[bytes, int] = {}
    drop = []
    notes = []
    for pos, key in enumerate(keys):
        if key in first:
            keep_pos = first[key]
            kept_tags = frame["tags"].iat[keep_pos]
            for k, v in frame["tags"].iat[pos].items():
                kept_tags.setdefault(k, v)
            drop.append(pos)
            notes.append(
                InputNote(
                    "warning",
                    "merged-duplicate",
                    f"exact duplicate of {what} {frame['fid'].iat[keep_pos]}; merged into it",
                    frame["source_label"].iat[pos] if "source_label" in frame else label,
                    frame["fid"].iat[pos],
                )
            )
        else:
            first[key] = pos
    if not drop:
        return frame, []
    mask = np.ones(len(frame), dtype=bool)
    mask[drop] = False
    return frame.loc[mask].copy(), notes
