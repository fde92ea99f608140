"""The small geometry toolkit (``safespace._geom``) against shapely's own answers."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace._geom import convex_hull_xy, line_substrings

_coord = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_small = st.integers(-5, 5).map(float)  # a lattice: duplicates and collinear points galore


def _same(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return a.geom_type == b.geom_type and np.array_equal(
        shapely.get_coordinates(a), shapely.get_coordinates(b)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_coord, _coord), min_size=1, max_size=300))
def test_convex_hull_is_geos_hull_of_all_points(points):
    xy = np.array(points, dtype=float)
    assert _same(convex_hull_xy(xy), shapely.convex_hull(shapely.multipoints(xy)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_small, _small), min_size=64, max_size=400))
def test_convex_hull_on_a_lattice_keeps_every_hull_vertex(points):
    xy = np.array(points, dtype=float) + 5e5  # projected-CRS magnitudes
    assert _same(convex_hull_xy(xy), shapely.convex_hull(shapely.multipoints(xy)))


def test_convex_hull_of_a_dense_disc_drops_the_inside_and_keeps_the_square():
    rng = np.random.default_rng(7)
    inner = rng.uniform(-1, 1, (10_000, 2)) * 0.7  # all strictly inside the unit square
    corners = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    hull = convex_hull_xy(np.vstack([inner, corners]))
    assert hull.area == 4.0
    assert set(map(tuple, shapely.get_coordinates(hull))) == set(map(tuple, corners))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_coord, _coord), min_size=2, max_size=12, unique=True),
    st.floats(0, 1),
    st.floats(0, 1),
)
def test_line_substrings_match_shapely_substring(points, f0, f1):
    line = shapely.LineString(points)
    if line.length == 0:
        return
    a0, a1 = sorted((f0 * line.length, f1 * line.length))
    if a1 <= a0:
        return
    got = line_substrings(np.array([line]), np.array([a0]), np.array([a1]))[0]
    want = shapely.ops.substring(line, a0, a1)
    assert abs(got.length - want.length) <= 1e-9 * max(1.0, line.length)
    assert shapely.equals_exact(got, want, tolerance=1e-6 * max(1.0, line.length))
