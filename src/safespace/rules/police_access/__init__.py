"""Built-in police access rules (``PA``): response times, walking access to a police contact
point, placement of proposed premises, emergency phones on isolated routes, and where a
neighbourhood police unit would serve most homes.

Premises outside the layout come in through ``safespace.load(..., police=FILE)`` (the CLI's
``--police FILE``): they join ``layout.police`` with ``origin="external"``.

Honesty about the data (``docs/data.md``):

* no police premises in the input: PA001, PA002 and PA005 each give one advisory data-gap
  note saying what would resolve it, and the area is not assessable;
* premises from an OpenStreetMap extract (a *partial* police layer): times are measured from
  the mapped premises, which only bounds them from above, since a nearer premises beyond the
  extract is not known. "Too far" findings are then modelled and advisory;
* emergency phones not declared complete: PA004 gives one advisory data-gap note for the area
  instead of one finding per route;
* PA003 and PA005 judge design decisions (``proposal_rule``): only premises inside a red line
  are proposed.

The walking speed, the spacing of route samples and the walking threshold are one settings
group, :data:`POLICE_ACCESS` (``[settings.police_access]``), read by PA001 (its score's
walk share), PA002, PA004 and PA005: every rule walks at the same speed and the score and
the walking findings use the same threshold. The group feeds the travel-time field
(``site.shared("police_access", mode=..., premises=...)``) and the siting analysis
(``site.shared("police_access", "siting", ...)``).

The rules are in three modules: :mod:`.response` (PA001), :mod:`.walking` (PA002, PA004,
PA005) and :mod:`.placement` (PA003); what they share (sources, the settings group, naming
places, data-gap notes) is in :mod:`._shared`.
"""

from __future__ import annotations

from safespace.rules.police_access._shared import (
    POLICE_ACCESS,
    WALK_PARAMS,
    premises_known,
    proposed_premises,
)
from safespace.rules.police_access.placement import premises_placement
from safespace.rules.police_access.response import response_time
from safespace.rules.police_access.walking import best_site, emergency_phones, walking_access

RULES = [response_time, walking_access, premises_placement, emergency_phones, best_site]

__all__ = [
    "POLICE_ACCESS",
    "RULES",
    "WALK_PARAMS",
    "best_site",
    "emergency_phones",
    "premises_known",
    "premises_placement",
    "proposed_premises",
    "response_time",
    "walking_access",
]
