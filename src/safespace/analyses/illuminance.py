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
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd
import shapely

from safespace.errors import InputError
from safespace.limits import check_points
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
# Photometry packed for the numba kernel
# --------------------------------------------------------------------------------------
_REFINED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_INTERVALS = 2048  # per axis of a refined table (a table is at most ~4 M values)


def _common_step(angles: np.ndarray) -> float:
    """Largest step (to 1e-6°) of which every angle step is a whole multiple."""
    micro = np.round(np.diff(angles) * 1e6).astype(np.int64)
    return float(np.gcd.reduce(micro)) / 1e6


def _refined(photometry: Photometry) -> tuple[np.ndarray, float, float]:
    """The photometry's candela table on a uniform (C, γ) grid, and 1/ΔC, 1/Δγ.

    The uniform step is the common divisor of the file's steps, so every tabulated angle is
    a node and bilinear interpolation on the uniform grid equals bilinear interpolation on
    the file's grid (a bilinear function restricted to a sub-rectangle is the bilinear
    interpolant of its corners). The kernels then find a cell by one multiplication instead
    of a search. A file whose steps share no divisor giving at most ``_MAX_INTERVALS`` per
    axis is resampled at that many intervals, with a warning giving the largest change at
    its own angles. Cached per photometry.
    """
    hit = _REFINED.get(photometry)
    if hit is not None:
        return hit
    axes = []
    for ang in (photometry.c_angles, photometry.gamma_angles):
        span = float(ang[-1] - ang[0])
        step = _common_step(ang)
        if step <= 0 or span / step > _MAX_INTERVALS + 0.5:
            step = span / _MAX_INTERVALS
        count = int(round(span / step))
        nodes = np.minimum(ang[0] + (span / count) * np.arange(count + 1), ang[-1])
        nodes[-1] = ang[-1]
        axes.append((nodes, count / span))
    (c, c_inv), (g, g_inv) = axes
    cc, gg = np.meshgrid(c, g, indexing="ij")
    table = np.ascontiguousarray(photometry.intensity(cc, gg))
    exact = all(
        np.max(np.abs(f - np.round(f))) < 1e-6
        for f in ((photometry.c_angles - c[0]) * c_inv, (photometry.gamma_angles - g[0]) * g_inv)
    )
    if not exact:
        back = _bilinear_uniform(table, c[0], g[0], c_inv, g_inv, photometry)
        dev = float(np.max(np.abs(back - photometry.candela)))
        warnings.warn(
            f"photometry {photometry.name or photometry.source!r}: its angle steps share no "
            f"common divisor; resampled on a {c.size} × {g.size} grid, which changes the "
            f"intensity at the file's own angles by up to {dev:.3g} cd",
            stacklevel=3,
        )
    out = (table, c_inv, g_inv)
    _REFINED[photometry] = out
    return out


def _bilinear_uniform(table, c0, g0, c_inv, g_inv, photometry: Photometry) -> np.ndarray:
    """The resampled table evaluated back at the file's own (C, γ) nodes (for the warning)."""
    cc, gg = np.meshgrid(photometry.c_angles, photometry.gamma_angles, indexing="ij")
    fc = (cc - c0) * c_inv
    fg = (gg - g0) * g_inv
    ic = np.clip(fc.astype(np.int64), 0, table.shape[0] - 2)
    ig = np.clip(fg.astype(np.int64), 0, table.shape[1] - 2)
    tc, tg = fc - ic, fg - ig
    lo = table[ic, ig] * (1 - tg) + table[ic, ig + 1] * tg
    hi = table[ic + 1, ig] * (1 - tg) + table[ic + 1, ig + 1] * tg
    return lo * (1 - tc) + hi * tc


def _candela(photometries: Sequence[Photometry]) -> np.ndarray:
    """The refined tables of ``photometries`` flattened one after another (C-major)."""
    return np.concatenate([_refined(p)[0].ravel() for p in photometries])


# Cephes atan coefficients (S. L. Moshier, Cephes Math Library, atan.c; |error| ~ 1e-16).
_P0, _P1, _P2, _P3, _P4 = (-8.750608600031904122785e-1, -1.615753718733365076637e1,
                           -7.500855792314704667340e1, -1.228866684490136173410e2,
                           -6.485021904942025371773e1)  # fmt: skip
_Q0, _Q1, _Q2, _Q3, _Q4 = (2.485846490142306297962e1, 1.650270098316988542046e2,
                           4.328810604912902668951e2, 4.853903996359136964868e2,
                           1.945506571482613964425e2)  # fmt: skip
_MOREBITS = 6.123233995736765886130e-17


@nb.njit(cache=True, inline="always")
def _atan2(y, x):
    """atan2 in radians, accurate to ~1e-16; cheaper than libm's inside a numba loop.

    Both argument reductions are computed and selected (no branch), so a loop over it
    vectorises.
    """
    ax = abs(x)
    ay = abs(y)
    num = min(ax, ay)
    den = max(max(ax, ay), 1e-300)
    t0 = num / den
    big = t0 > 0.66
    t1 = (t0 - 1.0) / (t0 + 1.0)
    t = t1 if big else t0
    z = t * t
    p = (((_P0 * z + _P1) * z + _P2) * z + _P3) * z + _P4
    q = ((((z + _Q0) * z + _Q1) * z + _Q2) * z + _Q3) * z + _Q4
    r = t * z * p / q + t
    r = r + (0.7853981633974483096 + 0.5 * _MOREBITS if big else 0.0)
    r = 1.5707963267948966192 - r if ay > ax else r
    r = 3.141592653589793238 - r if x < 0.0 else r
    return -r if y < 0.0 else r


@nb.njit(cache=True, inline="always")
def _table_cell(c_deg, gam, g_lo, c0, c_inv, g_inv, offset, nc, ng):
    """Flat index of the lower-left corner of (C, γ)'s cell in a refined table starting at
    ``offset`` (nc × ng, C-major), and the weights along C and γ. Branch-free; γ is clamped
    into the table (the caller tests the span), C wraps at 360°."""
    cc = c_deg - c0
    cc = min(max(cc - 360.0 * np.floor(cc * (1.0 / 360.0)), 0.0), 360.0)
    fc = cc * c_inv
    fg = min(max(gam - g_lo, 0.0), 180.0) * g_inv
    ic = min(int(fc), nc - 2)
    ig = min(int(fg), ng - 2)
    return offset + ic * ng + ig, fc - ic, fg - ig


@nb.njit(cache=True, inline="always")
def _bilinear(i_all, base, ng, tc, tg):
    """Bilinear blend of the table cell whose lower-left corner is ``base``."""
    i00 = i_all[base]
    i01 = i_all[base + 1]
    i10 = i_all[base + ng]
    i11 = i_all[base + ng + 1]
    return (i00 + (i01 - i00) * tg) * (1.0 - tc) + (i10 + (i11 - i10) * tg) * tc


@nb.njit(cache=True, inline="always")
def _table_intensity(lamps, li, c_deg, gam, i_all):
    """Maintained intensity (cd × flux scale × MF) of lamp ``li`` at (C, γ) in degrees.

    Bilinear on the lamp's refined uniform table (see :func:`_refined`); 0 outside its γ span.
    """
    # lamps columns 9-16: first γ, last γ, first C, 1/ΔC, 1/Δγ, table offset, nC, nγ
    if gam < lamps[li, 9] or gam > lamps[li, 10]:
        return 0.0
    ng = int(lamps[li, 16])
    base, tc, tg = _table_cell(
        c_deg, gam, lamps[li, 9], lamps[li, 11], lamps[li, 12], lamps[li, 13],
        int(lamps[li, 14]), int(lamps[li, 15]), ng,
    )  # fmt: skip
    return _bilinear(i_all, base, ng, tc, tg) * lamps[li, 7]


@nb.njit(cache=True, inline="always")
def _lamp_frame(lamps, li, dx, dy, dz):
    """(u, b, w): the direction (dx, dy, dz) point − lamp in lamp ``li``'s own frame.

    u along C0 = (sin az, cos az), b along C90 after the tilt about the C0 axis, w upward.
    """
    ca = lamps[li, 3]
    sa = lamps[li, 4]
    ct = lamps[li, 5]
    st = lamps[li, 6]
    u = dx * sa + dy * ca
    v = -dx * ca + dy * sa
    return u, ct * v + st * dz, -st * v + ct * dz


@nb.njit(cache=True, inline="always")
def _angles(u, b, w):
    """(C, γ) in degrees of the direction (u, b, w) in a lamp's frame; branch-free."""
    rad2deg = 57.29577951308232
    return _atan2(b, u) * rad2deg, _atan2(np.sqrt(u * u + b * b), -w) * rad2deg


@nb.njit(parallel=True, fastmath=True, cache=True)
def _pair_kernel(lamp_i, pt_i, lamps, px, py, pz, nx, ny, want, i_all):
    """Per-pair E_h, E_sc, E_v (columns 0, 1, 2) for explicit lamp/point pairs. O(K)."""
    k = lamp_i.size
    out = np.zeros((k, 3))
    for q in nb.prange(k):
        li = lamp_i[q]
        pi_ = pt_i[q]
        dx = px[pi_] - lamps[li, 0]
        dy = py[pi_] - lamps[li, 1]
        dz = pz[pi_] - lamps[li, 2]
        r2 = dx * dx + dy * dy
        d2 = r2 + dz * dz
        if d2 <= 1e-12:
            continue
        u, b, w = _lamp_frame(lamps, li, dx, dy, dz)
        c_deg, gam = _angles(u, b, w)
        inten = _table_intensity(lamps, li, c_deg, gam, i_all)
        if inten == 0.0:
            continue
        inv3 = 1.0 / (d2 * np.sqrt(d2))
        if want[0] and dz < 0.0:
            out[q, 0] = inten * (-dz) * inv3
        if want[1] or want[2]:
            # horizontal vector point -> lamp is (-dx, -dy); its projection on n
            proj = -(dx * nx[pi_] + dy * ny[pi_])
            if want[1]:
                out[q, 1] = inten * (np.sqrt(r2) + proj) * inv3 / np.pi
            if want[2] and proj > 0.0:
                out[q, 2] = inten * proj * inv3
    return out


# --------------------------------------------------------------------------------------
# Uniform grid of lamps: neighbours of a point without a tree
# --------------------------------------------------------------------------------------
@dataclass
class _LampGrid:
    """Lamps bucketed in square cells of side ≥ the largest reach (CSR: start, items)."""

    x0: float
    y0: float
    inv_cell: float
    nx: int
    ny: int
    reach_max: float
    start: np.ndarray
    items: np.ndarray


def _lamp_grid(xy: np.ndarray, reach: np.ndarray, max_cells: int = 1 << 22) -> _LampGrid:
    reach_max = float(reach.max())
    x0, y0 = xy.min(axis=0) - 1e-6
    span = np.maximum(xy.max(axis=0) - (x0, y0), 1e-6)
    cell = max(reach_max, 1e-3)
    while np.prod(np.floor(span / cell) + 1) > max_cells:  # far-flung lamps: coarser cells
        cell *= 2.0
    nx, ny = (np.floor(span / cell) + 1).astype(np.int64)
    ix = np.minimum(((xy[:, 0] - x0) / cell).astype(np.int64), nx - 1)
    iy = np.minimum(((xy[:, 1] - y0) / cell).astype(np.int64), ny - 1)
    cid = iy * nx + ix
    items = np.argsort(cid, kind="stable").astype(np.int64)
    start = np.searchsorted(cid[items], np.arange(nx * ny + 1)).astype(np.int64)
    return _LampGrid(float(x0), float(y0), 1.0 / cell, int(nx), int(ny), reach_max, start, items)


@nb.njit(cache=True, inline="always")
def _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max):
    i0 = max(int(np.floor((x - reach_max - x0) * inv_cell)), 0)
    i1 = min(int(np.floor((x + reach_max - x0) * inv_cell)), gnx - 1)
    j0 = max(int(np.floor((y - reach_max - y0) * inv_cell)), 0)
    j1 = min(int(np.floor((y + reach_max - y0) * inv_cell)), gny - 1)
    return i0, i1, j0, j1


@nb.njit(parallel=True, cache=True)
def _count_pairs(px, py, lamps, x0, y0, inv_cell, gnx, gny, reach_max, start, items):
    n = px.size
    counts = np.zeros(n, np.int64)
    for p in nb.prange(n):
        x = px[p]
        y = py[p]
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        m = 0
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    li = items[s]
                    dx = x - lamps[li, 0]
                    dy = y - lamps[li, 1]
                    if dx * dx + dy * dy <= lamps[li, 8]:
                        m += 1
        counts[p] = m
    return counts


@nb.njit(parallel=True, cache=True)
def _fill_pairs(px, py, lamps, x0, y0, inv_cell, gnx, gny, reach_max, start, items, offs):
    n = px.size
    lamp_i = np.empty(offs[n], np.int64)
    pt_i = np.empty(offs[n], np.int64)
    for p in nb.prange(n):
        x = px[p]
        y = py[p]
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        q = offs[p]
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    li = items[s]
                    dx = x - lamps[li, 0]
                    dy = y - lamps[li, 1]
                    if dx * dx + dy * dy <= lamps[li, 8]:
                        lamp_i[q] = li
                        pt_i[q] = p
                        q += 1
    return lamp_i, pt_i


@nb.njit(cache=True, inline="always")
def _gather_in_reach(
    p0, p1, px, py, inside, counts, cell_xyr, x0, y0, inv_cell, gnx, gny, reach_max, start,
    items, pl, pp, seg,
):  # fmt: skip
    """Lamp/point pairs in reach for points p0..p1, grouped by point (pairs of point p are
    seg[p - p0]:seg[p - p0 + 1]); lamps-in-reach counts into ``counts``. Returns the pair
    arrays (grown when full) and the pair count. Points flagged ``inside`` get no pairs.

    The reach test is unpredictable, so lamps are appended without a branch (the write
    always happens; the count advances only for a lamp in reach).
    """
    kk = 0
    for p in range(p0, p1):
        x = px[p]
        y = py[p]
        seg[p - p0] = kk
        i0, i1, j0, j1 = _cell_range(x, y, x0, y0, inv_cell, gnx, gny, reach_max)
        need = 0
        if i1 >= i0:  # (a point far outside the grid has an empty, inverted range)
            for j in range(j0, j1 + 1):
                need += start[j * gnx + i1 + 1] - start[j * gnx + i0]
        if kk + need > pl.size:
            cap = max(2 * pl.size, kk + need)
            grown_l = np.empty(cap, np.int64)
            grown_p = np.empty(cap, np.int64)
            grown_l[:kk] = pl[:kk]
            grown_p[:kk] = pp[:kk]
            pl = grown_l
            pp = grown_p
        k0 = kk
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * gnx + i
                for s in range(start[c], start[c + 1]):
                    # cell_xyr: x, y, reach² of the lamps in cell order (contiguous)
                    dx = x - cell_xyr[s, 0]
                    dy = y - cell_xyr[s, 1]
                    pl[kk] = items[s]
                    pp[kk] = p
                    kk += dx * dx + dy * dy <= cell_xyr[s, 2]
        counts[p] = kk - k0
        if inside[p]:
            kk = k0
    seg[p1 - p0] = kk
    return pl, pp, kk


@nb.njit(parallel=True, fastmath=True, cache=True, error_model="numpy")
def _point_kernel(
    px, py, nx, ny, zh, zv, want, inside, lamps, dark,
    x0, y0, inv_cell, gnx, gny, reach_max, start, items,
    occl, e_start, e_stop, e_ids, edges, e_height, e_base, i_all,
):  # fmt: skip
    """Per point: E_h, E_sc, E_v facing n, E_sc, E_v facing −n, lamps in reach (6 columns).

    Parallel over chunks of points. Each chunk gathers its lamp/point pairs in reach from
    the lamp-grid cells within the largest reach (no global pair list), then, per plane, runs
    passes over the pairs: a gather (offsets in each lamp's frame, and the lamp's table
    constants copied per pair); the C and γ angles and the table cell of every pair, in a
    contiguous branch-free loop that LLVM vectorises (the two atan2 dominate the arithmetic);
    the occlusion test when ``occl``; and the table look-up. Per-point sums follow. Both
    faces of a semi-cylinder / vertical plane share one look-up (the back face's projection
    is minus the front's). ``error_model="numpy"`` lets divisions vectorise (no zero check:
    every divisor here is guarded). O(P × lamps in the neighbouring cells + K), plus the
    edges near each lamp for each pair when ``occl``.
    """
    n = px.size
    out = np.zeros((n, 6))
    counts = np.zeros(n)
    eps = 1e-9
    cell_xyr = np.empty((items.size, 3))
    for s in range(items.size):
        cell_xyr[s, 0] = lamps[items[s], 0]
        cell_xyr[s, 1] = lamps[items[s], 1]
        cell_xyr[s, 2] = lamps[items[s], 8]
    do_h = want[0]
    do_v = want[1] or want[2]
    chunk = 256
    n_chunks = (n + chunk - 1) // chunk
    for ch in nb.prange(n_chunks):
        p0 = ch * chunk
        p1 = min(n, p0 + chunk)
        seg = np.empty(p1 - p0 + 1, np.int64)
        pl, pp, kk = _gather_in_reach(
            p0, p1, px, py, inside, counts, cell_xyr, x0, y0, inv_cell, gnx, gny, reach_max,
            start, items, np.empty(32 * chunk, np.int64), np.empty(32 * chunk, np.int64), seg,
        )  # fmt: skip
        ddx = np.empty(kk)
        ddy = np.empty(kk)
        ddz = np.empty(kk)
        fu = np.empty(kk)
        fb = np.empty(kk)
        fw = np.empty(kk)
        lc = np.empty((9, kk))  # per pair: the lamp's table constants (rows 9-16) and k
        base = np.empty(kk, np.int64)
        ngs = np.empty(kk, np.int64)
        wc = np.empty(kk)
        wg = np.empty(kk)
        light = np.empty(kk)  # I / |d|³ per pair (0 where dark, blocked or out of span)
        for plane in range(2):
            if (plane == 0 and not do_h) or (plane == 1 and not do_v):
                continue
            z = zh if plane == 0 else zv
            for q in range(kk):  # pass 1: gather
                li = pl[q]
                dx = px[pp[q]] - lamps[li, 0]
                dy = py[pp[q]] - lamps[li, 1]
                dz = z - lamps[li, 2]
                ddx[q] = dx
                ddy[q] = dy
                ddz[q] = dz
                fu[q], fb[q], fw[q] = _lamp_frame(lamps, li, dx, dy, dz)
                for c in range(8):
                    lc[c, q] = lamps[li, 9 + c]
                lc[8, q] = 0.0 if dark[li] else lamps[li, 7]
            for q in range(kk):  # pass 2: angles and table cells, vectorised
                c_deg, gam = _angles(fu[q], fb[q], fw[q])
                dx = ddx[q]
                dy = ddy[q]
                dz = ddz[q]
                d2 = dx * dx + dy * dy + dz * dz
                g_lo = lc[0, q]
                ok = (gam >= g_lo) & (gam <= lc[1, q]) & (d2 > 1e-12)
                if plane == 0:
                    ok = ok & (dz < 0.0)
                ng = int(lc[7, q])
                base[q], wc[q], wg[q] = _table_cell(
                    c_deg, gam, g_lo, lc[2, q], lc[3, q], lc[4, q], int(lc[5, q]),
                    int(lc[6, q]), ng,
                )  # fmt: skip
                ngs[q] = ng
                d2 = max(d2, 1e-12)
                light[q] = (lc[8, q] if ok else 0.0) / (d2 * np.sqrt(d2))
            if occl:
                for q in range(kk):  # pass 3: occlusion
                    if light[q] == 0.0:
                        continue
                    li = pl[q]
                    lx = lamps[li, 0]
                    ly = lamps[li, 1]
                    x = lx + ddx[q]
                    y = ly + ddy[q]
                    if _ray_blocked(
                        lx, ly, lamps[li, 2], x, y, z, ddx[q], ddy[q], min(lx, x), max(lx, x),
                        min(ly, y), max(ly, y), eps, e_start[li], e_stop[li],
                        e_ids, edges, e_height, e_base,
                    ):  # fmt: skip
                        light[q] = 0.0
            for q in range(kk):  # pass 4: the table look-up
                light[q] *= _bilinear(i_all, base[q], ngs[q], wc[q], wg[q])
            for p in range(p0, p1):
                q0 = seg[p - p0]
                q1 = seg[p - p0 + 1]
                if plane == 0:
                    eh = 0.0
                    for q in range(q0, q1):
                        eh += -ddz[q] * light[q]
                    out[p, 0] = eh
                    continue
                nxp = nx[p]
                nyp = ny[p]
                esc = 0.0
                escb = 0.0
                ev = 0.0
                evb = 0.0
                for q in range(q0, q1):
                    # horizontal vector point -> lamp is (-dx, -dy); its projection on n
                    proj = -(ddx[q] * nxp + ddy[q] * nyp)
                    rr = np.sqrt(ddx[q] * ddx[q] + ddy[q] * ddy[q])
                    e = light[q]
                    esc += (rr + proj) * e
                    escb += (rr - proj) * e
                    ev += max(proj, 0.0) * e
                    evb += max(-proj, 0.0) * e
                out[p, 1] = esc / np.pi
                out[p, 2] = ev
                out[p, 3] = escb / np.pi
                out[p, 4] = evb
    out[:, 5] = counts
    return out


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
        Polygons or MultiPolygons (array-like, GeoSeries, or a GeoDataFrame whose
        ``height_m`` column gives heights).
    heights
        Height of each obstacle's top in m; NaN or ``None`` means unknown and is treated as
        taller than any lamp.
    bases
        Height of each obstacle's underside in m (default 0: on the ground).
    """

    def __init__(self, polygons, heights=None, bases=None):
        if hasattr(polygons, "geometry") and hasattr(polygons, "columns"):
            if heights is None and "height_m" in polygons.columns:
                heights = polygons["height_m"].to_numpy(dtype=float)
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
        ob, pt = _box_point_pairs(
            b[:, 0], b[:, 1], b[:, 2], b[:, 3], x, y,
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


@nb.njit(cache=True)
def _box_point_pairs(bx0, by0, bx1, by1, px, py, x0, y0, inv_cell, gnx, gny, start, items):
    """(box, point) index pairs with the point inside the closed box; points bucketed in a
    uniform grid (CSR start/items). Two passes (count, fill): O(boxes × cells + pairs)."""
    nb_ = bx0.size
    total = 0
    for pas in range(2):
        if pas == 1:
            ob = np.empty(total, np.int64)
            pt = np.empty(total, np.int64)
        q = 0
        for k in range(nb_):
            i0 = max(int(np.floor((bx0[k] - x0) * inv_cell)), 0)
            i1 = min(int(np.floor((bx1[k] - x0) * inv_cell)), gnx - 1)
            j0 = max(int(np.floor((by0[k] - y0) * inv_cell)), 0)
            j1 = min(int(np.floor((by1[k] - y0) * inv_cell)), gny - 1)
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    c = j * gnx + i
                    for s in range(start[c], start[c + 1]):
                        p = items[s]
                        if bx0[k] <= px[p] <= bx1[k] and by0[k] <= py[p] <= by1[k]:
                            if pas == 1:
                                ob[q] = k
                                pt[q] = p
                            q += 1
        total = q
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return ob, pt


def _as_obstacles(obstacles) -> Obstacles | None:
    if obstacles is None or isinstance(obstacles, Obstacles):
        return obstacles
    return Obstacles(obstacles)


@nb.njit(parallel=True, cache=True)
def _blocked_kernel(
    lamp_i, pt_i, lamps, px, py, pz, e_start, e_stop, e_ids, edges, e_height, e_base
):  # fmt: skip
    """True where the lamp→point segment properly crosses an obstacle side (base ≤ z < top)."""
    k = lamp_i.size
    out = np.zeros(k, dtype=np.bool_)
    eps = 1e-9
    for q in nb.prange(k):
        li = lamp_i[q]
        pi_ = pt_i[q]
        ax = lamps[li, 0]
        ay = lamps[li, 1]
        az = lamps[li, 2]
        bx = px[pi_]
        by = py[pi_]
        rx = bx - ax
        ry = by - ay
        minx = min(ax, bx)
        maxx = max(ax, bx)
        miny = min(ay, by)
        maxy = max(ay, by)
        out[q] = _ray_blocked(
            ax, ay, az, bx, by, pz[pi_], rx, ry, minx, maxx, miny, maxy, eps,
            e_start[li], e_stop[li], e_ids, edges, e_height, e_base,
        )  # fmt: skip
    return out


@nb.njit(cache=True, inline="always")
def _ray_blocked(
    ax, ay, az, bx, by, bz, rx, ry, minx, maxx, miny, maxy, eps,
    s0, s1, e_ids, edges, e_height, e_base,
):  # fmt: skip
    """Does the segment (ax, ay, az)→(bx, by, bz) cross one of the edges e_ids[s0:s1]?"""
    for s in range(s0, s1):
        e = e_ids[s]
        cx = edges[e, 0]
        cy = edges[e, 1]
        ex = edges[e, 2]
        ey = edges[e, 3]
        if max(cx, ex) < minx or min(cx, ex) > maxx:
            continue
        if max(cy, ey) < miny or min(cy, ey) > maxy:
            continue
        sx = ex - cx
        sy = ey - cy
        den = rx * sy - ry * sx
        if den == 0.0:
            continue  # parallel: grazing along a wall does not block
        qx = cx - ax
        qy = cy - ay
        t = (qx * sy - qy * sx) / den  # along lamp -> point
        u = (qx * ry - qy * rx) / den  # along the edge
        if t <= eps or t >= 1.0 - eps or u < 0.0 or u > 1.0:
            continue
        # height of the ray where it crosses the obstacle's side
        zc = az + t * (bz - az)
        if zc < e_height[e] and zc >= e_base[e]:
            return True
    return False


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
def _lamp_rows(lamps: LampSet, reach_factor: float) -> np.ndarray:
    """(m, 17) float rows the kernels read: x, y, H, cos/sin azimuth, cos/sin tilt, k, reach²,
    and, of the lamp's photometry's refined table (:func:`_refined`), first γ, last γ, first C,
    1/ΔC, 1/Δγ, offset in :func:`_candela`'s array, number of C and of γ nodes.

    Copied per lamp so the kernels make no dependent loads through a photometry index.
    """
    az = np.radians(lamps.azimuth_deg)
    tl = np.radians(lamps.tilt_deg)
    reach = reach_factor * lamps.positions[:, 2]
    phs = lamps.photometries
    tables = [_refined(p) for p in phs]
    sizes = np.array([t[0].size for t in tables], dtype=np.float64)
    per_photometry = np.column_stack(
        [
            [p.gamma_angles[0] for p in phs],
            [p.gamma_angles[-1] for p in phs],
            [p.c_angles[0] for p in phs],
            [t[1] for t in tables],
            [t[2] for t in tables],
            np.concatenate([[0.0], np.cumsum(sizes)[:-1]]),
            [t[0].shape[0] for t in tables],
            [t[0].shape[1] for t in tables],
        ]
    ).astype(np.float64)
    return np.ascontiguousarray(
        np.column_stack(
            [
                lamps.positions,
                np.cos(az),
                np.sin(az),
                np.cos(tl),
                np.sin(tl),
                lamps.flux_scale * lamps.maintenance_factor,
                reach * reach,
                per_photometry[lamps.photometry_index],
            ]
        )
    )


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


# --------------------------------------------------------------------------------------
# Calculation grids
# --------------------------------------------------------------------------------------
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
