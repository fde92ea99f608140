"""Connectivity metrics of a walk or drive network, for a site or a whole layout.

Definitions (all on the simplified network of :mod:`safespace.analyses.network`; "inside"
means covered by the site polygon, which is the ``within`` argument, else the layout's
``boundary``, else — whole-layout mode — the convex hull of the network):

``street_count``
    Street ends at a node: its undirected degree, a self-loop counting twice; a two-way street
    of a drive network counts once. Same as osmnx ``count_streets_per_node``.
``intersections``
    Nodes inside with ``street_count >= 3`` (osmnx ``intersection_count(G, min_streets=3)``;
    note ``osmnx.stats.basic_stats`` reports ``min_streets=2``, which also counts the few
    degree-2 nodes a simplified graph keeps, e.g. a self-loop's node).
``dead_ends``
    Nodes inside with ``street_count == 1`` (cul-de-sac heads and loose ends).
``nodes``, ``links``
    ``nodes = intersections + dead_ends`` (Durham UDO 13.6.1: a node is an intersection or a
    cul-de-sac head); ``links`` = edges (street segments between nodes of the simplified
    graph, parallel edges and self-loops included) whose midpoint lies inside.
``link_node_ratio``
    ``links / nodes`` (Durham UDO 13.6.1; LEED-ND/Ewing use the same ratio, >= 1.4 asked).
``connected_node_ratio``
    ``intersections / (intersections + dead_ends)`` (Dill 2004).
``intersection_density_km2``
    ``intersections / area_km2``.
cul-de-sac edges
    The edges outside the network's 2-core: repeatedly delete nodes of degree 1 (in the whole
    network, so a street leaving the site is not a dead end); the deleted edges are the
    dead-end *branches*, the trees hanging off the looped core. A network that is a tree is all
    cul-de-sac.
``culdesac_count``
    Number of such trees (maximal connected sets of cul-de-sac edges, kept apart at the core
    node they hang from) with at least one edge midpoint inside.
``culdesac_length_m``
    Length of cul-de-sac edges inside the polygon (clipped). **momepy's** ``cds_length``
    sums only the *terminal* edges (an end has degree 1); that figure is
    ``culdesac_terminal_length_m``. The two agree when every cul-de-sac is a single edge and
    differ on branching or multi-edge culs-de-sac (momepy misses the inner branches).
``culdesac_share``
    ``culdesac_length_m / street_length_m``.
``street_length_m``
    Network length inside the polygon (clipped).
``block_count``, ``mean_block_area_m2``, ``median_block_area_m2``, ``mean_block_perimeter_m``,
``max_block_longest_side_m``
    Blocks are the faces of the street network: the network lines are noded at every crossing
    (``shapely.union_all``) and polygonized; dangling lines (culs-de-sac) do not close a face.
    A block counts when its representative point is inside. Longest side = the long side of
    its minimum rotated rectangle. Per-block table: :func:`network_blocks`.
``route_directness_median``
    Median over (origin, target) pairs of network distance / straight-line distance. Origins:
    building entrances inside, plus the representative point of each building inside without
    an entrance. Targets: the site exits (points where the network crosses the site boundary)
    and the ``destinations`` given. Origins and targets are snapped to the nearest edge (not
    node); the network distance includes the straight access legs to and from the edge.
    Pairs closer than ``min_straight_m`` (20 m) are skipped. NaN without targets.
``boundary_connections``
    Points where a network edge crosses the site boundary (an edge crossing out and back in
    counts twice; points within 1 m are merged). ``None`` in whole-layout mode.
``boundary_connection_spacing_m``
    Largest gap along the boundary ring between consecutive crossing points (wrapping around);
    the ring's length when it has fewer than two crossings.
``circuity_avg``
    Sum of edge lengths / sum of straight-line distances between the edge ends (osmnx
    ``circuity_avg``), over edges inside.
``streets_per_node_avg``
    Mean ``street_count`` of nodes inside (osmnx ``streets_per_node_avg``).
``meshedness``, ``gamma``
    With ``e``, ``v`` the edges and nodes of the subgraph induced by the nodes inside:
    ``(e - v + 1) / (2v - 5)`` and ``e / (3(v - 2))`` (momepy ``meshedness``/``gamma``;
    Feliciotti 2018, Dibble 2019). On a simplified graph these differ from the same formulas on
    an unsimplified one (removing a degree-2 node removes a node and an edge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from safespace._geom import inner_points
from safespace.analyses.network import NetworkTable, table_from_graph, walk_network

if TYPE_CHECKING:
    from safespace.layout import Layout

# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def network_metrics(
    layout: Layout,
    *,
    within: shapely.Geometry | None = None,
    network: str | nx.MultiGraph = "walk",
    destinations: Any = None,
    min_straight_m: float = 20.0,
    min_block_width_m: float = 0.0,
) -> dict[str, Any]:
    """Connectivity metrics of a layout's network for the site or the whole layout.

    Parameters
    ----------
    layout
        Object with ``foot_routes``/``streets``, ``buildings``, ``entrances``, ``boundary``.
    within
        Polygon to measure inside; default the layout's boundary, or the whole layout.
    network
        ``"walk"`` (default), ``"drive"`` or a prebuilt network graph.
    destinations
        Extra route-directness targets: points (GeoSeries/array/list) in the layout CRS.
    min_straight_m
        Route-directness pairs closer than this are skipped.
    min_block_width_m
        Faces of the network narrower than this are not blocks (see :func:`network_blocks`).

    Returns
    -------
    dict
        The keys of the module docstring, plus ``area_km2`` and ``site`` (True when measured
        inside a site polygon).

    Notes
    -----
    O(E log E) for the graph work and polygonize, plus one Dijkstra per target
    (O(T (E + V) log V)).
    """
    if isinstance(network, str):
        if network == "walk":
            graph = walk_network(layout)
        elif network == "drive":
            from safespace.analyses.network import drive_network

            graph = drive_network(layout)
        else:
            raise ValueError(f"network must be 'walk', 'drive' or a graph, not {network!r}")
    else:
        graph = network
    polygon = within if within is not None else _layout_boundary(layout)
    origins = _origins(layout)
    return graph_metrics(
        graph,
        within=polygon,
        origins=origins,
        destinations=destinations,
        min_straight_m=min_straight_m,
        min_block_width_m=min_block_width_m,
    )


def graph_metrics(
    graph: nx.MultiGraph | NetworkTable,
    *,
    within: shapely.Geometry | None = None,
    origins: Any = None,
    destinations: Any = None,
    min_straight_m: float = 20.0,
    keys: Any = None,
    min_block_width_m: float = 0.0,
) -> dict[str, Any]:
    """:func:`network_metrics` on a network graph (or its :class:`NetworkTable`).

    Parameters
    ----------
    graph
        A network from :mod:`safespace.analyses.network` or any graph with node ``x``/``y``
        and edge ``geometry``/``length``.
    within
        Site polygon; None or empty measures the whole network.
    origins
        Route-directness origins (points).
    destinations
        Route-directness targets besides the site exits (points).
    min_straight_m
        Pairs closer than this are skipped.
    min_block_width_m
        Faces narrower than this are not blocks (see :func:`network_blocks`).
    keys
        Compute only these metrics (and ``site``); default all. Counting metrics then cost
        O(V + E) array work, without the blocks, culs-de-sac or route directness.

    Notes
    -----
    O(E log E) plus one Dijkstra per target.
    """
    wanted = None if keys is None else set(keys)

    def need(*names: str) -> bool:
        return wanted is None or any(n in wanted for n in names)

    t = graph if isinstance(graph, NetworkTable) else table_from_graph(graph)
    site = within is not None and not shapely.is_empty(within)
    n_nodes, n_edges = len(t.node_xy), len(t.u)
    if site:
        polygon = within
        shapely.prepare(polygon)
        node_in = shapely.covers(polygon, shapely.points(t.node_xy)) if n_nodes else np.zeros(0)
    else:
        polygon = _hull(t) if need("area_km2", "intersection_density_km2") else None
        node_in = np.ones(n_nodes, dtype=bool)
    node_in = np.asarray(node_in, dtype=bool)
    area_km2 = float(shapely.area(polygon)) / 1e6 if polygon is not None else 0.0
    sc = t.street_count
    if site:
        mid = shapely.line_interpolate_point(t.geometry, 0.5, normalized=True)
        edge_in = np.asarray(shapely.covers(polygon, mid), dtype=bool)
    else:
        edge_in = np.ones(n_edges, dtype=bool)
    clipped = _clipped_length(t, polygon) if site else t.length

    inter = int(np.count_nonzero(node_in & (sc >= 3)))
    dead = int(np.count_nonzero(node_in & (sc == 1)))
    nodes = inter + dead
    links = int(np.count_nonzero(edge_in))
    street_length = float(clipped.sum())

    cul_count, cul_len = 0, float("nan")
    if need("culdesac_count", "culdesac_length_m", "culdesac_share"):
        cul = culdesac_edges(t)
        trees = culdesac_trees(t, cul)
        cul_count = len(np.unique(trees[cul & edge_in])) if cul.any() else 0
        cul_len = float(clipped[cul].sum())
    terminal = (sc[t.u] == 1) | (sc[t.v] == 1)
    terminal_len = float(clipped[terminal].sum())

    blocks = (
        network_blocks(t, within=polygon if site else None, min_width_m=min_block_width_m)
        if need(
            "block_count",
            "mean_block_area_m2",
            "median_block_area_m2",
            "mean_block_perimeter_m",
            "max_block_longest_side_m",
        )
        else pd.DataFrame({"area_m2": [], "perimeter_m": [], "longest_side_m": []})
    )
    straight = np.hypot(*(t.node_xy[t.u] - t.node_xy[t.v]).T) if n_edges else np.zeros(0)
    sl = float(straight[edge_in].sum())
    both_in = node_in[t.u] & node_in[t.v] if n_edges else np.zeros(0, dtype=bool)
    e_sub, v_sub = int(np.count_nonzero(both_in)), int(np.count_nonzero(node_in))

    crossings = np.zeros((0, 2))
    if site and need(
        "boundary_connections",
        "boundary_connection_spacing_m",
        "route_directness_median",
        "route_directness_pairs",
    ):
        crossings = boundary_crossings(t, within)
    finite = np.zeros(0)
    if need("route_directness_median", "route_directness_pairs"):
        targets = list(crossings)
        if destinations is not None:
            targets += list(
                shapely.get_coordinates(np.asarray(_points(destinations), dtype=object))
            )
        org = _points(origins)
        if site and len(org):
            org = org[np.asarray(shapely.covers(polygon, org), dtype=bool)]
        ratios = route_directness(t, org, np.asarray(targets).reshape(-1, 2), min_straight_m)
        finite = ratios[np.isfinite(ratios)]

    result = {
        "site": bool(site),
        "area_km2": area_km2,
        "intersections": inter,
        "dead_ends": dead,
        "nodes": nodes,
        "links": links,
        "intersection_density_km2": inter / area_km2 if area_km2 > 0 else float("nan"),
        "link_node_ratio": links / nodes if nodes else float("nan"),
        "connected_node_ratio": inter / nodes if nodes else float("nan"),
        "street_length_m": street_length,
        "culdesac_count": int(cul_count),
        "culdesac_length_m": cul_len,
        "culdesac_terminal_length_m": terminal_len,
        "culdesac_share": cul_len / street_length if street_length > 0 else float("nan"),
        "block_count": len(blocks),
        "mean_block_area_m2": float(blocks["area_m2"].mean()) if len(blocks) else float("nan"),
        "median_block_area_m2": float(blocks["area_m2"].median()) if len(blocks) else float("nan"),
        "mean_block_perimeter_m": float(blocks["perimeter_m"].mean())
        if len(blocks)
        else float("nan"),
        "max_block_longest_side_m": float(blocks["longest_side_m"].max())
        if len(blocks)
        else float("nan"),
        "route_directness_median": float(np.median(finite)) if len(finite) else float("nan"),
        "route_directness_pairs": len(finite),
        "boundary_connections": len(crossings) if site else None,
        "boundary_connection_spacing_m": _max_spacing(within, crossings) if site else None,
        "circuity_avg": float(t.length[edge_in].sum() / sl) if sl > 0 else float("nan"),
        "streets_per_node_avg": float(sc[node_in].mean()) if node_in.any() else float("nan"),
        "meshedness": (e_sub - v_sub + 1) / (2 * v_sub - 5) if v_sub > 2 else float("nan"),
        "gamma": e_sub / (3 * (v_sub - 2)) if v_sub > 2 else float("nan"),
    }
    if wanted is None:
        return result
    unknown = wanted - set(result)
    if unknown:
        raise ValueError(f"unknown network metrics {sorted(unknown)}; known: {sorted(result)}")
    return {k: v for k, v in result.items() if k in wanted or k == "site"}


def network_blocks(
    graph: nx.MultiGraph | NetworkTable,
    *,
    within: shapely.Geometry | None = None,
    min_width_m: float = 0.0,
) -> gpd.GeoDataFrame:
    """Blocks: faces of the street network, one row each.

    Parameters
    ----------
    graph
        Network graph or table.
    within
        Keep blocks whose representative point is inside this polygon.
    min_width_m
        Drop faces narrower than this (``width_m`` below): the slivers between a
        carriageway and its separately mapped sidewalk, or between two parallel paths, are
        faces of the network but not blocks anyone walks round.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``area_m2``, ``perimeter_m`` (exterior ring), ``longest_side_m`` (long side of
        the minimum rotated rectangle), ``width_m`` (mean width, ``2 × area / perimeter``),
        ``geometry``; sorted by area, largest first.

        The mean width ``2A/P`` tends to the width of a long strip (a sliver ``w`` m wide
        and ``L`` m long gives ``wL/(L + w) ≈ w``) and follows a curving strip, where the
        short side of the minimum rotated rectangle of a sidewalk sliver that bends with its
        street is as wide as the bend. For a compact block it is half its side (a 40 m square
        block has ``width_m`` 20), so a 10 m limit keeps every block of 20 m × 20 m or more.

    Notes
    -----
    Lines are noded at every crossing (``union_all``) and polygonized: O(E log E).
    """
    t = graph if isinstance(graph, NetworkTable) else table_from_graph(graph)
    crs = None if isinstance(graph, NetworkTable) else graph.graph.get("crs")
    cols = {"area_m2": [], "perimeter_m": [], "longest_side_m": [], "width_m": []}
    if len(t.geometry) == 0:
        return gpd.GeoDataFrame(cols, geometry=[], crs=crs)
    noded = shapely.get_parts(shapely.union_all(t.geometry))
    faces = shapely.get_parts(shapely.polygonize(noded))
    faces = faces[shapely.area(faces) > 0]
    if min_width_m > 0 and len(faces):
        width = 2.0 * shapely.area(faces) / shapely.length(shapely.get_exterior_ring(faces))
        faces = faces[width >= min_width_m]
    if within is not None and not shapely.is_empty(within) and len(faces):
        faces = faces[np.asarray(shapely.covers(within, inner_points(faces)), bool)]
    if len(faces) == 0:
        return gpd.GeoDataFrame(cols, geometry=[], crs=crs)
    rect = shapely.oriented_envelope(faces)
    rc = shapely.get_coordinates(shapely.get_exterior_ring(rect)).reshape(len(faces), -1, 2)[:, :3]
    sides = np.hypot(*(rc[:, 1:] - rc[:, :-1]).transpose(2, 0, 1))
    frame = gpd.GeoDataFrame(
        {
            "area_m2": shapely.area(faces),
            "perimeter_m": shapely.length(shapely.get_exterior_ring(faces)),
            "longest_side_m": sides.max(axis=1),
            "width_m": 2.0 * shapely.area(faces) / shapely.length(shapely.get_exterior_ring(faces)),
        },
        geometry=faces,
        crs=crs,
    )
    return frame.sort_values("area_m2", ascending=False, kind="stable").reset_index(drop=True)


def culdesac_edges(graph: nx.MultiGraph | NetworkTable) -> np.ndarray:
    """Boolean mask of the edges outside the 2-core (the dead-end branches).

    Edge order is that of :func:`~safespace.analyses.network.table_from_graph`.

    Notes
    -----
    Leaf peeling with a queue: O(V + E).
    """
    t = graph if isinstance(graph, NetworkTable) else table_from_graph(graph)
    n, m = len(t.node_xy), len(t.u)
    deg = t.street_count.copy()
    inc_node = np.r_[t.u, t.v]
    inc_edge = np.r_[np.arange(m), np.arange(m)]
    order = np.argsort(inc_node, kind="stable")
    ptr = np.searchsorted(inc_node[order], np.arange(n + 1))
    inc_e = inc_edge[order].tolist()
    ptr_l = ptr.tolist()
    u, v = t.u.tolist(), t.v.tolist()
    removed = [False] * m
    stack = np.flatnonzero(deg == 1).tolist()
    deg_l = deg.tolist()
    while stack:
        x = stack.pop()
        if deg_l[x] != 1:
            continue
        for e in inc_e[ptr_l[x] : ptr_l[x + 1]]:
            if removed[e]:
                continue
            removed[e] = True
            y = v[e] if u[e] == x else u[e]
            deg_l[x] -= 1
            deg_l[y] -= 1
            if deg_l[y] == 1:
                stack.append(y)
            break
    return np.asarray(removed, dtype=bool)


def boundary_crossings(
    graph: nx.MultiGraph | NetworkTable, polygon: shapely.Geometry, *, merge_m: float = 1.0
) -> np.ndarray:
    """Points (x, y) where network edges cross a polygon's boundary, merged within ``merge_m``.

    Notes
    -----
    STRtree query then one vectorised intersection: O(E log E).
    """
    t = graph if isinstance(graph, NetworkTable) else table_from_graph(graph)
    ring = shapely.boundary(polygon)
    if len(t.geometry) == 0 or shapely.is_empty(ring):
        return np.zeros((0, 2))
    hit = shapely.STRtree(t.geometry).query(ring, predicate="intersects")
    if len(hit) == 0:
        return np.zeros((0, 2))
    inter = shapely.intersection(t.geometry[np.sort(hit)], ring)
    parts = shapely.get_parts(inter)
    # a stretch running along the boundary counts once, at its first point
    pts = np.where(
        shapely.get_type_id(parts) == 0,
        parts,
        shapely.get_point(shapely.get_parts(parts), 0) if len(parts) else parts,
    )
    xy = shapely.get_coordinates(pts)
    if len(xy) < 2:
        return xy
    a, b = shapely.STRtree(shapely.points(xy)).query(
        shapely.points(xy), predicate="dwithin", distance=merge_m
    )
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(xy), len(xy)))
    _, comp = connected_components(g, directed=False)
    first = np.unique(comp, return_index=True)[1]
    return xy[np.sort(first)]


def route_directness(
    graph: nx.MultiGraph | NetworkTable,
    origins: Any,
    targets: Any,
    min_straight_m: float = 20.0,
) -> np.ndarray:
    """Network ÷ straight-line distance for every (origin, target) pair.

    Parameters
    ----------
    graph
        Network graph or table (read as undirected).
    origins, targets
        Points (shapely array/GeoSeries or (n, 2) coordinates).
    min_straight_m
        Pairs closer than this get NaN.

    Returns
    -------
    (n_origins, n_targets) float array; NaN for skipped pairs, inf when unreachable.

    Notes
    -----
    Both ends are snapped to their nearest edge (STRtree nearest); one scipy Dijkstra from
    each end node of each target edge: O(T (E + V) log V + N T).
    """
    t = graph if isinstance(graph, NetworkTable) else table_from_graph(graph)
    o_xy = _xy(origins)
    t_xy = _xy(targets)
    out = np.full((len(o_xy), len(t_xy)), np.nan)
    if len(o_xy) == 0 or len(t_xy) == 0 or len(t.u) == 0:
        return out
    oe, oa, os_ = _snap(t, o_xy)
    te, ta, ts = _snap(t, t_xy)
    csr = _csr(t)
    ends = np.unique(np.r_[t.u[te], t.v[te]])
    dist = dijkstra(csr, directed=False, indices=ends)
    row = {n: i for i, n in enumerate(ends.tolist())}
    L = t.length
    # distance from each origin's two edge ends to each target's two edge ends
    best = np.full((len(o_xy), len(t_xy)), np.inf)
    for t_end, t_off in ((t.u[te], ts), (t.v[te], L[te] - ts)):
        rows = np.array([row[n] for n in t_end.tolist()])
        for o_end, o_off in ((t.u[oe], os_), (t.v[oe], L[oe] - os_)):
            d = dist[rows][:, o_end].T + o_off[:, None] + t_off[None, :]
            best = np.minimum(best, d)
    same = oe[:, None] == te[None, :]
    best = np.where(same, np.minimum(best, np.abs(os_[:, None] - ts[None, :])), best)
    net = best + oa[:, None] + ta[None, :]
    straight = np.hypot(o_xy[:, None, 0] - t_xy[None, :, 0], o_xy[:, None, 1] - t_xy[None, :, 1])
    ok = straight >= min_straight_m
    out[ok] = net[ok] / straight[ok]
    return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _layout_boundary(layout: Layout) -> shapely.Geometry | None:
    b = getattr(layout, "boundary", None)
    if b is None or len(b) == 0:
        return None
    geom = shapely.union_all(np.asarray(b.geometry.values, dtype=object))
    return None if shapely.is_empty(geom) else geom


def _origins(layout: Layout) -> np.ndarray:
    ent = getattr(layout, "entrances", None)
    bld = getattr(layout, "buildings", None)
    pts = []
    served: set = set()
    if ent is not None and len(ent):
        pts.extend(np.asarray(ent.geometry.values, dtype=object))
        if "building_fid" in ent.columns:
            served = set(ent["building_fid"].dropna().tolist())
    if bld is not None and len(bld):
        keep = (
            ~bld["fid"].isin(served).to_numpy()
            if "fid" in bld.columns
            else np.ones(len(bld), dtype=bool)
        )
        pts.extend(inner_points(np.asarray(bld.geometry.values, dtype=object)[keep]))
    return np.asarray(pts, dtype=object)


def _points(value: Any) -> np.ndarray:
    if value is None:
        return np.empty(0, dtype=object)
    if hasattr(value, "geometry"):
        value = value.geometry.values
    arr = np.asarray(value)
    if arr.dtype != object and arr.ndim == 2:
        return shapely.points(arr)
    arr = np.asarray(list(arr), dtype=object)
    return arr[~shapely.is_empty(arr)] if len(arr) else arr


def _xy(value: Any) -> np.ndarray:
    arr = np.asarray(value) if not hasattr(value, "geometry") else None
    if arr is not None and arr.dtype != object and arr.ndim == 2:
        return arr.astype(float).reshape(-1, 2)
    pts = _points(value)
    return shapely.get_coordinates(pts).reshape(-1, 2) if len(pts) else np.zeros((0, 2))


def _snap(t: NetworkTable, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest edge, access distance and offset along the edge for each point."""
    pts = shapely.points(xy)
    tree = shapely.STRtree(t.geometry)
    pi, ei = tree.query_nearest(pts, return_distance=False, all_matches=False)
    edge = np.empty(len(xy), dtype=np.int64)
    edge[pi] = ei
    access = shapely.distance(pts, t.geometry[edge])
    offset = shapely.line_locate_point(t.geometry[edge], pts)
    # geometry length can differ from the length attribute by rounding: scale to it
    glen = shapely.length(t.geometry[edge])
    offset = np.where(glen > 0, offset * t.length[edge] / np.where(glen > 0, glen, 1), 0.0)
    return edge, access, offset


def _csr(t: NetworkTable) -> csr_matrix:
    """Undirected adjacency with the shortest of parallel edges (scipy would sum them)."""
    n = len(t.node_xy)
    a = np.minimum(t.u, t.v)
    b = np.maximum(t.u, t.v)
    keep = a != b
    a, b, w = a[keep], b[keep], t.length[keep]
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    a, b, w = a[first], b[first], np.maximum(w[first], 1e-9)  # 0 would read as "no edge"
    return csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))


def _hull(t: NetworkTable) -> shapely.Geometry | None:
    if len(t.geometry) == 0:
        return None
    return shapely.convex_hull(shapely.multilinestrings(list(t.geometry)))


def _clipped_length(t: NetworkTable, polygon: shapely.Geometry) -> np.ndarray:
    out = np.zeros(len(t.u))
    if len(t.u) == 0:
        return out
    inside = np.asarray(shapely.covers(polygon, t.geometry), dtype=bool)
    out[inside] = t.length[inside]
    part = ~inside & np.asarray(shapely.intersects(polygon, t.geometry), dtype=bool)
    if part.any():
        glen = shapely.length(t.geometry[part])
        clip = shapely.length(shapely.intersection(t.geometry[part], polygon))
        out[part] = np.where(glen > 0, clip / np.where(glen > 0, glen, 1), 0) * t.length[part]
    return out


def culdesac_trees(t: NetworkTable, cul: np.ndarray) -> np.ndarray:
    """Tree label per edge (−1 off-tree): cul-de-sac edges connected through non-core nodes."""
    n, m = len(t.node_xy), len(t.u)
    labels = np.full(m, -1)
    if not cul.any():
        return labels
    on_core = np.zeros(n, dtype=bool)
    core_edges = ~cul
    on_core[t.u[core_edges]] = True
    on_core[t.v[core_edges]] = True
    idx = np.flatnonzero(cul)
    # a core node becomes a private node per cul-de-sac edge so trees stay apart there
    u = np.where(on_core[t.u[idx]], n + np.arange(len(idx)), t.u[idx])
    v = np.where(on_core[t.v[idx]], n + len(idx) + np.arange(len(idx)), t.v[idx])
    size = n + 2 * len(idx)
    g = coo_matrix((np.ones(len(idx)), (u, v)), shape=(size, size))
    _, comp = connected_components(g, directed=False)
    labels[idx] = comp[u]
    return labels


def _max_spacing(polygon: shapely.Geometry, crossings: np.ndarray) -> float:
    rings = [shapely.get_exterior_ring(p) for p in shapely.get_parts(polygon)]
    if not rings:
        return float("nan")
    pts = shapely.points(crossings) if len(crossings) else np.empty(0, dtype=object)
    gaps = []
    for ring in rings:
        length = float(shapely.length(ring))
        if len(pts) == 0:
            gaps.append(length)
            continue
        on = np.asarray(shapely.dwithin(ring, pts, 1e-6 + 1.0), dtype=bool)
        pos = np.sort(shapely.line_locate_point(ring, pts[on]))
        if len(pos) < 2:
            gaps.append(length)
            continue
        gaps.append(float(max(np.diff(pos).max(), length - pos[-1] + pos[0])))
    return max(gaps)
