"""Built-in sightlines rules (``SL``): natural surveillance of routes and parking, blind
bends, underpasses, entrapment spots, dead-end pockets, and planting and boundaries that
block sightlines.

The field rules (SL001, SL004, SL006) read the shared natural-surveillance field
(:func:`~safespace.analyses.surveillance.surveillance_field`) through
``site.shared("surveillance")`` and SL002 the forward visibility
(:func:`~safespace.analyses.forward_visibility.forward_visibility`) through
``site.analysis``, so each is computed once per assessment. The field's parameters
(:data:`FIELD_PARAMS`) are the settings group :data:`SURVEILLANCE`
(``[settings.surveillance]``), which names the field as the analysis it feeds.

Findings are reported for what lies in the site (the boundary, or the layout's extent);
the context (buildings outside it) still observes and blocks.

The rules are in three modules: :mod:`.overlooking` (SL001, SL004, SL006: the field
rules), :mod:`.views` (SL002, SL003, SL005) and :mod:`.boundaries` (SL007, SL008); what they
share (sources, the settings group, route samples) is in :mod:`._shared`.
"""

from __future__ import annotations

from safespace.rules.sightlines._shared import FIELD_PARAMS, SETTINGS, SURVEILLANCE
from safespace.rules.sightlines.boundaries import blocking_planting, front_boundaries
from safespace.rules.sightlines.overlooking import (
    dead_end_pockets,
    parking_overlooked,
    unobserved_stretches,
)
from safespace.rules.sightlines.views import blind_bends, passage_exit, recess_spots

RULES = [
    unobserved_stretches,
    blind_bends,
    recess_spots,
    dead_end_pockets,
    passage_exit,
    parking_overlooked,
    blocking_planting,
    front_boundaries,
]

__all__ = [
    "FIELD_PARAMS",
    "RULES",
    "SETTINGS",
    "SURVEILLANCE",
    "blind_bends",
    "blocking_planting",
    "dead_end_pockets",
    "front_boundaries",
    "parking_overlooked",
    "passage_exit",
    "recess_spots",
    "unobserved_stretches",
]
