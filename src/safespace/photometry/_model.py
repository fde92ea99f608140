"""The one photometry model every reader produces: a full C-plane × γ candela table.

Conventions (CIE C-γ system, as used by EULUMDAT and IES LM-63 type C):

- γ is the angle from the nadir (straight down, 0°) to the zenith (180°).
- C is the azimuth of the half-plane, 0°…360°. Looking down on the luminaire from above, C
  grows counter-clockwise: C90 is 90° counter-clockwise of C0. (How C0 is placed on the map is
  the lamp's azimuth, see :mod:`safespace.analyses.illuminance`.)
- The table always covers a full turn: ``c_angles`` runs from ``c_angles[0]`` to
  ``c_angles[0] + 360`` with the last column a copy of the first, so interpolation wraps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _uniform(angles: np.ndarray) -> bool:
    if angles.size < 2:
        return False
    d = np.diff(angles)
    return bool(np.all(np.abs(d - d[0]) <= 1e-9))


def _bracket(grid: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left index and weight of ``x`` in the ascending ``grid`` (x inside the grid's span)."""
    i = np.searchsorted(grid, x, side="right") - 1
    i = np.clip(i, 0, grid.size - 2)
    t = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, t


def _gamma_weights(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact ∫ sinγ·(linear interpolant) dγ weights for each segment's left and right node.

    For a segment [g0, g1] of width Δ on which I is linear,
    ∫ I sinγ dγ = w_left·I0 + w_right·I1 with
    w_right = (sin g1 − sin g0 − Δ cos g1)/Δ and w_left = (cos g0 − cos g1) − w_right.
    """
    g0, g1 = g[:-1], g[1:]
    delta = g1 - g0
    w_right = (np.sin(g1) - np.sin(g0) - delta * np.cos(g1)) / delta
    w_left = (np.cos(g0) - np.cos(g1)) - w_right
    return w_left, w_right


@dataclass(frozen=True, eq=False)
class Photometry:
    """A luminaire's luminous intensity distribution.

    Parameters
    ----------
    c_angles
        C-plane angles in degrees, ascending, spanning exactly 360° (last = first + 360).
    gamma_angles
        γ angles in degrees, ascending, inside [0, 180]. Outside the tabulated span the
        intensity is zero (an IES table of 0–90° emits nothing upward).
    candela
        Intensities in cd, shape ``(len(c_angles), len(gamma_angles))``, for the luminaire
        operated at its rated flux (see ``rated_flux``).
    rated_flux
        The header's lamp flux in lm the table refers to (number of lamps × lumens per lamp for
        IES; the first lamp set's flux for EULUMDAT), or ``None`` for absolute photometry.
    name
        Luminaire name from the file (or a description for built-in distributions).
    source
        The file it was read from, or ``"builtin:<name>"``.
    meta
        Other header fields, for reports (manufacturer, lamp, wattage, format, …).
    """

    c_angles: np.ndarray
    gamma_angles: np.ndarray
    candela: np.ndarray
    rated_flux: float | None
    name: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(self.c_angles, dtype=np.float64)
        g = np.ascontiguousarray(self.gamma_angles, dtype=np.float64)
        i = np.ascontiguousarray(self.candela, dtype=np.float64)
        if i.shape != (c.size, g.size):
            raise ValueError(f"candela table shape {i.shape} != ({c.size}, {g.size})")
        if c.size < 2 or abs(c[-1] - c[0] - 360.0) > 1e-6 or np.any(np.diff(c) <= 0):
            raise ValueError("c_angles must ascend and span exactly 360 degrees")
        if g.size < 2 or np.any(np.diff(g) <= 0) or g[0] < 0 or g[-1] > 180:
            raise ValueError("gamma_angles must ascend inside [0, 180]")
        for name, arr in (("c_angles", c), ("gamma_angles", g), ("candela", i)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    # -- evaluation ---------------------------------------------------------------------
    def intensity(self, c_deg, gamma_deg) -> np.ndarray:
        """Luminous intensity in cd at (C, γ), bilinear in C and γ, C wrapping at 360°.

        Array-friendly: ``c_deg`` and ``gamma_deg`` broadcast against each other. Zero for γ
        outside the tabulated span. O(n log k) for n directions and k table angles.
        """
        c, g = np.broadcast_arrays(
            np.asarray(c_deg, dtype=np.float64), np.asarray(gamma_deg, dtype=np.float64)
        )
        c0 = self.c_angles[0]
        cc = np.mod(c - c0, 360.0) + c0
        ic, tc = _bracket(self.c_angles, cc)
        inside = (g >= self.gamma_angles[0]) & (g <= self.gamma_angles[-1])
        gg = np.where(inside, g, self.gamma_angles[0])
        ig, tg = _bracket(self.gamma_angles, gg)
        t = self.candela
        lo = t[ic, ig] * (1 - tg) + t[ic, ig + 1] * tg
        hi = t[ic + 1, ig] * (1 - tg) + t[ic + 1, ig + 1] * tg
        out = lo * (1 - tc) + hi * tc
        return np.where(inside, out, 0.0)

    # -- integrals ----------------------------------------------------------------------
    def _flux_between(self, g_lo: float, g_hi: float) -> float:
        g = self.gamma_angles
        lo, hi = max(g_lo, g[0]), min(g_hi, g[-1])
        if hi <= lo:
            return 0.0
        inner = g[(g > lo) & (g < hi)]
        nodes = np.concatenate([[lo], inner, [hi]])
        # Intensities at the nodes of every C plane (exact: the nodes lie on the interpolant).
        vals = np.stack([np.interp(nodes, g, row) for row in self.candela])
        wl, wr = _gamma_weights(np.radians(nodes))
        per_plane = vals[:, :-1] @ wl + vals[:, 1:] @ wr
        # Linear in C between planes: the trapezoid rule is exact.
        return float(np.trapezoid(per_plane, np.radians(self.c_angles)))

    @property
    def flux(self) -> float:
        """Luminous flux in lm: ∫∫ I sinγ dγ dC over the sphere.

        The integral is exact for the bilinear interpolant that :meth:`intensity` evaluates
        (closed form per γ segment, trapezoidal in C), so it equals a trapezoidal integration
        of the table up to the curvature of sinγ.
        """
        return self._flux_between(0.0, 180.0)

    @property
    def downward_flux(self) -> float:
        """Flux in lm emitted below the horizontal (γ ≤ 90°)."""
        return self._flux_between(0.0, 90.0)

    @property
    def peak_intensity(self) -> float:
        """The largest tabulated intensity in cd."""
        return float(self.candela.max())

    @property
    def c_uniform(self) -> bool:
        """Whether the C planes are equally spaced (lets kernels index without searching)."""
        return _uniform(self.c_angles)

    @property
    def gamma_uniform(self) -> bool:
        """Whether the γ angles are equally spaced."""
        return _uniform(self.gamma_angles)

    def scaled(self, factor: float) -> Photometry:
        """A copy with every intensity (and the rated flux) multiplied by ``factor``."""
        return Photometry(
            self.c_angles,
            self.gamma_angles,
            self.candela * factor,
            None if self.rated_flux is None else self.rated_flux * factor,
            self.name,
            self.source,
            dict(self.meta),
        )

    def __repr__(self) -> str:
        rated = "absolute" if self.rated_flux is None else f"rated {self.rated_flux:.0f} lm"
        return (
            f"Photometry({self.name!r}, {self.c_angles.size - 1} C × {self.gamma_angles.size} γ, "
            f"{rated}, peak {self.peak_intensity:.1f} cd, source={self.source!r})"
        )


def expand_symmetry(
    stored_c: np.ndarray,
    stored: np.ndarray,
    full_c: np.ndarray,
    mapping: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Expand stored C planes to a full turn using the symmetry ``mapping``.

    ``mapping`` is ``"none"`` (all planes stored), ``"rot"`` (one plane, rotationally
    symmetric), ``"c0"`` (symmetric about the C0–C180 plane: I(C) = I(360 − C)), ``"c90"``
    (symmetric about the C90–C270 plane: I(C) = I(180 − C)) or ``"both"`` (both planes).
    ``full_c`` are the target angles inside [0, 360); the result appends the wrap column.
    Returns (c_angles, candela).
    """
    full_c = np.asarray(full_c, dtype=np.float64)
    if mapping == "rot":
        c = np.array([0.0, 360.0])
        return c, np.vstack([stored[0], stored[0]])
    if mapping == "none":
        canon = full_c
    elif mapping == "c0":
        canon = np.where(full_c <= 180.0, full_c, 360.0 - full_c)
    elif mapping == "c90":
        canon = np.where(full_c < 90.0, 180.0 - full_c, full_c)
        canon = np.where(full_c > 270.0, 540.0 - full_c, canon)
    elif mapping == "both":
        half = np.where(full_c <= 180.0, full_c, 360.0 - full_c)
        canon = np.where(half <= 90.0, half, 180.0 - half)
    else:  # pragma: no cover - internal
        raise ValueError(mapping)
    if mapping == "none":
        table = stored
    else:
        # Stored planes are exact nodes of the canonical angles; interpolate in between for
        # files whose listed full angles are finer than the stored ones.
        i, t = _bracket(stored_c, np.clip(canon, stored_c[0], stored_c[-1]))
        if stored_c.size == 1:
            table = np.repeat(stored[:1], full_c.size, axis=0)
        else:
            table = stored[i] * (1 - t)[:, None] + stored[i + 1] * t[:, None]
    c = np.concatenate([full_c, [full_c[0] + 360.0]])
    return c, np.vstack([table, table[:1]])
