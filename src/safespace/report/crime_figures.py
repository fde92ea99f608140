"""The report's crime-context section: a map of incidents by category and hot-spot segments,
the Lorenz curve, and the counts table, with the data's attribution.

Everything here draws only when the assessed layout has an ``incidents`` layer; without one
the figures return None and :func:`crime_block` returns None, so the section is absent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from safespace.report.figures import Figure, register_figure

AREA = "crime"
#: Categories drawn in their own colour on the map (the most frequent first); the rest grey.
MAX_CATEGORIES = 7
PALETTE = ("#b3261e", "#1f5fa8", "#e8710a", "#2e7d32", "#7b1fa2", "#00838f", "#c99a00")


def _incidents(assessment: Any):
    layout = getattr(assessment, "layout", None)
    inc = getattr(layout, "incidents", None) if layout is not None else None
    return inc if inc is not None else None


def _cr(assessment: Any, rule_id: str):
    return next((f for f in assessment.findings if f.rule_id == rule_id), None)


def _segments(assessment: Any):
    """The CR rules' cached segment analysis (None when it did not run)."""
    site = getattr(assessment, "site", None)
    hits = site.computed("segment_crime") if site is not None else []
    return hits[0][1] if hits else None


def _attribution(assessment: Any) -> str:
    cr3 = _cr(assessment, "CR003")
    att = cr3.evidence.get("attribution") if cr3 is not None else None
    return f" {att}" if att else ""


@register_figure(AREA, name="safespace.crime.map")
def incident_map(assessment: Any) -> Figure | None:
    """Incidents within the outer ring by category, the site, routes and hot-spot segments.

    O(P + vertices): one distance per incident, one line collection per layer.
    """
    inc = _incidents(assessment)
    if inc is None or len(inc) == 0:
        return None
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure as MplFigure

    layout = assessment.layout
    site = layout.site_polygon
    cr3 = _cr(assessment, "CR003")
    rings = [100.0, 250.0, 500.0]
    if cr3 is not None:
        cols = [c for c in next(iter(cr3.evidence["by_category"].values()), {}) if c != "site"]
        rings = [float(c.removeprefix("within_").removesuffix("m")) for c in cols] or rings
    reach = max(rings)
    geoms = np.asarray(inc.geometry.values, dtype=object)
    near = shapely.distance(site, geoms) <= reach
    if not near.any():
        return None
    xy = shapely.get_coordinates(geoms[near])
    cats = inc["category"].astype(str).to_numpy()[near]
    names, counts = np.unique(cats, return_counts=True)
    order = names[np.lexsort((names, -counts))]
    shown = list(order[:MAX_CATEGORIES])
    zone = shapely.buffer(site, reach)
    minx, miny, maxx, maxy = shapely.bounds(zone).tolist()
    w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    fig = MplFigure(figsize=(8.0, float(np.clip(8.0 * h / w, 4.0, 10.0))), layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor("#f6f3ec")
    routes = np.concatenate(
        [np.asarray(layout.streets.geometry.values), np.asarray(layout.foot_routes.geometry.values)]
    )
    if len(routes):
        parts = shapely.get_parts(shapely.intersection(routes, zone))
        parts = parts[shapely.get_type_id(parts) == 1]
        segs = [shapely.get_coordinates(p) for p in parts]
        ax.add_collection(LineCollection(segs, colors="#b9b3a6", linewidths=0.8, zorder=1))
    seg = _segments(assessment)
    n_hot = 0
    if seg is not None and len(seg):
        flagged = seg["hot_spot"].to_numpy(bool) | (
            seg["cluster"].to_numpy(bool) & (seg["count"].to_numpy() > 0)
        )
        hot = seg.geometry.values[flagged & shapely.intersects(zone, seg.geometry.values)]
        n_hot = len(hot)
        if n_hot:
            parts = shapely.get_parts(np.asarray(hot, dtype=object))
            segs = [shapely.get_coordinates(p) for p in parts]
            ax.add_collection(
                LineCollection(segs, colors="#111111", linewidths=3.2, alpha=0.55, zorder=2)
            )
    for ring in rings:
        ext = shapely.get_coordinates(shapely.get_exterior_ring(shapely.buffer(site, ring)))
        ax.plot(ext[:, 0], ext[:, 1], color="#8a8577", lw=0.6, ls=":", zorder=1)
    for part in shapely.get_parts(site):
        ext = shapely.get_coordinates(shapely.get_exterior_ring(part))
        ax.plot(ext[:, 0], ext[:, 1], color="#333333", lw=1.4, zorder=3)
    rest = ~np.isin(cats, shown)
    if rest.any():
        ax.scatter(*xy[rest].T, s=9, c="#9e9e9e", label="other categories", zorder=4, lw=0)
    for colour, cat in zip(PALETTE, shown, strict=False):
        m = cats == cat
        ax.scatter(*xy[m].T, s=14, c=colour, label=f"{cat} ({int(m.sum())})", zorder=5, lw=0)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="upper left", fontsize=7, framealpha=0.85)
    return Figure(
        "Recorded incidents by category",
        alt=(
            f"Map of {int(near.sum())} recorded incidents within {reach:g} m of the site, "
            f"coloured by category, with {n_hot} hot-spot street segment(s) drawn thick."
        ),
        image=fig,
        caption=(
            f"Incidents within {reach:g} m of the site (dotted rings at "
            f"{', '.join(f'{r:g}' for r in rings)} m), the site outline, the routes, and the "
            "hot-spot segments (CR001) as thick dark lines. Points may be anonymised map "
            "points standing for several incidents." + _attribution(assessment)
        ),
    )


@register_figure(AREA, name="safespace.crime.lorenz")
def lorenz_figure(assessment: Any) -> Figure | None:
    """The Lorenz curve of incidents over the layout's street segments (CR003's concentration).

    O(n log n) for n segments.
    """
    inc = _incidents(assessment)
    seg = _segments(assessment)
    if inc is None or seg is None or len(seg) == 0 or seg["count"].sum() == 0:
        return None
    from matplotlib.figure import Figure as MplFigure

    from safespace.analyses.crime import concentration

    c = concentration(seg["count"].to_numpy(), n_sim=100, seed=0)
    x, y = c.lorenz
    fig = MplFigure(figsize=(5.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(x * 100, y * 100, color="#b3261e", lw=1.8, label="observed")
    ax.plot([0, 100], [0, 100], color="#8a8577", lw=0.8, ls="--", label="equal spread")
    ax.axhline(50, color="#cccccc", lw=0.6)
    ax.axvline(c.share_50 * 100, color="#cccccc", lw=0.6)
    ax.set_xlabel("street segments, busiest first (%)")
    ax.set_ylabel("incidents (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    return Figure(
        "Concentration of recorded crime over street segments",
        alt=(
            f"Lorenz curve: {c.share_50:.1%} of the {c.n_units} street segments hold half of "
            f"the {c.n_incidents} incidents on the network."
        ),
        image=fig,
        caption=(
            f"{c.share_50:.1%} of segments hold 50% and {c.share_25:.1%} hold 25% of the "
            f"incidents snapped to the walk network. Gini {c.gini:.2f} raw, "
            f"{c.gini_generalized:.2f} generalized (Bernasco & Steenbeek 2017), "
            f"{c.gini_poisson:.2f} against a random spread (docs/crime.md)."
            + _attribution(assessment)
        ),
    )


def crime_block(assessment: Any) -> dict[str, Any] | None:
    """The counts table and attribution of the crime section (None without incidents)."""
    if _incidents(assessment) is None:
        return None
    cr3 = _cr(assessment, "CR003")
    if cr3 is None:
        return None
    table = cr3.evidence["by_category"]
    columns = list(next(iter(table.values()), {}))
    labels = ["in the site" if c == "site" else c.replace("within_", "within ") for c in columns]
    rows = [
        {"category": cat, "values": [f"{int(v[c]):,}" for c in columns]} for cat, v in table.items()
    ]
    return {
        "columns": labels,
        "rows": rows,
        "by_month": cr3.evidence.get("by_month", {}),
        "message": cr3.message,
        "records": cr3.evidence.get("records", {}),
        "attribution": cr3.evidence.get("attribution"),
        "caveat": cr3.evidence.get("caveat"),
    }
