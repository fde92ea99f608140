"""EN 13201-3-style calculation points for :mod:`safespace.analyses.illuminance` (private).

:func:`route_grid` (points along and across routes) and :func:`area_grid` (a square grid
inside areas); both are re-exported by :mod:`.illuminance`. Costs are in each docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from safespace.errors import InputError
from safespace.limits import check_points

__all__ = ["area_grid", "route_grid"]


def _geoms(obj) -> np.ndarray:
    if hasattr(obj, "geometry") and not isinstance(obj, shapely.Geometry):
        return np.asarray(obj.geometry.values, dtype=object)
    if isinstance(obj, shapely.Geometry):
        return np.array([obj], dtype=object)
    return np.asarray(list(obj), dtype=object)


def route_grid(
    lines,
    widths,
    spacing_along: float = 3.0,
    min_across: int = 3,
    spacing_across: float = 1.5,
) -> pd.DataFrame:
    """EN 13201-3-style calculation points on routes.

    Each route of length L gets n = ⌈L / spacing_along⌉ rows at the centres of equal
    cells (so at most ``spacing_along`` apart), and each row max(min_across,
    ⌈width / spacing_across⌉) points at the centres of equal strips across the width.
    The spacing rule is **[unverified]** against EN 13201-3 itself (see GUIDANCE.md):
    "≤ 3 m along, ≥ 3 points across" is used and stated as such.

    Parameters
    ----------
    lines
        LineStrings (or MultiLineStrings, whose parts are gridded separately under the same
        line index): a sequence, GeoSeries or GeoDataFrame.
    widths
        Width in m per line (or one value).
    spacing_along, min_across, spacing_across
        Grid rules.

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``y``, ``line`` (index of the input line), ``part`` (index of the
        part within a MultiLineString, else 0), ``along`` (m from the part's start), ``offset`` (m across, positive to the left of the direction of travel),
        ``direction_deg`` (direction of travel, degrees clockwise from north).
        Complexity O(N) shapely interpolations for N points.
    """
    geoms = _geoms(lines)
    w_all = np.broadcast_to(np.asarray(widths, dtype=np.float64), (geoms.size,))
    parts, line_of = shapely.get_parts(geoms, return_index=True)
    cols = ["x", "y", "line", "part", "along", "offset", "direction_deg"]
    if parts.size == 0:
        return pd.DataFrame({c: np.empty(0) for c in cols}).astype(
            {"line": np.int64, "part": np.int64}
        )
    if not np.all(shapely.get_type_id(parts) == 1):
        raise InputError("route_grid needs LineString geometries")
    length = shapely.length(parts)
    # index of each part within its line (0 for a LineString)
    part_no = np.arange(parts.size) - np.searchsorted(line_of, line_of)
    keep = length > 0
    parts, line_of, length, part_no = parts[keep], line_of[keep], length[keep], part_no[keep]
    width = np.where(np.isfinite(w_all[line_of]) & (w_all[line_of] > 0), w_all[line_of], 0.0)
    f_along = np.maximum(1.0, np.ceil(length / spacing_along - 1e-9))
    f_across = np.where(
        width > 0, np.maximum(min_across, np.ceil(width / spacing_across - 1e-9)), 1.0
    )
    check_points(int(min(float((f_along * f_across).sum()), 2.0**62)), "lighting route grid")
    n_along = f_along.astype(np.int64)
    n_across = f_across.astype(np.int64)
    # rows: one per (part, along step)
    row_part = np.repeat(np.arange(parts.size), n_along)
    step = np.arange(row_part.size) - np.repeat(np.cumsum(n_along) - n_along, n_along)
    s = (step + 0.5) * (length / n_along)[row_part]
    delta = np.minimum(0.25, 0.25 * (length / n_along)[row_part])
    g = parts[row_part]
    p_mid = shapely.get_coordinates(shapely.line_interpolate_point(g, s))
    p_a = shapely.get_coordinates(shapely.line_interpolate_point(g, np.maximum(s - delta, 0)))
    p_b = shapely.get_coordinates(
        shapely.line_interpolate_point(g, np.minimum(s + delta, length[row_part]))
    )
    t = p_b - p_a
    tn = np.hypot(t[:, 0], t[:, 1])
    tn[tn == 0] = 1.0
    t /= tn[:, None]
    left = np.column_stack([-t[:, 1], t[:, 0]])
    # points: one per (row, across step)
    na = n_across[row_part]
    pt_row = np.repeat(np.arange(row_part.size), na)
    j = np.arange(pt_row.size) - np.repeat(np.cumsum(na) - na, na)
    wr = width[row_part][pt_row]
    off = (j + 0.5) * wr / na[pt_row] - wr / 2
    xy = p_mid[pt_row] + left[pt_row] * off[:, None]
    direction = np.degrees(np.arctan2(t[:, 0], t[:, 1])) % 360.0
    return pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "line": line_of[row_part][pt_row].astype(np.int64),
            "part": part_no[row_part][pt_row].astype(np.int64),
            "along": s[pt_row],
            "offset": off,
            "direction_deg": direction[pt_row],
        }
    )


def area_grid(polygons, spacing: float = 3.0) -> pd.DataFrame:
    """Square-grid calculation points inside areas (pedestrian areas, parking).

    Points sit at the centres of ``spacing`` cells aligned to each polygon's bounding box;
    a polygon too small to hold one gets its representative point. Returns columns ``x``,
    ``y``, ``area`` (input index). Complexity O(B) point-in-polygon tests, B the number of
    grid cells over the bounding boxes.
    """
    geoms = _geoms(polygons)
    if geoms.size == 0:
        return pd.DataFrame({"x": [], "y": [], "area": np.empty(0, np.int64)})
    if not spacing > 0:
        raise ValueError("spacing must be positive")
    b = shapely.bounds(geoms)
    fx = np.maximum(1.0, np.ceil((b[:, 2] - b[:, 0]) / spacing))
    fy = np.maximum(1.0, np.ceil((b[:, 3] - b[:, 1]) / spacing))
    check_points(int(min(float((fx * fy).sum()), 2.0**62)), "lighting area grid")
    nx, ny = fx.astype(np.int64), fy.astype(np.int64)
    cells = nx * ny
    owner = np.repeat(np.arange(geoms.size), cells)
    k = np.arange(owner.size) - np.repeat(np.cumsum(cells) - cells, cells)
    ix, iy = k % nx[owner], k // nx[owner]
    x = b[owner, 0] + (ix + 0.5) * spacing
    y = b[owner, 1] + (iy + 0.5) * spacing
    ok = shapely.contains_xy(geoms[owner], x, y)
    x, y, owner = x[ok], y[ok], owner[ok]
    empty = np.setdiff1d(np.arange(geoms.size), owner)
    empty = empty[~shapely.is_empty(geoms[empty])]
    if empty.size:
        rp = shapely.get_coordinates(shapely.point_on_surface(geoms[empty]))
        x = np.concatenate([x, rp[:, 0]])
        y = np.concatenate([y, rp[:, 1]])
        owner = np.concatenate([owner, empty])
    order = np.argsort(owner, kind="stable")
    return pd.DataFrame({"x": x[order], "y": y[order], "area": owner[order].astype(np.int64)})
