"""PA001: homes and routes outside the police response-time standard (the drive from
the nearest police premises), and the area's score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import shapely

from safespace._place import plural
from safespace.analyses.network import EMERGENCY_PEDESTRIAN_SPEED_KMH
from safespace.analyses.travel_time import coverage, homes, premises_points
from safespace.findings import Finding, Metric, Score
from safespace.rules._common import in_site
from safespace.rules.engine import Param, Site, rule
from safespace.rules.police_access._shared import (
    _CHECK_SPEED_KMH,
    COE_237,
    PEDESTRIAN_SPEED_SRC,
    POLICE_ACCESS,
    RESOLVE_PREMISES,
    RESPONSE_STD,
    _homes_place,
    _minutes,
    _names,
    _no_premises,
    _premises_names,
    _routes_place,
    _share,
    _stretches,
    _unknown_beyond,
    premises_known,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------
# PA001 response time
# --------------------------------------------------------------------------------------------


def _drive_field(site: Site):
    """PA001's emergency drive field from any police premises: the group's field, driven
    with PA001's own pedestrian-street speed and walk from the vehicle."""
    return site.shared(
        "police_access",
        mode="drive",
        premises="police",
        emergency=True,
        pedestrian_speed_kmh=float(site.params["pedestrian_speed_kmh"]),
        walk_from_vehicle_m=float(site.params["walk_from_vehicle_m"]),
    )


@rule(
    "PA001",
    "Dwellings and routes outside the police response-time standard",
    "police_access",
    principles=["natural_access_control"],
    params={
        "response_time_s": Param(
            900.0,
            "s",
            "drive time limit from the nearest police premises (use 1200 for rural areas)",
            RESPONSE_STD,
        ),
        "pedestrian_speed_kmh": Param(
            EMERGENCY_PEDESTRIAN_SPEED_KMH,
            "km/h",
            "speed of a police vehicle in a pedestrian street (emergency drive network)",
            PEDESTRIAN_SPEED_SRC,
        ),
        "walk_from_vehicle_m": Param(
            100.0,
            "m",
            "where a home's nearest street cannot be driven to from the premises (a one-way "
            "street entering from beyond the data, a cut-off fragment), the officer walks "
            "this far at most from the nearest point a vehicle reaches",
            "safespace assumption [unverified]",
        ),
    },
    settings=[POLICE_ACCESS],
    references=[RESPONSE_STD, COE_237],
)
def response_time(site: Site) -> Iterator[Finding | Metric | Score]:
    """Drive time from the nearest police premises to every home and route stretch in the
    site, against the response standard, on the network an emergency vehicle may use
    (streets plus pedestrian streets); also gives the area's score and its assessable share
    (the share of homes with a computable drive time)."""
    layout = site.layout
    limit = float(site.params["response_time_s"])
    walk_limit = float(site.params["walk_threshold_s"])
    prem = premises_points(layout, "police")
    yield Metric("police_premises", len(prem))
    if len(prem) == 0:
        yield Metric("assessable_share", 0.0, "ratio")
        yield Score(
            "police_access",
            None,
            f"not assessable: no police premises in the input; {RESOLVE_PREMISES}",
            0.0,
        )
        yield _no_premises(site, "Police response times", "the drive time from police premises")
        return
    names = _names(site)
    known = premises_known(layout)
    drive = _drive_field(site)
    cov = coverage(drive, limit, within=site.site_polygon)
    b = drive.buildings
    home = homes(layout) & in_site(site, b.geometry.values)
    t = b["time_s"].to_numpy(float)
    timed = home & np.isfinite(t)
    r = drive.routes
    rin = in_site(site, r.geometry.values)
    rt = r["time_s"].to_numpy(float)
    rlen = r["length_m"].to_numpy(float)
    if home.any():
        assessable = float(timed.sum() / home.sum())
    elif rin.any() and rlen[rin].sum() > 0:
        assessable = float(rlen[rin & np.isfinite(rt)].sum() / rlen[rin].sum())
    else:
        assessable = None
    yield Metric("drive_dwelling_share_within", cov["dwelling_share"], "ratio")
    yield Metric("drive_route_share_within", cov["route_share"], "ratio")
    yield Metric("drive_unreachable_dwellings", int((home & ~np.isfinite(t)).sum()))
    if assessable is not None:
        yield Metric("assessable_share", assessable, "ratio")
    # the score: drive share, and the walk share when there is a public-facing premises
    walk = site.shared("police_access", mode="walk", premises="public")
    shares = [("drive", cov["dwelling_share"])]
    if len(walk.premises):
        wcov = coverage(walk, walk_limit, within=site.site_polygon)
        shares.append(("walk", wcov["dwelling_share"]))
    shares = [(k, s) for k, s in shares if s == s]
    caveat = (
        "" if known else " (from the mapped premises; premises beyond the extract are not known)"
    )
    if shares:
        words = {
            "drive": f"of homes within {_minutes(limit)} by car of police premises",
            "walk": f"within a {_minutes(walk_limit)} walk of a public-facing one",
        }
        yield Score(
            "police_access",
            float(100 * np.mean([s for _, s in shares])),
            ", ".join(f"{_share(s)} {words[k]}" for k, s in shares)
            + (" (score = their mean)" if len(shares) > 1 else "")
            + caveat,
            None if assessable is None else min(1.0, max(0.0, assessable)),
        )
    else:
        yield Score(
            "police_access", None, "not assessable: no home or foot route in the site", None
        )
    graph_ped = _pedestrian_ways(site)
    prem_names = _premises_names(layout, drive.premises["fid"], names)
    assumptions = []
    if graph_ped:
        assumptions.append(
            f"Police vehicles may use the {plural(graph_ped, 'pedestrian street')} in the data, "
            f"at {float(site.params['pedestrian_speed_kmh']):g} km/h "
            "(an assumption, see pedestrian_speed_kmh)."
        )
    if not known:
        assumptions.append(_unknown_beyond(prem_names))
    far_leg = _far_premises(drive)
    if far_leg:
        assumptions.append(far_leg)
    walked = home & np.isfinite(b["walk_from_vehicle_m"].to_numpy(float))
    yield Metric("drive_homes_reached_on_foot", int(walked.sum()))
    if walked.any():
        assumptions.append(
            f"{plural(int(walked.sum()), 'home')} whose nearest street cannot be driven to from "
            f"the premises {'is' if walked.sum() == 1 else 'are'} reached on foot from the "
            f"nearest point a vehicle reaches (at most "
            f"{float(site.params['walk_from_vehicle_m']):g} m, see walk_from_vehicle_m)."
        )
    late = home & ~(np.isfinite(t) & (t <= limit))
    if late.any():
        yield _late_homes(site, drive, late, home, t, limit, known, assumptions, names, graph_ped)
    rlate = rin & ~(np.isfinite(rt) & (rt <= limit))
    if rlate.any():
        yield _late_routes(site, drive, rlate, rlen, cov, limit, known, assumptions, names)


def _pedestrian_ways(site: Site) -> int:
    """Pedestrian ways in the emergency drive network PA001 routes on."""
    from safespace.analyses.network import drive_network

    g = site.analysis(
        drive_network,
        emergency=True,
        pedestrian_speed_kmh=float(site.params["pedestrian_speed_kmh"]),
    )
    return int(g.graph.get("pedestrian_ways", 0))


def _far_premises(field) -> str | None:
    """An assumption sentence when a premises lies far from the mapped road network."""
    if len(field.premises) == 0:
        return None
    snap = field.router.snap(field.premises.geometry.values)
    leg = np.nan_to_num(snap.access_m, nan=0.0)
    if leg.max(initial=0.0) <= 50.0:
        return None
    return (
        f"A police premises lies {leg.max():.0f} m from the mapped road network; that "
        "distance is counted at walking speed, so its times are an upper bound."
    )


def _late_homes(site, drive, late, home, t, limit, known, assumptions, names, graph_ped):
    layout = site.layout
    b = drive.buildings
    n_late, n_home = int(late.sum()), int(home.sum())
    unreach = int((late & ~np.isfinite(t)).sum())
    finite = t[late & np.isfinite(t)]
    rows = np.flatnonzero(late)
    rests_on = ["response_time_s"]
    sensitive = 0
    if graph_ped and float(site.params["pedestrian_speed_kmh"]) < _CHECK_SPEED_KMH:
        fast = site.with_params({**site.params, "pedestrian_speed_kmh": _CHECK_SPEED_KMH})
        t2 = _drive_field(fast).buildings["time_s"].to_numpy(float)
        sensitive = int((late & np.isfinite(t2) & (t2 <= limit)).sum())
        if sensitive:
            rests_on.append("pedestrian_speed_kmh")
    place = _homes_place(layout, rows, names)
    frm = "the nearest police premises" if known else "the nearest mapped police premises"
    msg = (
        f"{n_late} of {plural(n_home, 'home')}{place} "
        f"{'is' if n_late == 1 else 'are'} more than {_minutes(limit)} by car from {frm}"
        + (
            f" ({unreach} cannot be reached by road from {'it' if len(drive.premises) == 1 else 'them'})"
            if unreach
            else ""
        )
        + ". Travel time is the drive alone; call handling and dispatch come on top."
    )
    if not known:
        msg += (
            " Police premises beyond the extract are not known, so these homes may be nearer "
            "to one that is not mapped."
        )
    if known:
        severity = "high" if n_late > n_home / 2 else "medium"
    else:
        severity = "info"
    evidence = {
        "homes": n_home,
        "homes_outside": n_late,
        "unreachable": unreach,
        "max_time_s": float(finite.max()) if len(finite) else None,
        "response_time_s": limit,
        "premises_known": known,
    }
    if sensitive:
        evidence["within_at_check_speed"] = sensitive
        assumptions = assumptions + [
            f"{plural(sensitive, 'of these homes', 'of these homes')} would be within the standard "
            f"at {_CHECK_SPEED_KMH:g} km/h in pedestrian streets."
        ]
    if assumptions:
        evidence["assumptions"] = list(assumptions)
    return Finding(
        severity=severity,
        title="Homes outside the police response-time standard",
        message=msg,
        geometry=shapely.union_all(b.geometry.values[late]),
        evidence=evidence,
        basis="measured" if known and not sensitive else "modelled",
        rests_on=rests_on,
        recommendation="Improve road access (through routes, no one-way detours), or agree "
        "a police base nearer the site (see PA005)."
        if known
        else f"Confirm the nearest police premises: {RESOLVE_PREMISES}.",
        features=list(b["building_fid"].to_numpy()[late]),
    )


def _late_routes(site, drive, rlate, rlen, cov, limit, known, assumptions, names):
    layout = site.layout
    r = drive.routes
    length = float(rlen[rlate].sum())
    cut_off = float(rlen[rlate & ~np.isfinite(r["time_s"].to_numpy(float))].sum())
    place = _routes_place(layout, r["route"].to_numpy()[rlate].tolist(), names)
    frm = "the nearest police premises" if known else "the nearest mapped police premises"
    walk_m = float(site.params["walk_from_vehicle_m"])
    msg = (
        f"{length:.0f} m of foot routes in the site{place} are more than {_minutes(limit)} by "
        f"car (plus the walk from the nearest road) from {frm}"
        + (
            f"; {cut_off:.0f} m of them lie more than {walk_m:g} m from any street a vehicle "
            "can reach"
            if cut_off
            else ""
        )
        + "."
    )
    if not known:
        msg += " Police premises beyond the extract are not known."
    evidence = {
        "length_outside_m": length,
        "length_unreachable_m": cut_off,
        "route_m": cov["route_m"],
        "response_time_s": limit,
        "premises_known": known,
    }
    if assumptions:
        evidence["assumptions"] = list(assumptions)
    return Finding(
        severity="medium" if known else "info",
        title="Route stretches outside the police response-time standard",
        message=msg,
        geometry=_stretches(drive, rlate, layout.foot_routes),
        evidence=evidence,
        basis="measured" if known else "modelled",
        rests_on=["response_time_s"],
        recommendation="Give emergency vehicles a route to these paths, or agree a police "
        "base nearer the site."
        if known
        else f"Confirm the nearest police premises: {RESOLVE_PREMISES}.",
        features=sorted(set(r["route_fid"].to_numpy()[rlate])),
    )
