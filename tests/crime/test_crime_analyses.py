"""Micro-place analysis: snapping against brute force, concentration against NumPy, Gi*."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import sparse

import safespace
from safespace.analyses import (
    concentration,
    crime_by_area,
    gi_star,
    lorenz_curve,
    map_point_counts,
    segment_crime,
    snap_incidents,
)
from safespace.analyses.crime import fdr_mask, network_weights
from tests.conftest import FIXTURES, real_file


@pytest.fixture(scope="module")
def monaco():
    from safespace.analyses import walk_network

    layout = safespace.load(real_file("osm", "monaco.osm.pbf"))
    return layout, walk_network(layout)


def _near_network(graph, crs, n, seed=1):
    """n incidents scattered about the network: a point on a random edge, moved N(0, 15 m)."""
    rng = np.random.default_rng(seed)
    geoms = np.array([d["geometry"] for *_, d in graph.edges(data=True)])
    e = rng.integers(0, len(geoms), n)
    p = shapely.line_interpolate_point(geoms[e], rng.uniform(0, 1, n), normalized=True)
    xy = shapely.get_coordinates(p) + rng.normal(0, 15, (n, 2))
    return gpd.GeoDataFrame({"category": ["Burglary"] * n}, geometry=shapely.points(xy), crs=crs)


def test_snap_100k_on_monaco_equals_brute_force_and_is_fast(monaco):
    layout, graph = monaco
    inc = _near_network(graph, layout.crs, 100_000)
    snap_incidents(layout, incidents=inc.head(10), graph=graph)  # compile the kernel once
    t0 = time.perf_counter()
    snap = snap_incidents(layout, incidents=inc, graph=graph, max_distance_m=None)
    elapsed = time.perf_counter() - t0
    assert elapsed <= 2.0, f"100,000 incidents snapped in {elapsed:.2f} s"
    assert (snap["edge"] >= 0).all()
    # brute force on a sample: the distance to every edge geometry, the least one
    edges = np.array([d["geometry"] for *_, d in graph.edges(data=True)])
    rng = np.random.default_rng(7)
    sample = rng.choice(len(inc), 1500, replace=False)
    pts = np.asarray(inc.geometry.values, dtype=object)[sample]
    d_all = shapely.distance(pts[:, None], edges[None, :])
    best = d_all.min(axis=1)
    got = d_all[np.arange(len(sample)), snap["edge"].to_numpy()[sample]]
    np.testing.assert_allclose(got, best, atol=1e-6)
    np.testing.assert_allclose(snap["distance_m"].to_numpy()[sample], best, atol=1e-6)


def test_max_distance_leaves_far_incidents_unsnapped(monaco):
    layout, graph = monaco
    inc = _near_network(graph, layout.crs, 2000, seed=3)
    snap = snap_incidents(layout, incidents=inc, graph=graph, max_distance_m=5.0)
    free = snap_incidents(layout, incidents=inc, graph=graph, max_distance_m=None)
    far = free["distance_m"].to_numpy() > 5.0
    assert far.any() and (snap["edge"].to_numpy()[far] == -1).all()
    assert (snap["edge"].to_numpy()[~far] == free["edge"].to_numpy()[~far]).all()


def test_concentration_on_real_map_points_matches_numpy():
    path = real_file("crime", "2016-07-west-yorkshire-street.csv")
    frame = safespace.read_incidents(path)
    points = map_point_counts(frame)
    # a direct NumPy computation on the coordinates of the same file
    xy = shapely.get_coordinates(frame.geometry.values)
    _, counts = np.unique(xy, axis=0, return_counts=True)
    assert len(points) == len(counts) == 12500 and points["count"].sum() == 25829
    assert sorted(points["count"]) == sorted(counts)
    c = np.sort(counts)[::-1]
    cum = np.cumsum(c)
    share50 = (np.argmax(cum >= 0.5 * c.sum()) + 1) / len(c)
    share25 = (np.argmax(cum >= 0.25 * c.sum()) + 1) / len(c)
    # Gini as the mean absolute difference over twice the mean (a different formula)
    diffs = np.abs(counts[:, None].astype(float) - counts[None, :]).sum()
    gini = diffs / (2 * len(counts) ** 2 * counts.mean())
    res = concentration(points["count"].to_numpy(), n_sim=20, min_count=1)
    assert res.share_50 == pytest.approx(share50)
    assert res.share_25 == pytest.approx(share25)
    assert res.gini == pytest.approx(gini, rel=1e-9)
    # more incidents than points: maximal equality is 2 or 3 a point, a small Gini > 0
    n, total = len(c), int(c.sum())
    eq = np.full(n, total // n)
    eq[: total % n] += 1
    g_eq = np.abs(eq[:, None] - eq[None, :]).sum() / (2 * n * n * eq.mean())
    gmax = (n - 1) / n
    assert res.gini_generalized == pytest.approx((gini - g_eq) / (gmax - g_eq), rel=1e-9)
    assert 0 <= res.gini_poisson <= res.gini_generalized <= res.gini
    x, y = res.lorenz
    assert x[0] == y[0] == 0 and x[-1] == y[-1] == 1
    assert np.all(np.diff(y) >= 0)


def test_concentration_known_cases():
    # all in one unit: Gini (n-1)/n raw, 1 adjusted; spread evenly: 0
    one = concentration([10, 0, 0, 0], n_sim=50)
    assert one.gini == pytest.approx(0.75) and one.gini_generalized == pytest.approx(1.0)
    assert one.share_50 == 0.25
    even = concentration([3, 3, 3, 3], n_sim=50)
    assert even.gini == 0 and even.gini_generalized == 0 and even.gini_poisson == 0
    # sparse: 2 incidents on 10 segments, each on its own segment — as equal as possible
    sparse_case = concentration([1, 1] + [0] * 8, n_sim=50)
    assert sparse_case.gini == pytest.approx(0.8)  # the raw Gini calls this concentrated
    assert sparse_case.gini_generalized == 0.0
    x, y = lorenz_curve([1, 3, 0])
    np.testing.assert_allclose(y, [0, 0.75, 1.0, 1.0])


def test_gi_star_by_hand():
    """A path of 5 units, values 0 0 0 0 10, neighbours i±1 and itself (binary).

    Unit 4 (value 10, neighbour 3): Σw x = 10, W = 2, Σw² = 2; x̄ = 2, S = √(20 − 4) = 4:
    Gi* = (10 − 2·2) / (4 · √((5·2 − 4)/4)) = 6 / (4 · √1.5) = 1.2247.
    Unit 2 (neighbours 1, 3): Σw x = 0, W = 3: (0 − 6) / (4 · √((15 − 9)/4)) = −1.2247.
    """
    n = 5
    w = sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n)).tocsr()
    z, p = gi_star([0, 0, 0, 0, 10], w)
    assert z[4] == pytest.approx(6 / (4 * np.sqrt(1.5)))
    assert z[2] == pytest.approx(-6 / (4 * np.sqrt(1.5)))
    assert p[4] == pytest.approx(0.1103, abs=1e-4)
    # Benjamini–Hochberg at 0.05 over 4 tests: sorted p ≤ 0.0125, 0.025, 0.0375, 0.05
    assert fdr_mask([0.001, 0.02, 0.03, 0.5], 0.05).tolist() == [True, True, True, False]
    assert fdr_mask([0.001, 0.04, 0.03, 0.5], 0.05).tolist() == [True, False, False, False]


def test_segment_crime_on_the_demo_estate():
    layout = safespace.load(FIXTURES / "demo_estate.geojson")
    from safespace.analyses import walk_network

    g = walk_network(layout)
    edges = [(u, v, d) for u, v, d in g.edges(data=True)]
    # 3 incidents at the middle of edge 0, 1 at the middle of edge 1, one 500 m away
    mid0 = shapely.line_interpolate_point(edges[0][2]["geometry"], 0.5, normalized=True)
    mid1 = shapely.line_interpolate_point(edges[1][2]["geometry"], 0.5, normalized=True)
    far = shapely.Point(mid0.x + 500, mid0.y)
    inc = gpd.GeoDataFrame(
        {"category": ["Burglary", "Burglary", "Robbery", "Burglary", "Burglary"]},
        geometry=[mid0, mid0, mid0, mid1, far],
        crs=layout.crs,
    )
    seg = segment_crime(layout, incidents=inc, graph=g)
    assert seg.loc[0, "count"] == 3 and seg.loc[1, "count"] == 1
    assert seg["count"].sum() == 4 and seg.attrs["unsnapped"] == 1
    assert seg.loc[0, "by_category"] == {"Burglary": 2, "Robbery": 1}
    assert seg.loc[0, "rate_per_100m"] == pytest.approx(300 / edges[0][2]["length"])
    w = network_weights(seg)
    shared = {edges[0][0], edges[0][1]} & {edges[1][0], edges[1][1]}
    assert bool(w[0, 1]) == bool(shared) and w[0, 0] == 1
    table = crime_by_area(layout, incidents=inc, rings_m=(100, 1000))
    d = shapely.distance(layout.site_polygon, inc.geometry.values)
    assert table.loc["all", "site"] == int((d <= 0).sum())
    assert table.loc["all", "within_1000m"] == 5
    assert table.loc["Burglary", "within_100m"] == int(
        ((d <= 100) & (inc.category == "Burglary")).sum()
    )
