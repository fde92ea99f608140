"""SL001, SL004 and SL006: the rules that read the natural-surveillance field (who
overlooks routes, dead ends and parking)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace._classify import FOOT_ONLY
from safespace.analyses._visibility import route_chains
from safespace.analyses.enclosure import enclosing_obstacles, enclosure_share
from safespace.analyses.surveillance import GEHL_DISTANCE_SOURCE
from safespace.findings import Finding, Metric, Score
from safespace.rules._common import (
    assessable_region,
    indoor_of,
    is_label,
    known,
    near_data_edge,
    route_place,
    where_unnamed,
)
from safespace.rules.engine import Param, Site, rule
from safespace.rules.sightlines._shared import (
    ISO,
    SBD_PARKING,
    SBD_REAR,
    SURVEILLANCE,
    UNVERIFIED,
    _route_frame,
    dwelling_fids,
    overlook_assumptions,
    route_runs,
)


def _step_lengths(samples: pd.DataFrame, chains) -> np.ndarray:
    """Route length each route sample stands for: its chain's length / its sample count."""
    k = samples.groupby("chain")["chain"].transform("size").to_numpy(float)
    return chains["length_m"].to_numpy()[samples["chain"].to_numpy()] / k


def _parking_skipped(row) -> str | None:
    """Why a car park is not judged for overlooking from windows, or None."""
    tags = row.tags if isinstance(row.tags, dict) else {}
    kind = str(tags.get("parking") or "").lower()
    if shapely.get_type_id(row.geometry) not in (3, 6):
        return "point"  # a node has no area to overlook
    if kind == "underground" or str(tags.get("location") or "").lower() == "underground":
        return "underground"
    layer = pd.to_numeric(pd.Series([tags.get("layer")]), errors="coerce").iloc[0]
    if np.isfinite(layer) and layer < 0:
        return "underground"
    if kind in ("multi-storey", "rooftop") or tags.get("building") == "parking":
        return "multi-storey"
    return None


# --- SL001 ---------------------------------------------------------------------------------


@rule(
    "SL001",
    "Route stretches not overlooked by any active frontage",
    "sightlines",
    principles=["natural_surveillance"],
    settings=[SURVEILLANCE],
    params={
        "min_length_m": Param(
            20.0, "m", "report unobserved stretches at least this long", UNVERIFIED
        ),
        "high_length_m": Param(
            50.0, "m", "an unobserved stretch this long is a high finding", UNVERIFIED
        ),
    },  # fmt: skip
    references=[ISO, SBD_REAR, GEHL_DISTANCE_SOURCE],
)
def unobserved_stretches(site: Site) -> Iterator[Finding | Metric | Score]:
    """Contiguous stretches of foot route that no building front overlooks within the
    distance at which faces can be made out, with a clear line of sight."""
    field = site.shared("surveillance")
    chains = site.analysis(route_chains)
    r = _route_frame(site, field, chains)
    r = r[~r["indoor"].to_numpy()]
    zero = (r["n_buildings"].to_numpy() == 0) & r["in_site"].to_numpy()
    p = site.params
    site_poly = site.site_polygon
    geoms = chains.geometry.values
    for chain, s0, s1, rows in route_runs(r, zero):
        geom = shapely.ops.substring(geoms[chain], s0, s1)
        part = geom.intersection(site_poly)
        length = float(part.length)
        if length < p["min_length_m"]:
            continue
        fids = sorted(set(r["fid"].to_numpy()[rows]))
        where = part if not part.is_empty else geom
        assumptions = overlook_assumptions(site, where, float(p["max_distance_m"]))
        high = length >= p["high_length_m"]
        yield Finding(
            severity="high" if high else "medium",
            title="Route not overlooked",
            message=(
                f"{length:.0f} m of {route_place(site, fids)} is overlooked by no "
                f"building front within {p['max_distance_m']:g} m: nobody at a window or door "
                "has a view of who is there."
            ),
            geometry=where,
            basis="modelled" if assumptions else "measured",
            # the finding rests on the overlooking distance; the length only grades it
            rests_on=["max_distance_m"],
            graded_by=["high_length_m"] if high else [],
            evidence={
                "assumptions": assumptions,
                "length_m": round(length, 1),
                "samples": len(rows),
                "overlooking_buildings": 0,
                "max_distance_m": p["max_distance_m"],
                "spacing_m": p["spacing_m"],
            },
            recommendation=(
                "Turn house fronts (doors, windows of habitable rooms) towards the route, add "
                "overlooking windows on gables, or re-route the path past active frontages; "
                "if the route runs behind dwellings, remove or gate it (Secured by Design)."
            ),
            features=fids,
        )
    ok = r[r["in_site"].to_numpy()]
    w = _step_lengths(ok, chains) if len(ok) else np.empty(0)
    total = float(w.sum())
    seen = float(w[ok["n_buildings"].to_numpy() > 0].sum()) if len(ok) else 0.0
    share = seen / total if total > 0 else None
    if total > 0:
        # coverage: the share of route length in the site that lies in the data core (not
        # within edge_margin_m of where the data stops), where who overlooks it is known
        core = assessable_region(site)
        incore = np.asarray(shapely.intersects(core, ok.geometry.values), dtype=bool)
        yield Metric("assessable_share", round(float(w[incore].sum()) / total, 4), "ratio")
    yield Metric("route_length_assessed_m", round(total, 1), "m")
    yield Metric("route_length_overlooked_m", round(seen, 1), "m")
    yield Metric("overlooked_route_share", None if share is None else round(share, 4), "ratio")
    if len(ok):
        yield Metric(
            "mean_overlooking_buildings", round(float(ok["n_buildings"].mean()), 2), "buildings"
        )
    if share is not None:
        yield Score(
            "sightlines",
            round(100.0 * share, 1),
            f"{seen:.0f} m of {total:.0f} m of route in the site ({100 * share:.0f}%) is "
            f"overlooked by at least one building front within {p['max_distance_m']:g} m",
        )


# --- SL004 ---------------------------------------------------------------------------------


def _dead_ends(site: Site) -> pd.DataFrame:
    """Dead ends of foot-only routes that end in the open (not at a door or building), out
    of doors, and not where a partial extract cuts the route (within the edge margin of the
    data extent: there the route may well go on)."""
    layout, site_poly = site.layout, site.site_polygon
    fr = layout.foot_routes
    cols = ["fid", "point", "width_m", "origin"]
    if fr.empty:
        return pd.DataFrame({c: [] for c in cols})
    foot = fr[fr["highway"].isin(FOOT_ONLY).to_numpy() & ~indoor_of(fr)]
    foot = foot[np.isin(shapely.get_type_id(foot.geometry.values), (1,))]
    if foot.empty:
        return pd.DataFrame({c: [] for c in cols})
    g = foot.geometry.values
    ends = np.concatenate([shapely.get_point(g, 0), shapely.get_point(g, -1)])
    owner = np.tile(np.arange(len(foot)), 2)
    all_lines = np.concatenate([fr.geometry.values, layout.streets.geometry.values])
    qi, _ = shapely.STRtree(all_lines).query(ends, predicate="dwithin", distance=0.05)
    touching = np.bincount(qi, minlength=len(ends))
    dead = touching <= 1
    if not layout.entrances.empty:
        qi, _ = shapely.STRtree(layout.entrances.geometry.values).query(
            ends, predicate="dwithin", distance=3.0
        )
        dead[qi] = False
    if not layout.buildings.empty:
        qi, _ = shapely.STRtree(layout.buildings.geometry.values).query(
            ends, predicate="dwithin", distance=1.0
        )
        dead[qi] = False
    if layout.site is None:
        # Without a site boundary, an end at the edge of the data is where the extract was
        # cut, not a dead end.
        dead &= shapely.distance(ends, shapely.boundary(layout.extent)) > 5.0
    dead &= ~near_data_edge(site, ends, np.tile(foot["origin"].to_numpy(), 2))
    dead &= shapely.intersects(ends, site_poly)
    return pd.DataFrame(
        {
            "fid": foot["fid"].to_numpy()[owner[dead]],
            "point": ends[dead],
            "width_m": foot["width_m"].to_numpy(float)[owner[dead]],
            "origin": foot["origin"].to_numpy()[owner[dead]],
        }
    )


ENTRAPMENT = (
    "Entrapment spots are small, confined areas beside a route, shielded on three sides by "
    "a barrier such as walls or bushes: METRAC / City of Toronto, 'Planning for a Safer "
    "Environment' (1992), as quoted in CPTED guides [quoted]"
)


@rule(
    "SL004",
    "Entrapment spots: unobserved dead-end pockets",
    "sightlines",
    principles=["natural_surveillance", "natural_access_control"],
    settings=[SURVEILLANCE],
    params={
        "enclosure_radius_m": Param(
            10.0,
            "m",
            "walls, fences, hedges and buildings this close enclose a dead end",
            UNVERIFIED,
        ),
        "min_enclosed_share": Param(
            0.5,
            "ratio",
            "a dead end enclosed on this share of its horizon is a pocket",
            ENTRAPMENT,
        ),
    },  # fmt: skip
    references=[ISO, SBD_REAR, ENTRAPMENT],
)
def dead_end_pockets(site: Site) -> Iterator[Finding | Metric]:
    """Foot paths that end (not at a door) in a pocket enclosed by walls, fences, hedges or
    buildings, where no building front overlooks the end: places off a route where someone
    can wait or be cornered unseen. A path that runs out into open ground is not a pocket;
    where walls and fences are not completely mapped, such an end is reported as advisory
    (its enclosure is unknown)."""
    p = site.params
    field = site.shared("surveillance")
    chains = site.analysis(route_chains)
    r = _route_frame(site, field, chains)
    ends = _dead_ends(site)
    count = 0
    open_ends = 0
    if len(ends) and len(r):
        geoms = chains.geometry.values
        ci = shapely.STRtree(geoms).query_nearest(ends["point"].to_numpy(), all_matches=False)[1]
        shares = enclosure_share(
            ends["point"].to_numpy(),
            enclosing_obstacles(site.layout),
            float(p["enclosure_radius_m"]),
        )
        for k, row in enumerate(ends.itertuples()):
            share = float(shares[k])
            enclosed = share >= float(p["min_enclosed_share"])
            known = site.layout.is_complete("barriers", row.origin) and site.layout.is_complete(
                "buildings", row.origin
            )
            if not enclosed and known:
                open_ends += 1  # runs out into open ground: a design fact, not a pocket
                continue
            c = int(ci[k])
            rs = r[r["chain"].to_numpy() == c]
            if rs.empty:
                continue
            at_start = geoms[c].project(row.point) < 0.5 * geoms[c].length
            seen = rs["n_buildings"].to_numpy() > 0
            if at_start:
                tail = len(seen) if not seen.any() else int(np.argmax(seen))
            else:
                tail = len(seen) if not seen.any() else int(np.argmax(seen[::-1]))
            if tail == 0:
                continue
            pos = rs["position_m"].to_numpy(float)
            length = float(geoms[c].length)
            if at_start:
                s0, s1 = 0.0, (length if tail == len(pos) else 0.5 * (pos[tail - 1] + pos[tail]))
            else:
                j = len(pos) - tail
                s0, s1 = (0.0 if j == 0 else 0.5 * (pos[j - 1] + pos[j])), length
            pocket = shapely.ops.substring(geoms[c], s0, s1)
            assumptions = overlook_assumptions(site, pocket, float(p["max_distance_m"]))
            radius = float(p["enclosure_radius_m"])
            if enclosed:
                count += 1
                what = f"is enclosed on {100 * share:.0f}% of its horizon within {radius:g} m"
            else:
                open_ends += 1
                what = (
                    f"is enclosed on only {100 * share:.0f}% of its horizon within {radius:g} m "
                    "as far as the data shows; walls, fences and hedges are not completely "
                    "mapped here, so whether it is a pocket is unknown"
                )
                assumptions = [*assumptions, "walls, fences and hedges not completely mapped"]
            yield Finding(
                severity="medium" if enclosed else "info",
                title="Dead-end pocket not overlooked",
                message=(
                    f"{route_place(site, [row.fid])} ends in a dead end that no building "
                    f"front overlooks within {p['max_distance_m']:g} m; its last "
                    f"{s1 - s0:.0f} m are out of view, and the end {what}."
                ),
                geometry=pocket,
                basis="modelled" if assumptions else "measured",
                rests_on=["max_distance_m"],
                evidence={
                    "assumptions": assumptions,
                    "unobserved_length_m": round(float(s1 - s0), 1),
                    "path_length_m": round(length, 1),
                    "width_m": None if np.isnan(row.width_m) else float(row.width_m),
                    "dead_end": [round(row.point.x, 2), round(row.point.y, 2)],
                    "enclosed_share": round(share, 3),
                    "enclosure_radius_m": radius,
                },
                recommendation=(
                    "Remove the dead end (connect it through or close it off at its mouth with "
                    "a gate at the building line), or make it overlooked by windows of active "
                    "rooms; light it."
                ),
                features=[row.fid],
            )
    yield Metric("unobserved_dead_ends", count)
    yield Metric("open_dead_ends", open_ends)


# --- SL006 ---------------------------------------------------------------------------------


@rule(
    "SL006",
    "Parking not overlooked from dwellings",
    "sightlines",
    principles=["natural_surveillance"],
    settings=[SURVEILLANCE],
    params={
        "min_share": Param(
            0.5, "ratio", "share of a car park that dwellings must overlook", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_PARKING, ISO, GEHL_DISTANCE_SOURCE],
)
def parking_overlooked(site: Site) -> Iterator[Finding | Metric]:
    """Parking areas (``amenity=parking``) whose spaces are not seen from the windows of
    dwellings within the surveillance distance."""
    p = site.params
    field = site.shared("surveillance")
    park = field[field["kind"] == "parking"]
    lay = site.layout
    if park.empty:
        yield Metric("parking_unobserved", 0)
        return
    homes = dwelling_fids(lay)
    dwell = np.array([any(f in homes for f in bs) for bs in park["buildings"]], dtype=bool)
    park = park.assign(dwelling=dwell)
    count = 0
    skipped = {"point": 0, "underground": 0, "multi-storey": 0}
    first = lay.parking.drop_duplicates("fid").set_index("fid")
    for fid, grp in park.groupby("fid", sort=True):
        row = first.loc[fid]
        geom = row.geometry
        why = _parking_skipped(row)
        if why is not None:
            skipped[why] += 1
            continue
        if not shapely.intersects(geom, site.site_polygon):
            continue
        share = float(grp["dwelling"].mean())
        if share >= p["min_share"]:
            continue
        count += 1
        near = grp["nearest_m"].min()
        name = known(row.get("name"))
        label = name or (str(fid) if is_label(fid) else None)
        assumptions = overlook_assumptions(site, geom, float(p["max_distance_m"]))
        if not lay.is_complete("buildings", str(row.get("origin") or "proposal")):
            assumptions.append(
                "Homes are recognised from residential tags only; an untyped building "
                "(building=yes) is not counted as a home."
            )
        yield Finding(
            severity="high" if share == 0 else "medium",
            title="Parking not overlooked",
            message=(
                f"{'The car park ' + label if label else 'A car park ' + where_unnamed(site, geom)}"
                f": {100 * share:.0f}% of "
                f"it is in view of dwelling windows within {p['max_distance_m']:g} m (at "
                f"least {100 * p['min_share']:.0f}% wanted)."
            ),
            geometry=geom,
            basis="modelled" if assumptions else "measured",
            rests_on=["min_share", "max_distance_m"],
            evidence={
                "assumptions": assumptions,
                "overlooked_share": round(share, 3),
                "samples": len(grp),
                "min_share": p["min_share"],
                "nearest_observer_m": None if pd.isna(near) else round(float(near), 1),
                "max_distance_m": p["max_distance_m"],
            },
            recommendation=(
                "Place parking in small groups next to homes, in view of the windows of active "
                "rooms (kitchens, living rooms); replace blank garage walls that enclose it "
                "with homes that face it; otherwise prefer on-plot or on-street parking."
            ),
            features=[fid],
        )
    yield Metric("parking_unobserved", count)
    for why, n in skipped.items():
        yield Metric(f"parking_not_judged_{why.replace('-', '_')}", n)
