"""The angular segment analyses the rules read, as cacheable analyses of a layout.

:func:`walk_angular` is PM008's (one radius, choice on, on the cached walk network; the
issue ranking reads its choice through the cache, by the name ``walk_angular``);
:func:`integration_segments` is PA003's (angular integration at 800 m, no choice). Both run
:func:`~safespace.analyses.space_syntax.angular_segment_analysis`, imported when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import networkx as nx

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["integration_segments", "walk_angular"]


def walk_angular(
    layout: Layout, *, graph: nx.MultiGraph, radius: float, split: str
) -> gpd.GeoDataFrame:
    """Angular segment analysis (one radius, choice on) of a prebuilt walk network.

    Parameters
    ----------
    layout
        The layout the network was built from (not read: the cache passes it).
    graph
        The walk network (a cached result, keyed by identity).
    radius
        The analysis radius, m.
    split
        The segment map: ``"edge"`` (one segment per network edge) or ``"vertex"``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment (:func:`~safespace.analyses.space_syntax.
        angular_segment_analysis`): ``integration_{radius}``, ``choice_{radius}``, ...

    Notes
    -----
    That of the angular segment analysis: one angular shortest-path search per segment,
    bounded by the radius.
    """
    from safespace.analyses.space_syntax import angular_segment_analysis

    return angular_segment_analysis(graph, radii=(radius,), split=split, choice=True)


def integration_segments(layout: Layout) -> gpd.GeoDataFrame:
    """Angular integration at 800 m (no choice) of the layout's walk network.

    Parameters
    ----------
    layout
        The layout (its walk network is built here, not read from the cache).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment, with ``integration_800``.

    Notes
    -----
    The walk network (O(V log V)), then the angular segment analysis.
    """
    from safespace.analyses.network import walk_network
    from safespace.analyses.space_syntax import angular_segment_analysis

    return angular_segment_analysis(walk_network(layout), radii=(800,), choice=False)
