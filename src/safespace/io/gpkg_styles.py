"""QGIS styles for the GeoPackage layers: colour by severity, a label, in ``layer_styles``.

QGIS reads the ``layer_styles`` table of a GeoPackage (the table QGIS itself writes with
"Save as default") and applies the row marked ``useAsDefault`` when the layer is opened, so
a planner who drags the file into QGIS sees high findings in red, labelled with the rule
title, without setting anything up. The styles are QML (QGIS's own format); other GIS
ignore the table.

Standard library only (``sqlite3``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

#: Severity colours (ColorBrewer RdYlBu, colour-blind safe), highest first: RGBA.
SEVERITY_COLOURS = {
    "high": "215,25,28,255",
    "medium": "253,174,97,255",
    "low": "255,230,80,255",
    "info": "116,173,209,255",
}
_OUTLINE = "35,35,35,255"
_QGIS_VERSION = "3.22.16-Białowieża"
#: QGIS's label placements (Qgis::LabelPlacement): around a point, on a line, over a polygon.
_PLACEMENT = {"marker": 0, "line": 2, "fill": 1}

_TABLE = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""


def _options(values: dict[str, str]) -> str:
    items = "".join(
        f'<Option name={quoteattr(k)} type="QString" value={quoteattr(v)}/>'
        for k, v in values.items()
    )
    return f'<Option type="Map">{items}</Option>'


def _symbol_layer(kind: str, colour: str) -> str:
    if kind == "marker":
        cls, props = "SimpleMarker", {
            "name": "circle", "color": colour, "size": "3.2", "size_unit": "MM",
            "outline_color": _OUTLINE, "outline_width": "0.3", "outline_style": "solid",
        }  # fmt: skip
    elif kind == "line":
        cls, props = "SimpleLine", {
            "line_color": colour, "line_width": "1.4", "line_width_unit": "MM",
            "line_style": "solid", "capstyle": "round", "joinstyle": "round",
        }  # fmt: skip
    else:
        fill = colour.rsplit(",", 1)[0] + ",110"  # translucent: the plan shows through
        cls, props = "SimpleFill", {
            "color": fill, "style": "solid", "outline_color": colour,
            "outline_width": "0.6", "outline_style": "solid",
        }  # fmt: skip
    return f'<layer class="{cls}" enabled="1" pass="0" locked="0">{_options(props)}</layer>'


def style_qml(kind: str, label_field: str, *, attribute: str = "severity") -> str:
    """A QML style: categories by ``attribute`` (severity) and a label from ``label_field``.

    Parameters
    ----------
    kind
        The symbol type: ``"marker"`` (points), ``"line"`` or ``"fill"`` (polygons).
    label_field
        The field whose value labels each feature (``title`` for findings, ``place`` for
        issues).
    attribute
        The field the colours follow.

    Returns
    -------
    str
        A QML document QGIS 3.22 or later applies as it is.
    """
    if kind not in _PLACEMENT:
        raise ValueError(f"kind must be marker, line or fill, not {kind!r}")
    categories = "".join(
        f'<category render="true" value="{sev}" symbol="{n}" label="{sev}"/>'
        for n, sev in enumerate(SEVERITY_COLOURS)
    )
    symbols = "".join(
        f'<symbol type="{kind}" name="{n}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f"{_symbol_layer(kind, colour)}</symbol>"
        for n, colour in enumerate(SEVERITY_COLOURS.values())
    )
    placement = _PLACEMENT[kind]
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{_QGIS_VERSION}" styleCategories="Symbology|Labeling" '
        'labelsEnabled="1">'
        f'<renderer-v2 type="categorizedSymbol" attr="{attribute}" symbollevels="0" '
        'forceraster="0" enableorderby="0">'
        f"<categories>{categories}</categories><symbols>{symbols}</symbols>"
        "</renderer-v2>"
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName="{label_field}" isExpression="0" fontSize="8" '
        'fontSizeUnit="Point" textColor="30,30,30,255" fontFamily="Sans Serif" '
        'fontWeight="50" fontItalic="0" textOpacity="1" multilineHeight="1">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="0.85"/></text-style>'
        '<text-format wrapChar="" autoWrapLength="28" multilineAlign="0"/>'
        f'<placement placement="{placement}" dist="1" distUnits="MM" '
        'placementFlags="10" repeatDistance="0" priority="5"/>'
        '<rendering obstacle="1" displayAll="0" scaleVisibility="0" labelPerPart="0" '
        'mergeLines="0" limitNumLabels="0" drawLabels="1" fontLimitPixelSize="0" '
        'upsidedownLabels="0"/>'
        "</settings></labeling>"
        "</qgis>\n"
    )


def add_styles(path: str | Path, layers: dict[str, tuple[str, str]]) -> None:
    """Store a default QML style for each layer in the GeoPackage's ``layer_styles``.

    Parameters
    ----------
    path
        The GeoPackage.
    layers
        ``{layer name: (kind, label field)}``, kind as in :func:`style_qml`.
    """
    con = sqlite3.connect(str(path))
    try:
        with con:
            con.execute(_TABLE)
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                "description, last_change) VALUES ('layer_styles', 'attributes', "
                "'layer_styles', 'QGIS styles of the safespace layers', "
                "strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
            )
            for name, (kind, label) in layers.items():
                geom_col = con.execute(
                    "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)
                ).fetchone()
                con.execute(
                    "DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                    (name, name),
                )
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, "
                    "description, owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '')",
                    (
                        name,
                        geom_col[0] if geom_col else "geom",
                        name,
                        style_qml(kind, label),
                        f"safespace: colour by severity, labelled with the {label}",
                    ),
                )
    finally:
        con.close()
