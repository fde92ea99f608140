"""The incidents an evaluation counts, from files or frames, with their months."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace.errors import InputError
from safespace.evaluation.areas import _crs_of

_MONTH_NAMES = ("month", "Month")


def _incident_frame(incidents: Any, crs: Any) -> tuple[gpd.GeoDataFrame, list[str], str]:
    """The incidents as one GeoDataFrame (source, category, month, geometry), notes, a label.

    The frame's ``attrs["formats"]`` lists the readers' formats (``data.police.uk``, ...).
    """
    notes: list[str] = []
    formats: list[str] = []
    if isinstance(incidents, gpd.GeoDataFrame):
        fmt = incidents.attrs.get("format")
        formats += [fmt] if isinstance(fmt, str) and fmt else []
        frames, label = [(incidents, "<GeoDataFrame>")], "<GeoDataFrame>"
    elif isinstance(incidents, str | os.PathLike) or (
        isinstance(incidents, Sequence) and not isinstance(incidents, str)
    ):
        paths = [incidents] if isinstance(incidents, str | os.PathLike) else list(incidents)
        if not paths:
            raise InputError("incidents: no file given")
        try:
            from safespace.io.incidents import read_incidents
        except ImportError as exc:  # pragma: no cover - until the reader is installed
            raise InputError(
                f"reading incident files needs safespace.io.incidents ({exc}); pass a "
                "GeoDataFrame as incidents="
            ) from None
        frames = []
        for p in paths:
            if isinstance(p, gpd.GeoDataFrame):
                frames.append((p, "<GeoDataFrame>"))
                continue
            frame = read_incidents(p)
            fmt = frame.attrs.get("format")
            if isinstance(fmt, str) and fmt:
                formats.append(fmt)
            unlocated = _unlocated(frame)
            if unlocated:
                notes.append(f"{p}: {unlocated:,} incident(s) without a location not counted")
            frames.append((frame, str(p)))
        label = ", ".join(str(p) for p in paths if not isinstance(p, gpd.GeoDataFrame))
    else:
        raise InputError(
            f"incidents: cannot read a {type(incidents).__name__}; give a path, a list of "
            "paths or a GeoDataFrame"
        )
    out = []
    for frame, flabel in frames:
        fcrs = frame.crs if frame.crs is not None else crs
        if fcrs is None:
            raise InputError(
                "the incidents have no CRS: set one (.set_crs) or pass crs=...", file=label
            )
        fcrs = _crs_of(fcrs, "incidents")
        if "category" not in frame.columns:
            raise InputError("the incidents have no 'category' column", file=label)
        month = _month_column(frame, label)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        ok = ~shapely.is_missing(geoms)
        ok[ok] = ~shapely.is_empty(geoms[ok])
        if (~ok).any():
            notes.append(f"{int((~ok).sum()):,} incident(s) without a geometry not counted")
        source = (
            frame["source"].astype(str).to_numpy()[ok]
            if "source" in frame.columns
            else np.full(int(ok.sum()), flabel, dtype=object)
        )
        part = gpd.GeoDataFrame(
            {
                "source": source,
                "category": frame["category"]
                .astype(object)
                .where(frame["category"].notna(), "unknown")
                .astype(str)
                .to_numpy()[ok],
                "month": month[ok],
            },
            geometry=shapely.point_on_surface(geoms[ok]) if ok.any() else geoms[ok],
            crs=fcrs,
        )
        out.append(part)
    crs0 = out[0].crs
    frame = gpd.GeoDataFrame(
        pd.concat([f.to_crs(crs0) for f in out], ignore_index=True),
        geometry="geometry",
        crs=crs0,
    )
    frame.attrs = {"formats": sorted(set(formats))}
    return frame, notes, label


def _unlocated(frame: gpd.GeoDataFrame) -> int:
    """Incidents a reader counted but could not place, from its ``attrs`` (0 if unknown)."""
    for key in ("unlocated", "n_unlocated", "unlocated_count"):
        v = frame.attrs.get(key)
        if isinstance(v, int | np.integer):
            return int(v)
        if isinstance(v, Mapping):
            nums = [x for x in v.values() if isinstance(x, int | np.integer)]
            return int(sum(nums))
        if isinstance(v, pd.DataFrame | Sequence) and not isinstance(v, str):
            return len(v)
    return 0


def _month_column(frame: pd.DataFrame, label: str) -> np.ndarray:
    for name in _MONTH_NAMES:
        if name in frame.columns:
            col = frame[name]
            if pd.api.types.is_datetime64_any_dtype(col):
                return col.dt.strftime("%Y-%m").to_numpy(dtype=object)
            text = col.astype(str).str.strip().str[:7]
            return text.where(text.str.match(r"^\d{4}-\d{2}$"), None).to_numpy(dtype=object)
    if "date" in frame.columns:
        dates = pd.to_datetime(frame["date"], errors="coerce")
        return dates.dt.strftime("%Y-%m").to_numpy(dtype=object)
    raise InputError("the incidents have no 'month' (YYYY-MM) or 'date' column", file=label)
