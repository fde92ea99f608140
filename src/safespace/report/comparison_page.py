"""The comparison report: what a proposal fixes, makes worse and leaves, against the existing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from safespace._version import __version__
from safespace.report.page import area_order, finding_rows, map_payload, provenance_block
from safespace.report.render import (
    area_label,
    osm_attribution,
    report_date,
    script_json,
    site_name,
    write_page,
)


def _in_crs(geoms: list[Any], src: Any, dst: Any) -> list[Any]:
    """Geometries moved from ``src`` to ``dst`` (missing ones kept as None)."""
    if not geoms or src is None or dst is None or src.equals(dst):
        return list(geoms)
    return list(gpd.GeoSeries(geoms, crs=src).to_crs(dst).values)


def _score_rows(changes: dict[str, tuple[float | None, float | None]]) -> list[dict[str, str]]:
    rows = []
    for area in area_order(set(changes)):
        before, after = changes[area]
        if before is not None and after is not None:
            d = after - before
            delta = f"{d:+.0f}" if round(d) != 0 else "±0"
            cls = "ss-delta-up" if d >= 0.5 else ("ss-delta-down" if d <= -0.5 else "")
        else:
            delta, cls = "—", ""
        rows.append(
            {
                "label": area_label(area),
                "before": "—" if before is None else f"{before:.0f}",
                "after": "—" if after is None else f"{after:.0f}",
                "delta": delta,
                "cls": cls,
            }
        )
    return rows


def comparison_context(
    comparison: Any, *, title: str | None = None, site: str | None = None, date: Any = None
) -> dict[str, Any]:
    """Everything the comparison template shows; the map is drawn in the proposal's CRS."""
    before, after = comparison.before, comparison.after
    crs = after.crs if after.crs is not None else before.crs
    groups = [
        ("resolved", comparison.resolved, "res-", before.crs),
        ("new", comparison.new, "new-", after.crs),
        ("unchanged", [a for _, a in comparison.unchanged], "unc-", after.crs),
    ]
    rows: dict[str, list[dict[str, Any]]] = {}
    items, geoms = [], []
    for status, findings, prefix, src in groups:
        ids = [f"{prefix}{n:03d}-{f.rule_id}" for n, f in enumerate(findings, start=1)]
        rows[status] = finding_rows(findings, ids, status=status)
        geoms += _in_crs([f.geometry for f in findings], src, crs)
        items += [{"id": i, "f": f, "status": status} for i, f in zip(ids, findings, strict=True)]
    attribution = osm_attribution(after.provenance) or osm_attribution(before.provenance)
    payload = map_payload(
        [(before.layout, "Existing", "ghost"), (after.layout, "Proposal", "main")],
        items,
        geoms,
        crs,
        "Base map drawn from the assessed layouts"
        + (" · © OpenStreetMap contributors" if attribution else ""),
    )
    located = sum(1 for g in geoms if g is not None and not g.is_empty)
    site_label = site or site_name(after.layout, after.provenance)
    generated = report_date(date)
    return {
        "page_title": f"{title or 'Proposal against existing'} — {site_label}",
        "kicker": "Public-space safety assessment · proposal against the existing situation",
        "heading": title or site_label,
        "subheading": f"{generated} · profile {after.provenance.get('profile', '')} · "
        f"safespace {after.provenance.get('safespace_version', __version__)}",
        "toc": [
            ("summary", "Summary"),
            ("map", "Map"),
            ("resolved", "Fixed"),
            ("new", "Made worse"),
            ("unchanged", "Left"),
        ],
        "version": __version__,
        "generated": generated,
        "site": site_label,
        "attribution": attribution,
        "summary_line": comparison.summary_line(),
        "tolerance": f"{comparison.tolerance_m:g}",
        "resolved": rows["resolved"],
        "new": rows["new"],
        "unchanged": rows["unchanged"],
        "score_changes": _score_rows(comparison.score_changes),
        "before_prov": provenance_block(before),
        "after_prov": provenance_block(after),
        "failures": [("Existing", f) for f in before.failures]
        + [("Proposal", f) for f in after.failures],
        "located": located,
        "unlocated": len(geoms) - located,
        "map_json": script_json(payload),
    }


def write_comparison_html(
    comparison: Any,
    path: str | Path,
    *,
    title: str | None = None,
    site: str | None = None,
    date: Any = None,
) -> Path:
    """Write a proposal-against-existing report as one self-contained HTML file.

    Parameters
    ----------
    comparison
        A :class:`safespace.Comparison` (``safespace.compare(before, after)``).
    path
        Where to write (atomic).
    title, site, date
        As for :func:`safespace.report.write_html`.

    Returns
    -------
    Path
        The file: summary and score changes, a map of both layouts with findings coloured
        by status, and tables of what the proposal fixes (resolved), makes worse (new) and
        leaves (unchanged).
    """
    context = comparison_context(comparison, title=title, site=site, date=date)
    return write_page("comparison.html", context, path)
