"""The faster sight-line, sampling and recess helpers give the answers of the plain ones.

Each helper here replaced a slower computation (a pandas groupby, an STRtree nearest query,
point-in-polygon through Point objects, a step-by-step walk, one-thread GEOS calls); each
test draws random scenes and compares the two.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
import shapely

from safespace.analyses._jit import interpreted
from safespace.analyses._kern_sight import walk as walk_twin
from safespace.analyses._visibility import (
    SightIndex,
    blocked_one,
    group_tuples,
    inside_any,
    inside_any_xy,
    nearest_way,
)

fv = importlib.import_module("safespace.analyses.forward_visibility")
rec = importlib.import_module("safespace.analyses.recesses")


def _boxes(rng, n, span=200.0, size=(2.0, 15.0)):
    x = rng.uniform(0, span, n)
    y = rng.uniform(0, span, n)
    w = rng.uniform(*size, n)
    h = rng.uniform(*size, n)
    return shapely.box(x, y, x + w, y + h)


@pytest.mark.parametrize("seed", range(3))
def test_group_tuples_is_pandas_groupby(seed):
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 40, 300)
    for values in (rng.integers(0, 9, 300), np.array([f"way/{v}" for v in rng.integers(0, 50, 300)], dtype=object)):  # fmt: skip
        want = pd.Series(values).groupby(keys).agg(tuple)
        got = group_tuples(keys, values, 45)
        assert [repr(t) for t in got] == [repr(want.get(i, ())) for i in range(45)]
    assert group_tuples(np.empty(0, int), np.empty(0, object), 3) == [(), (), ()]


@pytest.mark.parametrize("seed", range(4))
def test_nearest_way_is_query_nearest(seed):
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, 300, (120, 2))
    ways = shapely.linestrings(
        [np.vstack([s, s + np.cumsum(rng.normal(0, 20, (4, 2)), axis=0)]) for s in starts]
    )
    ways = np.concatenate([ways, ways[:15]])  # duplicated ways: ties at distance 0
    on = shapely.line_interpolate_point(
        ways[rng.integers(0, len(ways), 800)], rng.uniform(0, 1, 800), normalized=True
    )
    off = shapely.points(rng.uniform(0, 300, (200, 2)))
    verts = shapely.points(shapely.get_coordinates(ways[:20]))  # shared vertices: ties
    pts = np.concatenate([on, off, verts])
    want = shapely.STRtree(ways).query_nearest(pts, all_matches=False)
    at, way = nearest_way(pts, ways)
    assert np.array_equal(at, want[0]) and np.array_equal(way, want[1])


@pytest.mark.parametrize("seed", range(4))
def test_inside_any_xy_is_inside_any(seed):
    rng = np.random.default_rng(seed)
    polys = _boxes(rng, 150)
    polys[:10] = shapely.difference(polys[:10], shapely.buffer(shapely.centroid(polys[:10]), 1.0))
    polys[10] = shapely.multipolygons([polys[11], shapely.box(500, 500, 510, 510)])
    polys[12] = shapely.Polygon()
    xy = np.vstack(
        [
            rng.uniform(-10, 520, (3000, 2)),
            shapely.get_coordinates(polys[:30]),  # on the boundaries
            [[505.0, 505.0], [np.nan, 1.0]],
        ]
    )
    with np.errstate(invalid="ignore"):
        want = inside_any(shapely.points(xy), polys)
    assert np.array_equal(inside_any_xy(xy, polys), want)
    assert want.any()


def _scene(rng, n_walls=400, span=150.0):
    b = _boxes(rng, 60, span)
    xy, idx = shapely.get_coordinates(shapely.boundary(b), return_index=True)
    same = idx[1:] == idx[:-1]
    seg = np.hstack([xy[:-1][same], xy[1:][same]])
    fences = rng.uniform(0, span, (n_walls, 2))
    fences = np.hstack([fences, fences + rng.normal(0, 3, (n_walls, 2))])
    seg = np.vstack([seg, fences])
    heights = np.r_[np.full(len(seg) - n_walls, np.inf), rng.uniform(0.5, 3.0, n_walls)]
    return seg, heights


@pytest.mark.parametrize("seed", range(3))
def test_blocked_does_not_depend_on_the_cell_size(seed):
    rng = np.random.default_rng(seed)
    seg, heights = _scene(rng)
    a = np.column_stack([rng.uniform(0, 150, (2000, 2)), rng.uniform(1, 8, 2000)])
    b = np.column_stack([a[:, :2] + rng.normal(0, 25, (2000, 2)), np.full(2000, 1.6)])
    answers = [SightIndex.from_segments(seg, heights, cell_size=c).blocked(a, b) for c in (None, 4.0, 9.0, 40.0)]  # fmt: skip
    for got in answers[1:]:
        assert np.array_equal(got, answers[0])
    assert 0 < answers[0].sum() < len(a)


@pytest.mark.parametrize("seed", range(3))
def test_a_cleared_fan_has_no_blocked_sight_line(seed):
    rng = np.random.default_rng(seed)
    seg, heights = _scene(rng)
    index = SightIndex.from_segments(seg, heights)
    x0, y0, cell, nx, ny, start, items = index.grid
    fan_clear = interpreted(fv._fan_clear)
    one = interpreted(blocked_one)
    cleared = 0
    for _ in range(300):
        a = rng.uniform(0, 150, 2)
        b = a + rng.normal(0, 30, 2)
        c = b + rng.normal(0, 8, 2)
        if fan_clear(a[0], a[1], b[0], b[1], c[0], c[1], 1.6, seg, heights, x0, y0, cell, nx, ny, start, items):  # fmt: skip
            cleared += 1
            for f in np.linspace(0.0, 1.0, 25):
                p = b + f * (c - b)
                assert not one(a[0], a[1], 1.6, p[0], p[1], 1.6, seg, heights, x0, y0, cell, nx, ny, start, items)  # fmt: skip
    assert cleared > 10


@pytest.mark.parametrize("seed", range(2))
def test_the_fan_walk_is_the_step_by_step_walk(seed):
    rng = np.random.default_rng(seed)
    seg, heights = _scene(rng, n_walls=150)
    index = SightIndex.from_segments(seg, heights)
    chains = [np.cumsum(rng.normal(0, 6, (rng.integers(3, 12), 2)), axis=0) + rng.uniform(0, 150, 2) for _ in range(12)]  # fmt: skip
    chains.append(np.array([[10.0, 10.0], [130.0, 10.0]]))  # long and straight
    coords = np.vstack(chains)
    counts = np.array([len(c) for c in chains])
    starts = np.r_[0, np.cumsum(counts)].astype(np.int64)
    seglen = np.hypot(*np.diff(coords, axis=0).T)
    seglen[starts[1:-1] - 1] = 0.0
    cum = np.r_[0.0, np.cumsum(seglen)]
    cum = cum - np.repeat(cum[starts[:-1]], counts)
    lengths = cum[starts[1:] - 1]
    chain = rng.integers(0, len(chains), 60).astype(np.int64)
    pos = rng.uniform(0, 1, 60) * lengths[chain]
    args = (coords, cum, starts, chain, pos, 1.6, 1.6, 1.0, 60.0, index.segments, index.heights, *index.grid)  # fmt: skip
    fan = interpreted(fv._walk.jit)(*args)
    steps = walk_twin(*args)
    assert np.array_equal(fan[0], steps[0]) and np.array_equal(fan[1], steps[1])


def test_threaded_geos_calls_give_the_one_call_answer(monkeypatch):
    rng = np.random.default_rng(0)
    polys = shapely.buffer(_boxes(rng, 400, 1000.0), 1.0, quad_segs=3)
    monkeypatch.setattr(rec, "_SPLIT_VERTICES", 10)
    monkeypatch.setattr(rec.numba, "get_num_threads", lambda: 2)
    for func, args in ((rec._closing, ()), (shapely.difference, (polys[::-1],))):
        kw = {"closing": 2.5} if func is rec._closing else {}
        got = rec._each(func, polys, *args, **kw)
        want = func(polys, *args, **kw)
        assert np.array_equal(shapely.to_wkb(got), shapely.to_wkb(want))
