"""The edges of a cached network as arrays, and what their ends and ways are.

The permeability rules (PM001–PM009) read one walk and one drive network from the analysis
cache; :func:`graph_table` is their array form, cached itself (keyed by the graph object),
so every rule reads the same table. :func:`foot_only_edges` and :func:`served_points` answer
questions about that table's edges and nodes from the layout's layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import shapely

from safespace._classify import FOOT_ONLY
from safespace.analyses.network import NetworkTable, table_from_graph

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["foot_only_edges", "graph_table", "served_points"]


def graph_table(layout: Layout, *, graph: nx.Graph) -> NetworkTable:
    """The array form of a prebuilt network (:func:`~safespace.analyses.network.
    table_from_graph`), as an analysis: ``site.analysis(graph_table, graph=walk)`` with the
    cached walk network computes it once per assessment.

    Parameters
    ----------
    layout
        The layout the network was built from (not read: the cache passes it).
    graph
        The network (a cached result, so the cache keys it by identity).

    Returns
    -------
    NetworkTable

    Notes
    -----
    O(V + E) over the graph's nodes and edges.
    """
    return table_from_graph(graph)


def foot_only_edges(layout: Layout, *, table: NetworkTable) -> np.ndarray:
    """Per edge of a network table: is every source way of it foot-only?

    Parameters
    ----------
    layout
        The layout (its ``foot_routes`` give each way's ``highway``).
    table
        A network table of the layout (:func:`graph_table`).

    Returns
    -------
    numpy.ndarray
        One bool per edge; an edge with no source way is not foot-only.

    Notes
    -----
    O(F + Σ ways per edge) for F foot routes.
    """
    fr = layout.foot_routes
    hw = dict(zip(fr["fid"], fr["highway"], strict=False)) if len(fr) else {}
    return np.array(
        [bool(f) and all(hw.get(x) in FOOT_ONLY for x in f) for f in table.fid], dtype=bool
    )


def served_points(layout: Layout, *, xy: np.ndarray, distance: float) -> np.ndarray:
    """Per point: is it within ``distance`` of a building, entrance, square or car park?

    Parameters
    ----------
    layout
        The layout (``buildings``, ``entrances``, ``pedestrian_areas``, ``parking``).
    xy
        Points, an (n, 2) array in the layout's CRS.
    distance
        How near a destination a point is served by it, m.

    Returns
    -------
    numpy.ndarray
        One bool per point.

    Notes
    -----
    One STRtree query per layer: O((n + G) log G) for G features.
    """
    pts = shapely.points(xy)
    out = np.zeros(len(xy), dtype=bool)
    for frame in (layout.buildings, layout.entrances, layout.pedestrian_areas, layout.parking):
        if frame is None or frame.empty:
            continue
        qi, _ = shapely.STRtree(frame.geometry.values).query(
            pts, predicate="dwithin", distance=distance
        )
        out[qi] = True
    return out
