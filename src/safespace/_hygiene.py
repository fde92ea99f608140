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
        repaired = _polygonal_part(shapely.make_valid(geoms[i]))
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
