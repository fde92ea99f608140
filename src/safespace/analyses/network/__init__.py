"""Walk and drive networks built from a Layout's line layers.

The graphs are plain networkx graphs in the layout's metric CRS, topologically clean:

* **nodes at real junctions.** Lines are split where they share a vertex (OSM ways sharing a
  node) and where a line *endpoint* lies within ``snap_tolerance`` of another line of the same
  ``layer`` (a drawn T-junction whose vertex was not shared). Lines that merely cross without a
  shared vertex stay unconnected: bridges, tunnels and drawings with different ``layer`` tags.
* **degree-2 chains simplified** into single edges keeping the full geometry, as
  ``osmnx.simplify_graph`` does: a node survives when it is a dead end, a junction of three or
  more street ends, the node of a self-loop, or (drive network) the point where one-way
  directions change. Attributes of a merged edge: ``fid`` (tuple of the source feature ids,
  in order along the edge), ``highway`` (value of the longest piece), ``length`` (sum, m),
  ``travel_time`` (sum of piece length / piece speed, s) and ``speed_mps`` (length /
  travel_time, i.e. the harmonic mean of the piece speeds weighted by length).

Node attributes: ``x``, ``y``, ``street_count`` (physical street ends at the node, a self-loop
counting twice — osmnx's ``count_streets_per_node``) and ``dead_end`` (``street_count == 1``).
Graph attribute ``crs``.

Speeds. The drive network uses ``maxspeed_kmh`` where tagged, else :data:`DRIVE_SPEED_KMH`, the
highway-type table of the OSRM car profile (Project-OSRM/osrm-backend ``profiles/car.lua``:
motorway 90, trunk 85, primary 65, secondary 55, tertiary 40, unclassified/residential 25,
service 15, living_street 10 km/h, links lower). The emergency drive network
(``drive_network(layout, emergency=True)``, used for police response) adds pedestrian streets
at :data:`EMERGENCY_PEDESTRIAN_SPEED_KMH` (10 km/h, [unverified]). The walk network uses one
walking speed, :data:`WALK_SPEED_MPS` = 1.2 m/s (US MUTCD 4.0 ft/s [quoted]).

Modules: ``speeds`` (speeds and the highway vocabulary), ``prepare`` (a layout's lines as
coordinates, tags and speeds), ``noding`` (split at shared vertices, snap T-junctions),
``assembly`` (degree-2 chains merged, the graph built), ``table`` (the edge table the kernels
read); the public builders are here.

A layout without any line of the network's kind (a square, one building, a lamp alone) gives
a graph with no node and no edge; every analysis reading it then finds nothing reachable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from safespace.analyses.network.assembly import _assemble, _to_graph
from safespace.analyses.network.noding import _line_coords, _snap_endpoints, _split_at_nodes
from safespace.analyses.network.prepare import (
    _column,
    _indoor,
    _layer,
    _prepare,
    _tags,
    _with_emergency_ways,
)
from safespace.analyses.network.speeds import (
    _EMERGENCY_YES,
    _NEVER_DRIVEN,
    _NO,
    DEFAULT_DRIVE_SPEED_KMH,
    DRIVABLE_HIGHWAYS,
    DRIVE_SPEED_KMH,
    EMERGENCY_EXTRA_HIGHWAYS,
    EMERGENCY_PEDESTRIAN_SPEED_KMH,
    WALK_SPEED_MPS,
)
from safespace.analyses.network.table import NetworkTable, table_from_graph

if TYPE_CHECKING:
    from safespace.layout import Layout


def walk_network(
    layout: Layout,
    *,
    snap_tolerance: float = 1.0,
    simplify: bool = True,
    walk_speed_mps: float = WALK_SPEED_MPS,
) -> nx.MultiGraph:
    """Undirected walk network of a layout's ``foot_routes``.

    Parameters
    ----------
    layout
        Any object with a ``foot_routes`` GeoDataFrame and ``crs`` (a :class:`safespace.Layout`).
    snap_tolerance
        Distance (m) within which a free line endpoint is joined to another line.
    simplify
        Merge degree-2 chains into single edges.
    walk_speed_mps
        Walking speed used for ``travel_time`` and ``speed_mps``.

    Returns
    -------
    networkx.MultiGraph
        See the module docstring for node and edge attributes.

    Notes
    -----
    O(V log V) in the number of line vertices V (sorting and an STRtree query), plus O(E) Python
    work to fill the networkx graph.
    """
    lines = _layer(layout, "foot_routes")
    speed = np.full(len(lines), float(walk_speed_mps))
    return build_network(
        lines,
        directed=False,
        snap_tolerance=snap_tolerance,
        simplify=simplify,
        speed_mps=speed,
        crs=getattr(layout, "crs", None),
    )


def drive_network(
    layout: Layout,
    *,
    snap_tolerance: float = 1.0,
    simplify: bool = True,
    emergency: bool = False,
    pedestrian_speed_kmh: float | None = None,
) -> nx.MultiDiGraph:
    """Directed drive network of a layout's ``streets`` (for police response).

    Ways are kept when ``highway`` is in :data:`DRIVABLE_HIGHWAYS` and neither
    ``motor_vehicle``, ``vehicle`` nor ``access`` is ``no``. ``oneway`` is honoured (``yes``,
    ``true``, ``1``, ``-1``/``reverse``; ``junction=roundabout`` and motorways imply one-way).

    With ``emergency=True`` the network is the one an emergency vehicle may use: it adds the
    pedestrian streets (``highway=pedestrian``) and tracks of ``foot_routes``, and any way
    tagged ``emergency=yes|designated|permissive|destination`` (other than steps and indoor
    ways); on those ways and on ``living_street`` a ``motor_vehicle``/``vehicle``/``access``
    ``no`` does not apply (it is the traffic order an emergency service is exempt from);
    ``emergency=no`` removes a way. Pedestrian ways (and other foot-only ways admitted by their
    ``emergency`` tag) are driven at ``pedestrian_speed_kmh``
    (:data:`EMERGENCY_PEDESTRIAN_SPEED_KMH` by default) unless ``maxspeed`` is tagged. Chains
    are not merged across a change of speed (``build_network(split_speeds=True)``), so a
    response time read part-way along an edge is exact.

    Parameters
    ----------
    layout
        Any object with a ``streets`` GeoDataFrame and ``crs`` (and ``foot_routes`` for
        ``emergency=True``).
    snap_tolerance
        Distance (m) within which a free line endpoint is joined to another line.
    simplify
        Merge degree-2 chains (never across a change of one-way direction).
    emergency
        Build the emergency-vehicle network described above.
    pedestrian_speed_kmh
        Speed on pedestrian ways in the emergency network (km/h).

    Returns
    -------
    networkx.MultiDiGraph
        Two-way streets give an edge each way; edge geometry runs from ``u`` to ``v``. A
        layout without a drivable way gives a graph with no node.

    Notes
    -----
    Same complexity as :func:`walk_network`.
    """
    ped_kmh = (
        EMERGENCY_PEDESTRIAN_SPEED_KMH if pedestrian_speed_kmh is None else pedestrian_speed_kmh
    )
    if not (np.isfinite(ped_kmh) and ped_kmh > 0):
        raise ValueError(f"pedestrian_speed_kmh must be a positive number, not {ped_kmh!r}")
    lines = _layer(layout, "streets")
    if emergency:
        lines = _with_emergency_ways(layout, lines)
    slow = np.zeros(len(lines), dtype=bool)
    if len(lines):
        hw = _column(lines, "highway")
        tags = _tags(lines)
        em = [str(t.get("emergency", "")).strip().lower() for t in tags]
        keep = np.array([h in DRIVABLE_HIGHWAYS for h in hw], dtype=bool)
        exempt = np.zeros(len(lines), dtype=bool)
        if emergency:
            allowed = np.array([e in _EMERGENCY_YES for e in em], dtype=bool)
            ped = np.array([h in EMERGENCY_EXTRA_HIGHWAYS for h in hw], dtype=bool)
            indoor = _indoor(lines, tags)
            keep = (
                keep | ped | (allowed & np.array([h not in _NEVER_DRIVEN for h in hw]))
            ) & ~indoor
            keep &= np.array([e not in _NO for e in em], dtype=bool)
            exempt = allowed | ped | np.array([h == "living_street" for h in hw], dtype=bool)
            slow = ~np.array([h in DRIVABLE_HIGHWAYS for h in hw], dtype=bool)
        for key in ("motor_vehicle", "vehicle", "access"):
            barred = np.array([str(t.get(key, "")).lower() in _NO for t in tags], dtype=bool)
            keep &= ~barred | exempt
        lines = lines[keep]
        slow = slow[keep]
    hw = _column(lines, "highway")
    speed_kmh = np.array([DRIVE_SPEED_KMH.get(h, DEFAULT_DRIVE_SPEED_KMH) for h in hw], dtype=float)
    speed_kmh[slow] = float(ped_kmh)
    if "maxspeed_kmh" in lines.columns and len(lines):
        tagged = pd.to_numeric(lines["maxspeed_kmh"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(tagged) & (tagged > 0)
        speed_kmh[ok] = tagged[ok]
    graph = build_network(
        lines,
        directed=True,
        snap_tolerance=snap_tolerance,
        simplify=simplify,
        speed_mps=speed_kmh / 3.6,
        crs=getattr(layout, "crs", None),
        split_speeds=emergency,  # response times are read part-way along edges
    )
    graph.graph["emergency"] = bool(emergency)
    graph.graph["pedestrian_ways"] = int(slow.sum())
    return graph


def build_network(
    lines: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[Any] | np.ndarray,
    *,
    directed: bool = False,
    snap_tolerance: float = 1.0,
    simplify: bool = True,
    speed_mps: np.ndarray | float | None = None,
    crs: Any = None,
    split_speeds: bool = False,
) -> nx.MultiGraph | nx.MultiDiGraph:
    """Build a clean network graph from line geometries.

    Parameters
    ----------
    lines
        A GeoDataFrame (columns ``fid``, ``highway``, ``oneway``, ``tunnel``, ``tags`` are used
        when present), a GeoSeries or an array of LineStrings / MultiLineStrings, metric CRS.
    directed
        Build a ``MultiDiGraph`` honouring ``oneway``; else a ``MultiGraph``.
    snap_tolerance
        Free endpoints within this distance (m) of another line of the same layer are joined
        to it (0 disables snapping).
    simplify
        Merge degree-2 chains.
    speed_mps
        Speed per input row (or one value) for ``travel_time``; default 1.333 m/s.
    crs
        CRS stored as ``graph.graph["crs"]``; default the frame's CRS.
    split_speeds
        Never merge a chain across a change of speed: every edge then has one speed along
        its length, so that a point part-way along it is reached at the time its share of
        the length says (the router splits an edge's cost in proportion to length).

    Returns
    -------
    networkx.MultiGraph or networkx.MultiDiGraph

    Notes
    -----
    O(V log V) in the number of vertices V; the only Python loops run over snapped endpoints
    and over the output edges (filling networkx).
    """
    table = network_table(
        lines,
        directed=directed,
        snap_tolerance=snap_tolerance,
        simplify=simplify,
        speed_mps=speed_mps,
        split_speeds=split_speeds,
    )
    if crs is None:
        crs = getattr(lines, "crs", None)
    return _to_graph(table, directed=directed, crs=crs)


def graph_to_gdfs(graph: nx.MultiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of a network graph as GeoDataFrames (like ``osmnx.graph_to_gdfs``).

    Returns
    -------
    (nodes, edges)
        ``nodes`` indexed by node id with ``x``, ``y``, ``street_count``, ``dead_end``;
        ``edges`` with ``u``, ``v``, ``key`` and the edge attributes.
    """
    crs = graph.graph.get("crs")
    nid = list(graph.nodes)
    ndata = pd.DataFrame([graph.nodes[n] for n in nid], index=pd.Index(nid, name="node"))
    nodes = gpd.GeoDataFrame(
        ndata,
        geometry=shapely.points(ndata["x"].to_numpy(float), ndata["y"].to_numpy(float))
        if len(ndata)
        else [],
        crs=crs,
    )
    rows = [dict(d, u=u, v=v, key=k) for u, v, k, d in graph.edges(keys=True, data=True)]
    edata = pd.DataFrame(rows)
    if len(edata):
        edges = gpd.GeoDataFrame(edata, geometry="geometry", crs=crs)
    else:
        edges = gpd.GeoDataFrame({"u": [], "v": [], "key": []}, geometry=[], crs=crs)
    return nodes, edges


def network_table(
    lines: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[Any] | np.ndarray,
    *,
    directed: bool = False,
    snap_tolerance: float = 1.0,
    simplify: bool = True,
    speed_mps: np.ndarray | float | None = None,
    split_speeds: bool = False,
) -> NetworkTable:
    """Node lines and simplify the chains; the array core of :func:`build_network`.

    Notes
    -----
    O(V log V) in the number of vertices V.
    """
    geoms, meta = _prepare(lines, speed_mps)
    layers = meta["layer"]
    coords, line_of = _line_coords(geoms)
    if snap_tolerance and snap_tolerance > 0 and len(coords):
        coords, line_of = _snap_endpoints(coords, line_of, geoms, layers, float(snap_tolerance))
    pieces = _split_at_nodes(coords, line_of)
    direction = meta["direction"] if directed else np.zeros(len(geoms), dtype=np.int8)
    return _assemble(pieces, meta, direction, simplify=simplify, split_speeds=split_speeds)


__all__ = [
    "DEFAULT_DRIVE_SPEED_KMH",
    "DRIVABLE_HIGHWAYS",
    "DRIVE_SPEED_KMH",
    "EMERGENCY_EXTRA_HIGHWAYS",
    "EMERGENCY_PEDESTRIAN_SPEED_KMH",
    "WALK_SPEED_MPS",
    "NetworkTable",
    "build_network",
    "drive_network",
    "graph_to_gdfs",
    "network_table",
    "table_from_graph",
    "walk_network",
]
