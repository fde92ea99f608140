"""PA002, PA004 and PA005: the walk to a police contact point: from homes to a public-facing
premises, from isolated routes to an emergency phone, and where a new unit would serve
most homes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace._classify import FOOT_ONLY
from safespace._place import plural
from safespace.analyses.travel_time import coverage, homes
from safespace.errors import InputError
from safespace.findings import Finding, Metric
from safespace.rules._common import in_site
from safespace.rules.engine import Param, Site, rule
from safespace.rules.police_access._shared import (
    COE_237,
    MFS_CATCHMENT,
    POLICE_ACCESS,
    RESOLVE_PHONES,
    RESOLVE_PREMISES,
    _homes_place,
    _listing,
    _minutes,
    _names,
    _no_premises,
    _premises_names,
    _route_label,
    _stretches,
    _unknown_beyond,
    premises_known,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------
# PA002 walking access
# --------------------------------------------------------------------------------------------


@rule(
    "PA002",
    "No public-facing police premises within walking distance",
    "police_access",
    principles=["activity_support"],
    settings=[POLICE_ACCESS],
    references=[MFS_CATCHMENT, COE_237],
)
def walking_access(site: Site) -> Iterator[Finding | Metric]:
    """Walking time from every home in the site to the nearest public-facing police premises
    (a police station counter, a neighbourhood office: see docs/police-access.md)."""
    layout = site.layout
    limit = float(site.params["walk_threshold_s"])
    if layout.police.empty:
        yield _no_premises(
            site, "Walking access to police", "the walk to a public-facing police premises"
        )
        return
    known = premises_known(layout)
    names = _names(site)
    walk = site.shared("police_access", mode="walk", premises="public")
    home = homes(layout) & in_site(site, layout.buildings.geometry.values)
    n_home = int(home.sum())
    if len(walk.premises) == 0:
        if not known:
            # the mapped premises are not public-facing; public ones may exist unmapped
            mapped = _premises_names(layout, layout.police["fid"], names)
            yield Finding(
                severity="info",
                title="Walking access to police not assessed: no public-facing premises mapped",
                message=f"None of the mapped police premises ({_listing(mapped)}) is "
                "public-facing, and premises beyond the extract or not mapped are not known, "
                f"so the walk from the {plural(n_home, 'home')} in the site to a police counter "
                f"cannot be measured. To assess it, {RESOLVE_PREMISES}.",
                geometry=site.site_polygon,
                basis="data-gap",
                evidence={
                    "premises": len(layout.police),
                    "public_facing": 0,
                    "homes": n_home,
                    "gap": {
                        "kind": "public-facing police premises",
                        "extent": n_home,
                        "unit": "buildings",
                        "resolve": RESOLVE_PREMISES,
                    },
                },
                recommendation=f"To assess walking access, {RESOLVE_PREMISES} (a station "
                "counter or neighbourhood office).",
            )
            return
        yield Metric("walk_dwelling_share_within", 0.0 if n_home else float("nan"), "ratio")
        if n_home:
            yield Finding(
                severity="medium",
                title="No public-facing police premises within walking distance",
                message=f"None of the police premises in the input is public-facing, so none "
                f"of the {plural(n_home, 'home')} in the site has a police counter within a "
                f"{_minutes(limit)} walk.",
                geometry=shapely.union_all(layout.buildings.geometry.values[home]),
                evidence={"homes": n_home, "homes_outside": n_home, "walk_threshold_s": limit},
                rests_on=["walk_threshold_s"],
                recommendation="Provide a police contact point (neighbourhood office, shared "
                "counter) within walking distance, sited where PA005 suggests (CoE Res. 237, "
                "7g).",
                features=list(layout.buildings["fid"].to_numpy()[home]),
            )
        return
    cov = coverage(walk, limit, within=site.site_polygon)
    yield Metric("walk_dwelling_share_within", cov["dwelling_share"], "ratio")
    b = walk.buildings
    t = b["time_s"].to_numpy(float)
    far = home & ~(np.isfinite(t) & (t <= limit))
    if not far.any():
        return
    n_far = int(far.sum())
    everyone = n_far == n_home
    d = b["distance_m"].to_numpy(float)
    place = _homes_place(layout, np.flatnonzero(far), names)
    frm = (
        "the nearest public-facing police premises"
        if known
        else "the nearest mapped public-facing police premises"
    )
    msg = (
        f"{n_far} of {plural(n_home, 'home')}{place} {'is' if n_far == 1 else 'are'} more than a "
        f"{_minutes(limit)} walk ({limit * walk.speed_mps:.0f} m at {walk.speed_mps:g} m/s) "
        f"from {frm}."
    )
    evidence: dict[str, Any] = {
        "homes": n_home,
        "homes_outside": n_far,
        "nearest_m_min": float(np.nanmin(d[far])) if np.isfinite(d[far]).any() else None,
        "walk_threshold_s": limit,
        "walk_speed_mps": walk.speed_mps,
        "premises_known": known,
    }
    if not known:
        msg += " Police premises beyond the extract are not known."
        evidence["assumptions"] = [
            _unknown_beyond(_premises_names(layout, walk.premises["fid"], names))
        ]
    if known:
        severity = "medium" if everyone else "low"
    else:
        severity = "info"
    yield Finding(
        severity=severity,
        title="No public-facing police premises within walking distance"
        if everyone
        else "Homes beyond walking distance of public-facing police premises",
        message=msg,
        geometry=shapely.union_all(b.geometry.values[far]),
        evidence=evidence,
        basis="measured" if known else "modelled",
        rests_on=["walk_threshold_s", "walk_speed_mps"],
        recommendation="Provide a police contact point (neighbourhood office, shared "
        "counter) within walking distance, sited where PA005 suggests (CoE Res. 237, 7g)."
        if known
        else f"Confirm the nearest public-facing police premises: {RESOLVE_PREMISES}.",
        features=list(b["building_fid"].to_numpy()[far]),
    )


# --------------------------------------------------------------------------------------------
# PA004 emergency phones
# --------------------------------------------------------------------------------------------


@rule(
    "PA004",
    "Isolated routes without an emergency phone nearby",
    "police_access",
    principles=["natural_access_control", "target_hardening"],
    params={
        "phone_distance_m": Param(
            150.0,
            "m",
            "largest walking distance to an emergency phone or public-facing police premises",
            "safespace default [unverified]: no public standard found",
        ),
    },
    settings=[POLICE_ACCESS],
    references=[COE_237],
)
def emergency_phones(site: Site) -> Iterator[Finding | Metric]:
    """Outdoor pedestrian-only routes in the site farther than the limit (on foot) from an
    emergency phone or a public-facing police premises. Where the phones are not declared
    complete (an OpenStreetMap extract), a phone that is not mapped is unknown: the far
    stretches become one advisory data-gap note for the area."""
    layout = site.layout
    limit = float(site.params["phone_distance_m"])
    routes = layout.foot_routes
    if routes.empty:
        return
    f = site.shared("police_access", mode="walk", premises="public+phones")
    r = f.routes
    if r.empty:
        return
    ri = r["route"].to_numpy()
    hw = routes["highway"].astype(str).to_numpy()[ri]
    indoor = (
        routes["indoor"].fillna(False).astype(bool).to_numpy()[ri]
        if "indoor" in routes.columns
        else np.zeros(len(r), dtype=bool)
    )
    ped = np.isin(hw, list(FOOT_ONLY)) & ~indoor & in_site(site, r.geometry.values)
    d = r["distance_m"].to_numpy(float)
    far = ped & ~(np.isfinite(d) & (d <= limit))
    known = layout.complete_mask("emergency_phones", routes["origin"].to_numpy()[ri])
    lengths = r["length_m"].to_numpy(float)
    yield Metric("phone_far_route_m", float(lengths[far & known].sum()), "m")
    yield Metric("phone_unknown_route_m", float(lengths[far & ~known].sum()), "m")
    if not far.any():
        return
    names = _names(site)
    n_phones = int((f.premises["kind"] == "phone").sum())
    gap = far & ~known
    if gap.any():
        length = float(lengths[gap].sum())
        n_routes = len(set(r["route_fid"].to_numpy()[gap]))
        mapped = (
            f"the {plural(n_phones, 'mapped emergency phone')} or public-facing police premises"
            if n_phones
            else "any mapped emergency phone or public-facing police premises"
        )
        yield Finding(
            severity="info",
            title="Emergency phones not assessed: the phone data is not complete",
            message=f"{length / 1000:.1f} km of footways and paths in the site "
            f"({plural(n_routes, 'route')}) lie more than {limit:.0f} m on foot from {mapped}. "
            "Emergency phones are rarely mapped, so whether a phone is nearer is not known. "
            f"To assess them, {RESOLVE_PHONES}.",
            geometry=_stretches(f, gap, routes),
            basis="data-gap",
            evidence={
                "length_m": length,
                "routes": n_routes,
                "phones": n_phones,
                "phone_distance_m": limit,
                "gap": {
                    "kind": "emergency phones",
                    "extent": length,
                    "unit": "m",
                    "resolve": RESOLVE_PHONES,
                },
            },
            rests_on=["phone_distance_m"],
            recommendation=f"To assess emergency phone cover, {RESOLVE_PHONES}.",
            features=sorted(set(r["route_fid"].to_numpy()[gap])),
        )
    measured = far & known
    none = len(f.premises) == 0
    fids = r["route_fid"].to_numpy()
    for fid in sorted(set(fids[measured])):
        m = measured & (fids == fid)
        dm = d[m]
        length = float(lengths[m].sum())
        label = _route_label(layout, int(ri[m][0]), names)
        yield Finding(
            severity="low",
            title="Isolated route without an emergency phone nearby",
            message=f"{length:.0f} m of {label} {'is' if round(length) == 1 else 'are'} "
            + (
                "on a route with no emergency phone or public-facing police premises in or "
                "near the layout."
                if none
                else f"more than {limit:.0f} m on foot from an emergency phone or "
                "public-facing police premises."
            ),
            geometry=_stretches(f, m, routes),
            evidence={
                "length_m": length,
                "max_distance_m": float(np.nanmax(dm)) if np.isfinite(dm).any() else None,
                "phone_distance_m": limit,
                "phones": n_phones,
            },
            rests_on=["phone_distance_m"],
            recommendation="Add an emergency phone (or help point) on or beside this route, in "
            "view and lit (CoE Res. 237, 8b).",
            features=[fid],
        )


# --------------------------------------------------------------------------------------------
# PA005 siting a neighbourhood police unit
# --------------------------------------------------------------------------------------------


@rule(
    "PA005",
    "Best site for a neighbourhood police unit",
    "police_access",
    principles=["activity_support"],
    params={
        "k": Param(1, "", "number of new sites to recommend", "safespace default"),
        "max_candidates": Param(
            200,
            "",
            "candidate sites considered (network junctions and "
            "frontages on well-integrated streets in the site)",
            "safespace default",
        ),
    },
    settings=[POLICE_ACCESS],
    references=[COE_237, "Church & ReVelle (1974), the maximal covering location problem"],
    proposal_rule=True,
)
def best_site(site: Site) -> Iterator[Finding | Metric]:
    """Where new public-facing police premises would bring the most homes within walking
    distance (maximal covering, keeping existing premises)."""
    layout = site.layout
    if layout.police.empty:
        yield _no_premises(
            site,
            "Siting of a neighbourhood police unit",
            "the gain from new premises over the existing ones",
        )
        return
    limit = float(site.params["walk_threshold_s"])
    try:
        res = site.shared(
            "police_access",
            "siting",
            k=int(site.params["k"]),
            objective="coverage",
            candidates="both",
            max_candidates=int(site.params["max_candidates"]),
            within=site.site_polygon,
            premises="public",
        )
    except InputError:
        return
    gain = res.covered_after - res.covered_before
    yield Metric("siting_dwellings_gained", gain)
    if gain <= 0 or res.chosen.empty:
        return
    known = premises_known(layout)
    names = _names(site)
    streets = [s for s in names.near(res.chosen.geometry.values) if s]
    where = f" on {_listing(sorted(set(streets)))}" if streets else ""
    n_sites = len(res.chosen)
    msg = (
        f"A public-facing police office at the marked site{'s' if n_sites > 1 else ''}{where} "
        f"would bring {plural(gain, 'more home', 'more homes')} within a {_minutes(limit)} walk "
        f"({res.covered_before} → {res.covered_after} of {res.demands})."
    )
    evidence: dict[str, Any] = {
        "covered_before": res.covered_before,
        "covered_after": res.covered_after,
        "homes": res.demands,
        "candidates": len(res.candidates),
        "objective": "maximal covering (exact MILP)",
        "sources": list(res.chosen["source"]),
        "premises_known": known,
    }
    if not known:
        msg += (
            " The existing premises are the mapped ones; others beyond the extract are not known."
        )
        evidence["assumptions"] = [
            _unknown_beyond(
                _premises_names(
                    layout,
                    layout.police["fid"][layout.police["public_facing"].fillna(True).astype(bool)],
                    names,
                )
            )
        ]
    yield Finding(
        severity="info",
        title="Best site for a neighbourhood police unit",
        message=msg,
        geometry=shapely.union_all(res.chosen.geometry.values),
        evidence=evidence,
        basis="measured" if known else "modelled",
        rests_on=["walk_threshold_s"],
        recommendation="Discuss premises for a neighbourhood police unit at this location "
        "with the police (CoE Res. 237, 7g): a ground floor with a street entrance.",
    )
