"""Travel-time fields: edge snapping, multi-source Dijkstra, coverage, isochrones."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safespace
from safespace.analyses.travel_time import (
    Router,
    access_field,
    coverage,
    dwelling_mask,
    police_isochrones,
    police_travel_times,
    premises_points,
    route_samples,
)
from tests.conftest import FIXTURES, collection, feature
from tests.conftest import square as _square

CRS27700 = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def line(*pts):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in pts]}


def square(x, y, size):
    return _square(X0 + x, Y0 + y, size)


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


# ------------------------------------------------------------------------------------------
# a tiny graph builder of our own, independent of safespace.analyses.network
# ------------------------------------------------------------------------------------------


def make_graph(segments, *, directed=False, speeds=None):
    """A networkx graph from ((x0, y0), (x1, y1)[, ...]) polylines; nodes at the ends."""
    g = nx.MultiDiGraph(crs="EPSG:27700") if directed else nx.MultiGraph(crs="EPSG:27700")
    ids: dict[tuple, int] = {}
    for k, seg in enumerate(segments):
        a, b = tuple(seg[0]), tuple(seg[-1])
        for p in (a, b):
            if p not in ids:
                ids[p] = len(ids)
                g.add_node(ids[p], x=float(p[0]), y=float(p[1]))
        geom = shapely.LineString(seg)
        speed = speeds[k] if speeds is not None else 1.0
        attrs = dict(
            length=geom.length,
            geometry=geom,
            travel_time=geom.length / speed,
            speed_mps=speed,
            highway="residential",
        )
        g.add_edge(ids[a], ids[b], **attrs)
        if directed:
            g.add_edge(ids[b], ids[a], **dict(attrs, geometry=shapely.reverse(geom)))
    return g


def reference(graph, origins, targets, weight):
    """Brute force: split every snapped edge in a networkx copy, then networkx Dijkstra.

    Each point is snapped by scanning every edge (no spatial index). Returns, per target, the
    cost from the nearest origin including both access legs (in weight units, legs in metres
    for length; legs given separately for time).
    """
    g = nx.DiGraph()
    edges = []
    for u, v, d in graph.edges(data=True):
        start = shapely.Point(d["geometry"].coords[0])
        pu = shapely.Point(graph.nodes[u]["x"], graph.nodes[u]["y"])
        pv = shapely.Point(graph.nodes[v]["x"], graph.nodes[v]["y"])
        # networkx lists undirected edges in adjacency order: orient to the geometry
        edges.append((v, u, d) if start.distance(pv) < start.distance(pu) else (u, v, d))
    if not graph.is_directed():
        edges = edges + [
            (v, u, dict(d, geometry=shapely.reverse(d["geometry"]))) for u, v, d in edges
        ]
    # one snap per point, onto the first nearest edge geometry (in either direction)
    pts = list(origins) + list(targets)
    snapped = []
    for p in pts:
        dists = [d["geometry"].distance(p) for _, _, d in edges]
        e = int(np.argmin(dists))
        snapped.append((e, dists[e]))
    # split: per edge (and its reverse twin), the sorted fractions
    on_edge: dict[int, list] = {}
    for i, (e, _) in enumerate(snapped):
        geom = edges[e][2]["geometry"]
        f = geom.project(pts[i]) / geom.length
        on_edge.setdefault(e, []).append((f, i))
    # twin lookup: the reverse edge with the reversed geometry
    twin = {}
    for i, (u, v, d) in enumerate(edges):
        for j, (u2, v2, d2) in enumerate(edges):
            if (
                u2 == v
                and v2 == u
                and d2["geometry"].equals(shapely.reverse(d["geometry"]))
                and i != j
            ):
                twin[i] = j
    for i, (u, v, d) in enumerate(edges):
        marks = [(0.0, ("n", u)), (1.0, ("n", v))]
        for f, k in on_edge.get(i, []):
            marks.append((f, ("p", k)))
        if i in twin:
            for f, k in on_edge.get(twin[i], []):
                marks.append((1.0 - f, ("p", k)))
        marks.sort(key=lambda m: m[0])
        for (f0, a), (f1, b) in zip(marks[:-1], marks[1:], strict=True):
            w = d[weight] * (f1 - f0)
            if a != b and (not g.has_edge(a, b) or g[a][b]["w"] > w):
                g.add_edge(a, b, w=w)
    # points exactly at an edge end coincide with the node: join at zero cost both ways
    for i, (e, _) in enumerate(snapped):
        g.add_node(("p", i))
        geom = edges[e][2]["geometry"]
        f = geom.project(pts[i]) / geom.length
        end = edges[e][0] if f <= 1e-12 else edges[e][1] if f >= 1 - 1e-12 else None
        if end is not None:
            g.add_edge(("p", i), ("n", end), w=0.0)
            g.add_edge(("n", end), ("p", i), w=0.0)
    for i in range(len(origins)):
        g.add_edge("S", ("p", i), w=0.0)
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="w") if origins else {}
    return [dist.get(("p", len(origins) + t), math.inf) for t in range(len(targets))], [
        a for _, a in snapped
    ]


def random_grid(draw_seed, n=4, spacing=50.0, drop=0.25):
    rng = np.random.default_rng(draw_seed)
    xy = {
        (i, j): (i * spacing + rng.uniform(-8, 8), j * spacing + rng.uniform(-8, 8))
        for i in range(n)
        for j in range(n)
    }
    segs = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() > drop:
                    a, b = xy[(i, j)], xy[(i + di, j + dj)]
                    mid = (
                        (a[0] + b[0]) / 2 + rng.uniform(-6, 6),
                        (a[1] + b[1]) / 2 + rng.uniform(-6, 6),
                    )
                    segs.append((a, mid, b))
    speeds = rng.uniform(2.0, 15.0, len(segs))
    return segs, speeds, rng


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), directed=st.booleans(), n_o=st.integers(1, 3))
def test_matches_networkx_with_edge_splitting(seed, directed, n_o):
    segs, speeds, rng = random_grid(seed)
    if not segs:
        return
    g = make_graph(segs, directed=directed, speeds=speeds)
    origins = [shapely.Point(rng.uniform(-20, 170, 2)) for _ in range(n_o)]
    targets = [shapely.Point(rng.uniform(-20, 170, 2)) for _ in range(12)]
    weight = "travel_time" if directed else "length"
    speed = 1.3
    r = Router(g, weight)
    res = r.nearest(r.snap(origins), r.snap(targets), speed_mps=speed)
    # reference: access legs are walked; add them as costs in weight units
    _, legs = reference(g, origins, targets, weight)
    o_legs, t_legs = legs[:n_o], legs[n_o:]
    # rerun the reference with the origin legs as the super-source edge costs
    best = np.full(len(targets), math.inf)
    for k in range(n_o):
        single, _ = reference(g, [origins[k]], targets, weight)
        leg = o_legs[k] if weight == "length" else o_legs[k] / speed
        best = np.minimum(best, np.array(single) + leg)
    t_leg = np.array(t_legs) if weight == "length" else np.array(t_legs) / speed
    expect = best + t_leg
    got = res["distance_m"] if weight == "length" else res["time_s"]
    reach = np.isfinite(expect)
    assert np.array_equal(res["reachable"], reach)
    assert np.all(np.isnan(got[~reach]))
    np.testing.assert_allclose(got[reach], expect[reach], rtol=0, atol=1e-6)
    assert not np.isinf(res["distance_m"]).any() and not np.isinf(res["time_s"]).any()


def test_snaps_to_edge_not_node():
    # one 100 m street; the premises at x=10 and the target at x=90, both 5 m off the street
    g = make_graph([((0, 0), (100, 0))])
    r = Router(g, "length")
    res = r.nearest(r.snap([shapely.Point(10, 5)]), r.snap([shapely.Point(90, -5)]), speed_mps=1.0)
    # node snapping would give 0 + 100 + 0 or worse; edge snapping 5 + 80 + 5
    assert res["distance_m"][0] == pytest.approx(90.0, abs=1e-9)
    assert res["time_s"][0] == pytest.approx(90.0, abs=1e-9)


def test_directed_one_way_and_distance_of_fastest_route():
    # a fast long way round and a slow short way: time picks the fast one, distance follows it
    segs = [((0, 0), (100, 0)), ((0, 0), (0, 100), (100, 100), (100, 0))]
    g = nx.MultiDiGraph(crs="EPSG:27700")
    g.add_node(0, x=0.0, y=0.0)
    g.add_node(1, x=100.0, y=0.0)
    for seg, speed in zip(segs, (1.0, 10.0), strict=True):
        geom = shapely.LineString(seg)
        g.add_edge(0, 1, geometry=geom, length=geom.length, travel_time=geom.length / speed)
        g.add_edge(
            1,
            0,
            geometry=shapely.reverse(geom),
            length=geom.length,
            travel_time=geom.length / speed,
        )
    r = Router(g, "travel_time")
    res = r.nearest(r.snap([shapely.Point(0, -1)]), r.snap([shapely.Point(100, -1)]), speed_mps=1.0)
    assert res["time_s"][0] == pytest.approx(1 + 30 + 1)
    assert res["distance_m"][0] == pytest.approx(1 + 300 + 1)


def test_no_origins_and_disconnected_are_unreachable_not_inf():
    g = make_graph([((0, 0), (100, 0)), ((0, 50), (100, 50))])
    r = Router(g, "length")
    res = r.nearest(r.snap([]), r.snap([shapely.Point(5, 1)]), speed_mps=1.0)
    assert not res["reachable"][0] and math.isnan(res["time_s"][0])
    res = r.nearest(r.snap([shapely.Point(5, 1)]), r.snap([shapely.Point(5, 49)]), speed_mps=1.0)
    assert not res["reachable"][0] and math.isnan(res["distance_m"][0])
    assert res["origin"][0] == -1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_adding_premises_never_increases_time(seed):
    segs, speeds, rng = random_grid(seed, drop=0.1)
    if not segs:
        return
    g = make_graph(segs, directed=bool(seed % 2), speeds=speeds)
    r = Router(g, "travel_time")
    origins = [shapely.Point(rng.uniform(0, 150, 2)) for _ in range(3)]
    extra = shapely.Point(rng.uniform(0, 150, 2))
    targets = r.snap([shapely.Point(rng.uniform(0, 150, 2)) for _ in range(20)])
    before = r.nearest(r.snap(origins), targets, speed_mps=1.2)["time_s"]
    after = r.nearest(r.snap(origins + [extra]), targets, speed_mps=1.2)["time_s"]
    b = np.where(np.isnan(before), np.inf, before)
    a = np.where(np.isnan(after), np.inf, after)
    assert np.all(a <= b + 1e-9)


# ------------------------------------------------------------------------------------------
# layout level
# ------------------------------------------------------------------------------------------


def scene(with_police=True, police_tags=None):
    feats = [
        feature(line((0, 0), (200, 0)), "st01", highway="residential", maxspeed="36"),
        feature(square(40, 10, 10), "h1", building="house"),
        feature(point(45, 10), "e-h1", entrance="main"),
        feature(square(150, 10, 10), "h2", building="house"),  # no entrance
        feature(square(100, -30, 10), "g1", building="garage"),
    ]
    if with_police:
        feats.append(feature(point(0, 5), "po1", amenity="police", **(police_tags or {})))
    return safespace.load(collection(*feats, crs=CRS27700))


def test_layout_walk_times_hand_computed():
    lay = scene()
    out = police_travel_times(lay, "walk", walk_speed_mps=1.0)
    row = out.set_index("building_fid")
    # h1: police 5 m off the street at x=0, entrance at (45, 10): 5 + 45 + 10
    assert row.loc["h1", "distance_m"] == pytest.approx(60.0, abs=1e-6)
    assert row.loc["h1", "entrance_fid"] == "e-h1"
    # h2 has no entrance: the outline point nearest the street is on its south wall, 10 m
    assert row.loc["h2", "entrance_fid"] is None
    assert row.loc["h2", "access_m"] == pytest.approx(10.0, abs=1e-6)
    assert row.loc["h2", "distance_m"] == pytest.approx(5 + 150 + 10, abs=1e-6)
    assert row.loc["h2", "time_s"] == pytest.approx(165.0, abs=1e-6)
    assert set(row["premises_fid"]) == {"po1"}
    assert list(out["dwelling"]) == [True, True, False]


def test_layout_drive_uses_maxspeed():
    lay = scene()
    out = police_travel_times(lay, "drive", walk_speed_mps=1.0).set_index("building_fid")
    # 36 km/h = 10 m/s on the street; legs walked at 1 m/s: 5 + 45/10 + 10
    assert out.loc["h1", "time_s"] == pytest.approx(5 + 4.5 + 10, abs=1e-6)


def test_no_premises_gives_unreachable_everywhere():
    lay = scene(with_police=False)
    f = access_field(lay, "drive")
    assert not f.buildings["reachable"].any()
    assert f.buildings["time_s"].isna().all() and f.buildings["premises_fid"].isna().all()
    assert f.routes["time_s"].isna().all()
    cov = coverage(f, 900)
    assert cov["dwellings_within"] == 0 and cov["dwelling_share"] == 0.0
    iso = police_isochrones(lay, "drive", [600], field=f)
    assert iso.geometry.iloc[0].is_empty and iso["network_m"].iloc[0] == 0.0


def test_extra_police_and_public_facing():
    lay = scene(with_police=True, police_tags={"police": "detention"})
    pts = premises_points(lay, "public")
    assert lay.police["public_facing"].iloc[0] == bool(len(pts))
    extra = safespace.load(
        collection(feature(point(200, 5), "po2", amenity="police"), crs=CRS27700)
    ).police
    both = premises_points(lay, "police", extra_police=extra)
    assert list(both["fid"]) == ["po1", "po2"]
    out = police_travel_times(
        lay, "walk", premises="police", extra_police=extra, walk_speed_mps=1.0
    ).set_index("building_fid")
    assert out.loc["h2", "premises_fid"] == "po2"
    # h2's outline point nearest the street: the first of the equally near points of its
    # south wall, its south-west corner (150, 10)
    assert out.loc["h2", "distance_m"] == pytest.approx(5 + 50 + 10, abs=1e-6)


def test_route_samples_spacing():
    lay = scene()
    s = route_samples(lay.streets, 30.0)
    assert len(s) == 7  # ceil(200 / 30)
    assert s["length_m"].sum() == pytest.approx(200.0)
    assert s["along_m"].iloc[0] == pytest.approx(200 / 7 / 2)


def test_isochrone_cuts_edges_at_the_budget():
    lay = scene()
    iso = police_isochrones(lay, "walk", [25.0, 10_000.0], walk_speed_mps=1.0, buffer_m=1.0)
    # 25 s at 1 m/s: 5 m access leg, then 20 m along the street from x=0 (dead end at x=0)
    assert iso["network_m"].iloc[0] == pytest.approx(20.0, abs=1e-6)
    assert iso["network_m"].iloc[1] == pytest.approx(200.0, abs=1e-6)
    assert iso.geometry.iloc[0].area == pytest.approx(20 * 2 + math.pi, rel=0.02)


def test_dwelling_mask_falls_back_to_all_buildings():
    lay = scene()
    mask, tagged = dwelling_mask(lay.buildings)
    assert tagged and list(mask) == [True, True, False]
    b = lay.buildings.assign(building="yes")
    mask, tagged = dwelling_mask(b)
    assert not tagged and mask.all()


def test_demo_estate_every_home_reaches_the_police_office():
    lay = safespace.load(FIXTURES / "demo_estate.geojson")
    walk = access_field(lay, "walk")
    homes = walk.buildings[walk.buildings["dwelling"]]
    assert len(homes) == 42 and homes["reachable"].all()
    assert set(homes["premises_fid"]) == {"po01"}
    # README: doors 44-224 m from the office along the paths (plus the access legs here)
    assert homes["distance_m"].min() > 40 and homes["distance_m"].max() < 260
    drive = access_field(lay, "drive")
    assert (drive.buildings["time_s"] <= walk.buildings["time_s"] + 1e-9).all()
    assert (drive.buildings["time_s"] < walk.buildings["time_s"]).sum() >= 40
    assert np.isfinite(drive.routes["time_s"]).all()


# ------------------------------------------------------------------------------------------
# the snapping kernel against brute force (every segment scanned with shapely)
# ------------------------------------------------------------------------------------------


def _random_graph(seed, n_lines=12, directed=False):
    rng = np.random.default_rng(seed)
    segs = []
    for _ in range(n_lines):
        k = int(rng.integers(2, 5))
        pts = np.cumsum(rng.normal(0, 40, size=(k, 2)), axis=0) + rng.uniform(0, 200, 2)
        segs.append([tuple(p) for p in pts.round(3)])
    return make_graph(segs, directed=directed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.booleans())
def test_snap_equals_brute_force_nearest_edge(seed, directed):
    g = _random_graph(seed, directed=directed)
    r = Router(g, "travel_time" if directed else "length")
    rng = np.random.default_rng(seed + 1)
    # points inside and far outside the network's extent (the grid search must leave it)
    xy = np.r_[rng.uniform(-50, 300, size=(40, 2)), rng.uniform(-3000, 3000, size=(5, 2))]
    pts = shapely.points(xy)
    snap = r.snap(pts)
    geoms = r.geometry[r._snap_edges]
    brute = shapely.distance(pts[:, None], geoms[None, :]).min(axis=1)
    np.testing.assert_allclose(snap.access_m, brute, atol=1e-7)
    # the snapped point lies on the chosen edge, at the reported fraction along it
    on_edge = shapely.distance(snap.point, r.geometry[snap.edge])
    assert np.all(on_edge < 1e-7)
    along = shapely.line_locate_point(r.geometry[snap.edge], snap.point)
    np.testing.assert_allclose(snap.frac * r.geom_length[snap.edge], along, atol=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_nearest_segments_of_outlines_equal_brute_force(seed):
    g = _random_graph(seed)
    r = Router(g, "length")
    rng = np.random.default_rng(seed + 2)
    centres = rng.uniform(-50, 300, size=(30, 2))
    polys = shapely.buffer(shapely.points(centres), rng.uniform(1, 30, 30), quad_segs=2)
    # a polygon with a hole and a multipolygon: every ring counts
    polys[0] = shapely.Polygon(
        [(0, 0), (300, 0), (300, 300), (0, 300)], [[(100, 100), (120, 100), (120, 120)]]
    )
    polys[1] = shapely.union(polys[1], shapely.box(400, 400, 410, 410))
    seg, dist, near = r.nearest_segments(polys)
    outline = shapely.boundary(polys)
    brute = shapely.distance(outline[:, None], r._seg_geom[None, :])
    np.testing.assert_allclose(dist, brute.min(axis=1), atol=1e-7)
    np.testing.assert_allclose(brute[np.arange(len(polys)), seg], dist, atol=1e-7)
    # the point returned lies on the outline, at that distance from the network
    pts = shapely.points(near)
    assert np.all(shapely.distance(pts, outline) < 1e-7)
    np.testing.assert_allclose(shapely.distance(pts, r._seg_geom[seg]), dist, atol=1e-7)


def test_nearest_segments_empty_and_missing():
    g = make_graph([((0, 0), (100, 0))])
    r = Router(g, "length")
    seg, dist, near = r.nearest_segments([shapely.Polygon(), None, shapely.box(10, 5, 20, 15)])
    assert seg.tolist() == [-1, -1, 0]
    assert np.isinf(dist[:2]).all() and dist[2] == pytest.approx(5.0)
    assert np.isnan(near[:2]).all()
    assert shapely.Point(near[2]).distance(shapely.LineString([(10, 5), (20, 5)])) < 1e-9


def test_polygon_outline_segments_from_coordinates_equal_the_ring_by_ring_path():
    """The object-free (Multi)Polygon path must give the same query segments, in the same
    order, as splitting into parts and rings; an invalid ring falls back to that path."""
    from safespace.analyses.travel_time import _outline_segments, _polygon_segments

    holed = shapely.box(0, 0, 10, 10).difference(shapely.box(2, 2, 4, 4))
    holed = holed.difference(shapely.box(6, 6, 8, 8))
    multi = shapely.MultiPolygon([shapely.box(20, 0, 25, 5), holed.buffer(0).exterior.convex_hull])
    geoms = np.array([shapely.box(0, 20, 3, 23), holed, multi, shapely.Polygon()], dtype=object)
    fast = _polygon_segments(geoms)
    slow = _outline_segments(geoms)
    assert fast is not None
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    assert fast[2].tolist() == [0, 4, 16, 24, 24]  # 4 + (4 + 4 + 4) + (4 + 4) segments
    # a bow-tie ring meets its start twice: not a valid ring, so not the fast path
    bow = shapely.Polygon([(0, 0), (2, 2), (0, 2), (0, 0), (2, 0), (2, -2), (0, 0)])
    assert _polygon_segments(np.array([bow], dtype=object)) is None
    # lines and points are not polygons either
    assert _polygon_segments(np.array([shapely.Point(0, 0)], dtype=object)) is None
