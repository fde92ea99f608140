"""Foot routes behind dwellings: which buildings flank a route, and which way they face.

Secured by Design (residential scenario 5) warns against footpaths that run behind homes,
between rear gardens: most burglary entry is at the rear, and nobody overlooks such a path.
This module finds them from the drawing alone.

Fronts
    A building's *front* is the side its entrances are on (the drawing convention of
    ``docs/tags.md``: the entrance marks the front). With several entrances, ``main`` ones
    win, then any that is not a service, garage, emergency or back door; the front point is
    their mean. A building without a tagged entrance faces the nearest street (the
    ``streets`` layer: ways a vehicle uses) within ``street_search_m``: its front point is the
    point of that street nearest the building's centroid. Otherwise its front is unknown.

Flanks
    Foot-only routes (``highway`` footway, path, steps, cycleway, bridleway, track, corridor,
    pedestrian) are merged into chains between junctions and sampled every ``spacing`` m.
    From each sample a ray is cast ``look_m`` to each side, square to the route; the first
    building it meets *flanks* the route on that side. The building's relation to the route
    comes from the angle between the ray (pointing away from the route) and the building's
    facing (centroid → front point): within ``front_angle`` the front faces away (``rear``:
    the route runs behind it); within ``front_angle`` of the opposite direction the front
    faces the route (``front``); otherwise ``side`` (a gable); ``unknown`` without a front.
    The first opaque barrier (wall, fence, hedge) on each ray is recorded too.

Dwellings
    A building is a home only with residential evidence (:func:`safespace._classify.
    dwelling_mask`: a residential ``building`` value, ``building:use=residential``,
    ``residential=*`` or an ``entrance=home``); an untyped ``building=yes`` is not.

Rear routes
    A sample is *behind dwellings* when at least one side is flanked by a dwelling whose
    front faces away and no flanking building faces the route. Pedestrian streets
    (``highway=pedestrian``) are never rear routes: lined by buildings, they are the street
    those buildings face, whatever the guessed fronts say; nor are indoor ways. Runs of such samples (gaps of
    up to ``max_gap_m`` bridged) at least ``min_length_m`` long are the rear routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from scipy.spatial import cKDTree

from safespace._classify import DWELLINGS, FOOT_ONLY, dwelling_mask
from safespace._geom import flag_runs
from safespace.analyses._jit import tiered
from safespace.analyses._kern_grids import LineTable
from safespace.analyses._kern_snap import _outline_segments, _polygon_segments, _segment_segment
from safespace.errors import InputError

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = [
    "DWELLINGS",
    "FOOT_ONLY",
    "RouteFlanks",
    "building_fronts",
    "overlooked_by_entrances",
    "rear_access",
    "route_flanks",
]

#: Entrance values that do not mark the front.
SECONDARY_ENTRANCES = frozenset({"service", "garage", "emergency", "exit", "back", "delivery"})
#: Barriers that close a route's side.
SIDE_BARRIERS = frozenset({"wall", "fence", "hedge", "retaining_wall", "city_wall"})
_SIDES = ("left", "right")


@dataclass(frozen=True)
class RouteFlanks:
    """Foot-only route chains and their side samples.

    Attributes
    ----------
    chains : geopandas.GeoDataFrame
        ``chain`` (index), ``fids`` (tuple of the ways it runs along), ``highway``,
        ``length_m``, ``geometry``.
    samples : geopandas.GeoDataFrame
        One row per sample: ``chain``, ``position_m``, and for ``side`` in left/right:
        ``{side}_building`` (fid or None), ``{side}_dist_m`` (NaN when none within reach),
        ``{side}_relation`` (``rear``/``front``/``side``/``unknown``/None), ``{side}_dwelling``
        (bool), ``{side}_front_method`` (``entrance``: the front is a mapped entrance;
        ``street``: guessed from the nearest street; None), ``{side}_barrier_m`` (distance
        to the first side barrier, NaN if none).
    """

    chains: gpd.GeoDataFrame
    samples: gpd.GeoDataFrame

    def runs(
        self, flag: np.ndarray, *, max_gap_m: float = 0.0, min_length_m: float = 0.0
    ) -> list[tuple[int, float, float, np.ndarray]]:
        """Runs of flagged samples along each chain: ``(chain, start_m, end_m, sample
        rows)``, by :func:`safespace._geom.flag_runs` (a sample stands for half its chain's
        step either side; runs with a gap of at most ``max_gap_m`` between them are joined).

        O(S) over the samples of the chains with a flagged sample.
        """
        s = self.samples
        if len(s) == 0 or not np.any(flag):
            return []
        chain = s["chain"].to_numpy()
        return flag_runs(
            chain,
            s["position_m"].to_numpy(float),
            self.chains["length_m"].to_numpy(float)[chain],
            flag,
            reach="half_step",
            max_gap_m=max_gap_m,
            min_length_m=min_length_m,
        )


def building_fronts(layout: Layout, *, street_search_m: float = 60.0) -> pd.DataFrame:
    """The front point of every building, from its entrances or the nearest street.

    Parameters
    ----------
    layout
        A :class:`~safespace.Layout` (``buildings``, ``entrances``, ``streets``).
    street_search_m
        A building without an entrance faces the nearest street within this distance.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``layout.buildings``: ``fid``, ``cx``, ``cy`` (centroid), ``fx``, ``fy``
        (front point: mean of the front entrances, or the point of the nearest street nearest
        the centroid; NaN when unknown), ``method`` (``entrance``, ``street`` or None).

    Notes
    -----
    Group-by over the entrances plus a nearest-street search (:func:`_nearest_streets`):
    O((B + E + S) log(B + S) + Σ segment pairs of a building and the streets near it).
    """
    bld = layout.buildings
    n = len(bld)
    geoms = np.asarray(bld.geometry.values, dtype=object)
    cent = shapely.get_coordinates(shapely.centroid(geoms)).reshape(-1, 2)
    out = pd.DataFrame(
        {
            "fid": bld["fid"].to_numpy(dtype=object),
            "cx": cent[:, 0] if n else [],
            "cy": cent[:, 1] if n else [],
            "fx": np.full(n, np.nan),
            "fy": np.full(n, np.nan),
            "method": np.full(n, None, dtype=object),
        },
        index=bld.index,
    )
    if n == 0:
        return out
    row_of = pd.Series(np.arange(n), index=out["fid"].to_numpy())
    row_of = row_of[~row_of.index.duplicated()]
    ent = layout.entrances
    if len(ent) and "building_fid" in ent.columns:
        e = pd.DataFrame(
            {
                "b": ent["building_fid"].to_numpy(dtype=object),
                "kind": ent["entrance"].astype(str).str.lower().to_numpy()
                if "entrance" in ent.columns
                else "yes",
                "x": shapely.get_x(ent.geometry.values),
                "y": shapely.get_y(ent.geometry.values),
            }
        )
        e = e[e["b"].notna() & e["b"].isin(row_of.index)]
        if len(e):
            e["rank"] = np.where(
                e["kind"] == "main", 0, np.where(e["kind"].isin(SECONDARY_ENTRANCES), 2, 1)
            )
            e = e[e["rank"] == e.groupby("b")["rank"].transform("min")]
            mean = e.groupby("b")[["x", "y"]].mean()
            rows = row_of[mean.index].to_numpy()
            out.iloc[rows, out.columns.get_loc("fx")] = mean["x"].to_numpy()
            out.iloc[rows, out.columns.get_loc("fy")] = mean["y"].to_numpy()
            out.iloc[rows, out.columns.get_loc("method")] = "entrance"
    todo = np.flatnonzero(out["method"].isna().to_numpy())
    streets = (
        np.asarray(layout.streets.geometry.values, dtype=object) if len(layout.streets) else []
    )
    if len(todo) and len(streets):
        bi, si = _nearest_streets(geoms[todo], streets, street_search_m)
        if len(bi):
            rows = todo[bi]
            # from the centroid, not the outline: a wall parallel to the street has no single
            # nearest point, and a corner would tilt the facing by 45°
            cpts = shapely.points(cent[rows])
            first = shapely.get_point(shapely.shortest_line(cpts, streets[si]), 1)
            out.iloc[rows, out.columns.get_loc("fx")] = shapely.get_x(first)
            out.iloc[rows, out.columns.get_loc("fy")] = shapely.get_y(first)
            out.iloc[rows, out.columns.get_loc("method")] = "street"
    return out


def route_flanks(
    layout: Layout,
    *,
    spacing: float = 5.0,
    look_m: float = 30.0,
    front_angle: float = 45.0,
    street_search_m: float = 60.0,
) -> RouteFlanks:
    """Sample the foot-only routes and find the building (and barrier) flanking each side.

    Parameters
    ----------
    layout
        A :class:`~safespace.Layout`.
    spacing
        Sample spacing along each chain, m.
    look_m
        How far to look sideways, m.
    front_angle
        Tolerance (degrees) for a front to count as facing away from / towards the route.
    street_search_m
        See :func:`building_fronts`.

    Returns
    -------
    RouteFlanks

    Notes
    -----
    Chains by ``union_all`` + ``line_merge`` (O(V log V)); samples and side rays built as
    arrays; one STRtree query of the rays against buildings and one against barriers, then a
    vectorised intersection per candidate pair: O((S + B) log B + P) for S samples, B
    buildings and P ray–building candidate pairs.
    """
    if not spacing > 0 or not look_m > 0:
        raise InputError(f"spacing and look_m must be positive, got {spacing!r}, {look_m!r}")
    chains = _foot_chains(layout)
    crs = layout.crs
    cols: dict[str, Any] = {"chain": np.zeros(0, np.int64), "position_m": np.zeros(0)}
    lengths = chains["length_m"].to_numpy(float)
    # round, as sample_lines does: floor made the count (and so where every sample falls
    # between the houses) jump when a reprojection shortened a 145.004 m path by 0.03 m
    counts = np.maximum(1, np.round(lengths / spacing)).astype(np.int64) if len(chains) else []
    ci = np.repeat(np.arange(len(chains)), counts)
    k = np.arange(len(ci)) - np.repeat(np.cumsum(counts) - counts, counts) if len(ci) else ci
    pos = (k + 0.5) * lengths[ci] / np.asarray(counts)[ci] if len(ci) else np.zeros(0)
    # points along the chains, as shapely.line_interpolate_point (bit for bit, LineTable)
    table = LineTable(np.asarray(chains.geometry.values, dtype=object))
    xy = table.points(ci, pos)
    pts = shapely.points(xy) if len(ci) else np.empty(0, dtype=object)
    # tangent from the points 0.5 m either side (clipped at the chain ends)
    a = table.points(ci, np.maximum(pos - 0.5, 0))
    b = table.points(ci, np.minimum(pos + 0.5, lengths[ci]))
    tan = (b - a).reshape(-1, 2)
    norm = np.hypot(tan[:, 0], tan[:, 1])
    tan = tan / np.where(norm > 0, norm, 1)[:, None]
    left = np.column_stack([-tan[:, 1], tan[:, 0]])
    cols = {"chain": ci.astype(np.int64), "position_m": pos}

    fronts = building_fronts(layout, street_search_m=street_search_m)
    bgeom = np.asarray(layout.buildings.geometry.values, dtype=object)
    dwelling = dwelling_mask(layout) if len(bgeom) else np.zeros(0, bool)
    method = fronts["method"].to_numpy(dtype=object)
    facing = np.column_stack(
        [fronts["fx"].to_numpy() - fronts["cx"].to_numpy(), fronts["fy"] - fronts["cy"]]
    ).reshape(-1, 2)
    fn = np.hypot(facing[:, 0], facing[:, 1])
    facing = facing / np.where(fn > 1e-6, fn, np.nan)[:, None]
    cos_t = np.cos(np.radians(front_angle))
    # what the rays may hit, made valid and indexed once for both sides
    b_targets = _targets(bgeom)
    w_targets = _targets(_side_barriers(layout))

    for side, sign in zip(_SIDES, (1.0, -1.0), strict=True):
        d = sign * left
        rays = (
            shapely.linestrings(np.stack([xy + 0.05 * d, xy + look_m * d], axis=1))
            if len(xy)
            else np.empty(0, dtype=object)
        )
        hit, dist = _first_hit(rays, pts, b_targets)
        rel = np.full(len(xy), None, dtype=object)
        bfid = np.full(len(xy), None, dtype=object)
        dw = np.zeros(len(xy), dtype=bool)
        how = np.full(len(xy), None, dtype=object)
        ok = hit >= 0
        if ok.any():
            h = hit[ok]
            c = (facing[h] * d[ok]).sum(axis=1)
            r = np.where(c >= cos_t, "rear", np.where(c <= -cos_t, "front", "side"))
            r = np.where(np.isnan(c), "unknown", r)
            rel[ok] = r
            bfid[ok] = fronts["fid"].to_numpy()[h]
            dw[ok] = dwelling[h]
            how[ok] = method[h]
        _, bdist = _first_hit(rays, pts, w_targets)
        cols[f"{side}_building"] = bfid
        cols[f"{side}_dist_m"] = dist
        cols[f"{side}_relation"] = rel
        cols[f"{side}_dwelling"] = dw
        cols[f"{side}_front_method"] = how
        cols[f"{side}_barrier_m"] = bdist
    samples = gpd.GeoDataFrame(cols, geometry=list(pts), crs=crs)
    return RouteFlanks(chains=chains, samples=samples)


def rear_access(
    layout: Layout,
    *,
    spacing: float = 5.0,
    look_m: float = 30.0,
    front_angle: float = 45.0,
    street_search_m: float = 60.0,
    min_length_m: float = 20.0,
    max_gap_m: float = 10.0,
) -> gpd.GeoDataFrame:
    """Foot routes running behind dwellings (between rear gardens).

    Parameters
    ----------
    layout
        A :class:`~safespace.Layout`.
    spacing, look_m, front_angle, street_search_m
        See :func:`route_flanks`.
    min_length_m
        Shortest run reported, m.
    max_gap_m
        Runs separated by at most this much route are joined (a gap between two houses).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per run: ``chain``, ``fids`` (ways), ``highway``, ``start_m``, ``end_m``,
        ``length_m``, ``both_sides_share`` (share of the run's samples with rear-facing
        dwellings on both sides), ``buildings`` (tuple of the flanking dwellings' fids),
        ``fronts_guessed`` (those of them whose front was guessed from the nearest street,
        no entrance being mapped),
        ``geometry`` (the stretch of route).

    Notes
    -----
    :func:`route_flanks`, then a linear scan of each chain's samples: same complexity.
    """
    fl = route_flanks(
        layout,
        spacing=spacing,
        look_m=look_m,
        front_angle=front_angle,
        street_search_m=street_search_m,
    )
    return rear_runs(fl, min_length_m=min_length_m, max_gap_m=max_gap_m, crs=layout.crs)


def rear_runs(
    flanks: RouteFlanks, *, min_length_m: float = 20.0, max_gap_m: float = 10.0, crs: Any = None
) -> gpd.GeoDataFrame:
    """The rear-route runs of :func:`rear_access` from precomputed flanks."""
    s = flanks.samples
    rear = np.zeros(len(s), dtype=bool)
    facing_route = np.zeros(len(s), dtype=bool)
    both = np.ones(len(s), dtype=bool)
    for side in _SIDES:
        rel = s[f"{side}_relation"].to_numpy(dtype=object)
        is_rear = (rel == "rear") & s[f"{side}_dwelling"].to_numpy(bool)
        rear |= is_rear
        both &= is_rear
        facing_route |= rel == "front"
    flag = rear & ~facing_route
    if len(s) and len(flanks.chains):
        street_like = (flanks.chains["highway"].astype(str) == "pedestrian").to_numpy()
        if "indoor" in flanks.chains.columns:
            street_like = street_like | flanks.chains["indoor"].to_numpy(bool)
        flag &= ~street_like[s["chain"].to_numpy()]
    runs = flanks.runs(flag, max_gap_m=max_gap_m, min_length_m=min_length_m)
    rows = []
    for chain, start, end, idx in runs:
        blds, guessed = [], []
        for side in _SIDES:
            rel = s[f"{side}_relation"].to_numpy(dtype=object)[idx]
            dw = s[f"{side}_dwelling"].to_numpy(bool)[idx]
            b = s[f"{side}_building"].to_numpy(dtype=object)[idx]
            how = s[f"{side}_front_method"].to_numpy(dtype=object)[idx]
            rear_here = (rel == "rear") & dw
            blds += list(b[rear_here])
            guessed += list(b[rear_here & (how != "entrance")])
        c = flanks.chains.iloc[chain]
        rows.append(
            {
                "chain": chain,
                "fids": c["fids"],
                "highway": c["highway"],
                "start_m": start,
                "end_m": end,
                "length_m": end - start,
                "both_sides_share": float(both[idx].mean()),
                "buildings": tuple(dict.fromkeys(blds)),
                "fronts_guessed": tuple(dict.fromkeys(guessed)),
                "geometry": shapely.ops.substring(c.geometry, start, end),
            }
        )
    columns = ["chain", "fids", "highway", "start_m", "end_m", "length_m"]
    columns += ["both_sides_share", "buildings", "fronts_guessed", "geometry"]
    frame = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


def overlooked_by_entrances(layout: Layout, *, flanks: RouteFlanks, distance: float) -> np.ndarray:
    """Per flank sample: does a mapped entrance within ``distance`` overlook it?

    An entrance overlooks a sample when the sample lies on the outward side of the
    entrance's building (the side away from its centroid); an entrance on no building looks
    all round. The stand-in for the natural-surveillance field when that is not available
    (PM007).

    Parameters
    ----------
    layout
        The layout (``entrances``, ``buildings``).
    flanks
        The route flanks (:func:`route_flanks`), whose samples are judged.
    distance
        How far an entrance overlooks, m.

    Returns
    -------
    numpy.ndarray
        One bool per row of ``flanks.samples``.

    Notes
    -----
    :func:`building_fronts`, then one KD-tree ball query: O((S + E) log E + P) for S samples,
    E entrances and P sample–entrance pairs within ``distance``.
    """
    s = flanks.samples
    ent = layout.entrances
    out = np.zeros(len(s), dtype=bool)
    if len(s) == 0 or ent.empty:
        return out
    fronts = building_fronts(layout).set_index("fid")
    exy = shapely.get_coordinates(ent.geometry.values)
    bf = ent["building_fid"].to_numpy(dtype=object)
    cxy = np.array(
        [
            (fronts.at[b, "cx"], fronts.at[b, "cy"]) if b in fronts.index else (np.nan, np.nan)
            for b in bf
        ],
        dtype=float,
    ).reshape(-1, 2)
    sxy = shapely.get_coordinates(s.geometry.values)
    pairs = cKDTree(sxy).query_ball_tree(cKDTree(exy), distance)
    si = np.repeat(np.arange(len(sxy)), [len(x) for x in pairs])
    ei = np.fromiter((j for x in pairs for j in x), dtype=np.int64, count=len(si))
    if len(si) == 0:
        return out
    outward = exy[ei] - cxy[ei]
    facing = ((sxy[si] - exy[ei]) * outward).sum(axis=1) > 0
    facing |= np.isnan(outward).any(axis=1)  # an entrance on no building looks all round
    out[si[facing]] = True
    return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _foot_chains(layout: Layout) -> gpd.GeoDataFrame:
    """Foot-only routes merged into chains between junctions, with the ways they run along."""
    fr = layout.foot_routes
    empty = gpd.GeoDataFrame(
        {"chain": [], "fids": [], "highway": [], "indoor": [], "length_m": []},
        geometry=[],
        crs=layout.crs,
    )
    if fr.empty:
        return empty
    hw = fr["highway"].astype(str).to_numpy()
    keep = np.isin(hw, list(FOOT_ONLY))
    if not keep.any():
        return empty
    geoms = np.asarray(fr.geometry.values, dtype=object)[keep]
    fids = fr["fid"].to_numpy(dtype=object)[keep]
    hws = hw[keep]
    ind = (
        fr["indoor"].fillna(False).to_numpy(dtype=bool)[keep]
        if "indoor" in fr.columns
        else np.zeros(len(geoms), dtype=bool)
    )
    merged = shapely.get_parts(shapely.line_merge(shapely.union_all(geoms)))
    merged = merged[shapely.length(merged) > 0]
    if len(merged) == 0:
        return empty
    ci, wi = shapely.STRtree(geoms).query(merged, predicate="intersects")
    shared = shapely.length(shapely.intersection(merged[ci], geoms[wi]))
    ok = shared > 0.5
    ci, wi, shared = ci[ok], wi[ok], shared[ok]
    pairs = pd.DataFrame({"c": ci, "w": wi, "len": shared})
    fid_of = pairs.groupby("c")["w"].apply(lambda w: tuple(dict.fromkeys(fids[w])))
    main = pairs.sort_values("len", ascending=False).drop_duplicates("c").set_index("c")["w"]
    n = len(merged)
    return gpd.GeoDataFrame(
        {
            "chain": np.arange(n),
            "fids": [fid_of.get(i, ()) for i in range(n)],
            "highway": [hws[main[i]] if i in main.index else None for i in range(n)],
            "indoor": [bool(ind[main[i]]) if i in main.index else False for i in range(n)],
            "length_m": shapely.length(merged),
        },
        geometry=list(merged),
        crs=layout.crs,
    )


def _side_barriers(layout: Layout) -> np.ndarray:
    br = layout.barriers
    if br is None or br.empty:
        return np.empty(0, dtype=object)
    kind = br["barrier"].astype(str).str.lower().to_numpy()
    geoms = np.asarray(br.geometry.values, dtype=object)
    keep = np.isin(kind, list(SIDE_BARRIERS)) & (shapely.get_type_id(geoms) != 0)
    return geoms[keep]


def _targets(geoms: np.ndarray) -> tuple[np.ndarray, shapely.STRtree | None]:
    """Geometries a ray may hit, each made valid if it is not, and their STRtree."""
    if len(geoms) == 0:
        return geoms, None
    # an invalid barrier polygon (a fence drawn as a bow-tie) breaks GEOS's intersection
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms, shapely.STRtree(geoms)


def _first_hit(
    rays: np.ndarray, origins: np.ndarray, targets: tuple[np.ndarray, shapely.STRtree | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first geometry each ray meets (-1 if none) and the distance to it;
    ``targets`` is :func:`_targets` of the geometries."""
    n = len(rays)
    hit = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    geoms, tree = targets
    if n == 0 or tree is None:
        return hit, dist
    ri, gi = tree.query(rays, predicate="intersects")
    if len(ri) == 0:
        return hit, dist
    # a route passing through a building (a covered passage) is not flanked by it
    inside = shapely.intersects(origins[ri], geoms[gi])
    ri, gi = ri[~inside], gi[~inside]
    if len(ri) == 0:
        return hit, dist
    d = shapely.distance(origins[ri], shapely.intersection(rays[ri], geoms[gi]))
    order = np.lexsort((d, ri))
    ri, gi, d = ri[order], gi[order], d[order]
    first = np.r_[True, ri[1:] != ri[:-1]]
    hit[ri[first]] = gi[first]
    dist[ri[first]] = d[first]
    return hit, dist


#: Two streets nearer than this (m) to a building than each other are a tie: shapely's
#: ``STRtree.query_nearest`` settles it (so the pick is the one it always was).
_TIE_M = 1e-6


def _nearest_streets(
    geoms: np.ndarray, streets: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """``STRtree(streets).query_nearest(geoms, max_distance=..., all_matches=False)``.

    The same pairs, found faster: the streets whose boxes come within ``max_distance`` (+ 1
    m) of a building's box are its candidates, and a kernel takes the distance of each
    candidate as GEOS does (least distance between their segments, 0 when they cross or a
    street starts inside the building). A building whose two nearest streets lie within
    :data:`_TIE_M` of each other, or whose nearest lies within it of ``max_distance``, is
    asked of the tree itself (GEOS then picks among equal distances by its traversal).

    Notes
    -----
    O((B + S) log S) for the box query, plus O(Σ segments of a building × segments of a
    candidate) for the distances.
    """
    tree = shapely.STRtree(streets)
    if not (0 < max_distance < np.inf):
        return tree.query_nearest(geoms, max_distance=max_distance, all_matches=False)
    n = len(geoms)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    # candidates: the streets whose box, grown by max_distance + 1 m, meets the building's
    # (asked from the streets' side: there are fewer of them)
    b = shapely.bounds(streets) + np.array([-1.0, -1.0, 1.0, 1.0]) * (max_distance + 1.0)
    fine = np.isfinite(b).all(axis=1)
    grown = np.full(len(streets), None, dtype=object)
    grown[fine] = shapely.box(b[fine, 0], b[fine, 1], b[fine, 2], b[fine, 3])
    si, qi = shapely.STRtree(geoms).query(grown)
    order = np.lexsort((si, qi))
    qi, si = qi[order], si[order]
    ragged = _polygon_segments(geoms)
    qa, qb, qstart = ragged if ragged is not None else _outline_segments(geoms)
    sa, sb, sstart = _outline_segments(streets)
    # GEOS: a street with a part starting inside (or on) the polygon is at distance 0
    parts, part_of = shapely.get_parts(streets, return_index=True)
    pxy, pv = shapely.get_coordinates(parts, return_index=True)
    _, first = np.unique(pv, return_index=True)
    fpart = part_of[pv[first]]  # the street of each part with a vertex, in street order
    pstart = np.searchsorted(fpart, np.arange(len(streets) + 1))
    inside = np.zeros(len(qi), dtype=bool)
    cand = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6))[qi])
    if len(cand):
        n_parts = np.diff(pstart)[si[cand]]
        pair = np.repeat(cand, n_parts)
        k = np.arange(n_parts.sum()) - np.repeat(np.cumsum(n_parts) - n_parts, n_parts)
        fxy = pxy[first[np.repeat(pstart[si[cand]], n_parts) + k]]
        hit = shapely.intersects_xy(geoms[qi[pair]], fxy[:, 0], fxy[:, 1])
        inside[pair[hit]] = True
    box = shapely.bounds(geoms)
    d = np.sqrt(_pair_distance2(qa, qb, qstart, sa, sb, sstart, qi, si, box, max_distance + 1.0))
    d[inside] = 0.0
    # per building: the nearest street and the distance of the next nearest
    best = np.full(n, np.inf)
    np.minimum.at(best, qi, d)
    is_best = d == best[qi]
    pick = np.full(n, -1, np.int64)
    pick[qi[is_best]] = si[is_best]
    n_best = np.bincount(qi[is_best], minlength=n)
    second = np.full(n, np.inf)
    np.minimum.at(second, qi[~is_best], d[~is_best])
    unsure = (n_best > 1) | (second <= best + _TIE_M) | (np.abs(best - max_distance) <= _TIE_M)
    unsure &= ok & np.isfinite(best)
    found = ok & ~unsure & (best <= max_distance)
    out_b, out_s = np.flatnonzero(found), pick[found]
    redo = np.flatnonzero(unsure)
    if len(redo):
        rb, rs = tree.query_nearest(geoms[redo], max_distance=max_distance, all_matches=False)
        out_b, out_s = np.r_[out_b, redo[rb]], np.r_[out_s, rs]
        order = np.argsort(out_b, kind="stable")
        out_b, out_s = out_b[order], out_s[order]
    return out_b.astype(np.intp), out_s.astype(np.intp)


def _work_pair_distance2(qa, qb, qstart, sa, sb, sstart, qi, si, *_):
    # pairs × mean segments of a building × mean segments of a street (interpreted: ~2 µs)
    return (
        qi.size * (qa.shape[0] / max(1, qstart.size - 1)) * (sa.shape[0] / max(1, sstart.size - 1))
    )


@tiered(_work_pair_distance2, 20_000)
@numba.njit(cache=True)
def _pair_distance2(qa, qb, qstart, sa, sb, sstart, qi, si, box, cutoff):
    """Squared least distance between the segments of outline ``qi[p]`` (bounding box
    ``box[qi[p]]``) and line ``si[p]`` (0 where two cross or touch), for every pair p; inf
    when it is more than ``cutoff`` (or a geometry is empty). A street segment whose box
    lies further from the outline's box than the least distance so far (or the cutoff) is
    skipped: it cannot come nearer."""
    out = np.full(qi.size, np.inf)
    for p in range(qi.size):
        q = qi[p]
        s = si[p]
        x0, y0, x1, y1 = box[q, 0], box[q, 1], box[q, 2], box[q, 3]
        best = cutoff * cutoff
        found = False
        for m in range(sstart[s], sstart[s + 1]):
            cx, cy, dx, dy = sa[m, 0], sa[m, 1], sb[m, 0], sb[m, 1]
            gx = max(0.0, min(cx, dx) - x1, x0 - max(cx, dx))
            gy = max(0.0, min(cy, dy) - y1, y0 - max(cy, dy))
            if gx * gx + gy * gy > best:
                continue
            for k in range(qstart[q], qstart[q + 1]):
                d = _segment_segment(qa[k, 0], qa[k, 1], qb[k, 0], qb[k, 1], cx, cy, dx, dy)[0]
                if d <= best:
                    best = d
                    found = True
            if found and best == 0.0:
                break
        if found:
            out[p] = best
    return out
