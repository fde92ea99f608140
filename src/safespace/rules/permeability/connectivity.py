"""The connectivity view of permeability (LEED-ND, Urban Design Compendium, Manual for
Streets): PM001 site connectivity, PM002 long blocks, PM003 indirect routes, PM004 sparse
connections across the site boundary, PM008 isolated foot routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import shapely
import shapely.ops

from safespace.analyses.angular import walk_angular
from safespace.analyses.network_edges import foot_only_edges
from safespace.analyses.network_metrics import (
    boundary_crossings,
    network_blocks,
)
from safespace.errors import RuleError
from safespace.findings import Finding, Metric
from safespace.rules._common import (
    assessable_region,
    in_site,
    indoor_of,
    route_place,
    where_unnamed,
)
from safespace.rules.engine import Param, Site, rule
from safespace.rules.permeability._shared import (
    CNR,
    CONNECTIVITY,
    DIRECTNESS,
    HILLIER,
    JOHNSON_BOWERS,
    LEED_BOUNDARY,
    LEED_ID,
    LNR,
    PALETTE,
    SLIVER_WIDTH_M,
    UDC,
    UNVERIFIED,
    _check_severity,
    _metrics,
    _num,
    _severity,
    _walk,
    _walk_table,
)

if TYPE_CHECKING:
    pass


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
            f"{where_unnamed(site, row.geometry, within=30.0)} has a side of {side:.0f} "
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
    foot = foot_only_edges(site.layout, table=t)
    cand = foot & (t.length >= float(p["min_length_m"])) & (e_int <= q_int) & (e_ch <= q_ch)
    cand &= in_site(site, t.geometry)
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
            f"{route_place(site, t.fid[e])} is among the least integrated and least "
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
