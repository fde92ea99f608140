"""Input preparation: a layout's line layers as coordinates, tags and speeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace.analyses.network.speeds import (
    _EMERGENCY_YES,
    EMERGENCY_EXTRA_HIGHWAYS,
    WALK_SPEED_MPS,
)
from safespace.errors import InputError

if TYPE_CHECKING:
    from safespace.layout import Layout


def _indoor(lines: gpd.GeoDataFrame, tags: list[dict]) -> np.ndarray:
    """Ways indoors or underground (the layer's ``indoor`` column, else the tags)."""
    if "indoor" in lines.columns:
        col = lines["indoor"].astype(object)
        return np.array([v is True or v is np.True_ for v in col], dtype=bool)
    return np.array(
        [t.get("highway") == "corridor" or str(t.get("indoor", "no")).lower() not in ("", "no")
         for t in tags],
        dtype=bool,
    )  # fmt: skip


def _with_emergency_ways(layout: Layout, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The streets plus the foot-only ways an emergency vehicle may use."""
    foot = getattr(layout, "foot_routes", None)
    if foot is None or len(foot) == 0:
        return streets
    hw = _column(foot, "highway")
    tags = _tags(foot)
    have = set(streets["fid"].astype(str)) if "fid" in streets.columns else set()
    fids = foot["fid"].astype(str).tolist() if "fid" in foot.columns else [""] * len(foot)
    extra = np.array(
        [
            f not in have  # a vehicular street is in both layers, under one fid
            and (h in EMERGENCY_EXTRA_HIGHWAYS or h == "track"
                 or str(t.get("emergency", "")).strip().lower() in _EMERGENCY_YES)
            for f, h, t in zip(fids, hw, tags, strict=True)
        ],
        dtype=bool,
    )  # fmt: skip
    if not extra.any():
        return streets
    if len(streets) == 0:
        return foot[extra]
    return gpd.GeoDataFrame(
        pd.concat([streets, foot[extra]], ignore_index=True), crs=streets.crs or foot.crs
    )


def _layer(layout: Layout, name: str) -> gpd.GeoDataFrame:
    try:
        frame = getattr(layout, name)
    except AttributeError as exc:
        raise InputError(f"the layout has no {name!r} layer", feature=None) from exc
    if frame is None:
        return gpd.GeoDataFrame({"fid": []}, geometry=[], crs=getattr(layout, "crs", None))
    return frame


def _column(frame: Any, name: str) -> list[Any]:
    if isinstance(frame, gpd.GeoDataFrame) and name in frame.columns:
        col = frame[name].astype(object)
        return col.where(col.notna(), None).tolist()
    return [None] * len(frame)


def _tags(frame: Any) -> list[dict]:
    if isinstance(frame, gpd.GeoDataFrame) and "tags" in frame.columns:
        return [t if isinstance(t, dict) else {} for t in frame["tags"]]
    return [{}] * len(frame)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return value is not None and str(value).strip().lower() not in ("", "no", "false", "0", "nan")


def _int_or(value: Any, default: int) -> int:
    try:
        return int(float(str(value).split(";")[0]))
    except (TypeError, ValueError):
        return default


def _prepare(lines: Any, speed_mps: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Explode to LineStrings and collect the per-line metadata the builder needs."""
    if isinstance(lines, gpd.GeoDataFrame):
        frame = lines
    else:
        frame = gpd.GeoDataFrame(geometry=list(np.asarray(lines, dtype=object)))
    n = len(frame)
    geoms = np.asarray(frame.geometry.values, dtype=object) if n else np.empty(0, dtype=object)
    kinds = shapely.get_type_id(geoms)
    bad = ~np.isin(kinds, (1, 5)) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        fid = frame["fid"].iloc[i] if "fid" in frame.columns else i
        raise InputError(
            f"network lines must be LineStrings, got {shapely.get_type_id(geoms[i])!r} "
            f"({geoms[i].geom_type})",
            file="<GeoDataFrame>",
            feature=str(fid),
        )
    fid = np.asarray(
        frame["fid"].astype(object).to_numpy() if "fid" in frame.columns else np.arange(n),
        dtype=object,
    )
    highway = np.asarray(_column(frame, "highway"), dtype=object)
    tags = _tags(frame)
    tunnel = _column(frame, "tunnel")
    bridge = [t.get("bridge") for t in tags]
    given = _column(frame, "layer")
    layer = np.array(
        [
            _int_or(
                g if g is not None else t.get("layer"),
                -1 if _truthy(tn) else (1 if _truthy(br) else 0),
            )
            for g, t, tn, br in zip(given, tags, tunnel, bridge, strict=True)
        ],
        dtype=np.int64,
    )
    oneway = _column(frame, "oneway")
    direction = np.zeros(n, dtype=np.int8)
    for i, (ow, t, hw) in enumerate(zip(oneway, tags, highway, strict=True)):
        ow = t.get("oneway") if ow is None else ow
        s = str(ow).strip().lower() if ow is not None else ""
        if isinstance(ow, bool | np.bool_):
            s = "yes" if ow else "no"
        if s in ("yes", "true", "1"):
            direction[i] = 1
        elif s in ("-1", "reverse"):
            direction[i] = -1
        elif s not in ("no", "false", "0") and (
            t.get("junction") in ("roundabout", "circular") or hw in ("motorway",)
        ):
            direction[i] = 1
    if speed_mps is None:
        speed = np.full(n, WALK_SPEED_MPS)
    else:
        speed = np.broadcast_to(np.asarray(speed_mps, dtype=float), (n,)).copy()
    # explode multi-part lines, repeating the metadata
    parts, src = shapely.get_parts(geoms, return_index=True)
    ok = ~shapely.is_empty(parts)
    parts, src = parts[ok], src[ok]
    meta = {
        "fid": fid[src],
        "highway": highway[src],
        "layer": layer[src],
        "direction": direction[src],
        "speed": speed[src],
    }
    return parts, meta
