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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np
import shapely
import shapely.ops
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from safespace._place import where_unnamed
from safespace.analyses.network import drive_network, table_from_graph, walk_network
from safespace.analyses.network_metrics import (
    boundary_crossings,
    culdesac_edges,
    culdesac_trees,
    network_blocks,
    network_metrics,
)
from safespace.analyses.rear_access import (
    FOOT_ONLY,
    building_fronts,
    flag_runs,
    rear_runs,
    route_flanks,
)
from safespace.errors import RuleError
from safespace.findings import SEVERITIES, Finding, Metric
from safespace.rules.engine import Feed, Param, SettingsGroup, Site, rule
from safespace.rules.sightlines import (
    SURVEILLANCE,
    assessable_region,
    indoor_of,
    near_data_edge,
    plural,
    route_place,
)

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


def _table_of(layout: Any, *, graph: nx.Graph):
    """Array form of a cached network (cached itself, keyed by the graph object)."""
    return table_from_graph(graph)


def _walk_table(site: Site):
    return site.analysis(_table_of, graph=_walk(site))


def _metrics(site: Site) -> dict:
    return site.analysis(network_metrics, network=_walk(site), min_block_width_m=SLIVER_WIDTH_M)


def walk_angular(layout: Any, *, graph: nx.MultiGraph, radius: float, split: str):
    """Angular segment analysis (one radius, choice on) of a prebuilt walk network."""
    from safespace.analyses.space_syntax import angular_segment_analysis

    return angular_segment_analysis(graph, radii=(radius,), split=split, choice=True)


def _check_severity(site: Site, key: str = "severity") -> str:
    value = str(site.params[key]).lower()
    if value not in SEVERITIES:
        raise RuleError(f"parameter {key}={site.params[key]!r} is not one of {SEVERITIES}")
    return value


def _in_site(site: Site, geoms) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(geoms, site.site_polygon), dtype=bool)


def _foot_only_edges(layout: Any, t) -> np.ndarray:
    """Edges of a network table whose every source way is foot-only."""
    fr = layout.foot_routes
    hw = dict(zip(fr["fid"], fr["highway"], strict=False)) if len(fr) else {}
    return np.array([bool(f) and all(hw.get(x) in FOOT_ONLY for x in f) for f in t.fid], dtype=bool)


def _num(v: Any, nd: int = 3) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return None if not np.isfinite(v) else round(v, nd)
    return v


# --------------------------------------------------------------------------------------------
# PM001 connectivity
# --------------------------------------------------------------------------------------------

_METRIC_UNITS = {
    "area_km2": "km2",
    "intersections": "",
    "dead_ends": "",
    "nodes": "",
    "links": "",
    "intersection_density_km2": "1/km2",
    "link_node_ratio": "ratio",
    "connected_node_ratio": "ratio",
    "street_length_m": "m",
    "culdesac_count": "",
    "culdesac_length_m": "m",
    "culdesac_terminal_length_m": "m",
    "culdesac_share": "ratio",
    "block_count": "",
    "mean_block_area_m2": "m2",
    "median_block_area_m2": "m2",
    "mean_block_perimeter_m": "m",
    "max_block_longest_side_m": "m",
    "route_directness_median": "ratio",
    "route_directness_pairs": "",
    "boundary_connections": "",
    "boundary_connection_spacing_m": "m",
    "circuity_avg": "ratio",
    "streets_per_node_avg": "",
    "meshedness": "ratio",
    "gamma": "ratio",
}


@rule(
    "PM001",
    "Poorly connected walking network",
    "permeability",
    principles=["activity_support", "natural_surveillance"],
    params={
        "min_intersection_density_km2": Param(116.0, "1/km2", "fewest 3+-way junctions per km²", LEED_ID),
        "min_link_node_ratio": Param(1.4, "ratio", "lowest links ÷ nodes", LNR),
        "min_connected_node_ratio": Param(0.7, "ratio", "lowest intersections ÷ (intersections + dead ends)", CNR),
        "min_nodes": Param(4, "", "below this many nodes the ratios are not judged", "safespace convention"),
        "severity": _severity("medium"),
    },
    references=[LEED_ID, LNR, CNR, PALETTE],
    view=CONNECTIVITY,
    # it judges how a layout's network is designed; an extract's network is also cut at its
    # edge, which lowers every ratio (cut streets end in false dead ends)
    proposal_rule=True,
)  # fmt: skip
def poor_connectivity(site: Site) -> Iterator[Finding | Metric]:
    """Intersection density, link–node ratio and connected node ratio of the walk network
    inside the site, against LEED-ND and the link–node literature. Reports every network
    metric of :func:`~safespace.analyses.network_metrics.network_metrics` as a measured value."""
    sev = _check_severity(site)
    p = site.params
    m = _metrics(site)
    for key, unit in _METRIC_UNITS.items():
        if key in m:
            yield Metric(key, _num(m[key], 4), unit)
    t = _walk_table(site)
    if len(t.u):
        # coverage: share of the network length in the site lying in the data core (not
        # within edge_margin_m of where the data stops), where its junctions are known
        clipped = shapely.intersection(t.geometry, site.site_polygon)
        total = float(shapely.length(clipped).sum())
        if total > 0:
            core = float(
                shapely.length(shapely.intersection(clipped, assessable_region(site))).sum()
            )
            yield Metric("assessable_share", round(core / total, 4), "ratio")
    evidence = {
        k: _num(m.get(k), 3)
        for k in (
            "intersections",
            "dead_ends",
            "links",
            "area_km2",
            "intersection_density_km2",
            "link_node_ratio",
            "connected_node_ratio",
        )
    }
    where = "site" if m.get("site") else "layout"
    if m["nodes"] < int(p["min_nodes"]):
        return
    checks = [
        (
            "intersection_density_km2",
            float(p["min_intersection_density_km2"]),
            "Low intersection density",
            "junctions (3 or more ways) per km²",
            LEED_ID,
            "Add junctions: break long streets with through links so that routes meet more "
            "often (LEED-ND asks for more than 116–154 per km²).",
        ),
        (
            "link_node_ratio",
            float(p["min_link_node_ratio"]),
            "Low link–node ratio",
            "links per node",
            LNR,
            "Connect dead ends into loops; join culs-de-sac to neighbouring streets so the "
            "network has more links per node (1.4 or more).",
        ),
        (
            "connected_node_ratio",
            float(p["min_connected_node_ratio"]),
            "Low connected node ratio",
            "of nodes are junctions rather than dead ends",
            CNR,
            "Replace dead ends with junctions: extend culs-de-sac and dead-end paths to meet "
            "another route.",
        ),
    ]
    for key, limit, title, what, ref, fix in checks:
        value = m.get(key)
        if value is None or not np.isfinite(value) or value >= limit:
            continue
        yield Finding(
            severity=sev,
            title=title,
            message=f"The walking network of the {where} has {value:.2f} {what}, below the "
            f"{limit:g} asked for.",
            geometry=site.site_polygon,
            basis="measured",
            rests_on=[
                {
                    "intersection_density_km2": "min_intersection_density_km2",
                    "link_node_ratio": "min_link_node_ratio",
                    "connected_node_ratio": "min_connected_node_ratio",
                }[key]
            ],
            evidence={**evidence, "threshold": limit, "measure": key},
            recommendation=fix,
            references=[ref],
        )


# --------------------------------------------------------------------------------------------
# PM002 long blocks
# --------------------------------------------------------------------------------------------


@rule(
    "PM002",
    "Long blocks",
    "permeability",
    principles=["activity_support"],
    params={
        "max_block_side_m": Param(150.0, "m", "longest side of a block (minimum rotated rectangle)", PALETTE),
        "severity": _severity("medium"),
        "recommended_block_side_m": Param(90.0, "m", "the Urban Design Compendium's block size", UDC),
        "severity_over_recommended": _severity("info"),
        "min_block_width_m": Param(SLIVER_WIDTH_M, "m", "faces narrower than this (2 × area / perimeter) are slivers between carriageway and sidewalk, not blocks", "safespace convention: a block of 20 m × 20 m has a mean width of 10 m"),
    },
    proposal_rule=True,
    references=[UDC, PALETTE],
    view=CONNECTIVITY,
)  # fmt: skip
def long_blocks(site: Site) -> Iterator[Finding | Metric]:
    """Blocks (faces of the walk network inside the site) whose long side exceeds the 2030
    Palette's 150 m, or the Urban Design Compendium's 80–90 m (at a lower severity)."""
    sev = _check_severity(site)
    sev_rec = _check_severity(site, "severity_over_recommended")
    p = site.params
    hard, soft = float(p["max_block_side_m"]), float(p["recommended_block_side_m"])
    blocks = network_blocks(
        _walk_table(site), within=site.site_polygon, min_width_m=float(p["min_block_width_m"])
    )
    n_long = 0
    for row in blocks.itertuples():
        side = float(row.longest_side_m)
        if side <= min(hard, soft):
            continue
        over_hard = side > hard
        n_long += over_hard
        limit = hard if over_hard else soft
        yield Finding(
            severity=sev if over_hard else sev_rec,
            title="Long block" if over_hard else "Block longer than recommended",
            message=f"A block of {row.area_m2:,.0f} m² "
            f"{where_unnamed(site.layout, row.geometry, within=30.0)} has a side of {side:.0f} "
            f"m, longer than {limit:g} m: walkers must go round it.".replace("  ", " "),
            geometry=row.geometry,
            basis="measured",
            rests_on=["max_block_side_m" if over_hard else "recommended_block_side_m"],
            evidence={
                "longest_side_m": round(side, 1),
                "mean_width_m": round(float(row.width_m), 1),
                "area_m2": round(float(row.area_m2), 1),
                "perimeter_m": round(float(row.perimeter_m), 1),
                "threshold_m": limit,
            },
            recommendation=f"Break the block with a street or an overlooked, lit footpath so "
            f"no side is longer than {limit:g} m.",
            references=[PALETTE if over_hard else UDC],
        )
    yield Metric("long_blocks", n_long)


# --------------------------------------------------------------------------------------------
# PM003 indirect routes
# --------------------------------------------------------------------------------------------


@rule(
    "PM003",
    "Indirect routes out of the site",
    "permeability",
    principles=["activity_support"],
    params={
        "max_route_directness": Param(1.5, "ratio", "highest median network ÷ straight-line distance", DIRECTNESS),
        "severity": _severity("medium"),
    },
    references=[DIRECTNESS],
    proposal_rule=True,
    view=CONNECTIVITY,
)  # fmt: skip
def indirect_routes(site: Site) -> Iterator[Finding | Metric]:
    """Median route directness from every entrance (or building) in the site to the site
    exits, against the top of the 1.2–1.5 band."""
    sev = _check_severity(site)
    m = _metrics(site)
    value = m.get("route_directness_median")
    limit = float(site.params["max_route_directness"])
    if value is None or not np.isfinite(value) or value <= limit:
        return
    yield Finding(
        severity=sev,
        title="Indirect routes",
        message=f"Walking from the homes to the site exits is {value:.2f} times the straight "
        f"distance (median of {m['route_directness_pairs']} trips), more than {limit:g}.",
        geometry=site.site_polygon,
        basis="measured",
        rests_on=["max_route_directness"],
        evidence={
            "route_directness_median": round(value, 3),
            "pairs": m["route_directness_pairs"],
            "threshold": limit,
        },
        recommendation="Add direct links towards the exits and local destinations; avoid "
        "loops and culs-de-sac that force walkers round the block.",
    )


# --------------------------------------------------------------------------------------------
# PM004 boundary connections
# --------------------------------------------------------------------------------------------


@rule(
    "PM004",
    "Sparse connections across the site boundary",
    "permeability",
    principles=["activity_support"],
    params={
        "max_spacing_m": Param(120.0, "m", "longest stretch of boundary without a connection", LEED_BOUNDARY),
        "severity": _severity("medium"),
    },
    references=[LEED_BOUNDARY],
    proposal_rule=True,
    view=CONNECTIVITY,
)  # fmt: skip
def boundary_connections(site: Site) -> Iterator[Finding | Metric]:
    """Stretches of the site boundary longer than 120 m that no street or path crosses
    (only with a site boundary)."""
    sev = _check_severity(site)
    polygon = site.layout.site
    if polygon is None:
        return
    limit = float(site.params["max_spacing_m"])
    xy = boundary_crossings(_walk_table(site), polygon)
    yield Metric("boundary_connections", len(xy))
    for ring in (shapely.get_exterior_ring(p) for p in shapely.get_parts(polygon)):
        length = float(ring.length)
        pts = shapely.points(xy) if len(xy) else np.empty(0, dtype=object)
        on = np.asarray(shapely.dwithin(ring, pts, 1.0), bool) if len(pts) else np.zeros(0, bool)
        pos = np.sort(shapely.line_locate_point(ring, pts[on])) if on.any() else np.zeros(0)
        if len(pos) == 0:
            gaps = [(0.0, length)]
        else:
            gaps = [(a, b) for a, b in zip(pos[:-1], pos[1:], strict=True)]
            gaps.append((pos[-1], pos[0] + length))
        for a, b in gaps:
            if b - a <= limit:
                continue
            if b <= length:
                geom = shapely.ops.substring(ring, a, b)
            else:
                geom = shapely.line_merge(
                    shapely.union(
                        shapely.ops.substring(ring, a, length),
                        shapely.ops.substring(ring, 0.0, b - length),
                    )
                )
            yield Finding(
                severity=sev,
                title="Boundary without connections",
                message=f"{b - a:.0f} m of the site boundary has no street or path across it "
                f"(LEED-ND asks for one at least every {limit:g} m).",
                geometry=geom,
                basis="measured",
                rests_on=["max_spacing_m"],
                evidence={"gap_m": round(b - a, 1), "threshold_m": limit,
                          "boundary_connections": len(xy)},
                recommendation="Add a street or foot/cycle link across this stretch of the "
                "boundary to join the site to its neighbours.",
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# PM005 rear routes
# --------------------------------------------------------------------------------------------


@rule(
    "PM005",
    "Foot routes behind dwellings",
    "permeability",
    principles=["natural_access_control", "natural_surveillance"],
    params={
        "min_length_m": Param(20.0, "m", "shortest stretch behind dwellings reported", UNVERIFIED),
        "max_gap_m": Param(10.0, "m", "gaps between houses up to this long do not break a stretch", UNVERIFIED),
        "severity": _severity("medium"),
    },
    references=[SBD_REAR, JOHNSON_BOWERS],
    proposal_rule=True,
    view=SBD,
    settings=[REAR_ACCESS],
)  # fmt: skip
def rear_routes(site: Site) -> Iterator[Finding | Metric]:
    """Foot routes flanked by dwellings whose fronts (entrances, or the side facing the
    nearest street) face away from them: footpaths behind homes, between rear gardens."""
    sev = _check_severity(site)
    p = site.params
    runs = rear_runs(
        site.shared("rear_access"),
        min_length_m=float(p["min_length_m"]),
        max_gap_m=float(p["max_gap_m"]),
        crs=site.layout.crs,
    )
    runs = runs[_in_site(site, runs.geometry.values)] if len(runs) else runs
    lit = _lit_of(site.layout)
    total = 0.0
    lay = site.layout
    for row in runs.itertuples():
        total += row.length_m
        both = row.both_sides_share >= 0.5
        where = "between rear gardens" if both else "behind dwellings"
        lits = sorted({str(lit.get(f)) for f in row.fids if lit.get(f) is not None})
        guessed = list(row.fronts_guessed)
        assumptions = []
        if guessed:
            assumptions.append(
                f"{plural(len(guessed), 'home')} {'has' if len(guessed) == 1 else 'have'} no "
                "mapped entrance: the front is taken as the side facing the nearest street."
            )
        n = len(row.buildings)
        yield Finding(
            severity=sev,
            title="Footpath behind dwellings",
            message=f"{row.length_m:.0f} m of {route_place(lay, row.fids)} runs {where}: "
            f"{plural(n, 'home')} {'turns its' if n == 1 else 'turn their'} back to it.",
            geometry=row.geometry,
            basis="modelled" if guessed else "measured",
            rests_on=["look_m"] if guessed else [],
            evidence={
                "assumptions": assumptions,
                "fronts_guessed": guessed,
                "length_m": round(row.length_m, 1),
                "homes": len(row.buildings),
                "both_sides_share": round(row.both_sides_share, 2),
                "lit": lits,
            },
            recommendation="Remove the path or move it to the front of the homes. If it must "
            "stay, gate it at the front building line, and overlook and light it.",
            features=list(row.fids) + list(row.buildings),
        )
    yield Metric("rear_route_length_m", round(total, 1), "m")


def _lit_of(layout: Any) -> dict:
    fr = layout.foot_routes
    return dict(zip(fr["fid"], fr["lit"], strict=False)) if len(fr) else {}


# --------------------------------------------------------------------------------------------
# PM006 leaky culs-de-sac
# --------------------------------------------------------------------------------------------


def leaky_culdesacs(layout: Any, *, drive: nx.MultiDiGraph, street_types: tuple[str, ...],
                    tolerance_m: float = 1.0) -> list[dict]:  # fmt: skip
    """Culs-de-sac of the drive network whose head a foot-only link joins to another street.

    A head is a drive-network node with one street end (a dead end of the drive network;
    the walk network may carry on through it). Foot routes that are not part of the drive
    network are grouped into connected *link systems* (lines within ``tolerance_m`` of each
    other). A head is *leaky* when a link system touches it and also touches another street
    of the drive network: walkers can pass through the cul-de-sac. A footpath from the head
    that leads nowhere else (a dead end itself) does not make it leaky.

    Returns a list of dicts: ``head`` (Point), ``street_fids``, ``street_length_m``,
    ``highway``, ``link_fids``, ``link`` (geometry of the link system's routes).

    Notes
    -----
    STRtree queries and one connected-components pass: O((V + E + L) log(E + L)) for drive
    nodes V, drive edges E and link lines L.
    """
    dt = table_from_graph(drive)
    fr = layout.foot_routes
    if len(dt.u) == 0 or fr.empty:
        return []
    sc = dt.street_count
    heads = np.flatnonzero(sc == 1)
    ends = np.r_[dt.u, dt.v]
    edge_of_end = np.r_[np.arange(len(dt.u)), np.arange(len(dt.u))]
    order = np.argsort(ends, kind="stable")
    first_edge = np.full(len(dt.node_xy), -1, dtype=np.int64)
    first_edge[ends[order][::-1]] = edge_of_end[order][::-1]
    head_edge = first_edge[heads]
    keep = np.isin(dt.highway[head_edge].astype(str), list(street_types))
    heads, head_edge = heads[keep], head_edge[keep]
    drive_fids = {f for fs in dt.fid for f in fs}
    links = fr[~fr["fid"].isin(drive_fids).to_numpy()]
    if len(heads) == 0 or links.empty:
        return []
    lg = np.asarray(links.geometry.values, dtype=object)
    link_fids = links["fid"].to_numpy(dtype=object)
    # link systems: connected components of touching link lines
    a, b = shapely.STRtree(lg).query(lg, predicate="dwithin", distance=tolerance_m)
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(lg), len(lg)))
    _, comp = connected_components(adj, directed=False)
    # streets each system touches (drive edge ids)
    li, ei = shapely.STRtree(dt.geometry).query(lg, predicate="dwithin", distance=tolerance_m)
    touches: dict[int, set] = {}
    for c, e in zip(comp[li].tolist(), ei.tolist(), strict=True):
        touches.setdefault(c, set()).add(e)
    pts = shapely.points(dt.node_xy[heads])
    hi, lj = shapely.STRtree(lg).query(pts, predicate="dwithin", distance=tolerance_m)
    out = []
    for k in np.unique(hi):
        systems = np.unique(comp[lj[hi == k]])
        e = int(head_edge[k])
        leaky = [c for c in systems.tolist() if touches.get(c, set()) - {e}]
        if not leaky:
            continue
        sel = np.isin(comp, leaky)
        out.append(
            {
                "head": pts[k],
                "street_fids": tuple(dt.fid[e]),
                "street_length_m": float(dt.length[e]),
                "highway": str(dt.highway[e]),
                "link_fids": tuple(link_fids[sel].tolist()),
                "link": shapely.union_all(lg[sel]),
            }
        )
    return out


@rule(
    "PM006",
    "Leaky culs-de-sac",
    "permeability",
    principles=["natural_access_control"],
    params={
        "street_types": Param(["residential", "living_street", "unclassified", "road"], "",
                              "highway values of the culs-de-sac considered (service roads and "
                              "driveways are left out)", "safespace convention"),
        "severity": _severity("medium"),
    },
    references=[SBD_LINKS, HERTS, SURREY, JOHNSON_BOWERS],
    proposal_rule=True,
    view=SBD,
)  # fmt: skip
def leaky_culdesac(site: Site) -> Iterator[Finding | Metric]:
    """Culs-de-sac (dead ends of the drive network) whose head a footpath links to another
    street: the cul-de-sac's seclusion is lost to through walkers."""
    sev = _check_severity(site)
    drive = _drive(site)
    found = site.analysis(
        leaky_culdesacs,
        drive=drive,
        street_types=tuple(site.params["street_types"]),
    )
    dt = site.analysis(_table_of, graph=drive)
    yield Metric("drive_dead_ends", int(np.count_nonzero(dt.street_count == 1)))
    lit = _lit_of(site.layout)
    lay = site.layout
    n = cut = 0
    heads = [item["head"] for item in found]
    origin = dict(zip(lay.streets["fid"], lay.streets["origin"], strict=False))
    edge = near_data_edge(
        site,
        heads,
        [origin.get(item["street_fids"][0], "proposal") for item in found],
        layer="streets",
    )
    for item, at_edge in zip(found, edge, strict=True):
        if not shapely.intersects(item["head"], site.site_polygon):
            continue
        if at_edge:  # a street the extract cuts off, not a cul-de-sac
            cut += 1
            continue
        if _continues_as_pedestrian_street(lay, item):
            continue
        n += 1
        street = route_place(lay, item["street_fids"])
        subject = (
            f"An unnamed cul-de-sac ({street.removeprefix('an unnamed ')})"
            if street.startswith("an unnamed")
            else f"The cul-de-sac {street}"
        )
        k = len(item["link_fids"])
        yield Finding(
            severity=sev,
            title="Leaky cul-de-sac",
            message=f"{subject} is joined at its head to the rest of the network by "
            f"{'a foot link' if k == 1 else 'foot links'} ({route_place(lay, item['link_fids'])}).",
            geometry=item["link"],
            basis="measured",
            evidence={
                "head": [round(item["head"].x, 2), round(item["head"].y, 2)],
                "street_length_m": round(item["street_length_m"], 1),
                "link_length_m": round(float(shapely.length(item["link"])), 1),
                "link_lit": sorted({str(lit.get(f)) for f in item["link_fids"]}),
            },
            recommendation="Close the link, or keep the cul-de-sac sealed. If the link must "
            "stay, make it short, straight, wide, lit dusk to dawn and overlooked by fronts.",
            features=list(item["street_fids"]) + list(item["link_fids"]),
        )
    yield Metric("leaky_culdesacs", n)
    yield Metric("dead_ends_at_data_edge", cut)


def _continues_as_pedestrian_street(layout: Any, item: dict, tolerance_m: float = 1.0) -> bool:
    """Whether the street goes on at its "head" as a pedestrian street (``highway=pedestrian``):
    a street ending at a pedestrian zone is not a cul-de-sac, and the pedestrian street, lined
    by buildings, is a street, not a foot link."""
    fr = layout.foot_routes
    sel = fr[fr["fid"].isin(list(item["link_fids"])).to_numpy()]
    sel = sel[(sel["highway"].astype(str) == "pedestrian").to_numpy()]
    return bool(len(sel)) and bool(
        np.any(shapely.dwithin(sel.geometry.values, item["head"], tolerance_m))
    )


# --------------------------------------------------------------------------------------------
# PM007 unobserved alleys
# --------------------------------------------------------------------------------------------


def _overlooked_by_field(site: Site, flanks) -> np.ndarray | None:
    """Whether a building overlooks each flank sample, from the surveillance field (the
    entrance-distance fallback runs when this gives None)."""
    p = site.params
    field = site.shared("surveillance")
    field = field[(field["kind"] == "route").to_numpy()]
    s = flanks.samples
    if len(s) == 0 or len(field) == 0:
        return np.zeros(len(s), dtype=bool)
    fxy = shapely.get_coordinates(field.geometry.values)
    sxy = shapely.get_coordinates(s.geometry.values)
    d, i = cKDTree(fxy).query(sxy, k=3, distance_upper_bound=float(p["spacing_m"]))
    nb = np.r_[field["n_buildings"].to_numpy(), 0]  # index len(field) = no neighbour
    return (nb[i] > 0).any(axis=1)


def _overlooked_by_entrances(layout: Any, flanks, distance: float) -> np.ndarray:
    """Fallback: an entrance within ``distance`` whose building's front faces the sample."""
    s = flanks.samples
    ent = layout.entrances
    out = np.zeros(len(s), dtype=bool)
    if len(s) == 0 or ent.empty:
        return out
    fronts = building_fronts(layout).set_index("fid")
    exy = shapely.get_coordinates(ent.geometry.values)
    bf = ent["building_fid"].to_numpy(dtype=object)
    cxy = np.array(
        [
            (fronts.at[b, "cx"], fronts.at[b, "cy"]) if b in fronts.index else (np.nan, np.nan)
            for b in bf
        ],
        dtype=float,
    ).reshape(-1, 2)
    sxy = shapely.get_coordinates(s.geometry.values)
    pairs = cKDTree(sxy).query_ball_tree(cKDTree(exy), distance)
    si = np.repeat(np.arange(len(sxy)), [len(x) for x in pairs])
    ei = np.fromiter((j for x in pairs for j in x), dtype=np.int64, count=len(si))
    if len(si) == 0:
        return out
    outward = exy[ei] - cxy[ei]
    facing = ((sxy[si] - exy[ei]) * outward).sum(axis=1) > 0
    facing |= np.isnan(outward).any(axis=1)  # an entrance on no building looks all round
    out[si[facing]] = True
    return out


@rule(
    "PM007",
    "Alleys with no overlooking frontage",
    "permeability",
    principles=["natural_surveillance", "natural_access_control"],
    params={
        "enclosed_m": Param(5.0, "m", "a route is an alley where buildings or walls close both sides within this distance", UNVERIFIED),
        "min_length_m": Param(10.0, "m", "shortest unobserved alley reported", UNVERIFIED),
        "entrance_m": Param(15.0, "m", "fallback without the surveillance field: an entrance facing the alley within this distance overlooks it", UNVERIFIED),
        "severity": _severity("medium"),
    },
    references=[SBD_REAR, ISO],
    view=SBD,
    settings=[REAR_ACCESS, SURVEILLANCE],
)  # fmt: skip
def unobserved_alleys(site: Site) -> Iterator[Finding | Metric]:
    """Foot-only routes closed in on both sides by buildings or walls (alleys) that no
    building front overlooks: from the natural-surveillance field when available, else no
    entrance facing the alley nearby."""
    sev = _check_severity(site)
    p = site.params
    fl = site.shared("rear_access")
    s = fl.samples
    enc = float(p["enclosed_m"])
    closed = np.ones(len(s), dtype=bool)
    for side in ("left", "right"):
        d = np.fmin(s[f"{side}_dist_m"].to_numpy(float), s[f"{side}_barrier_m"].to_numpy(float))
        closed &= d <= enc
    if len(s) and "indoor" in fl.chains.columns:
        closed &= ~fl.chains["indoor"].to_numpy(bool)[s["chain"].to_numpy()]
    seen = _overlooked_by_field(site, fl)
    method = "surveillance field"
    if seen is None:
        seen = _overlooked_by_entrances(site.layout, fl, float(p["entrance_m"]))
        method = f"entrances within {float(p['entrance_m']):g} m"
    runs = flag_runs(fl, closed & ~seen, max_gap_m=0.0, min_length_m=float(p["min_length_m"]))
    total = 0.0
    for chain, start, end, _rows in runs:
        c = fl.chains.iloc[chain]
        geom = shapely.ops.substring(c.geometry, start, end)
        if not shapely.intersects(geom, site.site_polygon):
            continue
        total += end - start
        yield Finding(
            severity=sev,
            title="Alley with no overlooking frontage",
            message=f"{end - start:.0f} m of {route_place(site.layout, c['fids'])} is closed in "
            f"on both sides within {enc:g} m and no building front overlooks it.",
            geometry=geom,
            basis="modelled" if not site.layout.is_complete("entrances") else "measured",
            rests_on=["enclosed_m"],
            evidence={"length_m": round(end - start, 1), "enclosed_m": enc,
                      "overlooking_from": method},
            recommendation="Open the alley up to view (turn a front or windows of habitable "
            "rooms onto it, lower the walls), shorten it, or gate it at its mouth.",
            features=list(c["fids"]),
        )  # fmt: skip
    yield Metric("unobserved_alley_length_m", round(total, 1), "m")


# --------------------------------------------------------------------------------------------
# PM008 isolated routes
# --------------------------------------------------------------------------------------------


@rule(
    "PM008",
    "Isolated foot routes",
    "permeability",
    principles=["natural_surveillance", "activity_support"],
    params={
        "radius_m": Param(800.0, "m", "radius of the angular analysis (a 10-minute walk)", "Manual for Streets: 800 m / 10 min walkable catchment [quoted]"),
        "split": Param("edge", "", "segment map: 'edge' (one segment per network edge, fast) or 'vertex' (depthmapX-style)", "safespace convention: vertex mode is about 8x slower on Monaco"),
        "min_length_m": Param(50.0, "m", "shortest pedestrian-only link judged", UNVERIFIED),
        "integration_quantile": Param(0.25, "ratio", "a link is segregated below this quantile of the layout's integration", UNVERIFIED),
        "choice_quantile": Param(0.25, "ratio", "a link is little used below this quantile of the layout's choice", UNVERIFIED),
        "severity": _severity("medium"),
    },
    references=[HILLIER, JOHNSON_BOWERS],
    view=CONNECTIVITY,
)  # fmt: skip
def isolated_routes(site: Site) -> Iterator[Finding | Metric]:
    """Long pedestrian-only links in the bottom quantiles of both angular integration and
    angular choice at 800 m: segregated, little-used routes."""
    sev = _check_severity(site)
    p = site.params
    split = str(p["split"])
    if split not in ("edge", "vertex"):
        raise RuleError(f"parameter split={split!r} must be 'edge' or 'vertex'")
    radius = float(p["radius_m"])
    walk = _walk(site)
    t = _walk_table(site)
    if len(t.u) == 0:
        return
    seg = site.analysis(walk_angular, graph=walk, radius=radius, split=split)
    lab = f"{radius:g}"
    integ = seg[f"integration_{lab}"].to_numpy(float)
    choice = seg[f"choice_{lab}"].to_numpy(float)
    w = seg["length"].to_numpy(float)
    edge = seg["edge"].to_numpy(np.int64)
    m = len(t.u)
    wsum = np.bincount(edge, weights=w, minlength=m)
    ok = wsum > 0
    e_int = np.where(ok, np.bincount(edge, np.nan_to_num(integ) * w, m) / np.where(ok, wsum, 1), np.nan)  # fmt: skip
    e_ch = np.where(ok, np.bincount(edge, choice * w, m) / np.where(ok, wsum, 1), np.nan)
    q_int = float(np.nanquantile(e_int, float(p["integration_quantile"])))
    q_ch = float(np.nanquantile(e_ch, float(p["choice_quantile"])))
    foot = _foot_only_edges(site.layout, t)
    cand = foot & (t.length >= float(p["min_length_m"])) & (e_int <= q_int) & (e_ch <= q_ch)
    cand &= _in_site(site, t.geometry)
    fr = site.layout.foot_routes
    inside = set(fr["fid"].to_numpy(dtype=object)[indoor_of(fr)]) if len(fr) else set()
    if inside:
        cand &= np.array([not any(f in inside for f in fs) for fs in t.fid], dtype=bool)
    total = 0.0
    for e in np.flatnonzero(cand):
        total += float(t.length[e])
        yield Finding(
            severity=sev,
            title="Isolated foot route",
            message=f"The {t.length[e]:.0f} m pedestrian-only link on "
            f"{route_place(site.layout, t.fid[e])} is among the least integrated and least "
            f"chosen routes within {radius:g} m: segregated and little used.",
            geometry=t.geometry[e],
            basis="measured",
            rests_on=["integration_quantile", "choice_quantile", "min_length_m"],
            evidence={
                "length_m": round(float(t.length[e]), 1),
                f"integration_{lab}": _num(float(e_int[e])),
                f"choice_{lab}": _num(float(e_ch[e])),
                "integration_cut": _num(q_int),
                "choice_cut": _num(q_ch),
                "split": split,
            },
            recommendation="Bring movement and overlooking to it: line it with fronts, join it "
            "to busier streets directly, or remove it and route walkers along streets.",
            features=list(t.fid[e]),
        )
    yield Metric("isolated_route_length_m", round(total, 1), "m")


# --------------------------------------------------------------------------------------------
# PM009 dead-end foot routes
# --------------------------------------------------------------------------------------------


@rule(
    "PM009",
    "Dead-end foot routes",
    "permeability",
    principles=["natural_access_control", "natural_surveillance"],
    params={
        "min_length_m": Param(20.0, "m", "shortest dead-end foot route reported", UNVERIFIED),
        "served_m": Param(2.0, "m", "a path ending this close to a building, entrance, square or car park serves it", "safespace convention"),
        "data_edge_m": Param(5.0, "m", "ends this close to the edge of the data are where the extract was cut", "safespace convention"),
        "severity": _severity("medium"),
    },
    references=[ESSEX, SBD_REAR],
    proposal_rule=True,
    view=SBD,
)  # fmt: skip
def dead_end_foot_routes(site: Site) -> Iterator[Finding | Metric]:
    """Pedestrian-only dead-end branches of the walk network (trees hanging off its looped
    core, every way foot-only) longer than the threshold, that end in the open rather than at
    a door, building, square or car park: entrapment at network scale."""
    sev = _check_severity(site)
    p = site.params
    layout = site.layout
    t = _walk_table(site)
    if len(t.u) == 0:
        yield Metric("dead_end_foot_routes", 0)
        return
    cul = culdesac_edges(t)
    trees = culdesac_trees(t, cul)
    foot = _foot_only_edges(layout, t)
    sc = t.street_count
    served = _served_points(layout, t.node_xy, float(p["served_m"]))
    edge_ring = shapely.boundary(layout.extent)
    node_pts = shapely.points(t.node_xy)
    near_edge = shapely.distance(node_pts, edge_ring) <= float(p["data_edge_m"])
    # within the edge margin of the data extent (partial layer): where the extract cut it
    near_edge |= near_data_edge(site, node_pts)
    n = 0
    for label in np.unique(trees[cul]):
        idx = np.flatnonzero(trees == label)
        if not foot[idx].all():
            continue
        nodes = np.unique(np.r_[t.u[idx], t.v[idx]])
        ends = nodes[sc[nodes] == 1]
        open_ends = ends[~served[ends] & ~near_edge[ends]]
        length = float(t.length[idx].sum())
        if len(open_ends) == 0 or length < float(p["min_length_m"]):
            continue
        geom = shapely.line_merge(shapely.union_all(t.geometry[idx]))
        if not shapely.intersects(geom, site.site_polygon):
            continue
        n += 1
        fids = list(dict.fromkeys(f for e in idx for f in t.fid[e]))
        yield Finding(
            severity=sev,
            title="Dead-end foot route",
            message=f"{length:.0f} m of pedestrian-only route ({route_place(layout, fids)}) "
            "ends without a way on: a walker has only one way out, back the way they came.",
            geometry=geom,
            basis="measured",
            rests_on=[],  # min_length_m only filters what is reported
            evidence={
                "length_m": round(length, 1),
                "dead_ends": [[round(x, 2), round(y, 2)] for x, y in t.node_xy[open_ends]],
            },
            recommendation="Connect the route through to another street or path, or remove it; "
            "if it serves a destination, make it short, lit and overlooked.",
            features=fids,
        )
    yield Metric("dead_end_foot_routes", n)


def _served_points(layout: Any, xy: np.ndarray, distance: float) -> np.ndarray:
    """Whether each point is within ``distance`` of a building, entrance, square or car park."""
    pts = shapely.points(xy)
    out = np.zeros(len(xy), dtype=bool)
    for frame in (layout.buildings, layout.entrances, layout.pedestrian_areas, layout.parking):
        if frame is None or frame.empty:
            continue
        qi, _ = shapely.STRtree(frame.geometry.values).query(
            pts, predicate="dwithin", distance=distance
        )
        out[qi] = True
    return out


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
