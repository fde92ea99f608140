"""The Secured by Design view of permeability (permeability limited): PM005 foot routes
behind dwellings, PM006 leaky culs-de-sac, PM007 alleys with no overlooking frontage,
PM009 dead-end foot routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import shapely
import shapely.ops
from scipy.spatial import cKDTree

from safespace._place import plural
from safespace.analyses.culdesacs import leaky_culdesacs
from safespace.analyses.network_edges import foot_only_edges, graph_table, served_points
from safespace.analyses.network_metrics import (
    culdesac_edges,
    culdesac_trees,
)
from safespace.analyses.rear_access import overlooked_by_entrances, rear_runs
from safespace.findings import Finding, Metric
from safespace.rules._common import (
    in_site,
    near_data_edge,
    route_place,
)
from safespace.rules.engine import Param, Site, rule
from safespace.rules.permeability._shared import (
    ESSEX,
    HERTS,
    ISO,
    JOHNSON_BOWERS,
    REAR_ACCESS,
    SBD,
    SBD_LINKS,
    SBD_REAR,
    SURREY,
    UNVERIFIED,
    _check_severity,
    _drive,
    _lit_of,
    _severity,
    _walk_table,
)
from safespace.rules.sightlines import SURVEILLANCE

if TYPE_CHECKING:
    from safespace.layout import Layout


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
    runs = runs[in_site(site, runs.geometry.values)] if len(runs) else runs
    lit = _lit_of(site.layout)
    total = 0.0
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
            message=f"{row.length_m:.0f} m of {route_place(site, row.fids)} runs {where}: "
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


# --------------------------------------------------------------------------------------------
# PM006 leaky culs-de-sac
# --------------------------------------------------------------------------------------------


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
    dt = site.analysis(graph_table, graph=drive)
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
        street = route_place(site, item["street_fids"])
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
            f"{'a foot link' if k == 1 else 'foot links'} ({route_place(site, item['link_fids'])}).",
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


def _continues_as_pedestrian_street(layout: Layout, item: dict, tolerance_m: float = 1.0) -> bool:
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
        seen = overlooked_by_entrances(site.layout, flanks=fl, distance=float(p["entrance_m"]))
        method = f"entrances within {float(p['entrance_m']):g} m"
    runs = fl.runs(closed & ~seen, max_gap_m=0.0, min_length_m=float(p["min_length_m"]))
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
            message=f"{end - start:.0f} m of {route_place(site, c['fids'])} is closed in "
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
    foot = foot_only_edges(layout, table=t)
    sc = t.street_count
    served = served_points(layout, xy=t.node_xy, distance=float(p["served_m"]))
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
            message=f"{length:.0f} m of pedestrian-only route ({route_place(site, fids)}) "
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
