"""Parse OSM tag values into numbers in safespace's units (metres, km/h, lumens)."""

from __future__ import annotations

import math
import re

_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_FEET_INCHES = re.compile(rf"^\s*({_NUMBER})\s*'\s*(?:({_NUMBER})\s*\"?)?\s*$")
_WITH_UNIT = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Z\"]*)\s*$")

_LENGTH_UNITS = {
    "": 1.0,
    "m": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "cm": 0.01,
    "mm": 0.001,
    "km": 1000.0,
    "ft": 0.3048,
    "feet": 0.3048,
    '"': 0.0254,
    "in": 0.0254,
    "mi": 1609.344,
}
_SPEED_UNITS = {"": 1.0, "kmh": 1.0, "km/h": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}

# OSM's implicit maxspeed values ("GB:nsl_single", "DE:urban", ...), in km/h.
_IMPLICIT_SPEEDS = {
    "urban": 50.0,
    "rural": 100.0,
    "walk": 6.0,
    "living_street": 10.0,
    "zone30": 30.0,
    "zone:30": 30.0,
    "nsl_single": 96.56,
    "nsl_dual": 112.65,
    "nsl_restricted": 48.28,
    "motorway": 112.65,
}


def _float(text: str) -> float:
    return float(text.replace(",", "."))


def parse_length(value: object) -> float:
    """Parse an OSM length (``height``, ``width``, ...) into metres.

    Parameters
    ----------
    value
        ``12``, ``"12"``, ``"12 m"``, ``"12.5m"``, ``"40 ft"``, ``"12'6\\""``, or None.

    Returns
    -------
    float
        The length in metres, or NaN when the value is absent or cannot be read.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else math.nan
    text = str(value).strip().lower()
    if not text:
        return math.nan
    text = text.split(";")[0].strip()
    m = _FEET_INCHES.match(text)
    if m:
        feet = _float(m.group(1))
        inches = _float(m.group(2)) if m.group(2) else 0.0
        return feet * 0.3048 + inches * 0.0254
    m = _WITH_UNIT.match(text.replace(" ", "")) or _WITH_UNIT.match(text)
    if m and m.group(2) in _LENGTH_UNITS:
        return _float(m.group(1)) * _LENGTH_UNITS[m.group(2)]
    return math.nan


def parse_speed(value: object) -> float:
    """Parse an OSM ``maxspeed`` into km/h (NaN when absent or unreadable)."""
    if value is None:
        return math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().lower()
    if not text:
        return math.nan
    text = text.split(";")[0].strip()
    if ":" in text and not text[0].isdigit():
        implicit = text.split(":", 1)[1]
        return _IMPLICIT_SPEEDS.get(implicit, math.nan)
    if text in _IMPLICIT_SPEEDS:
        return _IMPLICIT_SPEEDS[text]
    m = re.match(rf"^({_NUMBER})\s*([a-z/]*)$", text)
    if m and m.group(2) in _SPEED_UNITS:
        return _float(m.group(1)) * _SPEED_UNITS[m.group(2)]
    return math.nan


def parse_number(value: object) -> float:
    """Parse a plain number (``building:levels``, ``safespace:lumens``); NaN if unreadable."""
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().split(";")[0].strip()
    try:
        return _float(text)
    except ValueError:
        return math.nan


def is_yes(value: object) -> bool:
    """OSM truthiness: ``yes``, ``true``, ``1`` (and any ``tunnel``/``covered`` value but no)."""
    if value is None:
        return False
    return str(value).strip().lower() not in ("", "no", "false", "0")
