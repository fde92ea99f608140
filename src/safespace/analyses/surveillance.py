"""Natural-surveillance field: which buildings overlook each point of the public realm.

Natural surveillance is "seeing and being seen" (ISO 22341:2021, 5.2). For every sample of
the public realm (foot routes every ``spacing`` m, pedestrian areas and parking on a grid)
this counts the buildings, and their façades, that have a window-side wall facing it within
``max_distance`` with a clear line of sight.

Observers
---------
Points every ``observer_spacing`` m along each wall that can observe, 0.1 m outside it:

- a building observes unless it is ``safespace:frontage=blank`` or a type without habitable
  rooms (``garage``, ``garages``, ``shed``, ``carport``, ``roof``, ... see
  :data:`~safespace.analyses._visibility.NON_OBSERVING_BUILDINGS`);
- when the building has a tagged entrance, only its *front* observes: the walls whose
  outward normal is within ``front_angle`` of the normal of a wall carrying an entrance.
  The drawing convention is that the entrance marks the front; the back of a house
  overlooks its private garden, not the footpath behind it (Secured by Design, residential
  scenario 5: footpaths behind dwellings are not overlooked) — so rear and gable walls do not
  count even when the building is ``frontage=active``;
- with no entrance tagged, every wall observes (``frontage=active`` says so; untagged
  buildings are given the benefit of the doubt, which real OSM data needs);
- an observer sits at eye height on the highest floor up to ``max_floor`` (0 = ground
  floor): ``eye_height + storey_height × min(levels − 1, max_floor)``. Upper floors see over
  garden fences; a 1.8 m fence hides a walker from a ground-floor window;
- a wall sees only the half-plane in front of it (a target behind the wall's plane, or
  exactly in it, is not seen);
- observer points that fall inside another building (party walls) are dropped.

Line of sight
-------------
Blocked by any building wall (up to its height; unknown height = taller than any sight
line), opaque barriers and shrub/scrub planting up to their tagged height (untagged heights
are not guessed). The target is a standing person's eye, ``target_height`` = 1.6 m.

Default distance
----------------
``max_distance`` = 25 m: at about 22–25 m one can make out facial expressions and dominant
emotions (Gehl, *Life between Buildings* 1971 / *Cities for People* 2010: the social field
of vision), as summarised by designforwalking.com **[quoted]**. Not a guidance threshold:
it is the distance at which an observer could recognise what is happening and who is doing it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from safespace.analyses._visibility import (
    NON_OBSERVING_BUILDINGS,
    STOREY_HEIGHT_M,
    SightIndex,
    group_tuples,
    inside_any_xy,
    polygon_segments,
    route_samples,
)
from safespace.errors import InputError

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["GEHL_DISTANCE_SOURCE", "observers", "surveillance_field", "tagged_indoor"]

GEHL_DISTANCE_SOURCE = (
    "Gehl, Life between Buildings (1971) / Cities for People (2010): facial expressions and "
    "dominant emotions are made out at about 22–25 m, as summarised by designforwalking.com "
    "[quoted]"
)
OBSERVER_OFFSET_M = 0.1  # observers stand just outside the wall, so it does not hide them


def observers(
    layout: Layout,
    *,
    observer_spacing: float = 2.5,
    eye_height: float = 1.6,
    storey_height: float = STOREY_HEIGHT_M,
    max_floor: int = 2,
    front_angle: float = 45.0,
    building_segments: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Observer points on the walls that can overlook public space.

    See the module docstring for which walls observe. Returns a DataFrame with columns
    ``x``, ``y``, ``z`` (eye height), ``nx``, ``ny`` (unit outward normal of the wall),
    ``building`` (row position in ``layout.buildings``), ``wall`` (a global wall id),
    ``front`` (the wall was chosen as a front from a tagged entrance). ``building_segments``:
    :func:`~._visibility.polygon_segments` of the buildings, when the caller has them.

    Complexity: O(wall length / observer_spacing + walls × entrances per building).
    """
    if not observer_spacing > 0:
        raise InputError(f"observer_spacing must be positive, got {observer_spacing!r}")
    b = layout.buildings
    cols = ["x", "y", "z", "nx", "ny", "building", "wall", "front"]
    if b.empty:
        return pd.DataFrame({c: [] for c in cols})
    if building_segments is None:
        building_segments = polygon_segments(b.geometry.values)
    seg, owner = building_segments
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]  # right of a→b: outside

    btype = b["building"].astype(str).str.lower().to_numpy()
    frontage = b["frontage"].to_numpy(object)
    can_observe = ~np.isin(btype, list(NON_OBSERVING_BUILDINGS)) & (frontage != "blank")
    keep = can_observe[owner]
    is_front = np.zeros(len(seg), dtype=bool)

    # Fronts from entrances: the wall nearest each entrance of its building, then every wall
    # of that building facing the same way (within front_angle).
    ent = layout.entrances
    if not ent.empty:
        pos = pd.Series(np.arange(len(b)), index=b["fid"].to_numpy())
        pos = pos[~pos.index.duplicated()]
        eb = ent["building_fid"].map(pos).to_numpy(float)
        ok = ~np.isnan(eb)
        if ok.any():
            exy = shapely.get_coordinates(ent.geometry.values[ok])
            eb = eb[ok].astype(np.int64)
            ent_wall = _nearest_own_wall(exy, eb, seg, owner)
            has_ent = np.zeros(len(b), dtype=bool)
            has_ent[eb] = True
            # pair every wall of a building with every entrance of the same building
            e_order = np.argsort(eb, kind="stable")
            e_start = np.searchsorted(eb[e_order], np.arange(len(b)))
            e_count = np.bincount(eb, minlength=len(b))
            w = np.flatnonzero(has_ent[owner])
            reps = e_count[owner[w]]
            pw = np.repeat(w, reps)
            first = np.cumsum(reps) - reps
            k = np.arange(reps.sum()) - np.repeat(first, reps)
            pe = e_order[np.repeat(e_start[owner[w]], reps) + k]
            cos = np.einsum("ij,ij->i", normal[pw], normal[ent_wall[pe]])
            facing = cos >= math.cos(math.radians(front_angle)) - 1e-12
            is_front[pw[facing]] = True
            keep &= ~has_ent[owner] | is_front

    # Sample the observing walls.
    w = np.flatnonzero(keep)
    k = np.maximum(1, np.round(length[w] / observer_spacing).astype(np.int64))
    ww = np.repeat(w, k)
    first = np.cumsum(k) - k
    j = np.arange(k.sum()) - np.repeat(first, k)
    f = (j + 0.5) / np.repeat(k, k)
    xy = seg[ww, :2] + f[:, None] * d[ww] + OBSERVER_OFFSET_M * normal[ww]
    bi = owner[ww]
    levels = b["levels"].to_numpy(float)
    height = b["height_m"].to_numpy(float)
    levels = np.where(np.isnan(levels), np.floor(height / storey_height), levels)
    floor = np.clip(np.nan_to_num(levels, nan=1.0) - 1.0, 0.0, float(max_floor))
    z = eye_height + storey_height * floor[bi]
    out = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "z": z,
            "nx": normal[ww, 0],
            "ny": normal[ww, 1],
            "building": bi,
            "wall": ww,
            "front": is_front[ww],
        }
    )
    # Drop observers standing inside another building (party walls of terraces).
    inside = inside_any_xy(xy, b.geometry.values)
    return out[~inside].reset_index(drop=True)


def _nearest_own_wall(
    exy: np.ndarray, eb: np.ndarray, seg: np.ndarray, owner: np.ndarray
) -> np.ndarray:
    """For each entrance, the id of the nearest wall segment of its own building."""
    order = np.argsort(owner, kind="stable")
    n_b = int(max(owner.max(), eb.max())) + 1
    s_start = np.searchsorted(owner[order], np.arange(n_b))
    s_count = np.bincount(owner, minlength=n_b)
    reps = s_count[eb]
    pe = np.repeat(np.arange(len(eb)), reps)
    first = np.cumsum(reps) - reps
    k = np.arange(reps.sum()) - np.repeat(first, reps)
    ps = order[np.repeat(s_start[eb], reps) + k]
    dist = _point_segment_distance(exy[pe], seg[ps])
    best = np.lexsort((dist, pe))
    take = np.r_[0, np.flatnonzero(np.diff(pe[best])) + 1]
    out = np.full(len(eb), -1, dtype=np.int64)
    out[pe[best][take]] = ps[best][take]
    return out


def _point_segment_distance(p: np.ndarray, seg: np.ndarray) -> np.ndarray:
    a, b = seg[:, :2], seg[:, 2:]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.einsum("ij,ij->i", ab, ab), 0.0, 1.0)
    return np.hypot(*(a + t[:, None] * ab - p).T)


def tagged_indoor(layout: Layout, samples) -> np.ndarray:
    """Per sample: does it lie on a way tagged indoor or underground?

    Reads the ``indoor`` column of ``layout.foot_routes``
    (:func:`safespace._classify.is_indoor`: ``highway=corridor``, ``indoor=*``, ``level<0``,
    ``location=underground``, station ways). Area samples are never tagged indoor. O(S).
    """
    fr = layout.foot_routes
    n = len(samples)
    if n == 0 or fr.empty or "indoor" not in fr.columns:
        return np.zeros(n, dtype=bool)
    indoor = fr["indoor"].fillna(False).to_numpy(dtype=bool)
    inside = set(fr["fid"].to_numpy(dtype=object)[indoor])
    if not inside:
        return np.zeros(n, dtype=bool)
    route = (samples["kind"] == "route").to_numpy()
    return route & samples["fid"].isin(inside).to_numpy()


def _unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` of 1-D integer keys by one sort (NumPy 2.4's ``unique`` of int64 is
    several times slower). O(n log n)."""
    k = np.sort(keys)
    return k[np.r_[True, k[1:] != k[:-1]]] if len(k) else k


#: Samples per block of the candidate-pair search in :func:`surveillance_field`.
_SAMPLE_BLOCK = 20_000


def surveillance_field(
    layout: Layout,
    *,
    spacing: float = 5.0,
    max_distance: float = 25.0,
    observer_spacing: float = 2.5,
    eye_height: float = 1.6,
    target_height: float = 1.6,
    storey_height: float = STOREY_HEIGHT_M,
    max_floor: int = 2,
    front_angle: float = 45.0,
    kinds: tuple[str, ...] = ("route", "pedestrian_area", "parking"),
) -> gpd.GeoDataFrame:
    """Count the buildings and façades that overlook each sample of the public realm.

    Parameters
    ----------
    layout
        A :class:`~safespace.Layout`.
    spacing
        Sample spacing along routes and of the grid in areas, m.
    max_distance
        Horizontal distance within which an observer counts, m (default 25 m, Gehl's social
        field of vision; see :data:`GEHL_DISTANCE_SOURCE`).
    observer_spacing
        Spacing of observer points along walls, m.
    eye_height, target_height
        Eye height of a ground-floor observer and of the person observed, m.
    storey_height
        Height of a storey, m (observers on upper floors; building height from levels).
    max_floor
        Highest floor an observer is placed on (0 = ground floor).
    front_angle
        Walls within this angle (degrees) of an entrance wall's facing are the front.
    kinds
        Which parts of the public realm to sample: ``route``, ``pedestrian_area``,
        ``parking``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per sample (see :func:`~safespace.analyses._visibility.route_samples` for
        ``kind``, ``fid``, ``chain``, ``position_m``, ``indoor``: inside a footprint or on a
        way tagged indoor, see :func:`tagged_indoor`) plus ``n_buildings``
        (buildings overlooking it), ``n_facades`` (distinct wall segments), ``n_observers``
        (observer points with a clear view), ``nearest_m`` (distance to the nearest of them,
        NaN if none) and ``buildings`` (tuple of the observing buildings' fids).
        ``attrs`` holds the parameters and the counts of observers and candidate pairs.

    Notes
    -----
    Algorithm: candidate (sample, observer) pairs within ``max_distance`` from two KD-trees
    (``sparse_distance_matrix``), then a front-facing test (vectorised), then one line-of-
    sight test per remaining pair in a numba kernel that walks the grid cells the sight line
    crosses and tests the walls bucketed there (:class:`~._visibility.SightIndex`).
    Complexity: O((S + O) log(S + O) + P · c) for S samples, O observers, P candidate pairs
    and c walls met per sight line (a few dozen in a dense centre).
    """
    if not max_distance > 0:
        raise InputError(f"max_distance must be positive, got {max_distance!r}")
    samples = route_samples(layout, spacing, kinds)
    # indoors: inside a building footprint, or on a way tagged indoor or underground
    samples["indoor"] = samples["indoor"].to_numpy(bool) | tagged_indoor(layout, samples)
    walls = polygon_segments(layout.buildings.geometry.values) if len(layout.buildings) else None
    obs = observers(
        layout,
        building_segments=walls,
        observer_spacing=observer_spacing,
        eye_height=eye_height,
        storey_height=storey_height,
        max_floor=max_floor,
        front_angle=front_angle,
    )
    n = len(samples)
    sxy = shapely.get_coordinates(samples.geometry.values) if n else np.empty((0, 2))
    pairs_i = pairs_o = np.empty(0, dtype=np.int64)
    dist = np.empty(0)
    n_candidates = 0
    if n and len(obs):
        oxy = obs[["x", "y"]].to_numpy()
        onx, ony, oz = obs["nx"].to_numpy(), obs["ny"].to_numpy(), obs["z"].to_numpy()
        otree = cKDTree(oxy)
        index = SightIndex.from_layout(layout, storey_height=storey_height, building_segments=walls)
        kept = []
        # Samples in blocks, so only one block's candidate pairs (tens of bytes each, millions
        # in a city) are held at once; the visible pairs are the same as in one pass.
        for lo in range(0, n, _SAMPLE_BLOCK):
            block = sxy[lo : lo + _SAMPLE_BLOCK]
            coo = cKDTree(block).sparse_distance_matrix(
                otree, max_distance, output_type="coo_matrix"
            )
            # sparse_distance_matrix drops exact zeros; a sample on an observer is not
            # overlooked by it (it stands against the wall) so nothing is lost.
            bi, bo, bd = coo.row.astype(np.int64) + lo, coo.col.astype(np.int64), coo.data
            del coo
            n_candidates += len(bi)
            v = sxy[bi] - oxy[bo]
            facing = v[:, 0] * onx[bo] + v[:, 1] * ony[bo] > 1e-9
            bi, bo, bd = bi[facing], bo[facing], bd[facing]
            a = np.column_stack([oxy[bo], oz[bo]])
            bpt = np.column_stack([sxy[bi], np.full(len(bi), target_height)])
            clear = ~index.blocked(a, bpt)
            kept.append((bi[clear], bo[clear], bd[clear]))
        pairs_i = np.concatenate([k[0] for k in kept])
        pairs_o = np.concatenate([k[1] for k in kept])
        dist = np.concatenate([k[2] for k in kept])

    out = samples.copy()
    bld = obs["building"].to_numpy(np.int64)[pairs_o] if len(pairs_o) else pairs_o
    wall = obs["wall"].to_numpy(np.int64)[pairs_o] if len(pairs_o) else pairs_o
    out["n_observers"] = np.bincount(pairs_i, minlength=n)
    # distinct (sample, building) and (sample, wall) pairs, as sorted 1-D integer keys
    nb = max(len(layout.buildings), 1)
    nw = int(obs["wall"].max()) + 1 if len(obs) else 1
    kb = _unique(pairs_i * nb + bld)
    kw = _unique(pairs_i * nw + wall)
    ib = np.column_stack([kb // nb, kb % nb])
    out["n_buildings"] = np.bincount(ib[:, 0], minlength=n)
    out["n_facades"] = np.bincount(kw // nw, minlength=n)
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, pairs_i, dist)
    out["nearest_m"] = np.where(np.isinf(nearest), np.nan, nearest)
    fids = layout.buildings["fid"].to_numpy(object)
    # ib is sorted by sample, so each tuple lists its buildings in index order
    out["buildings"] = pd.Series(
        group_tuples(ib[:, 0], fids[ib[:, 1]], n), index=out.index, dtype=object
    )
    out.attrs.update(
        {
            "spacing": spacing,
            "max_distance": max_distance,
            "n_observers": len(obs),
            "n_candidate_pairs": int(n_candidates),
            "n_visible_pairs": len(pairs_i),
        }
    )
    return out
