"""Accuracy of the exact isovist engine.

Expectations are independent of the engine: closed-form geometry, shapely constructions of
shadows, the MIT peer library ``pysovist`` (exact wedge sweep with true circular arcs) on real
OSM extracts, and hypothesis properties.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safespace.analyses.isovist import (
    ARC_STEP,
    ObstacleIndex,
    isovist,
    isovist_measures,
    isovists,
    isovists_with_measures,
)
from safespace.errors import InputError

OSM = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "osm"

# Exact-circle reference: a 16384-gon (area error 2.5e-8).
FINE = 4096


def disc(x: float, y: float, r: float) -> shapely.Polygon:
    return shapely.Point(x, y).buffer(r, quad_segs=FINE)


def wedge(x, y, r, bearing, fov):
    """Sector of a (fine) circle, bearing/fov in degrees, clockwise from north."""
    th = np.radians(90 - bearing) + np.linspace(-1, 1, FINE) * np.radians(fov) / 2
    ring = np.column_stack([x + 2 * r * np.cos(th), y + 2 * r * np.sin(th)])
    return shapely.Polygon(np.vstack([[x, y], ring])).intersection(disc(x, y, r))


def shadow(origin, poly, r):
    """Region hidden by a convex polygon: union of each edge's shadow quadrilateral."""
    ox, oy = origin
    c = np.asarray(poly.exterior.coords)
    quads = []
    for (ax, ay), (bx, by) in zip(c[:-1], c[1:], strict=True):
        fa = 10 * r / math.hypot(ax - ox, ay - oy)
        fb = 10 * r / math.hypot(bx - ox, by - oy)
        q = shapely.Polygon(
            [(ax, ay), (bx, by), (ox + (bx - ox) * fb, oy + (by - oy) * fb),
             (ox + (ax - ox) * fa, oy + (ay - oy) * fa)]
        )  # fmt: skip
        quads.append(q.buffer(0))
    return shapely.union_all([poly, *quads])


# Tolerances of the documented arc approximation (1-degree chords).
CHORD_REL = 1 - math.sin(ARC_STEP) / ARC_STEP  # 5.1e-5


def segment_area(r):  # circular segment between one chord and its arc
    return r * r * (ARC_STEP - math.sin(ARC_STEP)) / 2


def sagitta(r):
    return r * (1 - math.cos(ARC_STEP / 2))


# ---------------------------------------------------------------- hand-computed geometry


def test_empty_scene_is_the_range_circle():
    p = isovist([], (3.0, -2.0), 100.0)
    assert p.is_valid
    assert abs(p.area / (math.pi * 1e4) - 1) < 1e-4
    xy = np.asarray(p.exterior.coords) - (3.0, -2.0)
    assert len(xy) - 1 >= 257
    np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), 100.0, rtol=1e-12)


@pytest.mark.parametrize("origin", [(0.0, 0.0), (-7.0, 13.0), (30.0, -20.0), (15.0, 25.0)])
def test_square_casts_its_shadow(origin):
    sq = shapely.box(10, -5, 20, 5)
    r = 60.0
    got = isovist([sq], origin, r)
    expected = disc(*origin, r).difference(shadow(origin, sq, r))
    assert got.is_valid
    assert abs(got.area / expected.area - 1) < 1e-4
    # Same region, not just the same area (chord slivers only).
    assert got.symmetric_difference(expected).area < CHORD_REL * math.pi * r * r * 1.01
    assert got.intersection(sq).area < 1e-9


def test_occlusivity_and_radials_of_a_square_by_hand():
    # Viewpoint on the square's axis: two occluding edges from the near corners (10, +-5)
    # out to the range, each 100 - sqrt(125) long; the nearest wall is 10 m away.
    m = isovist_measures([shapely.box(10, -5, 20, 5)], [[0.0, 0.0]], 100.0).iloc[0]
    assert m.occlusivity == pytest.approx(2 * (100 - math.sqrt(125)), rel=1e-9)
    assert m.min_radial == pytest.approx(10.0, rel=1e-9)
    assert m.max_radial == pytest.approx(100.0, rel=1e-12)
    assert m.drift_bearing == pytest.approx(270.0, abs=1e-6)  # the shadow lies to the east


@pytest.mark.parametrize("fov,bearing", [(90.0, 0.0), (60.0, 135.0), (200.0, 300.0)])
def test_fov_wedge_of_an_empty_scene(fov, bearing):
    r = 50.0
    p = isovist([], (1.0, 2.0), r, fov=fov, direction=bearing)
    a = math.radians(fov) / 2
    assert abs(p.area / (a * r * r) - 1) < 1e-4
    assert (1.0, 2.0) in [tuple(c) for c in p.exterior.coords]  # the origin is a vertex
    m = isovist_measures([], [[1.0, 2.0]], r, fov=fov, directions=bearing).iloc[0]
    # Centroid of a sector: 2 r sin(a) / (3 a) from the apex, along the bisector.
    assert m.drift_distance == pytest.approx(2 * r * math.sin(a) / (3 * a), rel=1e-4)
    assert m.drift_bearing == pytest.approx(bearing, abs=1e-6)
    assert m.min_radial == pytest.approx(r, rel=1e-12)  # wedge sides excluded


def test_fov_vector_equals_bearing_and_matches_clipped_isovist():
    obstacles = [shapely.box(10, -5, 20, 5), shapely.box(-30, 20, -10, 22)]
    o = (0.0, 3.0)
    by_bearing = isovist(obstacles, o, 80.0, fov=120, direction=90.0)
    by_vector = isovist(obstacles, o, 80.0, fov=120, direction=(1.0, 0.0))
    assert by_bearing.symmetric_difference(by_vector).area < 1e-9
    full = isovist(obstacles, o, 80.0)
    clipped = full.intersection(wedge(*o, 80.0, 90.0, 120))
    assert abs(by_bearing.area / clipped.area - 1) < 1e-4
    batch = isovists(obstacles, [o, o], 80.0, fov=120, directions=[90.0, 270.0])
    assert batch[0].symmetric_difference(by_bearing).area < 1e-9
    assert batch[1].intersection(shapely.box(0.0, -100, 100, 100)).area < 1e-6


def test_inside_an_obstacle_is_empty():
    sq = shapely.box(0, 0, 10, 10)
    assert isovist([sq], (5.0, 5.0), 30.0).is_empty
    m = isovist_measures([sq], [[5.0, 5.0], [-5.0, 5.0]], 30.0)
    assert m.area.iloc[0] == 0.0 and math.isnan(m.drift_distance.iloc[0])
    assert m.area.iloc[1] > 0


def test_on_edge_sees_the_half_plane():
    sq = shapely.box(0, 0, 10, 10)
    r = 40.0
    for o in [(0.0, 5.0), (5.0, 10.0), (5.0, 1e-7), (10.0 + 5e-7, 3.0)]:
        p = isovist([sq], o, r)
        assert abs(p.area / (math.pi * r * r / 2) - 1) < 1e-4, o
        assert p.intersection(sq).area < 1e-6
    # A convex corner: the nudge goes along the bisector; three quadrants are visible.
    p = isovist([sq], (10.0, 10.0), r)
    assert abs(p.area / (0.75 * math.pi * r * r) - 1) < 1e-4


def test_on_a_party_wall_is_empty():
    houses = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
    assert isovist(houses, (10.0, 5.0), 30.0).is_empty
    # The shared wall is gone: the terrace casts one shadow, as one block would.
    a = isovist(houses, (-5.0, 5.0), 30.0)
    b = isovist([shapely.box(0, 0, 20, 10)], (-5.0, 5.0), 30.0)
    assert a.symmetric_difference(b).area < 1e-9


def test_measures_match_the_polygon():
    obstacles = [
        shapely.box(10, -5, 20, 5),
        shapely.Polygon([(-20, -20), (-5, -25), (-10, -8)]),
        shapely.box(-15, 10, 5, 30).difference(shapely.box(-10, 15, 0, 25)),  # courtyard
    ]
    pts = np.array([[0.0, 0.0], [-5.0, 20.0], [25.0, 25.0], [-12.0, 40.0]])
    polys = isovists(obstacles, pts, 70.0)
    m = isovist_measures(obstacles, pts, 70.0)
    for p, (_, row) in zip(polys, m.iterrows(), strict=True):
        assert p.is_valid
        assert row.area == pytest.approx(p.area, rel=1e-12)
        assert row.perimeter == pytest.approx(p.length, rel=1e-12)
        assert row.compactness == pytest.approx(4 * math.pi * p.area / p.length**2, rel=1e-12)
        o = shapely.Point(row.x, row.y)
        assert row.min_radial == pytest.approx(o.distance(p.exterior), rel=1e-9)
        xy = np.asarray(p.exterior.coords) - (row.x, row.y)
        assert row.max_radial == pytest.approx(np.hypot(*xy.T).max(), rel=1e-12)
        c = p.centroid
        assert row.drift_distance == pytest.approx(o.distance(c), rel=1e-9, abs=1e-9)
        if row.drift_distance > 1e-3:  # the bearing of a (near) zero drift is noise
            b = math.degrees(math.atan2(c.x - row.x, c.y - row.y)) % 360
            assert row.drift_bearing == pytest.approx(b, abs=1e-6)


def test_one_sweep_gives_polygons_and_measures():
    obstacles = [shapely.box(10, -5, 20, 5)]
    pts = np.array([[0.0, 0.0], [15.0, 0.0], [0.0, 30.0]])
    polys, table = isovists_with_measures(obstacles, pts, 50.0)
    for p, q in zip(polys, isovists(obstacles, pts, 50.0), strict=True):
        assert p.equals_exact(q, 0.0)
    assert table.equals(isovist_measures(obstacles, pts, 50.0))


def test_prepared_index_gives_the_same_result():
    obstacles = [shapely.box(10, -5, 20, 5), shapely.box(-30, 20, -10, 22)]
    idx = ObstacleIndex.from_geometries(obstacles)
    pts = np.array([[0.0, 0.0], [5.0, 40.0]])
    a = isovists(obstacles, pts, 50.0)
    b = isovists(idx, pts, 50.0)
    for p, q in zip(a, b, strict=True):
        assert p.equals_exact(q, 0.0)


def test_bad_input_raises_input_error():
    with pytest.raises(InputError, match="not a polygon"):
        ObstacleIndex.from_geometries([shapely.LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="radius"):
        isovist([], (0, 0), -1.0)
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        isovists([], np.zeros((3, 3)), 10.0)
    with pytest.raises(InputError, match="direction"):
        isovist([], (0, 0), 10.0, fov=90)
    with pytest.raises(InputError, match="non-finite"):
        isovists([], [[0.0, math.nan]], 10.0)


# ---------------------------------------------------------------- hypothesis properties

coord = st.floats(-30, 30, allow_nan=False)
rect = st.tuples(coord, coord, st.floats(0.5, 12), st.floats(0.5, 12), st.floats(0, 180))


def make_rect(cx, cy, w, h, angle):
    box = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return shapely.affinity.rotate(box, angle, origin=(cx, cy))


def free_origin(obstacles, x, y):
    pt = shapely.Point(x, y)
    assume(all(pt.distance(o) > 1e-3 for o in obstacles))
    return (x, y)


@settings(max_examples=60, deadline=None)
@given(st.lists(rect, min_size=0, max_size=5), coord, coord, st.floats(5, 80))
def test_contains_origin_and_bounded_by_the_circle(rects, x, y, r):
    obstacles = [make_rect(*t) for t in rects]
    o = free_origin(obstacles, x, y)
    p = isovist(obstacles, o, r)
    assert p.is_valid
    assert p.covers(shapely.Point(o))
    assert p.area <= math.pi * r * r * (1 + 1e-9)
    assert p.intersection(shapely.union_all(obstacles)).area < 1e-6 if obstacles else True


@settings(max_examples=60, deadline=None)
@given(
    st.lists(rect, min_size=0, max_size=5),
    coord,
    coord,
    st.floats(5, 80),
    st.floats(1, 359),
    st.floats(-720, 720),
)
def test_fov_is_the_full_isovist_in_a_wedge(rects, x, y, r, fov, bearing):
    obstacles = [make_rect(*t) for t in rects]
    o = free_origin(obstacles, x, y)
    full = isovist(obstacles, o, r)
    part = isovist(obstacles, o, r, fov=fov, direction=bearing)
    assert part.is_valid
    assert part.covers(shapely.Point(o))
    # Wedge sides may end between two arc vertices of the full isovist (one chord each).
    assert part.difference(full.buffer(sagitta(r) * 1.01)).area < 1e-6
    expected = full.intersection(wedge(*o, r, bearing, fov)).area
    assert abs(part.area - expected) <= 2 * segment_area(r) + 1e-6 + CHORD_REL * expected


@settings(max_examples=60, deadline=None)
@given(st.lists(rect, min_size=0, max_size=4), rect, coord, coord, st.floats(5, 80))
def test_adding_an_obstacle_never_enlarges(rects, extra, x, y, r):
    obstacles = [make_rect(*t) for t in rects]
    more = [*obstacles, make_rect(*extra)]
    o = free_origin(more, x, y)
    before = isovist(obstacles, o, r)
    after = isovist(more, o, r)
    # Exact up to the arc chords: a new shadow may end between two 1-degree arc vertices,
    # putting a vertex on the circle just outside the old chord (two ends per convex shadow).
    assert after.area <= before.area + 2 * segment_area(r) + 1e-6
    assert after.difference(before.buffer(sagitta(r) * 1.01)).area < 1e-6


@settings(max_examples=60, deadline=None)
@given(
    st.lists(rect, min_size=1, max_size=5),
    coord,
    coord,
    st.floats(5, 80),
    st.floats(-1e4, 1e4),
    st.floats(-1e4, 1e4),
    st.integers(0, 359),
)
def test_translating_or_rotating_moves_the_isovist(rects, x, y, r, dx, dy, turn):
    obstacles = [make_rect(*t) for t in rects]
    o = free_origin(obstacles, x, y)
    p = isovist(obstacles, o, r)

    def move(g):  # rotation by whole degrees maps the 1-degree arc grid onto itself
        return shapely.affinity.translate(shapely.affinity.rotate(g, turn, origin=(0, 0)), dx, dy)

    moved_o = move(shapely.Point(o))
    q = isovist([move(g) for g in obstacles], (moved_o.x, moved_o.y), r)
    assert q.area == pytest.approx(p.area, rel=1e-9, abs=1e-6)
    assert q.symmetric_difference(move(p)).area < 1e-6


# ---------------------------------------------------------------- real scenes vs pysovist


def _read_osm(path: Path):
    """Buildings (polygons) and foot routes (lines) in UTM, via pyosmium."""
    osmium = pytest.importorskip("osmium")
    import geopandas as gpd
    from osmium.geom import WKBFactory

    foot = {"footway", "pedestrian", "path", "steps", "living_street", "residential",
            "service", "cycleway", "track", "unclassified", "tertiary", "secondary",
            "primary", "corridor", "bridleway"}  # fmt: skip
    wkb = WKBFactory()
    buildings, routes = [], []
    for o in osmium.FileProcessor(str(path)).with_locations().with_areas():
        try:
            if o.is_area() and "building" in o.tags:
                buildings.append(shapely.from_wkb(wkb.create_multipolygon(o)))
            elif o.is_way() and o.tags.get("highway") in foot and o.tags.get("area") != "yes":
                routes.append(shapely.from_wkb(wkb.create_linestring(o)))
        except (RuntimeError, osmium.InvalidLocationError):  # incomplete at the extract edge
            continue
    b = gpd.GeoSeries(buildings, crs=4326)
    crs = b.estimate_utm_crs()
    return b.to_crs(crs).values, gpd.GeoSeries(routes, crs=4326).to_crs(crs).values


def _viewpoints(buildings, routes, step=10.0):
    pts = np.vstack(
        [shapely.get_coordinates(shapely.line_interpolate_point(r, np.arange(0, r.length, step)))
         for r in routes]
    )  # fmt: skip
    pts = np.unique(np.round(pts, 3), axis=0)
    hit = shapely.STRtree(buildings).query(shapely.points(pts), predicate="dwithin", distance=1e-3)
    keep = np.ones(len(pts), bool)
    keep[hit[0]] = False
    return pts[keep]


@pytest.mark.parametrize("name", ["heidelberg_altstadt", "helsinki_centre"])
def test_real_extracts_agree_with_pysovist(name):
    pysovist = pytest.importorskip("pysovist")
    path = OSM / f"{name}.osm.pbf"
    if not path.exists():
        pytest.skip(f"real OSM extract not found: {path}")
    buildings, routes = _read_osm(path)
    pts = _viewpoints(buildings, routes)
    r = 100.0
    polys = isovists(buildings, pts, r)
    assert shapely.is_valid(np.asarray(polys)).all()

    # pysovist gets the raw building outlines as wall segments (no union, no culling by
    # facing); only walls out of range are left out, which cannot change an isovist.
    rings = shapely.get_rings(shapely.get_parts(buildings))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    segs = np.stack([xy[:-1][same], xy[1:][same]], axis=1)
    tree = shapely.STRtree(shapely.linestrings(segs))
    sample = np.linspace(0, len(pts) - 1, 100).astype(int)
    rel = []
    for i in sample:
        near = tree.query(shapely.Point(pts[i]), predicate="dwithin", distance=r)
        ref = pysovist.isovist(segs[near], pts[i], max_distance=r).metrics["area"]
        rel.append(abs(polys[i].area / ref - 1))
    rel = np.asarray(rel)
    assert np.isfinite(rel).all()
    assert np.median(rel) <= 1e-4
    assert rel.max() <= 1e-3
