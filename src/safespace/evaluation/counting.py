"""``evaluate``: count incidents per area and period, and tabulate the measures."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safespace._crs import crs_choice
from safespace.errors import InputError
from safespace.evaluation.areas import (
    OVERLAP_TOLERANCE_M2,
    _check_apart,
    _polygon_of,
    _ring,
    _to,
    _width,
)
from safespace.evaluation.formulas import ALL, AREAS, COLUMNS, COUNT_COLUMNS, measures
from safespace.evaluation.incidents import _incident_frame
from safespace.evaluation.matching import (
    MatchedSegments,
    match_segments,
    segments_of,
    snap_to_segments,
)
from safespace.evaluation.periods import parse_months


@dataclass(eq=False)
class EvaluationContext:
    """What the evaluation report draws: the areas and the counted incidents.

    Kept in ``table.attrs["context"]``. It copies as itself (``copy.deepcopy`` returns the
    same object, so pandas operations on the table do not copy the frames) and compares by
    identity (so ``pd.concat`` of tables does not compare frames).

    Attributes
    ----------
    areas
        One row per area that exists (``area`` in :data:`AREAS`, ``label``, ``area_m2``),
        in the working CRS.
    incidents
        The incidents counted: ``category``, ``month``, ``period`` (``before``/``after``),
        ``area``, point ``geometry`` in the working CRS.
    crs
        The working (metric) CRS.
    """

    areas: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    crs: CRS
    extra: dict[str, Any] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict) -> EvaluationContext:
        return self


def evaluate(
    treated: Any,
    control: Any,
    *,
    buffer: Any = None,
    control_buffer: Any = None,
    before: Any,
    after: Any,
    incidents: Any,
    categories: Iterable[str] | None = None,
    crs: Any = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Evaluate a test area against a control: WDQ, total net effect and WDD per category.

    Parameters
    ----------
    treated
        The treated (target) area: a polygon file (the polygon tagged
        ``safespace:role=site`` if there is one, else every polygon), a shapely
        (multi)polygon, a GeoSeries or a GeoDataFrame.
    control
        The control (comparison) area, in the same forms. It must not overlap the treated
        area or its buffer. Or a :class:`~safespace.evaluation.MatchedSegments`: a control
        of street segments, each matched 1:1 to a segment of the treated area on its
        before-period incidents and its length (``docs/evaluation.md``); ``attrs["matching"]``
        then lists the pairs.
    buffer
        The displacement area around the treated area: a ring width in metres (``200``)
        or a polygon in the forms above (the treated area is cut out of it). None: no
        buffer (no WDQ; the WDD covers the treated area only).
    control_buffer
        The control's displacement area, used by the WDD only. Default: a ring of the same
        width as ``buffer`` when that is a width (cut back where it would reach the treated
        area or its buffer), else none.
    before, after
        The periods: a month ``"2016-07"``, a range ``"2016-01..2016-06"`` (inclusive), or
        a list of months and ranges. They must not share a month.
    incidents
        A path (a data.police.uk street CSV or any file ``safespace.read_incidents``
        reads), a list of paths, or a GeoDataFrame with ``category`` and ``month``
        (``YYYY-MM``; or a ``date``) columns and point geometries.
    categories
        The categories to report (default: every category of the incidents in the two
        periods). The ``"all"`` row sums the categories reported.
    crs
        The CRS of inputs that carry none (a shapely geometry, a frame without ``.crs``).
        The counting itself is done in a metric CRS: a projected input CRS in metres with
        negligible scale error is kept, else the UTM zone of the areas
        (:func:`safespace._crs.crs_choice`).
    alpha
        Two-sided level of the WDD confidence interval (0.05: 95 %).

    Returns
    -------
    pandas.DataFrame
        One row per category, most incidents first, then the ``"all"`` row. Columns
        (:data:`COLUMNS`):

        ``category``; counts ``treated_before``, ``treated_after``, ``buffer_before``,
        ``buffer_after``, ``control_before``, ``control_after``,
        ``control_buffer_before``, ``control_buffer_after`` (NaN for an area not given);
        ``success_measure`` ``Ra/Ca − Rb/Cb``; ``buffer_measure`` ``Da/Ca − Db/Cb``;
        ``wdq`` ``BM/SM``; ``total_net_effect`` ``[Rb·Ca/Cb − Ra] + [Db·Ca/Cb − Da]``
        (Bowers & Johnson 2003); ``wdd`` ``ΔR − ΔC + ΔD − ΔCD``, ``wdd_local``,
        ``wdd_displacement``, ``wdd_se`` (√ of the summed counts), ``wdd_z``, ``wdd_p``
        (two-sided), ``wdd_ci_low``/``wdd_ci_high`` (Wheeler & Ratcliffe 2018); ``note``:
        why a value is NaN (a zero denominator) or how to read it.

        ``attrs`` holds ``before``/``after`` (month lists), ``crs`` (the working CRS),
        ``area_m2`` per area, ``buffer_m``, ``matching`` (the matched segment pairs, or
        None), ``notes`` (sentences about the whole run),
        ``method`` and ``context`` (an :class:`EvaluationContext` for the report).

    Raises
    ------
    InputError
        An area that is not a polygon or has no CRS; overlapping treated and control
        areas (or a control inside the treated area's buffer); a malformed or empty
        period, or periods sharing a month; incidents without a CRS, category or month;
        no incident in the before or the after period; no incident in any area.

    Notes
    -----
    Counting: an incident belongs to the first of treated, buffer, control, control
    buffer whose polygon covers it (its boundary included), so none is counted twice.
    O(n) in the incidents after one reprojection; each area test is a vectorised
    ``shapely.covers`` on prepared polygons.

    data.police.uk moves every incident to one of a set of anonymous map points (each
    near at least eight postal addresses): an area edge through a block moves whole map
    points in or out, and buffers narrower than about 200 m hold few map points. See
    ``docs/evaluation.md``.
    """
    before_m = parse_months(before, "before")
    after_m = parse_months(after, "after")
    shared = sorted(set(before_m) & set(after_m))
    if shared:
        raise InputError(f"the before and after periods share {', '.join(shared)}")
    run_notes: list[str] = []
    if len(before_m) != len(after_m):
        run_notes.append(
            f"the periods differ in length ({len(before_m)} and {len(after_m)} months): "
            "counts are compared as they are, not per month"
        )

    matched = control if isinstance(control, MatchedSegments) else None
    t_geom, t_crs, t_label, t_name = _polygon_of(treated, "treated", crs)
    if matched is None:
        c_geom, c_crs, c_label, c_name = _polygon_of(control, "control", crs)
        bounds = shapely.union_all([t_geom, _to(c_geom, c_crs, t_crs)]).bounds
    else:
        bounds = t_geom.bounds
    work, why = crs_choice(bounds, t_crs, t_label)
    if why:
        run_notes.append(why)
    areas: dict[str, shapely.Geometry] = {"treated": _to(t_geom, t_crs, work)}
    labels = {"treated": t_label}
    names = {"treated": t_name}
    if matched is None:
        areas["control"] = _to(c_geom, c_crs, work)
        labels["control"], names["control"] = c_label, c_name
        _check_apart(areas, [("treated", "control")])

    width = None if buffer is None else _width(buffer, "buffer")
    if buffer is not None:
        if width is not None:
            areas["buffer"] = _ring(areas["treated"], width)
            labels["buffer"] = f"{width:g} m ring"
        else:
            b_geom, b_crs, b_label, names["buffer"] = _polygon_of(buffer, "buffer", crs)
            b = _to(b_geom, b_crs, work)
            if shapely.intersection(b, areas["treated"]).area > OVERLAP_TOLERANCE_M2:
                run_notes.append(
                    "the buffer polygon overlapped the treated area: that part cut out"
                )
            areas["buffer"] = shapely.difference(b, areas["treated"])
            labels["buffer"] = b_label
        _check_apart(areas, [("buffer", "control")])

    cwidth = width if control_buffer is None else _width(control_buffer, "control_buffer")
    if matched is None:
        _add_control_buffer(areas, labels, names, cwidth, control_buffer, width, crs, work,
                            run_notes)  # fmt: skip

    frame, inc_notes, inc_label = _incident_frame(incidents, crs)
    formats = list(frame.attrs.get("formats", []))
    run_notes += inc_notes
    months = np.asarray(frame["month"], dtype=object)
    for what, wanted in (("before", before_m), ("after", after_m)):
        if not np.isin(months, wanted).any():
            have = sorted({m for m in months if isinstance(m, str)})
            shown = ", ".join(have[:12]) + (" ..." if len(have) > 12 else "")
            raise InputError(
                f"no incident falls in the {what} period ({', '.join(wanted)}); the incidents "
                f"cover {shown or 'no month'}",
                file=inc_label,
            )
    in_period = np.isin(months, before_m + after_m)
    frame = frame[in_period]
    pts = frame.to_crs(work).geometry.values if not frame.empty else frame.geometry.values
    pairs = None
    if matched is not None:
        is_before = np.isin(frame["month"].to_numpy(dtype=object), before_m)
        segs = segments_of(matched.network, work)
        seg_of = snap_to_segments(pts, segs, matched.snap_m)
        before_counts = np.bincount(seg_of[(seg_of >= 0) & is_before], minlength=len(segs))
        taken = shapely.union_all([areas["treated"], areas.get("buffer", shapely.Polygon())])
        pairs = match_segments(segs, before_counts, areas["treated"], taken, matched)
        chosen = pairs["control_segment"].to_numpy()
        halo = shapely.union_all(shapely.buffer(segs.geometry.values[chosen], matched.snap_m))
        areas["control"] = shapely.difference(halo, taken)
        labels["control"] = f"{len(chosen)} matched street segments"
        names["control"] = ""
        run_notes.append(
            f"control: {len(chosen)} street segments matched 1:1 to the treated area's "
            f"{len(chosen)} on their before-period incidents (treated segments "
            f"{int(pairs['treated_before'].sum())}, control {int(pairs['control_before'].sum())})"
            f" and length; an incident counts for the control when its nearest segment within "
            f"{matched.snap_m:g} m is a matched one"
        )
        t_sum, c_sum = int(pairs["treated_before"].sum()), int(pairs["control_before"].sum())
        if abs(t_sum - c_sum) > max(2.0 * math.sqrt(t_sum), 0.2 * t_sum):
            run_notes.append(
                f"the match is poor: the control segments held {c_sum} before-period incidents "
                f"against the treated segments' {t_sum}; give a wider network (or a larger "
                "within_m) so that comparable streets can be found"
            )
        _add_control_buffer(areas, labels, names, cwidth, control_buffer, width, crs, work,
                            run_notes)  # fmt: skip
    area_of = np.full(len(frame), None, dtype=object)
    for name in AREAS:
        if name not in areas:
            continue
        free = area_of == None  # noqa: E711  (object array)
        hit = np.zeros(len(frame), dtype=bool)
        if name == "control" and pairs is not None:
            hit[free] = np.isin(seg_of[free], chosen)
        else:
            poly = areas[name]
            shapely.prepare(poly)
            hit[free] = shapely.covers(poly, pts[free])
        area_of[hit] = name
    inside = area_of != None  # noqa: E711
    if not inside.any():
        raise InputError(
            "no incident of the before or after period lies in any of the areas: do the "
            "incidents cover them (same place, same CRS)?",
            file=inc_label,
        )
    counted = gpd.GeoDataFrame(
        {
            "category": frame["category"].to_numpy()[inside],
            "source": frame["source"].to_numpy()[inside],
            "month": frame["month"].to_numpy()[inside],
            "period": np.where(
                np.isin(frame["month"].to_numpy()[inside], before_m), "before", "after"
            ),
            "area": area_of[inside],
        },
        geometry=pts[inside],
        crs=work,
    )

    all_cats = pd.unique(frame["category"].to_numpy())
    if categories is None:
        cats = list(all_cats)
    else:
        cats = list(
            dict.fromkeys(
                str(c) for c in ([categories] if isinstance(categories, str) else categories)
            )
        )
        unknown = [c for c in cats if c not in set(all_cats)]
        if unknown:
            raise InputError(
                f"no incident of categor{'y' if len(unknown) == 1 else 'ies'} "
                f"{', '.join(map(repr, unknown))} in the two periods; the categories are "
                f"{', '.join(sorted(map(str, all_cats)))}",
                file=inc_label,
            )
        if not cats:
            raise InputError("categories: none given")
    counted_sel = counted[counted["category"].isin(cats)]
    table = _table(counted_sel, cats, areas, alpha)
    table.attrs.update(
        {
            "method": "WDQ, success measure and total net effect: Bowers & Johnson (2003); "
            "WDD: Wheeler & Ratcliffe (2018)",
            "before": before_m,
            "after": after_m,
            "crs": work.to_string(),
            "area_m2": {k: float(v.area) for k, v in areas.items()},
            "buffer_m": width,
            "control_buffer_m": cwidth if "control_buffer" in areas else None,
            "alpha": alpha,
            "incidents": inc_label,
            "incident_formats": formats,
            "matching": pairs,
            "notes": run_notes,
            "context": EvaluationContext(
                areas=gpd.GeoDataFrame(
                    {
                        "area": list(areas),
                        "label": [labels[k] for k in areas],
                        "name": [names.get(k, "") for k in areas],
                        "area_m2": [float(g.area) for g in areas.values()],
                    },
                    geometry=list(areas.values()),
                    crs=work,
                ),
                incidents=counted_sel.reset_index(drop=True),
                crs=work,
            ),
        }
    )
    return table


def _add_control_buffer(
    areas: dict[str, shapely.Geometry],
    labels: dict[str, str],
    names: dict[str, str],
    cwidth: float | None,
    control_buffer: Any,
    width: float | None,
    crs: Any,
    work: Any,
    run_notes: list[str],
) -> None:
    """Add the control's buffer to ``areas`` (a ring, or a polygon given), then check that
    no area is empty once the others are cut out."""
    if control_buffer is not None or width is not None:
        taken = shapely.union_all([areas["treated"], areas.get("buffer", shapely.Polygon())])
        if cwidth is not None:
            ring = _ring(areas["control"], cwidth)
            if shapely.intersection(ring, taken).area > OVERLAP_TOLERANCE_M2:
                run_notes.append(
                    "the control buffer reached the treated area or its buffer: that part cut out"
                )
            areas["control_buffer"] = shapely.difference(ring, taken)
            labels["control_buffer"] = f"{cwidth:g} m ring"
        else:
            g, g_crs, g_label, names["control_buffer"] = _polygon_of(
                control_buffer, "control buffer", crs
            )
            cb = shapely.difference(_to(g, g_crs, work), areas["control"])
            areas["control_buffer"] = cb
            labels["control_buffer"] = g_label
            _check_apart(areas, [("treated", "control_buffer"), ("buffer", "control_buffer")])
    for name, geom in areas.items():
        if geom.is_empty or geom.area <= OVERLAP_TOLERANCE_M2:
            raise InputError(
                f"the {name.replace('_', ' ')} area is empty once the others are cut out"
            )


def _table(
    counted: pd.DataFrame, cats: list[str], areas: Mapping[str, Any], alpha: float
) -> pd.DataFrame:
    """Counts per category, area and period, and the measures of each row."""
    grid = pd.DataFrame(0.0, index=pd.Index(cats, dtype=object), columns=list(COUNT_COLUMNS))
    if len(counted):
        keys = counted["area"].astype(str) + "_" + counted["period"].astype(str)
        tally = pd.crosstab(counted["category"].to_numpy(), keys.to_numpy())
        grid = grid.add(
            tally.reindex(index=cats, columns=list(COUNT_COLUMNS), fill_value=0), fill_value=0.0
        )[list(COUNT_COLUMNS)].astype(float)
    for name in AREAS:
        if name not in areas:
            grid[[f"{name}_before", f"{name}_after"]] = math.nan
    order = sorted(cats, key=lambda c: (-float(grid.loc[c].sum(skipna=True)), str(c)))
    grid = grid.loc[order]
    grid.loc[ALL] = grid.sum(axis=0, skipna=False)
    rows = []
    for cat, counts in grid.iterrows():
        rows.append(
            {"category": cat, **counts.to_dict(), **measures(counts.to_dict(), alpha=alpha)}
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in COUNT_COLUMNS:
        if table[col].notna().all():
            table[col] = table[col].astype("int64")
    return table
