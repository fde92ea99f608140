"""Turn attribute values into OSM-style string tags."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any


def tag_value(value: Any) -> str | None:
    """One attribute value as an OSM tag string, or None when it carries nothing.

    Integers and integral floats print without a decimal point (``12``), booleans as
    ``yes``/``no``, lists and mappings as compact JSON.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    # numpy scalars, timestamps, ...
    if hasattr(value, "item"):
        return tag_value(value.item())
    return str(value)


def to_tags(properties: Mapping[str, Any] | None) -> dict[str, str]:
    """A properties mapping as a dict of OSM string tags (empty values left out)."""
    if not properties:
        return {}
    tags = {}
    for key, value in properties.items():
        text = tag_value(value)
        if text is not None and text != "":
            tags[str(key)] = text
    return tags
