"""What the police access rules share: their sources, the walking settings group, naming
places in words (never raw ids) and the pieces of their data-gap notes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from safespace._classify import LIT_ON
from safespace._geom import line_substrings
from safespace._place import plural
from safespace.analyses.named_routes import NamedWays, named_ways, way_name
from safespace.analyses.network import DRIVE_SPEED_KMH
from safespace.analyses.siting import siting
from safespace.analyses.travel_time import (
    WALK_SPEED_MPS,
    access_field,
    homes,
)
from safespace.findings import Finding
from safespace.rules._common import in_site
from safespace.rules.engine import Feed, Param, SettingsGroup, Site

if TYPE_CHECKING:
    from safespace.layout import Layout

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


def _listing(names: Sequence[str], more_word: str = "other", limit: int = 3) -> str:
    """``A``, ``A and B``, ``A, B and C``, ``A, B, C and 4 others``."""
    names = list(names)
    if len(names) <= limit:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    rest = len(names) - limit
    return ", ".join(names[:limit]) + f" and {rest} {more_word}{'s' if rest != 1 else ''}"


def _names(site: Site) -> NamedWays:
    return site.analysis(named_ways)


def _street_of(tags: Any) -> str | None:
    return way_name(tags.get("addr:street")) if isinstance(tags, dict) else None


def _premises_label(layout: Layout, fid: str, names: NamedWays) -> str:
    """``Polizeirevier Heidelberg-Mitte``, or ``the police premises on Mill Lane``."""
    pol = layout.police
    row = pol[pol["fid"].astype(str) == str(fid)]
    if not row.empty:
        r = row.iloc[0]
        nm = way_name(r.get("name"))
        if nm:
            return nm
        street = _street_of(r.get("tags")) or names.near([r.geometry])[0]
        if street:
            return f"the police premises on {street}"
    return "the police premises"


def _homes_place(layout: Layout, rows: np.ndarray, names: NamedWays) -> str:
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


def _route_label(layout: Layout, idx: int, names: NamedWays) -> str:
    """``Orchard Walk``, ``the footway beside Mill Lane``, ``the footway between A and B``."""
    routes = layout.foot_routes
    row = routes.iloc[idx]
    nm = way_name(row.get("name"))
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


def _routes_place(layout: Layout, route_rows: Sequence[int], names: NamedWays) -> str:
    """`` on Orchard Walk, the footway beside Mill Lane and 2 other routes`` (or "")."""
    labels = sorted({_route_label(layout, int(i), names) for i in route_rows})
    named = [x for x in labels if not x.startswith("an unnamed")]
    if not named:
        return ""
    rest = len(set(route_rows)) - len(named)
    head = _listing(named, "other route")
    return " on " + head + (f" (and {plural(rest, 'unnamed route')})" if rest > 0 else "")


# --------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds % 60 == 0 else f"{seconds / 60:.1f} min"


def _share(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


def premises_known(layout: Layout) -> bool:
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
    return homes(site.layout) & in_site(site, b.geometry.values)


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
        subject.append(plural(n_homes, "home"))
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
    lines = line_substrings(geoms, np.maximum(along - half, 0), along + half)
    return shapely.line_merge(shapely.union_all(lines))


def _premises_names(layout: Layout, fids: Sequence[Any], names: NamedWays) -> list[str]:
    seen: dict[str, None] = {}
    for f in fids:
        if f is not None:
            seen[_premises_label(layout, str(f), names)] = None
    return list(seen)


def proposed_premises(layout: Layout) -> np.ndarray:
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
