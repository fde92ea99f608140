"""Simplification and assembly: degree-2 chains merged into edges, the graph built."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import shapely

from safespace.analyses.network.noding import _Pieces
from safespace.analyses.network.table import NetworkTable


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
