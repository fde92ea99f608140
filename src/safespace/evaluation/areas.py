"""The evaluation's areas: polygons from files, geometries or frames; rings; overlap checks."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from safespace.errors import InputError

ALL = "all"

#: Overlap (m²) below which two areas drawn edge to edge are taken not to overlap: a
#: shared boundary digitised twice differs by rounding (1e-7° ≈ 1 cm), which leaves
#: slivers of a few cm² along a 1 km edge; a real overlap of a street width is ≫ 1 m².
OVERLAP_TOLERANCE_M2 = 1.0


def _crs_of(value: Any, what: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InputError(f"{what}: unknown CRS {value!r} ({exc})") from None


def _polygon_of(value: Any, what: str, crs: Any) -> tuple[shapely.Geometry, CRS, str, str]:
    """One (multi)polygon, its CRS, a label and a name (or ``""``), from a file, geometry or frame."""
    label = f"<{what}>"
    if isinstance(value, shapely.Geometry):
        if crs is None:
            raise InputError(
                f"the {what} area is a shapely geometry without a CRS: pass crs=... (e.g. "
                "'EPSG:4326') or give a GeoSeries/GeoDataFrame that has one"
            )
        geoms, src = np.array([value], dtype=object), _crs_of(crs, what)
        tags = [{}]
    elif isinstance(value, gpd.GeoSeries | gpd.GeoDataFrame):
        if value.crs is None and crs is None:
            raise InputError(
                f"the {what} {type(value).__name__} has no CRS: set one (.set_crs) or pass crs=...",
                file=f"<{type(value).__name__}>",
            )
        src = _crs_of(value.crs if value.crs is not None else crs, what)
        geoms = np.asarray(
            value.geometry.values if isinstance(value, gpd.GeoDataFrame) else value.values,
            dtype=object,
        )
        names = value["name"] if isinstance(value, gpd.GeoDataFrame) and "name" in value else None
        tags = [{}] * len(geoms) if names is None else [{"name": n} for n in names]
        label = f"<{type(value).__name__}>"
    elif isinstance(value, str | os.PathLike | Mapping):
        from safespace.io.sources import read_source

        raw = read_source(value)
        label = raw.label
        if raw.features.crs is None and crs is None:
            raise InputError(f"the {what} file has no CRS: pass crs=...", file=label)
        src = _crs_of(raw.features.crs if raw.features.crs is not None else crs, what)
        geoms = np.asarray(raw.features.geometry.values, dtype=object)
        tags = list(raw.features["tags"]) if "tags" in raw.features else [{}] * len(geoms)
    else:
        raise InputError(
            f"cannot read the {what} area from a {type(value).__name__}: give a polygon file, "
            "a shapely polygon, a GeoSeries or a GeoDataFrame"
        )
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) if len(geoms) else np.array([])
    polys = np.isin(shapely.get_type_id(geoms), (3, 6)) & ok if len(geoms) else ok
    if not polys.any():
        raise InputError(f"the {what} area has no polygon", file=label)
    site = np.array([t.get("safespace:role") == "site" for t in tags], dtype=bool) & polys
    chosen = geoms[site if site.any() else polys]
    geom = shapely.union_all(shapely.make_valid(chosen))
    geom = shapely.union_all(
        [g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in (3, 6)]
    )
    if geom.is_empty or geom.area == 0:
        raise InputError(f"the {what} area has no extent", file=label)
    picked = [t for t, k in zip(tags, site if site.any() else polys, strict=True) if k]
    names = [str(t["name"]) for t in picked if isinstance(t.get("name"), str) and t["name"].strip()]
    return geom, src, label, ", ".join(dict.fromkeys(names))


def _to(geom: shapely.Geometry, src: CRS, dst: CRS) -> shapely.Geometry:
    if src.equals(dst):
        return geom
    return gpd.GeoSeries([geom], crs=src).to_crs(dst).values[0]


def _width(value: Any, what: str) -> float | None:
    """A ring width in metres, or None when ``value`` is not a number."""
    if isinstance(value, bool):
        raise InputError(f"{what}: {value!r} is neither a width in metres nor a polygon")
    if isinstance(value, int | float | np.integer | np.floating):
        w = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9.]+\s*(m)?\s*", value):
        w = float(value.strip().removesuffix("m"))
    else:
        return None
    if not math.isfinite(w) or w <= 0:
        raise InputError(f"{what}: a ring width must be a positive number of metres, not {value!r}")
    return w


def _ring(core: shapely.Geometry, width: float) -> shapely.Geometry:
    return shapely.difference(shapely.buffer(core, width, quad_segs=16), core)


def _check_apart(named: dict[str, shapely.Geometry], pairs: Iterable[tuple[str, str]]) -> None:
    for a, b in pairs:
        ga, gb = named.get(a), named.get(b)
        if ga is None or gb is None:
            continue
        overlap = shapely.intersection(ga, gb).area
        if overlap > OVERLAP_TOLERANCE_M2:
            hint = {
                ("treated", "control"): "a control must lie outside the treated area",
                ("buffer", "control"): "the control must lie outside the treated area's "
                "buffer, or displaced crime would count as the control's",
            }.get((a, b), "the areas must not overlap")
            raise InputError(
                f"the {a.replace('_', ' ')} and {b.replace('_', ' ')} areas overlap by "
                f"{overlap:,.0f} m²: {hint}"
            )
