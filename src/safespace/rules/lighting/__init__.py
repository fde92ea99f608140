"""Built-in lighting rules (``LT``): EN 13201 P classes, dark spots, facial recognition,
routes that must be lit, dusk-to-dawn switching and shaded lamps.

All rules read the shared calculation grid (:func:`~safespace.analyses.lighting_grid.
illuminance_grid`) and the analyses made from it through ``site.shared("lighting", ...)``,
so each is computed once per assessment. The lamp, grid and class assumptions are one
settings group, :data:`LIGHTING`: a profile sets them once under ``[settings.lighting]``,
so every rule (and the report's figures) reads the same grid.

Honest about the data (``docs/data.md``): where the lamp layer is *partial* (an
OpenStreetMap extract) a route no mapped lamp reaches is unknown, not dark — one data-gap
finding per rule area and kind instead of a finding per route; only ``lit=no`` is a
measured fact there. Light from lamps with an assumed photometry, height or flux is
*modelled* (assumptions in ``evidence["assumptions"]``). A finding below only the P class a
profile chose rests on that choice (``rests_on``), whose source is [unverified]; a finding
below every P class does not. Indoor and underground ways get no outdoor lighting finding.

The rules are in three modules: :mod:`.levels` (LT001, LT002: illuminance levels),
:mod:`.faces` (LT003) and :mod:`.lamps` (LT004–LT006); what they share (sources, the
settings group, naming, the assumptions behind modelled light) is in :mod:`._shared`.
"""

from __future__ import annotations

from safespace.analyses.lighting_stretches import LOWEST_CLASS, P_CLASSES
from safespace.rules.lighting._shared import (
    CLASS_PARAMS,
    GRID_PARAMS,
    LAMP_PARAMS,
    LIGHTING,
    SETTINGS,
)
from safespace.rules.lighting.faces import facial_recognition
from safespace.rules.lighting.lamps import dusk_to_dawn, must_be_lit, shaded_lamps
from safespace.rules.lighting.levels import dark_spots, p_class

RULES = [p_class, dark_spots, facial_recognition, must_be_lit, dusk_to_dawn, shaded_lamps]

__all__ = [
    "CLASS_PARAMS",
    "GRID_PARAMS",
    "LAMP_PARAMS",
    "LIGHTING",
    "LOWEST_CLASS",
    "P_CLASSES",
    "RULES",
    "SETTINGS",
    "dark_spots",
    "dusk_to_dawn",
    "facial_recognition",
    "must_be_lit",
    "p_class",
    "shaded_lamps",
]
