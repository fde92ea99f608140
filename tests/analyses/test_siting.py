"""Siting: the MILPs equal brute force over every k-subset; layout-level siting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import safespace
from safespace.analyses.siting import candidate_sites, siting, solve_siting, travel_matrix
from safespace.analyses.travel_time import access_field
from safespace.errors import InputError
from tests.conftest import FIXTURES


def value_of(combo, times, existing, objective, threshold, weights, penalty):
    """The objective of one set of new sites, straight from the definitions."""
    near = np.minimum(existing, times[list(combo)].min(axis=0))
    if objective == "coverage":
        return weights[near <= threshold].sum()
    # demands nothing can reach are left out; the rest cost the penalty while unserved
    reach = np.isfinite(times).any(axis=0) | np.isfinite(existing)
    cost = np.where(np.isfinite(near), near, penalty)[reach]
    if objective == "median":
        return (weights[reach] * cost).sum()
    return cost.max() if len(cost) else 0.0


def brute(times, existing, k, objective, threshold, weights, penalty):
    """Best value over every k-subset."""
    values = [
        value_of(c, times, existing, objective, threshold, weights, penalty)
        for c in itertools.combinations(range(times.shape[0]), k)
    ]
    return max(values) if objective == "coverage" else min(values)


@st.composite
def instances(draw):
    n_c = draw(st.integers(1, 6))
    n_d = draw(st.integers(1, 9))
    k = draw(st.integers(1, n_c))
    vals = st.one_of(st.integers(0, 30).map(float), st.just(math.inf))
    times = np.array(draw(st.lists(vals, min_size=n_c * n_d, max_size=n_c * n_d))).reshape(n_c, n_d)
    existing = np.array(draw(st.lists(vals, min_size=n_d, max_size=n_d)))
    weights = np.array(draw(st.lists(st.integers(1, 5), min_size=n_d, max_size=n_d)), float)
    threshold = float(draw(st.integers(0, 30)))
    return times, existing, k, weights, threshold


@settings(max_examples=40, deadline=None)
@given(inst=instances(), objective=st.sampled_from(["coverage", "median", "center"]))
def test_milp_equals_brute_force(inst, objective):
    times, existing, k, weights, threshold = inst
    w = weights if objective != "center" else np.ones(len(weights))
    chosen, value, info = solve_siting(
        times, existing, k, objective, threshold_s=threshold, weights=w, unreachable_s=100.0
    )
    assert len(chosen) == k
    expect = brute(times, existing, k, objective, threshold, w, 100.0)
    assert value == pytest.approx(expect, abs=1e-6)
    # the chosen set itself attains the value
    again = value_of(chosen, times, existing, objective, threshold, w, 100.0)
    assert again == pytest.approx(expect, abs=1e-6)
    assert info["unserved"] == int((~(np.isfinite(times).any(0) | np.isfinite(existing))).sum())


def test_bad_k_is_a_clear_error():
    with pytest.raises(InputError, match="k must"):
        solve_siting(np.zeros((2, 3)), np.zeros(3), 3, "median")


def test_travel_matrix_matches_router_nearest():
    lay = safespace.load(FIXTURES / "demo_estate.geojson")
    f = access_field(lay, "walk")
    r = f.router
    cands = list(lay.police["access_point"].values) + [shapely.Point(303300, 5787800)]
    demand = list(f.buildings["entrance"].values)
    tm = travel_matrix(
        r, np.array(cands, dtype=object), np.array(demand, dtype=object), speed_mps=f.speed_mps
    )
    np.testing.assert_allclose(tm[0], f.buildings["time_s"].to_numpy(), atol=1e-6)
    both = r.nearest(r.snap(cands), r.snap(demand), speed_mps=f.speed_mps)["time_s"]
    np.testing.assert_allclose(tm.min(axis=0), both, atol=1e-6)


def test_demo_siting_without_premises_covers_more():
    lay = safespace.load(FIXTURES / "demo_estate.geojson")
    # pretend there is no police office: every home is unserved until a site is chosen
    res = siting(lay, 1, "coverage", threshold_s=60.0, premises="phones", within=lay.site_polygon)
    assert res.covered_after >= res.covered_before
    assert res.value == res.covered_after
    assert len(res.chosen) == 1 and lay.site_polygon.covers(res.chosen.geometry.iloc[0])
    med = siting(lay, 2, "median", within=lay.site_polygon)
    assert med.value <= med.before + 1e-9
    cands = candidate_sites(lay, "nodes", max_candidates=5, spacing_m=None)
    assert len(cands) == 5
