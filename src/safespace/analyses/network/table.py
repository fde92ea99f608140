"""The edge table: the array form of a network that every kernel works on."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import shapely


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
