"""The evaluation report: crime before and after in a test area, its buffer and a control.

One self-contained HTML page (the comparison page's machinery: Jinja2 templates with
autoescape, inlined CSS, a Content-Security-Policy that loads nothing) with the table of
:func:`safespace.evaluate`, a static map of the areas and the incidents counted, the method
with its formulas and sources, the Open Government Licence attribution for data.police.uk
data and, when a design comparison of the same area is given, the design changes beside
the crime changes.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from safespace._version import __version__
from safespace.io.incidents import OGL_ATTRIBUTION
from safespace.report.render import report_date, script_json, write_page

#: Two-sided 5 % critical value of the standard normal: |z| at or above it is "significant".
Z_CRIT = 1.959964

_AREA_STYLE = {
    "treated": ("#b3261e", 0.28, "Treated area"),
    "buffer": ("#e8710a", 0.14, "Buffer (displacement area)"),
    "control": ("#1f5fa8", 0.26, "Control area"),
    "control_buffer": ("#6a8fc2", 0.12, "Control buffer"),
}
_POLICE_FILE = re.compile(r"\d{4}-\d{2}-[a-z0-9-]+-(street|outcomes|stop-and-search)\.csv$", re.I)


def _finite(v: Any) -> bool:
    return v is not None and isinstance(v, int | float | np.number) and math.isfinite(float(v))


def _fmt(v: Any, spec: str) -> str:
    return spec.format(float(v)) if _finite(v) else "—"


def reading(row: pd.Series | dict[str, Any]) -> str:
    """One sentence reading a table row: the WDD's significance and the WDQ's direction.

    The WDQ is read as Bowers & Johnson (2003) and Guerette (2009) do: only after a success
    (success measure < 0); then > 0 is a diffusion of benefit into the buffer, < 0
    displacement, and beyond ±1 the buffer's change outweighs the treated area's.
    """
    parts = []
    z, wdd = row.get("wdd_z"), row.get("wdd")
    if _finite(z):
        if abs(float(z)) >= Z_CRIT:
            more = "fewer" if float(wdd) < 0 else "more"
            parts.append(
                f"{abs(float(wdd)):.0f} {more} incidents than the control's trend "
                "predicts (significant at 5 %)"
            )
        else:
            parts.append("change within chance (|z| < 1.96)")
    sm, wdq = row.get("success_measure"), row.get("wdq")
    if _finite(sm):
        if float(sm) >= 0:
            parts.append("no improvement relative to the control")
        elif _finite(wdq):
            q = float(wdq)
            if q > 1:
                parts.append("diffusion of benefit larger than the direct effect")
            elif q > 0:
                parts.append("diffusion of benefit to the buffer")
            elif q < -1:
                parts.append("displacement larger than the reduction")
            elif q < 0:
                parts.append("some displacement into the buffer")
            else:
                parts.append("no change in the buffer")
        else:
            parts.append("fell relative to the control")
    return "; ".join(parts) if parts else "not assessable"


def _pair(row: pd.Series, area: str) -> str:
    b, a = row.get(f"{area}_before"), row.get(f"{area}_after")
    if not (_finite(b) and _finite(a)):
        return "—"
    return f"{int(b)} → {int(a)}"


def table_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    """The table's rows as display strings (autoescaped by the template)."""
    rows = []
    for _, r in table.iterrows():
        ci = (
            f"{float(r['wdd_ci_low']):.0f} to {float(r['wdd_ci_high']):.0f}"
            if _finite(r["wdd_z"])
            else "—"
        )
        rows.append(
            {
                "category": str(r["category"]),
                "all": str(r["category"]) == "all",
                "treated": _pair(r, "treated"),
                "buffer": _pair(r, "buffer"),
                "control": _pair(r, "control"),
                "control_buffer": _pair(r, "control_buffer"),
                "sm": _fmt(r["success_measure"], "{:+.3f}"),
                "wdq": _fmt(r["wdq"], "{:+.2f}"),
                "tne": _fmt(r["total_net_effect"], "{:+.1f}"),
                "wdd": _fmt(r["wdd"], "{:+.0f}"),
                "se": _fmt(r["wdd_se"], "{:.1f}"),
                "z": _fmt(r["wdd_z"], "{:+.2f}"),
                "ci": ci,
                "significant": _finite(r["wdd_z"]) and abs(float(r["wdd_z"])) >= Z_CRIT,
                "reading": reading(r),
                "note": r["note"] if isinstance(r["note"], str) else "",
            }
        )
    return rows


# --------------------------------------------------------------------------- map


def _svg_path(geom: Any, tx) -> str:
    parts = []
    for poly in shapely.get_parts(geom):
        if shapely.get_type_id(poly) != 3:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            pts = [tx(x, y) for x, y in xy]
            parts.append("M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in pts) + " Z")
    return " ".join(parts)


def area_map_svg(context: Any, *, width: int = 720) -> str:
    """A static SVG map of the areas and the incidents counted (before hollow, after filled).

    Incidents at one map point are drawn as one circle per period whose area grows with the
    count (data.police.uk snaps incidents to shared anonymous points). North is up; a
    scale bar in metres of the working CRS.
    """
    areas = context.areas
    b = np.asarray(areas.total_bounds, dtype=float)
    pad = 0.04 * max(b[2] - b[0], b[3] - b[1])
    minx, miny, maxx, maxy = b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad
    scale = width / (maxx - minx)
    height = int(math.ceil((maxy - miny) * scale)) + 30

    def tx(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * scale, (maxy - y) * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#f6f3ec"/>',
    ]
    for _, a in areas.iterrows():
        colour, alpha, _label = _AREA_STYLE.get(a["area"], ("#555", 0.1, a["area"]))
        out.append(
            f'<path d="{_svg_path(a.geometry, tx)}" fill="{colour}" fill-opacity="{alpha}" '
            f'fill-rule="evenodd" stroke="{colour}" stroke-width="1.2"/>'
        )
    inc = context.incidents
    if len(inc):
        xy = np.round(shapely.get_coordinates(inc.geometry.values), 0)
        frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "period": inc["period"].to_numpy()})
        groups = frame.groupby(["period", "x", "y"]).size().reset_index(name="n")
        for period in ("after", "before"):  # hollow "before" rings drawn on top
            g = groups[groups["period"] == period].sort_values("n", ascending=False)
            for x, y, n in zip(g["x"], g["y"], g["n"], strict=True):
                px, py = tx(x, y)
                r = 1.8 + 1.6 * math.sqrt(n)
                style = (
                    'fill="none" stroke="#333" stroke-width="1"'
                    if period == "before"
                    else 'fill="#111" fill-opacity="0.55" stroke="none"'
                )
                out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r:.1f}" {style}/>')
    for _, a in areas.iterrows():
        if a["area"] not in ("treated", "control"):
            continue
        c = a.geometry.representative_point()
        px, py = tx(c.x, c.y)
        label = html.escape(_AREA_STYLE[a["area"]][2], quote=True)
        out.append(
            f'<text x="{px:.1f}" y="{py:.1f}" text-anchor="middle" font-weight="bold" '
            f'fill="{_AREA_STYLE[a["area"]][0]}" stroke="#fff" stroke-width="3" '
            f'paint-order="stroke">{label}</text>'
        )
    bar = _nice_length((maxx - minx) / 5)
    x0, y0 = 10, height - 12
    out.append(
        f'<path d="M{x0} {y0} h{bar * scale:.1f}" stroke="#111" stroke-width="3"/>'
        f'<text x="{x0 + bar * scale + 6:.1f}" y="{y0 + 4}" fill="#111">{bar:g} m</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _nice_length(target: float) -> float:
    if not math.isfinite(target) or target <= 0:
        return 100.0
    exp = 10 ** math.floor(math.log10(target))
    for m in (1, 2, 5, 10):
        if m * exp >= target:
            return float(m * exp)
    return float(10 * exp)


def _data_uri_svg(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------- design


def _design_block(comparison: Any, context: Any) -> dict[str, Any]:
    """The design comparison beside the crime changes: counts, score changes, findings."""
    from safespace.report.comparison_page import _score_rows

    def items(findings: list[Any]) -> list[dict[str, str]]:
        return [
            {"rule": f.rule_id, "sev": f.severity, "title": f.title, "area": f.area}
            for f in findings
        ]

    where = ""
    try:
        layout = comparison.after.layout
        site = (
            shapely.union_all(layout.boundary.geometry.values)
            if len(layout.boundary)
            else layout.extent
        )
        import geopandas as gpd

        site_w = gpd.GeoSeries([site], crs=layout.crs).to_crs(context.crs).values[0]
        treated = context.areas.set_index("area").geometry["treated"]
        d = float(site_w.distance(treated))
        if d == 0:
            share = site_w.intersection(treated).area / max(treated.area, 1e-9)
            where = f"The assessed site overlaps the treated area ({share:.0%} of it)."
        else:
            where = (
                f"The assessed site lies {d:,.0f} m from the treated area: the design changes "
                "may not be the ones the crime figures reflect."
            )
    except Exception:  # a layout without a usable extent: say nothing rather than guess
        where = ""
    return {
        "summary_line": comparison.summary_line(),
        "scores": _score_rows(comparison.score_changes),
        "resolved": items(comparison.resolved),
        "new": items(comparison.new),
        "unchanged": len(comparison.unchanged),
        "where": where,
    }


# --------------------------------------------------------------------------- page


def _attribution(table: pd.DataFrame, context: Any, given: str | None) -> str:
    if given is not None:
        return given
    sources = set()
    if context is not None and "source" in context.incidents:
        sources = {str(s) for s in pd.unique(context.incidents["source"])}
    sources.add(str(table.attrs.get("incidents", "")))
    police = any(
        "police.uk" in s.lower() or any(_POLICE_FILE.search(p.strip()) for p in s.split(","))
        for s in sources
    )
    police = police or "data.police.uk" in table.attrs.get("incident_formats", [])
    return OGL_ATTRIBUTION if police else ""


def evaluation_context(
    table: pd.DataFrame,
    *,
    comparison: Any = None,
    title: str | None = None,
    site: str | None = None,
    date: Any = None,
    attribution: str | None = None,
) -> dict[str, Any]:
    """Everything the evaluation template shows, as plain values (escaped by the template)."""
    a = table.attrs
    context = a.get("context")
    generated = report_date(date)
    label = site
    if label is None and context is not None:
        by_area = context.areas.set_index("area")
        name = by_area["name"].get("treated", "") if "name" in by_area else ""
        lab = by_area["label"].get("treated", "")
        label = name or (Path(str(lab)).stem.replace("_", " ") if lab else None)
    label = label or "Test area"
    before, after = a.get("before", []), a.get("after", [])
    rows = table_rows(table)
    total = next((r for r in rows if r["all"]), rows[-1] if rows else None)
    area_rows = []
    if context is not None:
        for _, r in context.areas.iterrows():
            area_rows.append(
                {
                    "name": _AREA_STYLE.get(r["area"], ("", 0, r["area"]))[2],
                    "label": str(r["label"])
                    + (f" ({r['name']})" if str(r.get("name", "") or "") else ""),
                    "ha": f"{float(r['area_m2']) / 10_000:.2f}",
                    "colour": _AREA_STYLE.get(r["area"], ("#555",))[0],
                }
            )
    map_src = _data_uri_svg(area_map_svg(context)) if context is not None else ""
    toc = [("summary", "Summary"), ("map", "Map"), ("table", "By category")]
    design = _design_block(comparison, context) if comparison is not None else None
    if design is not None:
        toc.append(("design", "Design and crime"))
    toc += [("method", "Method"), ("data", "Data")]
    return {
        "page_title": f"{title or 'Test-area evaluation'} — {label}",
        "kicker": "Test-area evaluation · before and after, against a control",
        "heading": title or label,
        "subheading": f"{generated} · before {', '.join(before)} · after {', '.join(after)} · "
        f"safespace {__version__}",
        "toc": toc,
        "version": __version__,
        "generated": generated,
        "attribution": _attribution(table, context, attribution),
        "site": label,
        "before": ", ".join(before),
        "after": ", ".join(after),
        "crs": a.get("crs", ""),
        "buffer_m": f"{a['buffer_m']:g}" if a.get("buffer_m") else "",
        "incidents_label": a.get("incidents", ""),
        "counted": 0 if context is None else len(context.incidents),
        "rows": rows,
        "total": total,
        "areas": area_rows,
        "run_notes": list(a.get("notes", [])),
        "map_src": map_src,
        "design": design,
        "map_json": script_json({}),
    }


def write_evaluation_html(
    table: pd.DataFrame,
    path: str | Path,
    *,
    comparison: Any = None,
    title: str | None = None,
    site: str | None = None,
    date: Any = None,
    attribution: str | None = None,
) -> Path:
    """Write the evaluation of a test area as one self-contained HTML file.

    Parameters
    ----------
    table
        The result of :func:`safespace.evaluate` (its ``attrs`` carry the areas and the
        counted incidents for the map).
    path
        Where to write (atomic).
    comparison
        A :class:`safespace.Comparison` of the same area (``safespace.compare(existing,
        proposal)``): its design changes are shown beside the crime changes.
    title, site, date
        As for :func:`safespace.report.write_html`.
    attribution
        The data attribution line; by default the Open Government Licence v3.0 line when
        the incidents come from data.police.uk files, else none.

    Returns
    -------
    Path
        The file: a summary in words, a map of the areas and incidents, the table per
        category (counts, success measure, WDQ, total net effect, WDD with its standard
        error, z and 95 % interval, and a reading of each row), the design changes when a
        comparison is given, the method and its sources, and the data attribution.
    """
    context = evaluation_context(
        table, comparison=comparison, title=title, site=site, date=date, attribution=attribution
    )
    return write_page("evaluation.html", context, path)
