"""Point-by-point illuminance from luminaires, with building shadows (EN 13201-3 style).

Geometry and conventions
------------------------
- Coordinates are metres in a projected CRS; z is height above the (flat) ground at z = 0.
- A lamp's **azimuth** is the plan direction of its C0 plane, in degrees **clockwise from
  north (+y)**. C angles grow counter-clockwise seen from above, so with azimuth 0 the C0
  plane points north (+y) and C90 points west (−x).
- A lamp's **tilt** rotates the luminaire about its C0–C180 axis; positive tilt swings the
  nadir toward the C90 side (the usual upcast of a road luminaire toward the carriageway when
  C90 faces the road).
- Intensities come from :class:`safespace.photometry.Photometry` (cd at rated flux) and are
  multiplied by the lamp's ``flux_scale`` (requested lumens / rated flux) and maintenance
  factor.

Formulas (EN 13201-3:2015, Road lighting — Calculation of performance, clause 7 on
illuminance; written here in vector form, which reduces to the standard's forms for an
untilted luminaire). With d the vector from the calculation point to the lamp, |d| its
length, h = H − z the lamp's height above the calculation plane, r its horizontal length,
ε the angle of incidence from the vertical (cos ε = h/|d|, sin ε = r/|d|), MF the maintenance
factor and I = I(C, γ) the intensity toward the point:

- horizontal: E_h = I·MF·cos ε/|d|² = I·MF·cos³ε/h²
- semi-cylindrical, curved face toward unit horizontal vector n, α_sc the plan angle between
  n and the horizontal direction to the lamp:
  E_sc = I·MF·(1 + cos α_sc)·sin ε/(π·|d|²) = I·MF·(1 + cos α_sc)·cos²ε·sin ε/(π·h²)
- vertical, plane facing n: E_v = I·MF·max(cos α_v, 0)·sin ε/|d|² = I·MF·max(cos α_v,0)·
  cos²ε·sin ε/h²

The formula forms are the standard point-illuminance expressions the EN 13201-3 text uses;
the standard itself could not be read here, so the clause reference is **[quoted]**.
Only direct light is computed (no reflections from ground or façades).

Reach and cost
--------------
Each lamp lights only points within ``reach_factor`` × its mounting height (default 6). Lamps
are bucketed in a uniform grid whose cells are one (largest) reach wide, and a parallel numba
kernel takes the points in chunks: it gathers each chunk's lamps in reach from the
neighbouring cells (a contiguous cell-ordered copy, appended without a branch), then runs
passes over those pairs, one of which computes the C and γ angles in a branch-free loop that
LLVM vectorises; no global pair list is built. O(m + P log P + P × c) for m lamps, P points
and c lamps in the neighbouring cells, K = O(P × lamps in reach) evaluations. One intensity
look-up per lamp and plane serves both faces of a semi-cylinder/vertical plane
(:func:`illuminance_both_faces`). Intensity tables are refined once per photometry onto a
uniform (C, γ) grid whose step divides every tabulated step, which leaves the bilinear
interpolation unchanged and finds a cell by one multiplication (:func:`_refined`).
Occlusion adds O(K × e) where e is the number of obstacle edges near the lamp (within its
reach), after an O(E log E) edge index; ground points inside buildings are found from the
buildings' bounding boxes over bucketed points (no point objects).

Modules: the numba kernels are in :mod:`._kern_light` (small inputs take their NumPy twins
in :mod:`._kern_light_np`, which give the same answers without compiling anything; see
:mod:`._jit`), the calculation grids in :mod:`._kern_grids`; this module holds the lamps,
the obstacles and the public functions, and re-exports the grids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from safespace._classify import building_heights
from safespace.analyses._kern_grids import area_grid, route_grid
from safespace.analyses._kern_light import (  # noqa: F401  (re-exported: lighting_grid, benchmarks)
    _blocked_kernel,
    _box_point_pairs,
    _candela,
    _count_pairs,
    _fill_pairs,
    _lamp_grid,
    _lamp_rows,
    _pair_kernel,
    _point_kernel,
    _refined,
)
from safespace.errors import InputError
from safespace.photometry import Photometry

__all__ = [
    "LampSet",
    "Obstacles",
    "area_grid",
    "horizontal_illuminance",
    "illuminance",
    "illuminance_both_faces",
    "lamp_point_pairs",
    "route_grid",
    "semicylindrical_illuminance",
    "vertical_illuminance",
]

DEFAULT_MAINTENANCE_FACTOR = 0.8


# --------------------------------------------------------------------------------------
# Lamps
# --------------------------------------------------------------------------------------
@dataclass(eq=False)
class LampSet:
    """A set of luminaires.

    Parameters
    ----------
    positions
        (m, 3) array: x, y and mounting height H above the ground (m).
    photometries
        The distinct photometries used.
    photometry_index
        (m,) index into ``photometries`` per lamp (default all 0).
    azimuth_deg
        Plan direction of each lamp's C0 plane, degrees clockwise from north (+y).
    tilt_deg
        Tilt about the C0–C180 axis, degrees, positive toward C90.
    flux_scale
        Requested lumens / rated flux (1 = as photometered); for ``safespace:lumens``.
    maintenance_factor
        Maintenance factor MF (default 0.8).
    """

    positions: np.ndarray
    photometries: Sequence[Photometry]
    photometry_index: np.ndarray | int = 0
    azimuth_deg: np.ndarray | float = 0.0
    tilt_deg: np.ndarray | float = 0.0
    flux_scale: np.ndarray | float = 1.0
    maintenance_factor: np.ndarray | float = DEFAULT_MAINTENANCE_FACTOR

    def __post_init__(self) -> None:
        pos = np.asarray(self.positions, dtype=np.float64).reshape(-1, 3)
        m = pos.shape[0]
        if isinstance(self.photometries, Photometry):
            self.photometries = [self.photometries]
        self.photometries = list(self.photometries)
        if not self.photometries and m:
            raise InputError("a lamp set needs at least one photometry")

        def per_lamp(v, dtype, what):
            a = np.broadcast_to(np.asarray(v, dtype=dtype), (m,)).copy()
            if dtype is np.float64 and not np.all(np.isfinite(a)):
                raise InputError(f"lamp {what} must be finite numbers")
            return a

        self.positions = pos
        self.photometry_index = per_lamp(self.photometry_index, np.int64, "photometry index")
        if m and (
            self.photometry_index.min() < 0 or self.photometry_index.max() >= len(self.photometries)
        ):
            raise InputError("lamp photometry index out of range")
        self.azimuth_deg = per_lamp(self.azimuth_deg, np.float64, "azimuth")
        self.tilt_deg = per_lamp(self.tilt_deg, np.float64, "tilt")
        self.flux_scale = per_lamp(self.flux_scale, np.float64, "flux scale")
        self.maintenance_factor = per_lamp(
            self.maintenance_factor, np.float64, "maintenance factor"
        )
        if not np.all(np.isfinite(pos)):
            raise InputError("lamp positions must be finite numbers")
        if m and np.any(pos[:, 2] <= 0):
            raise InputError("lamp mounting heights must be positive")

    def __len__(self) -> int:
        return self.positions.shape[0]

    @staticmethod
    def flux_scale_for(photometry: Photometry, lumens: float) -> float:
        """Scale that makes ``photometry`` emit as a lamp of ``lumens`` rated lamp lumens.

        For absolute photometry (no rated flux) the luminaire's integrated flux is used.
        """
        ref = photometry.rated_flux if photometry.rated_flux else photometry.flux
        return float(lumens) / ref


# --------------------------------------------------------------------------------------
# Obstacles
# --------------------------------------------------------------------------------------
class Obstacles:
    """Building footprints (and tree crowns) prepared for occlusion tests.

    An obstacle is a vertical prism over its polygon, from ``base`` to ``height`` above the
    ground: buildings stand on the ground (base 0); a tree crown is a prism from its crown
    base to its top. A ray is blocked where it crosses the prism's side between base and top.

    Parameters
    ----------
    polygons
        Polygons or MultiPolygons (array-like, GeoSeries, or a buildings GeoDataFrame, whose
        heights are their effective heights: ``height_m``, else ``levels`` × 3 m, else
        unknown; :func:`safespace._classify.building_heights`).
    heights
        Height of each obstacle's top in m; NaN or ``None`` means unknown and is treated as
        taller than any lamp.
    bases
        Height of each obstacle's underside in m (default 0: on the ground).
    """

    def __init__(self, polygons, heights=None, bases=None):
        if hasattr(polygons, "geometry") and hasattr(polygons, "columns"):
            if heights is None and "height_m" in polygons.columns:
                heights = building_heights(polygons)
            polygons = polygons.geometry.values
        geoms = np.asarray(list(polygons), dtype=object)
        if geoms.size and not np.all(
            np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
        ):
            raise InputError("obstacles must be polygons")
        h = np.full(geoms.size, np.inf) if heights is None else np.asarray(heights, dtype=float)
        if h.shape != (geoms.size,):
            raise InputError("obstacle heights must match the polygons")
        b = np.zeros(geoms.size) if bases is None else np.asarray(bases, dtype=float)
        if b.shape != (geoms.size,):
            raise InputError("obstacle bases must match the polygons")
        self.polygons = geoms
        self.heights = np.where(np.isfinite(h), h, np.inf)
        self.bases = np.where(np.isfinite(b), np.maximum(b, 0.0), 0.0)
        self.tree = shapely.STRtree(geoms)
        # Edges of every ring (exterior and holes): (E, 4) x0 y0 x1 y1, with heights.
        rings, owner = shapely.get_rings(shapely.get_parts(geoms), return_index=True)
        parts_owner = shapely.get_parts(geoms, return_index=True)[1]
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        a, b2 = coords[:-1][same], coords[1:][same]
        edge_owner = parts_owner[owner[ring_of[1:][same]]]
        self.edges = np.ascontiguousarray(np.hstack([a, b2]))
        self.edge_height = np.ascontiguousarray(self.heights[edge_owner])
        self.edge_base = np.ascontiguousarray(self.bases[edge_owner])
        self.edge_tree = shapely.STRtree(shapely.linestrings(np.stack([a, b2], axis=1)))

    @classmethod
    def concat(cls, *parts: Obstacles | None) -> Obstacles | None:
        """One obstacle set from several (e.g. buildings and tree crowns)."""
        parts = [p for p in parts if p is not None and len(p)]
        if not parts:
            return None
        return cls(
            np.concatenate([p.polygons for p in parts]),
            np.concatenate([p.heights for p in parts]),
            np.concatenate([p.bases for p in parts]),
        )

    def on_ground_containing_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True for ground points strictly inside an obstacle standing on the ground (base 0).

        Same predicate as ``point within polygon``, but without building point objects:
        points are bucketed in a uniform grid, each obstacle's bounding box collects its
        candidates (numba), and prepared polygons answer ``contains_xy`` for those only.
        O(P + Σ candidates).
        """
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        out = np.zeros(x.size, dtype=bool)
        ground = np.flatnonzero(self.bases <= 0.0)
        if x.size == 0 or ground.size == 0:
            return out
        b = shapely.bounds(self.polygons[ground])
        xy = np.column_stack([x, y])
        g = _lamp_grid(xy, np.full(1, 16.0))
        bx0, by0, bx1, by1 = (np.ascontiguousarray(b[:, k]) for k in range(4))
        ob, pt = _box_point_pairs(
            bx0, by0, bx1, by1, x, y,
            g.x0, g.y0, g.inv_cell, g.nx, g.ny, g.start, g.items,
        )  # fmt: skip
        if ob.size:
            polys = self.polygons[ground]
            shapely.prepare(polys)
            hit = shapely.contains_xy(polys[ob], x[pt], y[pt])
            out[pt[hit]] = True
        return out

    def volumes_containing(self, xyz: np.ndarray) -> np.ndarray:
        """True for 3-D points inside an obstacle's volume (plan inside, base ≤ z < top)."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        out = np.zeros(xyz.shape[0], dtype=bool)
        if not len(self) or not xyz.shape[0]:
            return out
        pi_, oi = self.tree.query(shapely.points(xyz[:, :2]), predicate="intersects")
        z = xyz[pi_, 2]
        hit = (z >= self.bases[oi]) & (z < self.heights[oi])
        out[pi_[hit]] = True
        return out

    def __len__(self) -> int:
        return self.polygons.size


def _as_obstacles(obstacles) -> Obstacles | None:
    if obstacles is None or isinstance(obstacles, Obstacles):
        return obstacles
    return Obstacles(obstacles)


def _edges_near_lamps(obs: Obstacles, lamp_xy: np.ndarray, reach: np.ndarray):
    """CSR lists of obstacle edges within each lamp's reach square."""
    boxes = shapely.box(
        lamp_xy[:, 0] - reach, lamp_xy[:, 1] - reach, lamp_xy[:, 0] + reach, lamp_xy[:, 1] + reach
    )
    lamp_of, edge_ids = obs.edge_tree.query(boxes)  # bbox overlap, sorted by lamp
    order = np.argsort(lamp_of, kind="stable")
    lamp_of, edge_ids = lamp_of[order], edge_ids[order]
    counts = np.bincount(lamp_of, minlength=lamp_xy.shape[0])
    stop = np.cumsum(counts)
    return (stop - counts).astype(np.int64), stop.astype(np.int64), edge_ids.astype(np.int64)


# --------------------------------------------------------------------------------------
# Pairs and the public kernels
# --------------------------------------------------------------------------------------
def lamp_point_pairs(
    lamps: LampSet, points_xy: np.ndarray, reach_factor: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """Lamp and point indices of every lamp–point pair within the lamp's reach.

    Reach is ``reach_factor`` × the lamp's mounting height, measured in plan (inclusive).
    Lamps are bucketed in a uniform grid of cells at least one reach wide; two parallel
    passes over the points (count, then fill) visit the neighbouring cells. Cost
    O(m + P × lamps in the neighbouring cells); pairs come out grouped by point.
    """
    pts = np.ascontiguousarray(np.asarray(points_xy, dtype=np.float64).reshape(-1, 2))
    if len(lamps) == 0 or pts.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows = _lamp_rows(lamps, reach_factor)
    g = _lamp_grid(lamps.positions[:, :2], reach_factor * lamps.positions[:, 2])
    args = (g.x0, g.y0, g.inv_cell, g.nx, g.ny, g.reach_max, g.start, g.items)
    px, py = pts[:, 0].copy(), pts[:, 1].copy()
    counts = _count_pairs(px, py, rows, *args)
    offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return _fill_pairs(px, py, rows, *args, offs)


def _direction_vectors(directions, n: int) -> tuple[np.ndarray, np.ndarray]:
    if directions is None:
        return np.zeros(n), np.zeros(n)
    d = np.asarray(directions, dtype=np.float64)
    if d.ndim == 2 and d.shape == (n, 2):
        norm = np.hypot(d[:, 0], d[:, 1])
        if np.any(norm == 0):
            raise InputError("direction vectors must be non-zero")
        return d[:, 0] / norm, d[:, 1] / norm
    a = np.radians(np.broadcast_to(d, (n,)))
    return np.sin(a), np.cos(a)


def illuminance(
    lamps: LampSet,
    points_xy,
    directions=None,
    *,
    z_horizontal: float = 0.0,
    z_vertical: float = 1.5,
    obstacles=None,
    reach_factor: float = 6.0,
    kinds: Sequence[str] = ("E_h", "E_sc", "E_v"),
) -> dict[str, np.ndarray]:
    """Horizontal, semi-cylindrical and vertical illuminance (lx) at points.

    Parameters
    ----------
    lamps
        The luminaires.
    points_xy
        (P, 2) calculation points.
    directions
        Where the semi-cylinder's curved face / the vertical plane looks: azimuths in degrees
        clockwise from north, scalar or (P,), or (P, 2) plan vectors. Needed for ``E_sc`` and
        ``E_v``. For the faces of people walking toward an observer heading θ, pass θ + 180.
    z_horizontal
        Height of the horizontal calculation plane (m), default the ground.
    z_vertical
        Height of the semi-cylindrical and vertical calculation points, default 1.5 m.
    obstacles
        :class:`Obstacles`, or polygons (GeoDataFrame with optional ``height_m``). A building
        between lamp and point blocks the direct light unless the ray passes over it; points
        inside an obstacle get 0.
    reach_factor
        Lamps light points within this multiple of their mounting height (plan distance).
    kinds
        Which of ``"E_h"``, ``"E_sc"``, ``"E_v"`` to compute.

    Returns
    -------
    dict
        ``{"E_h": (P,), "E_sc": (P,), "E_v": (P,)}`` maintained illuminance in lx (only the
        requested kinds).

    Notes
    -----
    See the module docstring for the EN 13201-3 formulas and conventions. Complexity:
    O(P log P + K) for K lamp–point pairs in reach, plus O(K × e) with obstacles, e the
    number of obstacle edges within a lamp's reach; the pair loop is a parallel numba kernel.
    """
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    n = pts.shape[0]
    kinds = tuple(kinds)
    unknown = set(kinds) - {"E_h", "E_sc", "E_v"}
    if unknown:
        raise ValueError(f"unknown illuminance kinds {sorted(unknown)}")
    if not np.all(np.isfinite(pts)):
        raise InputError("calculation points must be finite numbers")
    want_dir = ("E_sc" in kinds) or ("E_v" in kinds)
    if want_dir and directions is None:
        raise ValueError("directions are needed for E_sc and E_v")
    result = {k: np.zeros(n) for k in kinds}
    if n == 0 or len(lamps) == 0:
        return result
    out = _evaluate(
        lamps, pts, directions if want_dir else None, kinds, z_horizontal, z_vertical,
        obstacles, reach_factor,
    )  # fmt: skip
    for col, k in enumerate(("E_h", "E_sc", "E_v")):
        if k in kinds:
            result[k] = np.ascontiguousarray(out[:, col])
    return result


def _evaluate(
    lamps: LampSet, pts, directions, kinds, z_horizontal, z_vertical, obstacles, reach_factor
) -> np.ndarray:
    """The point kernel's (P, 6) output in input order (see :func:`_point_kernel`)."""
    n = pts.shape[0]
    nx, ny = _direction_vectors(directions, n)
    # Visit points in spatial (grid-cell) order: neighbouring threads then read nearby lamps
    # and edges. Results are un-permuted at the end.
    cell = 32.0
    cx = np.floor((pts[:, 0] - pts[:, 0].min()) / cell)
    cy = np.floor((pts[:, 1] - pts[:, 1].min()) / cell)
    order = np.argsort(cy * (cx.max() + 1) + cx, kind="stable")
    px = np.ascontiguousarray(pts[order, 0])
    py = np.ascontiguousarray(pts[order, 1])
    nx, ny = np.ascontiguousarray(nx[order]), np.ascontiguousarray(ny[order])
    obs = _as_obstacles(obstacles)
    rows = _lamp_rows(lamps, reach_factor)
    reach = reach_factor * lamps.positions[:, 2]
    g = _lamp_grid(lamps.positions[:, :2], reach)
    inside = np.zeros(n, dtype=bool)
    dark = np.zeros(len(lamps), dtype=bool)
    occl = obs is not None and len(obs) > 0
    if occl:
        # ground points inside a building get no direct light
        inside = obs.on_ground_containing_xy(px, py)
        # a lamp head inside an obstacle's volume (a tree crown) lights nothing
        dark = obs.volumes_containing(lamps.positions)
        e_start, e_stop, e_ids = _edges_near_lamps(obs, lamps.positions[:, :2], reach)
        edges, e_h, e_b = obs.edges, obs.edge_height, obs.edge_base
    else:
        e_start = e_stop = e_ids = np.zeros(len(lamps), np.int64)
        edges, e_h, e_b = np.zeros((1, 4)), np.zeros(1), np.zeros(1)
    want = np.array([k in kinds for k in ("E_h", "E_sc", "E_v")])
    out = _point_kernel(
        px, py, nx, ny, float(z_horizontal), float(z_vertical), want, inside, rows, dark,
        g.x0, g.y0, g.inv_cell, g.nx, g.ny, g.reach_max, g.start, g.items, occl, e_start,
        e_stop, e_ids, edges, e_h, e_b, _candela(lamps.photometries),
    )  # fmt: skip
    res = np.empty_like(out)
    res[order] = out
    return res


def illuminance_both_faces(
    lamps: LampSet,
    points_xy,
    directions,
    *,
    z_horizontal: float = 0.0,
    z_vertical: float = 1.5,
    obstacles=None,
    reach_factor: float = 6.0,
) -> dict[str, np.ndarray]:
    """E_h, and E_sc / E_v on the faces looking along ``directions`` and the opposite way.

    One pass of the kernel serves both faces (the back face's horizontal projection is minus
    the front's), and counts the lamps in reach (before shadows). Same conventions and
    complexity as :func:`illuminance`: O(P log P + K) (+ O(K × e) with obstacles).

    Returns
    -------
    dict
        ``E_h``, ``E_sc_fwd``, ``E_v_fwd``, ``E_sc_back``, ``E_v_back`` (lx) and
        ``lamps_in_reach`` (int), each (P,).
    """
    pts = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    n = pts.shape[0]
    if not np.all(np.isfinite(pts)):
        raise InputError("calculation points must be finite numbers")
    names = ("E_h", "E_sc_fwd", "E_v_fwd", "E_sc_back", "E_v_back")
    if n == 0 or len(lamps) == 0:
        res = {k: np.zeros(n) for k in names}
        res["lamps_in_reach"] = np.zeros(n, np.int64)
        return res
    kinds = ("E_h", "E_sc", "E_v")
    out = _evaluate(
        lamps, pts, directions, kinds, z_horizontal, z_vertical, obstacles, reach_factor
    )
    res = {k: out[:, i] for i, k in enumerate(names)}
    res["lamps_in_reach"] = out[:, 5].astype(np.int64)
    return res


def horizontal_illuminance(
    lamps: LampSet,
    points_xy,
    z: float = 0.0,
    obstacles=None,
    reach_factor: float = 6.0,
) -> np.ndarray:
    """Maintained horizontal illuminance E_h (lx) at height ``z`` (EN 13201-3).

    E_h = Σ I(C, γ)·MF·cos³ε / h². Complexity O(P log P + K) for P points and K lamp–point
    pairs in reach (plus O(K × e) with obstacles); see :func:`illuminance`.
    """
    return illuminance(
        lamps,
        points_xy,
        z_horizontal=z,
        obstacles=obstacles,
        reach_factor=reach_factor,
        kinds=("E_h",),
    )["E_h"]


def semicylindrical_illuminance(
    lamps: LampSet,
    points_xy,
    directions,
    z: float = 1.5,
    obstacles=None,
    reach_factor: float = 6.0,
) -> np.ndarray:
    """Maintained semi-cylindrical illuminance E_sc (lx) at height ``z`` (EN 13201-3).

    E_sc = Σ I(C, γ)·MF·(1 + cos α_sc)·cos²ε·sin ε / (π·h²), the curved face looking along
    ``directions`` (azimuths clockwise from north, or plan vectors). Complexity as
    :func:`illuminance`.
    """
    return illuminance(
        lamps,
        points_xy,
        directions,
        z_vertical=z,
        obstacles=obstacles,
        reach_factor=reach_factor,
        kinds=("E_sc",),
    )["E_sc"]


def vertical_illuminance(
    lamps: LampSet,
    points_xy,
    directions,
    z: float = 1.5,
    obstacles=None,
    reach_factor: float = 6.0,
) -> np.ndarray:
    """Maintained vertical illuminance E_v (lx) on a vertical plane facing ``directions``.

    E_v = Σ I(C, γ)·MF·max(cos α_v, 0)·cos²ε·sin ε / h². Complexity as :func:`illuminance`.
    """
    return illuminance(
        lamps,
        points_xy,
        directions,
        z_vertical=z,
        obstacles=obstacles,
        reach_factor=reach_factor,
        kinds=("E_v",),
    )["E_v"]
