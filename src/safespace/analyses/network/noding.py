"""Noding: split lines at shared vertices and snap drawn T-junctions."""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


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
