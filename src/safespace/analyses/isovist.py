"""Exact isovists (visibility polygons) and their measures.

An isovist is the region visible from a viewpoint (Benedikt 1979): here, within a range
``radius`` of it, among opaque obstacles given as polygons (buildings; opaque barriers and
dense planting drawn as thin polygons).

Algorithm
---------
Obstacles are merged (union) and cut into wall segments oriented with the obstacle on their
left; a uniform grid over the segments' bounding boxes is built once
(:class:`ObstacleIndex`). For each viewpoint, a numba kernel (:mod:`._isovist_kernel`)

1. takes the segments of the grid cells within the radius, keeps only those facing the
   viewpoint (a ray always enters an outline through a front face before it could meet a
   back face) and clips them to the range disc;
2. sorts the angles of their end points (the *events*). Between two consecutive events no
   wall starts or ends, so one wall is nearest over the whole angular interval, or none;
3. finds that wall with one ray through the middle of the interval, testing only the
   segments of the ray's angular bin, nearest first, stopping at the first one farther than
   the best hit;
4. emits the ring: the two end points of each visible wall piece (their angles are exact
   events, so the region is exact, not a ray fan), and arcs of the range circle where
   nothing is hit. A change of nearest wall at an event makes a radial, occluding edge.

Arcs of the range circle are drawn with vertices on the circle at every multiple of
``ARC_STEP`` = 1 degree (absolute angle from +x) plus the arc's two ends, so a full circle
is a regular 360-gon and no chord spans more than 1 degree. A chord of angle ``d`` keeps
``sin(d)/d`` of its sector's area: ``1 - sin(d)/d = 5.1e-5`` at 1 degree, below the 1e-4
(0.01 %) bound, on every arc. Fixed grid angles also make the result stable: an obstacle
that cuts an arc short leaves that arc's other vertices where they were.

Conventions
-----------
- Coordinates in the layout's projected metric CRS; lengths in metres, areas in m^2.
- ``direction``: a bearing in degrees clockwise from north (grid north of the CRS), or a
  vector ``(dx, dy)`` in layout coordinates (east, north). ``fov`` in degrees.
- Viewpoint inside an obstacle: the isovist is empty (an empty polygon; area 0).
- Viewpoint on an obstacle edge (within ``EDGE_TOL`` = 1e-6 m of an outline, inside or
  outside): it is moved ``EDGE_NUDGE`` = 1e-5 m off the outline, along the mean outward
  normal of the edges it touches (at a corner, the bisector), so it sees the open half-plane
  in front of the wall. If that point lies in another obstacle (a shared party wall) the
  isovist is empty. Measures keep the given viewpoint as their origin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from safespace.analyses import _isovist_kernel as _k
from safespace.analyses._segment_grid import bbox_grid, grid_shape
from safespace.errors import InputError

__all__ = [
    "ARC_STEP",
    "EDGE_NUDGE",
    "EDGE_TOL",
    "ObstacleIndex",
    "isovist",
    "isovist_measures",
    "isovists",
    "isovists_with_measures",
]

ARC_STEP = math.radians(1.0)  # max angle between arc vertices: area error 5.1e-5 < 1e-4
EDGE_TOL = 1e-6  # metres: a viewpoint this close to an outline stands on it
EDGE_NUDGE = 1e-5  # metres: how far such a viewpoint is moved off the outline
_BATCH_VERTICES = 4_000_000  # ring buffer budget per kernel call (64 MB of coordinates)

Direction = float | tuple[float, float] | np.ndarray


@dataclass(frozen=True, eq=False)
class ObstacleIndex:
    """Obstacles prepared once for many isovists: wall segments in arrays plus a grid.

    Build it with :meth:`from_geometries`; pass it wherever ``obstacles`` is accepted.

    Attributes
    ----------
    polygons
        The merged obstacle polygons (union of the input), exteriors counter-clockwise.
    segments
        ``(n, 4)`` float array of wall segments ``ax, ay, bx, by``, obstacle on the left.
    """

    polygons: np.ndarray
    segments: np.ndarray
    _tree: shapely.STRtree
    _boundaries: np.ndarray
    _grid: tuple

    @classmethod
    def from_geometries(
        cls, geoms: Sequence[BaseGeometry] | np.ndarray, *, cell_size: float | None = None
    ) -> ObstacleIndex:
        """Prepare polygon obstacles.

        Parameters
        ----------
        geoms
            Polygons or MultiPolygons (a list, array or GeoSeries). ``None`` and empty
            geometries are skipped; invalid ones are repaired with ``shapely.make_valid``.
        cell_size
            Grid cell size in metres; default about three times the mean segment spacing.

        Returns
        -------
        ObstacleIndex

        Raises
        ------
        InputError
            When an item is not a polygon, or has non-finite coordinates.

        Notes
        -----
        Complexity: O(n log n) for the union of n vertices, O(n) for the grid.
        """
        geoms = _as_geometry_array(geoms)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        types = shapely.get_type_id(geoms)
        bad = keep & ~np.isin(types, (3, 6))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"obstacle is a {geoms[i].geom_type}, not a polygon; draw opaque barriers "
                "as thin polygons (e.g. line.buffer(0.1, cap_style='flat'))",
                feature=str(i),
            )
        finite = np.isfinite(shapely.bounds(geoms)).all(axis=1)
        if (keep & ~finite).any():
            i = int(np.flatnonzero(keep & ~finite)[0])
            raise InputError("obstacle has non-finite coordinates", feature=str(i))
        geoms = geoms[keep]
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            geoms = geoms.copy()
            geoms[invalid] = shapely.make_valid(geoms[invalid])
        parts = shapely.get_parts(geoms)
        parts = parts[shapely.get_type_id(parts) == 3]
        if len(parts):
            parts = shapely.get_parts(shapely.union_all(parts))
            parts = parts[(shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)]
        parts = shapely.orient_polygons(parts, exterior_cw=False)
        rings = shapely.get_rings(parts)
        xy, ring_id = shapely.get_coordinates(rings, return_index=True)
        same = ring_id[:-1] == ring_id[1:]
        seg = np.ascontiguousarray(np.hstack([xy[:-1][same], xy[1:][same]]), dtype=np.float64)
        seg = seg[(seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])]
        grid = _build_grid(seg, cell_size)
        return cls(parts, seg, shapely.STRtree(parts), shapely.boundary(parts), grid)

    @property
    def n_segments(self) -> int:
        """Number of wall segments."""
        return len(self.segments)


def _as_geometry_array(geoms) -> np.ndarray:
    if hasattr(geoms, "geometry") and not isinstance(geoms, BaseGeometry):
        geoms = geoms.geometry  # GeoDataFrame
    if isinstance(geoms, BaseGeometry):
        geoms = [geoms]
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    arr = arr.ravel()
    for i, g in enumerate(arr):
        if g is not None and not isinstance(g, BaseGeometry):
            raise InputError(f"obstacle is a {type(g).__name__}, not a geometry", feature=str(i))
    return arr


def _build_grid(seg: np.ndarray, cell_size: float | None) -> tuple:
    x0, y0, cell, nx, ny = grid_shape(seg, cell_size, min_cell=5.0)
    start, items, six, siy = bbox_grid(seg, x0, y0, cell, nx, ny)
    return (six, siy, x0, y0, cell, nx, ny, start, items)


def _as_index(obstacles) -> ObstacleIndex:
    if isinstance(obstacles, ObstacleIndex):
        return obstacles
    return ObstacleIndex.from_geometries(obstacles)


def _check_origins(origins) -> np.ndarray:
    try:
        pts = np.asarray(origins, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"origins must be an (n, 2) array of coordinates: {exc}") from None
    if pts.ndim == 1 and pts.shape == (2,):
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError(f"origins must be an (n, 2) array of coordinates, got shape {pts.shape}")
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise InputError("origin has non-finite coordinates", feature=str(np.flatnonzero(bad)[0]))
    return pts


def _check_radius(radius) -> float:
    r = float(radius)
    if not (math.isfinite(r) and r > 0):
        raise InputError(f"radius must be a positive finite length in metres, got {radius!r}")
    return r


def _view_angles(n: int, fov, directions) -> tuple[np.ndarray, np.ndarray]:
    """Start angle ``a0`` (radians, counter-clockwise from +x) and span of every view."""
    if fov is None or float(fov) >= 360.0:
        return np.zeros(n), np.full(n, 2 * math.pi)
    f = float(fov)
    if not (math.isfinite(f) and f > 0):
        raise InputError(f"fov must be an angle in degrees in (0, 360], got {fov!r}")
    if directions is None:
        raise InputError("a field of view (fov) needs a direction")
    d = np.asarray(directions, dtype=np.float64)
    if d.ndim == 0:
        theta = np.full(n, math.radians(90.0 - float(d)))
    elif d.shape == (n,):  # bearings, one per viewpoint (also when n == 2)
        theta = np.radians(90.0 - d)
    elif d.shape in ((2,), (1, 2), (n, 2)):  # vectors, one for all or one per viewpoint
        d = d.reshape(-1, 2)
        if (np.hypot(d[:, 0], d[:, 1]) == 0).any():
            raise InputError("direction vector has zero length")
        theta = np.broadcast_to(np.arctan2(d[:, 1], d[:, 0]), (n,)).copy()
    else:
        raise InputError(
            "directions must be a bearing in degrees, a vector (dx, dy), or one of either "
            f"per origin; got shape {d.shape} for {n} origins"
        )
    if not np.isfinite(theta).all():
        raise InputError("direction must be finite")
    span = math.radians(f)
    return theta - span / 2, np.full(n, span)


def _resolve_viewpoints(idx: ObstacleIndex, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Viewpoints actually swept (edge points nudged) and a mask of those that see anything.

    Complexity: O(n log m) STRtree queries for n viewpoints and m obstacle polygons.
    """
    view = pts.copy()
    ok = np.ones(len(pts), bool)
    if len(idx.polygons) == 0 or len(pts) == 0:
        return view, ok
    pnt = shapely.points(pts)
    pi, gi = idx._tree.query(pnt, predicate="dwithin", distance=EDGE_TOL)
    if len(pi) == 0:
        return view, ok
    on_edge = shapely.distance(pnt[pi], idx._boundaries[gi]) <= EDGE_TOL
    ok[pi[~on_edge]] = False  # well inside an obstacle
    edge_pts = np.unique(pi[on_edge & ok[pi]])
    if len(edge_pts) == 0:
        return view, ok
    seg = idx.segments
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]  # outward: right side
    for i in edge_pts:  # few points: those standing on an outline
        rel = pts[i] - seg[:, :2]
        s = np.clip((rel * d).sum(axis=1) / length**2, 0.0, 1.0)
        dist = np.hypot(*(rel - s[:, None] * d).T)
        n = normal[dist <= EDGE_TOL].sum(axis=0)
        norm = math.hypot(*n)
        if norm < 1e-9:
            ok[i] = False
            continue
        view[i] = pts[i] + EDGE_NUDGE * n / norm
    moved = shapely.points(view[edge_pts])
    hit_pts, _ = idx._tree.query(moved, predicate="intersects")
    ok[edge_pts[np.unique(hit_pts)]] = False  # the other side of a shared wall
    return view, ok


def _run(obstacles, origins, radius, fov, directions):
    """Sweep all viewpoints; return origins, ok mask, packed rings, ring offsets, measures."""
    idx = _as_index(obstacles)
    pts = _check_origins(origins)
    r = _check_radius(radius)
    a0, span = _view_angles(len(pts), fov, directions)
    view, ok = _resolve_viewpoints(idx, pts)
    _, _, x0, y0, cell, nx, ny, start, _ = idx._grid
    sel = np.flatnonzero(ok)
    vx = np.ascontiguousarray(view[sel, 0])
    vy = np.ascontiguousarray(view[sel, 1])
    cap = _k.capacities(vx, vy, r, ARC_STEP, x0, y0, cell, nx, ny, start)
    # Split into batches whose ring buffers fit the budget.
    bounds = [0]
    total = 0
    csum = np.cumsum(cap)
    while bounds[-1] < len(sel):
        limit = total + _BATCH_VERTICES
        nxt = max(int(np.searchsorted(csum, limit, side="right")), bounds[-1] + 1)
        bounds.append(min(nxt, len(sel)))
        total = int(csum[bounds[-1] - 1])
    coords_parts, counts_all, meas_all = [], [], []
    for b0, b1 in zip(bounds[:-1], bounds[1:], strict=True):
        cap_start = np.zeros(b1 - b0 + 1, np.int64)
        np.cumsum(cap[b0:b1], out=cap_start[1:])
        rx, ry, counts, meas = _k.sweep_batch(
            idx.segments, idx._grid, vx[b0:b1], vy[b0:b1], r, a0[sel[b0:b1]],
            span[sel[b0:b1]], ARC_STEP, cap_start,
        )  # fmt: skip
        xy, _ = _k.compact(rx, ry, cap_start, counts)
        coords_parts.append(xy)
        counts_all.append(counts)
        meas_all.append(meas)
    counts = np.concatenate(counts_all) if counts_all else np.zeros(0, np.int64)
    coords = np.concatenate(coords_parts) if coords_parts else np.zeros((0, 2))
    meas = np.full((len(pts), _k.N_MEASURES), np.nan)
    if len(sel):
        meas[sel] = np.concatenate(meas_all)
    full_counts = np.zeros(len(pts), np.int64)
    full_counts[sel] = counts
    return pts, ok, coords, full_counts, meas, r


def isovists(
    obstacles: Sequence[BaseGeometry] | ObstacleIndex,
    origins: np.ndarray,
    radius: float,
    *,
    fov: float | None = None,
    directions: Direction | Sequence[Direction] | None = None,
) -> list[shapely.Polygon]:
    """Exact isovists of many viewpoints.

    Parameters
    ----------
    obstacles
        Opaque obstacle polygons, or an :class:`ObstacleIndex` prepared once and reused.
    origins
        ``(n, 2)`` viewpoints in the obstacles' metric CRS.
    radius
        Range of view in metres.
    fov
        Field of view in degrees (a window, a CCTV camera); ``None`` or 360 for all round.
    directions
        Centre of the field of view: one bearing in degrees clockwise from north, or one
        vector ``(dx, dy)`` (shape ``(2,)`` or ``(1, 2)``), for all viewpoints; or ``n``
        bearings, or ``(n, 2)`` vectors. With exactly two origins, a length-2 array means
        two bearings; pass one vector as ``[[dx, dy]]``.

    Returns
    -------
    list of shapely.Polygon
        One per origin; empty when the origin is inside an obstacle. A partial field of
        view is a wedge-clipped isovist with the origin as a vertex.

    Notes
    -----
    Complexity: O(k log k) per viewpoint for k wall segments within the radius, run in
    parallel over viewpoints (see the module docstring for the algorithm and accuracy).
    """
    pts, ok, coords, counts, _, _ = _run(obstacles, origins, radius, fov, directions)
    return list(_polygons(coords, counts))


def _polygons(coords: np.ndarray, counts: np.ndarray) -> np.ndarray:
    has = counts > 0
    ring_offsets = np.zeros(int(has.sum()) + 1, np.int64)
    np.cumsum(counts[has], out=ring_offsets[1:])
    geom_offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(has, out=geom_offsets[1:])
    return shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, coords, (ring_offsets, geom_offsets)
    )


def isovist(
    obstacles: Sequence[BaseGeometry] | ObstacleIndex,
    origin: Sequence[float] | np.ndarray,
    radius: float,
    *,
    fov: float | None = None,
    direction: Direction | None = None,
) -> shapely.Polygon:
    """Exact isovist of one viewpoint.

    Parameters
    ----------
    obstacles
        Opaque obstacle polygons, or an :class:`ObstacleIndex`.
    origin
        Viewpoint ``(x, y)`` in the obstacles' metric CRS.
    radius
        Range of view in metres.
    fov
        Field of view in degrees; ``None`` or 360 for all round.
    direction
        Centre of the field of view: bearing in degrees clockwise from north, or a vector
        ``(dx, dy)``.

    Returns
    -------
    shapely.Polygon
        The visibility polygon, empty when the origin is inside an obstacle.

    Notes
    -----
    Complexity: O(k log k) for k wall segments within the radius (plus the O(n log n)
    preparation of the obstacles unless an :class:`ObstacleIndex` is passed).
    """
    pt = np.asarray(origin, dtype=np.float64)
    if pt.shape != (2,):
        raise InputError(f"origin must be one (x, y) point, got shape {pt.shape}")
    if direction is not None:
        d = np.asarray(direction, dtype=np.float64)
        direction = d.reshape(1, 2) if d.shape == (2,) else d
    return isovists(obstacles, pt[None, :], radius, fov=fov, directions=direction)[0]


MEASURE_COLUMNS = (
    "x",
    "y",
    "area",
    "perimeter",
    "compactness",
    "occlusivity",
    "min_radial",
    "max_radial",
    "drift_distance",
    "drift_bearing",
)


def isovist_measures(
    obstacles: Sequence[BaseGeometry] | ObstacleIndex,
    origins: np.ndarray,
    radius: float,
    *,
    fov: float | None = None,
    directions: Direction | Sequence[Direction] | None = None,
) -> pd.DataFrame:
    """Isovist measures (Benedikt 1979; as in depthmapX), one row per origin.

    Parameters
    ----------
    obstacles, origins, radius, fov, directions
        As for :func:`isovists`.

    Returns
    -------
    pandas.DataFrame
        Columns, all computed from exactly the polygon :func:`isovists` returns:

        - ``x``, ``y``: the viewpoint;
        - ``area`` (m^2), ``perimeter`` (m);
        - ``compactness``: ``4 pi area / perimeter^2`` (1 for a disc, smaller for spiky
          or elongated isovists);
        - ``occlusivity`` (m): total length of the occluding radial edges, where the view
          continues past an obstacle's edge (not walls, not the range arc, not the sides of
          a field-of-view wedge);
        - ``min_radial``, ``max_radial`` (m): shortest and longest distance from the
          viewpoint to the isovist's boundary (the sides of a wedge excluded from the
          minimum, as they pass through the viewpoint);
        - ``drift_distance`` (m) and ``drift_bearing`` (degrees clockwise from north): from
          the viewpoint to the isovist's centroid.

        A viewpoint inside an obstacle has area and perimeter 0 and NaN elsewhere.

    Notes
    -----
    Complexity: as :func:`isovists`, without building shapely polygons.
    """
    pts, ok, _, _, meas, _ = _run(obstacles, origins, radius, fov, directions)
    return _measures_frame(pts, ok, meas)


def isovists_with_measures(
    obstacles: Sequence[BaseGeometry] | ObstacleIndex,
    origins: np.ndarray,
    radius: float,
    *,
    fov: float | None = None,
    directions: Direction | Sequence[Direction] | None = None,
) -> tuple[list[shapely.Polygon], pd.DataFrame]:
    """Isovists and their measures from one sweep.

    Parameters
    ----------
    obstacles, origins, radius, fov, directions
        As for :func:`isovists`.

    Returns
    -------
    tuple of (list of shapely.Polygon, pandas.DataFrame)
        What :func:`isovists` and :func:`isovist_measures` return, computed once.

    Notes
    -----
    Complexity: as :func:`isovists`.
    """
    pts, ok, coords, counts, meas, _ = _run(obstacles, origins, radius, fov, directions)
    return list(_polygons(coords, counts)), _measures_frame(pts, ok, meas)


def _measures_frame(pts: np.ndarray, ok: np.ndarray, meas: np.ndarray) -> pd.DataFrame:
    area = meas[:, _k.M_AREA]
    per = meas[:, _k.M_PERIMETER]
    dx = meas[:, _k.M_CX] - pts[:, 0]
    dy = meas[:, _k.M_CY] - pts[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        compact = 4 * np.pi * area / per**2
    return pd.DataFrame(
        {
            "x": pts[:, 0],
            "y": pts[:, 1],
            "area": np.where(ok, area, 0.0),
            "perimeter": np.where(ok, per, 0.0),
            "compactness": compact,
            "occlusivity": meas[:, _k.M_OCCLUSIVITY],
            "min_radial": meas[:, _k.M_MIN_R],
            "max_radial": meas[:, _k.M_MAX_R],
            "drift_distance": np.hypot(dx, dy),
            "drift_bearing": np.degrees(np.arctan2(dx, dy)) % 360.0,
        },
        columns=list(MEASURE_COLUMNS),
    )
