"""Travel-time fields from police premises (and emergency phones) on walk and drive networks.

Snapping
    Every origin (a premises' access point) and destination (a building entrance, a route
    sample) is snapped to the **nearest edge** of the network, at the projection of the point
    on that edge's geometry, never to the nearest node. The edge is split there: the cost from
    the edge's ``u`` end to the snapped point is ``cost_e × s / L`` where ``s`` is the distance
    along the geometry and ``L`` the geometry's length (and the rest to ``v``). Two points on
    the same edge are joined along it directly. The straight leg from the point to its snapped
    position (``access_m``) is walked, at the walking speed, in both modes.

Cost
    Walk mode: metres, time = metres / ``walk_speed_mps``. Drive mode: the drive network's
    ``travel_time`` (from ``maxspeed`` or the OSRM highway-type speeds, see
    :mod:`safespace.analyses.network`), plus the access legs at walking speed; directed, from
    the premises to the destination (the response direction); the distance reported is the
    length of the fastest route.

Kernel
    The split graph is one ``scipy.sparse`` CSR matrix: the network's edges (parallel edges
    reduced to the cheapest), each snapped edge replaced by its chain of pieces, plus one
    private node per origin joined to its snapped point by an edge of cost ``access + 1``
    (the constant 1 keeps zero-cost legs stored; it is subtracted again). One multi-source
    Dijkstra (``scipy.sparse.csgraph.dijkstra(indices=origins, min_only=True)``) gives every
    node's cost and its nearest origin; the distance along the chosen route is summed from the
    predecessor tree by pointer jumping. Cost O((V + P) log(V + P) + E) for V nodes, E edges
    and P snapped points, plus about O(P · k) for snapping: a numba ring search over a uniform
    grid of the edges' straight segments, k the segments near a point (points and building
    outlines alike; ties between segments at different places are settled by shapely's
    ``STRtree.query_nearest``, as before the kernel, so results do not depend on it).

Unreachable destinations (no route from any origin, or no origin at all) get ``NaN`` time and
distance and ``reachable = False``; no output ever holds an infinite number.

The code lives in private modules: :mod:`._kern_snap` (the segment grid and the snapping
kernels), :mod:`._kern_router` (:class:`Router`), :mod:`._kern_targets` (premises, dwellings
and destinations); this module holds the field and the isochrones and re-exports the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from safespace._geom import inner_points, line_substrings
from safespace.analyses._kern_router import (  # noqa: F401  (re-exported)
    _MIN_PIECE,
    _OFFSET,
    _TIE_M,
    Router,
    Snap,
    Solution,
    _empty_snap,
)
from safespace.analyses._kern_snap import (  # noqa: F401  (re-exported)
    SegmentGrid,
    _grid_nearest,
    _outline_segments,
    _polygon_segments,
    _ring_segment_ends,
    segment_grid,
)
from safespace.analyses._kern_targets import (  # noqa: F401  (re-exported)
    DWELLING_VALUES,
    _load_extra,
    building_targets,
    dwelling_mask,
    homes,
    premises_points,
    route_samples,
)
from safespace.analyses.network import WALK_SPEED_MPS

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = [
    "AccessField",
    "DWELLING_VALUES",
    "Router",
    "WALK_SPEED_MPS",
    "access_field",
    "building_targets",
    "coverage",
    "dwelling_mask",
    "homes",
    "police_isochrones",
    "police_travel_times",
    "premises_points",
    "route_samples",
]


# --------------------------------------------------------------------------------------------
# the field: everything rules need, computed once
# --------------------------------------------------------------------------------------------


@dataclass
class AccessField:
    """Travel times from premises to every building and route sample, on one network.

    Attributes
    ----------
    mode
        ``"walk"`` or ``"drive"``.
    premises
        The origins (:func:`premises_points`).
    buildings
        One row per building (see :func:`police_travel_times`).
    routes
        One row per route sample: ``route_fid``, ``along_m``, ``length_m``, ``premises_fid``,
        ``distance_m``, ``time_s``, ``reachable``.
    router, solution
        The network arrays and the split-graph solution (for isochrones).
    speed_mps
        The walking speed used.
    """

    mode: str
    premises: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    router: Router
    solution: Solution
    speed_mps: float


def _network(
    layout: Layout,
    mode: str,
    graph: nx.MultiGraph | None,
    *,
    emergency: bool = False,
    pedestrian_speed_kmh: float | None = None,
) -> nx.MultiGraph:
    if graph is not None:
        return graph
    from safespace.analyses.network import drive_network, walk_network

    if mode == "walk":
        return walk_network(layout)
    if mode == "drive":
        return drive_network(layout, emergency=emergency, pedestrian_speed_kmh=pedestrian_speed_kmh)
    raise ValueError(f"mode must be 'walk' or 'drive', not {mode!r}")


def _premises(layout: Layout, mode: str, premises: Any, extra_police: Any) -> gpd.GeoDataFrame:
    if premises is None:
        premises = "public" if mode == "walk" else "police"
    if isinstance(premises, str):
        return premises_points(layout, premises, extra_police=extra_police)
    if isinstance(premises, gpd.GeoDataFrame | gpd.GeoSeries):
        frame = (
            premises if isinstance(premises, gpd.GeoDataFrame) else premises.to_frame("geometry")
        )
        if frame.crs is not None and layout.crs is not None and not frame.crs.equals(layout.crs):
            frame = frame.to_crs(layout.crs)
        pts = inner_points(frame.geometry.values)
        fids = (
            frame["fid"].astype(str).to_numpy()
            if "fid" in frame.columns
            else np.array([f"premises/{i}" for i in range(len(frame))], dtype=object)
        )
        return gpd.GeoDataFrame(
            {"fid": fids, "kind": "police", "origin": "given", "public_facing": True, "name": None},
            geometry=pts,
            crs=layout.crs,
        )
    pts = shapely.points(np.asarray(premises, dtype=float).reshape(-1, 2))
    return gpd.GeoDataFrame(
        {
            "fid": [f"premises/{i}" for i in range(len(pts))],
            "kind": "police",
            "origin": "given",
            "public_facing": True,
            "name": None,
        },
        geometry=pts,
        crs=layout.crs,
    )


def _from_vehicle(
    graph: nx.MultiGraph,
    router: Router,
    sol: Solution,
    origins: Snap,
    points: np.ndarray,
    walk_speed_mps: float,
) -> dict[str, np.ndarray] | None:
    """Times to points via the nearest point of the network a vehicle reaches, then on foot.

    The reached network: every edge whose start node has a finite cost in ``sol`` (a
    directed edge can be driven from there to any point along it). Each point is snapped
    to it; time = cost at the edge's start + the cost along to the snapped point (the
    cheaper of the edge and its reverse twin) + the straight walk at ``walk_speed_mps``.

    Returns
    -------
    dict or None
        ``origin``, ``distance_m``, ``time_s``, ``reachable``, ``walk_m`` per point; None
        when no edge is reached.

    Notes
    -----
    O(E) to build the reached sub-network's arrays and O(P · k) to snap P points.
    """
    n = router.n_nodes
    cost = sol.cost[:n]
    if len(router.u) == 0:
        return None
    ok = np.isfinite(cost[router.u])
    if not ok.any():
        return None
    keys = list(graph.edges(keys=True))
    sub = graph.edge_subgraph([keys[e] for e in np.flatnonzero(ok)])
    r2 = Router(sub, router.weight)
    snap = r2.snap(points)
    e = snap.edge
    good = e >= 0
    e0 = np.where(good, e, 0)
    pos = {node: i for i, node in enumerate(router.nodes)}
    to_full = np.array([pos[node] for node in r2.nodes], dtype=np.int64)
    u = to_full[r2.u[e0]]
    v = to_full[r2.v[e0]]
    frac = snap.frac
    t = cost[u] + frac * r2.cost[e0]
    m = sol.length[u] + frac * r2.length[e0]
    org = sol.origin[u].copy()
    tw = r2.twin[e0] if len(r2.twin) else np.full(len(e0), -1)
    has = good & (tw >= 0)
    if has.any():
        tw0 = np.where(has, tw, 0)
        t_back = cost[v] + (1 - frac) * r2.cost[tw0]
        better = has & (t_back < t)
        t = np.where(better, t_back, t)
        m = np.where(better, sol.length[v] + (1 - frac) * r2.length[tw0], m)
        org = np.where(better, sol.origin[v], org)
    walk_m = np.where(good, snap.access_m, np.inf)
    reach = good & np.isfinite(t) & (org >= 0)
    o_leg = np.nan_to_num(origins.access_m, nan=0.0)
    o_leg = o_leg[np.maximum(org, 0)] if len(o_leg) else np.zeros(len(org))
    if router.weight == "length":
        time = (m + o_leg + walk_m) / walk_speed_mps
    else:
        time = t + walk_m / walk_speed_mps
    return {
        "origin": np.where(reach, org, -1),
        "distance_m": np.where(reach, m + o_leg + walk_m, np.nan),
        "time_s": np.where(reach, time, np.nan),
        "reachable": reach,
        "walk_m": walk_m,
    }


def access_field(
    layout: Layout,
    mode: str = "walk",
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    route_spacing_m: float | None = 25.0,
    graph: nx.MultiGraph | None = None,
    emergency: bool = False,
    pedestrian_speed_kmh: float | None = None,
    walk_from_vehicle_m: float | None = None,
) -> AccessField:
    """Travel times from the nearest premises to every building and route sample.

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`.
    mode
        ``"walk"`` (walk network, undirected, metres / walking speed) or ``"drive"`` (drive
        network, directed from the premises, the network's ``travel_time``).
    premises
        ``None`` (walk: public-facing police premises; drive: every police premises), one of
        ``"police"``, ``"public"``, ``"phones"``, ``"public+phones"``, a GeoDataFrame /
        GeoSeries of premises, or an (n, 2) array of points in the layout's CRS.
    extra_police
        Premises outside the layout (GeoDataFrame or path), added to the layout's.
    walk_speed_mps
        Walking speed for walk routes and for the access legs in drive mode.
    route_spacing_m
        Spacing of the route samples along ``layout.foot_routes``.
    graph
        The network to use (default: built from the layout).
    emergency
        Drive mode: route on the emergency-vehicle network, which adds pedestrian streets
        (:func:`safespace.analyses.network.drive_network` with ``emergency=True``).
    pedestrian_speed_kmh
        Drive mode with ``emergency``: the speed on pedestrian ways (default
        :data:`safespace.analyses.network.EMERGENCY_PEDESTRIAN_SPEED_KMH`).
    walk_from_vehicle_m
        Drive mode: a destination whose nearest edge no vehicle can reach from the premises
        (a one-way street entering from beyond the data, a fragment of street cut off by the
        extract) is reached on foot, straight, from the nearest point of the network a
        vehicle does reach, when that point is within this distance (m); ``None`` or 0: such
        destinations stay unreachable. Column ``walk_from_vehicle_m`` gives that walk (NaN
        for every other destination).

    Returns
    -------
    AccessField

    Notes
    -----
    One multi-source Dijkstra over the split graph: O((V + P) log(V + P) + E), P the number of
    snapped points (premises, building entrances, route samples).
    """
    if walk_speed_mps <= 0:
        raise ValueError("walk_speed_mps must be positive")
    graph = _network(
        layout, mode, graph, emergency=emergency, pedestrian_speed_kmh=pedestrian_speed_kmh
    )
    router = Router(graph, "length" if mode == "walk" else "travel_time")
    prem = _premises(layout, mode, premises, extra_police)
    origins = router.snap(prem.geometry.values)
    bt = building_targets(layout, router)
    samples = route_samples(layout.foot_routes, route_spacing_m)
    n_bt = len(bt)
    pts = np.r_[
        np.asarray(bt["point"].to_numpy(), dtype=object),
        np.asarray(samples.geometry.values, dtype=object),
    ]
    tsnap = router.snap(pts)
    leg = np.nan_to_num(origins.access_m, nan=0.0)
    o_cost = leg if router.weight == "length" else leg / walk_speed_mps
    sol = router.solve(origins, o_cost, tsnap)
    res = router._at_targets(sol, origins, tsnap, walk_speed_mps)
    on_foot = np.full(len(pts), np.nan)
    if mode == "drive" and walk_from_vehicle_m and walk_from_vehicle_m > 0:
        miss = np.flatnonzero(~res["reachable"])
        if len(miss):
            got = _from_vehicle(graph, router, sol, origins, pts[miss], walk_speed_mps)
            if got is not None:
                ok = got["reachable"] & (got["walk_m"] <= float(walk_from_vehicle_m))
                for k in ("origin", "distance_m", "time_s", "reachable"):
                    res[k][miss[ok]] = got[k][ok]
                on_foot[miss[ok]] = got["walk_m"][ok]
    pfid = prem["fid"].to_numpy(dtype=object)

    def fid_of(org: np.ndarray) -> np.ndarray:
        out = np.full(len(org), None, dtype=object)
        out[org >= 0] = pfid[org[org >= 0]] if len(pfid) else None
        return out

    # buildings: best entrance per building
    bres = {k: v[:n_bt] for k, v in res.items()}
    key = np.where(bres["reachable"], bres["time_s"], np.inf)
    order = np.lexsort((key, bt["building"].to_numpy()))
    first = np.r_[True, np.diff(bt["building"].to_numpy()[order]) != 0] if n_bt else order
    best = order[first]
    b = layout.buildings
    dwell = homes(layout)
    n_b = len(b)
    bi = bt["building"].to_numpy()[best] if n_bt else np.zeros(0, np.int64)
    entrance_pt = np.full(n_b, None, dtype=object)
    entrance_fid = np.full(n_b, None, dtype=object)
    entrance_pt[bi] = bt["point"].to_numpy()[best]
    efid = bt["entrance_fid"].astype(object)
    entrance_fid[bi] = efid.where(efid.notna(), None).to_numpy()[best]
    cols = {}
    for k in ("distance_m", "time_s"):
        arr = np.full(n_b, np.nan)
        arr[bi] = bres[k][best]
        cols[k] = arr
    org = np.full(n_b, -1, dtype=np.int64)
    org[bi] = bres["origin"][best]
    reach = np.zeros(n_b, dtype=bool)
    reach[bi] = bres["reachable"][best]
    access = np.full(n_b, np.nan)
    access[bi] = tsnap.access_m[:n_bt][best]
    walked = np.full(n_b, np.nan)
    walked[bi] = on_foot[:n_bt][best]
    buildings = gpd.GeoDataFrame(
        {
            "building_fid": b["fid"].to_numpy() if n_b else np.zeros(0, object),
            "building": b["building"].to_numpy() if n_b else np.zeros(0, object),
            "origin": b["origin"].to_numpy() if n_b else np.zeros(0, object),
            "dwelling": dwell,
            "entrance_fid": pd.Series(entrance_fid, dtype=object),
            "entrance": gpd.GeoSeries(entrance_pt, crs=layout.crs),
            "premises_fid": pd.Series(fid_of(org), dtype=object),
            "access_m": access,
            "distance_m": cols["distance_m"],
            "time_s": cols["time_s"],
            "reachable": reach,
            "walk_from_vehicle_m": walked,
        },
        geometry=b.geometry.values if n_b else [],
        crs=layout.crs,
    )
    rres = {k: v[n_bt:] for k, v in res.items()}
    routes = samples.assign(
        premises_fid=pd.Series(fid_of(rres["origin"]), index=samples.index, dtype=object),
        distance_m=rres["distance_m"],
        time_s=rres["time_s"],
        reachable=rres["reachable"],
        walk_from_vehicle_m=on_foot[n_bt:],
    )
    return AccessField(mode, prem, buildings, routes, router, sol, float(walk_speed_mps))


def police_travel_times(
    layout: Layout,
    mode: str = "walk",
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    graph: nx.MultiGraph | None = None,
) -> gpd.GeoDataFrame:
    """Nearest premises, distance and travel time for every building.

    Parameters
    ----------
    layout, mode, premises, extra_police, walk_speed_mps, graph
        As for :func:`access_field`.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per building of ``layout.buildings`` (same order): ``building_fid``,
        ``building``, ``origin``, ``dwelling`` (bool), ``entrance_fid`` (the tagged entrance
        used, or None when the outline point nearest the network was used), ``entrance``
        (that point), ``premises_fid`` (nearest premises, None when unreachable),
        ``access_m`` (entrance to network), ``distance_m``, ``time_s`` (NaN when
        unreachable), ``reachable``; geometry the building.

    Notes
    -----
    O((V + P) log(V + P) + E): see :func:`access_field`.
    """
    return access_field(
        layout,
        mode,
        premises=premises,
        extra_police=extra_police,
        walk_speed_mps=walk_speed_mps,
        graph=graph,
        route_spacing_m=None,
    ).buildings


# --------------------------------------------------------------------------------------------
# isochrones
# --------------------------------------------------------------------------------------------


def police_isochrones(
    layout: Layout,
    mode: str = "walk",
    thresholds_s: Any = (300.0, 600.0),
    *,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    buffer_m: float = 25.0,
    graph: nx.MultiGraph | None = None,
    field: AccessField | None = None,
) -> gpd.GeoDataFrame:
    """Areas reachable from the premises within each time threshold.

    The reachable part of every edge is cut out of its geometry (an edge whose end is reached
    at time t with time budget T contributes the first (T − t) × speed metres, where speed is
    that edge's own), and the reachable lines are buffered by ``buffer_m`` and merged.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold: ``threshold_s``, ``network_m`` (reachable network length),
        geometry the (possibly empty) polygon.

    Notes
    -----
    O(E) vectorised substring cutting plus the buffer union, after one
    :func:`access_field`-style Dijkstra.
    """
    if field is None:
        field = access_field(
            layout,
            mode,
            premises=premises,
            extra_police=extra_police,
            walk_speed_mps=walk_speed_mps,
            graph=graph,
            route_spacing_m=None,
        )
    r, sol = field.router, field.solution
    a, b, cost, length, e_all, f0, f1 = sol.pieces
    to_time = 1.0 / field.speed_mps if r.weight == "length" else 1.0
    rows = []
    for T in np.atleast_1d(np.asarray(thresholds_s, dtype=float)):
        budget = T / to_time  # in cost units
        ca = sol.cost[a] if len(a) else np.zeros(0)
        cb = sol.cost[b] if len(b) else np.zeros(0)
        w = cost
        frac_a = np.clip((budget - ca) / w, 0.0, 1.0)  # from a forwards
        frac_b = np.clip((budget - cb) / w, 0.0, 1.0) if not r.directed else np.zeros(len(a))
        frac_a = np.where(np.isfinite(ca), frac_a, 0.0)
        frac_b = np.where(np.isfinite(cb), frac_b, 0.0)
        whole = frac_a + frac_b >= 1.0
        parts_g, parts_s, parts_e = [], [], []
        glen = r.geom_length[e_all]
        s0, s1 = f0 * glen, f1 * glen
        span = s1 - s0
        sel = whole & (span > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s0[sel])
        parts_e.append(s1[sel])
        sel = ~whole & (frac_a > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s0[sel])
        parts_e.append(s0[sel] + frac_a[sel] * span[sel])
        sel = ~whole & (frac_b > 0)
        parts_g.append(r.geometry[e_all[sel]])
        parts_s.append(s1[sel] - frac_b[sel] * span[sel])
        parts_e.append(s1[sel])
        g = np.concatenate(parts_g)
        s = np.concatenate(parts_s)
        e = np.concatenate(parts_e)
        if len(g):
            lines = line_substrings(g, s, e)
            net = float(np.sum(shapely.length(lines)))
            poly = shapely.union_all(shapely.buffer(lines, buffer_m))
        else:
            net, poly = 0.0, shapely.Polygon()
        rows.append((float(T), net, poly))
    return gpd.GeoDataFrame(
        {"threshold_s": [x[0] for x in rows], "network_m": [x[1] for x in rows]},
        geometry=[x[2] for x in rows],
        crs=layout.crs,
    )


def coverage(
    field: AccessField,
    threshold_s: float,
    *,
    within: shapely.Geometry | None = None,
) -> dict[str, Any]:
    """Share of dwellings and of route length within a travel-time threshold.

    Parameters
    ----------
    field
        An :class:`AccessField`.
    threshold_s
        The time threshold (s).
    within
        Count only dwellings whose outline and route samples that lie in this polygon
        (e.g. the site).

    Returns
    -------
    dict
        ``dwellings``, ``dwellings_within``, ``dwelling_share`` (NaN when no dwelling),
        ``dwellings_tagged`` (False when every building was counted), ``route_m``,
        ``route_m_within``, ``route_share`` (NaN when no route).
    """
    b = field.buildings
    dwell = b["dwelling"].to_numpy(dtype=bool).copy()
    _, tagged = dwelling_mask(b) if len(b) else (None, False)
    if within is not None and len(b):
        dwell &= np.asarray(shapely.intersects(b.geometry.values, within), dtype=bool)
    t = b["time_s"].to_numpy(dtype=float)
    ok = dwell & np.isfinite(t) & (t <= threshold_s)
    r = field.routes
    rm = np.ones(len(r), dtype=bool)
    if within is not None and len(r):
        rm = np.asarray(shapely.intersects(r.geometry.values, within), dtype=bool)
    lengths = r["length_m"].to_numpy(dtype=float)[rm] if len(r) else np.zeros(0)
    rt = r["time_s"].to_numpy(dtype=float)[rm] if len(r) else np.zeros(0)
    rok = np.isfinite(rt) & (rt <= threshold_s)
    n = int(dwell.sum())
    total = float(lengths.sum())
    return {
        "dwellings": n,
        "dwellings_within": int(ok.sum()),
        "dwelling_share": ok.sum() / n if n else float("nan"),
        "dwellings_tagged": bool(tagged),
        "route_m": total,
        "route_m_within": float(lengths[rok].sum()),
        "route_share": float(lengths[rok].sum()) / total if total > 0 else float("nan"),
    }
