"""Siting new police premises: maximal covering, p-median and p-center, as exact MILPs.

Given a travel-time matrix ``t[j, i]`` from candidate site ``j`` to demand ``i`` (a dwelling),
the time ``e[i]`` from the nearest *existing* premises (kept open), and a number ``k`` of new
sites, choose exactly ``k`` candidates so that

* ``coverage``: the weight of demands within ``threshold_s`` of an open premises is largest
  (Church & ReVelle's maximal covering location problem);
* ``median``: the weighted sum of each demand's time to its nearest open premises is smallest
  (p-median, Hakimi);
* ``center``: the largest such time is smallest (p-center).

A demand that no premises can reach costs ``unreachable_s`` in ``median``/``center`` (default
twice the largest finite time, plus one second) so that it pulls toward being served; a
demand that no candidate and no existing premises reaches is left out of the model and counted
in ``unserved``.

Models (written out here, solved to proven optimality by HiGHS as bundled in
``scipy.optimize.milp``):

* coverage: max Σ w_i y_i; y_i ≤ Σ_{j: t_ji ≤ T} x_j; Σ x_j = k; x binary, 0 ≤ y ≤ 1 — only the
  demands not already covered by existing premises enter.
* median: min Σ w_i e_i + Σ w_i (t_ji − e_i) z_ij; Σ_j z_ij ≤ 1; z_ij ≤ x_j; Σ x_j = k; only the
  pairs with t_ji < e_i exist (a candidate slower than the existing premises is never used).
* center: min D; D ≥ e_i + Σ_j (t_ji − e_i) z_ij; the same assignment constraints.

HiGHS runs with ``mip_rel_gap = 0`` so that the answer is the optimum (tests compare it with
brute force over every k-subset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from safespace.analyses.travel_time import (
    _OFFSET,
    WALK_SPEED_MPS,
    Router,
    _network,
    _premises,
    building_targets,
    homes,
    route_samples,
)
from safespace.errors import InputError

if TYPE_CHECKING:
    from safespace.layout import Layout

OBJECTIVES = ("coverage", "median", "center")

__all__ = [
    "OBJECTIVES",
    "SitingResult",
    "candidate_sites",
    "siting",
    "solve_siting",
    "travel_matrix",
]


# --------------------------------------------------------------------------------------------
# the optimisation kernel
# --------------------------------------------------------------------------------------------


def _milp(c, A, row_lo, row_hi, lb, ub, integer, maximize=False) -> tuple[np.ndarray, float]:
    """Solve a MILP in row form to proven optimality; returns (x, objective).

    HiGHS through ``scipy.optimize.milp``: scipy bundles it, and unlike the ``highspy``
    bindings it prints nothing on stdout (which carries the CLI's summary line).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    A = csr_matrix(A)
    res = milp(
        -np.asarray(c, dtype=float) if maximize else np.asarray(c, dtype=float),
        constraints=[LinearConstraint(A, row_lo, row_hi)] if A.shape[0] else [],
        integrality=np.asarray(integer, dtype=int),
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0.0, "disp": False},
    )
    if res.status != 0 or res.x is None:
        raise InputError(f"siting model could not be solved: {res.message}")
    return res.x, float(np.dot(c, res.x))


def _evaluate(times, existing, chosen, objective, threshold_s, weights, unreachable_s):
    """Objective value of a chosen set, straight from the definitions (demands that nothing
    can reach are left out of median and center)."""
    best = existing.copy()
    if len(chosen):
        best = np.minimum(best, times[list(chosen)].min(axis=0))
    if objective == "coverage":
        return float(weights[best <= threshold_s].sum())
    served = np.isfinite(existing) | np.isfinite(times).any(axis=0)
    cost = np.where(np.isfinite(best), best, unreachable_s)[served]
    if objective == "median":
        return float((weights[served] * cost).sum())
    return float(cost.max()) if len(cost) else 0.0


def solve_siting(
    times: np.ndarray,
    existing: np.ndarray,
    k: int,
    objective: str = "coverage",
    *,
    threshold_s: float | None = None,
    weights: np.ndarray | None = None,
    unreachable_s: float | None = None,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Choose ``k`` candidates optimally.

    Parameters
    ----------
    times
        (C, D) travel time from each candidate to each demand; ``inf`` or NaN = unreachable.
    existing
        (D,) time from the nearest existing premises; ``inf``/NaN when none reaches.
    k
        Number of new premises (1 ≤ k ≤ C).
    objective
        ``"coverage"``, ``"median"`` or ``"center"``.
    threshold_s
        Coverage threshold (needed for ``coverage``).
    weights
        (D,) demand weights (default 1). ``center`` ignores them.
    unreachable_s
        Cost of a demand no open premises reaches (median/center).

    Returns
    -------
    (chosen, value, info)
        Chosen candidate indices (sorted), the objective value (covered weight, weighted total
        time, or worst time, with ``unreachable_s`` for unserved demands) and a dict with
        ``unserved`` (demands no premises or candidate can reach) and ``unreachable_s``.

    Notes
    -----
    A MILP with C binaries and at most C·D assignment variables (only the pairs where a
    candidate beats the existing premises); NP-hard in general, solved exactly by HiGHS'
    branch and cut.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
    t = np.asarray(times, dtype=float)
    t = np.where(np.isnan(t), np.inf, t)
    n_c, n_d = t.shape
    e = np.asarray(existing, dtype=float).reshape(n_d)
    e = np.where(np.isnan(e), np.inf, e)
    w = np.ones(n_d) if weights is None else np.asarray(weights, dtype=float).reshape(n_d)
    if not 1 <= k <= n_c:
        raise InputError(f"k must lie between 1 and the number of candidates ({n_c}), not {k}")
    finite = np.r_[t[np.isfinite(t)], e[np.isfinite(e)]]
    if unreachable_s is None:
        unreachable_s = 2.0 * float(finite.max()) + 1.0 if len(finite) else 1.0
    served = np.isfinite(e) | np.isfinite(t).any(axis=0)
    info = {"unserved": int((~served).sum()), "unreachable_s": float(unreachable_s)}
    if objective == "coverage":
        if threshold_s is None:
            raise ValueError("coverage needs threshold_s")
        base = float(w[e <= threshold_s].sum())
        open_d = np.flatnonzero((e > threshold_s) & (t <= threshold_s).any(axis=0))
        if len(open_d) == 0:
            return np.arange(k), base, info
        cov = t[:, open_d] <= threshold_s  # (C, D')
        # identical coverage columns are one demand with their summed weight
        cols, inv = np.unique(cov.T, axis=0, return_inverse=True)
        wd = np.bincount(np.asarray(inv).ravel(), weights=w[open_d])
        n_y = len(cols)
        yi, xj = np.nonzero(cols)
        rows = np.r_[np.arange(n_y), yi, np.full(n_c, n_y)]
        colidx = np.r_[n_c + np.arange(n_y), xj, np.arange(n_c)]
        vals = np.r_[np.ones(n_y), -np.ones(len(yi)), np.ones(n_c)]
        A = coo_matrix((vals, (rows, colidx)), shape=(n_y + 1, n_c + n_y))
        c = np.r_[np.zeros(n_c), wd]
        x, val = _milp(
            c,
            A,
            np.r_[np.full(n_y, -np.inf), k],
            np.r_[np.zeros(n_y), k],
            np.zeros(n_c + n_y),
            np.ones(n_c + n_y),
            np.r_[np.ones(n_c), np.zeros(n_y)],
            maximize=True,
        )
        chosen = np.flatnonzero(x[:n_c] > 0.5)
        return chosen, _evaluate(t, e, chosen, objective, threshold_s, w, unreachable_s), info
    # median / center: assignment pairs where a candidate beats the existing premises
    keep_d = np.flatnonzero(served)
    tk, ek = t[:, keep_d], np.where(np.isfinite(e[keep_d]), e[keep_d], unreachable_s)
    wk = w[keep_d]
    pj, pi = np.nonzero(tk < ek[None, :])
    gain = tk[pj, pi] - ek[pi]  # negative
    n_z = len(pj)
    n_d2 = len(keep_d)
    center = objective == "center"
    n_var = n_c + n_z + (1 if center else 0)
    zc = n_c + np.arange(n_z)
    # rows 0..n_d2-1: Σ_j z_ij ≤ 1 (one per demand)
    r_link = n_d2 + np.arange(n_z)  # z_ij − x_j ≤ 0
    r_k = n_d2 + n_z
    rows = [pi, r_link, r_link, [r_k] * n_c]
    cols = [zc, zc, pj, np.arange(n_c)]
    vals = [np.ones(n_z), np.ones(n_z), -np.ones(n_z), np.ones(n_c)]
    lo = [np.full(n_d2, -np.inf), np.full(n_z, -np.inf), [k]]
    hi = [np.ones(n_d2), np.zeros(n_z), [k]]
    n_rows = r_k + 1
    if center:
        # e_i + Σ_j gain_ij z_ij − D ≤ 0
        r_c = n_rows + np.arange(n_d2)
        rows += [r_c[pi], r_c]
        cols += [zc, np.full(n_d2, n_var - 1)]
        vals += [gain, -np.ones(n_d2)]
        lo.append(np.full(n_d2, -np.inf))
        hi.append(-ek)
        n_rows += n_d2
        c = np.r_[np.zeros(n_c + n_z), 1.0]
    else:
        c = np.r_[np.zeros(n_c), wk[pi] * gain]
    A = coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_rows, n_var),
    )
    integer = np.r_[np.ones(n_c), np.zeros(n_var - n_c)]
    ub = np.r_[np.ones(n_c + n_z), [np.inf] if center else []]
    x, val = _milp(c, A, np.concatenate(lo), np.concatenate(hi), np.zeros(n_var), ub, integer)
    chosen = np.flatnonzero(x[:n_c] > 0.5)
    # report the exact value of the chosen set, free of the solver's feasibility tolerance
    value = _evaluate(t, e, chosen, objective, threshold_s, w, unreachable_s)
    return chosen, value, info


# --------------------------------------------------------------------------------------------
# layout level
# --------------------------------------------------------------------------------------------


def travel_matrix(
    router: Router,
    candidates: np.ndarray,
    demands: np.ndarray,
    *,
    speed_mps: float = WALK_SPEED_MPS,
    chunk: int = 64,
) -> np.ndarray:
    """Travel time (s) from every candidate point to every demand point (``inf`` unreachable).

    Points are snapped to the nearest edge as in :mod:`safespace.analyses.travel_time`; the
    access legs are walked at ``speed_mps``.

    Notes
    -----
    One split graph, then a Dijkstra per candidate in chunks of ``chunk`` rows:
    O(C · (V log V + E)) time, O(chunk · V) memory.
    """
    cs = router.snap(candidates)
    ds = router.snap(demands)
    leg_c = np.nan_to_num(cs.access_m, nan=0.0)
    o_cost = leg_c if router.weight == "length" else leg_c / speed_mps
    graph, *_rest = router.split_graph(cs, o_cost, ds)
    _, _, _, on, valid, t_node, _, _ = _rest
    out = np.full((len(cs), len(ds)), np.inf)
    t_ok = t_node >= 0
    t_leg = np.nan_to_num(ds.access_m, nan=0.0)
    rows = np.flatnonzero(valid)
    for s in range(0, len(rows), chunk):
        r = rows[s : s + chunk]
        d = dijkstra(graph, directed=True, indices=on[r])
        d = d[:, t_node[t_ok]] - _OFFSET
        block = np.full((len(r), len(ds)), np.inf)
        block[:, t_ok] = d
        out[r] = block
    to_s = 1.0 / speed_mps if router.weight == "length" else 1.0
    return out * to_s + (t_leg / speed_mps)[None, :]


def candidate_sites(
    layout: Layout,
    kind: str = "nodes",
    *,
    graph: Any = None,
    within: shapely.Geometry | None = None,
    max_candidates: int = 200,
    integration_quantile: float = 0.75,
    spacing_m: float | None = 50.0,
    targets: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Generate candidate sites.

    Parameters
    ----------
    kind
        ``"nodes"``: walk-network junctions and ends, and points every ``spacing_m`` along
        its edges (``spacing_m=None``: junctions only); ``"frontages"``: the tagged entrances
        (else outline points) of buildings beside the best-integrated segments (angular
        integration at 800 m in the top ``1 − integration_quantile``; needs
        :mod:`safespace.analyses.space_syntax`, else falls back to nodes, with
        ``source = "nodes (no space syntax)"``); ``"both"``.
    within
        Keep candidates inside this polygon (e.g. the site).
    max_candidates
        Thin spatially (every n-th along a grid-cell order) when there are more.
    targets
        :func:`~safespace.analyses.travel_time.building_targets` on ``graph`` (a
        ``"length"`` router), when the caller has them already; computed here otherwise.

    Returns
    -------
    geopandas.GeoDataFrame
        ``candidate`` id, ``source``; point geometry.
    """
    g = graph if graph is not None else _network(layout, "walk", None)
    parts = []
    if kind in ("nodes", "both"):
        xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)], dtype=float)
        parts.append(
            pd.DataFrame(
                {"source": "node", "geometry": shapely.points(xy.reshape(-1, 2)) if len(xy) else []}
            )
        )
        if spacing_m:
            # and points along the edges, so that long simplified edges get candidates too
            lines = gpd.GeoDataFrame(
                geometry=[d["geometry"] for _, _, d in g.edges(data=True) if "geometry" in d],
                crs=layout.crs,
            )
            along = route_samples(lines, spacing_m)
            parts.append(
                pd.DataFrame(
                    {"source": "street", "geometry": np.asarray(along.geometry.values, object)}
                )
            )
    if kind in ("frontages", "both"):
        pts = _frontage_points(layout, g, integration_quantile, targets)
        if pts is None:
            if kind == "frontages":
                xy = np.array([(d["x"], d["y"]) for _, d in g.nodes(data=True)], dtype=float)
                parts.append(
                    pd.DataFrame(
                        {
                            "source": "nodes (no space syntax)",
                            "geometry": shapely.points(xy.reshape(-1, 2)) if len(xy) else [],
                        }
                    )
                )
        else:
            parts.append(pd.DataFrame({"source": "frontage", "geometry": pts}))
    if kind not in ("nodes", "frontages", "both"):
        raise ValueError(f"kind must be nodes, frontages or both, not {kind!r}")
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"source": [], "geometry": []})
    )
    geoms = np.asarray(frame["geometry"].to_numpy(), dtype=object)
    keep = np.ones(len(frame), dtype=bool)
    if within is not None and len(frame):
        keep = np.asarray(shapely.covers(within, geoms), dtype=bool)
    frame = frame[keep].reset_index(drop=True)
    if len(frame) > max_candidates:
        xy = shapely.get_coordinates(np.asarray(frame["geometry"].to_numpy(), dtype=object))
        cell = max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1])) / np.sqrt(max_candidates) or 1.0
        order = np.lexsort((xy[:, 0], np.floor((xy[:, 1] - xy[:, 1].min()) / cell)))
        pick = order[np.linspace(0, len(order) - 1, max_candidates).round().astype(int)]
        frame = frame.iloc[np.sort(pick)].reset_index(drop=True)
    frame["candidate"] = [f"candidate/{i}" for i in range(len(frame))]
    return gpd.GeoDataFrame(
        frame[["candidate", "source", "geometry"]], geometry="geometry", crs=layout.crs
    )


def _frontage_points(layout: Layout, g, quantile, targets=None):
    try:
        from safespace.analyses.space_syntax import segment_closeness, segment_map
    except ImportError:
        return None
    if g.number_of_edges() == 0 or layout.buildings.empty:
        return None
    # angular integration at 800 m (angular_segment_analysis's integration_800, computed
    # without the reach and choice nothing here reads)
    sm = segment_map(g)
    nc, td = segment_closeness(sm, 800.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        integ = np.where(td > 0, nc**2 / td, np.nan)
    if not np.isfinite(integ).any():
        return None
    good = sm.geometry[np.nan_to_num(integ, nan=-1) >= np.nanquantile(integ, quantile)]
    bt = targets if targets is not None else building_targets(layout, Router(g, "length"))
    pts = np.asarray(bt["point"].to_numpy(), dtype=object)
    tree = shapely.STRtree(good)
    hit, _ = tree.query(pts, predicate="dwithin", distance=15.0)
    return pts[np.unique(hit)]


@dataclass
class SitingResult:
    """Chosen sites and what they gain.

    Attributes
    ----------
    chosen
        The chosen candidates (``candidate``, ``source``, ``rank``; point geometry).
    objective, value, before
        The objective, its value with the new sites and with the existing premises only.
    covered_before, covered_after
        Demands within ``threshold_s`` before and after (all objectives).
    demands, unserved
        Number of demands, and those no premises or candidate can reach.
    candidates
        Every candidate considered.
    """

    chosen: gpd.GeoDataFrame
    objective: str
    value: float
    before: float
    covered_before: int
    covered_after: int
    demands: int
    unserved: int
    threshold_s: float
    candidates: gpd.GeoDataFrame = field(repr=False)


def siting(
    layout: Layout,
    k: int = 1,
    objective: str = "coverage",
    *,
    mode: str = "walk",
    threshold_s: float = 600.0,
    candidates: Any = "nodes",
    max_candidates: int = 200,
    within: shapely.Geometry | None = None,
    premises: Any = None,
    extra_police: Any = None,
    walk_speed_mps: float = WALK_SPEED_MPS,
    graph: Any = None,
) -> SitingResult:
    """Choose ``k`` new premises, keeping the existing ones open.

    Parameters
    ----------
    layout
        A :class:`safespace.Layout`. Demand: its homes (buildings with residential evidence,
        :func:`safespace.analyses.travel_time.homes`), each at its entrance (see
        ``police_travel_times``), weight 1.
    k
        Number of new premises.
    objective
        ``"coverage"`` (maximal covering at ``threshold_s``), ``"median"``, ``"center"``.
    mode
        ``"walk"`` or ``"drive"`` (travel from the premises).
    threshold_s
        Coverage threshold; also used to report ``covered_before``/``covered_after``.
    candidates
        ``"nodes"``, ``"frontages"``, ``"both"`` (see :func:`candidate_sites`), or points
        (GeoSeries/GeoDataFrame/array) in the layout's CRS.
    max_candidates
        Thinning limit for generated candidates.
    within
        Generated candidates only inside this polygon (e.g. the site).
    premises, extra_police, walk_speed_mps, graph
        As for :func:`safespace.analyses.travel_time.access_field`.

    Returns
    -------
    SitingResult

    Notes
    -----
    Travel matrix O(C · (V log V + E)), then the exact MILP of :func:`solve_siting`.
    """
    g = _network(layout, mode, graph)
    router = Router(g, "length" if mode == "walk" else "travel_time")
    targets = building_targets(layout, router)
    if isinstance(candidates, str):
        cand = candidate_sites(
            layout,
            candidates,
            graph=g if mode == "walk" else None,
            within=within,
            max_candidates=max_candidates,
            # the frontages' building points are these targets on the same walk network
            targets=targets if mode == "walk" else None,
        )
    else:
        geo = (
            candidates.geometry.values
            if hasattr(candidates, "geometry")
            else shapely.points(np.asarray(candidates, dtype=float).reshape(-1, 2))
        )
        cand = gpd.GeoDataFrame(
            {"candidate": [f"candidate/{i}" for i in range(len(geo))], "source": "given"},
            geometry=list(geo),
            crs=layout.crs,
        )
    if len(cand) == 0:
        raise InputError("no candidate sites for siting (none generated inside the site?)")
    dwell = homes(layout)
    bt = targets
    bt = bt[dwell[bt["building"].to_numpy()]] if len(bt) else bt
    prem = _premises(layout, mode, premises, extra_police)
    pts = np.r_[
        np.asarray(cand.geometry.values, dtype=object),
        np.asarray(prem.geometry.values, dtype=object),
    ]
    tm = travel_matrix(
        router, pts, np.asarray(bt["point"].to_numpy(), dtype=object), speed_mps=walk_speed_mps
    )
    # per building: the best of its entrances
    b_of = bt["building"].to_numpy()
    ub, inv = np.unique(b_of, return_inverse=True)
    per_b = np.full((tm.shape[0], len(ub)), np.inf)
    np.minimum.at(per_b.T, inv, tm.T)
    times = per_b[: len(cand)]
    existing = per_b[len(cand) :].min(axis=0) if len(prem) else np.full(len(ub), np.inf)
    k = int(k)
    chosen, value, info = solve_siting(
        times, existing, min(k, len(cand)), objective, threshold_s=threshold_s
    )
    before = _evaluate(
        times, existing, [], objective, threshold_s, np.ones(len(ub)), info["unreachable_s"]
    )
    after_best = np.minimum(existing, times[chosen].min(axis=0)) if len(chosen) else existing
    out = cand.iloc[chosen].copy()
    out["rank"] = np.arange(1, len(out) + 1)
    return SitingResult(
        chosen=out.reset_index(drop=True),
        objective=objective,
        value=float(value),
        before=float(before),
        covered_before=int((existing <= threshold_s).sum()),
        covered_after=int((after_best <= threshold_s).sum()),
        demands=len(ub),
        unserved=info["unserved"],
        threshold_s=float(threshold_s),
        candidates=cand,
    )
