"""The consultation report of one assessment: what goes on the page, and writing it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from safespace._version import __version__
from safespace.findings import AREAS, SEVERITIES, Finding
from safespace.io.writers import finding_records, jsonable
from safespace.report import mapdata
from safespace.report.crime_figures import crime_block
from safespace.report.figures import OVERVIEW, render_figures
from safespace.report.render import (
    area_label,
    evidence_label,
    format_value,
    osm_attribution,
    report_date,
    script_json,
    site_name,
    write_page,
)


def _located(geom: Any) -> bool:
    return geom is not None and not geom.is_empty


def finding_rows(
    findings: list[Finding], ids: list[str], status: str | None = None
) -> list[dict[str, Any]]:
    """Table rows: texts, formatted evidence and references of each finding."""
    rows = []
    for f, fid in zip(findings, ids, strict=True):
        rows.append(
            {
                "id": fid,
                "sev": f.severity,
                "rule": f.rule_id,
                "view": f.view,
                "title": f.title,
                "message": f.message,
                "rec": f.recommendation,
                "evidence": [
                    (evidence_label(str(k)), format_value(v)) for k, v in f.evidence.items()
                ],
                "refs": list(f.references),
                "features": list(f.features),
                "located": _located(f.geometry),
                "status": status,
            }
        )
    return rows


SEVERITY_ORDER = list(SEVERITIES)


def rule_groups(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows grouped by rule, worst first: what a rule's findings share is said once.

    A rule's guidance and its recommendation (when every finding gives the same one) head
    the group instead of repeating on each row, which keeps a report of thousands of
    findings readable and small.
    """
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        g = groups.setdefault(
            row["rule"],
            {
                "rule": row["rule"],
                "title": row["title"],
                "view": row["view"],
                "rows": [],
                "refs": row["refs"],
                "worst": row["sev"],
            },
        )
        g["rows"].append(row)
        if SEVERITY_ORDER.index(row["sev"]) > SEVERITY_ORDER.index(g["worst"]):
            g["worst"] = row["sev"]
    for g in groups.values():
        recs = {r["rec"] for r in g["rows"]}
        g["rec"] = recs.pop() if len(recs) == 1 else None
        same_refs = all(r["refs"] == g["refs"] for r in g["rows"])
        g["refs"] = g["refs"] if same_refs else []
        for r in g["rows"]:
            r["show_rec"] = g["rec"] is None
            r["show_refs"] = not same_refs
    return sorted(groups.values(), key=lambda g: (-SEVERITY_ORDER.index(g["worst"]), g["rule"]))


def score_card(
    area: str, value: float | None, explanation: str, confidence: float | None = None
) -> dict[str, Any]:
    """A score as the page shows it: label, value (or *not assessable*), bar, band, confidence."""
    if value is None:
        level, text, width = "na", "not assessable", "0"
    else:
        level = "good" if value >= 80 else ("fair" if value >= 50 else "poor")
        text, width = f"{value:.0f}", f"{max(0.0, min(100.0, value)):.1f}"
    return {
        "area": area,
        "label": area_label(area),
        "value_text": text,
        "assessable": value is not None,
        "width": width,
        "explanation": explanation,
        "level": level,
        "confidence": None if confidence is None else f"{100 * confidence:.0f}%",
    }


#: Above this many findings the map draws issues only; the findings are a layer to switch on.
MAP_FINDINGS_SHOWN = 300


def issue_blocks(assessment: Any, rows_by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per issue, in priority order: its texts and its findings' table rows."""
    out = []
    for n, i in enumerate(assessment.issues, start=1):
        rows = [rows_by_id[f] for f in i.finding_ids if f in rows_by_id]
        out.append(
            {
                "n": n,
                "id": i.id,
                "place": i.place,
                "title": i.title,
                "sev": i.severity,
                "weight": i.planning_weight,
                "scope": i.scope,
                "basis": i.basis,
                "key": bool(i.key_concern),
                "extent": format_value(float(i.extent_m)) if i.extent_m else "",
                "evidence": list(i.evidence),
                "rec": i.recommendation,
                "rules": list(i.rules),
                "refs": list(getattr(i, "references", []) or []),
                "rows": rows,
            }
        )
    return out


def area_order(areas: set[str]) -> list[str]:
    """Rule areas in the order the report presents them: the four areas, others, input last."""
    known = [a for a in AREAS if a in areas]
    others = sorted(a for a in areas if a not in AREAS and a != "input")
    return known + others + (["input"] if "input" in areas else [])


def provenance_block(assessment: Any) -> dict[str, Any]:
    """Profile, version, CRS, rules and input hashes for the summary."""
    p = assessment.provenance
    prof = assessment.profile
    return {
        "profile": p.get("profile", ""),
        "profile_sha256": p.get("profile_sha256", ""),
        "profile_description": getattr(prof, "description", "") or "",
        "profile_path": getattr(prof, "path", "") or "",
        "version": p.get("safespace_version", __version__),
        "crs": p.get("crs", ""),
        "rules": list(p.get("rules", [])),
        "inputs": [
            {
                "role": i.get("role", ""),
                "label": i.get("label", ""),
                "sha256": i.get("sha256", ""),
            }
            for i in p.get("inputs", [])
        ],
    }


def _registry(registry: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if registry is not None:
        return registry
    try:
        from safespace.rules.engine import discover_rules

        return discover_rules()
    except Exception:  # metadata is a nicety; the report must still be written
        return {}


def rule_methods(assessment: Any, registry: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per rule run: title, area, description, references and parameters with their sources."""
    registry = _registry(registry)
    prof = assessment.profile
    params = getattr(prof, "params", {}) or {}
    sources = getattr(prof, "sources", {}) or {}
    out = []
    for rid in assessment.provenance.get("rules", []):
        r = registry.get(rid)
        values = params.get(rid, r.defaults() if r is not None else {})
        declared = getattr(r, "all_params", {}) or {}
        rows = []
        for name, value in values.items():
            decl = declared.get(name)
            rows.append(
                {
                    "name": name,
                    "value": format_value(jsonable(value)),
                    "unit": getattr(decl, "unit", ""),
                    "description": getattr(decl, "description", ""),
                    "source": sources.get(rid, {}).get(name) or getattr(decl, "source", ""),
                }
            )
        area = getattr(r, "area", "")
        out.append(
            {
                "id": rid,
                "title": getattr(r, "title", "") or "(rule not found in the registry)",
                "area_label": area_label(area) if area else "",
                "view": getattr(r, "view", None),
                "principles": [p.replace("_", " ") for p in getattr(r, "principles", ())],
                "description": getattr(r, "description", ""),
                "references": list(getattr(r, "references", ())),
                "params": rows,
            }
        )
    return out


def map_payload(
    layouts: list[tuple[Any, str, str]],
    findings: list[dict[str, Any]],
    geoms: list[Any],
    crs: Any,
    attribution: str,
) -> dict[str, Any]:
    """The map's JSON: layouts drawn in ``crs`` from one local origin, and the findings.

    ``layouts`` holds ``(layout, label, style)`` with style ``main`` or ``ghost``;
    ``findings`` holds per finding its ``id``, Finding ``f`` and optional ``status``.
    """
    bounds = [mapdata.layout_bounds(lay, crs) for lay, _, _ in layouts]
    located = [g for g in geoms if _located(g)]
    if located:
        import shapely

        bounds.append(np.asarray(shapely.total_bounds(np.asarray(located, dtype=object))))
    bounds = [b for b in bounds if b is not None and np.all(np.isfinite(b))]
    origin = mapdata.origin_of(*bounds)
    extent = None
    if bounds:
        b = np.array(bounds)
        extent = [
            float(b[:, 0].min() - origin[0]),
            float(b[:, 1].min() - origin[1]),
            float(b[:, 2].max() - origin[0]),
            float(b[:, 3].max() - origin[1]),
        ]
    items = []
    for item, geom in zip(findings, geoms, strict=True):
        extra = {"status": item["status"]} if item.get("status") else {}
        items += mapdata.finding_items([item["f"]], [geom], [item["id"]], origin, **extra)
    return {
        "origin": [float(origin[0]), float(origin[1])],
        "bounds": extent,
        "attribution": attribution,
        "layouts": [
            {"label": label, "style": style, "L": mapdata.layout_layers(lay, origin, crs)}
            for lay, label, style in layouts
            if lay is not None
        ],
        "findings": items,
    }


def assessment_context(
    assessment: Any,
    *,
    title: str | None = None,
    site: str | None = None,
    date: Any = None,
    registry: Mapping[str, Any] | None = None,
    position: Any = None,
) -> dict[str, Any]:
    """Everything the report template shows, as plain values (escaped by the template)."""
    from safespace.response import build_response

    ids = [r["finding_id"] for r in finding_records(assessment)]
    findings = assessment.findings
    by_area: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        by_area.setdefault(f.area or "unassigned", []).append(i)
    areas_present = set(by_area) | set(assessment.scores)
    order = area_order(areas_present)
    figures = render_figures(assessment, [OVERVIEW, *order])
    scores = assessment.scores
    areas = []
    for a in order:
        idx = by_area.get(a, [])
        s = scores.get(a)
        areas.append(
            {
                "key": a,
                "label": area_label(a),
                "score": score_card(a, s.value, s.explanation, s.confidence) if s else None,
                "n_findings": len(idx),
            }
        )
    rows = finding_rows(findings, ids)
    rows_by_id = {r["id"]: r for r in rows}
    blocks = issue_blocks(assessment, rows_by_id)
    grouped = {f for i in assessment.issues for f in i.finding_ids}
    ungrouped = [r for r in rows if r["id"] not in grouped]
    site_label = site or site_name(assessment.layout, assessment.provenance)
    generated = report_date(date)
    attribution = osm_attribution(assessment.provenance)
    geoms = [f.geometry for f in findings]
    payload = map_payload(
        [(assessment.layout, "Layout", "main")],
        [{"id": i, "f": f} for i, f in zip(ids, findings, strict=True)],
        geoms,
        assessment.crs,
        "Base map drawn from the assessed layout"
        + (" · © OpenStreetMap contributors" if attribution else ""),
    )
    payload["issues"] = mapdata.issue_items(
        assessment.issues,
        [i.geometry for i in assessment.issues],
        np.asarray(payload["origin"], dtype=float),
    )
    payload["show_findings"] = len(findings) <= MAP_FINDINGS_SHOWN or not assessment.issues
    response = build_response(assessment, position=position, site=site, date=date)
    located = sum(1 for g in geoms if _located(g))
    metrics = [
        (area_label(a), k, format_value(jsonable(v)))
        for a, kv in assessment.metrics.items()
        for k, v in kv.items()
    ]
    ok_figures = {a: [f for f in fs if not f.error] for a, fs in figures.items()}
    return {
        "page_title": f"{title or 'Safety assessment'} — {site_label}",
        "kicker": "Public-space safety assessment · consultation report",
        "heading": title or site_label,
        "subheading": f"{generated} · profile {assessment.provenance.get('profile', '')} · "
        f"safespace {assessment.provenance.get('safespace_version', __version__)}",
        "toc": [
            ("response", "Response"),
            ("conditions", "Conditions"),
            ("limitations", "Data limitations"),
            ("map", "Map"),
            ("scores", "Scores"),
            ("issues", "Issues"),
            ("findings", "All findings"),
            ("notes", "Input notes"),
            ("appendix", "Method"),
        ],
        "response": response,
        "issues": [b for b in blocks if b["scope"] == "proposal"],
        "context_issues": [b for b in blocks if b["scope"] != "proposal"],
        "issue_blocks": blocks,
        "ungrouped": ungrouped,
        "n_findings": len(findings),
        "map_shows_findings": payload["show_findings"],
        "version": __version__,
        "generated": generated,
        "site": site_label,
        "attribution": attribution,
        "summary_line": assessment.summary_line(),
        "counts": assessment.counts(),
        "scores": [
            score_card(a, scores[a].value, scores[a].explanation, scores[a].confidence)
            for a in order
            if a in scores
        ],
        "prov": provenance_block(assessment),
        "areas": areas,
        "figures": ok_figures,
        "figure_failures": [f for fs in figures.values() for f in fs if f.error],
        "located": located,
        "unlocated": len(findings) - located,
        "has_context": bool(
            assessment.layout is not None
            and len(assessment.layout.buildings)
            and (assessment.layout.buildings["origin"] == "context").any()
        ),
        "notes": assessment.notes,
        "failures": assessment.failures,
        "rules": rule_methods(assessment, registry),
        "metrics": metrics,
        "map_json": script_json(payload),
        "crime": crime_block(assessment),
    }


def write_html(
    assessment: Any,
    path: str | Path,
    *,
    title: str | None = None,
    site: str | None = None,
    date: Any = None,
    registry: Mapping[str, Any] | None = None,
    position: Any = None,
) -> Path:
    """Write the consultation report of ``assessment`` as one self-contained HTML file.

    Parameters
    ----------
    assessment
        A :class:`safespace.Assessment`.
    path
        Where to write (parent directories are created; the write is atomic).
    title
        The report's heading (default: the site's name).
    site
        The site's name (default: the boundary's ``name``, else the input file name).
    date
        The report's date (default: ``SOURCE_DATE_EPOCH`` if set, else today, UTC).
    registry
        Rules to take titles, descriptions and parameter units from (default: the
        discovered rules).
    position
        The officer's overall position, overriding the one derived from the issues:
        ``"objection"``, ``"subject to conditions"``, ``"no objection"`` or
        ``{"position": ..., "reason": ...}``.

    Returns
    -------
    Path
        The file written. It loads nothing from the network: Leaflet, styles, map data and
        figures are inlined.
    """
    context = assessment_context(
        assessment, title=title, site=site, date=date, registry=registry, position=position
    )
    return write_page("report.html", context, path)
