"""Built-in police access rules (``PA``): response times, walking access to a police contact
point, placement of proposed premises, emergency phones on isolated routes, and where a
neighbourhood police unit would serve most homes.

Premises outside the layout come in through ``safespace.load(..., police=FILE)`` (the CLI's
``--police FILE``): they join ``layout.police`` with ``origin="external"``.

Honesty about the data (``docs/data.md``):

* no police premises in the input: PA001, PA002 and PA005 each give one advisory data-gap
  note saying what would resolve it, and the area is not assessable;
* premises from an OpenStreetMap extract (a *partial* police layer): times are measured from
  the mapped premises, which only bounds them from above, since a nearer premises beyond the
  extract is not known. "Too far" findings are then modelled and advisory;
* emergency phones not declared complete: PA004 gives one advisory data-gap note for the area
  instead of one finding per route;
* PA003 and PA005 judge design decisions (``proposal_rule``): only premises inside a red line
  are proposed.

The walking speed, the spacing of route samples and the walking threshold are one settings
group, :data:`POLICE_ACCESS` (``[settings.police_access]``), read by PA001 (its score's
walk share), PA002, PA004 and PA005: every rule walks at the same speed and the score and
the walking findings use the same threshold. The group feeds the travel-time field
(``site.shared("police_access", mode=..., premises=...)``) and the siting analysis
(``site.shared("police_access", "siting", ...)``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import shapely

from safespace._classify import FOOT_ONLY, LIT_ON
from safespace._geom import inner_points
from safespace.analyses.network import DRIVE_SPEED_KMH, EMERGENCY_PEDESTRIAN_SPEED_KMH
from safespace.analyses.siting import siting
from safespace.analyses.travel_time import (
    WALK_SPEED_MPS,
    _substrings,
    access_field,
    coverage,
    homes,
    premises_points,
)
from safespace.errors import InputError
from safespace.findings import Finding, Metric, Score
from safespace.rules.engine import Feed, Param, SettingsGroup, Site, rule

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
PEDESTRIAN_SPEED_SRC = (
    "safespace assumption: the OSRM car profile's living_street speed (10 km/h) for emergency "
    "driving in pedestrian streets; no published speed found [unverified]"
)
_LIT = LIT_ON  # the one lit vocabulary (_classify)
#: What resolves the absence of police premises (said on every such note).
RESOLVE_PREMISES = "supply the police premises: --police FILE or amenity=police features"
RESOLVE_PHONES = (
    "supply the emergency phones and help points (emergency=phone features) and declare the "
    "layer complete (safespace:complete=emergency_phones on the site, or --complete "
    "emergency_phones)"
)
#: Speed the pedestrian-street assumption is checked against: the OSRM residential speed.
_CHECK_SPEED_KMH = DRIVE_SPEED_KMH["residential"]

#: The walking assumptions every PA rule that walks shares (one settings group).
WALK_PARAMS: dict[str, Param] = {
    "walk_speed_mps": Param(
        WALK_SPEED_MPS, "m/s", "walking speed (routes on foot and access legs)", WALK_SPEED_SRC
    ),
    "route_spacing_m": Param(
        25.0, "m", "spacing of route samples", "safespace convention [unverified]"
    ),
    "walk_threshold_s": Param(
        600.0,
        "s",
        "walking time to a public-facing police premises (PA002's findings, PA005's siting "
        "and the walk share of PA001's score)",
        MFS_CATCHMENT,
    ),
}

#: The walking speed, route spacing and walking threshold, set once for PA001, PA002, PA004
#: and PA005 under ``[settings.police_access]``. ``site.shared("police_access", mode=...,
#: premises=...)`` is the travel-time field; ``site.shared("police_access", "siting", ...)``
#: the maximal-covering siting.
POLICE_ACCESS = SettingsGroup(
    "police_access",
    WALK_PARAMS,
    {
        "field": Feed(
            access_field, {"walk_speed_mps": "walk_speed_mps", "route_spacing_m": "route_spacing_m"}
        ),
        "siting": Feed(
            siting, {"walk_speed_mps": "walk_speed_mps", "walk_threshold_s": "threshold_s"}
        ),
    },
    description="the walk to police premises and phones (speed, route sampling, threshold)",
)

_WAY_KIND = {
    "footway": "footway",
    "path": "path",
    "pedestrian": "pedestrian street",
    "steps": "steps",
    "cycleway": "cycle track",
    "track": "track",
    "bridleway": "bridleway",
    "corridor": "corridor",
    "living_street": "living street",
    "service": "service road",
}


# --------------------------------------------------------------------------------------------
# wording: places by name, never raw ids; plurals
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A usable name: not None, NaN, empty or an OSM id."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    s = str(value).strip()
    if not s or s.lower() in ("nan", "none") or s.split("/")[0] in ("node", "way", "relation"):
        return None
    return s


def _n(count: int, word: str, plural: str | None = None) -> str:
    """``1 home``, ``2 homes``."""
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def _listing(names: Sequence[str], more_word: str = "other", limit: int = 3) -> str:
    """``A``, ``A and B``, ``A, B and C``, ``A, B, C and 4 others``."""
    names = list(names)
    if len(names) <= limit:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    rest = len(names) - limit
    return ", ".join(names[:limit]) + f" and {rest} {more_word}{'s' if rest != 1 else ''}"


class _Names:
    """Nearest named street or path, for describing places that have no name of their own."""

    def __init__(self, layout: Any, within_m: float = 40.0):
        geoms, names = [], []
        for frame in (layout.streets, layout.foot_routes):
            if frame.empty or "name" not in frame.columns:
                continue
            for g, nm in zip(frame.geometry.values, frame["name"], strict=True):
                t = _text(nm)
                if t and g is not None:
                    geoms.append(g)
                    names.append(t)
        self.geoms = np.asarray(geoms, dtype=object)
        self.names = names
        self.tree = shapely.STRtree(self.geoms) if len(self.geoms) else None
        self.within_m = within_m

    def near(self, geoms: Any) -> list[str | None]:
        """The nearest named way within ``within_m`` of each geometry (None if none)."""
        geoms = np.asarray(geoms, dtype=object).ravel()
        out: list[str | None] = [None] * len(geoms)
        if self.tree is None or len(geoms) == 0:
            return out
        qi, ti = self.tree.query_nearest(geoms, max_distance=self.within_m, all_matches=False)
        for q, t in zip(qi.tolist(), ti.tolist(), strict=True):
            out[q] = self.names[t]
        return out


def _names(site: Site) -> _Names:
    return site.analysis(_Names)


def _street_of(tags: Any) -> str | None:
    return _text(tags.get("addr:street")) if isinstance(tags, dict) else None


def _premises_label(layout: Any, fid: str, names: _Names) -> str:
    """``Polizeirevier Heidelberg-Mitte``, or ``the police premises on Mill Lane``."""
    pol = layout.police
    row = pol[pol["fid"].astype(str) == str(fid)]
    if not row.empty:
        r = row.iloc[0]
        nm = _text(r.get("name"))
        if nm:
            return nm
        street = _street_of(r.get("tags")) or names.near([r.geometry])[0]
        if street:
            return f"the police premises on {street}"
    return "the police premises"


def _homes_place(layout: Any, rows: np.ndarray, names: _Names) -> str:
    """`` on Hauptstraße, Plöck and 3 other streets`` for the homes at ``rows`` (or "")."""
    b = layout.buildings
    if len(rows) == 0:
        return ""
    tags = b["tags"].to_numpy(dtype=object)[rows] if "tags" in b.columns else [None] * len(rows)
    streets = [_street_of(t) for t in tags]
    missing = [i for i, s in enumerate(streets) if s is None]
    if missing:
        found = names.near(b.geometry.values[rows[missing]])
        for i, s in zip(missing, found, strict=True):
            streets[i] = s
    counts = Counter(s for s in streets if s)
    if not counts:
        return ""
    ordered = sorted(counts, key=lambda s: (-counts[s], s))
    return " on " + _listing(ordered, "other street")


def _route_label(layout: Any, idx: int, names: _Names) -> str:
    """``Orchard Walk``, ``the footway beside Mill Lane``, ``the footway between A and B``."""
    routes = layout.foot_routes
    row = routes.iloc[idx]
    nm = _text(row.get("name"))
    kind = _WAY_KIND.get(str(row.get("highway")), "route")
    if nm:
        return nm
    g = row.geometry
    ends = [shapely.get_point(g, 0), shapely.get_point(g, -1)] if g is not None else []
    at = [n for n in names.near(ends) if n] if ends else []
    if len(set(at)) == 2:
        return f"the {kind} between {at[0]} and {at[1]}"
    near = names.near([g])[0] if g is not None else None
    if near:
        return f"the {kind} beside {near}"
    if at:
        return f"the {kind} off {at[0]}"
    return f"an unnamed {kind}"


def _routes_place(layout: Any, route_rows: Sequence[int], names: _Names) -> str:
    """`` on Orchard Walk, the footway beside Mill Lane and 2 other routes`` (or "")."""
    labels = sorted({_route_label(layout, int(i), names) for i in route_rows})
    named = [x for x in labels if not x.startswith("an unnamed")]
    if not named:
        return ""
    rest = len(set(route_rows)) - len(named)
    head = _listing(named, "other route")
    return " on " + head + (f" (and {_n(rest, 'unnamed route')})" if rest > 0 else "")


# --------------------------------------------------------------------------------------------
# shared pieces
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


def _in_site(site: Site, geoms: np.ndarray) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects(geoms, site.site_polygon), dtype=bool)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"


def _share(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


def premises_known(layout: Any) -> bool:
    """Whether the input says which police premises exist: an external premises file was
    given (``--police FILE``), or every part of the layout is complete in ``police``.

    In an OpenStreetMap extract a premises that is not mapped (or lies beyond the extract)
    is unknown, so times from the mapped premises are upper bounds.
    """
    if layout.is_complete("police", "external"):
        return True
    origins = [o for o in layout.origins if o != "external"] or ["proposal"]
    return all(layout.is_complete("police", o) for o in origins)


def _site_homes(site: Site) -> np.ndarray:
    b = site.layout.buildings
    return homes(site.layout) & _in_site(site, b.geometry.values)


def _route_m_in_site(site: Site) -> float:
    routes = site.layout.foot_routes
    if routes.empty:
        return 0.0
    return float(
        shapely.length(shapely.intersection(routes.geometry.values, site.site_polygon)).sum()
    )


def _no_premises(site: Site, what: str, unassessed: str) -> Finding:
    """The one advisory data-gap note of a rule that cannot run without police premises."""
    n_homes = int(_site_homes(site).sum())
    route_m = _route_m_in_site(site)
    subject = []
    if n_homes:
        subject.append(_n(n_homes, "home"))
    if route_m > 0:
        subject.append(f"{route_m / 1000:.1f} km of foot routes")
    about = (" for the " + " and ".join(subject) + " in the site") if subject else ""
    return Finding(
        severity="info",
        title=f"{what} not assessed: no police premises in the input",
        message=f"No police premises are in the input, so {unassessed}{about} cannot be "
        f"measured. To assess it, {RESOLVE_PREMISES}.",
        geometry=site.site_polygon,
        basis="data-gap",
        evidence={
            "premises": 0,
            "homes": n_homes,
            "route_m": route_m,
            "gap": {
                "kind": "police premises",
                "extent": n_homes,
                "unit": "buildings",
                "resolve": RESOLVE_PREMISES,
            },
        },
        recommendation=f"To assess police access, {RESOLVE_PREMISES} (the nearest existing "
        "premises, even outside the site).",
    )


def _unknown_beyond(prem_names: list[str]) -> str:
    which = (
        _listing(prem_names) if prem_names else "the mapped premises"
    )  # e.g. Polizeirevier Heidelberg-Mitte
    return (
        f"Times are measured from the mapped premises ({which}); police premises beyond the "
        "extract, or not mapped, are not known, so a home far from these may be near one that "
        "is not mapped."
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


def _premises_names(layout: Any, fids: Sequence[Any], names: _Names) -> list[str]:
    seen: dict[str, None] = {}
    for f in fids:
        if f is not None:
            seen[_premises_label(layout, str(f), names)] = None
    return list(seen)


# --------------------------------------------------------------------------------------------
# PA001 response time
# --------------------------------------------------------------------------------------------


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
    home = homes(layout) & _in_site(site, b.geometry.values)
    t = b["time_s"].to_numpy(float)
    timed = home & np.isfinite(t)
    r = drive.routes
    rin = _in_site(site, r.geometry.values)
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
            f"Police vehicles may use the {_n(graph_ped, 'pedestrian street')} in the data, "
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
            f"{_n(int(walked.sum()), 'home')} whose nearest street cannot be driven to from "
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
        f"{n_late} of {_n(n_home, 'home')}{place} "
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
            f"{_n(sensitive, 'of these homes', 'of these homes')} would be within the standard "
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
    home = homes(layout) & _in_site(site, layout.buildings.geometry.values)
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
                f"so the walk from the {_n(n_home, 'home')} in the site to a police counter "
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
                f"of the {_n(n_home, 'home')} in the site has a police counter within a "
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
        f"{n_far} of {_n(n_home, 'home')}{place} {'is' if n_far == 1 else 'are'} more than a "
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
# PA003 placement of proposed premises
# --------------------------------------------------------------------------------------------


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


def proposed_premises(layout: Any) -> np.ndarray:
    """Per row of ``layout.police``: is it proposed? Drawn in the proposal (``origin``
    ``proposal``) AND inside the red line. Without a red line nothing is proposed."""
    pol = layout.police
    site = layout.site
    if pol.empty or site is None or site.is_empty:
        return np.zeros(len(pol), dtype=bool)
    proposed = (pol["origin"] == "proposal").to_numpy().copy()
    inside = np.asarray(shapely.intersects(pol.geometry.values, site), dtype=bool)
    inside &= ~np.asarray(shapely.touches(pol.geometry.values, site), dtype=bool)
    return proposed & inside


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
    proposal_rule=True,
)
def premises_placement(site: Site) -> Iterator[Finding | Metric]:
    """Each proposed police premises (drawn in the proposal, inside the red line): is its
    entrance on a well-integrated street, overlooked by other doors, and lit? Without a red
    line nothing is proposed and the rule says nothing."""
    layout = site.layout
    proposed = proposed_premises(layout)
    if not proposed.any():
        return
    pol = layout.police
    rows = pol[proposed]
    names = _names(site)
    pts = np.asarray(rows["access_point"].values, dtype=object)
    missing = np.array([p is None or shapely.is_empty(p) for p in pts], dtype=bool)
    if missing.any():
        pts[missing] = inner_points(rows.geometry.values[missing])
    # integration
    skipped = []
    integ_ok: list[bool | None] = [None] * len(rows)
    integ_val: list[float | None] = [None] * len(rows)
    cut = None
    try:
        seg = site.analysis(_integration_segments)
        vals = seg["integration_800"].to_numpy(float)
        if len(vals) == 0 or not np.isfinite(vals).any():
            # no segment has a defined integration (e.g. no segment reaches another within
            # 800 m): nothing to compare a door against, so the test is skipped, not failed
            skipped.append("integration (undefined on every street segment)")
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
    doors_known = layout.is_complete("entrances", "proposal")
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
    if seen and seen[0] is None:
        skipped.append("overlooking (isovist analysis not available)")
    if not doors_known:
        skipped.append("overlooking (entrances are not complete in the data: doors unknown)")
    # lighting: tagged lit routes beside the entrance, or a lamp near it
    lamps_known = layout.is_complete("lamps", "proposal")
    lamps = layout.lamps.geometry.values
    lit_ok: list[bool | None] = []
    for p in pts:
        near_lamp = bool(len(lamps)) and float(shapely.distance(lamps, p).min()) <= float(
            site.params["lamp_distance_m"]
        )
        lit_tag = None
        if len(routes):
            i = int(np.argmin(shapely.distance(routes, p)))
            lit_tag = str(layout.foot_routes["lit"].iloc[i]).lower()
        if near_lamp or lit_tag in _LIT:
            lit_ok.append(True)
        elif lit_tag == "no" or lamps_known:
            lit_ok.append(False)
        else:
            lit_ok.append(None)  # no lamp mapped, in a partial layer: unknown
    if any(x is None for x in lit_ok):
        skipped.append("lighting (lamps are not complete in the data and no lit=* tag)")
    for i, (_, row) in enumerate(rows.iterrows()):
        problems, rests = [], []
        if integ_ok[i] is False:
            problems.append("its entrance is on a poorly integrated street")
            rests.append("integration_quantile")
        if doors_known and seen[i] is not None and seen[i] < int(site.params["min_overlooking"]):
            problems.append("no other door overlooks its entrance")
            rests += ["overlook_radius_m", "min_overlooking"]
        if lit_ok[i] is False:
            problems.append("its entrance is unlit")
            rests.append("lamp_distance_m")
        if not problems:
            continue
        label = _text(row.get("name"))
        street = _street_of(row.get("tags")) or names.near([pts[i]])[0]
        where = label or (f"on {street}" if street else "in the site")
        yield Finding(
            severity="medium",
            title="Proposed police premises poorly placed",
            message=f"Proposed police premises {where}: " + "; ".join(problems) + ".",
            geometry=pts[i],
            evidence={
                "integration_800": integ_val[i],
                "integration_threshold": cut,
                "overlooking_doors": seen[i] if doors_known else None,
                "lit": lit_ok[i],
                "lighting_method": "route lit=* tag or a lamp within lamp_distance_m (the "
                "illuminance grid is not used)",
                "skipped": skipped,
            },
            rests_on=rests,
            recommendation="Put the entrance on a busy, well-connected street, facing other "
            "front doors, and light it dusk to dawn.",
            features=[row["fid"]],
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
    ped = np.isin(hw, list(FOOT_ONLY)) & ~indoor & _in_site(site, r.geometry.values)
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
            f"the {_n(n_phones, 'mapped emergency phone')} or public-facing police premises"
            if n_phones
            else "any mapped emergency phone or public-facing police premises"
        )
        yield Finding(
            severity="info",
            title="Emergency phones not assessed: the phone data is not complete",
            message=f"{length / 1000:.1f} km of footways and paths in the site "
            f"({_n(n_routes, 'route')}) lie more than {limit:.0f} m on foot from {mapped}. "
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
        f"would bring {_n(gain, 'more home', 'more homes')} within a {_minutes(limit)} walk "
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


RULES = [response_time, walking_access, premises_placement, emergency_phones, best_site]

__all__ = ["POLICE_ACCESS", "RULES", "WALK_PARAMS"]
