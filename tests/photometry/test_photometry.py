"""Photometry readers and model: synthetic fixtures with known tables, and the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safespace import photometry
from safespace.errors import InputError
from safespace.photometry import Photometry, generic_streetlight
from tests.conftest import real_file

DATA = Path(__file__).resolve().parent / "data"

# The functions the synthetic fixtures were tabulated from (values rounded to 6 decimals).
F = {
    0: lambda c, g: (100 + g) * (1 + 0.3 * np.sin(np.radians(c)) + 0.2 * np.cos(np.radians(c))),
    1: lambda c, g: (100 + g) * np.ones_like(c),
    2: lambda c, g: (100 + g) * (1 + 0.3 * np.cos(np.radians(c))),
    3: lambda c, g: (100 + g) * (1 + 0.3 * np.sin(np.radians(c))),
    4: lambda c, g: (100 + g) * (1 + 0.3 * np.cos(np.radians(2 * c))),
}


def _full_table_matches(ph: Photometry, f, scale: float) -> None:
    c, g = np.meshgrid(ph.c_angles, ph.gamma_angles, indexing="ij")
    np.testing.assert_allclose(ph.candela, scale * f(c, g), rtol=2e-8, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "isym"),
    [
        ("isym0_comma.ldt", 0),
        ("isym1.ldt", 1),
        ("isym2.ldt", 2),
        ("isym3_nonequidistant_2sets.ldt", 3),
        ("isym4.ldt", 4),
    ],
)
def test_eulumdat_every_symmetry_expands_to_the_full_distribution(name, isym):
    ph = photometry.read(DATA / name)
    assert ph.meta["isym"] == isym
    assert ph.c_angles[0] == 0 and ph.c_angles[-1] == 360
    if isym != 1:
        # all 12 planes of the file's C list (every 30 degrees) plus the wrap column
        np.testing.assert_allclose(ph.c_angles, np.arange(0, 361, 30))
    # cd/klm in the file, converted to cd for the first lamp set's 2000 lm
    _full_table_matches(ph, F[isym], 2.0)
    assert ph.rated_flux == 2000.0
    # Between planes and angles the interpolation is bilinear: check one off-grid point.
    c, g = 45.0, 20.0
    i = np.searchsorted(ph.c_angles, c) - 1
    j = np.searchsorted(ph.gamma_angles, g) - 1
    tc = (c - ph.c_angles[i]) / (ph.c_angles[i + 1] - ph.c_angles[i])
    tg = (g - ph.gamma_angles[j]) / (ph.gamma_angles[j + 1] - ph.gamma_angles[j])
    t = ph.candela
    expected = (1 - tc) * ((1 - tg) * t[i, j] + tg * t[i, j + 1]) + tc * (
        (1 - tg) * t[i + 1, j] + tg * t[i + 1, j + 1]
    )
    assert ph.intensity(c, g) == pytest.approx(expected, rel=1e-12)


def test_eulumdat_non_equidistant_gammas_and_lamp_sets_are_kept():
    ph = photometry.read(DATA / "isym3_nonequidistant_2sets.ldt")
    np.testing.assert_array_equal(ph.gamma_angles, [0, 5, 15, 30, 50, 75, 90])
    sets = ph.meta["lamp_sets"]
    assert [s["flux"] for s in sets] == [2000.0, 2500.0]
    assert [s["type"] for s in sets] == ["LED0", "LED1"]


def test_eulumdat_comma_decimals_and_blank_fields():
    ph = photometry.read(DATA / "isym0_comma.ldt")
    assert np.isnan(ph.meta["dff_percent"])  # blank DFF
    assert ph.meta["lorl_percent"] == 80.0
    assert ph.meta["lamp_sets"][0]["watts"] == 20.0


@pytest.mark.parametrize("name", ["bad_isym.ldt", "truncated.ldt"])
def test_eulumdat_errors_name_the_file(name):
    with pytest.raises(InputError) as err:
        photometry.read(DATA / name)
    assert name in str(err.value)


@pytest.mark.parametrize(
    ("name", "sym", "scale", "version", "rated"),
    [
        ("lm63_1986.ies", 1, 1.0, "IES LM-63-1986", 1000.0),
        # multiplier 2 × ballast factor 0.9 × ballast-lamp photometric factor 1.1 (1995 only);
        # the file's values were divided by the multiplier only.
        ("lm63_1995_quadrant.ies", 4, 0.9 * 1.1, "IES LM-63-1995", 1000.0),
        ("lm63_2002_bilateral.ies", 2, 1.0, "IES LM-63-2002", 1000.0),
        ("lm63_2002_c90.ies", 3, 1.0, "IES LM-63-2002", 1000.0),
        # 2019: the 1.1 "file generation type" is not a factor; absolute photometry
        ("lm63_2019_absolute.ies", 0, 1.0, "IES LM-63-2019", None),
    ],
)
def test_ies_versions_and_horizontal_symmetries(name, sym, scale, version, rated):
    ph = photometry.read(DATA / name)
    assert ph.meta["format"] == version
    assert ph.rated_flux == rated
    assert ph.c_angles[0] == 0 and ph.c_angles[-1] == 360
    _full_table_matches(ph, F[sym], scale)


def test_ies_keywords_and_continuation():
    ph = photometry.read(DATA / "lm63_2002_bilateral.ies")
    assert ph.name == "Bilateral 2002"
    assert ph.meta["lamps"] == 2 and ph.meta["lumens_per_lamp"] == 500


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("type_b.ies", "type B"),
        ("type_a.ies", "type A"),
        ("tilt_include.ies", "TILT=INCLUDE"),
        ("tilt_file.ies", "TILT=lamp.tlt"),
    ],
)
def test_ies_unsupported_features_are_refused_clearly(name, words):
    with pytest.raises(InputError) as err:
        photometry.read(DATA / name)
    assert words in str(err.value) and name in str(err.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        photometry.read(tmp_path / "nope.ldt")


def _table(c, g, f, rated=1000.0):
    cc, gg = np.meshgrid(c, g, indexing="ij")
    return Photometry(c, g, f(cc, gg), rated_flux=rated, name="t")


def test_flux_of_isotropic_source_is_4_pi_i():
    ph = _table(np.array([0.0, 360.0]), np.arange(0.0, 181.0, 10.0), lambda c, g: 0 * g + 100.0)
    assert ph.flux == pytest.approx(4 * np.pi * 100.0, rel=1e-12)
    assert ph.downward_flux == pytest.approx(2 * np.pi * 100.0, rel=1e-12)


def test_flux_integration_is_exact_for_the_linear_interpolant():
    # I = a + b·γ (γ in radians) is reproduced exactly by linear interpolation, so the
    # integral must equal the closed form 2π ∫ (a + bγ) sinγ dγ = 2π (2a + bπ).
    a, b = 50.0, 30.0
    g = np.array([0.0, 7.0, 20.0, 33.0, 90.0, 120.0, 180.0])  # uneven on purpose
    ph = _table(np.array([0.0, 90.0, 360.0]), g, lambda c, gg: a + b * np.radians(gg))
    assert ph.flux == pytest.approx(2 * np.pi * (2 * a + b * np.pi), rel=1e-12)
    # downward half: 2π ∫_0^{π/2} (a + bγ) sinγ dγ = 2π (a + b)
    assert ph.downward_flux == pytest.approx(2 * np.pi * (a + b), rel=1e-12)


def test_intensity_wraps_in_c_and_is_zero_outside_gamma_span():
    ph = _table(
        np.arange(0.0, 361.0, 90.0),
        np.array([0.0, 45.0, 90.0]),
        lambda c, g: 10 + np.where(c == 360, 0, c) / 10 + g,
    )
    assert ph.intensity(315.0, 0.0) == pytest.approx((37 + 10) / 2)  # between C270 and C360=C0
    assert ph.intensity(-45.0, 0.0) == pytest.approx(ph.intensity(315.0, 0.0))
    assert ph.intensity(720.0 + 90.0, 45.0) == pytest.approx(10 + 9 + 45)
    assert ph.intensity(0.0, 120.0) == 0.0
    out = ph.intensity(np.array([[0.0], [90.0]]), np.array([0.0, 45.0, 90.0]))
    assert out.shape == (2, 3)


def test_generic_streetlight_is_normalised_and_emits_no_upward_light():
    ph = generic_streetlight(4200.0)
    assert ph.flux == pytest.approx(4200.0, rel=1e-12)
    assert ph.rated_flux == 4200.0
    assert ph.downward_flux == pytest.approx(ph.flux, rel=1e-12)
    assert np.all(ph.intensity(np.arange(0, 360, 7.0)[:, None], np.arange(80, 181, 5.0)) == 0)
    # batwing: stronger at 55° than straight down, along the road more than across it
    assert ph.intensity(0.0, 55.0) > 2 * ph.intensity(0.0, 0.0)
    assert ph.intensity(0.0, 55.0) > ph.intensity(90.0, 55.0)
    # symmetric about both the C0-C180 and C90-C270 planes
    c = np.arange(0.0, 360.0, 5.0)
    np.testing.assert_allclose(ph.intensity(c, 40.0), ph.intensity(360 - c, 40.0))
    np.testing.assert_allclose(ph.intensity(c, 40.0), ph.intensity(180 - c, 40.0))
    with pytest.raises(ValueError):
        generic_streetlight(0.0)


# -- the five real files ------------------------------------------------------------------
REAL = {
    # file: (expected integrated lm, tolerance, description of the expectation)
    "philips_BDP100_townguide_performer.ldt": ("lorl", 0.01),
    "ledvance_FL_MAX_LUM_1200W_757_ASYM_50X110.ldt": ("lorl", 0.01),
    "outdoor_roadway_60W_4000K.ies": ("rated", 1e-3),
    "maxwell8_T4_luxeon5050_optic.ies": ("rated", 1e-3),
    "aec_ITALO1_5P5_S05_3.140-3M.ies": (10579.0, 1e-3),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file_flux_matches_its_header(name):
    ph = photometry.read(real_file("photometry", name))
    want, tol = REAL[name]
    if want == "lorl":
        # EULUMDAT: luminaire flux = LORL × lamp flux; LORL is rounded in the header
        want = ph.meta["lorl_percent"] / 100 * ph.rated_flux
    elif want == "rated":
        want = ph.rated_flux
    assert ph.flux == pytest.approx(want, rel=tol)
    assert 0 < ph.downward_flux <= ph.flux * (1 + 1e-12)


def test_real_files_known_header_facts():
    ph = photometry.read(real_file("photometry", "philips_BDP100_townguide_performer.ldt"))
    assert ph.meta["isym"] == 3 and ph.gamma_angles.size == 44
    assert ph.rated_flux == 9408.0  # first of the two lamp sets
    assert ph.peak_intensity == pytest.approx(270.0 * 9.408, rel=1e-9)
    ies = photometry.read(real_file("photometry", "aec_ITALO1_5P5_S05_3.140-3M.ies"))
    assert ies.rated_flux is None
    assert ies.peak_intensity == pytest.approx(5613.8, abs=0.05)
    road = photometry.read(real_file("photometry", "outdoor_roadway_60W_4000K.ies"))
    assert road.downward_flux == pytest.approx(9103, rel=1e-3)
