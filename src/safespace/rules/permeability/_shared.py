"""What the permeability rules share: their views and sources, the rear-access settings
group, the cached walk and drive networks and their tables, and the severity parameter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from safespace.analyses.network import drive_network, walk_network
from safespace.analyses.network_edges import graph_table
from safespace.analyses.network_metrics import network_metrics
from safespace.analyses.rear_access import route_flanks
from safespace.errors import RuleError
from safespace.findings import SEVERITIES
from safespace.rules.engine import Feed, Param, SettingsGroup, Site

if TYPE_CHECKING:
    from safespace.layout import Layout

CONNECTIVITY = "connectivity"
SBD = "secured-by-design"

LEED_ID = (
    "LEED-ND 2009, NPDc6 Street network: intersection density > 116–154 /km² for one point, "
    "> 154 /km² for two [checked]"
)
LEED_BOUNDARY = (
    "LEED-ND 2009, NPDc6: a through street or foot/cycle link at least every 120 m of site "
    "boundary [checked]"
)
LNR = (
    "Link–node ratio ≥ 1.4: Kentucky model ordinance as quoted [quoted]; counting rules "
    "(cul-de-sac heads are nodes) Durham UDO 13.6.1 [checked]"
)
CNR = (
    "Connected node ratio = intersections ÷ (intersections + dead ends): Dill 2004 [checked]; "
    "≥ 0.7 often quoted [unverified]"
)
UDC = "Urban Design Compendium §3.7.2: blocks 80–90 m, 60–80 m in centres [checked]"
PALETTE = "The 2030 Palette: blocks no longer than 150 m; ≥ 50 intersections/km² [checked]"
DIRECTNESS = (
    "Route directness = network ÷ straight-line distance: Dill 2004; Stangl [checked]; a "
    "1.2–1.5 'good' band [unverified]"
)
SBD_REAR = (
    "Secured by Design interactive guide, residential scenario 5: avoid footpaths behind "
    "dwellings (most burglary entry is at the rear); if unavoidable, gate them at the front "
    "building line, overlook and light them [checked]"
)
SBD_LINKS = (
    "Secured by Design: footpath links through blocks are unnecessary permeability [checked]"
)
HERTS = "Hertfordshire design guidance: do not join culs-de-sac by footpaths [checked]"
SURREY = (
    "Surrey design guidance: culs-de-sac only if unavoidable, then with lit, overlooked links "
    "[checked]"
)
ESSEX = "Essex design guide: cul-de-sac layouts create dead areas [checked]"
JOHNSON_BOWERS = (
    "Johnson & Bowers 2010, J Quant Criminol 26:89–111: more permeable segments carry more "
    "burglary risk; culs-de-sac less [checked]"
)
HILLIER = (
    "Hillier & Sahbaz 2008: segregated, little-used segments carry higher risk; movement "
    "brings natural surveillance [checked]"
)
ISO = "ISO 22341:2021, 5.2: natural surveillance [checked]"
UNVERIFIED = "safespace default; no public source gives a number [unverified]"
VIEW_SEVERITY = "safespace convention: the profile sets it for its view"
#: Faces of the walk network narrower than this (mean width 2·area/perimeter) are slivers
#: between a carriageway and its sidewalk, or between parallel paths, not blocks.
SLIVER_WIDTH_M = 10.0


def _severity(default: str) -> Param:
    return Param(default, "", f"severity of a finding ({', '.join(SEVERITIES)})", VIEW_SEVERITY)


#: Parameters of the route flanks, shared by PM005 and PM007 (one cached analysis).
FLANK_PARAMS: dict[str, Param] = {
    "flank_spacing_m": Param(5.0, "m", "sample spacing along foot-only routes", "safespace convention"),
    "look_m": Param(30.0, "m", "how far to look sideways for the flanking building (a house plus its rear garden)", UNVERIFIED),
    "front_angle_deg": Param(45.0, "deg", "a front within this angle of the ray faces away (or towards)", "safespace convention"),
    "street_search_m": Param(60.0, "m", "a building with no entrance faces the nearest street within this distance", UNVERIFIED),
}  # fmt: skip

#: The route-flank analysis PM005 and PM007 share: one settings group,
#: ``[settings.rear_access]``, read with ``site.shared("rear_access")``. (PM007 also reads
#: the sightlines rules' group :data:`~safespace.rules.sightlines.SURVEILLANCE`, so the
#: field is one analysis whichever rules run.)
REAR_ACCESS = SettingsGroup(
    "rear_access",
    FLANK_PARAMS,
    {
        "flanks": Feed(
            route_flanks,
            {
                "flank_spacing_m": "spacing",
                "look_m": "look_m",
                "front_angle_deg": "front_angle",
                "street_search_m": "street_search_m",
            },
        )
    },
    description="the buildings and barriers flanking each foot-only route (rear access)",
)


# --------------------------------------------------------------------------------------------
# shared analyses
# --------------------------------------------------------------------------------------------


def _walk(site: Site) -> nx.MultiGraph:
    return site.analysis(walk_network)


def _drive(site: Site) -> nx.MultiDiGraph:
    return site.analysis(drive_network)


def _walk_table(site: Site):
    return site.analysis(graph_table, graph=_walk(site))


def _metrics(site: Site) -> dict:
    return site.analysis(network_metrics, network=_walk(site), min_block_width_m=SLIVER_WIDTH_M)


def _check_severity(site: Site, key: str = "severity") -> str:
    value = str(site.params[key]).lower()
    if value not in SEVERITIES:
        raise RuleError(f"parameter {key}={site.params[key]!r} is not one of {SEVERITIES}")
    return value


def _num(v: Any, nd: int = 3) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return None if not np.isfinite(v) else round(v, nd)
    return v


def _lit_of(layout: Layout) -> dict:
    fr = layout.foot_routes
    return dict(zip(fr["fid"], fr["lit"], strict=False)) if len(fr) else {}
