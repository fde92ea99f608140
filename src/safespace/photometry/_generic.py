"""The built-in generic street-lighting distribution, for lamps without a photometry file."""

from __future__ import annotations

import numpy as np

from safespace.photometry._model import Photometry

#: Below this γ the intensity follows 1/cos³γ (flat horizontal illuminance under the lamp).
GENERIC_FLAT_TO_DEG = 55.0
#: The cut-off: no intensity at or above this γ (no upward light, little glare).
GENERIC_CUTOFF_DEG = 80.0
#: Relative strength of the along-road (C0/C180) lobe against the across-road (C90/C270) one.
GENERIC_ELONGATION = 0.5


def generic_streetlight(lumens: float) -> Photometry:
    """A smooth, symmetric road-type ("batwing") distribution emitting ``lumens`` lm.

    What it models: a full cut-off LED street or footway luminaire. Under the lamp the
    intensity rises as 1/cos³γ up to γ = 55°, which makes the horizontal illuminance from one
    lamp flat out to about 1.4 mounting heights, then tapers (raised cosine) to zero at
    γ = 80°. Intensity is 1 + 0.5·cos²C times stronger along the C0–C180 axis (the road axis,
    where the light must spread between poles) than across it. It is symmetric about both
    the C0–C180 and C90–C270 planes and emits nothing at or above γ = 80° (no upward light).

    It is not a measured luminaire: results from it are indicative. The table is 5° in C by
    1° in γ and is scaled so that its integrated flux (:attr:`Photometry.flux`) equals
    ``lumens`` exactly; ``rated_flux`` is ``lumens`` (treated as the luminaire's output, i.e.
    a light output ratio of 1).

    Parameters
    ----------
    lumens
        Luminaire output in lm (positive).
    """
    if not lumens > 0:
        raise ValueError(f"lumens must be positive, got {lumens}")
    c = np.arange(0.0, 360.0 + 1e-9, 5.0)
    g = np.arange(0.0, 181.0, 1.0)
    with np.errstate(divide="ignore", over="ignore"):
        flat = 1.0 / np.cos(np.radians(np.minimum(g, GENERIC_CUTOFF_DEG))) ** 3
    taper = np.where(
        g <= GENERIC_FLAT_TO_DEG,
        1.0,
        0.5
        * (
            1
            + np.cos(
                np.pi
                * np.clip(g - GENERIC_FLAT_TO_DEG, 0, None)
                / (GENERIC_CUTOFF_DEG - GENERIC_FLAT_TO_DEG)
            )
        ),
    )
    profile = np.where(g < GENERIC_CUTOFF_DEG, flat * taper, 0.0)
    lateral = 1.0 + GENERIC_ELONGATION * np.cos(np.radians(c)) ** 2
    table = lateral[:, None] * profile[None, :]
    unit = Photometry(c, g, table, rated_flux=None)
    return Photometry(
        c,
        g,
        table * (lumens / unit.flux),
        rated_flux=float(lumens),
        name=f"generic street light {lumens:g} lm",
        source="builtin:generic_streetlight",
        meta={"format": "builtin"},
    )
