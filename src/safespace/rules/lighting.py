"""Built-in lighting rules (``LT``): EN 13201 P classes, dark spots, facial recognition,
routes that must be lit, dusk-to-dawn switching and shaded lamps.

All rules read the shared calculation grid (:func:`~safespace.analyses.lighting_grid.
illuminance_grid`) and the analyses made from it through ``site.shared("lighting", ...)``,
so each is computed once per assessment. The lamp, grid and class assumptions are one
settings group, :data:`LIGHTING`: a profile sets them once under ``[settings.lighting]``,
so every rule (and the report's figures) reads the same grid.

Honest about the data (``docs/data.md``): where the lamp layer is *partial* (an
OpenStreetMap extract) a route no mapped lamp reaches is unknown, not dark — one data-gap
finding per rule area and kind instead of a finding per route; only ``lit=no`` is a
measured fact there. Light from lamps with an assumed photometry, height or flux is
*modelled* (assumptions in ``evidence["assumptions"]``). A finding below only the P class a
profile chose rests on that choice (``rests_on``), whose source is [unverified]; a finding
below every P class does not. Indoor and underground ways get no outdoor lighting finding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace._place import where_unnamed
from safespace.analyses.lighting_grid import (
    GENERIC_NAMES,
    LIT_DUSK_TO_DAWN,
    LIT_PART_NIGHT,
    LIT_UNLIT,
    LOWEST_CLASS,
    P_CLASSES,
    _lamps_partial,
    _route_parts,
    _substrings,
    _tag,
    class_keys,
    entrance_illuminance,
    illuminance_grid,
    indoor_mask,
    lamp_shading,
    layout_lamps,
    required_classes,
    stretch_table,
)
from safespace.findings import Finding, Metric, Score
from safespace.rules.engine import Feed, Param, SettingsGroup, Site, rule

__all__ = ["CLASS_PARAMS", "GRID_PARAMS", "LIGHTING", "LOWEST_CLASS", "P_CLASSES", "RULES"]

EN13201_2 = "EN 13201-2:2015 Road lighting — Performance requirements, P classes [checked]"
EN13201_3 = "EN 13201-3:2015 Road lighting — Calculation of performance [quoted]"
SBD_SWITCHING = (
    "Secured by Design, Sheltered Accommodation 2004: lighting switched automatically dusk to "
    "dawn [checked]"
)
ROMBAUTS = (
    "Rombauts et al. 1989, via Lin & Fotios 2015: Esc ≈ 0.4–0.6 lx identifies a face at 4 m, "
    "≈ 3 lx at 10 m [quoted]"
)
OSM_LIT = "OSM wiki, Key:lit [checked]"
UNVERIFIED = "safespace default, typical practice; no public source found [unverified]"

#: Lamp and grid assumptions, shared by every rule that reads the grid.
GRID_PARAMS: dict[str, Param] = {
    "footway_height_m": Param(5.0, "m", "mounting height of an untagged lamp by a footway/path", UNVERIFIED),
    "street_height_m": Param(6.0, "m", "mounting height of an untagged lamp by a residential/service street", UNVERIFIED),
    "main_road_height_m": Param(8.0, "m", "mounting height of an untagged lamp by a tertiary/secondary road", UNVERIFIED),
    "trunk_road_height_m": Param(10.0, "m", "mounting height of an untagged lamp by a primary/trunk road", UNVERIFIED),
    "footway_lumens": Param(3000.0, "lm", "flux of an untagged generic lamp by a footway", UNVERIFIED),
    "street_lumens": Param(5000.0, "lm", "flux of an untagged generic lamp by a street", UNVERIFIED),
    "main_road_lumens": Param(10000.0, "lm", "flux of an untagged generic lamp by a main road", UNVERIFIED),
    "trunk_road_lumens": Param(15000.0, "lm", "flux of an untagged generic lamp by a trunk road", UNVERIFIED),
    "maintenance_factor": Param(0.8, "ratio", "maintenance factor of an untagged lamp", "common design value, issue 8 [unverified]"),
    "reach_factor": Param(6.0, "ratio", "a lamp lights points within this multiple of its height", UNVERIFIED),
    "tree_occlusion": Param(True, "", "tree crowns (diameter_crown + height) cast shadows", "safespace convention"),
}  # fmt: skip

#: Route classes: which P class each kind of route needs.
CLASS_PARAMS: dict[str, Param] = {
    "footway_class": Param("P4", "", "P class of footways, paths, steps, cycleways", "safespace default per route type; class values " + EN13201_2 + "; the choice " + "[unverified]"),
    "pedestrian_class": Param("P3", "", "P class of pedestrian streets and areas", "[unverified] choice, " + EN13201_2),
    "residential_class": Param("P3", "", "P class of residential, living and unclassified streets", "[unverified] choice, " + EN13201_2),
    "service_class": Param("P4", "", "P class of service roads", "[unverified] choice, " + EN13201_2),
    "main_road_class": Param("P2", "", "P class for pedestrians on tertiary to trunk roads", "[unverified] choice, " + EN13201_2),
    "parking_class": Param("P3", "", "P class of parking areas", "[unverified] choice, " + EN13201_2),
    "stretch_m": Param(50.0, "m", "routes are assessed in stretches of about this length", "safespace convention"),
}  # fmt: skip

#: What each class parameter covers, for messages.
_CLASS_WHAT = {
    "footway_class": "footways, paths, steps and cycleways",
    "pedestrian_class": "pedestrian streets and areas",
    "residential_class": "residential streets",
    "service_class": "service roads",
    "main_road_class": "main roads",
    "parking_class": "parking areas",
}

#: The grid parameters that describe lamps (:func:`layout_lamps` takes them).
LAMP_PARAMS = tuple(k for k in GRID_PARAMS if k not in ("reach_factor", "tree_occlusion"))

_GRID_KW = {k: k for k in GRID_PARAMS}

#: The lamp, grid and class assumptions every grid-reading rule shares: a profile sets them
#: once, under ``[settings.lighting]``, so the rules (and the report) can never read
#: different grids. ``site.shared("lighting")`` is the grid; the other feeds are the light
#: at entrances, the shading of each lamp, the lamps themselves and the stretch table.
LIGHTING = SettingsGroup(
    "lighting",
    {**CLASS_PARAMS, **GRID_PARAMS},
    {
        "grid": Feed(illuminance_grid, _GRID_KW),
        "entrances": Feed(entrance_illuminance, _GRID_KW),
        "shading": Feed(lamp_shading, _GRID_KW),
        "lamps": Feed(layout_lamps, {k: k for k in LAMP_PARAMS}),
        "stretches": Feed(stretch_table, {k: k for k in CLASS_PARAMS}, {"grid": "grid"}),
    },
    description="the lamp defaults, calculation grid and P class of each kind of route",
)
#: The groups the grid-reading rules declare (``settings=``).
SETTINGS = {"lighting": LIGHTING}

REF_LT = [EN13201_2, EN13201_3, "BS 5489-1:2020 (UK selection of classes) [unverified]"]


def _required_class(site: Site, grid) -> np.ndarray:
    """The P class name each grid point needs, from its kind and highway."""
    return required_classes(class_keys(grid), site.params)


def _best_class_met(e_avg: float, e_min: float) -> str | None:
    """The highest (brightest) P class whose Ē and Emin are both met, or None."""
    for name, (avg, low) in P_CLASSES.items():
        if e_avg >= avg - 1e-9 and e_min >= low - 1e-9:
            return name
    return None


def _by_route(sel: pd.DataFrame, extra: list[str] | None = None) -> list[np.ndarray]:
    """Positions of ``sel``'s stretch rows grouped per route (an area is its own group), in
    the table's order: one finding per route (and per ``extra`` column value) instead of one
    per stretch."""
    if sel.empty:
        return []
    keys = ["kind", "fid", "feature"] + list(extra or [])
    idx = sel.reset_index(drop=True).groupby(keys, sort=False, dropna=False)
    return sorted(idx.indices.values(), key=lambda a: a[0])


def _ranges(rows: list) -> str:
    return ", ".join(f"{r.a0:.0f}–{r.a1:.0f} m" for r in rows)


def _multi(rows: list) -> shapely.Geometry:
    return shapely.MultiLineString([r.geometry for r in rows])


# --- names and assumptions -----------------------------------------------------------------

#: Ids that are database keys, not labels a reader knows.
_RAW_ID = re.compile(r"^(?:id/)?(?:node|way|relation|feature)/-?\d+$", re.IGNORECASE)

#: Plain words for route types and areas.
_WORDS = {
    "footway": "footway", "path": "path", "pedestrian": "pedestrian street", "steps": "steps",
    "cycleway": "cycle path", "bridleway": "bridleway", "track": "track",
    "corridor": "passage", "living_street": "street", "service": "service road",
    "residential": "street", "unclassified": "road", "road": "road", "busway": "busway",
    "parking": "parking area", "pedestrian_area": "pedestrian area",
}  # fmt: skip


def _named_routes(layout) -> tuple[shapely.STRtree | None, np.ndarray, np.ndarray]:
    """An index of the named streets and routes: (tree, names, geometries)."""
    parts = [f for f in (layout.streets, layout.foot_routes) if not f.empty and "name" in f]
    if not parts:
        return None, np.empty(0, dtype=object), np.empty(0, dtype=object)
    names = np.concatenate([f["name"].to_numpy(dtype=object) for f in parts])
    geoms = np.concatenate([f.geometry.values for f in parts])
    ok = np.array([_tag(n) is not None for n in names], dtype=bool)
    if not ok.any():
        return None, np.empty(0, dtype=object), np.empty(0, dtype=object)
    return shapely.STRtree(geoms[ok]), names[ok], geoms[ok]


def _near_name(site: Site, geom, exclude: str | None = None, within: float = 30.0) -> str | None:
    """The nearest named street within ``within`` m of ``geom`` (other than ``exclude``)."""
    tree, names, geoms = site.analysis(_named_routes)
    if tree is None or geom is None or geom.is_empty:
        return None
    idx = tree.query(geom, predicate="dwithin", distance=within)
    best, best_d = None, np.inf
    for i in idx:
        nm = str(names[i])
        if nm == exclude:
            continue
        d = float(shapely.distance(geoms[i], geom))
        if d < best_d:
            best, best_d = nm, d
    return best


def _place(site: Site, kind: str, fid: str, name: str | None, highway: str | None, geom) -> str:
    """How a message names a route or area: its street name; a drawn id (``footway fp01``);
    else ``the footway`` beside the nearest named street."""
    name, highway = _tag(name), _tag(highway)
    if name:
        return name
    word = _WORDS.get(kind if kind != "route" else (highway or ""), "road")
    if not _RAW_ID.match(str(fid)):
        return f"{word} {fid}"
    near = _near_name(site, geom)
    if near:
        return f"the {word} by {near}"
    where = where_unnamed(site.layout, geom)
    return f"a {word} {where}" if where else f"a {word}"


def _lx(value: float, digits: int = 1) -> str:
    """A failing illuminance for a message, rounded down so it never reads as the threshold
    it falls short of (1.99 lx is ``1.9``, not ``2.0``)."""
    scale = 10**digits
    return f"{math.floor(float(value) * scale + 1e-9) / scale:.{digits}f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _assumptions(site: Site, rows: list) -> list[str]:
    """The modelling assumptions behind the light on these stretches, as sentences."""
    p = site.params
    out = []
    if any(int(r.ph) > 0 for r in rows):
        out.append(
            "Lamps without a photometry file are modelled with a generic street-light "
            "distribution (safespace built-in)."
        )
    if any(int(r.ht) > 0 for r in rows):
        out.append(
            "Lamps without a tagged height are assumed mounted at "
            f"{p['footway_height_m']:g} m by footways, {p['street_height_m']:g} m by streets, "
            f"{p['main_road_height_m']:g} m by main roads and {p['trunk_road_height_m']:g} m by "
            "trunk roads [unverified]."
        )
    if any(int(r.fx) > 0 for r in rows):
        out.append(
            "Lamps without a tagged flux are assumed to give "
            f"{p['footway_lumens']:g} lm by footways, {p['street_lumens']:g} lm by streets, "
            f"{p['main_road_lumens']:g} lm by main roads and {p['trunk_road_lumens']:g} lm by "
            f"trunk roads, maintenance factor {p['maintenance_factor']:g} [unverified]."
        )
    if any(bool(r.partial) and int(r.lamps) > 0 for r in rows):
        out.append(
            "The lamp data is partial (not every lamp is mapped): lamps that are missing "
            "would add light, so these figures are a lower bound."
        )
    return out


def _lower_bound(rows: list) -> bool:
    """True when every stretch's light comes from a partial lamp layer (and none is tagged
    unlit): unmapped lamps would add light, so a shortfall is not established, only a lower
    bound, and the assessment moderates the finding to advisory (``moderation.py``)."""
    return bool(rows) and all(
        bool(r.partial) and getattr(r, "lit", None) not in LIT_UNLIT for r in rows
    )


def _basis(rows: list) -> str:
    """``measured`` when the verdict rests on measured data for at least one stretch: no
    lamp reaches it (a complete layer, or the route is tagged unlit) or every lamp in reach
    is fully specified; ``modelled`` otherwise."""
    if any(not bool(r.modelled) for r in rows) or any(r.lit in LIT_UNLIT for r in rows):
        return "measured"
    return "modelled"


# --- LT001 ---------------------------------------------------------------------------------


def _p_class_finding(site: Site, rows: list, below_all: bool) -> Finding:
    """The failing stretches (table rows) of one route or area, in one tier: below every P
    class (``below_all``: the verdict does not rest on which class the route was given) or
    below only the class the profile chose for it. One finding, the worst figures."""
    first = rows[0]
    cls, key = first.cls, first.cls_key
    req_avg, req_min = P_CLASSES[cls]
    e_avg = min(float(r.E_avg) for r in rows)
    e_min = min(float(r.E_min) for r in rows)
    is_route = first.kind == "route"
    geometry = _multi(rows) if is_route else first.geometry
    place = _place(site, first.kind, first.fid, first.name, first.highway, geometry)
    if is_route:
        length = float(np.sum([r.length_m for r in rows]))
        where = (
            f"{_cap(place)}, {_ranges(rows)}"
            if len(rows) == 1
            else f"{_cap(place)}: {len(rows)} stretches, {length:.0f} m in all ({_ranges(rows)})"
        )
    else:
        length = None
        where = _cap(place)
    low_avg, low_min = P_CLASSES[LOWEST_CLASS]
    figures = (
        f"average {_lx(e_avg)} lx, minimum {_lx(e_min, 2)} lx"
        if len(rows) == 1
        else f"worst average {_lx(e_avg)} lx, lowest minimum {_lx(e_min, 2)} lx"
    )
    if below_all:
        severity = "high" if e_avg < low_avg - 1e-9 else "medium"
        message = (
            f"{where}: {figures}, below even {LOWEST_CLASS} ({low_avg:g} / {low_min:g} lx), "
            f"the lowest EN 13201-2 P class, so below any class it could be given "
            f"(this profile asks {cls}, {req_avg:g} / {req_min:g} lx)."
        )
        rests_on: list[str] = []
    else:
        severity = "medium"
        met = _best_class_met(e_avg, e_min)
        message = (
            f"{where}: {figures}, below {cls} ({req_avg:g} / {req_min:g} lx), the class this "
            f"profile gives {_CLASS_WHAT[key]}" + (f"; it meets {met}." if met else ".")
        )
        rests_on = [key]
    basis = _basis(rows)
    evidence = {
        "E_avg_lx": round(e_avg, 3),
        "E_min_lx": round(e_min, 3),
        "U0": round(min(float(r.U0) for r in rows), 3),
        "required_class": cls,
        "required_avg_lx": req_avg,
        "required_min_lx": req_min,
        "class_parameter": key,
        "below_every_class": bool(below_all),
        "best_class_met": _best_class_met(e_avg, e_min),
        "length_m": None if length is None else round(length, 1),
        "grid_points": int(sum(int(r.n) for r in rows)),
        "lit_tag": _tag(first.lit),
        "lamps_in_reach": int(max(int(r.lamps) for r in rows)),
        "stretches": [
            {
                "from_m": round(float(r.a0), 1),
                "to_m": round(float(r.a1), 1),
                "E_avg_lx": round(float(r.E_avg), 3),
                "E_min_lx": round(float(r.E_min), 3),
            }
            for r in rows
        ]
        if is_route
        else [],
    }  # fmt: skip
    assumptions = _assumptions(site, rows)
    if assumptions:
        evidence["assumptions"] = assumptions
    if _lower_bound(rows):
        evidence["lower_bound"] = True
    return Finding(
        severity=severity,
        title=f"Lighting below {LOWEST_CLASS if below_all else cls}",
        message=message,
        geometry=geometry,
        evidence=evidence,
        recommendation=(
            f"Add or re-space lamps, raise their output, or remove what shades them, until "
            f"the {'route' if is_route else 'area'} reaches {cls}; confirm with a lighting "
            "design to EN 13201-3 (and the class with BS 5489-1 in the UK)."
        ),
        features=[first.fid],
        basis=basis,
        rests_on=rests_on,
    )


def _gap_geometry(rows: pd.DataFrame) -> shapely.Geometry | None:
    lines = [g for g in rows.loc[rows["kind"] == "route", "geometry"] if g is not None]
    parts = shapely.get_parts(np.array(lines, dtype=object)) if lines else []
    parts = [p for p in parts if p.geom_type == "LineString" and not p.is_empty]
    return shapely.MultiLineString(parts) if parts else None


def _lamp_gap_finding(st: pd.DataFrame, total_m: float) -> Finding | None:
    """One data-gap finding for every stretch and area the mapped lamps do not light in a
    partial lamp layer (no mapped lamp within reach, or part of it unlit by any), untagged
    or tagged lit alike."""
    gap = st[st["gap"]]
    if gap.empty:
        return None
    routes = gap[gap["kind"] == "route"]
    length = float(routes["length_m"].sum())
    none_m = float(routes.loc[routes["gap_no_lamp"], "length_m"].sum())
    areas = gap[gap["kind"] != "route"].drop_duplicates(["kind", "fid"])
    share = length / total_m if total_m > 0 else 0.0
    tagged = float(routes.loc[routes["lit"].isin(LIT_DUSK_TO_DAWN), "length_m"].sum())
    what = []
    if length > 0:
        what.append(
            f"{_km(length)} of the {_km(total_m)} of outdoor route in the site ({100 * share:.0f}%)"
        )
    if len(areas):
        k = len(areas)
        what.append(f"{k} parking or pedestrian area{'s' if k != 1 else ''}")
    detail = []
    if length > 0:
        detail.append(f"{_km(none_m)} of the route has no mapped lamp within reach at all")
    if tagged > 0:
        detail.append(f"{_km(tagged)} is tagged lit, so its lamps are simply not mapped")
    return Finding(
        severity="info",
        title="Street lighting not mapped",
        message=(
            "The mapped street lamps do not light "
            + " or ".join(what)
            + (f" ({'; '.join(detail)})" if detail else "")
            + ". The lamp data is partial, so a lamp that is not mapped is unknown, not "
            "absent: the lighting there cannot be assessed from this data."
        ),
        geometry=_gap_geometry(gap),
        evidence={
            "gap": {
                "kind": "lamps-unmapped",
                "extent": round(length, 1),
                "unit": "m",
                "resolve": "supply the lighting plan: lamp positions, mounting heights and "
                "photometry",
            },
            "length_m": round(length, 1),
            "length_no_lamp_in_reach_m": round(none_m, 1),
            "share_of_route": round(share, 4),
            "length_tagged_lit_m": round(tagged, 1),
            "areas": [str(f) for f in areas["fid"]],
        },
        recommendation="Supply the lighting plan (lamp positions, mounting heights and "
        "photometry), or map the street lamps, and assess again.",
        features=[],
        basis="data-gap",
    )


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


@rule(
    "LT001",
    "Route stretches below their EN 13201 P class",
    "lighting",
    principles=["natural_surveillance"],
    settings=[LIGHTING],
    references=REF_LT,
)
def p_class(site: Site) -> Iterator[Finding | Metric | Score]:
    """Maintained horizontal illuminance on each route stretch (≈ 50 m), pedestrian area and
    parking area against the P class its type needs: Ē and Emin (EN 13201-2). A route's
    failing stretches are one finding per tier (MultiLineString, worst figures, per-stretch
    list): below every P class (rests on no class choice) or below only the class chosen.
    Stretches no mapped lamp reaches in a partial lamp layer are one data-gap finding."""
    st = site.shared("lighting", "stretches")
    if st.empty:
        yield Metric("assessable_share", None, "ratio")
        yield Metric("lit_route_share", None, "ratio")
        yield Score("lighting", None, "no outdoor route or area in the site to assess")
        return
    ok = st[st["assessable"]]
    fail = ok[~ok["meets"]].reset_index(drop=True)
    tuples = list(fail.itertuples())
    for pos in _by_route(fail, ["fails_all"]):
        rows = [tuples[i] for i in pos]
        yield _p_class_finding(site, rows, bool(rows[0].fails_all))
    is_route = st["kind"] == "route"
    all_m = float(st.loc[is_route, "length_m"].sum())
    routes = ok[ok["kind"] == "route"]
    total = float(routes["length_m"].sum())
    met = float(routes.loc[routes["meets"], "length_m"].sum())
    unknown = float(st.loc[st["gap"] & is_route, "length_m"].sum())
    gap = _lamp_gap_finding(st, all_m)
    if gap is not None:
        yield gap
    share = met / total if total > 0 else None
    assessable = total / all_m if all_m > 0 else None
    yield Metric("assessable_share", None if assessable is None else round(assessable, 4), "ratio")
    yield Metric("route_length_m", round(all_m, 1), "m")
    yield Metric("route_length_assessed_m", round(total, 1), "m")
    yield Metric("route_length_meeting_class_m", round(met, 1), "m")
    yield Metric("route_length_lamps_unmapped_m", round(unknown, 1), "m")
    yield Metric("lit_route_share", None if share is None else round(share, 4), "ratio")
    if share is None:
        yield Score(
            "lighting",
            None,
            f"none of the {all_m:.0f} m of route in the site can be assessed: no lamp is "
            "mapped within reach",
            confidence=0.0 if all_m > 0 else None,
        )
        return
    extra = f"; {unknown:.0f} m with no mapped lamp could not be assessed" if unknown else ""
    yield Score(
        "lighting",
        round(100.0 * share, 1),
        f"{met:.0f} m of the {total:.0f} m of assessable route in the site meet their EN 13201 "
        f"P class ({100 * share:.0f}%){extra}.",
        confidence=None if assessable is None else round(assessable, 4),
    )


# --- LT002 ---------------------------------------------------------------------------------


@rule(
    "LT002",
    "Dark spots along routes",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_length_m": Param(6.0, "m", "report dark runs at least this long", UNVERIFIED),
        "long_dark_m": Param(25.0, "m", "a dark run this long is a medium finding", UNVERIFIED),
    },
    settings=[LIGHTING],
    references=REF_LT,
)
def dark_spots(site: Site) -> Iterator[Finding | Metric]:
    """Contiguous stretches of route where the darkest point of every cross-section lies
    below the Emin of the route's P class; reported with their length. Cross-sections no
    mapped lamp reaches in a partial lamp layer (not tagged unlit) are unknown and end a
    run; indoor and underground ways are left out."""
    grid = site.shared("lighting")
    keep = (
        grid["in_site"].to_numpy(dtype=bool)
        & (grid["kind"] == "route").to_numpy()
        & ~grid["indoor"].to_numpy(dtype=bool)
    )
    g = grid[keep]
    if g.empty:
        yield Metric("dark_spot_length_m", 0.0, "m")
        return
    g = g.assign(cls=_required_class(site, g), cls_key=class_keys(g))
    rows = g.groupby(["feature", "part", "along"], sort=True).agg(
        E=("E_h", "min"), lamps=("lamps_in_reach", "max"), cls=("cls", "first"),
        cls_key=("cls_key", "first"), fid=("fid", "first"), lit=("lit", "first"),
        highway=("highway", "first"), origin=("origin", "first"), name=("name", "first"),
        ph=("lamps_assumed_photometry", "max"), ht=("lamps_assumed_height", "max"),
        fx=("lamps_assumed_flux", "max"),
    ).reset_index()  # fmt: skip
    lit = np.array([_tag(v) for v in rows["lit"]], dtype=object)
    partial = _lamps_partial(site.layout, rows["origin"].to_numpy(dtype=object))
    no_lamp = rows["lamps"].to_numpy() == 0
    # in partial data a cross-section no mapped lamp lights is unknown (as in LT001)
    unknown = (no_lamp | (rows["E"].to_numpy() <= 0.0)) & partial & ~np.isin(lit, LIT_UNLIT)
    emin = np.array([P_CLASSES[c][1] for c in rows["cls"]])
    dark = (rows["E"].to_numpy() < emin - 1e-9) & ~unknown
    key = rows["feature"].to_numpy() * 100_000 + rows["part"].to_numpy()
    new_group = np.r_[True, key[1:] != key[:-1]]
    start = dark & (new_group | ~np.r_[False, dark[:-1]])
    run_id = np.cumsum(start) - 1
    total = 0.0
    along = rows["along"].to_numpy()
    e_row = rows["E"].to_numpy(dtype=float)
    # row spacing of each part: cells are equal, the first centre is at spacing / 2
    group_first = np.maximum.accumulate(np.where(new_group, np.arange(key.size), 0))
    runs = run_id[dark]
    dark_idx = np.flatnonzero(dark)
    if dark_idx.size == 0:
        yield Metric("dark_spot_length_m", 0.0, "m")
        return
    # one run per contiguous dark block: first and last row, extent, darkest value
    bounds = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1], True])
    firsts = dark_idx[bounds[:-1]]
    lasts = dark_idx[bounds[1:] - 1]
    spacing = along[group_first[firsts]] * 2
    a0 = along[firsts] - spacing / 2
    a1 = along[lasts] + spacing / 2
    length = a1 - a0
    e_low = np.minimum.reduceat(e_row[dark_idx], bounds[:-1])
    # per run: any lamp in reach, any modelled lamp, any partial row
    lamp_any = np.maximum.reduceat(rows["lamps"].to_numpy()[dark_idx], bounds[:-1]) > 0
    by_run = {
        k: np.maximum.reduceat(rows[k].to_numpy()[dark_idx], bounds[:-1])
        for k in ("ph", "ht", "fx")
    }
    assumed_any = (by_run["ph"] + by_run["ht"] + by_run["fx"]) > 0
    partial_any = np.maximum.reduceat(partial[dark_idx].astype(int), bounds[:-1]) > 0
    keep = np.flatnonzero(length >= site.params["min_length_m"] - 1e-9)
    parts, pfirst = _route_parts(site.layout)
    feat = rows["feature"].to_numpy()
    part_no = rows["part"].to_numpy()
    pid = pfirst[feat[firsts[keep]]] + part_no[firsts[keep]]
    plen = shapely.length(parts[pid])
    geoms = _substrings(parts[pid], np.maximum(a0[keep], 0.0), np.minimum(a1[keep], plen))
    cls_a = rows["cls"].to_numpy(dtype=object)
    key_a = rows["cls_key"].to_numpy(dtype=object)
    hw_a = rows["highway"].to_numpy(dtype=object)
    fid_a = rows["fid"].to_numpy(dtype=object)
    name_a = rows["name"].to_numpy(dtype=object)
    low_min = P_CLASSES[LOWEST_CLASS][1]
    for j, r in enumerate(keep):
        first = firsts[r]
        ln = length[r]
        total += ln
        cls = cls_a[first]
        medium = ln >= site.params["long_dark_m"]
        below_all = e_low[r] < low_min - 1e-9
        rests_on = ["min_length_m"] + (["long_dark_m"] if medium else [])
        if not below_all:
            rests_on.append(str(key_a[first]))
        place = _place(site, "route", fid_a[first], _tag(name_a[first]), hw_a[first], geoms[j])
        modelled = bool(lamp_any[r]) and (bool(assumed_any[r]) or bool(partial_any[r]))
        if lit[first] in LIT_UNLIT:
            modelled = False
        evidence = {
            "length_m": round(float(ln), 1),
            "E_min_lx": round(float(e_low[r]), 3),
            "threshold_lx": P_CLASSES[cls][1],
            "required_class": cls,
            "below_every_class": bool(below_all),
            "lit_tag": lit[first],
        }  # fmt: skip
        if modelled:
            run = _Row(*(int(by_run[k][r]) for k in ("ph", "ht", "fx")), bool(partial_any[r]), 1)
            evidence["assumptions"] = _assumptions(site, [run])
            if _lower_bound([run]):
                evidence["lower_bound"] = True
        yield Finding(
            severity="medium" if medium else "low",
            title="Dark stretch of route",
            message=(
                f"{_cap(place)}: {ln:.0f} m ({a0[r]:.0f}–{a1[r]:.0f} m) where the darkest point "
                f"falls below {P_CLASSES[cls][1]:g} lx, the minimum of {cls}; lowest "
                f"{e_low[r]:.2f} lx."
            ),
            geometry=geoms[j],
            evidence=evidence,
            recommendation="Add a lamp to cover the dark stretch, or remove what shades it.",
            features=[fid_a[first]],
            basis="modelled" if modelled else "measured",
            rests_on=rests_on,
        )
    yield Metric("dark_spot_length_m", round(total, 1), "m")


class _Row:
    """The few stretch fields :func:`_assumptions` reads, for a dark run."""

    def __init__(self, ph: int, ht: int, fx: int, partial: bool, lamps: int):
        self.ph, self.ht, self.fx, self.partial, self.lamps = ph, ht, fx, partial, lamps


# --- LT003 ---------------------------------------------------------------------------------


def _entrance_place(site: Site, fid: str, geom) -> str:
    """``the entrance of Rathaus``, ``entrance e-ha07`` (a drawn id), ``an entrance on
    Hauptstraße``."""
    layout = site.layout
    ent = layout.entrances
    bfid = None
    if not ent.empty and "building_fid" in ent:
        hit = ent.loc[ent["fid"] == fid, "building_fid"]
        bfid = hit.iat[0] if len(hit) else None
    if bfid is not None and not layout.buildings.empty and "name" in layout.buildings:
        nm = layout.buildings.loc[layout.buildings["fid"] == bfid, "name"]
        if len(nm) and _tag(nm.iat[0]):
            return f"the entrance of {_tag(nm.iat[0])}"
    if not _RAW_ID.match(str(fid)):
        return f"entrance {fid}"
    near = _near_name(site, geom)
    return f"an entrance on {near}" if near else "an entrance"


def _face_rows_finding(site: Site, rows: list, thr: float, lower: float) -> Finding:
    first = rows[0]
    avg = min(float(r.Esc_avg) for r in rows)
    low = min(float(r.Esc_min) for r in rows)
    is_route = first.kind == "route"
    geometry = (_multi(rows) if len(rows) > 1 else first.geometry) if is_route else first.geometry
    place = _cap(_place(site, first.kind, first.fid, first.name, first.highway, geometry))
    dark = avg < lower - 1e-9
    if is_route and len(rows) > 1:
        length = float(np.sum([r.length_m for r in rows]))
        where = f"{place}: {len(rows)} stretches, {length:.0f} m in all ({_ranges(rows)}),"
        what = "where semi-cylindrical illuminance averages as little as"
    else:
        length = float(first.length_m) if is_route else None
        where = f"{place}, {_ranges(rows)}:" if is_route else f"{place}:"
        what = "semi-cylindrical illuminance averages"
    band = (
        f"below the {lower:g}–{thr:g} lx at which a face can be recognised at about 4 m"
        if dark
        else f"within the {lower:g}–{thr:g} lx band the source gives for recognising a face "
        "at about 4 m, below its upper end"
    )
    evidence = {
        "Esc_avg_lx": round(avg, 3),
        "Esc_min_lx": round(low, 3),
        "threshold_lx": thr,
        "lower_threshold_lx": lower,
        "length_m": None if length is None else round(length, 1),
        "stretches": [
            {
                "from_m": round(float(r.a0), 1),
                "to_m": round(float(r.a1), 1),
                "Esc_avg_lx": round(float(r.Esc_avg), 3),
                "Esc_min_lx": round(float(r.Esc_min), 3),
            }
            for r in rows
        ]
        if is_route
        else [],
    }  # fmt: skip
    assumptions = _assumptions(site, rows)
    if assumptions:
        evidence["assumptions"] = assumptions
    if _lower_bound(rows):
        evidence["lower_bound"] = True
    return Finding(
        severity="low" if dark else "info",
        title="Faces hard to recognise",
        message=f"{where} {what} {avg:.2f} lx (lowest {low:.2f} lx), {band}.",
        geometry=geometry,
        evidence=evidence,
        recommendation=(
            "Light the route from the side and from both directions (lamps on alternate sides, "
            "or more lamps), so faces are lit, not only the ground."
        ),
        features=[first.fid],
        basis=_basis(rows),
        rests_on=["min_esc_lower_lx"] if dark else ["min_esc_lx"],
    )


def _lamp_assumptions_point(site: Site, row) -> list[str]:
    fake = _Row(
        int(row.lamps_assumed_photometry), int(row.lamps_assumed_height),
        int(row.lamps_assumed_flux), False, int(row.lamps_in_reach),
    )  # fmt: skip
    return _assumptions(site, [fake])


@rule(
    "LT003",
    "Too little light to recognise a face",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_esc_lx": Param(
            0.6,
            "lx",
            "semi-cylindrical illuminance at 1.5 m needed to recognise a face (4 m): the upper "
            "end of the source's band; below it and above min_esc_lower_lx is advisory",
            ROMBAUTS,
        ),
        "min_esc_lower_lx": Param(
            0.4,
            "lx",
            "the lower end of the band: below it a face cannot be recognised at 4 m (low)",
            ROMBAUTS,
        ),
        "check_routes": Param(True, "", "check route stretches", "safespace convention"),
        "check_entrances": Param(True, "", "check building entrances", "safespace convention"),
        "check_parking": Param(True, "", "check parking areas", "safespace convention"),
    },  # fmt: skip
    settings=[LIGHTING],
    references=[ROMBAUTS, EN13201_3, "EN 13201-2 SC classes [unverified]"],
)
def facial_recognition(site: Site) -> Iterator[Finding | Metric]:
    """Semi-cylindrical illuminance E_sc at 1.5 m (the smaller of the two faces along a
    route) against the level at which a face can be recognised: route stretches and parking
    areas by their average, entrances at the door. Below the lower end of the source's band
    (0.4 lx) is a low finding; within the band (0.4–0.6 lx) advisory. A route's failing
    stretches are one finding per band. With partial lamp data, entrances are one data gap
    (door lights are not mapped in OpenStreetMap), and route stretches no mapped lamp
    reaches are LT001's data gap."""
    thr = float(site.params["min_esc_lx"])
    lower = min(float(site.params["min_esc_lower_lx"]), thr)
    st = site.shared("lighting", "stretches")
    n = 0
    if not st.empty:
        want = []
        if site.params["check_routes"]:
            want += ["route", "pedestrian_area"]
        if site.params["check_parking"]:
            want.append("parking")
        sel = st[st["assessable"] & st["kind"].isin(want) & (st["Esc_avg"] < thr)]
        sel = sel.assign(dark=sel["Esc_avg"] < lower - 1e-9).reset_index(drop=True)
        tuples = list(sel.itertuples())
        for pos in _by_route(sel, ["dark"]):
            n += 1
            yield _face_rows_finding(site, [tuples[i] for i in pos], thr, lower)
    if site.params["check_entrances"]:
        ent = site.shared("lighting", "entrances")
        ent = ent[(ent["kind"] == "entrance") & ent["in_site"].astype(bool)]
        partial = _lamps_partial(site.layout, ent["origin"].to_numpy(dtype=object))
        below = ent["E_sc"].to_numpy(dtype=float) < thr
        unknown = ent[partial & below]
        if len(unknown):
            k = len(unknown)
            yield Finding(
                severity="info",
                title="Entrance lighting not mapped",
                message=(
                    f"The light at {k} entrance{'s' if k != 1 else ''} cannot be assessed: door "
                    "lights and most wall lamps are not mapped in OpenStreetMap, and the lamp "
                    "data is partial, so mapped street lamps alone give only a lower bound."
                ),
                geometry=shapely.MultiPoint(list(unknown.geometry.values)),
                evidence={
                    "gap": {
                        "kind": "entrance-lights-unmapped",
                        "extent": k,
                        "unit": "entrances",
                        "resolve": "supply the lighting plan, with the door and wall lights of "
                        "each entrance: positions, mounting heights and photometry",
                    },
                    "entrances": k,
                },
                recommendation="Supply the external lighting plan for the entrances (door "
                "lights with their photometry) and assess again.",
                features=[],
                basis="data-gap",
            )
        for row in ent[~partial & below].itertuples():
            n += 1
            dark = row.E_sc < lower - 1e-9
            modelled = row.lamps_in_reach > 0 and (
                row.lamps_assumed_photometry + row.lamps_assumed_height + row.lamps_assumed_flux > 0
            )
            evidence = {
                "Esc_lx": round(float(row.E_sc), 3),
                "threshold_lx": thr,
                "lower_threshold_lx": lower,
                "lamps_in_reach": int(row.lamps_in_reach),
            }  # fmt: skip
            if modelled:
                evidence["assumptions"] = _lamp_assumptions_point(site, row)
            place = _cap(_entrance_place(site, row.fid, row.geometry))
            yield Finding(
                severity="low" if dark else "info",
                title="Entrance too dark to recognise a face",
                message=(
                    f"{place}: {row.E_sc:.2f} lx semi-cylindrical at 1.5 m on the face of "
                    "someone at the door, "
                    + (
                        f"below the {lower:g}–{thr:g} lx at which a face can be recognised"
                        if dark
                        else f"within the {lower:g}–{thr:g} lx band, below its upper end"
                    )
                    + (" (no lamp within reach)." if row.lamps_in_reach == 0 else ".")
                ),
                geometry=row.geometry,
                evidence=evidence,
                recommendation="Light the entrance: a lamp near the door (dusk to dawn) lighting "
                "the face of a caller.",
                features=[row.fid],
                basis="modelled" if modelled else "measured",
                rests_on=["min_esc_lower_lx"] if dark else ["min_esc_lx"],
            )
    yield Metric("facial_recognition_findings", n)


# --- LT004 ---------------------------------------------------------------------------------


@rule(
    "LT004",
    "Route, parking or police entrance that must be lit is unlit",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "must_light_highways": Param(
            [
                "footway",
                "path",
                "pedestrian",
                "steps",
                "cycleway",
                "living_street",
                "residential",
                "service",
                "unclassified",
            ],
            "",
            "highway types on the site that must be lit (footpaths to dwellings, streets)",
            "SBD residential scenario 5: footpaths lit [checked]; the list is [unverified]",
        ),  # fmt: skip
        "footpath_highways": Param(
            ["footway", "path", "steps"],
            "",
            "the highway types that are footpaths: on these the duty to light rests on SBD, "
            "not on the list above",
            "Secured by Design, residential guide, scenario 5: footpaths lit [checked]",
        ),
        "parking_must_be_lit": Param(
            True, "", "parking areas must be lit", "SBD Homes 2024 [quoted]"
        ),
        "police_entrance_must_be_lit": Param(
            True, "", "public police entrances must be lit", "safespace convention [unverified]"
        ),
    },  # fmt: skip
    settings=[LIGHTING],
    references=[OSM_LIT, "Secured by Design, residential guide, scenario 5 [checked]"],
)
def must_be_lit(site: Site) -> Iterator[Finding | Metric]:
    """Routes of the listed types, parking areas and police public entrances on the site that
    are tagged unlit (``lit=no``/``disused``, measured) or that no lamp reaches. No lamp
    within reach is a finding only where the lamp layer is complete (a drawing): in partial
    data it is a data gap (LT001's, LT003's for entrances). Indoor and underground ways are
    left out."""
    grid = site.shared("lighting")
    must = set(site.params["must_light_highways"])
    footpaths = set(site.params["footpath_highways"])
    g = grid[grid["in_site"].to_numpy(dtype=bool) & ~grid["indoor"].to_numpy(dtype=bool)]
    n = 0
    layout = site.layout
    routes = g[(g["kind"] == "route") & g["highway"].isin(must)]
    # one row per route: its light and lamps; findings only for the failing routes
    per = routes.groupby(["feature", "fid"], sort=True).agg(
        E_avg=("E_h", "mean"), E_min=("E_h", "min"), lamps=("lamps_in_reach", "max")
    ).reset_index()  # fmt: skip
    fr = layout.foot_routes
    feat = per["feature"].to_numpy()
    lit_all = np.array([_tag(v) for v in fr["lit"].to_numpy(dtype=object)[feat]], dtype=object)
    hw_all = fr["highway"].to_numpy(dtype=object)[feat]
    name_all = fr["name"].to_numpy(dtype=object)[feat] if "name" in fr else [None] * len(feat)
    origin = (
        fr["origin"].to_numpy(dtype=object)[feat] if "origin" in fr else ["proposal"] * len(feat)
    )
    partial = _lamps_partial(layout, origin)
    unlit = np.isin(lit_all, LIT_UNLIT)
    no_lamp = per["lamps"].to_numpy() == 0
    fail = np.flatnonzero(unlit | (no_lamp & ~partial))
    geoms = fr.geometry.values[feat[fail]]
    glen = shapely.length(geoms)
    fids = per["fid"].to_numpy(dtype=object)
    e_avg = per["E_avg"].to_numpy(dtype=float)
    e_min = per["E_min"].to_numpy(dtype=float)
    for j, i in enumerate(fail):
        fid, lit, geom = fids[i], lit_all[i], geoms[j]
        place = _place(site, "route", fid, _tag(name_all[i]), hw_all[i], geom)
        rests_on = ["footpath_highways" if hw_all[i] in footpaths else "must_light_highways"]
        n += 1
        if unlit[i]:
            yield Finding(
                severity="high",
                title="Route must be lit but is unlit",
                message=f"{_cap(place)} is tagged lit={lit} (not lit); average "
                f"{e_avg[i]:.1f} lx reaches it from lamps nearby.",
                geometry=geom,
                evidence={
                    "lit_tag": lit,
                    "E_avg_lx": round(float(e_avg[i]), 3),
                    "E_min_lx": round(float(e_min[i]), 3),
                    "length_m": round(float(glen[j]), 1),
                },  # fmt: skip
                recommendation="Light the route dusk to dawn (or close it if it is not needed, "
                "e.g. a footpath behind dwellings).",
                features=[fid],
                basis="measured",
                rests_on=rests_on,
            )
            continue
        tagged_lit = lit in LIT_DUSK_TO_DAWN
        yield Finding(
            severity="low" if tagged_lit else "medium",
            title="Route tagged lit but no lamp drawn" if tagged_lit else "Route has no lamp",
            message=f"{_cap(place)}: no lamp within reach in the drawing"
            + (f" although it is tagged lit={lit}." if tagged_lit else "."),
            geometry=geom,
            evidence={
                "lit_tag": lit,
                "lamps_in_reach": 0,
                "length_m": round(float(glen[j]), 1),
            },
            recommendation="Add the route's lamps to the drawing."
            if tagged_lit
            else "Light the route dusk to dawn.",  # fmt: skip
            features=[fid],
            basis="measured",
            rests_on=rests_on,
        )
    if site.params["parking_must_be_lit"]:
        for (feature, fid), pts in g[g["kind"] == "parking"].groupby(["feature", "fid"]):
            lit = _tag(pts["lit"].iat[0])
            tagged_unlit = lit in LIT_UNLIT
            no_lamp = bool((pts["lamps_in_reach"] == 0).all())
            if not (
                tagged_unlit or (no_lamp and not _lamps_partial(layout, [pts["origin"].iat[0]])[0])
            ):
                continue
            n += 1
            geom = layout.parking.geometry.values[feature]
            place = _cap(_place(site, "parking", fid, _tag(pts["name"].iat[0]), None, geom))
            yield Finding(
                severity="high" if tagged_unlit else "medium",
                title="Parking must be lit but is unlit",
                message=f"{place}: "
                + (f"tagged lit={lit} (not lit)." if tagged_unlit else "no lamp within reach."),
                geometry=geom,
                evidence={"lit_tag": lit, "E_avg_lx": round(float(pts["E_h"].mean()), 3)},
                recommendation="Light the parking dusk to dawn.",
                features=[fid],
                basis="measured",
                rests_on=["parking_must_be_lit"],
            )
    if site.params["police_entrance_must_be_lit"]:
        ent = site.shared("lighting", "entrances")
        pol = ent[(ent["kind"] == "police") & (ent["E_h"] <= 0.0)]
        partial = _lamps_partial(layout, pol["origin"].to_numpy(dtype=object))
        for row in pol[~partial].itertuples():
            n += 1
            name = None
            if not layout.police.empty and "name" in layout.police:
                hit = layout.police.loc[layout.police["fid"] == row.fid, "name"]
                name = _tag(hit.iat[0]) if len(hit) else None
            who = name or (
                f"police premises {row.fid}"
                if not _RAW_ID.match(str(row.fid))
                else "the police premises"
            )
            yield Finding(
                severity="medium",
                title="Police entrance unlit",
                message=f"The public entrance of {who} gets no light from any lamp.",
                geometry=row.geometry,
                evidence={"E_h_lx": 0.0, "lamps_in_reach": int(row.lamps_in_reach)},
                recommendation="Light the approach and entrance of the police premises.",
                features=[row.fid],
                basis="measured",
                rests_on=["police_entrance_must_be_lit"],
            )
    yield Metric("unlit_must_light_findings", n)


# --- LT005 ---------------------------------------------------------------------------------


@rule(
    "LT005",
    "Lighting not on dusk to dawn",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "part_night_values": Param(
            list(LIT_PART_NIGHT), "", "lit= values that are not dusk to dawn", OSM_LIT
        ),
    },  # fmt: skip
    references=[SBD_SWITCHING, OSM_LIT],
)
def dusk_to_dawn(site: Site) -> Iterator[Finding | Metric]:
    """Outdoor routes and parking on the site whose ``lit`` tag says the lights are switched
    off part of the night (``lit=limited``/``interval``): a tagged, measured fact."""
    layout = site.layout
    site_poly = layout.site
    values = set(site.params["part_night_values"])
    n = 0
    for kind, layer in (
        ("route", layout.foot_routes),
        ("parking", layout.parking),
        ("pedestrian_area", layout.pedestrian_areas),
    ):
        if layer.empty:
            continue
        lit = np.array([t.get("lit") for t in layer["tags"]], dtype=object)
        hit = np.isin(lit, list(values)) & ~indoor_mask(layer)
        if site_poly is not None:
            hit &= shapely.intersects(layer.geometry.values, site_poly)
        names = layer["name"].to_numpy(dtype=object) if "name" in layer else [None] * len(layer)
        hws = layer["highway"].to_numpy(dtype=object) if "highway" in layer else [None] * len(layer)
        for i in np.flatnonzero(hit):
            n += 1
            fid = layer["fid"].iat[i]
            geom = layer.geometry.values[i]
            place = _cap(_place(site, kind, fid, _tag(names[i]), _tag(hws[i]), geom))
            yield Finding(
                severity="medium",
                title="Lighting switched off part of the night",
                message=f"{place} is tagged lit={lit[i]}: it is not lit dusk to dawn.",
                geometry=geom,
                evidence={"lit_tag": lit[i]},
                recommendation="Switch the lighting automatically dusk to dawn (photocell).",
                features=[fid],
                basis="measured",
                rests_on=["part_night_values"],
            )
    yield Metric("part_night_lighting_findings", n)


# --- LT006 ---------------------------------------------------------------------------------


@rule(
    "LT006",
    "Lamp light mostly blocked by buildings or trees",
    "lighting",
    principles=["natural_surveillance", "image_and_maintenance"],
    params={
        "max_blocked_share": Param(
            0.5,
            "ratio",
            "report lamps losing more than this share of their ground light",
            UNVERIFIED,
        ),
    },  # fmt: skip
    settings=[LIGHTING],
    references=[EN13201_3],
)
def shaded_lamps(site: Site) -> Iterator[Finding | Metric]:
    """Lamps on the site whose light reaching the ground within reach is mostly blocked by
    buildings (light landing on roofs or cut off by walls) or tree crowns. A lamp whose head
    is inside a tree crown lights nothing whatever the threshold: measured, resting on no
    threshold. Otherwise the share depends on the lamp's photometry and the heights of what
    blocks it (modelled where assumed) and on ``max_blocked_share``."""
    sh = site.shared("lighting", "shading")
    if sh.empty:
        yield Metric("shaded_lamps", 0)
        return
    _, frame = site.shared("lighting", "lamps")
    boundary = site.layout.site
    in_site = shapely.intersects(sh.geometry.values, boundary) if boundary is not None else True
    hit = in_site & (sh["blocked_share"] > site.params["max_blocked_share"]).to_numpy()
    sel = np.flatnonzero(hit)
    b = site.layout.buildings
    heightless = np.zeros(len(sh), dtype=bool)
    if not b.empty and sel.size:
        no_h = ~np.isfinite(b["height_m"].to_numpy(dtype=float))
        if no_h.any():
            tree = shapely.STRtree(b.geometry.values[no_h])
            reach = float(site.params["reach_factor"]) * frame["height_m"].to_numpy(dtype=float)
            li, _ = tree.query(sh.geometry.values[sel], predicate="dwithin", distance=reach[sel])
            heightless[sel[np.unique(li)]] = True
    for i in sel:
        row = sh.iloc[i]
        lamp = frame.iloc[i]
        crown = bool(row["in_crown"])
        why = "its head is inside a tree crown" if crown else "buildings or trees"
        assumptions = []
        if not crown:
            if str(lamp["photometry"]) in GENERIC_NAMES:
                assumptions.append(
                    "The lamp has no photometry file: a generic street-light distribution "
                    "stands in."
                )
            if str(lamp["height_source"]).startswith("default"):
                assumptions.append(
                    f"The lamp's mounting height is assumed ({float(lamp['height_m']):g} m "
                    "for its setting) [unverified]."
                )
            if heightless[i]:
                assumptions.append(
                    "Buildings without a height are taken as taller than any lamp, an "
                    "upper bound on their shade."
                )
        geom = row.geometry
        near = _near_name(site, geom)
        fid = row["fid"]
        where = f"by {near}" if near else where_unnamed(site.layout, geom)
        who = (f"Lamp {fid}" if not _RAW_ID.match(str(fid)) else "A lamp") + (
            f" {where}" if where else ""
        )
        evidence = {
            "blocked_share": round(float(row["blocked_share"]), 3),
            "flux_open_lm": round(float(row["flux_open_lm"]), 1),
            "flux_lm": round(float(row["flux_lm"]), 1),
            "in_crown": crown,
        }  # fmt: skip
        if assumptions:
            evidence["assumptions"] = assumptions
        yield Finding(
            severity="medium",
            title="Lamp mostly blocked",
            message=f"{who}: {100 * row['blocked_share']:.0f}% of its light reaching the "
            f"ground within reach is blocked ({why}).",
            geometry=geom,
            evidence=evidence,
            recommendation="Move the lamp clear of the building or tree, or prune the crown.",
            features=[fid],
            basis="modelled" if assumptions else "measured",
            rests_on=[] if crown else ["max_blocked_share"],
        )
    yield Metric("shaded_lamps", int(len(sel)))


RULES = [p_class, dark_spots, facial_recognition, must_be_lit, dusk_to_dawn, shaded_lamps]
