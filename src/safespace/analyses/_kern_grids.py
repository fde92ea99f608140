"""EN 13201-3-style calculation points for :mod:`safespace.analyses.illuminance` (private).

:func:`route_grid` (points along and across routes) and :func:`area_grid` (a square grid
inside areas); both are re-exported by :mod:`.illuminance`. Costs are in each docstring.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import shapely

from safespace.analyses._jit import tiered
from safespace.errors import InputError
from safespace.limits import check_points

__all__ = ["LineTable", "area_grid", "route_grid"]


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
        Complexity O(N + R log V) for N points, R rows and V vertices per line.
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
    along = LineTable(parts)
    p_mid = along.points(row_part, s)
    p_a = along.points(row_part, np.maximum(s - delta, 0))
    p_b = along.points(row_part, np.minimum(s + delta, length[row_part]))
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


class LineTable:
    """LineStrings as one coordinate table, for many points along them at once.

    :meth:`points` is ``shapely.line_interpolate_point`` (GEOS's ``LengthIndexedLine``) bit
    for bit: the same running sum of segment lengths from the line's start, the same
    segment (the first whose running total exceeds the distance), the same fraction and the
    same ``(p1 - p0) * fraction + p0``; a negative distance counts from the end, a distance
    of 0 gives the first vertex, one beyond the end the last. Finite distances only. Building
    the table is O(V) for V vertices.
    """

    def __init__(self, lines: np.ndarray) -> None:
        lines = np.asarray(lines, dtype=object)
        if lines.size and not np.all(shapely.get_type_id(lines) == 1):
            raise InputError("LineTable needs LineString geometries")
        xy, owner = shapely.get_coordinates(lines, return_index=True)
        self.xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
        self.start = np.searchsorted(owner, np.arange(lines.size + 1)).astype(np.int64)
        self.cum = _running_length(self.xy, self.start)

    def points(self, line: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """(n, 2) points at ``distance[k]`` m along line ``line[k]``. O(n log V)."""
        line = np.ascontiguousarray(line, dtype=np.int64)
        distance = np.ascontiguousarray(np.broadcast_to(distance, line.shape), dtype=np.float64)
        return _along(self.xy, self.start, self.cum, line, distance)


@tiered(lambda xy, start: xy.shape[0], 20_000)
@numba.njit(cache=True)
def _running_length(xy, start):
    """Per vertex, the sum of the segment lengths from its line's start (GEOS's order)."""
    cum = np.zeros(xy.shape[0])
    for p in range(start.shape[0] - 1):
        total = 0.0
        for v in range(start[p] + 1, start[p + 1]):
            dx = xy[v, 0] - xy[v - 1, 0]
            dy = xy[v, 1] - xy[v - 1, 1]
            total += np.sqrt(dx * dx + dy * dy)
            cum[v] = total
    return cum


@tiered(lambda xy, start, cum, line, distance: line.shape[0], 5_000)
@numba.njit(cache=True)
def _along(xy, start, cum, line, distance):
    """The point at ``distance[k]`` along line ``line[k]`` (see :class:`LineTable`)."""
    n = line.shape[0]
    out = np.empty((n, 2))
    for k in range(n):
        a = start[line[k]]
        b = start[line[k] + 1]
        d = distance[k]
        if b <= a:
            out[k, 0] = np.nan
            out[k, 1] = np.nan
            continue
        if d < 0.0:  # from the end, as GEOS: the line's length plus d
            d = cum[b - 1] + d
        if not d > 0.0:
            out[k, 0] = xy[a, 0]
            out[k, 1] = xy[a, 1]
            continue
        # the first vertex v > a whose running total exceeds d: segment v - 1 -> v
        lo = a + 1
        hi = b
        while lo < hi:
            mid = (lo + hi) >> 1
            if cum[mid] > d:
                hi = mid
            else:
                lo = mid + 1
        if lo >= b:  # beyond the end
            out[k, 0] = xy[b - 1, 0]
            out[k, 1] = xy[b - 1, 1]
            continue
        x0, y0 = xy[lo - 1, 0], xy[lo - 1, 1]
        x1, y1 = xy[lo, 0], xy[lo, 1]
        dx = x1 - x0
        dy = y1 - y0
        frac = (d - cum[lo - 1]) / np.sqrt(dx * dx + dy * dy)
        if frac <= 0.0:
            out[k, 0] = x0
            out[k, 1] = y0
        elif frac >= 1.0:
            out[k, 0] = x1
            out[k, 1] = y1
        else:
            out[k, 0] = (x1 - x0) * frac + x0
            out[k, 1] = (y1 - y0) * frac + y0
    return out
