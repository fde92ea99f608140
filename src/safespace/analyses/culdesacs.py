"""Leaky culs-de-sac: dead ends of the drive network that a foot link joins to another street.

The analysis behind PM006 (Secured by Design: footpath links into culs-de-sac are
unnecessary permeability). Which heads are reported, and how, is the rule's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from safespace.analyses.network import table_from_graph

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["leaky_culdesacs"]


def leaky_culdesacs(
    layout: Layout,
    *,
    drive: nx.MultiDiGraph,
    street_types: tuple[str, ...],
    tolerance_m: float = 1.0,
) -> list[dict]:
    """Culs-de-sac of the drive network whose head a foot-only link joins to another street.

    A head is a drive-network node with one street end (a dead end of the drive network;
    the walk network may carry on through it). Foot routes that are not part of the drive
    network are grouped into connected *link systems* (lines within ``tolerance_m`` of each
    other). A head is *leaky* when a link system touches it and also touches another street
    of the drive network: walkers can pass through the cul-de-sac. A footpath from the head
    that leads nowhere else (a dead end itself) does not make it leaky.

    Parameters
    ----------
    layout
        The layout (its ``foot_routes``).
    drive
        The drive network (:func:`~safespace.analyses.network.drive_network`).
    street_types
        ``highway`` values of the culs-de-sac considered.
    tolerance_m
        Lines and points this close touch, m.

    Returns
    -------
    list of dict
        One per leaky head: ``head`` (Point), ``street_fids``, ``street_length_m``,
        ``highway``, ``link_fids``, ``link`` (geometry of the link system's routes).

    Notes
    -----
    STRtree queries and one connected-components pass: O((V + E + L) log(E + L)) for drive
    nodes V, drive edges E and link lines L.
    """
    dt = table_from_graph(drive)
    fr = layout.foot_routes
    if len(dt.u) == 0 or fr.empty:
        return []
    sc = dt.street_count
    heads = np.flatnonzero(sc == 1)
    ends = np.r_[dt.u, dt.v]
    edge_of_end = np.r_[np.arange(len(dt.u)), np.arange(len(dt.u))]
    order = np.argsort(ends, kind="stable")
    first_edge = np.full(len(dt.node_xy), -1, dtype=np.int64)
    first_edge[ends[order][::-1]] = edge_of_end[order][::-1]
    head_edge = first_edge[heads]
    keep = np.isin(dt.highway[head_edge].astype(str), list(street_types))
    heads, head_edge = heads[keep], head_edge[keep]
    drive_fids = {f for fs in dt.fid for f in fs}
    links = fr[~fr["fid"].isin(drive_fids).to_numpy()]
    if len(heads) == 0 or links.empty:
        return []
    lg = np.asarray(links.geometry.values, dtype=object)
    link_fids = links["fid"].to_numpy(dtype=object)
    # link systems: connected components of touching link lines
    a, b = shapely.STRtree(lg).query(lg, predicate="dwithin", distance=tolerance_m)
    adj = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(lg), len(lg)))
    _, comp = connected_components(adj, directed=False)
    # streets each system touches (drive edge ids)
    li, ei = shapely.STRtree(dt.geometry).query(lg, predicate="dwithin", distance=tolerance_m)
    touches: dict[int, set] = {}
    for c, e in zip(comp[li].tolist(), ei.tolist(), strict=True):
        touches.setdefault(c, set()).add(e)
    pts = shapely.points(dt.node_xy[heads])
    hi, lj = shapely.STRtree(lg).query(pts, predicate="dwithin", distance=tolerance_m)
    out = []
    for k in np.unique(hi):
        systems = np.unique(comp[lj[hi == k]])
        e = int(head_edge[k])
        leaky = [c for c in systems.tolist() if touches.get(c, set()) - {e}]
        if not leaky:
            continue
        sel = np.isin(comp, leaky)
        out.append(
            {
                "head": pts[k],
                "street_fids": tuple(dt.fid[e]),
                "street_length_m": float(dt.length[e]),
                "highway": str(dt.highway[e]),
                "link_fids": tuple(link_fids[sel].tolist()),
                "link": shapely.union_all(lg[sel]),
            }
        )
    return out
