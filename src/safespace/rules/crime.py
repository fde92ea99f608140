"""Built-in crime-context rules (``CR``): recorded crime in and around the site.

They read the layout's ``incidents`` layer (``safespace.load(..., incidents=PATH)``, the
CLI's ``--incidents``) and do nothing at all without one: no finding, no metric, no failure.

Recorded crime describes the existing place, not a design decision: every CR finding is
``info`` (never a key concern), ``measured``, and the CR findings form one issue of their own
("Crime context"), never merged with the design issues. Recorded crime acts on the design
issues through their ranking instead (``docs/crime.md``, the profile's ``[crime]`` links).

CR001
    Street segments in or beside the site that are hot spots of recorded crime (local Gi*
    on the walk network, Benjamini–Hochberg false discovery rate).
CR002
    Crime categories whose rate in and beside the site is above the wider area's (per street
    segment where the walk network covers the wider area, else per km²), with a Poisson test.
CR003
    The crime-context summary: counts by category in the site and in rings around it, the
    trend by month, the concentration, what was not located, the anonymisation caveat and the
    data's attribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.special import pdtrc

from safespace.analyses.crime import (
    concentration,
    crime_by_area,
    segment_crime,
)
from safespace.analyses.network import walk_network
from safespace.findings import Finding, Metric
from safespace.io.incidents import OGL_ATTRIBUTION
from safespace.rules.engine import Param, Site, rule

AREA = "crime"
GETIS_ORD = (
    "Getis & Ord 1992, Geographical Analysis 24:189–206; Ord & Getis 1995, Geographical "
    "Analysis 27:286–306 (local Gi*)"
)
BH = "Benjamini & Hochberg 1995, J R Stat Soc B 57:289–300 (false discovery rate)"
WEISBURD = (
    "Weisburd 2015, Criminology 53:133–157 (the law of crime concentration at street segments)"
)
BERNASCO = (
    "Bernasco & Steenbeek 2017, J Quant Criminol 33:451–467 (generalized Lorenz curve and "
    "Gini for sparse crime data)"
)
POLICE_UK = (
    "data.police.uk, About: location anonymisation — each crime is moved to the nearest of a "
    "set of map points, each with at least eight postal addresses nearby [checked]"
)
COE_237 = (
    "Council of Europe Congress Resolution 237 (2007), 7b: problem-led co-ordination on the "
    "basis of specific data [checked]"
)
CAVEAT = (
    "data.police.uk moves every crime to the nearest of a set of anonymous map points (each "
    "with at least eight postal addresses nearby) and says 'on or near' a street: counts are "
    "meaningful per street segment or map point, not per address"
)

_SNAP = Param(
    50.0,
    "m",
    "incidents farther than this from every street segment are not counted on segments",
    "safespace convention [unverified]: data.police.uk map points lie on or beside streets",
)
_BESIDE = Param(
    100.0,
    "m",
    "segments and incidents within this distance of the site count as beside it",
    "safespace convention [unverified]: about a street block",
)
_ALPHA = Param(
    0.05,
    "ratio",
    "false discovery rate (hot spots) or significance level (rates)",
    "conventional 5% level (Benjamini & Hochberg 1995)",
)
_WIDER = Param(
    1000.0,
    "m",
    "the wider area: within this distance of the site",
    "safespace convention [unverified]: the 'vicinity' a designing-out-crime officer's "
    "response describes",
)


def _incidents(site: Site) -> Any:
    return getattr(site.layout, "incidents", None)


def _segments(site: Site) -> Any:
    graph = site.analysis(walk_network)
    return site.analysis(
        segment_crime,
        graph=graph,
        max_distance_m=float(site.params["snap_m"]),
        alpha=float(site.params["alpha"]),
    )


def _name(row: pd.Series) -> str:
    fid = row.get("fid")
    return str(fid) if fid not in (None, "") and fid == fid else f"segment {int(row['edge'])}"


def _near_site(site: Site, geoms: Any, within_m: float) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return shapely.distance(site.site_polygon, geoms) <= within_m


def _at_least(n: int, mu: float) -> float:
    """P(X >= n) for X ~ Poisson(mu): ``scipy.stats.poisson.sf(n - 1, mu)``, from
    ``scipy.special`` (importing ``scipy.stats`` costs about 1.7 s of every run's start)."""
    return 1.0 if n <= 0 else float(pdtrc(n - 1, mu))


@rule(
    "CR001",
    "Hot spots of recorded crime in or beside the site",
    AREA,
    principles=["natural_surveillance", "activity_support"],
    params={"snap_m": _SNAP, "beside_m": _BESIDE, "alpha": _ALPHA},
    references=[GETIS_ORD, BH, WEISBURD, COE_237],
)
def hot_spot_segments(site: Site) -> Iterator[Finding | Metric]:
    """Street segments of the walk network in or within ``beside_m`` of the site that are
    hot spots of recorded incidents: a count above the segment's length-proportional share
    (one-sided Poisson), or a significant local Gi* cluster, each at the Benjamini–Hochberg
    false discovery rate ``alpha`` over every segment of the layout
    (:func:`safespace.analyses.segment_crime`)."""
    inc = _incidents(site)
    if inc is None or len(inc) == 0:
        return
    seg = _segments(site)
    if len(seg) == 0:
        return
    near = _near_site(site, seg.geometry.values, float(site.params["beside_m"]))
    flagged = seg["hot_spot"].to_numpy(bool) | (
        seg["cluster"].to_numpy(bool) & (seg["count"].to_numpy() > 0)
    )
    hot = seg[near & flagged].sort_values(["count", "edge"], ascending=[False, True])
    yield Metric("hot_spot_segments_near_site", int(len(hot)), "", AREA)
    if hot.empty:
        return
    inside = shapely.intersects(site.site_polygon, hot.geometry.values)
    listed = [
        f"{_name(r)} ({int(r['count'])} incident{'s' if r['count'] != 1 else ''} against "
        f"{r['expected']:.1f} expected" + (", in a Gi* cluster" if r["cluster"] else "") + ")"
        for _, r in hot.head(5).iterrows()
    ]
    more = f" and {len(hot) - 5} more" if len(hot) > 5 else ""
    yield Finding(
        severity="info",
        title="Hot spots of recorded crime in or beside the site",
        message=(
            f"{len(hot)} street segment{'s' if len(hot) != 1 else ''} in or within "
            f"{site.params['beside_m']:g} m of the site "
            f"{'are hot spots' if len(hot) != 1 else 'is a hot spot'} of recorded crime "
            f"({int(inside.sum())} inside it): {', '.join(listed)}{more}. "
            "Tests: the segment's count against its length's share (Poisson) and local Gi* "
            f"on the walk network, false discovery rate {site.params['alpha']:.0%}."
        ),
        geometry=shapely.union_all(hot.geometry.values),
        features=[],
        evidence={
            "segments": [
                {
                    "segment": _name(r),
                    "count": int(r["count"]),
                    "length_m": round(float(r["length_m"]), 1),
                    "rate_per_100m": (
                        None
                        if not np.isfinite(r["rate_per_100m"])
                        else round(float(r["rate_per_100m"]), 2)
                    ),
                    "expected": round(float(r["expected"]), 2),
                    "excess_p": float(f"{float(r['excess_p']):.3g}"),
                    "hot_spot": bool(r["hot_spot"]),
                    "gi_z": None if not np.isfinite(r["gi_z"]) else round(float(r["gi_z"]), 3),
                    "gi_p": None
                    if not np.isfinite(r["gi_p"])
                    else float(f"{float(r['gi_p']):.3g}"),
                    "cluster": bool(r["cluster"]),
                    "by_category": dict(r["by_category"]),
                    "inside_site": bool(i),
                }
                for (_, r), i in zip(hot.iterrows(), inside, strict=True)
            ],
            "segments_tested": int(len(seg)),
            "incidents_on_segments": int(seg.attrs.get("snapped", 0)),
            "incidents_not_on_segments": int(seg.attrs.get("unsnapped", 0)),
            "method": (
                "hot spot: Poisson excess over a length-proportional share; cluster: Gi* "
                "(network contiguity, self included); one-sided, Benjamini–Hochberg"
            ),
        },
        recommendation=(
            "Describe the hot spots in the response and weigh the design of the routes "
            "through them (surveillance, lighting, access) accordingly."
        ),
        basis="measured",
        rests_on=[],
    )


@rule(
    "CR002",
    "Crime categories above the wider area's rate",
    AREA,
    principles=["natural_surveillance"],
    params={
        "snap_m": _SNAP,
        "beside_m": _BESIDE,
        "wider_m": _WIDER,
        "alpha": _ALPHA,
        "min_ratio": Param(
            1.5,
            "ratio",
            "a category counts as above the wider area's rate from this rate ratio",
            "safespace convention [unverified]",
        ),
        "min_count": Param(
            3,
            "",
            "at least this many incidents of the category in and beside the site",
            "safespace convention [unverified]: fewer cannot show a rate",
        ),
    },
    references=[WEISBURD, COE_237],
)
def above_area_rate(site: Site) -> Iterator[Finding | Metric]:
    """For each crime category, the rate in and within ``beside_m`` of the site against the
    rate in the wider area (within ``wider_m``): per street segment where the walk network
    covers at least 80% of the wider area, otherwise per km². A category is above the area's
    rate when the ratio is at least ``min_ratio``, there are at least ``min_count``
    incidents, and the one-sided Poisson test (the count near the site against the wider
    area's rate times the near zone's size) gives p < ``alpha``."""
    inc = _incidents(site)
    if inc is None or len(inc) == 0:
        return
    beside, wider = float(site.params["beside_m"]), float(site.params["wider_m"])
    alpha, min_ratio = float(site.params["alpha"]), float(site.params["min_ratio"])
    min_count = int(site.params["min_count"])
    near_zone = shapely.buffer(site.site_polygon, beside)
    wide_zone = shapely.buffer(site.site_polygon, wider)
    seg = _segments(site)
    hull = shapely.convex_hull(shapely.union_all(seg.geometry.values)) if len(seg) else None
    covered = (
        float(shapely.area(shapely.intersection(hull, wide_zone)) / shapely.area(wide_zone))
        if hull is not None
        else 0.0
    )
    per_segment = covered >= 0.8
    if per_segment:
        mids = shapely.line_interpolate_point(seg.geometry.values, 0.5, normalized=True)
        in_near = shapely.intersects(near_zone, mids)
        in_wide = shapely.intersects(wide_zone, mids)
        n_near_units, n_wide_units = int(in_near.sum()), int(in_wide.sum())
        unit = "segment"
        snap_cat: dict[str, tuple[int, int]] = {}
        for cats, a, b in zip(seg["by_category"], in_near, in_wide, strict=True):
            for c, k in cats.items():
                x, y = snap_cat.get(c, (0, 0))
                snap_cat[c] = (x + (k if a else 0), y + (k if b else 0))
        counts = snap_cat
        size_near, size_wide = float(n_near_units), float(n_wide_units)
    else:
        d = shapely.distance(site.site_polygon, np.asarray(inc.geometry.values, dtype=object))
        cats = inc["category"].astype(str).to_numpy()
        counts = {
            c: (int(((d <= beside) & (cats == c)).sum()), int(((d <= wider) & (cats == c)).sum()))
            for c in sorted(set(cats.tolist()))
        }
        unit = "km²"
        size_near = float(shapely.area(near_zone)) / 1e6
        size_wide = float(shapely.area(wide_zone)) / 1e6
    if size_near <= 0 or size_wide <= 0:
        return
    rows = []
    for c in sorted(counts):
        n_near, n_wide = counts[c]
        rate_wide = n_wide / size_wide
        expected = rate_wide * size_near
        ratio = (n_near / size_near) / rate_wide if rate_wide > 0 else float("inf")
        p = _at_least(n_near, expected) if expected > 0 else 0.0
        rows.append((c, n_near, n_wide, expected, ratio, p))
    above = [r for r in rows if r[1] >= min_count and r[4] >= min_ratio and r[5] < alpha]
    yield Metric("categories_above_area_rate", len(above), "", AREA)
    if not above:
        return
    text = "; ".join(
        f"{c.lower()}: {n} against {e:.1f} expected ({ratio:.1f}× the wider area's rate)"
        for c, n, _, e, ratio, _ in above
    )
    yield Finding(
        severity="info",
        title="Crime categories above the wider area's rate",
        message=(
            f"In and within {beside:g} m of the site, recorded {text}, per {unit} "
            f"of the wider area within {wider:g} m (Poisson test, p < {alpha:g})."
        ),
        geometry=near_zone,
        evidence={
            "unit": unit,
            "near_m": beside,
            "wider_m": wider,
            "network_covers_wider_area": round(covered, 3),
            "near_size": round(size_near, 4),
            "wider_size": round(size_wide, 4),
            "categories": [
                {
                    "category": c,
                    "near": n,
                    "wider": w,
                    "expected": round(e, 2),
                    "rate_ratio": round(r, 2) if np.isfinite(r) else None,
                    "p": float(f"{p:.3g}"),
                    "above": (c, n, w, e, r, p) in above,
                }
                for c, n, w, e, r, p in rows
            ],
        },
        recommendation=(
            "Weigh the design against the categories that are above the area's rate "
            "(docs/crime.md lists the design problems each category relates to)."
        ),
        basis="measured",
        rests_on=[],
    )


@rule(
    "CR003",
    "Crime context of the site",
    AREA,
    principles=["activity_support"],
    params={
        "rings_m": Param(
            (100.0, 250.0, 500.0),
            "m",
            "distances from the site at which incidents are counted (nested rings)",
            "safespace convention [unverified]",
        ),
        "snap_m": _SNAP,
        "alpha": _ALPHA,
    },
    references=[POLICE_UK, BERNASCO, COE_237],
)
def crime_context(site: Site) -> Iterator[Finding | Metric]:
    """The summary of recorded crime the report and response open their crime section with:
    counts by category in the site and within each ring, by month where the data has more
    than one month, the concentration over street segments (share holding 50%, Gini raw,
    generalized and Poisson-adjusted), the records not located, the anonymisation caveat
    of data.police.uk and the data's attribution."""
    inc = _incidents(site)
    if inc is None:
        return
    rings = tuple(float(r) for r in site.params["rings_m"])
    table = crime_by_area(site.layout, rings_m=rings)
    outer = table.columns[-1]
    d = (
        shapely.distance(site.site_polygon, np.asarray(inc.geometry.values, dtype=object))
        if len(inc)
        else np.zeros(0)
    )
    near = d <= max(rings) if rings else d <= 0
    months = inc["month"].to_numpy(dtype=object)[near] if len(inc) else np.zeros(0, object)
    by_month = pd.Series([m for m in months if isinstance(m, str)]).value_counts().sort_index()
    trend = {str(k): int(v) for k, v in by_month.items()}
    attrs = dict(getattr(inc, "attrs", {}) or {})
    police_uk = attrs.get("format") in ("data.police.uk", "mixed") or (
        "location" in inc and inc["location"].astype(str).str.startswith("On or near").any()
    )
    conc = None
    if len(inc):
        seg = _segments(site)
        if len(seg) and seg["count"].sum() > 0:
            conc = concentration(seg["count"].to_numpy(), n_sim=100, seed=0)
    site_all = int(table.loc["all", "site"])
    ring_all = int(table.loc["all", outer])
    top = (
        table.drop(index="all")[outer].sort_values(ascending=False, kind="stable").head(3)
        if len(table) > 1
        else pd.Series(dtype=int)
    )
    top_text = ", ".join(f"{c.lower()} {int(n)}" for c, n in top.items() if n > 0)
    parts = [
        f"Recorded incidents: {site_all:,} in the site and {ring_all:,} within "
        f"{max(rings):g} m of it" + (f" (most: {top_text})" if top_text else "") + "."
    ]
    if len(trend) > 1:
        parts.append(
            "By month within "
            f"{max(rings):g} m: " + ", ".join(f"{k} {v}" for k, v in trend.items()) + "."
        )
    if conc is not None:
        parts.append(
            f"Across the {conc.n_units:,} street segments of the layout, "
            f"{conc.share_50:.1%} hold half of the {conc.n_incidents:,} incidents on them "
            f"(Gini {conc.gini:.2f}; {conc.gini_poisson:.2f} against a random spread)."
        )
    if attrs.get("unlocated"):
        parts.append(f"{attrs['unlocated']:,} record(s) had no location and are not mapped.")
    if police_uk:
        parts.append("The " + CAVEAT + ".")
    yield Metric("incidents_in_site", site_all, "", AREA)
    yield Metric(f"incidents_{outer}", ring_all, "", AREA)
    yield Finding(
        severity="info",
        title="Crime context of the site",
        message=" ".join(parts),
        geometry=site.site_polygon,
        evidence={
            "by_category": {
                str(c): {col: int(v) for col, v in row.items()} for c, row in table.iterrows()
            },
            "by_month": trend,
            "concentration": conc.as_dict() if conc is not None else None,
            "records": {
                k: attrs.get(k) for k in ("rows", "located", "unlocated", "no_id") if k in attrs
            },
            "unlocated_by_category": dict(attrs.get("unlocated_by_category", {})),
            "anonymised": bool(police_uk),
            "caveat": CAVEAT if police_uk else None,
            "attribution": OGL_ATTRIBUTION if police_uk else None,
        },
        recommendation=(
            "Describe the crime in the vicinity in the response (a Crime Impact Statement's "
            "first part) and read the design issues ranked with it."
        ),
        basis="measured",
        rests_on=[],
    )


RULES = [hot_spot_segments, above_area_rate, crime_context]
