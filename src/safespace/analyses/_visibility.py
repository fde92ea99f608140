"""Shared line-of-sight machinery for the surveillance and forward-visibility analyses.

Private module. It holds

- :class:`SightIndex`: every opaque wall of a layout as a 2.5-D segment (a vertical wall from
  the ground to a height) in arrays, bucketed on a uniform grid;
- :func:`blocked`: a numba kernel answering "is the sight line from ``a`` to ``b`` (3-D
  points) blocked?" for many pairs at once;
- :func:`route_chains` and :func:`route_samples`: the public routes cut into maximal chains
  and sampled at a fixed spacing (shared by both analyses so their samples coincide).

Why not the isovist engine: an isovist answers "what does one point see" exactly; the
surveillance field asks "do these ~10^5 given pairs see each other" with walls of finite
height (a 1.8 m fence hides a walker from a ground-floor window, not from the floor above).
A pair test against height-tagged segments does that directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numba import njit, prange

from safespace._classify import STOREY_HEIGHT_M, building_heights
from safespace.analyses._jit import tiered
from safespace.analyses._segment_grid import bbox_grid, grid_shape
from safespace.limits import check_points

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Building types that have no habitable rooms: they block sight but never observe.
NON_OBSERVING_BUILDINGS = frozenset(
    {
        "garage",
        "garages",
        "shed",
        "carport",
        "roof",
        "parking",
        "service",
        "transformer_tower",
        "storage_tank",
        "silo",
        "bunker",
        "hut",
        "greenhouse",
        "ruins",
        "construction",
    }
)
#: Planting that is solid enough to block sight up to its tagged height.
SOLID_PLANTING = frozenset({"shrub", "scrub", "shrubbery", "hedge"})
#: Barrier values that are opaque up to their tagged height.
OPAQUE_BARRIERS = frozenset(
    {"wall", "fence", "hedge", "retaining_wall", "city_wall", "hedge_bank", "jersey_barrier"}
)
_T_EPS = 1e-9  # relative: a wall touched at the very end of a sight line does not block it
_CELL_SPACINGS = 0.55  # grid cell of a SightIndex, in mean wall spacings (see from_segments)


@dataclass(frozen=True, eq=False)
class SightIndex:
    """Opaque walls as 2.5-D segments on a uniform grid.

    Attributes
    ----------
    segments
        ``(n, 4)`` float64 rows ``ax, ay, bx, by``.
    heights
        ``(n,)`` wall tops in metres above ground; ``inf`` for buildings of unknown height.
    grid
        ``(x0, y0, cell, nx, ny, cell_start, cell_items)``: CSR buckets of segment ids.
    """

    segments: np.ndarray
    heights: np.ndarray
    grid: tuple

    @classmethod
    def from_segments(
        cls, segments: np.ndarray, heights: np.ndarray, *, cell_size: float | None = None
    ) -> SightIndex:
        """Bucket segments on a grid (cell ≈ 0.55× the mean segment spacing, at least 4 m).

        The answers of :meth:`blocked` do not depend on the cell size (a wall a sight line
        crosses lies in a cell the line's walk visits); the size sets the work. Cells about
        half the mean spacing of the walls over the layout's box (three cells per wall) are
        some fifteen times smaller in area than the grids of :mod:`._segment_grid`'s default:
        a sight line of a dense centre then meets a handful of walls per cell instead of
        hundreds, which made the line-of-sight kernels 2-3 times faster on a city extract.
        Complexity: O(n + memberships) for n segments.
        """
        seg = np.ascontiguousarray(np.asarray(segments, dtype=np.float64).reshape(-1, 4))
        h = np.ascontiguousarray(np.asarray(heights, dtype=np.float64).reshape(-1))
        if cell_size is None and len(seg):
            w = float(max(seg[:, 0].max(), seg[:, 2].max()) - min(seg[:, 0].min(), seg[:, 2].min()))
            d = float(max(seg[:, 1].max(), seg[:, 3].max()) - min(seg[:, 1].min(), seg[:, 3].min()))
            cell_size = max(4.0, _CELL_SPACINGS * math.sqrt(max(w * d, 1.0) / len(seg)))
        x0, y0, cell, nx, ny = grid_shape(seg, cell_size, min_cell=4.0)
        start, items, _, _ = bbox_grid(seg, x0, y0, cell, nx, ny)
        return cls(seg, h, (x0, y0, cell, nx, ny, start, items))

    @classmethod
    def from_layout(
        cls, layout: Layout, *, storey_height: float = STOREY_HEIGHT_M, building_segments=None
    ) -> SightIndex:
        """Walls of a layout: building outlines, opaque barriers and solid planting.

        Buildings rise to their effective height (:func:`safespace._classify.building_heights`:
        ``height_m``, else ``levels × storey_height``, else taller than any sight line). Barriers (``wall``, ``fence``, ``hedge``...)
        and shrub/scrub planting block only up to their tagged height; untagged ones are
        left out (their height is unknown, so they are not guessed). Tree crowns are not
        modelled as opaque. ``building_segments``: :func:`polygon_segments` of the buildings,
        when the caller has them already.
        """
        segs, heights = [], []
        b = layout.buildings
        if not b.empty:
            h = building_heights(b, storey_height)
            if building_segments is None:
                building_segments = polygon_segments(b.geometry.values)
            s, owner = building_segments
            segs.append(s)
            heights.append(h[owner])
        for frame, col, kinds in (
            (layout.barriers, "barrier", OPAQUE_BARRIERS),
            (layout.planting, "natural", SOLID_PLANTING),
        ):
            if frame.empty:
                continue
            keep = frame[col].isin(kinds).to_numpy() & (frame["height_m"].to_numpy(float) > 0)
            if not keep.any():
                continue
            geoms = frame.geometry.values[keep]
            hts = frame["height_m"].to_numpy(float)[keep]
            lines = shapely.boundary(geoms)  # polygons → rings; lines → endpoints (fixed below)
            is_line = np.isin(shapely.get_type_id(geoms), (1, 2, 5))
            lines[is_line] = geoms[is_line]
            s, owner = line_segments(lines)
            segs.append(s)
            heights.append(hts[owner])
        if not segs:
            return cls.from_segments(np.empty((0, 4)), np.empty(0))
        return cls.from_segments(np.vstack(segs), np.concatenate(heights))

    @property
    def n_segments(self) -> int:
        """Number of wall segments."""
        return len(self.segments)

    def blocked(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether each sight line ``a[i] → b[i]`` (``(n, 3)``: x, y, z) is blocked."""
        a = np.ascontiguousarray(a, dtype=np.float64).reshape(-1, 3)
        b = np.ascontiguousarray(b, dtype=np.float64).reshape(-1, 3)
        if len(a) == 0 or self.n_segments == 0:
            return np.zeros(len(a), dtype=bool)
        x0, y0, cell, nx, ny, start, items = self.grid
        return _blocked_batch(a, b, self.segments, self.heights, x0, y0, cell, nx, ny, start, items)


def polygon_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wall segments of polygons, oriented so the outside lies on the right of ``a → b``.

    Returns ``(segments (n, 4), owner (n,))`` where ``owner`` indexes ``geoms``.
    Complexity: O(vertices).
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    parts = shapely.orient_polygons(parts, exterior_cw=False)  # exterior CCW, holes CW
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    return _ring_segments(rings, part_owner[ring_part])


def line_segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments of (multi)line strings or rings; ``owner`` indexes ``lines``."""
    parts, owner = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
    keep = np.isin(shapely.get_type_id(parts), (1, 2))
    return _ring_segments(parts[keep], owner[keep])


def _ring_segments(rings: np.ndarray, ring_owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy, rid = shapely.get_coordinates(rings, return_index=True)
    if len(xy) < 2:
        return np.empty((0, 4)), np.empty(0, dtype=np.int64)
    same = rid[:-1] == rid[1:]
    seg = np.hstack([xy[:-1][same], xy[1:][same]])
    owner = np.asarray(ring_owner)[rid[:-1][same]]
    nonzero = (seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])
    return np.ascontiguousarray(seg[nonzero]), owner[nonzero].astype(np.int64)


@njit(cache=True)
def _hits(ax, ay, az, bx, by, bz, seg, heights, s):
    """Does wall ``s`` block the sight line? Proper crossing, below the wall's top."""
    rx = bx - ax
    ry = by - ay
    px = seg[s, 0]
    py = seg[s, 1]
    sx = seg[s, 2] - px
    sy = seg[s, 3] - py
    den = rx * sy - ry * sx
    if den == 0.0:
        return False  # parallel: a grazing wall does not block
    qx = px - ax
    qy = py - ay
    t = (qx * sy - qy * sx) / den
    if t <= _T_EPS or t >= 1.0 - _T_EPS:
        return False
    u = (qx * ry - qy * rx) / den
    if u < 0.0 or u > 1.0:
        return False
    return az + t * (bz - az) < heights[s]


@njit(cache=True)
def _clip(p, d, hi, t0, t1):
    """Clip the parameter range [t0, t1] of ``p + t d`` to ``[0, hi]`` (Liang–Barsky)."""
    if d == 0.0:
        if p < 0.0 or p > hi:
            return 1.0, 0.0
        return t0, t1
    ta = (0.0 - p) / d
    tb = (hi - p) / d
    if ta > tb:
        ta, tb = tb, ta
    return max(t0, ta), min(t1, tb)


@njit(cache=True)
def blocked_one(ax, ay, az, bx, by, bz, seg, heights, x0, y0, cell, nx, ny, start, items):
    """Walk the grid cells the sight line crosses (Amanatides & Woo 1987); test their walls.

    Complexity: O(cells crossed × walls per cell); stops at the first blocking wall.
    """
    gx = (ax - x0) / cell
    gy = (ay - y0) / cell
    ex = (bx - x0) / cell
    ey = (by - y0) / cell
    # Clip the line's parameter range to the grid box: outside it there are no walls.
    t0, t1 = _clip(gx, ex - gx, float(nx), 0.0, 1.0)
    t0, t1 = _clip(gy, ey - gy, float(ny), t0, t1)
    dx = ex - gx
    dy = ey - gy
    if t0 > t1:
        return False
    cx = min(max(int(gx + t0 * dx), 0), nx - 1)
    cy = min(max(int(gy + t0 * dy), 0), ny - 1)
    cx_end = min(max(int(gx + t1 * dx), 0), nx - 1)
    cy_end = min(max(int(gy + t1 * dy), 0), ny - 1)
    step_x = 1 if dx > 0 else -1
    step_y = 1 if dy > 0 else -1
    inf = 1e300
    if dx != 0.0:
        nxt = cx + (1 if dx > 0 else 0)
        tmx = (nxt - gx) / dx
        tdx = abs(1.0 / dx)
    else:
        tmx = inf
        tdx = inf
    if dy != 0.0:
        nyt = cy + (1 if dy > 0 else 0)
        tmy = (nyt - gy) / dy
        tdy = abs(1.0 / dy)
    else:
        tmy = inf
        tdy = inf
    n_cells = abs(cx_end - cx) + abs(cy_end - cy) + 1
    for _ in range(n_cells + 2):
        c = cy * nx + cx
        for k in range(start[c], start[c + 1]):
            if _hits(ax, ay, az, bx, by, bz, seg, heights, items[k]):
                return True
        if cx == cx_end and cy == cy_end:
            break
        if tmx < tmy:
            cx += step_x
            tmx += tdx
        else:
            cy += step_y
            tmy += tdy
        if cx < 0 or cx >= nx or cy < 0 or cy >= ny:
            break
    return False


@tiered(lambda a, *_: a.shape[0], 3_000, "safespace.analyses._kern_sight:blocked_batch")
@njit(cache=True, parallel=True)
def _blocked_batch(a, b, seg, heights, x0, y0, cell, nx, ny, start, items):
    """:func:`blocked_one` for every pair ``a[i] → b[i]``, in parallel over pairs.

    Complexity: the sum of :func:`blocked_one` over the pairs, divided among threads. Up to
    3,000 pairs take the NumPy twin :func:`._kern_sight.blocked_batch` (same answers).
    """
    n = a.shape[0]
    out = np.zeros(n, np.bool_)
    for i in prange(n):
        out[i] = blocked_one(
            a[i, 0], a[i, 1], a[i, 2], b[i, 0], b[i, 1], b[i, 2],
            seg, heights, x0, y0, cell, nx, ny, start, items,
        )  # fmt: skip
    return out


# --- public routes as chains and samples -------------------------------------------------


def route_chains(layout: Layout) -> gpd.GeoDataFrame:
    """Foot routes merged into maximal chains (ways joined end to end where only two meet).

    A chain ends at a junction of three or more ways, at a dead end, or where ways only
    cross. Columns: ``chain`` (int), ``fids`` (tuple of the way ids in it), ``length_m``,
    ``geometry`` (LineString in ``layout.crs``).
    """
    fr = layout.foot_routes
    if fr.empty:
        return gpd.GeoDataFrame(
            {"chain": [], "fids": [], "length_m": []}, geometry=[], crs=layout.crs
        )
    parts = shapely.get_parts(fr.geometry.values)
    # an empty part (a MultiLineString with an empty member) has no coordinates to index
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2)) & ~shapely.is_empty(parts)]
    if parts.size == 0:
        return gpd.GeoDataFrame(
            {"chain": [], "fids": [], "length_m": []}, geometry=[], crs=layout.crs
        )
    parts = shapely.linestrings(shapely.get_coordinates(parts), indices=_part_index(parts))
    lines = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(parts)))
    lines = lines[shapely.length(lines) > 0]
    tree = shapely.STRtree(fr.geometry.values)
    pairs = tree.query(lines, predicate="covers")  # chain i covers way j
    fids = group_tuples(pairs[0], fr["fid"].to_numpy()[pairs[1]], len(lines))
    return gpd.GeoDataFrame(
        {
            "chain": np.arange(len(lines)),
            "fids": fids,
            "length_m": shapely.length(lines),
        },
        geometry=lines,
        crs=layout.crs,
    )


def group_tuples(keys: np.ndarray, values: np.ndarray, n: int) -> list[tuple]:
    """For each key ``0 … n − 1`` the tuple of its ``values`` in their order of appearance
    (``()`` for a key that does not occur): ``pd.Series(values).groupby(keys).agg(tuple)``
    spread over ``range(n)``, without pandas. O(m log m) for m values.
    """
    out: list[tuple] = [()] * n
    if len(keys) == 0:
        return out
    order = np.argsort(keys, kind="stable")
    k = np.asarray(keys)[order]
    vals = np.asarray(values, dtype=object)[order].tolist()  # Python scalars, as pandas gives
    cuts = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1, len(k)].tolist()
    for key, a, b in zip(k[cuts[:-1]].tolist(), cuts[:-1], cuts[1:], strict=True):
        out[key] = tuple(vals[a:b])
    return out


def _part_index(parts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(parts)), shapely.get_num_coordinates(parts))


def sample_lines(lines: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` metres along each line, centred so both ends are half a step
    from the first and last sample (a line shorter than a step gets its midpoint).

    Returns ``(line index, position along the line in m, (n, 2) coordinates)``.
    Complexity: O(samples + vertices).
    """
    lengths = shapely.length(lines)
    steps = np.round(lengths / spacing)
    check_points(
        int(np.nan_to_num(steps, nan=0.0, posinf=2**62).clip(1, 2**62).sum()), "route sample"
    )
    k = np.maximum(1, steps.astype(np.int64))
    line_idx = np.repeat(np.arange(len(lines)), k)
    first = np.cumsum(k) - k
    j = np.arange(k.sum()) - np.repeat(first, k)
    pos = (j + 0.5) * (lengths / k)[line_idx]
    pts = shapely.line_interpolate_point(lines[line_idx], pos)
    return line_idx, pos, shapely.get_coordinates(pts)


def _area_samples(polys: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid points at ``spacing`` inside each polygon (its representative point if none)."""
    idx, xy = [], []
    cells = 0.0
    for i, poly in enumerate(polys):  # one grid per feature (few features), points vectorised
        if shapely.get_type_id(poly) == 0:
            idx.append(np.array([i]))
            xy.append(shapely.get_coordinates(poly))
            continue
        x0, y0, x1, y1 = shapely.bounds(poly)
        cells += max(x1 - x0, spacing) * max(y1 - y0, spacing) / spacing**2
        check_points(int(min(cells, 2**62)), "area sample grid")
        gx = np.arange(x0 + spacing / 2, x1, spacing)
        gy = np.arange(y0 + spacing / 2, y1, spacing)
        X, Y = np.meshgrid(gx, gy)
        X, Y = X.ravel(), Y.ravel()
        inside = shapely.contains_xy(poly, X, Y)
        if not inside.any():
            p = shapely.get_coordinates(shapely.point_on_surface(poly))
            X, Y, inside = p[:, 0], p[:, 1], np.ones(1, bool)
        idx.append(np.full(int(inside.sum()), i))
        xy.append(np.column_stack([X[inside], Y[inside]]))
    if not idx:
        return np.empty(0, int), np.empty((0, 2))
    return np.concatenate(idx), np.vstack(xy)


def route_samples(
    layout: Layout,
    spacing: float = 5.0,
    kinds: tuple[str, ...] = ("route", "pedestrian_area", "parking"),
    *,
    chains: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Sample points of the public realm.

    Routes (foot routes merged into :func:`route_chains`) are sampled every ``spacing``
    metres along their length; pedestrian areas and parking on a square grid of that
    spacing. Columns: ``kind``, ``fid`` (the way or area the sample lies on), ``chain``
    (-1 for areas), ``position_m`` along the chain (NaN for areas), ``indoor`` (inside a
    building footprint: covered passages, corridors), ``geometry``. ``chains``: the layout's
    :func:`route_chains`, when the caller has them already.

    Complexity: O(samples log features).
    """
    if not spacing > 0:
        from safespace.errors import InputError

        raise InputError(f"sample spacing must be positive, got {spacing!r}")
    frames = []
    if "route" in kinds and not layout.foot_routes.empty:
        if chains is None:
            chains = route_chains(layout)
        li, pos, xy = sample_lines(chains.geometry.values, spacing)
        pts = shapely.points(xy)
        fr = layout.foot_routes
        # the way a sample lies on: the chain's only way, else the nearest of all ways
        members = chains["fids"].to_numpy()
        single = np.array([len(m) == 1 for m in members], dtype=bool)
        fid = np.empty(len(pts), dtype=object)
        one = single[li]
        fid[one] = [members[c][0] for c in li[one]]
        many = np.flatnonzero(~one)
        if len(many):
            at, way = nearest_way(pts[many], fr.geometry.values)
            fid[many[at]] = fr["fid"].to_numpy()[way]
        frames.append(
            pd.DataFrame(
                {"kind": "route", "fid": fid, "chain": li, "position_m": pos, "geometry": pts}
            )
        )
    for kind, frame in (("pedestrian_area", layout.pedestrian_areas), ("parking", layout.parking)):
        if kind not in kinds or frame.empty:
            continue
        geoms = frame.geometry.values
        ok = np.isin(shapely.get_type_id(geoms), (0, 3, 6))
        ai, xy = _area_samples(geoms[ok], spacing)
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "fid": frame["fid"].to_numpy()[ok][ai],
                    "chain": -1,
                    "position_m": np.nan,
                    "geometry": shapely.points(xy),
                }
            )
        )
    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        df = pd.DataFrame({"kind": [], "fid": [], "chain": [], "position_m": [], "geometry": []})
    out = gpd.GeoDataFrame(df, geometry="geometry", crs=layout.crs)
    out["chain"] = out["chain"].astype(np.int64)
    out["indoor"] = inside_any(out.geometry.values, layout.buildings.geometry.values)
    return out


#: Ways within this of a sample are its candidates in :func:`nearest_way` (m); a sample on a
#: route lies on one of its ways up to round-off (1e-9 m at projected coordinates).
_ON_WAY_M = 1e-6


def nearest_way(points: np.ndarray, ways: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``STRtree(ways).query_nearest(points, all_matches=False)`` for points on the ways.

    The same answer, found faster: the ways within ``_ON_WAY_M`` of a point
    (a ``dwithin`` query) are measured with the same GEOS distance, and a point whose
    nearest is unique among them, at no more than half that range, takes it (any way not
    among them is farther). A point with a tie or no close way is left to
    ``query_nearest``, whose pick among equals follows its tree walk.
    Returns ``(point index, way index)``. O(n log m) for n points and m ways.
    """
    n = len(points)
    tree = shapely.STRtree(ways)
    qi, wi = tree.query(points, predicate="dwithin", distance=_ON_WAY_M)
    d = shapely.distance(points[qi], ways[wi])
    best = np.full(n, np.inf)
    np.minimum.at(best, qi, d)
    at_min = d == best[qi]
    n_min = np.bincount(qi[at_min], minlength=n)
    way = np.full(n, -1, dtype=np.int64)
    sure = at_min & (n_min[qi] == 1) & (d <= 0.5 * _ON_WAY_M)
    way[qi[sure]] = wi[sure]
    rest = np.flatnonzero(way < 0)
    if len(rest):
        near = tree.query_nearest(points[rest], all_matches=False)
        way[rest[near[0]]] = near[1]
    at = np.flatnonzero(way >= 0)
    return at, way[at]


def inside_any(points: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Whether each point lies strictly inside any of the polygons. O(n log m)."""
    out = np.zeros(len(points), dtype=bool)
    if len(points) and len(polygons):
        hit = shapely.STRtree(polygons).query(points, predicate="within")
        out[hit[0]] = True
    return out


def inside_any_xy(xy: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """:func:`inside_any` for points given as ``(n, 2)`` coordinates (no Point objects).

    Candidate (point, polygon) pairs come from a grid of the polygons' bounding boxes (a
    point inside a box falls in one of the box's cells, cells about the median box across);
    GEOS ``contains_xy`` decides each (a polygon contains a point exactly when the point
    lies within it). O(n + m + candidates) for n points and m polygons.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(len(xy), dtype=bool)
    polygons = np.asarray(polygons, dtype=object)
    if not len(xy) or not len(polygons):
        return out
    bb = shapely.bounds(polygons)
    real = np.flatnonzero(~np.isnan(bb).any(axis=1))  # an empty polygon contains nothing
    if not len(real):
        return out
    bb = np.ascontiguousarray(bb[real])
    # cells about a typical box across: a box spans a few cells, a cell holds a few boxes
    size = float(np.median(np.maximum(bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1])))
    x0, y0, cell, nx, ny = grid_shape(bb, max(size, 4.0), min_cell=4.0)
    start, items, _, _ = bbox_grid(bb, x0, y0, cell, nx, ny)
    fx = (xy[:, 0] - x0) / cell
    fy = (xy[:, 1] - y0) / cell
    p = np.flatnonzero((fx >= 0.0) & (fx < nx) & (fy >= 0.0) & (fy < ny))
    c = fy[p].astype(np.int64) * nx + fx[p].astype(np.int64)
    lo = start[c]
    cnt = start[c + 1] - lo
    pi = np.repeat(p, cnt)
    k = np.arange(pi.size) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(lo, cnt)
    bi = items[k]
    px, py = xy[pi, 0], xy[pi, 1]
    box = (bb[bi, 0] <= px) & (px <= bb[bi, 2]) & (bb[bi, 1] <= py) & (py <= bb[bi, 3])
    pi, bi = pi[box], bi[box]
    hit = shapely.contains_xy(polygons[real[bi]], xy[pi, 0], xy[pi, 1])
    out[pi[hit]] = True
    return out
