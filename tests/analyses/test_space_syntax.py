"""Angular segment analysis against a brute-force networkx reference."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from safespace.analyses.network import build_network
from safespace.analyses.space_syntax import ANGLE_SCALE, angular_segment_analysis

CRS = "EPSG:32632"


def brute_force(segments, radius=None):
    """Reference on the directed state graph, in plain Python + networkx.

    Same definitions as the module: metric catchment by midpoint distance <= radius, then
    least-angle paths inside the catchment; choice over ordered pairs.
    """
    n = len(segments)
    ends: dict = {}
    for s, (p, q) in enumerate(segments):
        ends.setdefault(tuple(p), []).append((s, 0))
        ends.setdefault(tuple(q), []).append((s, 1))
    length = [math.dist(p, q) for p, q in segments]

    def inward(s, e):
        p, q = segments[s]
        a, b = (p, q) if e == 0 else (q, p)
        d = math.dist(a, b)
        return ((b[0] - a[0]) / d, (b[1] - a[1]) / d)

    states, metric = nx.DiGraph(), nx.Graph()
    metric.add_nodes_from(range(n))
    for inc in ends.values():
        for (s, es), (t, et) in itertools.permutations(inc, 2):
            if s == t:
                continue
            ax, ay = inward(s, es)
            ax, ay = -ax, -ay
            bx, by = inward(t, et)
            ang = abs(math.degrees(math.atan2(ax * by - ay * bx, ax * bx + ay * by)))
            states.add_edge((s, es), (t, 1 - et), w=round(ang / 90 * ANGLE_SCALE))
            metric.add_edge(s, t, w=(length[s] + length[t]) / 2)
    nc, td, ch, reach = (np.zeros(n) for _ in range(4))
    for i in range(n):
        dm = nx.single_source_dijkstra_path_length(metric, i, weight="w")
        inside = [j for j, d in dm.items() if radius is None or d <= radius]
        h = states.subgraph([(s, e) for s in inside for e in (0, 1)]).copy()
        h.add_edge("src", (i, 0), w=0)
        h.add_edge("src", (i, 1), w=0)
        dist = nx.single_source_dijkstra_path_length(h, "src", weight="w")
        best: dict = {}
        for state, d in dist.items():
            if state != "src":
                best[state[0]] = min(best.get(state[0], math.inf), d)
        nc[i] = len(best)
        td[i] = sum(best.values()) / ANGLE_SCALE
        reach[i] = sum(length[j] for j in best)
        for j, dj in best.items():
            if j == i:
                continue
            paths = []
            for e in (0, 1):
                if dist.get((j, e)) == dj:
                    paths += list(nx.all_shortest_paths(h, "src", (j, e), weight="w"))
            for path in paths:
                for k in {state[0] for state in path[1:]} - {i, j}:
                    ch[k] += 1 / len(paths)
    return nc, td, ch, reach


def compare(segments, radius):
    lines = gpd.GeoDataFrame(geometry=[LineString(s) for s in segments], crs=CRS)
    label = "n" if radius is None else f"{radius:g}"
    got = angular_segment_analysis(lines, radii=[radius or "n"], snap_tolerance=0)
    where = {}
    for k, g in enumerate(got.geometry):
        c = tuple(map(tuple, shapely.get_coordinates(g).tolist()))
        where[c] = where[c[::-1]] = k
    idx = [where[tuple(map(tuple, np.asarray(s, float).tolist()))] for s in segments]
    ref = brute_force(segments, radius)
    for name, r in zip(("node_count", "total_depth", "choice", "reach_m"), ref, strict=True):
        np.testing.assert_allclose(got[f"{name}_{label}"].to_numpy()[idx], r, atol=1e-9)
    return got


GRID = [((j * 100, i * 100), ((j + 1) * 100, i * 100)) for i in range(3) for j in range(2)] + [
    ((i * 100, j * 100), (i * 100, (j + 1) * 100)) for i in range(3) for j in range(2)
]
EXTRA = GRID + [((0, 0), (100, 100)), ((200, 200), (260, 230))]


@pytest.mark.parametrize("radius", [None, 150, 250, 1000])
def test_matches_brute_force_on_grid_with_diagonal(radius):
    compare(EXTRA, radius)


def test_hand_values_on_a_plus():
    # four arms of a + junction, each 100 m: every turn is 90 degrees, straight on is free
    arms = [((0, 0), (100, 0)), ((0, 0), (-100, 0)), ((0, 0), (0, 100)), ((0, 0), (0, -100))]
    got = compare(arms, None)
    assert got["node_count_n"].tolist() == [4] * 4
    assert got["total_depth_n"].tolist() == [2.0] * 4  # 0 + 1 + 1
    assert got["integration_n"].tolist() == [8.0] * 4  # 4^2 / 2
    assert got["choice_n"].tolist() == [0.0] * 4  # no segment lies between two others
    assert got["reach_m_n"].tolist() == [400.0] * 4


def test_choice_counts_the_middle_of_a_chain():
    chain = [((0, 0), (100, 0)), ((100, 0), (200, 0)), ((200, 0), (300, 0))]
    got = compare(chain, None)
    assert sorted(got["choice_n"].tolist()) == [0.0, 0.0, 2.0]  # ordered pairs (a,c), (c,a)
    # radius 150: the ends are 200 m apart (midpoint to midpoint), so no through paths
    got = compare(chain, 150)
    assert got["choice_150"].tolist() == [0.0, 0.0, 0.0]
    assert sorted(got["node_count_150"].tolist()) == [2, 2, 3]


def test_edge_mode_charges_internal_bends():
    bent = [LineString([(0, 0), (100, 0), (100, 100)]), LineString([(100, 100), (200, 100)])]
    g = build_network(gpd.GeoDataFrame({"fid": ["a", "b"]}, geometry=bent, crs=CRS))
    vertex = angular_segment_analysis(g, radii=["n"], split="vertex")
    edge = angular_segment_analysis(g, radii=["n"], split="edge")
    assert len(vertex) == 3 and len(edge) == 1  # a and b merged into one simplified edge
    # three straight pieces turning +90 then -90: depths 1 and 2 from an end piece
    assert sorted(vertex["total_depth_n"].tolist()) == [2.0, 3.0, 3.0]
    assert edge["total_depth_n"].tolist() == [0.0]
    # two edges joined at 45 degrees, each bending 90 inside: 0.5 + 0.5 + 0.5 quarter turns
    two = [LineString([(0, 0), (100, 0), (100, 100)]), LineString([(100, 100), (200, 200)])]
    two.append(LineString([(100, 100), (100, 200)]))  # a third street keeps the junction
    g = build_network(gpd.GeoDataFrame({"fid": ["a", "b", "c"]}, geometry=two, crs=CRS))
    edge = angular_segment_analysis(g, radii=["n"], split="edge")
    bent_row = edge[np.isclose(edge["length"], 200)].iloc[0]
    # to the diagonal: half own bend (0.5) + 45-degree turn (0.5); to the straight: 0.5 + 0
    assert bent_row["total_depth_n"] == pytest.approx(1.0 + 0.5)


@st.composite
def planar_graphs(draw):
    """Random subgraphs of a jittered 3x3 lattice (planar, straight segments)."""
    jitter = draw(
        st.lists(st.tuples(st.integers(-30, 30), st.integers(-30, 30)), min_size=9, max_size=9)
    )
    pts = {
        (i, j): (i * 100 + jitter[3 * i + j][0], j * 100 + jitter[3 * i + j][1])
        for i in range(3)
        for j in range(3)
    }
    cand = [((i, j), (i + 1, j)) for i in range(2) for j in range(3)]
    cand += [((i, j), (i, j + 1)) for i in range(3) for j in range(2)]
    cand += [((0, 0), (1, 1)), ((1, 1), (2, 2))]
    keep = draw(st.lists(st.booleans(), min_size=len(cand), max_size=len(cand)))
    segs = [(pts[a], pts[b]) for (a, b), k in zip(cand, keep, strict=True) if k]
    if not segs:
        segs = [(pts[(0, 0)], pts[(1, 0)])]
    return segs


@settings(max_examples=25, deadline=None)
@given(planar_graphs(), st.sampled_from([None, 120.0, 260.0]))
def test_matches_brute_force_on_random_planar_graphs(segs, radius):
    compare(segs, radius)


def test_zero_length_edge_gives_finite_results():
    """An edge whose ends snapped together has no direction: no NaN may leak into costs."""
    import warnings

    import networkx as nx
    from shapely.geometry import LineString

    from safespace.analyses.space_syntax import angular_segment_analysis

    g = nx.MultiGraph(crs="EPSG:27700")
    pts = {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (100.0, 0.0), 3: (100.0, 100.0)}
    for n, (x, y) in pts.items():
        g.add_node(n, x=x, y=y)
    for u, v in ((0, 1), (1, 2), (2, 3)):
        line = LineString([pts[u], pts[v]])
        g.add_edge(u, v, geometry=line, length=line.length, fid=(f"w{u}{v}",))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = angular_segment_analysis(g, radii=("n",), split="edge")
    numeric = out.select_dtypes("number")
    assert numeric.notna().all().all()
    assert (numeric.abs() < 1e12).all().all()
