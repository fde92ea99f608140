"""Illuminance kernels: closed-form physics, superposition, occlusion and invariances."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace import photometry
from safespace.analyses import illuminance as il
from safespace.photometry import Photometry
from tests.conftest import real_file

G = np.arange(0.0, 91.0, 5.0)


def linear_lamp(a: float = 100.0, b: float = 2.0) -> Photometry:
    """Rotationally symmetric I(γ) = a + b·γ(deg), exactly reproduced by interpolation."""
    c = np.array([0.0, 360.0])
    return Photometry(c, G, np.vstack([a + b * G] * 2), rated_flux=1000.0, name="linear")


def asymmetric_lamp() -> Photometry:
    c = np.arange(0.0, 361.0, 15.0)
    cc, gg = np.meshgrid(c, G, indexing="ij")
    table = (100 + gg) * (1.2 + np.sin(np.radians(cc)) * 0.5 + 0.3 * np.cos(np.radians(2 * cc)))
    return Photometry(c, G, table, rated_flux=1000.0, name="asym")


def test_single_lamp_matches_closed_form_to_1e9():
    h, mf = 7.0, 0.8
    lamps = il.LampSet([[2.0, -3.0, h]], linear_lamp(), maintenance_factor=mf)
    rng = np.random.default_rng(3)
    pts = rng.uniform(-20, 20, (500, 2)) + [2.0, -3.0]
    e = il.horizontal_illuminance(lamps, pts)
    r = np.hypot(pts[:, 0] - 2.0, pts[:, 1] + 3.0)
    gamma = np.degrees(np.arctan2(r, h))
    expected = (100 + 2 * gamma) * np.cos(np.radians(gamma)) ** 3 / h**2 * mf
    expected[gamma > 90] = 0
    np.testing.assert_allclose(e, expected, rtol=1e-9, atol=0)


def test_semicylindrical_and_vertical_closed_forms():
    h = 6.0
    lamps = il.LampSet([[0.0, 0.0, h]], linear_lamp(), maintenance_factor=1.0)
    # point 4 m east of the lamp; face looking west (toward the lamp), north, east
    pts = np.array([[4.0, 0.0]] * 3)
    dirs = np.array([270.0, 0.0, 90.0])
    hp = h - 1.5
    eps = np.arctan2(4.0, hp)
    i = 100 + 2 * np.degrees(eps)
    base = i * np.cos(eps) ** 2 * np.sin(eps) / hp**2
    res = il.illuminance(lamps, pts, dirs, kinds=("E_sc", "E_v"))
    # (1 + cos α)/π with α = 0, 90°, 180°
    np.testing.assert_allclose(res["E_sc"], base * np.array([2, 1, 0]) / np.pi, rtol=1e-9)
    np.testing.assert_allclose(res["E_v"], base * np.array([1, 0, 0]), rtol=1e-9, atol=1e-12)


def test_asymmetric_distribution_uses_azimuth_convention():
    # azimuth 90: C0 points east (+x), C90 north (+y, counter-clockwise from C0 seen above)
    ph = asymmetric_lamp()
    lamps = il.LampSet([[0.0, 0.0, 5.0]], ph, azimuth_deg=90.0, maintenance_factor=1.0)
    pts = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, 0.0], [0.0, -3.0], [2.0, 1.0]])
    e = il.horizontal_illuminance(lamps, pts)
    c = np.degrees(np.arctan2(pts[:, 1], pts[:, 0])) % 360  # angle from east, CCW
    gamma = np.degrees(np.arctan2(np.hypot(*pts.T), 5.0))
    expected = ph.intensity(c, gamma) * np.cos(np.radians(gamma)) ** 3 / 25
    np.testing.assert_allclose(e, expected, rtol=1e-9)


def test_tilt_swings_the_beam_toward_c90():
    ph = asymmetric_lamp()
    pts = np.array([[0.0, 4.0], [0.0, -4.0]])  # azimuth 90: C90 is north
    flat = il.LampSet([[0.0, 0.0, 5.0]], linear_lamp(), azimuth_deg=90.0)
    tilted = il.LampSet([[0.0, 0.0, 5.0]], linear_lamp(), azimuth_deg=90.0, tilt_deg=15.0)
    e0 = il.horizontal_illuminance(flat, pts)
    e1 = il.horizontal_illuminance(tilted, pts)
    assert e0[0] == pytest.approx(e0[1])
    # toward C90 the ray is nearer the (tilted) nadir: γ smaller, I(γ) increasing → less light
    g_n = np.degrees(np.arctan2(4, 5)) - 15
    g_s = np.degrees(np.arctan2(4, 5)) + 15
    k = 0.8 * 5 / (16 + 25) ** 1.5
    np.testing.assert_allclose(e1, [k * (100 + 2 * g_n), k * (100 + 2 * g_s)], rtol=1e-9)
    del ph


def test_superposition():
    rng = np.random.default_rng(7)
    phs = [linear_lamp(), asymmetric_lamp()]
    pos = np.column_stack([rng.uniform(0, 50, (6, 2)), rng.uniform(4, 10, 6)])
    idx = rng.integers(0, 2, 6)
    az = rng.uniform(0, 360, 6)
    pts = rng.uniform(-10, 60, (400, 2))
    dirs = rng.uniform(0, 360, 400)
    both = il.illuminance(il.LampSet(pos, phs, idx, az), pts, dirs)
    parts = [
        il.illuminance(il.LampSet(pos[s], phs, idx[s], az[s]), pts, dirs)
        for s in (slice(0, 2), slice(2, 6))
    ]
    for k in ("E_h", "E_sc", "E_v"):
        np.testing.assert_allclose(both[k], parts[0][k] + parts[1][k], rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(
    x=st.floats(-30, 30),
    y=st.floats(-30, 30),
    h=st.floats(3, 12),
    az=st.floats(0, 360),
    scale=st.floats(0.1, 5),
)
def test_doubling_lumens_doubles_every_e(x, y, h, az, scale):
    pts = np.random.default_rng(0).uniform(-40, 40, (60, 2))
    one = il.LampSet([[x, y, h]], asymmetric_lamp(), azimuth_deg=az, flux_scale=scale)
    two = il.LampSet([[x, y, h]], asymmetric_lamp(), azimuth_deg=az, flux_scale=2 * scale)
    a = il.illuminance(one, pts, 45.0)
    b = il.illuminance(two, pts, 45.0)
    for k in a:
        np.testing.assert_allclose(b[k], 2 * a[k], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(h=st.floats(2, 15), factor=st.floats(1, 10), far=st.floats(1.001, 50))
def test_grid_outside_every_reach_is_dark(h, factor, far):
    lamps = il.LampSet([[0.0, 0.0, h], [5.0, 5.0, h]], linear_lamp())
    reach = factor * h
    ang = np.linspace(0, 2 * np.pi, 40)
    r = reach * far + 5 * np.sqrt(2)  # beyond both lamps' reach
    pts = np.column_stack([r * np.cos(ang), r * np.sin(ang)])
    res = il.illuminance(lamps, pts, 0.0, reach_factor=factor)
    for v in res.values():
        assert np.all(v == 0)


def _rot(xy, deg):
    """Rotate clockwise by deg about the origin (matches azimuth, clockwise from north)."""
    t = np.radians(deg)
    return xy @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


@settings(max_examples=30, deadline=None)
@given(turn=st.floats(0, 360), az=st.floats(0, 360), tilt=st.floats(-20, 20))
def test_rotating_lamp_and_grid_together_changes_nothing(turn, az, tilt):
    rng = np.random.default_rng(11)
    lamp_xy = np.array([[3.0, -2.0]])
    pts = rng.uniform(-25, 25, (200, 2))
    dirs = rng.uniform(0, 360, 200)
    a = il.illuminance(
        il.LampSet(np.c_[lamp_xy, [6.0]], asymmetric_lamp(), azimuth_deg=az, tilt_deg=tilt),
        pts,
        dirs,
    )
    b = il.illuminance(
        il.LampSet(
            np.c_[_rot(lamp_xy, turn), [6.0]],
            asymmetric_lamp(),
            azimuth_deg=az + turn,
            tilt_deg=tilt,
        ),
        _rot(pts, turn),
        dirs + turn,
    )
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-9, atol=1e-12)


def test_rotation_helper_is_clockwise():
    np.testing.assert_allclose(_rot(np.array([[0.0, 1.0]]), 90), [[1.0, 0.0]], atol=1e-15)


# -- occlusion ------------------------------------------------------------------------------
def courtyard() -> shapely.Polygon:
    """A closed perimeter block, 40 × 40 m outside, with a 20 × 20 m courtyard."""
    return shapely.Polygon(
        [(0, 0), (40, 0), (40, 40), (0, 40)], holes=[[(10, 10), (30, 10), (30, 30), (10, 30)]]
    )


def test_lamp_in_closed_courtyard_lights_nothing_outside():
    lamps = il.LampSet([[20.0, 20.0, 5.0]], linear_lamp())
    xs = np.arange(-20.0, 61.0, 2.0)
    pts = np.array(np.meshgrid(xs, xs)).reshape(2, -1).T
    e = il.horizontal_illuminance(lamps, pts, obstacles=[courtyard()], reach_factor=20)
    open_e = il.horizontal_illuminance(lamps, pts, reach_factor=20)
    in_yard = (np.abs(pts[:, 0] - 20) < 10) & (np.abs(pts[:, 1] - 20) < 10)
    in_block = shapely.contains_xy(courtyard(), pts[:, 0], pts[:, 1])
    outside = ~in_yard & ~in_block & ~shapely.intersects_xy(courtyard().boundary, *pts.T)
    assert np.all(e[outside] == 0) and np.all(open_e[outside] > 0)
    assert np.all(e[in_block] == 0)  # points inside a building get nothing
    np.testing.assert_allclose(e[in_yard], open_e[in_yard], rtol=1e-12)


def test_point_behind_a_wall_is_dark_in_front_is_lit():
    wall = shapely.box(10, -10, 11, 10)  # a thin building east of the lamp
    lamps = il.LampSet([[0.0, 0.0, 6.0]], linear_lamp())
    pts = np.array([[5.0, 0.0], [15.0, 0.0], [15.0, 20.0]])
    e = il.horizontal_illuminance(lamps, pts, obstacles=[wall])
    assert e[0] > 0 and e[1] == 0 and e[2] > 0  # in front, behind, past the wall's end


def test_building_height_lets_light_pass_over():
    lamps = il.LampSet([[0.0, 0.0, 8.0]], linear_lamp())
    pts = np.array([[12.0, 0.0]])
    # the ray from 8 m at x=0 to the ground at x=12 is at 8·(1 − 10/12) = 1.33 m at x=10
    low = il.Obstacles([shapely.box(10, -5, 10.5, 5)], heights=[1.0])
    high = il.Obstacles([shapely.box(10, -5, 10.5, 5)], heights=[2.0])
    unknown = il.Obstacles([shapely.box(10, -5, 10.5, 5)], heights=[np.nan])
    free = il.horizontal_illuminance(lamps, pts)
    assert il.horizontal_illuminance(lamps, pts, obstacles=low)[0] == pytest.approx(free[0])
    assert il.horizontal_illuminance(lamps, pts, obstacles=high)[0] == 0
    assert il.horizontal_illuminance(lamps, pts, obstacles=unknown)[0] == 0


# -- grids ------------------------------------------------------------------------------------
def test_route_grid_spacing_and_offsets():
    line = shapely.LineString([(0, 0), (0, 10)])  # 10 m heading north
    g = il.route_grid([line], 2.4)
    # ceil(10/3) = 4 rows at cell centres, 3 across at strip centres of 2.4 m
    np.testing.assert_allclose(np.unique(g["along"]), [1.25, 3.75, 6.25, 8.75])
    np.testing.assert_allclose(np.unique(g["offset"]), [-0.8, 0.0, 0.8])
    assert len(g) == 12 and set(g["line"]) == {0}
    np.testing.assert_allclose(g["direction_deg"], 0.0, atol=1e-9)
    # positive offset is to the left of travel: west of a north-bound line
    left = g[g["offset"] > 0]
    np.testing.assert_allclose(left["x"], -0.8)
    wide = il.route_grid([line, shapely.LineString([(0, 0), (7, 0)])], [6.0, 1.0])
    assert (wide["line"] == 0).sum() == 4 * 4  # ceil(6/1.5) = 4 across
    east = wide[wide["line"] == 1]
    np.testing.assert_allclose(east["direction_deg"], 90.0)
    assert np.diff(np.unique(east["along"])).max() <= 3.0


def test_area_grid_points_inside_and_small_areas_get_one():
    big = shapely.box(0, 0, 9, 6)
    tiny = shapely.box(100, 100, 101, 101)
    ring = courtyard()
    g = il.area_grid([big, tiny, ring], 3.0)
    assert (g["area"] == 0).sum() == 6
    assert (g["area"] == 1).sum() == 1
    r = g[g["area"] == 2]
    assert shapely.contains_xy(ring, r["x"], r["y"]).all()


def test_bad_input_is_reported():
    with pytest.raises(il.InputError):
        il.LampSet([[0.0, 0.0, -1.0]], linear_lamp())
    with pytest.raises(il.InputError):
        il.LampSet([[0.0, 0.0, 5.0]], linear_lamp(), photometry_index=3)
    with pytest.raises(il.InputError):
        il.Obstacles([shapely.Point(0, 0)])
    with pytest.raises(ValueError):
        il.illuminance(il.LampSet([[0, 0, 5.0]], linear_lamp()), [[1.0, 1.0]], kinds=("E_sc",))


def test_real_photometry_lamp_on_a_route():
    ph = photometry.read(real_file("photometry", "outdoor_roadway_60W_4000K.ies"))
    lamps = il.LampSet([[0.0, 0.0, 8.0]], ph, azimuth_deg=0.0)
    g = il.route_grid([shapely.LineString([(-30, 2), (30, 2)])], 3.0)
    e = il.horizontal_illuminance(lamps, g[["x", "y"]].to_numpy())
    assert e.max() > 10 and e.min() >= 0
    # the maximum sits near the lamp, and illuminance falls off far away
    near = np.hypot(g["x"], g["y"] - 0) < 5
    assert e[near.to_numpy()].mean() > e[~near.to_numpy()].mean()


def test_both_faces_in_one_pass_match_two_separate_calls():
    rng = np.random.default_rng(11)
    n = 12
    lamps = il.LampSet(
        np.column_stack([rng.uniform(0, 60, (n, 2)), rng.uniform(4, 9, n)]),
        [linear_lamp(), asymmetric_lamp()],
        photometry_index=rng.integers(0, 2, n),
        azimuth_deg=rng.uniform(0, 360, n),
        tilt_deg=rng.uniform(-15, 15, n),
    )
    pts = rng.uniform(-10, 70, (400, 2))
    heading = rng.uniform(0, 360, 400)
    obs = il.Obstacles([shapely.box(20, 20, 30, 26), shapely.box(40, 5, 44, 15)], [6.0, np.nan])
    both = il.illuminance_both_faces(lamps, pts, heading, obstacles=obs)
    fwd = il.illuminance(lamps, pts, heading, obstacles=obs)
    back = il.illuminance(lamps, pts, heading + 180.0, obstacles=obs)
    np.testing.assert_allclose(both["E_h"], fwd["E_h"], rtol=1e-12, atol=1e-12)
    for k in ("E_sc", "E_v"):
        np.testing.assert_allclose(both[f"{k}_fwd"], fwd[k], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(both[f"{k}_back"], back[k], rtol=1e-9, atol=1e-12)
    # lamps in reach: the pair builder's count per point, before shadows
    _, pt_i = il.lamp_point_pairs(lamps, pts)
    np.testing.assert_array_equal(both["lamps_in_reach"], np.bincount(pt_i, minlength=len(pts)))


def test_ground_containment_matches_shapely_within():
    rng = np.random.default_rng(5)
    c = rng.uniform(0, 100, (40, 2))
    polys = list(shapely.buffer(shapely.points(c), rng.uniform(1, 8, 40), quad_segs=3))
    polys.append(
        shapely.Polygon(
            [(0, 0), (30, 0), (30, 30), (0, 30)], [[(5, 5), (25, 5), (25, 25), (5, 25)]]
        )
    )
    bases = np.r_[np.where(np.arange(40) % 5 == 0, 2.0, 0.0), 0.0]  # some crowns off the ground
    obs = il.Obstacles(polys, np.full(41, 10.0), bases)
    xy = rng.uniform(-5, 105, (20_000, 2))
    xy[:4] = [(10, 0), (0, 0), (15, 15), (2, 2)]  # on an edge, on a vertex, in the hole, inside
    got = obs.on_ground_containing_xy(xy[:, 0], xy[:, 1])
    ground = np.array(polys, dtype=object)[bases <= 0]
    expected = shapely.within(shapely.points(xy)[:, None], ground[None, :]).any(axis=1)
    np.testing.assert_array_equal(got, expected)
    assert got[:4].tolist() == [False, False, False, True]


@pytest.mark.parametrize(
    "name",
    [
        "outdoor_roadway_60W_4000K.ies",
        "philips_BDP100_townguide_performer.ldt",  # γ steps of 1, 2.5, 5 and 10°
        "ledvance_FL_MAX_LUM_1200W_757_ASYM_50X110.ldt",
        "aec_ITALO1_5P5_S05_3.140-3M.ies",
        "maxwell8_T4_luxeon5050_optic.ies",
    ],
)
def test_kernel_intensity_equals_the_files_bilinear_interpolation(name):
    """The kernels read a uniform refinement of each table; every lamp-to-point direction
    must get the intensity Photometry.intensity interpolates on the file's own grid."""
    ph = photometry.read(real_file("photometry", name))
    h, az, tilt = 6.0, 37.0, 8.0
    lamps = il.LampSet([[0.0, 0.0, h]], ph, azimuth_deg=az, tilt_deg=tilt, maintenance_factor=1)
    rng = np.random.default_rng(11)
    pts = rng.uniform(-30, 30, (4000, 2))
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) < 6 * h - 1e-6]  # within reach
    e = il.horizontal_illuminance(lamps, pts)
    # the same direction, turned into (C, γ) independently with numpy
    d = np.column_stack([pts, np.full(len(pts), -h)])
    a, t = np.radians(az), np.radians(tilt)
    u = d[:, 0] * np.sin(a) + d[:, 1] * np.cos(a)
    v = -d[:, 0] * np.cos(a) + d[:, 1] * np.sin(a)
    b, w = np.cos(t) * v + np.sin(t) * d[:, 2], -np.sin(t) * v + np.cos(t) * d[:, 2]
    c_deg = np.degrees(np.arctan2(b, u))
    gamma = np.degrees(np.arctan2(np.hypot(u, b), -w))
    dist = np.linalg.norm(d, axis=1)
    expected = ph.intensity(c_deg, gamma) * h / dist**3
    np.testing.assert_allclose(e, expected, rtol=1e-9, atol=1e-12 * expected.max())


def test_incommensurate_angle_steps_are_resampled_with_a_warning():
    g = np.array([0.0, 10.0 / 3.0, 20.0 / 3.0, 90.0])  # no common step to 1e-6°
    c = np.array([0.0, 360.0])
    ph = Photometry(c, g, np.vstack([[100.0, 300.0, 120.0, 10.0]] * 2), 1000.0, name="odd")
    lamps = il.LampSet([[0.0, 0.0, 5.0]], ph)
    with pytest.warns(UserWarning, match=r"odd.*resampled.*by up to"):
        e = il.horizontal_illuminance(lamps, [[0.0, 0.0], [2.0, 0.0]])
    # straight down (γ = 0, a node of every grid) is still exact
    assert e[0] == pytest.approx(100.0 * 0.8 / 25.0, rel=1e-12)


def test_buildings_have_one_effective_height_for_light_and_sight():
    """A house tagged with levels but no height is 3 m a storey for the lamps too (it used
    to be an infinitely tall wall for the light and 3 m a storey for the sight lines)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from safespace._classify import building_heights
    from safespace.analyses._visibility import SightIndex
    from safespace.analyses.illuminance import Obstacles

    b = gpd.GeoDataFrame(
        {"height_m": [7.5, np.nan, np.nan, 0.0], "levels": [np.nan, 2.0, np.nan, np.nan]},
        geometry=[shapely.box(i * 20, 0, i * 20 + 10, 10) for i in range(4)],
        crs="EPSG:32631",
    )
    want = [7.5, 6.0, np.inf, np.inf]
    assert list(building_heights(b)) == want
    assert sorted(set(Obstacles(b).heights)) == sorted(set(want))

    class _L:  # the layers SightIndex reads
        buildings = b
        barriers = gpd.GeoDataFrame({"barrier": [], "height_m": []}, geometry=[], crs=b.crs)
        planting = gpd.GeoDataFrame({"natural": [], "height_m": []}, geometry=[], crs=b.crs)

    assert sorted(set(SightIndex.from_layout(_L()).heights)) == sorted(set(want))
