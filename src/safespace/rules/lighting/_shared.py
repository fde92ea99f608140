"""What the lighting rules share: their sources, the lighting settings group, P class
helpers, naming routes and areas in words, and the assumptions behind modelled light."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import shapely

from safespace._classify import LIT_UNLIT, tag_text
from safespace.analyses.lamp_inputs import layout_lamps
from safespace.analyses.lighting_grid import entrance_illuminance, illuminance_grid, lamp_shading
from safespace.analyses.lighting_stretches import (
    P_CLASSES,
    class_keys,
    required_classes,
    stretch_table,
)
from safespace.analyses.named_routes import named_route_index
from safespace.rules._common import where_unnamed
from safespace.rules.engine import Feed, Param, SettingsGroup, Site

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


def _near_name(site: Site, geom, exclude: str | None = None, within: float = 30.0) -> str | None:
    """The nearest named street within ``within`` m of ``geom`` (other than ``exclude``)."""
    tree, names, geoms = site.analysis(named_route_index)
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
    name, highway = tag_text(name), tag_text(highway)
    if name:
        return name
    word = _WORDS.get(kind if kind != "route" else (highway or ""), "road")
    if not _RAW_ID.match(str(fid)):
        return f"{word} {fid}"
    near = _near_name(site, geom)
    if near:
        return f"the {word} by {near}"
    where = where_unnamed(site, geom)
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


class _Row:
    """The few stretch fields :func:`_assumptions` reads, for a dark run."""

    def __init__(self, ph: int, ht: int, fx: int, partial: bool, lamps: int):
        self.ph, self.ht, self.fx, self.partial, self.lamps = ph, ht, fx, partial, lamps
