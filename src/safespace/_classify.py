"""The tag vocabulary: sort raw features into a Layout's layers, with typed columns.

This is the one place that reads OSM tags to decide what a feature is. Readers only
produce raw features; rules only read layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace._units import is_yes, parse_length, parse_number, parse_speed

if TYPE_CHECKING:
    from safespace.layout import Layout

VEHICULAR = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "service",
        "living_street",
        "road",
        "busway",
    }
)
FOOT_ONLY = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "cycleway",
        "track",
        "bridleway",
        "corridor",
    }
)
# building=* values that are homes by themselves (OSM wiki Key:building, "Accommodation").
RESIDENTIAL_BUILDINGS = frozenset(
    {
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "apartments",
        "residential",
        "bungalow",
        "dormitory",
        "farm",
        "houseboat",
        "static_caravan",
        "cabin",
    }
)
#: The one dwelling vocabulary: the ``building=*`` values that say "home". ``building=yes``
#: is NOT among them: an untyped building is a home only with residential evidence (see
#: :func:`is_dwelling`), so a high street of untyped shops is not read as rows of houses.
DWELLINGS = RESIDENTIAL_BUILDINGS
#: ``lit=*`` values (OSM wiki Key:lit [checked]): lit dusk to dawn, lit for part of the night,
#: not lit. ``sunset-sunrise`` is the opening-hours form of dusk to dawn.
LIT_DUSK_TO_DAWN = ("yes", "24/7", "automatic", "sunset-sunrise", "dusk-dawn")
LIT_PART_NIGHT = ("limited", "interval")
LIT_UNLIT = ("no", "disused")
#: Values that say a way is lit at all (dusk to dawn or part of the night).
LIT_ON = frozenset(LIT_DUSK_TO_DAWN + LIT_PART_NIGHT)
#: ``building:use=*`` values that make any building a home.
RESIDENTIAL_USES = frozenset({"residential", "apartments", "house", "dwelling"})
#: Entrance values that belong to a home (OSM wiki Key:entrance: ``entrance=home``).
HOME_ENTRANCES = frozenset({"home"})
#: ``location=*`` values of ways that are not out in the open.
INDOOR_LOCATIONS = frozenset({"underground", "indoor"})
NO_FOOT_BY_DEFAULT = frozenset({"motorway", "motorway_link", "busway"})
PLANTING = frozenset({"tree", "tree_row", "shrub", "scrub", "shrubbery"})
# police=* subtypes a member of the public cannot walk into for help (OSM wiki Key:police).
NOT_PUBLIC_FACING = frozenset(
    {
        "barracks",
        "car_pound",
        "car_repair",
        "detention",
        "dog_unit",
        "horse",
        "naval_base",
        "range",
        "storage",
        "training_area",
        "checkpoint",
        "academy",
    }
)

LAYERS: tuple[str, ...] = (
    "buildings",
    "entrances",
    "streets",
    "foot_routes",
    "pedestrian_areas",
    "lamps",
    "police",
    "emergency_phones",
    "boundary",
    "planting",
    "barriers",
    "parking",
)

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_LINEAR = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)
_POINT = (shapely.GeometryType.POINT,)


def _text(tags: dict, key: str) -> str | None:
    value = tags.get(key)
    return None if value is None or value == "" else str(value)


def _foot_allowed(tags: dict) -> bool:
    foot = (tags.get("foot") or "").lower()
    if foot in ("no", "private", "use_sidepath"):
        return False
    if foot in ("yes", "designated", "permissive"):
        return True
    access = (tags.get("access") or "").lower()
    if access in ("no", "private"):
        return False
    highway = tags.get("highway")
    if highway in NO_FOOT_BY_DEFAULT:
        return False
    if highway == "cycleway" and foot == "":
        return True  # most jurisdictions allow walking on cycleways unless foot=no
    return True


def _is_site(tags: dict) -> bool:
    return tags.get("safespace:role") == "site"


def is_dwelling(tags: dict) -> bool:
    """Whether a building's own tags say it holds homes.

    Evidence, any of: ``building`` in :data:`DWELLINGS` (house, residential, apartments,
    terrace, detached, semidetached_house, ...); ``building:use`` in
    :data:`RESIDENTIAL_USES`; a ``residential=*`` tag (``residential=rural``, ...). An address
    and ``building:levels`` are not evidence: shops and offices have them too. An entrance
    tagged ``entrance=home`` is evidence as well, but it lives on another feature: see
    :func:`dwelling_mask`.
    """
    building = str(tags.get("building") or "").strip().lower()
    if building in DWELLINGS:
        return True
    use = str(tags.get("building:use") or "").strip().lower()
    if use in RESIDENTIAL_USES:
        return True
    residential = str(tags.get("residential") or "").strip().lower()
    return residential not in ("", "no")


def dwelling_mask(layout: Layout) -> np.ndarray:
    """Per row of ``layout.buildings``: is it a home (:func:`is_dwelling`, or an entrance
    tagged ``entrance=home`` on it)? O(B + E)."""
    b = layout.buildings
    if b.empty:
        return np.zeros(0, dtype=bool)
    if "dwelling" in b.columns:
        out = b["dwelling"].fillna(False).to_numpy(dtype=bool)
    else:
        tags = b["tags"] if "tags" in b.columns else [{"building": v} for v in b["building"]]
        out = np.array([is_dwelling(t if isinstance(t, dict) else {}) for t in tags], dtype=bool)
    ent = layout.entrances
    if not ent.empty and "building_fid" in ent.columns and "entrance" in ent.columns:
        kind = ent["entrance"].astype(str).str.lower().to_numpy()
        homes = set(ent["building_fid"].to_numpy(dtype=object)[np.isin(kind, list(HOME_ENTRANCES))])
        if homes:
            out = out | b["fid"].isin(homes).to_numpy()
    return out


def _levels_below_ground(value) -> bool:
    """``level=-1`` or ``-2;-1``: every level given is below ground (``0;-1`` is not)."""
    if value is None:
        return False
    parts = [p.strip() for p in str(value).replace(",", ";").split(";") if p.strip()]
    if not parts:
        return False
    for p in parts:
        if not parse_number(p) < 0:
            return False
    return True


def is_indoor(tags: dict) -> bool:
    """Whether a way is indoors or underground, away from outdoor surveillance.

    True for ``highway=corridor``; ``indoor=*`` other than ``no``; every ``level`` below 0;
    ``location=underground`` or ``indoor``; a way tagged as part of a station
    (``railway=platform``/``station`` on a foot route, ``public_transport=station``). Not for
    ``layer<0`` alone or ``tunnel=yes``: a pedestrian underpass is outdoors for the rules that
    judge it (SL005). The lighting and police rules read the same function (column ``indoor``
    of the route layers).
    """
    if tags.get("highway") == "corridor":
        return True
    indoor = str(tags.get("indoor") or "").strip().lower()
    if indoor not in ("", "no"):
        return True
    if _levels_below_ground(tags.get("level")):
        return True
    if str(tags.get("location") or "").strip().lower() in INDOOR_LOCATIONS:
        return True
    if tags.get("public_transport") == "station" or tags.get("railway") in ("platform", "station"):
        return True
    return False


def layer_of(tags: dict, geom_type: int) -> list[str]:
    """The layers a feature with these tags and geometry type belongs to (maybe several)."""
    layers = []
    polygonal = geom_type in _POLYGONAL
    linear = geom_type in _LINEAR
    point = geom_type in _POINT
    if _is_site(tags) and polygonal:
        return ["boundary"]
    highway = tags.get("highway")
    building = tags.get("building")
    amenity = tags.get("amenity")
    if amenity == "police":
        layers.append("police")
    elif building and building != "no" and polygonal:
        layers.append("buildings")
    if amenity == "police" and building and building != "no" and polygonal:
        layers.append("buildings")
    if (tags.get("entrance") or tags.get("door")) and point:
        layers.append("entrances")
    if highway == "street_lamp":
        layers.append("lamps")
    if tags.get("emergency") == "phone":
        layers.append("emergency_phones")
    if highway and linear and highway not in ("street_lamp",):
        if highway in VEHICULAR:
            layers.append("streets")
        if (highway in VEHICULAR or highway in FOOT_ONLY) and _foot_allowed(tags):
            layers.append("foot_routes")
    if polygonal and (
        (highway == "pedestrian" and is_yes(tags.get("area", "yes")))
        or tags.get("area:highway") in ("pedestrian", "footway")
        or tags.get("place") == "square"
    ):
        layers.append("pedestrian_areas")
    if tags.get("natural") in PLANTING:
        layers.append("planting")
    if tags.get("barrier"):
        layers.append("barriers")
    if amenity == "parking" or tags.get("parking") in ("surface", "multi-storey", "underground"):
        if amenity != "police":
            layers.append("parking")
    return layers


# --- typed columns per layer -------------------------------------------------------------


#: Beyond these a tagged length is a typing error, not a fact (the tallest building is 828 m;
#: no street or square is wider than 500 m): read as unknown, so one absurd tag cannot
#: make a calculation grid of 10^17 points.
MAX_HEIGHT_M = 1000.0
MAX_WIDTH_M = 500.0
MAX_LEVELS = 200.0


def _plausible(value: float, limit: float) -> float:
    """``value`` when it is a finite length in 0..limit, else NaN (unknown)."""
    if value is None or not (0.0 <= value <= limit):  # NaN fails the comparison too
        return float("nan")
    return value


def _common(tags: dict) -> dict:
    return {"name": _text(tags, "name")}


def _building_cols(tags: dict) -> dict:
    height = _plausible(parse_length(tags.get("height")), MAX_HEIGHT_M)
    levels = _plausible(parse_number(tags.get("building:levels")), MAX_LEVELS)
    frontage = _text(tags, "safespace:frontage")
    return {
        "building": _text(tags, "building") or "yes",
        "height_m": height,
        "levels": levels,
        "frontage": frontage,
        "dwelling": is_dwelling(tags),
    }


def _way_cols(tags: dict) -> dict:
    return {
        "highway": _text(tags, "highway"),
        "lit": _text(tags, "lit"),
        "width_m": _plausible(parse_length(tags.get("width")), MAX_WIDTH_M),
        "maxspeed_kmh": parse_speed(tags.get("maxspeed")),
        "oneway": (tags.get("oneway") or "").lower() in ("yes", "true", "1", "-1"),
        "tunnel": is_yes(tags.get("tunnel")),
        "covered": is_yes(tags.get("covered")),
        "foot": _text(tags, "foot"),
        "layer": parse_number(tags.get("layer")),
        "indoor": is_indoor(tags),
    }


def _lamp_cols(tags: dict) -> dict:
    return {
        "height_m": _plausible(
            parse_length(tags.get("height") or tags.get("lamp_mount:height")), MAX_HEIGHT_M
        ),
        "lumens": parse_number(tags.get("safespace:lumens")),
        "photometry": _text(tags, "safespace:photometry"),
        "tilt_deg": parse_number(tags.get("safespace:tilt")),
        "azimuth_deg": parse_number(tags.get("safespace:azimuth") or tags.get("direction")),
        "maintenance_factor": parse_number(tags.get("safespace:maintenance_factor")),
    }


def _police_cols(tags: dict) -> dict:
    subtype = _text(tags, "police")
    return {"police": subtype, "public_facing": subtype not in NOT_PUBLIC_FACING}


def _planting_cols(tags: dict) -> dict:
    return {
        "natural": _text(tags, "natural"),
        "height_m": _plausible(parse_length(tags.get("height")), MAX_HEIGHT_M),
        "crown_base_m": parse_length(tags.get("safespace:crown_base")),
    }


def _barrier_cols(tags: dict) -> dict:
    height = _plausible(parse_length(tags.get("height")), MAX_HEIGHT_M)
    return {"barrier": _text(tags, "barrier"), "height_m": height}


def _entrance_cols(tags: dict) -> dict:
    return {"entrance": _text(tags, "entrance") or _text(tags, "door")}


def _parking_cols(tags: dict) -> dict:
    return {"parking": _text(tags, "parking"), "access": _text(tags, "access")}


_COLUMNS: dict[str, Callable[[dict], dict]] = {
    "buildings": _building_cols,
    "entrances": _entrance_cols,
    "streets": _way_cols,
    "foot_routes": _way_cols,
    "lamps": _lamp_cols,
    "police": _police_cols,
    "planting": _planting_cols,
    "barriers": _barrier_cols,
    "parking": _parking_cols,
}

# The column names each layer has (used to build empty layers with the right schema).
SCHEMA: dict[str, tuple[str, ...]] = {
    layer: ("fid", "origin", "name", "tags")
    + tuple(_COLUMNS[layer]({}).keys() if layer in _COLUMNS else ())
    + (("public_facing", "access_point") if layer == "police" else ())
    + (("building_fid",) if layer == "entrances" else ())
    for layer in LAYERS
}


def empty_layer(layer: str, crs) -> gpd.GeoDataFrame:
    """An empty layer with its full schema."""
    columns = dict.fromkeys(dict.fromkeys(SCHEMA[layer]))
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=crs)


def classify(raw: gpd.GeoDataFrame, origin: str = "proposal") -> dict[str, gpd.GeoDataFrame]:
    """Sort raw features into layers with typed columns.

    Parameters
    ----------
    raw
        Raw features (``fid``, ``tags``, ``geometry``), cleaned, in the metric CRS.
    origin
        ``"proposal"`` or ``"context"``, stored on every row.

    Returns
    -------
    dict of layer name to GeoDataFrame
        Every layer in :data:`LAYERS`, empty ones included.
    """
    rows: dict[str, list[dict]] = {layer: [] for layer in LAYERS}
    geoms: dict[str, list] = {layer: [] for layer in LAYERS}
    types = shapely.get_type_id(raw.geometry.values)
    for fid, tags, geom, gtype in zip(
        raw["fid"].to_numpy(), raw["tags"].to_numpy(), raw.geometry.values, types, strict=True
    ):
        for layer in layer_of(tags, int(gtype)):
            row = {"fid": fid, "origin": origin, "tags": tags, **_common(tags)}
            extra = _COLUMNS.get(layer)
            if extra is not None:
                row.update(extra(tags))
            rows[layer].append(row)
            geoms[layer].append(geom)
    out = {}
    for layer in LAYERS:
        if not rows[layer]:
            out[layer] = empty_layer(layer, raw.crs)
            continue
        frame = gpd.GeoDataFrame(pd.DataFrame(rows[layer]), geometry=geoms[layer], crs=raw.crs)
        out[layer] = frame
    return out


def is_missing(value) -> bool:
    """True for None and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def tag_text(value) -> str | None:
    """A tag value as text, or None for a missing one (never NaN) or one that is blank."""
    if is_missing(value):
        return None
    text = str(value).strip()
    return text or None


#: Height of a storey, m, when only ``building:levels`` is tagged (safespace convention
#: [unverified]: 3 m a storey, the usual figure for homes).
STOREY_HEIGHT_M = 3.0


def building_heights(
    buildings: gpd.GeoDataFrame, storey_height: float = STOREY_HEIGHT_M
) -> np.ndarray:
    """The effective height of every building, m: its ``height_m``, else ``levels ×
    storey_height``, else infinite (unknown: taller than any sight line or lamp).

    The one rule for a building's height, shared by the sight lines and the lighting
    obstacles, so a house tagged with levels but no height casts the same shadow on light
    as it blocks a view. O(B).
    """
    if buildings.empty:
        return np.zeros(0)
    h = buildings["height_m"].to_numpy(float).copy()
    if "levels" in buildings.columns:
        lv = buildings["levels"].to_numpy(float)
        h = np.where(np.isnan(h), lv * storey_height, h)
    return np.where(np.isnan(h) | (h <= 0), np.inf, h)
