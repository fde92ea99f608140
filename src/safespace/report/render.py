"""Rendering machinery shared by both reports: templates, inlined assets, safe JSON, formats.

Safety: templates autoescape every value; the map's data is JSON inside a
``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u003c``...,
so no input string can close the script element; and a Content-Security-Policy allows only
the page's own scripts (by SHA-256) and data-URI images, so the file fetches nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from markupsafe import Markup

if TYPE_CHECKING:
    from safespace.layout import Layout

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
AREA_LABELS = {
    "sightlines": "Sightlines and natural surveillance",
    "lighting": "Lighting",
    "permeability": "Permeability and movement",
    "police_access": "Access to police premises",
    "input": "Input data",
}
UNIT_SUFFIXES = {
    "_m": "m",
    "_m2": "m²",
    "_km": "km",
    "_km2": "km²",
    "_lx": "lx",
    "_s": "s",
    "_min": "min",
    "_kmh": "km/h",
    "_deg": "°",
    "_pct": "%",
}
OSM_SUFFIXES = (".osm", ".pbf", ".osm.bz2", ".o5m", ".osc")


@functools.cache
def environment():
    """The Jinja2 environment: package templates, autoescape on, undefined names an error."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _closing_tag_free(text: str, tag: str, name: str) -> str:
    if re.search(rf"</{tag}", text, flags=re.IGNORECASE):
        raise ValueError(f"asset {name} contains '</{tag}' and cannot be inlined")
    return text


def _inline_css_images(css: str, base: Path) -> str:
    """Leaflet's CSS refers to images/*.png: inline those we ship, drop the rest."""

    def repl(m: re.Match) -> str:
        target = base / m.group(1)
        if target.is_file():
            data = base64.b64encode(target.read_bytes()).decode("ascii")
            return f"url(data:image/png;base64,{data})"
        return "none"

    return re.sub(r"url\((images/[A-Za-z0-9_.-]+\.png)\)", repl, css)


@functools.cache
def assets() -> dict[str, Markup]:
    """The inlined JS and CSS, checked not to contain their own closing tags."""
    leaflet = ASSETS / "leaflet"
    css = _inline_css_images((leaflet / "leaflet.css").read_text("utf-8"), leaflet)
    return {
        "leaflet_css": Markup(_closing_tag_free(css, "style", "leaflet.css")),
        "report_css": Markup(
            _closing_tag_free((ASSETS / "report.css").read_text("utf-8"), "style", "report.css")
        ),
        "leaflet_js": Markup(
            _closing_tag_free((leaflet / "leaflet.js").read_text("utf-8"), "script", "leaflet.js")
        ),
        "report_js": Markup(
            _closing_tag_free((ASSETS / "report.js").read_text("utf-8"), "script", "report.js")
        ),
    }


def script_hashes() -> Markup:
    """CSP source list allowing exactly the two inlined scripts."""
    a = assets()
    hashes = [
        base64.b64encode(hashlib.sha256(str(a[k]).encode("utf-8")).digest()).decode("ascii")
        for k in ("leaflet_js", "report_js")
    ]
    return Markup(" ".join(f"'sha256-{h}'" for h in hashes))


_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(obj: Any) -> Markup:
    """JSON safe to place inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are escaped as JSON unicode escapes, so the text can neither end
    the script element nor open a comment; ``JSON.parse`` reads them back unchanged.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup(re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group(0)], text))


def area_label(area: str) -> str:
    """A reader's name for a rule area."""
    if area in AREA_LABELS:
        return AREA_LABELS[area]
    return area.removeprefix("x-").replace("_", " ").replace("-", " ").capitalize()


def format_value(value: Any) -> str:
    """A measured value for people: rounded floats, joined lists, ``—`` for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}".removesuffix(".0")
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def evidence_label(key: str) -> str:
    """``mean_illuminance_lx`` → ``mean illuminance (lx)``."""
    for suffix, unit in sorted(UNIT_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if key.endswith(suffix) and len(key) > len(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} ({unit})"
    return key.replace("_", " ")


def report_date(date: Any = None) -> str:
    """The report's date: ``date`` given, else ``SOURCE_DATE_EPOCH`` (reproducible builds), else today."""
    if date is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch:
            date = dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        else:
            date = dt.datetime.now(tz=dt.UTC).date()
    if isinstance(date, dt.datetime | dt.date):
        return f"{date.day} {date:%B %Y}"
    return str(date)


def site_name(layout: Layout | None, provenance: dict[str, Any]) -> str:
    """The site's name: its boundary's name, else the proposal input's file name."""
    if layout is not None and len(layout.boundary) and "name" in layout.boundary:
        names = [n for n in layout.boundary["name"] if isinstance(n, str) and n.strip()]
        if names:
            return names[0]
    labels = [
        i.get("label", "") for i in provenance.get("inputs", []) if i.get("role") != "context"
    ]
    names = []
    for lab in labels:
        name = Path(str(lab)).name
        suffixes = (*OSM_SUFFIXES, ".geojson", ".json", ".gpkg", ".shp", ".csv")
        while any(name.endswith(s) for s in suffixes):  # heidelberg.osm.pbf: both go
            name = next(name.removesuffix(s) for s in suffixes if name.endswith(s))
        name = name.replace("_", " ").strip()
        if name:
            names.append(name[:1].upper() + name[1:])
    return ", ".join(names) if names else "Unnamed site"


def osm_attribution(provenance: dict[str, Any]) -> str:
    """The ODbL attribution when an input is OpenStreetMap data, else the empty string."""
    labels = [str(i.get("label", "")).lower() for i in provenance.get("inputs", [])]
    if any(lab.endswith(OSM_SUFFIXES) for lab in labels):
        return "Contains OpenStreetMap data © OpenStreetMap contributors (ODbL)."
    return ""


def write_page(template: str, context: dict[str, Any], path: str | Path) -> Path:
    """Render ``template`` with ``context`` and the shared assets, and write it atomically."""
    from safespace.io.writers import _atomic_write

    html = (
        environment()
        .get_template(template)
        .render(assets=assets(), script_hashes=script_hashes(), **context)
    )
    return _atomic_write(Path(path), html)
