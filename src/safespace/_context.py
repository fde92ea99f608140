"""Placing a proposal inside its context: replace the context inside the site, join routes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROUTE_LAYERS = ("streets", "foot_routes")


def _insert_vertex(line: shapely.LineString, point: shapely.Point) -> shapely.LineString:
    """The line with ``point`` (which lies on it) inserted as a vertex in order."""
    coords = shapely.get_coordinates(line)
    if len(coords) < 2:
        return line
    at = line.project(point)
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if np.any(np.isclose(cum, at, atol=1e-9)):
        return line
    k = int(np.searchsorted(cum, at))
    new = np.vstack([coords[:k], [[point.x, point.y]], coords[k:]])
    return shapely.LineString(new)


def replace_inside(
    context: dict[str, gpd.GeoDataFrame], site: shapely.Geometry
) -> dict[str, gpd.GeoDataFrame]:
    """The context with everything inside the site removed (routes cut at the site edge).

    Polygons and points whose representative point lies inside the site go; lines are cut
    to the part outside.
    """
    out = {}
    shapely.prepare(site)
    for name, frame in context.items():
        if frame.empty:
            out[name] = frame
            continue
        geoms = np.asarray(frame.geometry.values, dtype=object)
        types = shapely.get_type_id(geoms)
        linear = np.isin(types, (1, 5))
        inside = shapely.contains(site, shapely.point_on_surface(geoms))
        new_geoms = geoms.copy()
        keep = ~inside
        if linear.any():
            cut = shapely.difference(geoms[linear], site)
            new_geoms[linear] = cut
            keep[linear] = ~shapely.is_empty(cut) & (shapely.length(cut) > 1e-6)
        kept = frame.loc[keep].copy()
        kept = kept.set_geometry(gpd.GeoSeries(new_geoms[keep], index=kept.index, crs=frame.crs))
        # a line cut in two by the site becomes a MultiLineString: keep its parts as rows
        if (shapely.get_type_id(kept.geometry.values) == 5).any():
            kept = kept.explode(index_parts=False).reset_index(drop=True)
        out[name] = kept
    return out


def join_routes(
    proposal: dict[str, gpd.GeoDataFrame],
    context: dict[str, gpd.GeoDataFrame],
    tolerance: float = 1.0,
) -> int:
    """Snap proposal route ends onto context routes within ``tolerance`` metres.

    The proposal's end vertex moves onto the nearest point of the context route, and that
    point is inserted as a vertex into the context route, so both share a node when the
    networks are built. Modifies the frames in place; returns the number of joins.
    """
    frames = [context[n] for n in ROUTE_LAYERS if not context[n].empty]
    if not frames:  # a context with buildings only: nothing to join onto
        return 0
    ctx = pd.concat(frames)
    ctx_lines = ctx.geometry.values
    tree = shapely.STRtree(ctx_lines)
    ctx_fids = ctx["fid"].to_numpy()
    moved: dict[str, shapely.LineString] = {}
    joins = 0
    for layer in ROUTE_LAYERS:
        frame = proposal[layer]
        if frame.empty:
            continue
        new_geoms = frame.geometry.values.copy()
        for i, line in enumerate(new_geoms):
            if shapely.get_type_id(line) != 1:
                continue
            coords = shapely.get_coordinates(line).copy()
            changed = False
            for end in (0, -1):
                p = shapely.Point(coords[end])
                idx = tree.query_nearest(p, max_distance=tolerance, all_matches=False)
                if len(idx) == 0:
                    continue
                j = int(idx[0])
                target_line = moved.get(ctx_fids[j], ctx_lines[j])
                snapped = target_line.interpolate(target_line.project(p))
                coords[end] = (snapped.x, snapped.y)
                moved[ctx_fids[j]] = _insert_vertex(target_line, snapped)
                changed = True
                joins += 1
            if changed:
                new_geoms[i] = shapely.LineString(coords)
        proposal[layer] = frame.set_geometry(
            gpd.GeoSeries(new_geoms, index=frame.index, crs=frame.crs)
        )
    for layer in ROUTE_LAYERS:
        frame = context[layer]
        if frame.empty or not moved:
            continue
        geoms = frame.geometry.values.copy()
        for i, fid in enumerate(frame["fid"].to_numpy()):
            if fid in moved:
                geoms[i] = moved[fid]
        context[layer] = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))
    return joins
