"""Built-in sightlines rules (``SL``): natural surveillance of routes and parking, blind
bends, underpasses, entrapment spots, dead-end pockets, and planting and boundaries that
block sightlines.

The field rules (SL001, SL004, SL006) read the shared natural-surveillance field
(:func:`~safespace.analyses.surveillance.surveillance_field`) through
``site.shared("surveillance")`` and SL002 the forward visibility
(:func:`~safespace.analyses.forward_visibility.forward_visibility`) through
``site.analysis``, so each is computed once per assessment. The field's parameters
(:data:`FIELD_PARAMS`) are the settings group :data:`SURVEILLANCE`
(``[settings.surveillance]``), which names the field as the analysis it feeds.

Findings are reported for what lies in the site (the boundary, or the layout's extent);
the context (buildings outside it) still observes and blocks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace._classify import FOOT_ONLY, LIT_ON, dwelling_mask
from safespace._place import where_unnamed
from safespace.analyses._visibility import polygon_segments, route_chains
from safespace.analyses.enclosure import enclosing_obstacles, enclosure_share
from safespace.analyses.forward_visibility import STOP_BLOCKED, forward_visibility
from safespace.analyses.recesses import building_recesses
from safespace.analyses.surveillance import GEHL_DISTANCE_SOURCE, surveillance_field
from safespace.findings import Finding, Metric, Score
from safespace.layout import data_extent
from safespace.rules.engine import Feed, Param, SettingsGroup, Site, rule
from safespace.rules.profiles import ASSESSMENT_PARAMS

ISO = "ISO 22341:2021, 5.2: natural surveillance [checked]"
SBD_PLANTING = (
    "Secured by Design interactive guide, residential scenario 8 and education scenario 2: "
    "shrubs ≤ 1 m mature height, tree crowns from 2 m, hedges by parking ≤ 0.5 m [checked]"
)
SBD_FRONT = (
    "Secured by Design interactive guide, residential scenario 3: front boundaries below 1 m "
    "so doors and windows stay visible [checked]"
)
SBD_REAR = (
    "Secured by Design interactive guide, residential scenario 5: footpaths behind dwellings "
    "are not overlooked; avoid them [checked]"
)
SBD_RECESS = (
    "Secured by Design: recesses no deeper than about 600 mm, as quoted by The Crime "
    "Prevention Website, 'Recessed doors in houses and blocks of flats' [quoted]"
)
SBD_PARKING = (
    "Secured by Design Homes 2024: communal parking in small groups, adjacent to homes, in "
    "view of active rooms [quoted]; no distance is given"
)
ADM_CORNERS = (
    "Auckland Design Manual, Design for safety — safe connections: walking routes straight, "
    "visibility increased round corners and set-backs [checked]"
)
AKL_ANNEX6 = (
    "Auckland City District Plan, Central Area, Annex 6 'Visibility' (2004): clear lines of "
    "sight from the beginning of a route to its end, or to a safe junction or change of "
    "direction [quoted]"
)
FIXATION_15M = (
    "Lighting Res. Technol. doi:10.1177/1477153516666132 (abstract): pedestrians tend to "
    "fixate other pedestrians at about 15 m [checked]; its use as a forward-visibility "
    "threshold is safespace's choice [unverified]"
)
UNDERPASS = (
    "Queensland TMR 2020: clear sightlines entrance–middle–exit in underpasses [quoted]; "
    "Dutch veilig-ontwerp-beheer guidance: see the way out [checked]"
)
UNVERIFIED = "safespace default; no public source gives a number [unverified]"
#: ``lit=*`` values that say a way is lit (OSM wiki Key:lit): the one vocabulary.
LIT_VALUES = LIT_ON

PLANTING_SHRUBS = frozenset({"shrub", "scrub", "shrubbery", "hedge"})
TREES = frozenset({"tree", "tree_row"})
BOUNDARY_BARRIERS = frozenset({"wall", "fence", "hedge", "retaining_wall"})

#: Parameters of the surveillance field, shared by SL001, SL004 and SL006.
FIELD_PARAMS: dict[str, Param] = {
    "spacing_m": Param(5.0, "m", "sample spacing along routes and over areas", "safespace convention"),
    "max_distance_m": Param(25.0, "m", "an observer counts within this distance", GEHL_DISTANCE_SOURCE),
    "max_floor": Param(2, "", "highest floor given an observer (0 = ground)", UNVERIFIED),
}  # fmt: skip
#: The field's parameters are one settings group: a profile sets them once, under
#: ``[settings.surveillance]``, so SL001, SL004, SL006 and PM007 always read the same field
#: (``site.shared("surveillance")``).
SURVEILLANCE = SettingsGroup(
    "surveillance",
    FIELD_PARAMS,
    {
        "field": Feed(
            surveillance_field,
            {"spacing_m": "spacing", "max_distance_m": "max_distance", "max_floor": "max_floor"},
        )
    },
    description="the natural-surveillance field (who overlooks each sample of the public realm)",
)
#: The groups the field rules declare (``settings=``).
SETTINGS = {"surveillance": SURVEILLANCE}


def _in_site(site: Site, geoms) -> np.ndarray:
    return shapely.intersects(np.asarray(geoms, dtype=object), site.site_polygon)


def _step_lengths(samples: pd.DataFrame, chains) -> np.ndarray:
    """Route length each route sample stands for: its chain's length / its sample count."""
    k = samples.groupby("chain")["chain"].transform("size").to_numpy(float)
    return chains["length_m"].to_numpy()[samples["chain"].to_numpy()] / k


def _runs(samples: pd.DataFrame, flag: np.ndarray) -> list[tuple[int, float, float, np.ndarray]]:
    """Contiguous runs of flagged route samples on each chain.

    ``samples`` must be sorted by chain then position. Returns ``(chain, start_m, end_m,
    rows)``: the run reaches half-way to the neighbouring samples (to the chain's ends when
    the run starts or ends there).
    """
    chain = samples["chain"].to_numpy()
    pos = samples["position_m"].to_numpy(float)
    length = samples["chain_length"].to_numpy(float)
    n = len(chain)
    if n == 0 or not flag.any():
        return []
    new_chain = np.r_[True, chain[1:] != chain[:-1]]
    last_of_chain = np.r_[chain[1:] != chain[:-1], True]
    start = flag & (new_chain | ~np.r_[False, flag[:-1]])
    end = flag & (last_of_chain | ~np.r_[flag[1:], False])
    runs = []
    for a, b in zip(np.flatnonzero(start), np.flatnonzero(end), strict=True):
        s0 = 0.0 if new_chain[a] else 0.5 * (pos[a - 1] + pos[a])
        s1 = length[b] if last_of_chain[b] else 0.5 * (pos[b] + pos[b + 1])
        runs.append((int(chain[a]), s0, s1, np.arange(a, b + 1)))
    return runs


def _route_frame(site: Site, frame, chains) -> pd.DataFrame:
    """Route samples, sorted, with the chain length and whether they lie in the site."""
    r = frame[frame["kind"] == "route"].sort_values(["chain", "position_m"]).copy()
    r["chain_length"] = chains["length_m"].to_numpy()[r["chain"].to_numpy()]
    r["in_site"] = _in_site(site, r.geometry.values)
    return r


def _fmt(fids) -> str:
    fids = list(fids)
    return ", ".join(fids[:4]) + (f" and {len(fids) - 4} more" if len(fids) > 4 else "")


# --- shared honesty helpers (also used by the PM rules) -------------------------------------

#: Plain words for route types, for unnamed routes.
_ROUTE_WORDS = {
    "footway": "footway", "path": "path", "pedestrian": "pedestrian street", "steps": "flight of steps",
    "cycleway": "cycle path", "bridleway": "bridleway", "track": "track",
    "corridor": "passage", "service": "service road", "living_street": "street",
    "residential": "street",
}  # fmt: skip


def _known(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text if text and text.lower() not in ("nan", "none") else None


def _is_label(fid) -> bool:
    """A drawn proposal's own feature label (``fp01``), not a database id (``way/12``)."""
    return "/" not in str(fid)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 home``, ``2 homes``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def join_words(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    if len(words) > 3:
        words = words[:3] + [f"{len(words) - 3} more"]
    return ", ".join(words[:-1]) + " and " + words[-1]


def route_place(layout, fids, geom=None) -> str:
    """Name routes in words: their street names, a drawn plan's labels, else what they are
    (``an unnamed footway``). Never a raw OSM id."""
    names, kinds, geoms = [], [], []
    for frame in (layout.foot_routes, layout.streets):
        if frame.empty:
            continue
        sel = frame[frame["fid"].isin(list(fids)).to_numpy()]
        geoms.extend(sel.geometry.values)
        for r in sel.itertuples():
            name = _known(r.name)
            if name:
                names.append(name)
            elif _is_label(r.fid):
                names.append(str(r.fid))
            else:
                kinds.append(_ROUTE_WORDS.get(_known(r.highway) or "", "route"))
    if names:
        return join_words(names)
    at = shapely.union_all(geoms) if geoms else geom  # ``geom``: where the finding is
    where = where_unnamed(layout, at) if at is not None else ""
    # the commonest kind; a tie goes to the first in the layers' order, never to the order
    # of a set (which changes with the interpreter's string hashing from run to run)
    kind = max(dict.fromkeys(kinds), key=kinds.count) if kinds else "route"
    return f"an unnamed {kind} {where}".strip()


def building_place(layout, fids, noun: str = "building") -> str:
    """Name buildings in words: their names or a drawn plan's labels, else a count."""
    fids = list(dict.fromkeys(fids))
    b = layout.buildings
    names = []
    if not b.empty:
        sel = b[b["fid"].isin(fids).to_numpy()]
        for r in sel.itertuples():
            name = _known(r.name)
            if name:
                names.append(name)
            elif _is_label(r.fid):
                names.append(str(r.fid))
    if names and len(names) == len(fids):
        return join_words(names)
    return plural(len(fids), noun)


def indoor_of(frame) -> np.ndarray:
    """The route layer's ``indoor`` column (:func:`safespace._classify.is_indoor`)."""
    if "indoor" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["indoor"].fillna(False).to_numpy(dtype=bool)


def dwelling_fids(layout) -> set:
    """The fids of the buildings that are homes (:func:`safespace._classify.dwelling_mask`)."""
    b = layout.buildings
    return set(b["fid"].to_numpy(dtype=object)[dwelling_mask(layout)]) if len(b) else set()


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


def edge_margin(site: Site) -> float:
    """The profile's ``[assessment] edge_margin_m`` (its default when the engine does not
    hand the assessment table to the rules)."""
    table = getattr(site, "assessment", None) or {}
    return float(table.get("edge_margin_m", ASSESSMENT_PARAMS["edge_margin_m"].default))


def data_core(site: Site):
    """The data extent less the edge margin: where what lies around a place is known."""
    extent = site.analysis(data_extent)
    margin = edge_margin(site)
    return extent if margin <= 0 or extent.is_empty else shapely.buffer(extent, -margin)


def assessable_region(site: Site, layer: str = "foot_routes"):
    """Where a layer's subject can be assessed from the data: the data core, plus the whole
    proposal when the layer is complete there (a drawing describes its site to the edge)."""
    region = data_core(site)
    if site.layout.is_complete(layer, "proposal"):
        region = shapely.union(region, site.site_polygon)
    return region


def near_data_edge(site: Site, points, origins=None, layer: str = "foot_routes") -> np.ndarray:
    """Per point: within the edge margin of where the data stops, in a partial layer (a
    complete, drawn layer describes its site to the edge: nothing is cut there)."""
    pts = np.asarray(points, dtype=object)
    if len(pts) == 0:
        return np.zeros(0, dtype=bool)
    origins = ["proposal"] * len(pts) if origins is None else list(origins)
    partial = ~site.layout.complete_mask(layer, origins)
    if not partial.any():
        return np.zeros(len(pts), dtype=bool)
    extent = site.analysis(data_extent)
    if extent.is_empty:
        return partial
    ring = shapely.boundary(extent)
    return partial & (shapely.distance(pts, ring) <= edge_margin(site))


def overlook_assumptions(site: Site, geom, distance: float, origin: str = "proposal") -> list[str]:
    """The defaults that stood in when judging who overlooks ``geom`` (empty: none)."""
    lay = site.layout
    out = []
    b = lay.buildings
    if not b.empty:
        near = b[shapely.dwithin(b.geometry.values, geom, distance)]
        if len(near):
            h = near["height_m"].to_numpy(float)
            lv = near["levels"].to_numpy(float)
            from_levels = int(np.count_nonzero(np.isnan(h) & ~np.isnan(lv)))
            unknown = int(np.count_nonzero(np.isnan(h) & np.isnan(lv)))
            if from_levels:
                out.append(
                    f"The height of {plural(from_levels, 'nearby building')} is taken as "
                    "3 m per tagged storey."
                )
            if unknown:
                out.append(
                    f"{plural(unknown, 'nearby building')} of unknown height "
                    f"{'is' if unknown == 1 else 'are'} taken to block every sight line, with "
                    "observers on the ground floor only."
                )
    if not lay.is_complete("entrances", origin):
        out.append(
            "Entrances are partly mapped: a building with no mapped entrance is taken to "
            "overlook from every wall."
        )
    return out


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
    for chain, s0, s1, rows in _runs(r, zero):
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
                f"{length:.0f} m of {route_place(site.layout, fids)} is overlooked by no "
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
    for chain, s0, s1, rows in _runs(r, blind):
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
                f"On {route_place(site.layout, fids)} a walker sees only {worst:.1f} m of the "
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
        insite = _in_site(site, deep["geometry"].to_numpy())
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
                    f"{building_place(layout, row.buildings, 'building')} opens onto "
                    f"{route_place(layout, routes, row.geometry)}: deeper than "
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
                    f"{route_place(site.layout, [row.fid])} ends in a dead end that no building "
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
                        f"From one end of the passage on {route_place(site.layout, names)} "
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
        name = _known(row.get("name"))
        label = name or (str(fid) if _is_label(fid) else None)
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
                f"{'The car park ' + label if label else 'A car park ' + where_unnamed(lay, geom)}"
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


# --- SL007 ---------------------------------------------------------------------------------


def _route_edge_distance(geoms, routes) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each geometry to the nearest route's edge (centreline minus half its
    width, width 0 when untagged) and that route's row. O(n log m)."""
    tree = shapely.STRtree(routes.geometry.values)
    gi, ri = tree.query_nearest(geoms, all_matches=False, return_distance=False)
    d = shapely.distance(geoms[gi], routes.geometry.values[ri])
    half = np.nan_to_num(routes["width_m"].to_numpy(float)[ri], nan=0.0) / 2
    out = np.full(len(geoms), np.inf)
    row = np.full(len(geoms), -1)
    out[gi] = np.maximum(d - half, 0.0)
    row[gi] = ri
    return out, row


@rule(
    "SL007",
    "Planting that blocks sightlines beside routes and parking",
    "sightlines",
    principles=["natural_surveillance"],
    params={
        "shrub_max_m": Param(
            1.0, "m", "shrubs and hedges beside routes no taller than this", SBD_PLANTING
        ),
        "crown_min_m": Param(
            2.0, "m", "tree crowns beside routes start no lower than this", SBD_PLANTING
        ),
        "parking_hedge_max_m": Param(
            0.5, "m", "hedges by parking no taller than this", SBD_PLANTING
        ),
        "route_distance_m": Param(
            2.0, "m", "planting within this of a route's edge is beside it", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_PLANTING],
)
def blocking_planting(site: Site) -> Iterator[Finding | Metric]:
    """Shrubs and hedges taller than the limit, and tree crowns lower than the limit, beside
    foot routes; hedges taller than the parking limit beside parking. Only tagged heights
    are judged (``height``, ``safespace:crown_base``)."""
    p = site.params
    lay = site.layout
    items = []  # (fid, kind, geometry, height, crown_base, crown_radius)
    pl = lay.planting
    if not pl.empty:
        for r in pl.itertuples():
            kind = r.natural
            radius = 0.0
            if kind in TREES:
                try:
                    radius = float(str(r.tags.get("diameter_crown", "")).split()[0]) / 2
                except (ValueError, IndexError):
                    radius = 0.0
            items.append((r.fid, kind, r.geometry, r.height_m, r.crown_base_m, radius))
    br = lay.barriers
    if not br.empty:
        for r in br[br["barrier"] == "hedge"].itertuples():
            items.append((r.fid, "hedge", r.geometry, r.height_m, np.nan, 0.0))
    count = 0
    unknown = 0
    if items and not lay.foot_routes.empty:
        df = pd.DataFrame(items, columns=["fid", "kind", "geometry", "h", "crown", "radius"])
        geoms = df["geometry"].to_numpy()
        d_route, ri = _route_edge_distance(geoms, lay.foot_routes)
        d_route = np.maximum(d_route - df["radius"].to_numpy(float), 0.0)
        d_park = np.full(len(df), np.inf)
        if not lay.parking.empty:
            d_park = shapely.distance(geoms, shapely.union_all(lay.parking.geometry.values))
        insite = _in_site(site, geoms)
        near = float(p["route_distance_m"])
        for i, row in df.iterrows():
            if not insite[i]:
                continue
            shrub = row.kind in PLANTING_SHRUBS
            tree = row.kind in TREES
            by_route = d_route[i] <= near
            by_park = d_park[i] <= near
            problem = None
            if shrub and by_park and row.h > p["parking_hedge_max_m"]:
                problem = ("height_m", row.h, p["parking_hedge_max_m"], "parking")
            elif shrub and by_route and row.h > p["shrub_max_m"]:
                problem = ("height_m", row.h, p["shrub_max_m"], "route")
            elif tree and (by_route or by_park) and row.crown < p["crown_min_m"]:
                problem = ("crown_base_m", row.crown, p["crown_min_m"], "route")
            elif (by_route or by_park) and (
                (shrub and np.isnan(row.h)) or (tree and np.isnan(row.crown))
            ):
                unknown += 1
            if problem is None:
                continue
            key, value, limit, where = problem
            count += 1
            route = lay.foot_routes["fid"].iloc[ri[i]] if ri[i] >= 0 else None
            beside = "parking" if where == "parking" else route_place(lay, [route])
            label = f" {row.fid}" if _is_label(row.fid) else ""
            if key == "height_m":
                what = f"a {row.kind}{label} is {value:g} m tall"
                rule_text = f"over the {limit:g} m limit"
                fix = f"Keep it trimmed to {limit:g} m or below, or replace it with low planting."
            else:
                what = f"a tree{label} has its crown from {value:g} m"
                rule_text = f"below the {limit:g} m minimum"
                fix = f"Crown-lift the tree to {limit:g} m or more (clear stem), or move it."
            yield Finding(
                severity="medium",
                title="Planting blocks sightlines",
                message=f"Beside {beside}, {what}, {rule_text}: it hides people and paths.",
                geometry=row.geometry,
                basis="measured",
                rests_on=[
                    {"parking": "parking_hedge_max_m", "route": "shrub_max_m"}[where]
                    if key == "height_m"
                    else "crown_min_m",
                    "route_distance_m",
                ],
                evidence={
                    key: float(value),
                    "limit_m": float(limit),
                    "distance_to_route_edge_m": None
                    if np.isinf(d_route[i])
                    else round(float(d_route[i]), 2),
                    "beside": where,
                },
                recommendation=fix + " Specify it in the landscape management plan.",
                features=[row.fid] + ([route] if route else []),
            )
    yield Metric("blocking_planting", count)
    yield Metric("planting_height_unknown_by_routes", unknown)


# --- SL008 ---------------------------------------------------------------------------------


@rule(
    "SL008",
    "High front boundaries",
    "sightlines",
    proposal_rule=True,
    principles=["natural_surveillance", "territorial_reinforcement"],
    params={
        "max_height_m": Param(1.0, "m", "front boundaries no taller than this", SBD_FRONT),
        "max_front_depth_m": Param(
            30.0, "m", "a front faces a route within this distance", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_FRONT],
)
def front_boundaries(site: Site) -> Iterator[Finding | Metric]:
    """Walls, fences and hedges taller than the limit between a dwelling's front (its
    entrance wall) and the street or path it faces, which hide the door and windows."""
    p = site.params
    lay = site.layout
    count = 0
    br = lay.barriers
    ent = lay.entrances
    routes = lay.foot_routes
    if br.empty or ent.empty or routes.empty or lay.buildings.empty:
        yield Metric("high_front_boundaries", 0)
        return
    high = br[
        br["barrier"].isin(BOUNDARY_BARRIERS).to_numpy()
        & (br["height_m"] > p["max_height_m"]).to_numpy()
    ]
    b = lay.buildings
    homes_all = dwelling_fids(lay)
    e = ent[ent["building_fid"].isin(homes_all).to_numpy()]
    if high.empty or e.empty:
        yield Metric("high_front_boundaries", 0)
        return
    pos = {f: i for i, f in enumerate(b["fid"])}
    seg, owner = polygon_segments(b.geometry.values)
    zones, dwell = [], []
    ei, ri = shapely.STRtree(routes.geometry.values).query_nearest(
        e.geometry.values, max_distance=float(p["max_front_depth_m"]), all_matches=False
    )
    nearest_route = dict(zip(ei.tolist(), ri.tolist(), strict=True))
    for k, r in enumerate(e.itertuples()):  # one front zone per dwelling entrance (few)
        if k not in nearest_route:
            continue
        bi = pos[r.building_fid]
        own = np.flatnonzero(owner == bi)
        ex, ey = r.geometry.x, r.geometry.y
        sg = seg[own]
        ab = sg[:, 2:] - sg[:, :2]
        t = np.clip(
            ((ex - sg[:, 0]) * ab[:, 0] + (ey - sg[:, 1]) * ab[:, 1]) / (ab**2).sum(1), 0, 1
        )
        dd = np.hypot(sg[:, 0] + t * ab[:, 0] - ex, sg[:, 1] + t * ab[:, 1] - ey)
        w = sg[int(np.argmin(dd))]
        a, c = np.array(w[:2]), np.array(w[2:])
        wall_len = float(np.hypot(*(c - a)))
        if wall_len > 1.0:  # the middle of the front wall: side fences at its ends are not fronts
            u = (c - a) / wall_len
            a, c = a + 0.5 * u, c - 0.5 * u
        rr = [nearest_route[k]]
        road = routes.geometry.values[rr[0]]
        pa = road.interpolate(road.project(shapely.Point(a)))
        pc = road.interpolate(road.project(shapely.Point(c)))
        zones.append(shapely.MultiPoint([a, c, pa.coords[0], pc.coords[0]]).convex_hull)
        dwell.append((r.building_fid, routes["fid"].iloc[rr[0]]))
    if not zones:
        yield Metric("high_front_boundaries", 0)
        return
    zi, bi = shapely.STRtree(np.array(zones, dtype=object)).query(
        high.geometry.values, predicate="intersects"
    )[::-1]
    hits: dict[int, list[int]] = {}
    for z, k in zip(zi, bi, strict=True):
        piece = high.geometry.values[k].intersection(zones[z])
        if piece.length > 0.5 or piece.area > 0.25:
            hits.setdefault(int(k), []).append(int(z))
    for k, zs in sorted(hits.items()):
        row = high.iloc[k]
        if not shapely.intersects(row.geometry, site.site_polygon):
            continue
        count += 1
        homes = sorted({dwell[z][0] for z in zs})
        streets = sorted({dwell[z][1] for z in zs})
        yield Finding(
            severity="medium",
            title="High front boundary",
            message=(
                f"A {row.barrier.replace('_', ' ')}"
                f"{' ' + str(row.fid) if _is_label(row.fid) else ''} ({row.height_m:g} m) stands "
                f"between the front of {building_place(lay, homes, 'home')} and "
                f"{route_place(lay, streets)}: above {p['max_height_m']:g} m it hides the door "
                "and ground-floor windows from the street, and the street from them."
            ),
            geometry=row.geometry,
            basis="measured",
            rests_on=["max_height_m"],
            evidence={
                "height_m": float(row.height_m),
                "max_height_m": p["max_height_m"],
                "barrier": row.barrier,
                "dwellings": homes,
                "faces": streets,
            },
            recommendation=(
                f"Lower the front boundary to {p['max_height_m']:g} m or less (a low wall, "
                "railings or a low hedge); keep taller boundaries (1.8 m) to rear and side gardens."
            ),
            features=[row.fid] + homes,
        )
    yield Metric("high_front_boundaries", count)


RULES = [
    unobserved_stretches,
    blind_bends,
    recess_spots,
    dead_end_pockets,
    passage_exit,
    parking_overlooked,
    blocking_planting,
    front_boundaries,
]

__all__ = ["FIELD_PARAMS", "RULES", "SETTINGS", "SURVEILLANCE"]
