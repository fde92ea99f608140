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

A layout without any line of the network's kind (a square, one building, a lamp alone) gives
a graph with no node and no edge; every analysis reading it then finds nothing reachable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from safespace.errors import InputError

#: OSRM car profile speeds by highway type (km/h), used where ``maxspeed`` is not tagged.
DRIVE_SPEED_KMH: dict[str, float] = {
    "motorway": 90.0,
    "motorway_link": 45.0,
    "trunk": 85.0,
    "trunk_link": 40.0,
    "primary": 65.0,
    "primary_link": 30.0,
    "secondary": 55.0,
    "secondary_link": 25.0,
    "tertiary": 40.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 5.0,
}
#: Fallback for drivable ways of a type missing from :data:`DRIVE_SPEED_KMH` (OSRM "default").
DEFAULT_DRIVE_SPEED_KMH = 10.0
#: Walking speed (m/s), the one default for every walking time in safespace: the US
#: MUTCD's "normal walking speed" of 4.0 ft/s (2003 ed., s. 4E.10) [quoted]. The 2009
#: MUTCD uses 3.5 ft/s (1.07 m/s) for crossing design; Manual for Streets' "10 min /
#: 800 m" implies 1.33 m/s [quoted]. 1.2 m/s sits between them.
WALK_SPEED_MPS = 1.2
#: Highway values a (police) car can drive on.
DRIVABLE_HIGHWAYS = frozenset(DRIVE_SPEED_KMH)
_NO = frozenset({"no", "private_no", "false", "0"})
#: Ways a car may not use but an emergency vehicle may (``drive_network(emergency=True)``):
#: pedestrian streets. Emergency services drive into pedestrian zones, whose traffic orders
#: exempt them (e.g. Germany's StVO § 35 special rights [unverified]); ``living_street`` is in
#: :data:`DRIVABLE_HIGHWAYS` already.
EMERGENCY_EXTRA_HIGHWAYS = frozenset({"pedestrian"})
#: Speed (km/h) assumed on a pedestrian way in the emergency network: the OSRM car profile's
#: ``living_street`` speed (10 km/h), the nearest case it has of a shared surface where people
#: on foot have priority. No published speed for emergency driving in pedestrian zones was
#: found; vehicles admitted there by sign must keep to walking pace in Germany (StVO,
#: Zeichen 242.1) [unverified]. A profile may change it (PA001 ``pedestrian_speed_kmh``).
EMERGENCY_PEDESTRIAN_SPEED_KMH = 10.0
_EMERGENCY_YES = frozenset({"yes", "designated", "permissive", "destination", "official"})
_NEVER_DRIVEN = frozenset({"steps", "corridor", "elevator", "escalator"})


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


def walk_network(
    layout: Any,
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
    layout: Any,
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


def _with_emergency_ways(layout: Any, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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


# --------------------------------------------------------------------------------------------
# edge table: the array form every kernel works on
# --------------------------------------------------------------------------------------------


class NetworkTable:
    """Array form of a network: undirected edges between numbered nodes.

    Attributes
    ----------
    node_xy : (n, 2) float array
    u, v : (m,) int arrays, the edge ends (geometry runs u -> v)
    geometry : (m,) array of LineStrings
    length, travel_time : (m,) float arrays (m, s)
    direction : (m,) int8 array; 0 two-way, 1 only u -> v, -1 only v -> u
    highway : (m,) object array
    fid : list of tuples of source feature ids
    """

    __slots__ = (
        "node_xy",
        "u",
        "v",
        "geometry",
        "length",
        "travel_time",
        "direction",
        "highway",
        "fid",
    )

    def __init__(self, **kw: Any):
        for k in self.__slots__:
            setattr(self, k, kw[k])

    @property
    def street_count(self) -> np.ndarray:
        """Street ends per node (undirected degree, a self-loop counting twice)."""
        n = len(self.node_xy)
        return np.bincount(self.u, minlength=n) + np.bincount(self.v, minlength=n)


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


def table_from_graph(graph: nx.MultiGraph | nx.MultiDiGraph) -> NetworkTable:
    """Array form of any network graph with node ``x``/``y`` and edge ``geometry``/``length``.

    A directed graph is read as undirected streets: an edge and its reverse twin (same
    ``fid`` and reversed geometry) count once. Edges without geometry get a straight line.
    A graph built by this module carries its table, which is returned for that same graph
    object while its node count is unchanged: copy a network (``graph.copy()``) before
    editing its edges, and the copy is read afresh.

    Notes
    -----
    O(E) Python work over the edges.
    """
    kept = graph.graph.get("_table")
    if isinstance(kept, NetworkTable) and graph.graph.get("_table_owner") == (
        id(graph),
        graph.number_of_nodes(),
    ):
        return kept
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in nodes], dtype=float)
    xy = xy.reshape(-1, 2)
    us, vs, geoms, lengths, tts, hws, fids, dirs = [], [], [], [], [], [], [], []
    seen: dict[tuple, int] = {}
    directed = graph.is_directed()
    for a, b, d in graph.edges(data=True):
        i, j = index[a], index[b]
        g = d.get("geometry")
        if g is None:
            g = shapely.linestrings([xy[i], xy[j]])
        else:
            # undirected graphs report (a, b) in adjacency order: follow the geometry instead
            x0, y0 = shapely.get_coordinates(shapely.get_point(g, 0))[0]
            if (x0 - xy[i, 0]) ** 2 + (y0 - xy[i, 1]) ** 2 > (x0 - xy[j, 0]) ** 2 + (
                y0 - xy[j, 1]
            ) ** 2:
                i, j = j, i
        fid = d.get("fid", ())
        fid = tuple(fid) if isinstance(fid, list | tuple) else (fid,)
        if directed:
            key = (min(i, j), max(i, j), fid, round(float(d.get("length", g.length)), 6))
            if key in seen:
                dirs[seen[key]] = 0
                continue
            seen[key] = len(us)
        us.append(i)
        vs.append(j)
        geoms.append(g)
        lengths.append(float(d.get("length", shapely.length(g))))
        tts.append(float(d.get("travel_time", np.nan)))
        hws.append(d.get("highway"))
        fids.append(fid)
        dirs.append(1 if directed else 0)
    return NetworkTable(
        node_xy=xy,
        u=np.asarray(us, dtype=np.int64),
        v=np.asarray(vs, dtype=np.int64),
        geometry=np.asarray(geoms, dtype=object),
        length=np.asarray(lengths, dtype=float),
        travel_time=np.asarray(tts, dtype=float),
        direction=np.asarray(dirs, dtype=np.int8),
        highway=np.asarray(hws, dtype=object),
        fid=fids,
    )


# --------------------------------------------------------------------------------------------
# input preparation
# --------------------------------------------------------------------------------------------


def _layer(layout: Any, name: str) -> gpd.GeoDataFrame:
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


# --------------------------------------------------------------------------------------------
# noding
# --------------------------------------------------------------------------------------------


def _line_coords(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D vertices of every line with their line index, consecutive duplicates removed."""
    coords, line_of = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return coords.reshape(0, 2), line_of
    dup = np.zeros(len(coords), dtype=bool)
    dup[1:] = (line_of[1:] == line_of[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)
    coords, line_of = coords[~dup], line_of[~dup]
    counts = np.bincount(line_of, minlength=len(geoms))
    keep = counts[line_of] >= 2  # a line collapsed to one point carries no edge
    return coords[keep], line_of[keep]


def _vertex_ids(coords: np.ndarray) -> np.ndarray:
    """Same id for exactly equal coordinates (shared OSM nodes project identically)."""
    order = np.lexsort((coords[:, 1], coords[:, 0]))
    c = coords[order]
    new = np.r_[True, np.any(c[1:] != c[:-1], axis=1)]
    ids = np.empty(len(coords), dtype=np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def _line_bounds(line_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line ids present, index of first vertex, index of last vertex)."""
    change = np.flatnonzero(np.diff(line_of)) + 1
    starts = np.r_[0, change]
    ends = np.r_[change - 1, len(line_of) - 1]
    return line_of[starts], starts, ends


def _snap_endpoints(
    coords: np.ndarray,
    line_of: np.ndarray,
    geoms: np.ndarray,
    layers: np.ndarray,
    tol: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Join free line endpoints to nearby lines of the same layer.

    A *free* endpoint shares its coordinates with no other line. Free endpoints within
    ``tol`` of each other are first merged (to the lowest-index one); each remaining free
    endpoint then moves to the nearest line of its layer within ``tol``: onto the nearest
    vertex when one is within ``tol``, else onto its projection, inserted as a new vertex.
    """
    coords = coords.copy()
    vid = _vertex_ids(coords)
    pairs = np.unique(vid * (int(line_of.max()) + 1) + line_of)
    lines_per_vertex = np.bincount(pairs // (int(line_of.max()) + 1))
    lids, starts, ends = _line_bounds(line_of)
    ep = np.r_[starts, ends]  # endpoint vertex positions
    ep_line = np.r_[lids, lids]
    free = lines_per_vertex[vid[ep]] == 1
    # a closed ring's two ends are one point: not free of each other but free of others
    ep, ep_line = ep[free], ep_line[free]
    if len(ep) == 0:
        return coords, line_of
    pts = shapely.points(coords[ep])
    # (a) merge free endpoints that nearly coincide
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=tol)
    sel = (a != b) & (layers[ep_line[a]] == layers[ep_line[b]])
    a, b = a[sel], b[sel]
    merged = np.zeros(len(ep), dtype=bool)
    if len(a):
        graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ep), len(ep)))
        _, comp = connected_components(graph, directed=False)
        size = np.bincount(comp)
        rep = np.full(comp.max() + 1, len(ep))
        np.minimum.at(rep, comp, np.arange(len(ep)))
        multi = size[comp] > 1
        coords[ep[multi]] = coords[ep[rep[comp[multi]]]]
        merged = multi
    ep, ep_line, pts = ep[~merged], ep_line[~merged], pts[~merged]
    if len(ep) == 0:
        return coords, line_of
    # (b) snap the rest onto the nearest other line of their layer
    ltree = shapely.STRtree(geoms)
    pi, li = ltree.query(pts, predicate="dwithin", distance=tol)
    sel = (li != ep_line[pi]) & (layers[li] == layers[ep_line[pi]])
    pi, li = pi[sel], li[sel]
    if len(pi) == 0:
        return coords, line_of
    dist = shapely.distance(pts[pi], geoms[li])
    order = np.lexsort((li, dist, pi))  # nearest line per endpoint, ties by line index
    pi, li = pi[order], li[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    pi, li = pi[first], li[first]
    line_start = np.full(len(geoms), -1)
    line_end = np.full(len(geoms), -1)
    line_start[lids], line_end[lids] = starts, ends
    inserts: list[tuple[int, float, np.ndarray]] = []
    for p, line in zip(pi.tolist(), li.tolist(), strict=True):
        s, e = line_start[line], line_end[line]
        if s < 0:
            continue
        xy = coords[ep[p]]
        verts = coords[s : e + 1]
        dv = np.hypot(verts[:, 0] - xy[0], verts[:, 1] - xy[1])
        k = int(np.argmin(dv))
        if dv[k] <= tol:
            coords[ep[p]] = verts[k]
            continue
        # project on the segment chain (the original geometry can differ after merges)
        seg_a, seg_b = verts[:-1], verts[1:]
        d = seg_b - seg_a
        t = np.clip(
            ((xy - seg_a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300),
            0.0,
            1.0,
        )
        proj = seg_a + t[:, None] * d
        j = int(np.argmin(np.hypot(proj[:, 0] - xy[0], proj[:, 1] - xy[1])))
        coords[ep[p]] = proj[j]
        inserts.append((s + j + 1, float(t[j]), proj[j].copy()))
    if inserts:
        inserts.sort(key=lambda r: (r[0], r[1]))
        pos = np.array([r[0] for r in inserts])
        val = np.array([r[2] for r in inserts])
        coords = np.insert(coords, pos, val, axis=0)
        line_of = np.insert(line_of, pos, line_of[pos - 1])
    return coords, line_of


class _Pieces:
    """Lines split at nodes: piece p has vertices pcoords[pstart[p]:pend[p]]."""

    def __init__(self, pcoords, pstart, pend, pline, pu, pv, node_xy):
        self.pcoords, self.pstart, self.pend = pcoords, pstart, pend
        self.pline, self.pu, self.pv, self.node_xy = pline, pu, pv, node_xy


def _split_at_nodes(coords: np.ndarray, line_of: np.ndarray) -> _Pieces:
    """Split every line at its node vertices (endpoints and vertices used twice or more)."""
    if len(coords) == 0:
        e = np.zeros(0, dtype=np.int64)
        return _Pieces(coords.reshape(0, 2), e, e, e, e, e, np.zeros((0, 2)))
    vid = _vertex_ids(coords)
    use = np.bincount(vid)
    lids, starts, ends = _line_bounds(line_of)
    is_end = np.zeros(len(coords), dtype=bool)
    is_end[starts] = True
    is_end[ends] = True
    is_node = is_end | (use[vid] >= 2)
    is_last = np.zeros(len(coords), dtype=bool)
    is_last[ends] = True
    # piece number of each vertex as a piece start: running count of nodes minus one per line
    csum = np.cumsum(is_node)
    line_rank = np.repeat(np.arange(len(lids)), ends - starts + 1)
    piece_as_start = csum - 1 - line_rank  # lines end on a node, which is not a start
    # every vertex except a line's last starts/continues a piece; every node vertex except a
    # line's first also ends the previous piece
    va = np.flatnonzero(~is_last)
    vb = np.flatnonzero(is_node & ~np.isin(np.arange(len(coords)), starts))
    pid = np.r_[piece_as_start[va], piece_as_start[vb] - 1]
    vert = np.r_[va, vb]
    order = np.lexsort((vert, pid))
    pid, vert = pid[order], vert[order]
    pcoords = coords[vert]
    n_pieces = int(pid[-1]) + 1 if len(pid) else 0
    pstart = np.searchsorted(pid, np.arange(n_pieces), side="left")
    pend = np.searchsorted(pid, np.arange(n_pieces), side="right")
    node_vids, node_index = np.unique(vid[is_node], return_inverse=True)
    node_of_vid = np.full(vid.max() + 1, -1)
    node_of_vid[node_vids] = np.arange(len(node_vids))
    first_xy = np.zeros((len(node_vids), 2))
    first_xy[node_index] = coords[is_node]
    pu = node_of_vid[vid[vert[pstart]]]
    pv = node_of_vid[vid[vert[pend - 1]]]
    pline = line_of[vert[pstart]]
    # drop zero-length pieces (two vertices at the same point cannot occur, but guard anyway)
    return _Pieces(pcoords, pstart, pend, pline, pu, pv, first_xy)


# --------------------------------------------------------------------------------------------
# simplification and assembly
# --------------------------------------------------------------------------------------------


def _assemble(
    pieces: _Pieces,
    meta: dict[str, np.ndarray],
    line_direction: np.ndarray,
    *,
    simplify: bool,
    split_speeds: bool = False,
) -> NetworkTable:
    pc, ps, pe = pieces.pcoords, pieces.pstart, pieces.pend
    n_p = len(ps)
    if n_p == 0:
        # no line with an edge (a square, one building, a lamp alone): an empty network
        return _empty_table()
    pu, pv = pieces.pu, pieces.pv
    seglen = np.zeros(len(pc))
    if len(pc) > 1:
        seglen[1:] = np.hypot(*(pc[1:] - pc[:-1]).T)
    cum = np.cumsum(seglen)
    plen = cum[pe - 1] - cum[ps] if n_p else np.zeros(0)
    pdir = line_direction[pieces.pline].astype(np.int8) if n_p else np.zeros(0, np.int8)
    pspeed = meta["speed"][pieces.pline] if n_p else np.zeros(0)
    ptt = plen / pspeed
    pfid = meta["fid"][pieces.pline] if n_p else np.zeros(0, dtype=object)
    phw = meta["highway"][pieces.pline] if n_p else np.zeros(0, dtype=object)
    n_nodes = len(pieces.node_xy)

    if simplify and n_p:
        chains, revs = _chains(pu, pv, pdir, n_nodes, pspeed if split_speeds else None)
    else:
        chains = [[p] for p in range(n_p)]
        revs = [[False] for _ in range(n_p)]

    # gather chain geometry: concatenate oriented pieces, dropping repeated junction vertices
    ent_piece = np.fromiter((p for c in chains for p in c), dtype=np.int64)
    ent_rev = np.fromiter((r for c in revs for r in c), dtype=bool)
    ent_chain = np.repeat(np.arange(len(chains)), [len(c) for c in chains])
    ent_first = np.r_[True, ent_chain[1:] != ent_chain[:-1]] if len(ent_chain) else ent_rev
    L = pe[ent_piece] - ps[ent_piece]
    take = L - (~ent_first)
    ent_of = np.repeat(np.arange(len(ent_piece)), take)
    pos = np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
    k = pos + (~ent_first)[ent_of]
    vidx = np.where(ent_rev[ent_of], pe[ent_piece[ent_of]] - 1 - k, ps[ent_piece[ent_of]] + k)
    geoms = (
        shapely.linestrings(pc[vidx], indices=ent_chain[ent_of])
        if len(vidx)
        else np.empty(0, dtype=object)
    )
    geoms = np.asarray(geoms, dtype=object)
    first_p = ent_piece[ent_first]
    first_rev = ent_rev[ent_first]
    last_idx = np.r_[np.flatnonzero(ent_first)[1:] - 1, len(ent_piece) - 1]
    last_p, last_rev = ent_piece[last_idx], ent_rev[last_idx]
    u = np.where(first_rev, pv[first_p], pu[first_p])
    v = np.where(last_rev, pu[last_p], pv[last_p])
    length = np.bincount(ent_chain, weights=plen[ent_piece], minlength=len(chains))
    tt = np.bincount(ent_chain, weights=ptt[ent_piece], minlength=len(chains))
    direction = np.where(first_rev, -pdir[first_p], pdir[first_p]).astype(np.int8)
    # highway of the longest piece; fids in order, unique
    best = np.lexsort((-plen[ent_piece], ent_chain))
    best_first = best[np.r_[True, ent_chain[best][1:] != ent_chain[best][:-1]]]
    highway = phw[ent_piece[best_first]]
    fid_list = pfid[ent_piece].tolist()
    bounds = np.r_[np.flatnonzero(ent_first), len(ent_piece)]
    fids = [tuple(dict.fromkeys(fid_list[bounds[i] : bounds[i + 1]])) for i in range(len(chains))]
    # drop the nodes merged away and renumber the rest in coordinate order
    used, inv = np.unique(np.r_[u, v].astype(np.int64), return_inverse=True)
    inv = inv.ravel()
    return NetworkTable(
        node_xy=pieces.node_xy[used].reshape(-1, 2),
        u=inv[: len(u)],
        v=inv[len(u) :],
        geometry=geoms,
        length=length,
        travel_time=tt,
        direction=direction,
        highway=highway,
        fid=fids,
    )


def _empty_table() -> NetworkTable:
    """A network with no node and no edge."""
    return NetworkTable(
        node_xy=np.zeros((0, 2)),
        u=np.zeros(0, dtype=np.int64),
        v=np.zeros(0, dtype=np.int64),
        geometry=np.empty(0, dtype=object),
        length=np.zeros(0),
        travel_time=np.zeros(0),
        direction=np.zeros(0, dtype=np.int8),
        highway=np.empty(0, dtype=object),
        fid=[],
    )


def _chains(
    pu: np.ndarray,
    pv: np.ndarray,
    pdir: np.ndarray,
    n_nodes: int,
    pspeed: np.ndarray | None = None,
) -> tuple[list[list[int]], list[list[bool]]]:
    """Group pieces into maximal chains through mergeable degree-2 nodes.

    A node is mergeable when exactly two piece ends meet there, they belong to two different
    pieces (not a self-loop), the one-way direction is the same on both sides and (when
    ``pspeed`` is given) so is the speed.
    """
    deg = np.bincount(pu, minlength=n_nodes) + np.bincount(pv, minlength=n_nodes)
    # incidence lists for degree-2 nodes: (piece, at_v_end)
    inc_node = np.r_[pu, pv]
    inc_piece = np.r_[np.arange(len(pu)), np.arange(len(pu))]
    inc_atv = np.r_[np.zeros(len(pu), bool), np.ones(len(pu), bool)]
    sel = deg[inc_node] == 2
    order = np.argsort(inc_node[sel], kind="stable")
    n2 = inc_node[sel][order]
    p2 = inc_piece[sel][order]
    a2 = inc_atv[sel][order]
    na, pa, aa = n2[0::2], p2[0::2], a2[0::2]
    pb, ab = p2[1::2], a2[1::2]
    # direction seen travelling into the node along a, then out along b
    dir_in = np.where(aa, pdir[pa], -pdir[pa])
    dir_out = np.where(ab, -pdir[pb], pdir[pb])
    same_speed = np.ones(len(pa), dtype=bool) if pspeed is None else pspeed[pa] == pspeed[pb]
    mergeable_nodes = na[(pa != pb) & (dir_in == dir_out) & same_speed]
    merge = np.zeros(n_nodes, dtype=bool)
    merge[mergeable_nodes] = True
    other: dict[tuple[int, int], int] = {}
    for n, x, y in zip(na.tolist(), pa.tolist(), pb.tolist(), strict=True):
        if merge[n]:
            other[(n, x)] = y
            other[(n, y)] = x
    pu_l, pv_l, merge_l = pu.tolist(), pv.tolist(), merge.tolist()
    used = [False] * len(pu_l)
    chains: list[list[int]] = []
    revs: list[list[bool]] = []

    def walk(p: int, rev: bool) -> None:
        chain, rv = [p], [rev]
        used[p] = True
        end = pu_l[p] if rev else pv_l[p]
        start = pv_l[p] if rev else pu_l[p]
        while merge_l[end] and end != start:
            q = other[(end, p)]
            if used[q]:
                break
            r = pv_l[q] == end and pu_l[q] != end
            used[q] = True
            chain.append(q)
            rv.append(r)
            p = q
            end = pu_l[q] if r else pv_l[q]
        chains.append(chain)
        revs.append(rv)

    for p in range(len(pu_l)):
        if used[p]:
            continue
        if not merge_l[pu_l[p]]:
            walk(p, False)
        elif not merge_l[pv_l[p]]:
            walk(p, True)
    for p in range(len(pu_l)):  # the rest are rings of mergeable nodes
        if not used[p]:
            walk(p, False)
    return chains, revs


def _keep_table(graph: nx.MultiGraph, table: NetworkTable) -> nx.MultiGraph:
    """Keep the array form on the graph, so analyses need not rebuild it from networkx.

    It is reused only by this very graph object (a copy re-reads its own edges) while its
    node count is unchanged (see :func:`table_from_graph`).
    """
    graph.graph["_table"] = table
    graph.graph["_table_owner"] = (id(graph), graph.number_of_nodes())
    return graph


def _to_graph(table: NetworkTable, *, directed: bool, crs: Any) -> nx.MultiGraph:
    graph: nx.MultiGraph = nx.MultiDiGraph(crs=crs) if directed else nx.MultiGraph(crs=crs)
    sc = table.street_count
    xy = table.node_xy
    graph.add_nodes_from(
        (
            i,
            {
                "x": float(xy[i, 0]),
                "y": float(xy[i, 1]),
                "street_count": int(sc[i]),
                "dead_end": bool(sc[i] == 1),
            },
        )
        for i in range(len(xy))
    )
    length = table.length.tolist()
    tt = table.travel_time.tolist()
    u, v = table.u.tolist(), table.v.tolist()
    hw = table.highway.tolist()

    def attrs(i: int, geom: Any) -> dict[str, Any]:
        return {
            "length": length[i],
            "geometry": geom,
            "fid": table.fid[i],
            "highway": hw[i],
            "travel_time": tt[i],
            "speed_mps": length[i] / tt[i] if tt[i] > 0 else np.nan,
        }

    if not directed:
        graph.add_edges_from(
            (u[i], v[i], attrs(i, g)) for i, g in enumerate(table.geometry.tolist())
        )
        return _keep_table(graph, table)
    rev = shapely.reverse(table.geometry) if len(table.geometry) else table.geometry
    d = table.direction.tolist()
    fwd = table.geometry.tolist()
    back = list(rev)
    edges = []
    for i in range(len(u)):
        if d[i] >= 0:
            edges.append((u[i], v[i], dict(attrs(i, fwd[i]), oneway=d[i] != 0)))
        if d[i] <= 0:
            edges.append((v[i], u[i], dict(attrs(i, back[i]), oneway=d[i] != 0)))
    graph.add_edges_from(edges)
    return _keep_table(graph, table)
