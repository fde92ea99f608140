"""Walk/drive network building and connectivity metrics against hand-computed answers,
osmnx ``stats`` and momepy on the same graphs."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from safespace.analyses.network import build_network, drive_network, walk_network
from safespace.analyses.network_metrics import graph_metrics, network_blocks, network_metrics
from safespace.errors import InputError

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "osm"
CRS = "EPSG:32632"


def frame(lines, **cols):
    n = len(lines)
    data = {"fid": [f"way/{i}" for i in range(n)], "highway": ["residential"] * n}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=list(lines), crs=CRS)


def grid_lines(n=4, step=100.0):
    """n horizontal and n vertical ways, each passing through all n shared vertices."""
    out = []
    for i in range(n):
        out.append(LineString([(j * step, i * step) for j in range(n)]))
        out.append(LineString([(i * step, j * step) for j in range(n)]))
    return out


def layout(streets, foot_routes=None, boundary=None):
    empty = gpd.GeoDataFrame({"fid": []}, geometry=[], crs=CRS)
    return SimpleNamespace(
        streets=streets,
        foot_routes=streets if foot_routes is None else foot_routes,
        buildings=empty,
        entrances=empty,
        boundary=empty if boundary is None else boundary,
        crs=CRS,
    )


# tree of culs-de-sac hanging off the grid's east side at (300, 100)
TREE = [
    LineString([(300, 100), (400, 100)]),
    LineString([(400, 100), (400, 150)]),
    LineString([(400, 100), (500, 100)]),
    LineString([(500, 100), (550, 150)]),
    LineString([(500, 100), (550, 50)]),
]


# --------------------------------------------------------------------------------------------
# graph building
# --------------------------------------------------------------------------------------------


def test_grid_nodes_and_simplification():
    g = build_network(frame(grid_lines()))
    # corners have two streets: merged away; 8 side nodes (3 streets) + 4 inner (4 streets)
    counts = sorted(d for _, d in g.nodes(data="street_count"))
    assert counts == [3] * 8 + [4] * 4
    assert g.number_of_edges() == 20
    corner_edges = [d for *_, d in g.edges(data=True) if math.isclose(d["length"], 200.0)]
    assert len(corner_edges) == 4
    for u, v, d in g.edges(data=True):
        xy = shapely.get_coordinates(d["geometry"])
        ends = {(g.nodes[u]["x"], g.nodes[u]["y"]), (g.nodes[v]["x"], g.nodes[v]["y"])}
        assert {tuple(xy[0]), tuple(xy[-1])} == ends
        assert d["length"] == pytest.approx(d["geometry"].length)


def test_t_junction_snapped_but_bridge_not_joined():
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(50, 0.6), (50, 60)]),  # drawn 0.6 m short of the street: a T-junction
        LineString([(20, -20), (20, 20)]),  # crosses without a shared vertex: a bridge
        LineString([(70, 0.5), (70, 40)]),  # 0.5 m short but on another layer
    ]
    tags = [{}, {}, {"bridge": "yes"}, {"layer": "1"}]
    g = build_network(frame(lines, tags=tags), snap_tolerance=1.0)
    tee = [n for n, d in g.nodes(data=True) if (d["x"], d["y"]) == (50.0, 0.0)]
    assert len(tee) == 1 and g.nodes[tee[0]]["street_count"] == 3
    assert not any((d["x"], d["y"]) == (20.0, 0.0) for _, d in g.nodes(data=True))
    assert not any((d["x"], d["y"]) == (70.0, 0.0) for _, d in g.nodes(data=True))
    assert nx.number_connected_components(g) == 3
    # no snapping at all with tolerance 0
    g0 = build_network(frame(lines, tags=tags), snap_tolerance=0)
    assert nx.number_connected_components(g0) == 4


def test_drive_network_oneway_and_speeds():
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(100, 0), (200, 0)]),
        LineString([(100, 0), (100, 100)]),
        LineString([(0, 0), (0, 50)]),
    ]
    streets = frame(
        lines,
        highway=["primary", "primary", "residential", "footway"],
        oneway=["yes", None, "-1", None],
        maxspeed_kmh=[50.0, np.nan, np.nan, np.nan],
    )
    g = drive_network(layout(streets))
    assert isinstance(g, nx.MultiDiGraph)
    xy = {(d["x"], d["y"]): n for n, d in g.nodes(data=True)}
    a, b, c, d_ = xy[(0.0, 0.0)], xy[(100.0, 0.0)], xy[(200.0, 0.0)], xy[(100.0, 100.0)]
    assert g.has_edge(a, b) and not g.has_edge(b, a)  # oneway=yes
    assert g.has_edge(b, c) and g.has_edge(c, b)
    assert g.has_edge(d_, b) and not g.has_edge(b, d_)  # oneway=-1
    assert (0.0, 50.0) not in xy  # the footway is not drivable
    e = g.get_edge_data(a, b)[0]
    assert e["speed_mps"] == pytest.approx(50 / 3.6)
    assert e["travel_time"] == pytest.approx(100 / (50 / 3.6))
    assert g.get_edge_data(b, c)[0]["speed_mps"] == pytest.approx(65 / 3.6)  # OSRM primary
    rev = shapely.get_coordinates(g.get_edge_data(d_, b)[0]["geometry"])
    assert tuple(rev[0]) == (100.0, 100.0)


def test_drive_chain_not_merged_across_direction_change():
    lines = [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])]
    g = drive_network(layout(frame(lines, oneway=["yes", None])))
    assert g.number_of_nodes() == 3
    g2 = drive_network(layout(frame(lines, oneway=["yes", "yes"])))
    assert g2.number_of_nodes() == 2 and g2.number_of_edges() == 1
    assert next(iter(g2.edges(data=True)))[2]["fid"] == ("way/0", "way/1")


def test_bad_geometry_is_an_input_error():
    bad = gpd.GeoDataFrame({"fid": ["node/1"]}, geometry=[shapely.Point(0, 0)], crs=CRS)
    with pytest.raises(InputError, match="node/1"):
        build_network(bad)


# --------------------------------------------------------------------------------------------
# metrics: hand-computed
# --------------------------------------------------------------------------------------------


def test_grid_metrics_by_hand():
    m = graph_metrics(build_network(frame(grid_lines())))
    assert m["intersections"] == 12 and m["dead_ends"] == 0
    assert m["links"] == 20 and m["nodes"] == 12
    assert m["link_node_ratio"] == pytest.approx(20 / 12)
    assert m["connected_node_ratio"] == 1.0
    assert m["block_count"] == 9 and m["mean_block_area_m2"] == pytest.approx(10_000)
    assert m["max_block_longest_side_m"] == pytest.approx(100)
    assert m["area_km2"] == pytest.approx(0.09)
    assert m["intersection_density_km2"] == pytest.approx(12 / 0.09)
    assert m["culdesac_count"] == 0 and m["culdesac_length_m"] == 0
    assert m["circuity_avg"] == pytest.approx(2400 / (1600 + 400 * math.sqrt(2)))
    assert m["meshedness"] == pytest.approx(9 / 19)
    assert m["gamma"] == pytest.approx(20 / 30)
    assert m["streets_per_node_avg"] == pytest.approx(40 / 12)


def test_tree_of_culdesacs_by_hand():
    g = build_network(frame(grid_lines() + TREE))
    m = graph_metrics(g)
    assert m["dead_ends"] == 3
    assert m["intersections"] == 14
    assert m["links"] == 25
    assert m["culdesac_count"] == 1
    assert m["culdesac_length_m"] == pytest.approx(250 + 100 * math.sqrt(2))
    assert m["culdesac_terminal_length_m"] == pytest.approx(50 + 100 * math.sqrt(2))
    assert m["block_count"] == 9  # dangling branches close no face
    assert m["connected_node_ratio"] == pytest.approx(14 / 17)


def test_pure_tree_is_all_culdesac():
    m = graph_metrics(build_network(frame(TREE)))
    assert m["culdesac_count"] == 1
    assert m["culdesac_share"] == pytest.approx(1.0)
    assert m["block_count"] == 0


def test_leaky_culdesac_walk_vs_drive():
    ring = [
        LineString([(0, 0), (150, 0), (300, 0), (300, 200), (150, 200), (0, 200), (0, 0)]),
    ]
    spur = [LineString([(150, 0), (150, 100)])]
    link = [LineString([(150, 100), (150, 200)])]
    streets = frame(ring + spur)
    foot = frame(ring + spur + link, highway=["residential", "residential", "footway"])
    lay = layout(streets, foot)
    drive = network_metrics(lay, network="drive")
    walk = network_metrics(lay, network="walk")
    assert drive["dead_ends"] == 1 and drive["culdesac_length_m"] == pytest.approx(100)
    assert drive["culdesac_count"] == 1 and drive["block_count"] == 1
    assert walk["dead_ends"] == 0 and walk["culdesac_length_m"] == 0
    assert walk["block_count"] == 2 and walk["intersections"] == 2
    # the footpath turns the cul-de-sac head into a through node (Durham counting)
    assert walk["link_node_ratio"] == pytest.approx(3 / 2)


def test_site_boundary_connections_and_directness():
    g = build_network(frame(grid_lines()))
    site = box(-50, -50, 350, 150)  # lower two rows of blocks
    m = graph_metrics(g, within=site, origins=[shapely.Point(150, 10)], destinations=[(0, 300)])
    assert m["boundary_connections"] == 4  # the four verticals leave through the top side
    # crossings at x = 0, 100, 200, 300 on the top side; the rest of the ring is one gap
    assert m["boundary_connection_spacing_m"] == pytest.approx(1200 - 300)
    assert m["intersections"] == 6 and m["block_count"] == 6
    # origin (150, 10) snaps to the edge y=0 at x=150 with a 10 m access leg; to exit (0,150):
    # 10 + 150 + 150 = 310 over hypot(150, 140); to exit (100,150): 10 + 50 + 150 = 210 ...
    exits = [(0, 150), (100, 150), (200, 150), (300, 150), (0, 300)]
    net = [10 + 150 + 150, 10 + 50 + 150, 10 + 50 + 150, 10 + 150 + 150, 10 + 150 + 300]
    ratios = [n / math.dist((150, 10), e) for n, e in zip(net, exits, strict=True)]
    assert m["route_directness_pairs"] == 5
    assert m["route_directness_median"] == pytest.approx(float(np.median(ratios)))


def test_blocks_table():
    blocks = network_blocks(build_network(frame(grid_lines())))
    assert len(blocks) == 9
    assert np.allclose(blocks["area_m2"], 10_000)
    assert np.allclose(blocks["perimeter_m"], 400)


# --------------------------------------------------------------------------------------------
# metrics: peers on the same graph
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [grid_lines(), grid_lines() + TREE, grid_lines(6, 37.0)])
def test_agrees_with_osmnx_stats(lines):
    ox = pytest.importorskip("osmnx")
    g = build_network(frame(lines))
    m = graph_metrics(g)
    d = nx.MultiDiGraph(g)  # osmnx stats take a MultiDiGraph
    d.graph["crs"] = CRS
    for *_, data in d.edges(data=True):
        data["osmid"] = list(data["fid"])  # osmnx dedups reciprocal edges by osmid
    spn = ox.stats.count_streets_per_node(d)
    assert spn == dict(g.nodes(data="street_count"))
    assert ox.stats.intersection_count(d, min_streets=3) == m["intersections"]
    stats = ox.stats.basic_stats(d)
    assert stats["streets_per_node_avg"] == pytest.approx(m["streets_per_node_avg"])
    assert stats["circuity_avg"] == pytest.approx(m["circuity_avg"])
    # basic_stats counts min_streets=2: every node that is not a dead end
    assert stats["intersection_count"] == g.number_of_nodes() - m["dead_ends"]


@pytest.mark.parametrize("lines", [grid_lines(), grid_lines() + TREE, TREE + grid_lines(3)])
def test_agrees_with_momepy(lines):
    momepy = pytest.importorskip("momepy")
    g = build_network(frame(lines))
    m = graph_metrics(g)
    assert momepy.meshedness(g, radius=None) == pytest.approx(m["meshedness"])
    assert momepy.gamma(g, radius=None) == pytest.approx(m["gamma"])
    deg = momepy.node_degree(g)
    cds = momepy.cds_length(deg, radius=None, length="length")
    assert cds == pytest.approx(m["culdesac_terminal_length_m"])


# --------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------


def test_heidelberg_walk_network_is_clean():
    path = DATA / "heidelberg_altstadt.osm.pbf"
    if not path.exists():
        pytest.skip(f"real extract not present: {path}")
    from safespace.layout import load

    lay = load(path)
    g = walk_network(lay)
    assert g.graph["crs"] == lay.crs
    assert g.number_of_edges() > 300
    xy = {n: (d["x"], d["y"]) for n, d in g.nodes(data=True)}
    total = 0.0
    for u, v, d in g.edges(data=True):
        c = shapely.get_coordinates(d["geometry"])
        assert {tuple(c[0]), tuple(c[-1])} == {xy[u], xy[v]}
        assert d["length"] == pytest.approx(d["geometry"].length)
        total += d["length"]
    # nothing lost: the network is as long as the foot routes (snapping moves ends < 1 m)
    assert total == pytest.approx(lay.foot_routes.length.sum(), rel=1e-3)
    # simplified: degree-2 nodes only where a self-loop sits
    for n, sc in g.nodes(data="street_count"):
        if sc == 2:
            assert g.has_edge(n, n)
    largest = max(nx.connected_components(g), key=len)
    assert len(largest) / g.number_of_nodes() > 0.8
    m = network_metrics(lay)
    assert m["intersections"] > 100 and 1.0 < m["link_node_ratio"] < 2.0


def test_selected_metrics_equal_the_full_computation():
    """graph_metrics(keys=[k]) gives exactly graph_metrics()[k], for every key."""
    import math

    from shapely.geometry import LineString

    from safespace.analyses.network import build_network
    from safespace.analyses.network_metrics import graph_metrics

    lines = [LineString([(0, y), (300, y)]) for y in (0, 100, 200)]
    lines += [LineString([(x, 0), (x, 200)]) for x in (0, 100, 200, 300)]
    lines += [LineString([(150, 100), (150, 150)])]  # a cul-de-sac
    g = build_network(lines)
    full = graph_metrics(g)
    for key, value in full.items():
        if key == "site":
            continue
        one = graph_metrics(g, keys=[key])
        assert set(one) == {"site", key}
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(one[key])
        else:
            assert one[key] == value, key
    with pytest.raises(ValueError, match="unknown network metrics"):
        graph_metrics(g, keys=["charm"])


def test_kept_table_is_reused_only_for_the_same_unchanged_graph():
    from shapely.geometry import LineString

    from safespace.analyses.network import build_network, table_from_graph

    g = build_network([LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 100)])])
    assert table_from_graph(g) is g.graph["_table"]
    h = g.copy()
    h.add_node(99, x=500.0, y=500.0)
    h.add_edge(1, 99, geometry=LineString([(100, 0), (500, 500)]), length=640.3)
    t = table_from_graph(h)
    assert t is not g.graph["_table"] and len(t.u) == len(g.graph["_table"].u) + 1


# --------------------------------------------------------------------------------------------
# degenerate layouts and the emergency drive network
# --------------------------------------------------------------------------------------------


def _ways(lines, fids, **cols):
    return gpd.GeoDataFrame({"fid": fids, **cols}, geometry=list(lines), crs=CRS)


@pytest.mark.parametrize(
    "streets",
    [
        [],  # no street at all
        [LineString([(0, 0), (100, 0)])],  # a footway only: nothing drivable
    ],
)
def test_drive_network_without_a_drivable_street_is_empty(streets):
    # before the fix: IndexError "index -1 is out of bounds" in network._assemble
    s = _ways(
        streets, [f"way/{i}" for i in range(len(streets))], highway=["footway"] * len(streets)
    )
    for emergency in (False, True):
        g = drive_network(layout(s), emergency=emergency)
        assert g.number_of_nodes() == 0 and g.number_of_edges() == 0
    assert walk_network(layout(_ways([], [], highway=[]))).number_of_nodes() == 0


def test_travel_times_on_an_empty_network_are_unreachable_not_a_crash():
    from safespace.analyses.travel_time import Router

    empty = drive_network(layout(_ways([], [], highway=[])))
    router = Router(empty, "travel_time")
    snap = router.snap(np.array([shapely.Point(0, 0)], dtype=object))
    assert snap.edge.tolist() == [-1] and np.isnan(snap.access_m[0])


def _split_town():
    """Two residential streets (36 km/h = 10 m/s) joined only by a 100 m pedestrian street."""
    streets = _ways(
        [LineString([(0, 0), (100, 0)]), LineString([(200, 0), (300, 0)])],
        ["way/1", "way/3"],
        highway=["residential", "residential"],
        maxspeed_kmh=[36.0, 36.0],
    )
    foot = _ways(
        [
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (200, 0)]),
            LineString([(200, 0), (300, 0)]),
            LineString([(300, 0), (300, 50)]),  # steps tagged emergency=yes: never driven
            LineString([(100, 0), (100, 80)]),  # a footway tagged emergency=yes: driven slowly
            LineString([(300, 0), (400, 0)]),  # a pedestrian street closed to emergencies
        ],
        ["way/1", "way/2", "way/3", "way/4", "way/5", "way/6"],
        highway=["residential", "pedestrian", "residential", "steps", "footway", "pedestrian"],
        maxspeed_kmh=[36.0, np.nan, 36.0, np.nan, np.nan, np.nan],
        tags=[
            {},
            {"highway": "pedestrian", "motor_vehicle": "no"},
            {},
            {"highway": "steps", "emergency": "yes"},
            {"highway": "footway", "emergency": "yes"},
            {"highway": "pedestrian", "emergency": "no"},
        ],
    )
    return SimpleNamespace(streets=streets, foot_routes=foot, crs=CRS)


def test_emergency_network_drives_pedestrian_streets():
    town = _split_town()
    plain = drive_network(town)
    assert nx.number_weakly_connected_components(plain) == 2  # cars cannot cross the square
    g = drive_network(town, emergency=True)
    assert nx.number_weakly_connected_components(g) == 1
    xy = {(d["x"], d["y"]): n for n, d in g.nodes(data=True)}
    a, b, j, c = xy[(0.0, 0.0)], xy[(300.0, 0.0)], xy[(100.0, 0.0)], xy[(100.0, 80.0)]
    # 100 m at 10 m/s + 100 m at 10 km/h + 100 m at 10 m/s
    t = nx.shortest_path_length(g, a, b, weight="travel_time")
    assert t == pytest.approx(10 + 100 / (10 / 3.6) + 10)
    # the footway with emergency=yes is in, at the pedestrian speed; steps never are, and
    # emergency=no closes a pedestrian street even to emergencies
    assert g.get_edge_data(j, c)[0]["travel_time"] == pytest.approx(80 / (10 / 3.6))
    assert (300.0, 50.0) not in xy and (400.0, 0.0) not in xy
    assert g.graph["pedestrian_ways"] == 2
    slow = drive_network(town, emergency=True, pedestrian_speed_kmh=5.0)
    t5 = nx.shortest_path_length(slow, a, b, weight="travel_time")
    assert t5 == pytest.approx(20 + 100 / (5 / 3.6))


def test_emergency_network_keeps_access_no_on_ordinary_streets():
    streets = _ways(
        [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])],
        ["way/1", "way/2"],
        highway=["residential", "residential"],
        tags=[{}, {"access": "no"}],
    )
    lay = SimpleNamespace(streets=streets, foot_routes=streets.iloc[:0], crs=CRS)
    g = drive_network(lay, emergency=True)
    assert sorted(d["x"] for _, d in g.nodes(data=True)) == [0.0, 100.0]
