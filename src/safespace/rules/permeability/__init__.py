"""Built-in permeability rules (``PM``): two views of the same movement network.

*Connectivity* (LEED-ND, Urban Design Compendium, Manual for Streets): a connected,
walkable network — PM001 site connectivity, PM002 long blocks, PM003 indirect routes,
PM004 sparse connections across the site boundary, PM008 isolated foot routes.
*Secured by Design* (permeability limited): PM005 foot routes behind dwellings, PM006 leaky
culs-de-sac, PM007 alleys with no overlooking frontage, PM009 dead-end foot routes.

Every finding names its view. Each rule's ``severity`` is a parameter, so a profile takes a
side: ``rules/secured_by_design.toml`` and ``rules/connectivity.toml`` give opposite
severities to the same findings (see ``docs/permeability.md``).

Shared analyses, each computed once per assessment through ``site.analysis``: the walk
network, the drive network, the network metrics (on the cached walk network) and one
angular segment analysis (PM008). The route flanks
(:func:`~safespace.analyses.rear_access.route_flanks`, PM005 and PM007) are the analysis
of the settings group :data:`REAR_ACCESS` (``[settings.rear_access]``), read with
``site.shared("rear_access")``; PM007 reads the surveillance field with
``site.shared("surveillance")``. Findings are restricted to the site polygon (the boundary,
or the layout's extent).

Score: no PM rule yields its own score (a rule cannot see the others' findings), so the
permeability score is the assessment's standard one: 100 less 15 / 8 / 3 per high / medium /
low PM finding. Because the severities come from the profile, the score follows its view.

The rules are in two modules, one per view: :mod:`.connectivity` (PM001–PM004, PM008) and
:mod:`.secured_by_design` (PM005–PM007, PM009); what they share (sources, the settings
group, the cached networks) is in :mod:`._shared`. The analyses they read beyond the
network metrics are :mod:`safespace.analyses.culdesacs`, :mod:`~safespace.analyses.
network_edges`, :mod:`~safespace.analyses.angular` and :mod:`~safespace.analyses.rear_access`.
"""

from __future__ import annotations

from safespace.analyses.angular import walk_angular
from safespace.analyses.culdesacs import leaky_culdesacs
from safespace.rules.permeability._shared import (
    CONNECTIVITY,
    FLANK_PARAMS,
    REAR_ACCESS,
    SBD,
    SLIVER_WIDTH_M,
)
from safespace.rules.permeability.connectivity import (
    boundary_connections,
    indirect_routes,
    isolated_routes,
    long_blocks,
    poor_connectivity,
)
from safespace.rules.permeability.secured_by_design import (
    dead_end_foot_routes,
    leaky_culdesac,
    rear_routes,
    unobserved_alleys,
)

RULES = [
    poor_connectivity,
    long_blocks,
    indirect_routes,
    boundary_connections,
    rear_routes,
    leaky_culdesac,
    unobserved_alleys,
    isolated_routes,
    dead_end_foot_routes,
]

__all__ = [
    "CONNECTIVITY",
    "FLANK_PARAMS",
    "REAR_ACCESS",
    "RULES",
    "SBD",
    "SLIVER_WIDTH_M",
    "boundary_connections",
    "dead_end_foot_routes",
    "indirect_routes",
    "isolated_routes",
    "leaky_culdesac",
    "leaky_culdesacs",
    "long_blocks",
    "poor_connectivity",
    "rear_routes",
    "unobserved_alleys",
    "walk_angular",
]
