"""A control made of street segments matched to the treated area's segments.

A control area drawn by hand is rarely comparable: it holds more or less crime, on more or
less street, than the treated area. The alternative used in place-based evaluation is a
*matched* control: the street segments (junction to junction, the micro-places of Weisburd
2015) of the treated area are each paired with one untreated segment elsewhere that had the
same, or the nearest, number of recorded incidents in the before period, and the most
similar length. Braga, Hureau & Papachristos (2011) matched Boston's treated street segments
to untreated ones on their pre-intervention violent crime and place characteristics
(propensity scores); this is the simplest form of that idea, matching on the before count
and the length alone.
The control's counts are then the incidents of the matched segments, so its before count is
close to the treated area's by construction, the condition under which the WDD's
difference-in-differences reads as the intervention's effect.

References
----------
Braga, A. A., Hureau, D. M. and Papachristos, A. V. (2011). An ex post facto evaluation
framework for place-based police interventions. *Evaluation Review* 35(6), 592–626.
Weisburd, D. (2015). The law of crime concentration and the criminology of place.
*Criminology* 53(2), 133–157.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace.errors import InputError


@dataclass(frozen=True)
class MatchedSegments:
    """Ask :func:`safespace.evaluate` for a control of matched street segments.

    Attributes
    ----------
    network
        The street segments: a layout file :func:`safespace.load` reads (an OSM extract, a
        GeoJSON drawing; its walk network is split at junctions), a :class:`Layout`, or a
        GeoDataFrame / GeoSeries of lines (each line one segment).
    snap_m
        An incident belongs to the segment nearest to it within this distance, metres
        (data.police.uk map points lie on or beside a street; default 50 m).
    gap_m
        No control segment within this distance of the treated area or its buffer, metres
        (default 0: anything outside them), so that displaced crime does not count as the
        control's.
    within_m
        Take control segments only within this distance of the treated area (default None:
        the whole network), to keep the control in the same kind of place.
    """

    network: Any
    snap_m: float = 50.0
    gap_m: float = 0.0
    within_m: float | None = None

    def __post_init__(self) -> None:
        for name in ("snap_m", "gap_m", "within_m"):
            v = getattr(self, name)
            if v is None and name == "within_m":
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"MatchedSegments.{name}: a number of metres, not {v!r}")
            if v < 0 or (name == "snap_m" and v == 0):
                raise InputError(f"MatchedSegments.{name}: must be positive, not {v!r}")


def segments_of(network: Any, crs: Any) -> gpd.GeoDataFrame:
    """The network's street segments as a GeoDataFrame (``segment``, ``name``, ``length_m``)
    in ``crs``, one LineString each, in a stable order.

    Raises
    ------
    InputError
        A network with no line, or a frame without a CRS.
    """
    from safespace.layout import Layout

    label = "<network>"
    if isinstance(network, gpd.GeoSeries | gpd.GeoDataFrame):
        if network.crs is None:
            raise InputError("the matched-control network has no CRS: set one (.set_crs)")
        frame = (
            network if isinstance(network, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=network)
        )
        names = frame["name"].astype(object) if "name" in frame.columns else None
        geoms = frame.to_crs(crs).geometry.values
        parts, index = shapely.get_parts(geoms, return_index=True)
        keep = np.isin(shapely.get_type_id(parts), (1, 2))
        parts, index = parts[keep], index[keep]
        name = (
            [None] * len(parts)
            if names is None
            else [names.iloc[i] if isinstance(names.iloc[i], str) else None for i in index]
        )
        out = gpd.GeoDataFrame({"name": name}, geometry=list(parts), crs=crs)
    else:
        if isinstance(network, Layout):
            layout = network
        elif isinstance(network, str | os.PathLike):
            from safespace.layout import load

            label = str(network)
            layout = load(network)
        else:
            raise InputError(
                f"cannot read a matched-control network from a {type(network).__name__}: give "
                "a layout file, a Layout or a GeoDataFrame of lines"
            )
        from safespace.analyses.crime import _edge_frame
        from safespace.analyses.network import walk_network

        edges = _edge_frame(walk_network(layout), layout.crs).to_crs(crs)
        out = gpd.GeoDataFrame(
            {"name": list(edges["fid"])}, geometry=list(edges.geometry.values), crs=crs
        )
    out = out[~shapely.is_empty(out.geometry.values) & (shapely.length(out.geometry.values) > 0)]
    if out.empty:
        raise InputError("the matched-control network has no street segment", file=label)
    out = out.reset_index(drop=True)
    out.insert(0, "segment", np.arange(len(out)))
    out["length_m"] = shapely.length(out.geometry.values)
    return out


def snap_to_segments(points: np.ndarray, segments: gpd.GeoDataFrame, snap_m: float) -> np.ndarray:
    """The index of each point's nearest segment within ``snap_m`` metres, else -1.

    Ties go to the lowest segment index. O((P + S) log S) with shapely's STRtree, P points
    and S segments.
    """
    out = np.full(len(points), -1, dtype=np.int64)
    if not len(points):
        return out
    tree = shapely.STRtree(segments.geometry.values)
    (pi, si), _ = tree.query_nearest(points, max_distance=snap_m, return_distance=True)
    if len(pi):
        order = np.lexsort((si, pi))  # per point, lowest segment first
        pi, si = pi[order], si[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = si[first]
    return out


def match_segments(
    segments: gpd.GeoDataFrame,
    before_counts: np.ndarray,
    treated: shapely.Geometry,
    taken: shapely.Geometry,
    spec: MatchedSegments,
) -> pd.DataFrame:
    """Pair each treated segment with one untreated segment, 1:1, without replacement.

    Parameters
    ----------
    segments
        From :func:`segments_of`.
    before_counts
        Incidents of the before period snapped to each segment (length ``len(segments)``).
    treated
        The treated area: a segment is treated when its midpoint lies in it.
    taken
        The treated area and its buffer: no control segment touches it (or comes within
        ``spec.gap_m`` of it).
    spec
        The matching's distances.

    Returns
    -------
    pandas.DataFrame
        One row per treated segment, most before-period incidents first: ``treated_segment``,
        ``treated_name``, ``treated_before``, ``treated_length_m``, ``control_segment``,
        ``control_name``, ``control_before``, ``control_length_m``.

    Notes
    -----
    Greedy nearest-neighbour matching: treated segments in decreasing order of their
    before count (then length, then index) each take the unused candidate with the smallest
    ``|Δ count|``, then the smallest ``|ln(length ratio)|``, then the lowest index. Exact on
    the count wherever the pool allows. O(T · C) for T treated and C candidate segments.

    Raises
    ------
    InputError
        No segment in the treated area, or fewer candidates than treated segments.
    """
    geoms = segments.geometry.values
    mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    shapely.prepare(treated)
    is_treated = shapely.covers(treated, mid)
    if not is_treated.any():
        raise InputError(
            "no street segment of the matched-control network has its middle in the treated "
            "area: does the network cover it (same place)?"
        )
    barrier = shapely.buffer(taken, spec.gap_m) if spec.gap_m > 0 else taken
    shapely.prepare(barrier)
    candidate = ~shapely.intersects(barrier, geoms) & ~is_treated
    if spec.within_m is not None:
        candidate &= shapely.dwithin(geoms, treated, spec.within_m)
    t_idx = np.flatnonzero(is_treated)
    c_idx = np.flatnonzero(candidate)
    if len(c_idx) < len(t_idx):
        raise InputError(
            f"the matched control needs {len(t_idx)} untreated street segments and the network "
            f"has {len(c_idx)} outside the treated area and its buffer"
            + (f" within {spec.within_m:g} m" if spec.within_m is not None else "")
            + ": give a wider network or a larger within_m"
        )
    counts = np.asarray(before_counts, dtype=float)
    length = segments["length_m"].to_numpy(dtype=float)
    order = sorted(t_idx, key=lambda i: (-counts[i], -length[i], i))
    free = np.ones(len(c_idx), dtype=bool)
    c_counts, c_loglen = counts[c_idx], np.log(length[c_idx])
    rows = []
    for t in order:
        d_count = np.where(free, np.abs(c_counts - counts[t]), np.inf)
        best = d_count.min()
        tie = np.flatnonzero(d_count == best)
        pick = tie[np.argmin(np.abs(c_loglen[tie] - math.log(length[t])))]
        free[pick] = False
        c = c_idx[pick]
        rows.append(
            {
                "treated_segment": int(t),
                "treated_name": segments["name"].iloc[t],
                "treated_before": int(counts[t]),
                "treated_length_m": float(length[t]),
                "control_segment": int(c),
                "control_name": segments["name"].iloc[c],
                "control_before": int(counts[c]),
                "control_length_m": float(length[c]),
            }
        )
    return pd.DataFrame(rows)
