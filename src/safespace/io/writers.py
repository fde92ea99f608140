"""Writers: findings as GeoJSON (WGS84), GeoPackage, CSV and JSON; deterministic output."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from safespace.errors import InputError

WGS84 = CRS.from_epsg(4326)
GEOJSON_DECIMALS = 8  # 1e-8 degree is about 1 mm: a point survives the round trip within 1 cm
FORMATS = {
    ".geojson": "geojson",
    ".json": "json",
    ".csv": "csv",
    ".gpkg": "gpkg",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
    ".md": "md",
}


def jsonable(value: Any) -> Any:
    """A value made JSON-safe and deterministic: NumPy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 6)
    if isinstance(value, shapely.Geometry):
        return value.wkt
    if isinstance(value, Path):
        return str(value)
    return value


def _atomic_write(path: Path, text: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        # mkstemp creates 0600; outputs are for sharing, so honour the umask like open() does
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _geoms_in(assessment, crs) -> np.ndarray:
    geoms = np.array([f.geometry for f in assessment.findings], dtype=object)
    if len(geoms) == 0 or assessment.crs is None:
        return geoms
    target = CRS.from_user_input(crs)
    if target.equals(assessment.crs):
        return geoms
    series = gpd.GeoSeries(geoms, crs=assessment.crs).to_crs(target)
    return (
        series.values.to_numpy()
        if hasattr(series.values, "to_numpy")
        else np.asarray(series.values)
    )


def finding_records(assessment) -> list[dict[str, Any]]:
    """One flat, JSON-safe dict per finding (without geometry), in assessment order."""
    records = []
    for n, f in enumerate(assessment.findings, start=1):
        records.append(
            {
                "finding_id": f.id or f"{f.rule_id}-{n:04d}",
                "issue_id": f.issue_id,
                "rule_id": f.rule_id,
                "area": f.area,
                "severity": f.severity,
                "planning_weight": f.planning_weight,
                "basis": f.basis,
                "scope": f.scope,
                "title": f.title,
                "message": f.message,
                "recommendation": f.recommendation,
                "view": f.view,
                "evidence": jsonable(f.evidence),
                "references": list(f.references),
                "features": list(f.features),
                "moderation": list(f.moderation),
            }
        )
    return records


#: The columns of a finding record (:func:`finding_records`) every tabular writer uses: text
#: ones, then the lists and mappings (JSON in a database).
FINDING_TEXT_COLUMNS = (
    "finding_id", "issue_id", "rule_id", "area", "severity", "planning_weight", "basis",
    "scope", "title", "message", "recommendation", "view",
)  # fmt: skip
FINDING_JSON_COLUMNS = ("evidence", "references", "features", "moderation")


def findings_frame(assessment, crs: Any = None) -> gpd.GeoDataFrame:
    """Findings as a GeoDataFrame in the layout CRS (or ``crs``)."""
    target = crs if crs is not None else assessment.crs
    geoms = (
        _geoms_in(assessment, target)
        if crs is not None
        else [f.geometry for f in assessment.findings]
    )
    records = finding_records(assessment)
    columns = [*FINDING_TEXT_COLUMNS, *FINDING_JSON_COLUMNS]
    frame = gpd.GeoDataFrame(records or {c: [] for c in columns}, geometry=list(geoms), crs=target)
    return frame


def score_records(assessment) -> dict[str, dict[str, Any]]:
    """Per area: value (None when not assessable), confidence and explanation."""
    return {
        a: {"value": s.value, "confidence": s.confidence, "explanation": s.explanation}
        for a, s in assessment.scores.items()
    }


def issue_records(assessment) -> list[dict[str, Any]]:
    """One JSON-safe dict per issue (without geometry), in priority order."""
    keys = (
        "id", "place", "title", "severity", "planning_weight", "rules", "finding_ids", "areas",
        "extent_m", "evidence", "recommendation", "priority", "priority_terms", "basis",
        "scope", "key_concern", "kind",
    )  # fmt: skip
    return [jsonable({k: getattr(i, k) for k in keys}) for i in assessment.issues]


def completeness_record(assessment) -> dict[str, dict[str, str]]:
    """Per origin of the layout, each layer's ``complete``/``partial`` status."""
    layout = assessment.layout
    if layout is None:
        return {}
    return {origin: layout.layer_status(origin) for origin in layout.completeness}


def _round_geometry(geom) -> dict | None:
    if geom is None or geom.is_empty:
        return None
    rounded = shapely.set_precision(geom, 10**-GEOJSON_DECIMALS, mode="pointwise")
    return json.loads(shapely.to_geojson(rounded))


def geojson_document(assessment) -> dict[str, Any]:
    """The findings FeatureCollection (WGS84) with scores and provenance as foreign members."""
    geoms = _geoms_in(assessment, WGS84)
    features = []
    for record, geom in zip(finding_records(assessment), geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "id": record["finding_id"],
                "geometry": _round_geometry(geom),
                "properties": record,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "safespace": jsonable(
            {
                "provenance": assessment.provenance,
                "scores": score_records(assessment),
                "issues": issue_records(assessment),
                "coverage": assessment.coverage,
                "metrics": assessment.metrics,
                "input_notes": [asdict(n) for n in assessment.notes],
                "failures": [
                    {"rule_id": f.rule_id, "error": f.error, "message": f.message}
                    for f in assessment.failures
                ],
            }
        ),
    }


def write_geojson(assessment, path: str | Path) -> Path:
    """Write findings as GeoJSON; sorted keys and fixed precision make it byte-identical."""
    doc = geojson_document(assessment)
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return _atomic_write(Path(path), text + "\n")


def assessment_document(assessment) -> dict[str, Any]:
    """The whole assessment as a JSON-safe dict (geometry as WKT in WGS84)."""
    geoms = _geoms_in(assessment, WGS84)
    findings = finding_records(assessment)
    for record, geom in zip(findings, geoms, strict=True):
        record["geometry_wkt"] = (
            None if geom is None else shapely.to_wkt(geom, rounding_precision=GEOJSON_DECIMALS)
        )
    return jsonable(
        {
            "provenance": assessment.provenance,
            "summary": assessment.summary_line(),
            "counts": assessment.counts(),
            "scores": score_records(assessment),
            "issues": issue_records(assessment),
            "coverage": assessment.coverage,
            "completeness": completeness_record(assessment),
            "metrics": assessment.metrics,
            "findings": findings,
            "input_notes": [asdict(n) for n in assessment.notes],
            "failures": [asdict(f) for f in assessment.failures],
        }
    )


def write_json(assessment, path: str | Path) -> Path:
    """Write the whole assessment as JSON."""
    text = json.dumps(assessment_document(assessment), sort_keys=True, ensure_ascii=False, indent=2)
    return _atomic_write(Path(path), text + "\n")


def write_csv(assessment, path: str | Path) -> Path:
    """Write findings as CSV, one row each, geometry as WKT in WGS84."""
    import io

    geoms = _geoms_in(assessment, WGS84)
    buf = io.StringIO()
    fields = [
        "finding_id",
        "issue_id",
        "rule_id",
        "area",
        "severity",
        "planning_weight",
        "basis",
        "scope",
        "title",
        "message",
        "recommendation",
        "view",
        "evidence",
        "references",
        "features",
        "moderation",
        "geometry_wkt",
    ]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record, geom in zip(finding_records(assessment), geoms, strict=True):
        record["evidence"] = json.dumps(record["evidence"], sort_keys=True)
        record["references"] = "; ".join(record["references"])
        record["features"] = "; ".join(record["features"])
        record["moderation"] = "; ".join(record["moderation"])
        record["geometry_wkt"] = (
            "" if geom is None else shapely.to_wkt(geom, rounding_precision=GEOJSON_DECIMALS)
        )
        writer.writerow(record)
    return _atomic_write(Path(path), buf.getvalue())


#: GeoPackage 1.2, which every GDAL since 2.2 reads in full (QGIS 3.22 on GDAL 3.6 warns
#: that the 1.4 files of newer GDALs "may only be partially supported").
GPKG_OPTIONS = {"dataset_options": {"VERSION": "1.2"}}


def write_gpkg(assessment, path: str | Path) -> Path:
    """Write findings to a GeoPackage in the layout's CRS, one layer per geometry kind.

    Also an ``issues`` layer (a point on each issue's place), and a QGIS style for each
    layer in ``layer_styles`` (colour by severity; findings labelled with the rule title,
    issues with the place; see :mod:`safespace.io.gpkg_styles`).
    """
    frame = findings_frame(assessment)
    frame["evidence"] = [json.dumps(e, sort_keys=True) for e in frame["evidence"]]
    frame["references"] = ["; ".join(r) for r in frame["references"]]
    frame["features"] = ["; ".join(r) for r in frame["features"]]
    frame["moderation"] = ["; ".join(r) for r in frame["moderation"]]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    kinds = {
        "points": ("Point", "MultiPoint"),
        "lines": ("LineString", "MultiLineString"),
        "polygons": ("Polygon", "MultiPolygon"),
    }
    geom_types = frame.geometry.geom_type
    wrote = False
    styles: dict[str, tuple[str, str]] = {}
    symbol = {"points": "marker", "lines": "line", "polygons": "fill"}
    for layer, names in kinds.items():
        part = frame[geom_types.isin(names)]
        if len(part):
            part.to_file(tmp, layer=f"findings_{layer}", driver="GPKG", engine="pyogrio",
                         **GPKG_OPTIONS)  # fmt: skip
            styles[f"findings_{layer}"] = (symbol[layer], "title")
            wrote = True
    if assessment.issues:
        _issues_frame(assessment).to_file(
            tmp, layer="issues", driver="GPKG", engine="pyogrio", **GPKG_OPTIONS
        )
        styles["issues"] = ("marker", "place")
    located = frame.geometry.notna() & ~frame.geometry.is_empty if len(frame) else []
    unlocated = frame[~np.asarray(located, dtype=bool)] if len(frame) else frame
    if len(unlocated) or not wrote:
        table = unlocated.drop(columns=frame.geometry.name)
        gpd.GeoDataFrame(table, geometry=[None] * len(table), crs=frame.crs).to_file(
            tmp, layer="findings_unlocated", driver="GPKG", engine="pyogrio", **GPKG_OPTIONS
        )
    from safespace.io.gpkg_styles import add_styles

    add_styles(tmp, styles)  # QGIS applies them on open: colour by severity, a label
    os.replace(tmp, path)
    return path


def _issues_frame(assessment) -> gpd.GeoDataFrame:
    """Issues as points (a point on each issue's place), one row each, for the GeoPackage."""
    records = issue_records(assessment)
    for rec in records:
        rec["issue_id"] = rec.pop("id")
        for key in ("rules", "finding_ids", "areas", "evidence"):
            rec[key] = "; ".join(str(v) for v in rec[key] or ())
        rec["priority_terms"] = json.dumps(rec["priority_terms"], sort_keys=True)
    geoms = [
        None if i.geometry is None or i.geometry.is_empty else shapely.point_on_surface(i.geometry)
        for i in assessment.issues
    ]
    return gpd.GeoDataFrame(records, geometry=geoms, crs=assessment.crs)


def _write_docx(assessment, path, position=None):
    """The consultation response draft as DOCX (see :mod:`safespace.response`)."""
    from safespace.response import write_docx

    return write_docx(assessment, path, position=position)


def _write_markdown(assessment, path, position=None):
    """The consultation response draft as Markdown (see :mod:`safespace.response`)."""
    from safespace.response import write_markdown

    return write_markdown(assessment, path, position=position)


#: The formats that state an officer's position, and so take ``position=``.
POSITION_FORMATS = ("html", "docx", "md")


def write_any(
    assessment, path: str | Path, format: str | None = None, *, position: str | None = None
) -> Path:
    """Write in the format named, or the one the extension implies.

    ``position`` is the officer's own overall position (``objection``, ``subject to
    conditions``, ``no objection``), overriding the derived one in the report and response.
    A PostGIS address (``postgresql://...``) writes the tables of :func:`write_postgis
    <safespace.io.postgis.write_postgis>` and returns the address without credentials.
    """
    from safespace.io._pgurl import is_postgis_url, redact

    if is_postgis_url(path):
        if format not in (None, "postgis") or position is not None:
            raise InputError("a PostGIS output takes no --format or --position", file=redact(path))
        from safespace.io.postgis import write_postgis

        write_postgis(assessment, str(path))
        return redact(path)  # type: ignore[return-value]
    path = Path(path)
    fmt = format or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"cannot tell the output format from {path.suffix!r}; use one of "
            f"{sorted(set(FORMATS.values()))} with --format",
            file=str(path),
        )
    writers = {
        "geojson": write_geojson,
        "json": write_json,
        "csv": write_csv,
        "gpkg": write_gpkg,
        "html": lambda a, p, position=None: a.to_html(p, position=position),
        "docx": _write_docx,
        "md": _write_markdown,
    }
    if fmt not in writers:
        raise InputError(f"unknown format {fmt!r}; use one of {sorted(writers)}")
    if fmt in POSITION_FORMATS:
        return writers[fmt](assessment, path, position=position)
    if position is not None:
        raise InputError(
            f"a {fmt} file states no position; use .html, .docx or .md", file=str(path)
        )
    return writers[fmt](assessment, path)
