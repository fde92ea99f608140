"""Test-area evaluation: did crime fall in a treated area, and did it move next door?

``evaluate(treated, control, buffer=..., before=..., after=..., incidents=...)`` counts
recorded incidents in four areas — the treated area ``R``, the buffer (displacement area)
``D`` around it, the control area ``C`` and, for the weighted displacement difference, the
control's own buffer ``CD`` — in a before and an after period, and computes per crime
category:

* the **success measure**, **weighted displacement quotient** and **total net effect** of
  Bowers & Johnson (2003), in the notation of Guerette (2009, appendix B)::

      SM   = Ra/Ca − Rb/Cb                                   (< 0: the treated area improved)
      BM   = Da/Ca − Db/Cb                                   (the buffer displacement measure)
      WDQ  = BM / SM                                         (> 0 diffusion, < 0 displacement)
      TNE  = [Rb·(Ca/Cb) − Ra] + [Db·(Ca/Cb) − Da]           (crimes prevented, net)

  with ``b`` before and ``a`` after;

* the **weighted displacement difference** of Wheeler & Ratcliffe (2018)::

      WDD  = ΔR − ΔC + ΔD − ΔCD,   ΔX = X_after − X_before
      Var(WDD) = Rb + Ra + Cb + Ca + Db + Da + CDb + CDa     (independent Poisson counts)
      z = WDD / √Var,   95 % CI = WDD ± 1.96·√Var

  (negative: fewer crimes than the control's trend predicts).

References
----------
Bowers, K. J. and Johnson, S. D. (2003). Measuring the geographical displacement and
diffusion of benefit effects of crime prevention activity. *Journal of Quantitative
Criminology* 19(3), 275–301. doi:10.1023/A:1024909009240
Guerette, R. T. (2009). *Analyzing Crime Displacement and Diffusion*. Problem-Oriented
Guides for Police, Problem-Solving Tools Series No. 10, appendix B (the WDQ and TNE
formulas as used here). Center for Problem-Oriented Policing.
Wheeler, A. P. and Ratcliffe, J. H. (2018). A simple weighted displacement difference test
to evaluate place based crime interventions. *Crime Science* 7:11.
doi:10.1186/s40163-018-0085-5
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from safespace._crs import crs_choice
from safespace.errors import InputError

#: The areas, in the order an incident on a shared edge is given to (first wins).
AREAS: tuple[str, ...] = ("treated", "buffer", "control", "control_buffer")

#: Count columns of the result, per area and period.
COUNT_COLUMNS: tuple[str, ...] = tuple(f"{a}_{p}" for a in AREAS for p in ("before", "after"))

#: Every column of the table :func:`evaluate` returns, in order.
COLUMNS: tuple[str, ...] = (
    "category",
    *COUNT_COLUMNS,
    "success_measure",
    "buffer_measure",
    "wdq",
    "total_net_effect",
    "wdd",
    "wdd_local",
    "wdd_displacement",
    "wdd_se",
    "wdd_z",
    "wdd_p",
    "wdd_ci_low",
    "wdd_ci_high",
    "note",
)

#: The category label of the row that sums every selected category.
ALL = "all"

#: Overlap (m²) below which two areas drawn edge to edge are taken not to overlap: a
#: shared boundary digitised twice differs by rounding (1e-7° ≈ 1 cm), which leaves
#: slivers of a few cm² along a 1 km edge; a real overlap of a street width is ≫ 1 m².
OVERLAP_TOLERANCE_M2 = 1.0

_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_MONTH_NAMES = ("month", "Month")


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


# --------------------------------------------------------------------------- formulas


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0 else math.nan


def wdq_measures(
    treated: tuple[float, float],
    control: tuple[float, float],
    buffer: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Bowers & Johnson's (2003) success measure, WDQ and total net effect from counts.

    Parameters
    ----------
    treated, control, buffer
        ``(before, after)`` counts of the treated area ``R``, the control area ``C`` and
        the buffer (displacement area) ``D``; ``buffer=None`` when there is none.

    Returns
    -------
    dict
        ``success_measure`` ``Ra/Ca − Rb/Cb``; ``buffer_measure`` ``Da/Ca − Db/Cb``;
        ``wdq`` their quotient ``BM/SM``; ``total_net_effect``
        ``[Rb·Ca/Cb − Ra] + [Db·Ca/Cb − Da]`` (the second bracket only with a buffer);
        ``notes``, a list of sentences. A quotient whose denominator is zero is NaN with
        a note, never an error or an infinity.

    Notes
    -----
    The formulas as restated by Guerette (2009, appendix B). The WDQ is read only when
    the success measure is negative (the treated area improved relative to the control,
    Bowers & Johnson 2003): a positive WDQ then means a diffusion of benefit to the
    buffer, a negative one displacement into it; beyond ±1 the buffer's change exceeds
    the treated area's.
    """
    rb, ra = (float(v) for v in treated)
    cb, ca = (float(v) for v in control)
    notes: list[str] = []
    if cb == 0 or ca == 0:
        which = " and ".join(p for p, v in (("before", cb), ("after", ca)) if v == 0)
        undefined = (
            "success measure, WDQ and total net effect" if cb == 0 else ("success measure and WDQ")
        )
        notes.append(f"the control area has no incidents {which}: {undefined} undefined")
    sm = _ratio(ra, ca) - _ratio(rb, cb)
    bm = math.nan
    if buffer is not None:
        db, da = (float(v) for v in buffer)
        bm = _ratio(da, ca) - _ratio(db, cb)
    wdq = math.nan
    if buffer is None:
        notes.append("no buffer: WDQ undefined")
    elif math.isfinite(sm) and sm == 0:
        notes.append("success measure 0 (no change relative to the control): WDQ undefined")
    elif math.isfinite(sm) and math.isfinite(bm):
        wdq = bm / sm
        if sm > 0:
            notes.append(
                "success measure > 0 (the treated area did not improve relative to the "
                "control): the WDQ is not a displacement measure here"
            )
    scale = _ratio(ca, cb)
    tne = rb * scale - ra
    if buffer is not None:
        tne += db * scale - da
    return {
        "success_measure": sm,
        "buffer_measure": bm,
        "wdq": wdq,
        "total_net_effect": tne,
        "notes": notes,
    }


def wdd_test(
    treated: tuple[float, float],
    control: tuple[float, float],
    buffer: tuple[float, float] | None = None,
    control_buffer: tuple[float, float] | None = None,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Wheeler & Ratcliffe's (2018) weighted displacement difference and its test.

    Parameters
    ----------
    treated, control, buffer, control_buffer
        ``(before, after)`` counts of the treated area, its control, the treated area's
        displacement area and the control's displacement area. The displacement term
        ``ΔD − ΔCD`` is used only when both buffers are given.
    alpha
        Two-sided level of the confidence interval (0.05: a 95 % interval).

    Returns
    -------
    dict
        ``wdd`` ``ΔR − ΔC + ΔD − ΔCD``, ``wdd_local`` ``ΔR − ΔC``, ``wdd_displacement``
        ``ΔD − ΔCD`` (NaN without both buffers), ``wdd_se`` the square root of the sum of
        the counts used (each count an independent Poisson variable, whose variance is its
        mean), ``wdd_z`` ``WDD/SE``, ``wdd_p`` its two-sided normal p-value,
        ``wdd_ci_low``/``wdd_ci_high`` ``WDD ∓ z_{1−α/2}·SE``, and ``notes``.

    Examples
    --------
    The paper's worked example (control 308→318, treated 207→110, control displacement
    150→140, treated displacement 178→157):

    >>> r = wdd_test((207, 110), (308, 318), (178, 157), (150, 140))
    >>> r["wdd"], r["wdd_se"] ** 2, round(r["wdd_z"], 2)
    (-118.0, 1568.0, -2.98)
    """
    rb, ra = (float(v) for v in treated)
    cb, ca = (float(v) for v in control)
    notes: list[str] = []
    local = (ra - rb) - (ca - cb)
    var = rb + ra + cb + ca
    disp = math.nan
    if buffer is not None and control_buffer is not None:
        db, da = (float(v) for v in buffer)
        cdb, cda = (float(v) for v in control_buffer)
        disp = (da - db) - (cda - cdb)
        var += db + da + cdb + cda
    elif buffer is not None:
        notes.append("no control buffer: WDD covers the treated area only (no displacement term)")
    wdd = local + (disp if math.isfinite(disp) else 0.0)
    se = math.sqrt(var)
    if se > 0:
        z = wdd / se
        p = 2.0 * (1.0 - NormalDist().cdf(abs(z)))
        half = NormalDist().inv_cdf(1.0 - alpha / 2.0) * se
        lo, hi = wdd - half, wdd + half
    else:
        z = p = math.nan
        lo = hi = wdd
        notes.append("no incidents in any area: WDD's standard error is 0, z undefined")
    return {
        "wdd": wdd,
        "wdd_local": local,
        "wdd_displacement": disp,
        "wdd_se": se,
        "wdd_z": z,
        "wdd_p": p,
        "wdd_ci_low": lo,
        "wdd_ci_high": hi,
        "notes": notes,
    }


def measures(counts: Mapping[str, float], *, alpha: float = 0.05) -> dict[str, Any]:
    """Every measure of one table row from its counts (:data:`COUNT_COLUMNS` keys).

    A missing area (no buffer, no control buffer) has NaN counts; the measures that need
    it are NaN and say so in ``note``.
    """

    def pair(area: str) -> tuple[float, float] | None:
        b, a = counts.get(f"{area}_before", math.nan), counts.get(f"{area}_after", math.nan)
        return None if (b is None or a is None or math.isnan(b) or math.isnan(a)) else (b, a)

    r, d, c, cd = (pair(a) for a in AREAS)  # AREAS: treated, buffer, control, control buffer
    if r is None or c is None:
        raise ValueError("measures need the treated and control counts")
    q = wdq_measures(r, c, d)
    w = wdd_test(r, c, d, cd, alpha=alpha)
    notes = q.pop("notes") + w.pop("notes")
    return {**q, **w, "note": "; ".join(dict.fromkeys(notes))}


# --------------------------------------------------------------------------- periods


def _one_month(text: str, what: str) -> pd.Period:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(
            f"{what}: {text!r} is not a month: write YYYY-MM (2016-07) or a range "
            "YYYY-MM..YYYY-MM (2016-01..2016-06)"
        )
    return pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")


def parse_months(spec: Any, what: str = "period") -> list[str]:
    """Months named by ``"2016-07"``, ``"2016-01..2016-06"``, or a list of either.

    Also accepts :class:`pandas.Period`, ``datetime.date`` and anything with ``year`` and
    ``month``. Returns sorted, distinct ``"YYYY-MM"`` strings.

    Raises
    ------
    InputError
        A malformed month, a range that ends before it starts, or no month at all.
    """
    items: Iterable[Any]
    if spec is None:
        items = []
    elif isinstance(spec, str) or hasattr(spec, "month"):
        items = [spec]
    elif isinstance(spec, Iterable):
        items = list(spec)
    else:
        raise InputError(f"{what}: cannot read {spec!r} as months")
    months: set[pd.Period] = set()
    for item in items:
        if hasattr(item, "year") and hasattr(item, "month") and not isinstance(item, str):
            months.add(pd.Period(year=int(item.year), month=int(item.month), freq="M"))
            continue
        text = str(item)
        if ".." in text:
            start_text, _, end_text = text.partition("..")
            start, end = _one_month(start_text, what), _one_month(end_text, what)
            if end < start:
                raise InputError(f"{what}: the range {text!r} ends before it starts")
            months.update(pd.period_range(start, end, freq="M"))
        else:
            months.add(_one_month(text, what))
    if not months:
        raise InputError(f"{what}: no month given (e.g. before='2016-07')")
    return [str(p) for p in sorted(months)]


# --------------------------------------------------------------------------- areas


def _crs_of(value: Any, what: str) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InputError(f"{what}: unknown CRS {value!r} ({exc})") from None


def _polygon_of(value: Any, what: str, crs: Any) -> tuple[shapely.Geometry, CRS, str, str]:
    """One (multi)polygon, its CRS, a label and a name (or ``""``), from a file, geometry or frame."""
    label = f"<{what}>"
    if isinstance(value, shapely.Geometry):
        if crs is None:
            raise InputError(
                f"the {what} area is a shapely geometry without a CRS: pass crs=... (e.g. "
                "'EPSG:4326') or give a GeoSeries/GeoDataFrame that has one"
            )
        geoms, src = np.array([value], dtype=object), _crs_of(crs, what)
        tags = [{}]
    elif isinstance(value, gpd.GeoSeries | gpd.GeoDataFrame):
        if value.crs is None and crs is None:
            raise InputError(
                f"the {what} {type(value).__name__} has no CRS: set one (.set_crs) or pass crs=...",
                file=f"<{type(value).__name__}>",
            )
        src = _crs_of(value.crs if value.crs is not None else crs, what)
        geoms = np.asarray(
            value.geometry.values if isinstance(value, gpd.GeoDataFrame) else value.values,
            dtype=object,
        )
        names = value["name"] if isinstance(value, gpd.GeoDataFrame) and "name" in value else None
        tags = [{}] * len(geoms) if names is None else [{"name": n} for n in names]
        label = f"<{type(value).__name__}>"
    elif isinstance(value, str | os.PathLike | Mapping):
        from safespace.io.sources import read_source

        raw = read_source(value)
        label = raw.label
        if raw.features.crs is None and crs is None:
            raise InputError(f"the {what} file has no CRS: pass crs=...", file=label)
        src = _crs_of(raw.features.crs if raw.features.crs is not None else crs, what)
        geoms = np.asarray(raw.features.geometry.values, dtype=object)
        tags = list(raw.features["tags"]) if "tags" in raw.features else [{}] * len(geoms)
    else:
        raise InputError(
            f"cannot read the {what} area from a {type(value).__name__}: give a polygon file, "
            "a shapely polygon, a GeoSeries or a GeoDataFrame"
        )
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) if len(geoms) else np.array([])
    polys = np.isin(shapely.get_type_id(geoms), (3, 6)) & ok if len(geoms) else ok
    if not polys.any():
        raise InputError(f"the {what} area has no polygon", file=label)
    site = np.array([t.get("safespace:role") == "site" for t in tags], dtype=bool) & polys
    chosen = geoms[site if site.any() else polys]
    geom = shapely.union_all(shapely.make_valid(chosen))
    geom = shapely.union_all(
        [g for g in shapely.get_parts(geom) if shapely.get_type_id(g) in (3, 6)]
    )
    if geom.is_empty or geom.area == 0:
        raise InputError(f"the {what} area has no extent", file=label)
    picked = [t for t, k in zip(tags, site if site.any() else polys, strict=True) if k]
    names = [str(t["name"]) for t in picked if isinstance(t.get("name"), str) and t["name"].strip()]
    return geom, src, label, ", ".join(dict.fromkeys(names))


def _to(geom: shapely.Geometry, src: CRS, dst: CRS) -> shapely.Geometry:
    if src.equals(dst):
        return geom
    return gpd.GeoSeries([geom], crs=src).to_crs(dst).values[0]


def _width(value: Any, what: str) -> float | None:
    """A ring width in metres, or None when ``value`` is not a number."""
    if isinstance(value, bool):
        raise InputError(f"{what}: {value!r} is neither a width in metres nor a polygon")
    if isinstance(value, int | float | np.integer | np.floating):
        w = float(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9.]+\s*(m)?\s*", value):
        w = float(value.strip().removesuffix("m"))
    else:
        return None
    if not math.isfinite(w) or w <= 0:
        raise InputError(f"{what}: a ring width must be a positive number of metres, not {value!r}")
    return w


def _ring(core: shapely.Geometry, width: float) -> shapely.Geometry:
    return shapely.difference(shapely.buffer(core, width, quad_segs=16), core)


def _check_apart(named: dict[str, shapely.Geometry], pairs: Iterable[tuple[str, str]]) -> None:
    for a, b in pairs:
        ga, gb = named.get(a), named.get(b)
        if ga is None or gb is None:
            continue
        overlap = shapely.intersection(ga, gb).area
        if overlap > OVERLAP_TOLERANCE_M2:
            hint = {
                ("treated", "control"): "a control must lie outside the treated area",
                ("buffer", "control"): "the control must lie outside the treated area's "
                "buffer, or displaced crime would count as the control's",
            }.get((a, b), "the areas must not overlap")
            raise InputError(
                f"the {a.replace('_', ' ')} and {b.replace('_', ' ')} areas overlap by "
                f"{overlap:,.0f} m²: {hint}"
            )


# --------------------------------------------------------------------------- incidents


def _incident_frame(incidents: Any, crs: Any) -> tuple[gpd.GeoDataFrame, list[str], str]:
    """The incidents as one GeoDataFrame (source, category, month, geometry), notes, a label.

    The frame's ``attrs["formats"]`` lists the readers' formats (``data.police.uk``, ...).
    """
    notes: list[str] = []
    formats: list[str] = []
    if isinstance(incidents, gpd.GeoDataFrame):
        fmt = incidents.attrs.get("format")
        formats += [fmt] if isinstance(fmt, str) and fmt else []
        frames, label = [(incidents, "<GeoDataFrame>")], "<GeoDataFrame>"
    elif isinstance(incidents, str | os.PathLike) or (
        isinstance(incidents, Sequence) and not isinstance(incidents, str)
    ):
        paths = [incidents] if isinstance(incidents, str | os.PathLike) else list(incidents)
        if not paths:
            raise InputError("incidents: no file given")
        try:
            from safespace.io.incidents import read_incidents
        except ImportError as exc:  # pragma: no cover - until the reader is installed
            raise InputError(
                f"reading incident files needs safespace.io.incidents ({exc}); pass a "
                "GeoDataFrame as incidents="
            ) from None
        frames = []
        for p in paths:
            if isinstance(p, gpd.GeoDataFrame):
                frames.append((p, "<GeoDataFrame>"))
                continue
            frame = read_incidents(p)
            fmt = frame.attrs.get("format")
            if isinstance(fmt, str) and fmt:
                formats.append(fmt)
            unlocated = _unlocated(frame)
            if unlocated:
                notes.append(f"{p}: {unlocated:,} incident(s) without a location not counted")
            frames.append((frame, str(p)))
        label = ", ".join(str(p) for p in paths if not isinstance(p, gpd.GeoDataFrame))
    else:
        raise InputError(
            f"incidents: cannot read a {type(incidents).__name__}; give a path, a list of "
            "paths or a GeoDataFrame"
        )
    out = []
    for frame, flabel in frames:
        fcrs = frame.crs if frame.crs is not None else crs
        if fcrs is None:
            raise InputError(
                "the incidents have no CRS: set one (.set_crs) or pass crs=...", file=label
            )
        fcrs = _crs_of(fcrs, "incidents")
        if "category" not in frame.columns:
            raise InputError("the incidents have no 'category' column", file=label)
        month = _month_column(frame, label)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        ok = ~shapely.is_missing(geoms)
        ok[ok] = ~shapely.is_empty(geoms[ok])
        if (~ok).any():
            notes.append(f"{int((~ok).sum()):,} incident(s) without a geometry not counted")
        source = (
            frame["source"].astype(str).to_numpy()[ok]
            if "source" in frame.columns
            else np.full(int(ok.sum()), flabel, dtype=object)
        )
        part = gpd.GeoDataFrame(
            {
                "source": source,
                "category": frame["category"]
                .astype(object)
                .where(frame["category"].notna(), "unknown")
                .astype(str)
                .to_numpy()[ok],
                "month": month[ok],
            },
            geometry=shapely.point_on_surface(geoms[ok]) if ok.any() else geoms[ok],
            crs=fcrs,
        )
        out.append(part)
    crs0 = out[0].crs
    frame = gpd.GeoDataFrame(
        pd.concat([f.to_crs(crs0) for f in out], ignore_index=True),
        geometry="geometry",
        crs=crs0,
    )
    frame.attrs = {"formats": sorted(set(formats))}
    return frame, notes, label


def _unlocated(frame: gpd.GeoDataFrame) -> int:
    """Incidents a reader counted but could not place, from its ``attrs`` (0 if unknown)."""
    for key in ("unlocated", "n_unlocated", "unlocated_count"):
        v = frame.attrs.get(key)
        if isinstance(v, int | np.integer):
            return int(v)
        if isinstance(v, Mapping):
            nums = [x for x in v.values() if isinstance(x, int | np.integer)]
            return int(sum(nums))
        if isinstance(v, pd.DataFrame | Sequence) and not isinstance(v, str):
            return len(v)
    return 0


def _month_column(frame: pd.DataFrame, label: str) -> np.ndarray:
    for name in _MONTH_NAMES:
        if name in frame.columns:
            col = frame[name]
            if pd.api.types.is_datetime64_any_dtype(col):
                return col.dt.strftime("%Y-%m").to_numpy(dtype=object)
            text = col.astype(str).str.strip().str[:7]
            return text.where(text.str.match(r"^\d{4}-\d{2}$"), None).to_numpy(dtype=object)
    if "date" in frame.columns:
        dates = pd.to_datetime(frame["date"], errors="coerce")
        return dates.dt.strftime("%Y-%m").to_numpy(dtype=object)
    raise InputError("the incidents have no 'month' (YYYY-MM) or 'date' column", file=label)


# --------------------------------------------------------------------------- evaluate


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
        area or its buffer.
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
        ``area_m2`` per area, ``buffer_m``, ``notes`` (sentences about the whole run),
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

    t_geom, t_crs, t_label, t_name = _polygon_of(treated, "treated", crs)
    c_geom, c_crs, c_label, c_name = _polygon_of(control, "control", crs)
    c_in_t = _to(c_geom, c_crs, t_crs)
    bounds = shapely.union_all([t_geom, c_in_t]).bounds
    work, why = crs_choice(bounds, t_crs, t_label)
    if why:
        run_notes.append(why)
    areas: dict[str, shapely.Geometry] = {
        "treated": _to(t_geom, t_crs, work),
        "control": _to(c_geom, c_crs, work),
    }
    labels = {"treated": t_label, "control": c_label}
    names = {"treated": t_name, "control": c_name}
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
    area_of = np.full(len(frame), None, dtype=object)
    for name in AREAS:
        if name not in areas:
            continue
        poly = areas[name]
        shapely.prepare(poly)
        free = area_of == None  # noqa: E711  (object array)
        hit = np.zeros(len(frame), dtype=bool)
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


def format_table(table: pd.DataFrame) -> str:
    """The table as fixed-width text for a terminal: counts, WDQ, TNE, WDD with its CI.

    Counts read ``before→after`` per area (T treated, B buffer, C control, CB control
    buffer); ``—`` marks an undefined value (its reason is in the notes under the table).
    """

    def num(v: Any, fmt: str) -> str:
        return (
            "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)
        )

    def pair(row: pd.Series, area: str) -> str:
        b, a = row[f"{area}_before"], row[f"{area}_after"]
        if pd.isna(b) or pd.isna(a):
            return "—"
        return f"{int(b)}→{int(a)}"

    header = ["category", "T", "B", "C", "CB", "SM", "WDQ", "TNE", "WDD", "SE", "z", "95% CI"]
    lines = [header]
    for _, row in table.iterrows():
        ci = (
            f"{row['wdd_ci_low']:.0f}..{row['wdd_ci_high']:.0f}"
            if math.isfinite(row["wdd_z"])
            else "—"
        )
        lines.append(
            [
                str(row["category"]),
                pair(row, "treated"),
                pair(row, "buffer"),
                pair(row, "control"),
                pair(row, "control_buffer"),
                num(row["success_measure"], "{:+.3f}"),
                num(row["wdq"], "{:+.2f}"),
                num(row["total_net_effect"], "{:+.1f}"),
                num(row["wdd"], "{:+.0f}"),
                num(row["wdd_se"], "{:.1f}"),
                num(row["wdd_z"], "{:+.2f}"),
                ci,
            ]
        )
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    out = []
    for n, r in enumerate(lines):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {row['category']}: {row['note']}" for _, row in table.iterrows() if row["note"]]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)
