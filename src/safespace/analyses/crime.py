"""Micro-place analysis of recorded crime: incidents on street segments and map points.

Units
    *Street segments* are the edges of the walk network (:func:`walk_network`: junction to
    junction). Each incident is snapped to the nearest segment with the travel-time edge
    snapping (:class:`safespace.analyses.travel_time.Router`); incidents farther than
    ``max_distance_m`` from every segment stay unsnapped (``edge = -1``) and are counted
    apart. Where the data has been moved to anonymous *map points* (data.police.uk moves
    every crime to the nearest of a set of points with at least eight addresses nearby),
    the points themselves are the micro-places (:func:`map_point_counts`).

Concentration
    Per unit, the counts give the Lorenz curve, the share of units holding 50% and 25% of
    the incidents and the Gini coefficient. The raw Gini overstates concentration when
    incidents are sparse: with fewer incidents than units some units must hold none.
    :func:`concentration` reports (a) the *generalized* Gini of Bernasco & Steenbeek (2017,
    J Quant Criminol 33:451–467), which measures the observed Lorenz curve against the
    curve of maximal equality given the data (``N`` incidents on ``n`` units: every unit
    ``floor(N/n)`` or one more), and (b) a *Poisson-adjusted* Gini: the same rescaling
    against the Gini expected when the ``N`` incidents fall at random on ``n`` equally
    likely units (multinomial, the Poisson null; Mohler et al. 2019, J Quant Criminol
    35:747–765 show the count Gini is biased upward under this noise). Both are 0 for
    concentration no greater than the respective baseline and 1 for all incidents in one
    unit.

Hot spots
    A segment is a *hot spot* when its count exceeds its length-proportional share of the
    incidents on the network (one-sided Poisson test) at the false discovery rate, with at
    least ``min_count`` incidents; it lies in a *cluster* when its local Getis–Ord Gi*
    (Getis & Ord 1992; Ord & Getis 1995) is significant. Gi* is computed with binary
    *network contiguity* weights (segments sharing a junction, and the segment itself) for
    segments, or a distance band for map points. Gi* was chosen over a network kernel
    density because it gives every unit a z-score and a p-value directly (a network KDE
    needs a bandwidth and a simulation for significance), its weights follow the network
    rather than crossing blocks, and it is the measure a crime analyst can reproduce with
    PySAL ``esda.G_Local(star=True, transform="B")`` (``benchmarks/crime.py`` compares).
    Significance is one-sided (high values) with the Benjamini–Hochberg false discovery
    rate over all units, so a map of many segments does not light up by chance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.special import ndtr

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = [
    "Concentration",
    "concentration",
    "crime_by_area",
    "gi_star",
    "incident_hot_spots",
    "lorenz_curve",
    "map_point_counts",
    "segment_crime",
    "snap_incidents",
]


def _incidents(layout: Layout | None, incidents: Any) -> gpd.GeoDataFrame:
    if incidents is not None:
        if isinstance(incidents, gpd.GeoDataFrame):
            if layout is not None and incidents.crs is not None and layout.crs is not None:
                return incidents.to_crs(layout.crs) if incidents.crs != layout.crs else incidents
            return incidents
        from safespace.io.incidents import incidents_layer

        return incidents_layer(incidents, layout.crs)
    frame = getattr(layout, "incidents", None)
    if frame is None:
        from safespace.io.incidents import empty_incidents

        return empty_incidents(layout.crs if layout is not None else None)
    return frame


# --------------------------------------------------------------------------- snapping


def snap_incidents(
    layout: Layout,
    *,
    incidents: Any = None,
    graph: Any = None,
    max_distance_m: float | None = 50.0,
) -> pd.DataFrame:
    """Snap each incident to the nearest street segment of the walk network.

    Parameters
    ----------
    layout
        The layout (its walk network and, unless ``incidents`` is given, its incidents).
    incidents
        Incidents to snap instead of ``layout.incidents`` (a GeoDataFrame or a path).
    graph
        A walk network to use instead of :func:`walk_network` of the layout.
    max_distance_m
        Incidents farther than this from every segment stay unsnapped (None: no limit).

    Returns
    -------
    pandas.DataFrame
        One row per incident, in its order: ``edge`` (the segment's index in the network's
        edge order, as in :func:`segment_crime`; -1 unsnapped), ``distance_m`` (to the
        segment; NaN unsnapped), ``frac`` (0–1 along the segment from its ``u`` end).

    Notes
    -----
    The travel-time code's uniform-grid ring search over the network's straight pieces:
    about O(P · k) for P incidents and k pieces in the cells near each, plus O(S) to build
    the grid over S pieces. Ties (a point equidistant from two pieces) go to shapely's
    ``STRtree.query_nearest`` choice.
    """
    from safespace.analyses.travel_time import Router

    frame = _incidents(layout, incidents)
    g = graph if graph is not None else _walk(layout)
    router = Router(g)
    snap = router.snap(frame.geometry.values)
    edge = snap.edge.copy()
    dist = snap.access_m.copy()
    if max_distance_m is not None:
        far = (edge >= 0) & (dist > float(max_distance_m))
        edge[far] = -1
    dist[edge < 0] = np.nan
    return pd.DataFrame(
        {"edge": edge, "distance_m": dist, "frac": np.where(edge >= 0, snap.frac, np.nan)},
        index=frame.index,
    )


def _walk(layout: Layout):
    from safespace.analyses.network import walk_network

    return walk_network(layout)


def _edge_frame(g: Any, crs: Any) -> gpd.GeoDataFrame:
    """The network's edges in the Router's order (``graph.edges``), with their geometry."""
    rows = []
    for u, v, d in g.edges(data=True):
        geom = d.get("geometry")
        if geom is None:
            a, b = g.nodes[u], g.nodes[v]
            geom = shapely.linestrings([(a["x"], a["y"]), (b["x"], b["y"])])
        fid = d.get("fid")
        rows.append(
            {
                "u": u,
                "v": v,
                "fid": ",".join(map(str, fid)) if isinstance(fid, tuple | list) else fid,
                "highway": d.get("highway"),
                "length_m": float(d.get("length", shapely.length(geom))),
                "geometry": geom,
            }
        )
    if not rows:
        return gpd.GeoDataFrame(
            {"u": [], "v": [], "fid": [], "highway": [], "length_m": []}, geometry=[], crs=crs
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def segment_crime(
    layout: Layout,
    *,
    incidents: Any = None,
    graph: Any = None,
    max_distance_m: float | None = 50.0,
    per_m: float = 100.0,
    hot_spots: bool = True,
    alpha: float = 0.05,
    min_count: int = 3,
) -> gpd.GeoDataFrame:
    """Incidents per street segment: counts, rates per 100 m, categories and Gi* hot spots.

    Parameters
    ----------
    layout
        The layout; its walk network and its ``incidents`` layer.
    incidents, graph, max_distance_m
        As for :func:`snap_incidents`.
    per_m
        The length the rate is given per (100 m).
    hot_spots
        Compute the hot-spot tests: the segment's own excess and Gi* (see Returns).
    alpha
        The false discovery rate of both flags (Benjamini–Hochberg over all segments).
    min_count
        A segment with fewer incidents is never a hot spot (one incident on a 5 m piece is
        not a place).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per walk-network edge: ``edge`` (index), ``u``, ``v``, ``fid`` (the ways it
        follows), ``highway``, ``length_m``, ``count``, ``rate_per_100m`` (count per
        ``per_m`` metres; NaN for a segment shorter than 1 m), ``by_category`` (dict),
        and with ``hot_spots``: ``expected`` (the count a length-proportional spread of the
        snapped incidents gives it), ``excess_p`` (one-sided Poisson ``P(X ≥ count)``),
        ``hot_spot`` (the segment itself: ``excess_p`` significant at FDR ``alpha`` and at
        least ``min_count`` incidents), ``gi_z``, ``gi_p`` (local Gi*, one-sided) and
        ``cluster`` (Gi* significant at FDR ``alpha``, z > 0: the segment and its
        neighbours together). ``attrs["unsnapped"]`` counts the incidents left unsnapped.

    Notes
    -----
    Snapping as :func:`snap_incidents`; counting O(P); the excess test O(E); the weights
    O(E + Σ d²) and Gi* O(E + W) for W weight entries.

    Two tests, because crime concentrates at single segments whose neighbours are often
    quiet (Weisburd 2015; Groff, Weisburd & Yang 2010): Gi* is a *cluster* statistic and
    does not flag one busy segment among quiet ones, so the segment's own excess over a
    length-proportional share (Poisson) is the hot-spot test, and Gi* says whether it lies in
    a cluster.
    """
    frame = _incidents(layout, incidents)
    g = graph if graph is not None else _walk(layout)
    edges = _edge_frame(g, getattr(layout, "crs", None))
    snap = snap_incidents(layout, incidents=frame, graph=g, max_distance_m=max_distance_m)
    e = snap["edge"].to_numpy()
    ok = e >= 0
    n = len(edges)
    counts = np.bincount(e[ok], minlength=n) if n else np.zeros(0, np.int64)
    cats = frame["category"].to_numpy(dtype=object)[ok] if len(frame) else np.zeros(0, object)
    by_cat: list[dict[str, int]] = [{} for _ in range(n)]
    if ok.any():
        tab = pd.DataFrame({"e": e[ok], "c": cats}).value_counts().sort_index()
        for (ei, c), k in tab.items():
            by_cat[int(ei)][str(c)] = int(k)
    length = edges["length_m"].to_numpy(float) if n else np.zeros(0)
    out = edges.assign(
        edge=np.arange(n),
        count=counts.astype(np.int64),
        rate_per_100m=np.where(length >= 1.0, counts * per_m / np.maximum(length, 1e-9), np.nan),
        by_category=by_cat,
    )
    if hot_spots:
        from scipy.stats import poisson

        total_len = float(length.sum())
        lam = counts.sum() * length / total_len if total_len > 0 else np.zeros(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            ep = np.where(lam > 0, poisson.sf(counts - 1, lam), np.where(counts > 0, 0.0, 1.0))
        out["expected"] = lam
        out["excess_p"] = ep
        out["hot_spot"] = fdr_mask(ep, alpha) & (counts >= max(int(min_count), 1))
        z, p = gi_star(counts.astype(float), network_weights(edges))
        out["gi_z"], out["gi_p"] = z, p
        out["cluster"] = fdr_mask(p, alpha) & (z > 0)
    out = out[["edge", *[c for c in out.columns if c != "edge"]]]
    out.attrs = {"unsnapped": int((~ok).sum()), "snapped": int(ok.sum())}
    return out


# --------------------------------------------------------------------------- map points


def map_point_counts(incidents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Incidents grouped by map point (identical coordinates): the micro-places of data
    whose locations were moved to anonymous points (data.police.uk).

    Parameters
    ----------
    incidents
        Located incidents (``category``; ``location`` and ``month`` when present).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per distinct point, most incidents first (ties by coordinates): ``count``,
        ``location`` (the point's name, the first given), ``by_category`` (dict), geometry.

    Notes
    -----
    One sort of the coordinates: O(P log P).
    """
    if len(incidents) == 0:
        return gpd.GeoDataFrame(
            {"count": [], "location": [], "by_category": []}, geometry=[], crs=incidents.crs
        )
    xy = shapely.get_coordinates(incidents.geometry.values)
    uniq, inv, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    loc = (
        incidents["location"].to_numpy(dtype=object)
        if "location" in incidents
        else np.full(len(incidents), None, dtype=object)
    )
    first = np.full(len(uniq), -1, dtype=np.int64)
    order = np.arange(len(inv))[::-1]
    first[inv[order]] = order  # the first incident of each point
    tab = pd.DataFrame({"p": inv, "c": incidents["category"].to_numpy(dtype=object)})
    by_cat: list[dict[str, int]] = [{} for _ in range(len(uniq))]
    for (pi, c), k in tab.value_counts().sort_index().items():
        by_cat[int(pi)][str(c)] = int(k)
    out = gpd.GeoDataFrame(
        {"count": counts.astype(np.int64), "location": loc[first], "by_category": by_cat},
        geometry=shapely.points(uniq),
        crs=incidents.crs,
    )
    rank = np.lexsort((uniq[:, 1], uniq[:, 0], -counts))
    return out.iloc[rank].reset_index(drop=True)


# --------------------------------------------------------------------------- areas


def crime_by_area(
    layout: Layout | None,
    *,
    incidents: Any = None,
    rings_m: tuple[float, ...] = (100.0, 250.0, 500.0),
) -> pd.DataFrame:
    """Incidents by category inside the site and within rings around it.

    Parameters
    ----------
    layout
        The layout; its site (boundary, or the layout's extent) and incidents.
    incidents
        Incidents instead of ``layout.incidents``.
    rings_m
        Distances from the site edge: each column counts the incidents within that distance
        of the site (the site included), so the columns nest.

    Returns
    -------
    pandas.DataFrame
        Index: each category (sorted) and ``all``; columns ``site`` and ``within_<d>m``.

    Notes
    -----
    One vectorised distance per incident to the site polygon: O(P · s) for s site
    vertices.
    """
    frame = _incidents(layout, incidents)
    site = layout.site_polygon if layout is not None else None
    d = (
        shapely.distance(site, frame.geometry.values)
        if len(frame) and site is not None
        else np.zeros(0)
    )
    cats = frame["category"].astype(str).to_numpy() if len(frame) else np.zeros(0, dtype=str)
    cols: dict[str, np.ndarray] = {"site": d <= 0.0}
    for r in sorted(float(x) for x in rings_m):
        cols[f"within_{r:g}m"] = d <= r
    names = sorted(set(cats.tolist()))
    table = pd.DataFrame(
        {
            c: [int((m & (cats == k)).sum()) for k in names] + [int(m.sum())]
            for c, m in cols.items()
        },
        index=[*names, "all"],
    )
    table.index.name = "category"
    return table


# --------------------------------------------------------------------------- concentration


def lorenz_curve(counts: Any) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve of counts per unit, units from the most to the fewest incidents.

    Returns
    -------
    (share_of_units, share_of_incidents)
        Both from 0 to 1, ``n + 1`` points: after the ``k`` busiest units, the share of
        units ``k / n`` and the share of incidents they hold. (Crime-and-place work draws
        the curve from the busiest unit, so it lies above the diagonal.)

    Notes
    -----
    One sort: O(n log n).
    """
    c = np.sort(np.asarray(counts, dtype=float))[::-1]
    n = len(c)
    total = c.sum()
    x = np.arange(n + 1) / max(n, 1)
    y = np.r_[0.0, np.cumsum(c) / total] if total > 0 else np.zeros(n + 1)
    return x, y


def _gini(counts: np.ndarray) -> float:
    """Gini of non-negative counts: ``Σ (2i − n − 1) x_(i) / (n Σ x)`` over ascending x."""
    x = np.sort(np.asarray(counts, dtype=float))
    n = len(x)
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def _max_equality(total: int, n: int) -> np.ndarray:
    """Counts spread as evenly as integers allow: ``floor(N/n)`` each, one more on N mod n."""
    base, extra = divmod(int(total), int(n))
    out = np.full(n, base, dtype=np.int64)
    out[:extra] += 1
    return out


@dataclass
class Concentration:
    """Crime concentration over a set of units (segments or map points).

    Attributes
    ----------
    n_units, n_incidents
        Units counted (zeros included) and incidents on them.
    share_50, share_25
        The smallest share of units (busiest first) holding at least 50% / 25% of the
        incidents.
    gini
        The raw Gini coefficient.
    gini_generalized
        Bernasco & Steenbeek's (2017) generalized Gini: against maximal equality given N.
    gini_poisson
        Against the mean Gini of ``n_sim`` random (multinomial, equal-rate) allocations of
        the N incidents to the n units — the Poisson null.
    gini_null, gini_null_sd
        That null's mean and standard deviation.
    lorenz
        ``(share_of_units, share_of_incidents)`` as :func:`lorenz_curve`.
    """

    n_units: int
    n_incidents: int
    share_50: float
    share_25: float
    gini: float
    gini_generalized: float
    gini_poisson: float
    gini_null: float
    gini_null_sd: float
    lorenz: tuple[np.ndarray, np.ndarray] = field(repr=False)

    def as_dict(self) -> dict[str, float | int]:
        """The figures without the curve (for evidence, JSON, tables)."""
        return {
            "n_units": self.n_units,
            "n_incidents": self.n_incidents,
            "share_50": round(self.share_50, 4),
            "share_25": round(self.share_25, 4),
            "gini": round(self.gini, 4),
            "gini_generalized": round(self.gini_generalized, 4),
            "gini_poisson": round(self.gini_poisson, 4),
            "gini_null": round(self.gini_null, 4),
        }


def share_holding(counts: Any, fraction: float) -> float:
    """The smallest share of units (busiest first) holding at least ``fraction`` of the
    incidents (NaN without incidents). O(n log n)."""
    c = np.sort(np.asarray(counts, dtype=float))[::-1]
    total = c.sum()
    if total <= 0:
        return float("nan")
    k = int(np.searchsorted(np.cumsum(c), fraction * total - 1e-9 * total, side="left")) + 1
    return k / len(c)


def concentration(
    counts: Any, *, n_sim: int = 200, seed: int = 0, min_count: int = 0
) -> Concentration:
    """Concentration of incidents over units: shares, Lorenz curve, raw and adjusted Gini.

    Parameters
    ----------
    counts
        Incidents per unit (zeros included: units with no incident are units).
    n_sim
        Random allocations for the Poisson null (0: skip it; ``gini_poisson`` NaN).
    seed
        Of the random allocations (the figures are reproducible).
    min_count
        The least count a unit can have by construction: 1 for map points read from the
        incidents themselves (a point is only known when something happened there), so the
        null gives every unit ``min_count`` and allocates the rest at random. 0 for street
        segments.

    Returns
    -------
    Concentration

    Notes
    -----
    Both adjusted Ginis rescale the raw one against a baseline Gini ``G0``:
    ``(G − G0) / (G_max − G0)`` with ``G_max = (n − 1)/n`` (every incident in one unit),
    clipped at 0. For the generalized Gini (Bernasco & Steenbeek 2017) ``G0`` is the Gini
    of maximal equality given the data, which is 0 when N is a multiple of n and
    ``1 − N/n`` when N < n; for the Poisson-adjusted Gini it is the mean Gini of random
    allocations. O(n log n) plus O(n_sim · (n log n + N)) for the null.
    """
    c = np.asarray(counts, dtype=np.int64).ravel()
    if (c < 0).any():
        raise ValueError("counts must be non-negative")
    n, total = len(c), int(c.sum())
    if n == 0 or total == 0:
        nan = float("nan")
        return Concentration(n, total, nan, nan, nan, nan, nan, nan, nan, lorenz_curve(c))
    g = _gini(c)
    gmax = (n - 1) / n

    def rescale(g0: float) -> float:
        if not np.isfinite(g0) or gmax - g0 <= 0:
            return float("nan")
        return float(min(1.0, max(0.0, (g - g0) / (gmax - g0))))

    g_eq = _gini(_max_equality(total, n))
    if n_sim > 0:
        rng = np.random.default_rng(seed)
        rest = total - int(min_count) * n
        if rest < 0:
            raise ValueError(f"min_count {min_count} exceeds the counts")
        sims = np.array(
            [_gini(min_count + rng.multinomial(rest, np.full(n, 1.0 / n))) for _ in range(n_sim)]
        )
        g_null, g_sd = float(sims.mean()), float(sims.std(ddof=1)) if n_sim > 1 else 0.0
    else:
        g_null = g_sd = float("nan")
    return Concentration(
        n_units=n,
        n_incidents=total,
        share_50=share_holding(c, 0.5),
        share_25=share_holding(c, 0.25),
        gini=g,
        gini_generalized=rescale(g_eq),
        gini_poisson=rescale(g_null),
        gini_null=g_null,
        gini_null_sd=g_sd,
        lorenz=lorenz_curve(c),
    )


# --------------------------------------------------------------------------- hot spots


def network_weights(edges: gpd.GeoDataFrame) -> sparse.csr_matrix:
    """Binary network contiguity of segments: 1 where two segments share a junction
    (``u``/``v``), and on the diagonal (Gi*: a segment is its own neighbour).

    Notes
    -----
    O(E + Σ d²) for junction degrees d (every pair of segments at a junction).
    """
    n = len(edges)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    ends = pd.DataFrame(
        {
            "node": np.r_[edges["u"].to_numpy(), edges["v"].to_numpy()],
            "seg": np.r_[np.arange(n), np.arange(n)],
        }
    ).drop_duplicates()
    pairs = ends.merge(ends, on="node")
    w = sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs["seg_x"].to_numpy(), pairs["seg_y"].to_numpy())),
        shape=(n, n),
    ).tocsr()
    w.data[:] = 1.0  # duplicates (two segments sharing both ends) stay binary
    w = w.maximum(sparse.identity(n, format="csr"))
    return w


def distance_band_weights(points: Any, band_m: float) -> sparse.csr_matrix:
    """Binary distance-band weights of points: 1 within ``band_m`` (self included).

    Notes
    -----
    A k-d tree: O(n log n + W) for W pairs within the band.
    """
    from scipy.spatial import cKDTree

    xy = shapely.get_coordinates(np.asarray(points, dtype=object))
    n = len(xy)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    w = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), band_m, output_type="coo_matrix")
    w = sparse.coo_matrix((np.ones(len(w.data)), (w.row, w.col)), shape=(n, n)).tocsr()
    return w.maximum(sparse.identity(n, format="csr"))


def gi_star(values: Any, weights: sparse.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Local Getis–Ord Gi* z-scores and one-sided p-values (high values).

    ``Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S √((n Σ_j w_ij² − W_i²) / (n − 1)))`` with
    ``W_i = Σ_j w_ij``, ``x̄`` the mean and ``S`` the (population) standard deviation of
    all n values (Ord & Getis 1995, eq. 9 — the statistic is its own z-score). p is the
    normal upper tail ``1 − Φ(z)``. The same as PySAL ``esda.G_Local(y, w, star=True,
    transform="B").Zs`` for binary weights with the diagonal set.

    Returns
    -------
    (z, p)
        NaN where the value has no spread (all values equal) or a unit has every other
        unit as neighbour.

    Notes
    -----
    One sparse matrix–vector product: O(n + W) for W weight entries.
    """
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n < 2:
        return np.full(n, np.nan), np.full(n, np.nan)
    w = sparse.csr_matrix(weights)
    xbar = x.mean()
    s = math.sqrt(max((x * x).mean() - xbar * xbar, 0.0))
    wi = np.asarray(w.sum(axis=1)).ravel()
    w2 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    num = w @ x - xbar * wi
    den2 = (n * w2 - wi * wi) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where((den2 > 0) & (s > 0), num / (s * np.sqrt(np.maximum(den2, 0))), np.nan)
    p = np.where(np.isfinite(z), 1.0 - ndtr(z), np.nan)
    return z, p


def fdr_mask(p: Any, alpha: float = 0.05) -> np.ndarray:
    """Benjamini–Hochberg: which p-values are significant at false discovery rate alpha.

    Notes
    -----
    One sort: O(n log n).
    """
    p = np.asarray(p, dtype=float)
    ok = np.isfinite(p)
    out = np.zeros(len(p), dtype=bool)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    thresh = alpha * np.arange(1, m + 1) / m
    passed = q[order] <= thresh
    if passed.any():
        k = np.flatnonzero(passed).max()
        sig = np.zeros(m, dtype=bool)
        sig[order[: k + 1]] = True
        out[np.flatnonzero(ok)] = sig
    return out


def incident_hot_spots(
    incidents: gpd.GeoDataFrame, *, band_m: float = 250.0, alpha: float = 0.05
) -> gpd.GeoDataFrame:
    """Gi* hot spots among map points (data with no street network): distance-band weights.

    Parameters
    ----------
    incidents
        Located incidents in a metric CRS.
    band_m
        Points within this distance are neighbours (the point itself included).
    alpha
        False discovery rate of the ``hot_spot`` flag.

    Returns
    -------
    geopandas.GeoDataFrame
        :func:`map_point_counts` with ``gi_z``, ``gi_p`` and ``hot_spot``.

    Notes
    -----
    O(P log P) to group, O(n log n + W) for the weights, O(n + W) for Gi*.
    """
    pts = map_point_counts(incidents)
    if len(pts) == 0:
        return pts.assign(gi_z=[], gi_p=[], hot_spot=[])
    z, p = gi_star(pts["count"].to_numpy(float), distance_band_weights(pts.geometry.values, band_m))
    return pts.assign(gi_z=z, gi_p=p, hot_spot=fdr_mask(p, alpha) & (z > 0))
