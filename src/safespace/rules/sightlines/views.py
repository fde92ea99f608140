"""SL002, SL003 and SL005: what a walker can see along a route (blind bends), beside it
(recesses) and through it (passages whose exit is hidden)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace.analyses._visibility import route_chains
from safespace.analyses.forward_visibility import STOP_BLOCKED, forward_visibility
from safespace.analyses.recesses import building_recesses
from safespace.findings import Finding, Metric, Score
from safespace.rules._common import (
    building_place,
    in_site,
    route_place,
)
from safespace.rules.engine import Param, Site, rule
from safespace.rules.sightlines._shared import (
    ADM_CORNERS,
    AKL_ANNEX6,
    FIELD_PARAMS,
    FIXATION_15M,
    ISO,
    LIT_VALUES,
    SBD_RECESS,
    UNDERPASS,
    UNVERIFIED,
    _route_frame,
    overlook_assumptions,
    route_runs,
)

# --- SL002 ---------------------------------------------------------------------------------


@rule(
    "SL002",
    "Blind bends and corners",
    "sightlines",
    principles=["natural_surveillance"],
    params={
        "spacing_m": FIELD_PARAMS["spacing_m"],
        "min_visibility_m": Param(
            15.0, "m", "forward visibility below this at a bend or corner is reported", FIXATION_15M
        ),
        "max_range_m": Param(
            100.0, "m", "the walk along the route stops here", "safespace convention"
        ),
    },  # fmt: skip
    references=[ADM_CORNERS, AKL_ANNEX6, FIXATION_15M],
)
def blind_bends(site: Site) -> Iterator[Finding | Metric | Score]:
    """Route stretches where a walker cannot see the route ahead (or behind) for the minimum
    distance because a building, wall or hedge hides it round a bend or corner."""
    p = site.params
    fv = site.analysis(
        forward_visibility, spacing=float(p["spacing_m"]), max_range=float(p["max_range_m"])
    )
    chains = site.analysis(route_chains)
    r = _route_frame(site, fv, chains)
    lim = float(p["min_visibility_m"])
    ahead = r["ahead_m"].to_numpy(float)
    behind = r["behind_m"].to_numpy(float)
    blind_a = (r["ahead_stop"].to_numpy() == STOP_BLOCKED) & (ahead < lim)
    blind_b = (r["behind_stop"].to_numpy() == STOP_BLOCKED) & (behind < lim)
    insite = r["in_site"].to_numpy()
    blind = (blind_a | blind_b) & insite & ~r["indoor"].to_numpy(bool)
    geoms = chains.geometry.values
    for chain, s0, s1, rows in route_runs(r, blind):
        vis = np.where(blind_a[rows], ahead[rows], np.inf)
        vis = np.minimum(vis, np.where(blind_b[rows], behind[rows], np.inf))
        worst = float(vis.min())
        fids = sorted(set(r["fid"].to_numpy()[rows]))
        stretch = shapely.ops.substring(geoms[chain], s0, s1)
        assumptions = overlook_assumptions(site, stretch, lim)
        assumptions = [a for a in assumptions if not a.startswith("Entrances")]
        yield Finding(
            severity="medium",
            title="Blind bend or corner",
            message=(
                f"On {route_place(site, fids)} a walker sees only {worst:.1f} m of the "
                f"route ahead round a bend or corner (less than {lim:g} m) over a "
                f"{s1 - s0:.0f} m stretch."
            ),
            geometry=stretch,
            basis="modelled" if assumptions else "measured",
            rests_on=["min_visibility_m"],
            evidence={
                "assumptions": assumptions,
                "min_forward_visibility_m": round(worst, 2),
                "threshold_m": lim,
                "stretch_length_m": round(float(s1 - s0), 1),
                "samples": len(rows),
            },
            recommendation=(
                "Open the view round the corner: splay or chamfer the building or boundary "
                "corner, lower walls and planting there below eye height, or straighten the "
                "path; where that is impossible add a convex mirror and good lighting."
            ),
            features=fids,
        )
    ok = insite & ~r["indoor"].to_numpy()
    if ok.any():
        share = 1.0 - float(blind[ok].mean())
        yield Metric("clear_forward_view_share", round(share, 4), "ratio")
        yield Score(
            "sightlines",
            round(100.0 * share, 1),
            f"{100 * share:.0f}% of route samples in the site see at least {lim:g} m along "
            "the route both ways (or to its end)",
        )


# --- SL003 ---------------------------------------------------------------------------------


@rule(
    "SL003",
    "Entrapment spots: recesses beside routes",
    "sightlines",
    proposal_rule=True,
    principles=["natural_surveillance", "natural_access_control"],
    params={
        "max_depth_m": Param(0.6, "m", "recesses deeper than this are reported", SBD_RECESS),
        "closing_m": Param(2.5, "m", "recesses up to twice this wide are detected", UNVERIFIED),
        "route_distance_m": Param(
            5.0, "m", "the recess mouth lies within this of a route", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_RECESS, ISO],
)
def recess_spots(site: Site) -> Iterator[Finding | Metric]:
    """Recesses and alcoves in building footprints that open onto a public route and are
    deeper than the limit: places where someone can wait unseen."""
    p = site.params
    layout = site.layout
    rec = site.analysis(building_recesses, closing=float(p["closing_m"]))
    deep = rec[rec["depth_m"] > p["max_depth_m"]] if len(rec) else rec
    public = [
        g for g in (layout.foot_routes, layout.pedestrian_areas, layout.parking) if not g.empty
    ]
    count = 0
    if len(deep) and public:
        geoms = np.concatenate([g.geometry.values for g in public])
        names = np.concatenate([g["fid"].to_numpy() for g in public])
        tree = shapely.STRtree(geoms)
        mouths = deep["mouth"].to_numpy()
        pi, gi = tree.query(mouths, predicate="dwithin", distance=float(p["route_distance_m"]))
        near = pd.Series(names[gi]).groupby(pi).agg(lambda s: sorted(set(s)))
        insite = in_site(site, deep["geometry"].to_numpy())
        for i, row in enumerate(deep.itertuples()):
            if i not in near.index or not insite[i]:
                continue
            count += 1
            routes = near[i]
            yield Finding(
                severity="medium",
                title="Recess beside a route",
                message=(
                    f"A recess {row.depth_m:.1f} m deep and {row.width_m:.1f} m wide in "
                    f"{building_place(site, row.buildings, 'building')} opens onto "
                    f"{route_place(site, routes, row.geometry)}: deeper than "
                    f"{p['max_depth_m']:g} m, a "
                    "person standing in it is out of view from the route."
                ),
                geometry=row.geometry,
                basis="measured",
                rests_on=["max_depth_m"],
                evidence={
                    "depth_m": round(float(row.depth_m), 2),
                    "width_m": round(float(row.width_m), 2),
                    "area_m2": round(float(row.area_m2), 2),
                    "max_depth_m": p["max_depth_m"],
                    "routes": routes,
                },
                recommendation=(
                    f"Bring the wall or door forward so the recess is no deeper than "
                    f"{p['max_depth_m']:g} m, or fill or enclose it (a porch with a glazed "
                    "door), and light it."
                ),
                features=list(row.buildings) + routes,
            )
    yield Metric("deep_recesses_by_routes", count)


# --- SL005 ---------------------------------------------------------------------------------


@rule(
    "SL005",
    "Underpasses and covered passages whose exit cannot be seen",
    "sightlines",
    principles=["natural_surveillance"],
    params={
        "default_width_m": Param(3.0, "m", "width of a passage with no width tag", UNVERIFIED),
    },
    references=[UNDERPASS],
)
def passage_exit(site: Site) -> Iterator[Finding | Metric]:
    """Foot routes through tunnels and covered passages (``tunnel=*``, ``covered=yes``):
    is the exit visible from the entrance? The passage's walls are its width's offsets; the
    straight sight line from one end to the other must stay inside."""
    fr = site.layout.foot_routes
    count = 0
    if not fr.empty:
        cov = fr[(fr["tunnel"].astype(bool) | fr["covered"].astype(bool)).to_numpy()]
        # vehicle tunnels (car-park ramps, driveways: highway=service) are not underpasses
        # people walk through; an existing tunnel tagged lit is lit and in use, so it is not
        # judged outside a red line (a proposed one is, lit or not: its bend is a design fact)
        lit = cov["lit"].astype(str).str.strip().str.lower().isin(LIT_VALUES).to_numpy()
        red = site.layout.site
        proposed = (
            np.asarray(shapely.intersects(cov.geometry.values, red), dtype=bool)
            if red is not None
            else np.zeros(len(cov), dtype=bool)
        )
        cov = cov[(cov["highway"].astype(str) != "service").to_numpy() & (~lit | proposed)]
        cov = cov[np.isin(shapely.get_type_id(cov.geometry.values), (1, 5))]
        if not cov.empty:
            parts, owner = shapely.get_parts(cov.geometry.values, return_index=True)
            merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(parts)))
            tree = shapely.STRtree(parts)
            width = cov["width_m"].to_numpy(float)
            width = np.where(np.isnan(width), float(site.params["default_width_m"]), width)
            fid = cov["fid"].to_numpy()
            for line in merged:  # one per passage: few
                members = owner[tree.query(line, predicate="covers")]
                w = float(width[members].min()) if len(members) else site.params["default_width_m"]
                tagged = cov["width_m"].to_numpy(float)[members]
                defaulted = len(members) == 0 or bool(np.isnan(tagged).any())
                a, b = shapely.get_point(line, 0), shapely.get_point(line, -1)
                sight = shapely.LineString([a, b])
                passage = line.buffer(w / 2, cap_style="flat", join_style="mitre")
                offset = float(
                    shapely.distance(shapely.points(shapely.get_coordinates(line)), sight).max()
                )
                visible = passage.buffer(1e-6).covers(sight)
                if visible or not shapely.intersects(line, site.site_polygon):
                    continue
                count += 1
                names = sorted(set(fid[members]))
                yield Finding(
                    severity="high",
                    title="Passage exit not visible from its entrance",
                    message=(
                        f"From one end of the passage on {route_place(site, names)} "
                        f"({line.length:.0f} m, {w:g} m wide) the other end cannot be seen: it "
                        f"bends {offset:.1f} m off the straight sight line, outside its "
                        f"{w / 2:g} m half-width."
                    ),
                    geometry=line,
                    basis="modelled" if defaulted else "measured",
                    rests_on=["default_width_m"] if defaulted else [],
                    evidence={
                        "assumptions": [
                            f"The passage has no width tag; it is taken as {w:g} m wide."
                        ]
                        if defaulted
                        else [],
                        "length_m": round(float(line.length), 1),
                        "width_m": w,
                        "max_offset_m": round(offset, 2),
                        "half_width_m": w / 2,
                        "sightline": [list(a.coords[0]), list(b.coords[0])],
                    },
                    recommendation=(
                        "Straighten the passage so the exit is visible from the entrance, or "
                        "widen and splay it; keep it short and wide, without niches, and light "
                        "it. Where it cannot change, add mirrors at the bend and consider a "
                        "surface crossing instead."
                    ),
                    features=names,
                )
    yield Metric("passages_exit_hidden", count)
