"""Origins and destinations of :mod:`safespace.analyses.travel_time` (private): police
premises and emergency phones, dwellings, building targets and route samples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace._classify import DWELLINGS
from safespace._geom import inner_points
from safespace.analyses._kern_router import Router
from safespace.errors import InputError

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Residential ``building=*`` values counted as dwellings: the layout's one vocabulary
#: (``_classify.DWELLINGS``; this list once had 8 of its 13 values, so PA001 counted homes
#: differently from SL006, SL008 and PM005).
DWELLING_VALUES = DWELLINGS


# --------------------------------------------------------------------------------------------
# premises
# --------------------------------------------------------------------------------------------


def _load_extra(extra: Any, layout: Layout) -> gpd.GeoDataFrame:
    """Police premises given outside the layout: a police layer frame or a file path."""
    if isinstance(extra, str | Path):
        from safespace.layout import load

        return load(extra, crs=layout.crs).police
    if isinstance(extra, gpd.GeoDataFrame):
        frame = extra
        if frame.crs is not None and layout.crs is not None and not frame.crs.equals(layout.crs):
            frame = frame.to_crs(layout.crs)
        return frame
    raise InputError(f"extra_police must be a GeoDataFrame or a path, not {type(extra).__name__}")


def premises_points(
    layout: Layout,
    which: str = "police",
    *,
    extra_police: Any = None,
) -> gpd.GeoDataFrame:
    """The points travel is measured from, one row per premises.

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`.
    which
        ``"police"`` every ``amenity=police`` object; ``"public"`` only the public-facing ones
        (column ``public_facing``, see ``docs/police-access.md``); ``"phones"`` the
        ``emergency=phone`` points; ``"public+phones"`` both.
    extra_police
        Premises outside the layout: a GeoDataFrame shaped like ``layout.police`` (rows
        without ``public_facing`` count as public-facing; without ``access_point`` the
        geometry's representative point is used) or a path read with
        ``safespace.load(path).police``.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``fid``, ``kind`` (``police``/``phone``), ``origin``, ``public_facing``,
        ``name``; geometry the access point.
    """
    if which not in ("police", "public", "phones", "public+phones"):
        raise ValueError(f"which must be police, public, phones or public+phones, not {which!r}")
    parts = []
    police = [layout.police]
    if extra_police is not None:
        police.append(_load_extra(extra_police, layout))
    if which in ("police", "public", "public+phones"):
        for i, frame in enumerate(police):
            if frame is None or frame.empty:
                continue
            pts = (
                frame["access_point"].values
                if "access_point" in frame.columns
                else inner_points(frame.geometry.values)
            )
            pts = np.asarray(pts, dtype=object)
            missing = np.array([p is None or shapely.is_empty(p) for p in pts], dtype=bool)
            if missing.any():
                pts[missing] = inner_points(frame.geometry.values[missing])
            public = (
                frame["public_facing"].fillna(True).astype(bool).to_numpy()
                if "public_facing" in frame.columns
                else np.ones(len(frame), dtype=bool)
            )
            parts.append(
                pd.DataFrame(
                    {
                        "fid": frame["fid"].astype(str).to_numpy()
                        if "fid" in frame.columns
                        else [f"police/{j}" for j in range(len(frame))],
                        "kind": "police",
                        "origin": frame["origin"].to_numpy()
                        if "origin" in frame.columns
                        else ("context" if i else "proposal"),
                        "public_facing": public,
                        "name": frame["name"].to_numpy() if "name" in frame.columns else None,
                        "geometry": pts,
                    }
                )
            )
    if which == "public" or which == "public+phones":
        parts = [p[p["public_facing"]] for p in parts]
    if which in ("phones", "public+phones") and not layout.emergency_phones.empty:
        ph = layout.emergency_phones
        parts.append(
            pd.DataFrame(
                {
                    "fid": ph["fid"].astype(str).to_numpy(),
                    "kind": "phone",
                    "origin": ph["origin"].to_numpy(),
                    "public_facing": True,
                    "name": ph["name"].to_numpy(),
                    "geometry": inner_points(ph.geometry.values),
                }
            )
        )
    cols = ["fid", "kind", "origin", "public_facing", "name", "geometry"]
    parts = [p for p in parts if len(p)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return gpd.GeoDataFrame(frame[cols], geometry="geometry", crs=layout.crs)


# --------------------------------------------------------------------------------------------
# destinations: buildings and route samples
# --------------------------------------------------------------------------------------------


def dwelling_mask(buildings: gpd.GeoDataFrame) -> tuple[np.ndarray, bool]:
    """Which buildings are dwellings by their ``building=*`` value alone, and whether any was.

    A dwelling has a ``building=*`` value in :data:`DWELLING_VALUES`. When no building has
    one, every building counts (second value False) — say so in any finding. The rules use
    :func:`homes`, the layout's one dwelling vocabulary, instead.
    """
    if buildings.empty:
        return np.zeros(0, dtype=bool), False
    col = buildings["building"] if "building" in buildings.columns else pd.Series([None])
    mask = col.astype(str).str.lower().isin(DWELLING_VALUES).to_numpy()
    if mask.any():
        return mask, True
    return np.ones(len(buildings), dtype=bool), False


def homes(layout: Layout) -> np.ndarray:
    """Per row of ``layout.buildings``: is it a home? The layout's one dwelling vocabulary
    (:func:`safespace._classify.dwelling_mask`: tags, ``building:use``, an ``entrance=home``)
    when the buildings carry it, else :func:`dwelling_mask`."""
    b = layout.buildings
    if b.empty:
        return np.zeros(0, dtype=bool)
    if "dwelling" in b.columns:
        from safespace._classify import dwelling_mask as classified

        return np.asarray(classified(layout), dtype=bool)
    return dwelling_mask(b)[0]


def building_targets(layout: Layout, router: Router) -> pd.DataFrame:
    """One or more destination points per building: its tagged entrances, else the point of
    its outline nearest the network.

    Returns
    -------
    pandas.DataFrame
        ``building`` (row index in ``layout.buildings``), ``entrance_fid`` (or None),
        ``point``.

    Notes
    -----
    O(B log E): one nearest-edge query for the buildings without entrances.
    """
    b = layout.buildings
    if b.empty:
        return pd.DataFrame({"building": np.zeros(0, np.int64), "entrance_fid": [], "point": []})
    ent = layout.entrances
    rows = []
    has_entrance = np.zeros(len(b), dtype=bool)
    if not ent.empty and "building_fid" in ent.columns:
        pos = pd.Series(np.arange(len(b)), index=b["fid"].astype(str))
        pos = pos[~pos.index.duplicated()]
        bf = ent["building_fid"]
        known = bf.notna().to_numpy() & bf.astype(str).isin(pos.index).to_numpy()
        e = ent[known]
        bi = pos.loc[e["building_fid"].astype(str)].to_numpy()
        has_entrance[bi] = True
        rows.append(
            pd.DataFrame(
                {
                    "building": bi,
                    "entrance_fid": e["fid"].to_numpy(),
                    "point": inner_points(e.geometry.values),
                }
            )
        )
    rest = np.flatnonzero(~has_entrance)
    if len(rest):
        polys = b.geometry.values[rest]
        ti, _, near = router.nearest_segments(polys)
        pts = np.empty(len(polys), dtype=object)
        found = ti >= 0
        pts[found] = shapely.points(near[found])
        if not found.all():
            pts[~found] = inner_points(polys[~found])
        rows.append(pd.DataFrame({"building": rest, "entrance_fid": None, "point": pts}))
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["building"], kind="stable").reset_index(drop=True)


def route_samples(lines: gpd.GeoDataFrame, spacing_m: float | None = 25.0) -> gpd.GeoDataFrame:
    """Sample points every ``spacing_m`` along lines: the midpoints of equal stretches.

    A line of length L gets n = ⌈L / spacing⌉ stretches of L / n metres each.

    Returns
    -------
    geopandas.GeoDataFrame
        ``route_fid``, ``route`` (row index), ``along_m`` (sample position), ``length_m``
        (stretch length), geometry the sample point.

    Notes
    -----
    O(N) vectorised interpolations for N samples.
    """
    if spacing_m is not None and spacing_m <= 0:
        raise ValueError("spacing_m must be positive")
    cols = {"route_fid": [], "route": np.zeros(0, np.int64), "along_m": [], "length_m": []}
    if spacing_m is None or lines is None or lines.empty:
        return gpd.GeoDataFrame(cols, geometry=[], crs=getattr(lines, "crs", None))
    geoms = lines.geometry.values
    length = shapely.length(geoms)
    ok = np.flatnonzero(length > 0)
    n = np.ceil(length[ok] / spacing_m - 1e-9).astype(np.int64).clip(min=1)
    row = np.repeat(ok, n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    each = np.repeat(length[ok] / n, n)
    along = (step + 0.5) * each
    pts = shapely.line_interpolate_point(geoms[row], along)
    fids = lines["fid"].astype(str).to_numpy() if "fid" in lines.columns else row.astype(str)
    return gpd.GeoDataFrame(
        {"route_fid": fids[row], "route": row, "along_m": along, "length_m": each},
        geometry=pts,
        crs=lines.crs,
    )
