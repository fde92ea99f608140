"""Built-in police access rules (``PA``): response times, walking access to a police contact
point, placement of proposed premises, emergency phones on isolated routes, and where a
neighbourhood police unit would serve most homes.

Premises outside the layout come in through ``safespace.load(..., police=FILE)`` (the CLI's
``--police FILE``): they join ``layout.police`` with ``origin="external"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely

from safespace._classify import FOOT_ONLY
from safespace.analyses.travel_time import (
    WALK_SPEED_MPS,
    _substrings,
    access_field,
    coverage,
    premises_points,
)
from safespace.errors import InputError
from safespace.findings import Finding, Metric, Score
from safespace.rules.engine import Param, Site, rule

COE_237 = (
    "Council of Europe Congress of Local and Regional Authorities, Resolution 237 (2007) on "
    "community policing, 7g (premises for neighbourhood police units; design public areas with "
    "the police) and 8b (accessible police services: emergency telephones, a local number)"
)
RESPONSE_STD = (
    "England & Wales emergency attendance standard as announced: 15 min urban / 20 min rural "
    "(news reports) [quoted]"
)
MFS_CATCHMENT = "Manual for Streets (DfT 2007): walkable catchment about 10 min / 800 m [quoted]"
WALK_SPEED_SRC = (
    "US MUTCD 'normal walking speed' 4.0 ft/s = 1.2 m/s (2003 ed.; 3.5 ft/s in 2009) [quoted]"
)
_LIT = frozenset({"yes", "24/7", "automatic", "interval", "limited"})

_WALK = Param(
    WALK_SPEED_MPS, "m/s", "walking speed (routes on foot and access legs)", WALK_SPEED_SRC
)


def _field(site: Site, mode: str, premises: str | None = None):
    return site.analysis(
        access_field,
        mode=mode,
        premises=premises,
        walk_speed_mps=float(site.params.get("walk_speed_mps", WALK_SPEED_MPS)),
        route_spacing_m=float(site.params.get("route_spacing_m", 25.0)),
    )


def _in_site(site: Site, geoms: np.ndarray) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(geoms, site.site_polygon), dtype=bool)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"


def _no_premises(which: str) -> Finding:
    what = "police premises" if which == "police" else "public-facing police premises"
    return Finding(
        severity="medium",
        title=f"No {what} in or near the layout",
        message=f"No {what} in or near the layout: travel times cannot be measured, and "
        f"every home counts as unserved. Give the existing premises with --police FILE "
        "(or draw them tagged amenity=police).",
        evidence={"premises": 0},
        recommendation="Give the nearest existing police premises with --police FILE, or "
        "agree premises for a neighbourhood police unit with the police (CoE Res. 237, 7g).",
    )


def _stretches(field, mask: np.ndarray, routes_layer) -> shapely.Geometry | None:
    r = field.routes[mask]
    if r.empty:
        return None
    geoms = routes_layer.geometry.values[r["route"].to_numpy()]
    along = r["along_m"].to_numpy(dtype=float)
    half = r["length_m"].to_numpy(dtype=float) / 2
    lines = _substrings(geoms, np.maximum(along - half, 0), along + half)
    return shapely.line_merge(shapely.union_all(lines))


def _share(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


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
        "route_spacing_m": Param(
            25.0, "m", "spacing of route samples", "safespace convention [unverified]"
        ),
        "walk_speed_mps": _WALK,
    },
    references=[RESPONSE_STD, COE_237],
)
def response_time(site: Site) -> Iterator[Finding | Metric | Score]:
    """Drive time from the nearest police premises to every home and route stretch in the
    site, against the response standard; also gives the area's score."""
    limit = float(site.params["response_time_s"])
    prem = premises_points(site.layout, "police")
    drive = _field(site, "drive", "police")
    walk = _field(site, "walk", "public")
    walk_limit = 600.0
    cov = coverage(drive, limit, within=site.site_polygon)
    wcov = coverage(walk, walk_limit, within=site.site_polygon)
    yield Metric("police_premises", len(prem))
    yield Metric("drive_dwelling_share_within", cov["dwelling_share"], "ratio")
    yield Metric("drive_route_share_within", cov["route_share"], "ratio")
    shares = [s for s in (cov["dwelling_share"], wcov["dwelling_share"]) if s == s]
    if shares:
        yield Score(
            "police_access",
            float(100 * np.mean(shares)),
            f"{_share(cov['dwelling_share'])} of homes within {_minutes(limit)} by car of "
            f"police premises, {_share(wcov['dwelling_share'])} within a {_minutes(walk_limit)}"
            " walk of a public-facing one (score = their mean)",
        )
    if len(prem) == 0:
        yield _no_premises("police")
        return
    b = drive.buildings
    home = b["dwelling"].to_numpy(bool) & _in_site(site, b.geometry.values)
    t = b["time_s"].to_numpy(float)
    late = home & ~(np.isfinite(t) & (t <= limit))
    if late.any():
        unreach = int((late & ~np.isfinite(t)).sum())
        finite = t[late & np.isfinite(t)]
        yield Finding(
            severity="high" if late.sum() > home.sum() / 2 else "medium",
            title="Homes outside the police response-time standard",
            message=f"{int(late.sum())} of {int(home.sum())} homes are more than "
            f"{_minutes(limit)} by car from the nearest police premises"
            + (f" ({unreach} cannot be reached by road at all)" if unreach else "")
            + ". Travel time is the drive alone; call handling and dispatch come on top.",
            geometry=shapely.union_all(b.geometry.values[late]),
            evidence={
                "homes": int(home.sum()),
                "homes_outside": int(late.sum()),
                "unreachable": unreach,
                "max_time_s": float(finite.max()) if len(finite) else None,
                "response_time_s": limit,
                "dwellings_tagged": cov["dwellings_tagged"],
            },
            recommendation="Improve road access (through routes, no one-way detours), or agree "
            "a police base nearer the site (see PA005).",
            features=list(b["building_fid"].to_numpy()[late]),
        )
    r = drive.routes
    rin = _in_site(site, r.geometry.values)
    rt = r["time_s"].to_numpy(float)
    rlate = rin & ~(np.isfinite(rt) & (rt <= limit))
    if rlate.any():
        yield Finding(
            severity="medium",
            title="Route stretches outside the police response-time standard",
            message=f"{r['length_m'].to_numpy(float)[rlate].sum():.0f} m of foot routes in the "
            f"site are more than {_minutes(limit)} by car (plus the walk from the nearest road) "
            "from the nearest police premises.",
            geometry=_stretches(drive, rlate, site.layout.foot_routes),
            evidence={
                "length_outside_m": float(r["length_m"].to_numpy(float)[rlate].sum()),
                "route_m": cov["route_m"],
                "response_time_s": limit,
            },
            recommendation="Give emergency vehicles a route to these paths, or agree a police "
            "base nearer the site.",
            features=sorted(set(r["route_fid"].to_numpy()[rlate])),
        )


@rule(
    "PA002",
    "No public-facing police premises within walking distance",
    "police_access",
    principles=["activity_support"],
    params={
        "walk_threshold_s": Param(
            600.0, "s", "walking time to a public-facing police premises", MFS_CATCHMENT
        ),
        "walk_speed_mps": _WALK,
        "route_spacing_m": Param(
            25.0, "m", "spacing of route samples", "safespace convention [unverified]"
        ),
    },
    references=[MFS_CATCHMENT, COE_237],
)
def walking_access(site: Site) -> Iterator[Finding | Metric]:
    """Walking time from every home in the site to the nearest public-facing police premises
    (a police station counter, a neighbourhood office: see docs/police-access.md)."""
    limit = float(site.params["walk_threshold_s"])
    walk = _field(site, "walk", "public")
    cov = coverage(walk, limit, within=site.site_polygon)
    yield Metric("walk_dwelling_share_within", cov["dwelling_share"], "ratio")
    if len(walk.premises) == 0:
        yield _no_premises("public")
        return
    b = walk.buildings
    home = b["dwelling"].to_numpy(bool) & _in_site(site, b.geometry.values)
    t = b["time_s"].to_numpy(float)
    far = home & ~(np.isfinite(t) & (t <= limit))
    if not far.any():
        return
    everyone = far.sum() == home.sum()
    d = b["distance_m"].to_numpy(float)
    yield Finding(
        severity="medium" if everyone else "low",
        title="No public-facing police premises within walking distance"
        if everyone
        else "Homes beyond walking distance of public-facing police premises",
        message=f"{int(far.sum())} of {int(home.sum())} homes are more than a "
        f"{_minutes(limit)} walk ({limit * walk.speed_mps:.0f} m at {walk.speed_mps} m/s) from "
        "the nearest public-facing police premises.",
        geometry=shapely.union_all(b.geometry.values[far]),
        evidence={
            "homes": int(home.sum()),
            "homes_outside": int(far.sum()),
            "nearest_m_min": float(np.nanmin(d[far])) if np.isfinite(d[far]).any() else None,
            "walk_threshold_s": limit,
            "walk_speed_mps": walk.speed_mps,
            "dwellings_tagged": cov["dwellings_tagged"],
        },
        recommendation="Provide a police contact point (neighbourhood office, shared "
        "counter) within walking distance, sited where PA005 suggests (CoE Res. 237, 7g).",
        features=list(b["building_fid"].to_numpy()[far]),
    )


def _integration_segments(layout: Any):
    from safespace.analyses.network import walk_network
    from safespace.analyses.space_syntax import angular_segment_analysis

    return angular_segment_analysis(walk_network(layout), radii=(800,), choice=False)


def _overlooking(layout: Any, points: np.ndarray, exclude: list[set], radius: float) -> list:
    """Entrances of other buildings inside the isovist at each point (None if unavailable)."""
    try:
        from safespace.analyses.isovist import isovists
    except ImportError:
        return [None] * len(points)
    obstacles = layout.buildings.geometry.values
    if len(obstacles) == 0:
        return [0] * len(points)
    ent = layout.entrances
    out = []
    polys = isovists(obstacles, shapely.get_coordinates(points), radius)
    for poly, ex in zip(polys, exclude, strict=True):
        if poly.is_empty or ent.empty:
            out.append(0)
            continue
        near = shapely.dwithin(ent.geometry.values, poly, 1.5)
        bf = ent["building_fid"].to_numpy(dtype=object)
        out.append(int(sum(1 for i in np.flatnonzero(near) if bf[i] not in ex)))
    return out


@rule(
    "PA003",
    "Proposed police premises poorly placed",
    "police_access",
    principles=["natural_surveillance", "activity_support"],
    params={
        "integration_quantile": Param(
            0.5,
            "ratio",
            "the entrance's street must be at least "
            "this quantile of angular integration (800 m) on the "
            "walk network",
            "safespace default [unverified]",
        ),
        "overlook_radius_m": Param(
            30.0,
            "m",
            "range within which other buildings' doors overlook the entrance",
            "safespace default [unverified]",
        ),
        "min_overlooking": Param(
            1,
            "",
            "doors of other buildings that must see the entrance",
            "safespace default [unverified]",
        ),
        "lamp_distance_m": Param(
            15.0,
            "m",
            "a lamp this near the entrance counts as lighting it",
            "safespace default [unverified]",
        ),
    },
    references=[COE_237, "ISO 22341:2021 clause 5.2 (natural surveillance)"],
)
def premises_placement(site: Site) -> Iterator[Finding | Metric]:
    """Each proposed police premises in the site: is its entrance on a well-integrated
    street, overlooked by other doors, and lit?"""
    layout = site.layout
    pol = layout.police
    if pol.empty:
        return
    proposed = (pol["origin"] == "proposal").to_numpy().copy()
    if layout.site is not None:
        proposed &= np.asarray(shapely.intersects(pol.geometry.values, layout.site), dtype=bool)
    if not proposed.any():
        return
    rows = pol[proposed]
    pts = np.asarray(rows["access_point"].values, dtype=object)
    # integration
    skipped = []
    integ_ok = [None] * len(rows)
    integ_val = [None] * len(rows)
    try:
        seg = site.analysis(_integration_segments)
        vals = seg["integration_800"].to_numpy(float)
        if not np.isfinite(vals).any():
            # no segment has a defined integration (e.g. no segment reaches another within
            # 800 m): nothing to compare a door against, so the test is skipped, not failed
            skipped.append("integration (undefined on every street segment)")
            cut = None
        else:
            cut = float(np.nanquantile(vals, float(site.params["integration_quantile"])))
            tree = shapely.STRtree(seg.geometry.values)
            _, si = tree.query_nearest(pts, all_matches=False)
            for i, s in enumerate(si):
                if np.isfinite(vals[s]):
                    integ_val[i] = float(vals[s])
                    integ_ok[i] = bool(vals[s] >= cut)
    except (ImportError, InputError, ValueError, KeyError):
        skipped.append("integration (space-syntax analysis not available)")
        cut = None
    # overlooking: other buildings' doors inside the isovist from just outside the door
    exclude = []
    bfids = layout.buildings["fid"].to_numpy(dtype=object)
    for geom in rows.geometry.values:
        hit = shapely.intersects(layout.buildings.geometry.values, geom) if len(bfids) else []
        exclude.append(set(bfids[np.asarray(hit, dtype=bool)]) if len(bfids) else set())
    routes = layout.foot_routes.geometry.values
    origins = pts.copy()
    if len(routes):
        tree = shapely.STRtree(routes)
        _, ri = tree.query_nearest(pts, all_matches=False)
        for i, (p, r) in enumerate(zip(pts, ri, strict=True)):
            q = shapely.get_point(shapely.shortest_line(p, routes[r]), 1)
            d = p.distance(q)
            origins[i] = shapely.line_interpolate_point(shapely.LineString([p, q]), min(1.0, d))
    seen = _overlooking(layout, origins, exclude, float(site.params["overlook_radius_m"]))
    if seen[0] is None:
        skipped.append("overlooking (isovist analysis not available)")
    # lighting: tagged lit routes beside the entrance, or a lamp near it
    lamps = layout.lamps.geometry.values
    lit_ok = []
    for p in pts:
        near_lamp = len(lamps) and float(shapely.distance(lamps, p).min()) <= float(
            site.params["lamp_distance_m"]
        )
        lit_route = False
        if len(routes):
            i = int(np.argmin(shapely.distance(routes, p)))
            lit_route = str(layout.foot_routes["lit"].iloc[i]).lower() in _LIT
        lit_ok.append(bool(near_lamp or lit_route))
    for i, (_, row) in enumerate(rows.iterrows()):
        problems = []
        if integ_ok[i] is False:
            problems.append("its entrance is on a poorly integrated street")
        if seen[i] is not None and seen[i] < int(site.params["min_overlooking"]):
            problems.append("no other door overlooks its entrance")
        if not lit_ok[i]:
            problems.append("its entrance is unlit")
        if not problems:
            continue
        yield Finding(
            severity="medium",
            title="Proposed police premises poorly placed",
            message=f"Proposed police premises {row['fid']}: " + "; ".join(problems) + ".",
            geometry=pts[i],
            evidence={
                "integration_800": integ_val[i],
                "integration_threshold": cut,
                "overlooking_doors": seen[i],
                "lit": lit_ok[i],
                "lighting_method": "route lit=* tag or a lamp within lamp_distance_m (the "
                "illuminance grid is not used)",
                "skipped": skipped,
            },
            recommendation="Put the entrance on a busy, well-connected street, facing other "
            "front doors, and light it dusk to dawn.",
            features=[row["fid"]],
        )


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
        "route_spacing_m": Param(
            25.0, "m", "spacing of route samples", "safespace convention [unverified]"
        ),
        "walk_speed_mps": _WALK,
    },
    references=[COE_237],
)
def emergency_phones(site: Site) -> Iterator[Finding | Metric]:
    """Pedestrian-only routes in the site farther than the limit (on foot) from an emergency
    phone or a public-facing police premises."""
    limit = float(site.params["phone_distance_m"])
    f = _field(site, "walk", "public+phones")
    routes = site.layout.foot_routes
    r = f.routes
    if r.empty:
        return
    hw = routes["highway"].astype(str).to_numpy()[r["route"].to_numpy()]
    ped = np.isin(hw, list(FOOT_ONLY)) & _in_site(site, r.geometry.values)
    d = r["distance_m"].to_numpy(float)
    far = ped & ~(np.isfinite(d) & (d <= limit))
    yield Metric("phone_far_route_m", float(r["length_m"].to_numpy(float)[far].sum()), "m")
    if not far.any():
        return
    none = len(f.premises) == 0
    for fid in sorted(set(r["route_fid"].to_numpy()[far])):
        m = far & (r["route_fid"].to_numpy() == fid)
        dm = d[m]
        yield Finding(
            severity="low",
            title="Isolated route without an emergency phone nearby",
            message=f"Foot route {fid}: {r['length_m'].to_numpy(float)[m].sum():.0f} m lie "
            + (
                "with no emergency phone or public-facing police premises anywhere in or near "
                "the layout."
                if none
                else f"more than {limit:.0f} m on foot from an emergency phone or public-facing "
                "police premises."
            ),
            geometry=_stretches(f, m, routes),
            evidence={
                "length_m": float(r["length_m"].to_numpy(float)[m].sum()),
                "max_distance_m": float(np.nanmax(dm)) if np.isfinite(dm).any() else None,
                "phone_distance_m": limit,
                "phones": int((f.premises["kind"] == "phone").sum()),
            },
            recommendation="Add an emergency phone (or help point) on or beside this route, in "
            "view and lit (CoE Res. 237, 8b).",
            features=[fid],
        )


@rule(
    "PA005",
    "Best site for a neighbourhood police unit",
    "police_access",
    principles=["activity_support"],
    params={
        "k": Param(1, "", "number of new sites to recommend", "safespace default"),
        "walk_threshold_s": Param(600.0, "s", "walking time a site should cover", MFS_CATCHMENT),
        "walk_speed_mps": _WALK,
        "max_candidates": Param(
            200,
            "",
            "candidate sites considered (network junctions and "
            "frontages on well-integrated streets in the site)",
            "safespace default",
        ),
    },
    references=[COE_237, "Church & ReVelle (1974), the maximal covering location problem"],
)
def best_site(site: Site) -> Iterator[Finding | Metric]:
    """Where new public-facing police premises would bring the most homes within walking
    distance (maximal covering, keeping existing premises)."""
    from safespace.analyses.siting import siting

    limit = float(site.params["walk_threshold_s"])
    try:
        res = site.analysis(
            siting,
            k=int(site.params["k"]),
            objective="coverage",
            threshold_s=limit,
            candidates="both",
            max_candidates=int(site.params["max_candidates"]),
            within=site.site_polygon,
            premises="public",
            walk_speed_mps=float(site.params["walk_speed_mps"]),
        )
    except InputError:
        return
    gain = res.covered_after - res.covered_before
    yield Metric("siting_dwellings_gained", gain)
    if gain <= 0 or res.chosen.empty:
        return
    yield Finding(
        severity="info",
        title="Best site for a neighbourhood police unit",
        message=f"A public-facing police office at the marked site"
        f"{'s' if len(res.chosen) > 1 else ''} would bring {gain} more homes within a "
        f"{_minutes(limit)} walk ({res.covered_before} → {res.covered_after} of "
        f"{res.demands}).",
        geometry=shapely.union_all(res.chosen.geometry.values),
        evidence={
            "covered_before": res.covered_before,
            "covered_after": res.covered_after,
            "homes": res.demands,
            "candidates": len(res.candidates),
            "objective": "maximal covering (exact MILP)",
            "sources": list(res.chosen["source"]),
        },
        recommendation="Discuss premises for a neighbourhood police unit at this location "
        "with the police (CoE Res. 237, 7g): a ground floor with a street entrance.",
    )


RULES = [response_time, walking_access, premises_placement, emergency_phones, best_site]
