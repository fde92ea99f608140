"""The built-in overview figure: the layout with finding density, for print and PDF."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from safespace.report.figures import OVERVIEW, Figure, register_figure
from safespace.report.mapdata import layout_bounds

SEVERITY_COLOURS = {"high": "#b3261e", "medium": "#e8710a", "low": "#c99a00", "info": "#5f6b7a"}
SEVERITY_WEIGHT = {"high": 3.0, "medium": 2.0, "low": 1.0, "info": 0.5}


def _rings(geoms: np.ndarray) -> list[np.ndarray]:
    polys = shapely.get_parts(geoms[~shapely.is_empty(geoms)])
    polys = polys[shapely.get_type_id(polys) == 3]
    ext = shapely.get_exterior_ring(shapely.simplify(polys, 0.5))
    coords, idx = shapely.get_coordinates(ext, return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(idx)) + 1) if len(coords) else []


def _lines(geoms: np.ndarray) -> list[np.ndarray]:
    lines = shapely.get_parts(geoms[~shapely.is_empty(geoms)])
    lines = lines[shapely.get_type_id(lines) == 1]
    coords, idx = shapely.get_coordinates(shapely.simplify(lines, 0.5), return_index=True)
    return np.split(coords, np.flatnonzero(np.diff(idx)) + 1) if len(coords) else []


def _scale_length(width_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = width_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


@register_figure(OVERVIEW, name="safespace.overview")
def overview_figure(assessment: Any) -> Figure | None:
    """Buildings, routes and boundary, with located findings and their weighted density.

    Findings are weighted by severity (high 3, medium 2, low 1, info 0.5) and summed per
    hexagon; each finding is also drawn at a point on its geometry. O(vertices + findings).
    """
    layout = assessment.layout
    bounds = None if layout is None else layout_bounds(layout)
    if bounds is None:
        return None
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.lines import Line2D

    minx, miny, maxx, maxy = bounds.tolist()
    w, h = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    fig = MplFigure(figsize=(8.0, float(np.clip(8.0 * h / w, 4.0, 10.0))), layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor("#f6f3ec")
    green = np.asarray(layout.planting.geometry.values, dtype=object)
    if len(green):
        ax.add_collection(PolyCollection(_rings(green), facecolors="#dbe8cf", edgecolors="none"))
    ax.add_collection(
        LineCollection(
            _lines(np.asarray(layout.foot_routes.geometry.values, dtype=object)),
            colors="#b9b2a6",
            linewidths=0.6,
        )
    )
    ax.add_collection(
        LineCollection(
            _lines(np.asarray(layout.streets.geometry.values, dtype=object)),
            colors="#8f8a80",
            linewidths=1.1,
        )
    )
    ax.add_collection(
        PolyCollection(
            _rings(np.asarray(layout.buildings.geometry.values, dtype=object)),
            facecolors="#cfc9bf",
            edgecolors="#9d968a",
            linewidths=0.25,
        )
    )
    if len(layout.boundary):
        for ring in _rings(np.asarray(layout.boundary.geometry.values, dtype=object)):
            ax.plot(ring[:, 0], ring[:, 1], color="#222", lw=1.2, ls=(0, (5, 3)))
    located = [f for f in assessment.findings if f.geometry is not None and not f.geometry.is_empty]
    counts = {s: 0 for s in SEVERITY_COLOURS}
    if located:
        pts = shapely.get_coordinates(shapely.point_on_surface([f.geometry for f in located]))
        sev = np.array([f.severity for f in located])
        weight = np.array([SEVERITY_WEIGHT[s] for s in sev])
        if len(located) >= 3:
            cell = max(w, h) / 18
            ax.hexbin(
                pts[:, 0],
                pts[:, 1],
                C=weight,
                reduce_C_function=np.sum,
                gridsize=(max(int(w / cell), 1), max(int(h / cell), 1)),
                extent=(minx, maxx, miny, maxy),
                cmap="OrRd",
                alpha=0.55,
                mincnt=1,
                linewidths=0,
                zorder=2,
            )
        for s, colour in SEVERITY_COLOURS.items():
            mask = sev == s
            counts[s] = int(mask.sum())
            if mask.any():
                ax.scatter(
                    pts[mask, 0],
                    pts[mask, 1],
                    s={"high": 46, "medium": 36, "low": 26, "info": 18}[s],
                    c=colour,
                    edgecolors="white",
                    linewidths=0.7,
                    zorder=3,
                )
    ax.set_xlim(minx - 0.02 * w, maxx + 0.02 * w)
    ax.set_ylim(miny - 0.02 * h, maxy + 0.02 * h)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    bar = _scale_length(w)
    x0, y0 = minx + 0.03 * w, miny + 0.03 * h
    ax.plot([x0, x0 + bar], [y0, y0], color="#222", lw=3, solid_capstyle="butt", zorder=4)
    ax.text(x0 + bar / 2, y0 + 0.015 * h, f"{bar:g} m", ha="center", va="bottom", fontsize=8)
    handles = [
        Line2D([], [], marker="o", ls="", color=c, markeredgecolor="white", label=f"{s} ({n})")
        for (s, c), n in zip(SEVERITY_COLOURS.items(), counts.values(), strict=True)
        if n
    ]
    if handles:
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.9, title="Findings")
    n_unlocated = len(assessment.findings) - len(located)
    detail = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"
    alt = (
        f"Plan of the layout ({len(layout.buildings)} buildings, {len(layout.streets)} streets, "
        f"{w:.0f} by {h:.0f} metres, north up) with {len(located)} located findings ({detail}) "
        "marked by severity colour over a shaded density of findings."
    )
    caption = (
        "Findings at a point on their geometry, coloured by severity; the shading sums "
        "severity weights (high 3, medium 2, low 1, info 0.5) per hexagon."
    )
    if n_unlocated:
        caption += f" {n_unlocated} finding(s) without a location are listed in the table only."
    return Figure("Layout and finding density", alt=alt, image=fig, caption=caption)
