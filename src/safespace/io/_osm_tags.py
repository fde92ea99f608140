"""Which OSM objects the OSM reader keeps, and which closed ways it reads as areas.

This is only the reader's coarse pre-selection (so that a city extract does not become a
million raw features); sorting raw features into layers is `safespace.layout.classify`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping

NAMESPACE = "safespace:"

#: Keys that make a tagged node a raw feature.
NODE_KEYS = frozenset(
    {
        "highway",
        "amenity",
        "emergency",
        "natural",
        "barrier",
        "entrance",
        "building",
        "lit",
        "police",
        "man_made",
    }
)

#: Keys that make a way a raw feature.
WAY_KEYS = frozenset(
    {
        "highway",
        "building",
        "amenity",
        "natural",
        "barrier",
        "landuse",
        "leisure",
        "area",
        "tunnel",
        "covered",
        "footway",
        "police",
        "emergency",
        "place",
    }
)

#: Keys that make a multipolygon relation a raw feature.
MULTIPOLYGON_KEYS = frozenset(
    {
        "building",
        "amenity",
        "landuse",
        "leisure",
        "natural",
        "place",
        "highway",
        "area",
        "barrier",
        "emergency",
        "police",
    }
)

#: Keys that make a relation of another type (``type=building``, ``type=site``, ...) a raw
#: feature. Its geometry is approximated from its members.
OTHER_RELATION_KEYS = frozenset({"building", "amenity", "emergency", "police"})

#: ``natural=*`` values that are lines even on a closed way.
LINEAR_NATURAL = frozenset({"tree_row", "coastline", "cliff", "ridge", "arete"})


def _has_key(tags: Mapping[str, str], keys: frozenset[str]) -> bool:
    return any(key in keys or key.startswith(NAMESPACE) for key in tags)


def node_is_relevant(tags: Mapping[str, str]) -> bool:
    """True when a node with these tags is a raw feature."""
    return _has_key(tags, NODE_KEYS)


def way_is_relevant(tags: Mapping[str, str]) -> bool:
    """True when a way with these tags is a raw feature."""
    return _has_key(tags, WAY_KEYS) or tags.get("railway") == "platform"


def relation_is_relevant(tags: Mapping[str, str]) -> bool:
    """True when a relation with these tags is a raw feature."""
    if tags.get("type") == "multipolygon":
        return _has_key(tags, MULTIPOLYGON_KEYS)
    return _has_key(tags, OTHER_RELATION_KEYS)


def closed_way_is_area(tags: Mapping[str, str]) -> bool:
    """True when a *closed* way with these tags encloses an area (a polygon, not a loop).

    ``area=yes``/``area=no`` decide when present. Otherwise buildings, any amenity, landuse,
    leisure, place, platforms, the site boundary (``safespace:role=site``) and natural features
    other than the linear ones are areas; highways (a roundabout, a footway loop) and
    barriers (a fence round a field) stay lines.
    """
    area = tags.get("area")
    if area == "yes":
        return True
    if area == "no":
        return False
    if "building" in tags or "amenity" in tags or "landuse" in tags:
        return True
    if "leisure" in tags or "place" in tags:
        return True
    if tags.get("railway") == "platform" or tags.get("safespace:role") == "site":
        return True
    natural = tags.get("natural")
    return natural is not None and natural not in LINEAR_NATURAL
