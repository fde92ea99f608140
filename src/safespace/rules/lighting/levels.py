"""LT001 and LT002: route stretches below their EN 13201 P class, and dark spots along
routes (the darkest point of a cross-section below the class's Emin)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely

from safespace._classify import LIT_DUSK_TO_DAWN, LIT_UNLIT, tag_text
from safespace._geom import line_substrings
from safespace.analyses.lighting_stretches import (
    LOWEST_CLASS,
    P_CLASSES,
    class_keys,
    lamps_partial,
    route_parts,
)
from safespace.findings import Finding, Metric, Score
from safespace.rules.engine import Param, Site, rule
from safespace.rules.lighting._shared import (
    _CLASS_WHAT,
    LIGHTING,
    REF_LT,
    UNVERIFIED,
    _assumptions,
    _basis,
    _best_class_met,
    _by_route,
    _cap,
    _lower_bound,
    _lx,
    _multi,
    _place,
    _ranges,
    _required_class,
    _Row,
)

# --- LT001 ---------------------------------------------------------------------------------


def _p_class_finding(site: Site, rows: list, below_all: bool) -> Finding:
    """The failing stretches (table rows) of one route or area, in one tier: below every P
    class (``below_all``: the verdict does not rest on which class the route was given) or
    below only the class the profile chose for it. One finding, the worst figures."""
    first = rows[0]
    cls, key = first.cls, first.cls_key
    req_avg, req_min = P_CLASSES[cls]
    e_avg = min(float(r.E_avg) for r in rows)
    e_min = min(float(r.E_min) for r in rows)
    is_route = first.kind == "route"
    geometry = _multi(rows) if is_route else first.geometry
    place = _place(site, first.kind, first.fid, first.name, first.highway, geometry)
    if is_route:
        length = float(np.sum([r.length_m for r in rows]))
        where = (
            f"{_cap(place)}, {_ranges(rows)}"
            if len(rows) == 1
            else f"{_cap(place)}: {len(rows)} stretches, {length:.0f} m in all ({_ranges(rows)})"
        )
    else:
        length = None
        where = _cap(place)
    low_avg, low_min = P_CLASSES[LOWEST_CLASS]
    figures = (
        f"average {_lx(e_avg)} lx, minimum {_lx(e_min, 2)} lx"
        if len(rows) == 1
        else f"worst average {_lx(e_avg)} lx, lowest minimum {_lx(e_min, 2)} lx"
    )
    if below_all:
        severity = "high" if e_avg < low_avg - 1e-9 else "medium"
        message = (
            f"{where}: {figures}, below even {LOWEST_CLASS} ({low_avg:g} / {low_min:g} lx), "
            f"the lowest EN 13201-2 P class, so below any class it could be given "
            f"(this profile asks {cls}, {req_avg:g} / {req_min:g} lx)."
        )
        rests_on: list[str] = []
    else:
        severity = "medium"
        met = _best_class_met(e_avg, e_min)
        message = (
            f"{where}: {figures}, below {cls} ({req_avg:g} / {req_min:g} lx), the class this "
            f"profile gives {_CLASS_WHAT[key]}" + (f"; it meets {met}." if met else ".")
        )
        rests_on = [key]
    basis = _basis(rows)
    evidence = {
        "E_avg_lx": round(e_avg, 3),
        "E_min_lx": round(e_min, 3),
        "U0": round(min(float(r.U0) for r in rows), 3),
        "required_class": cls,
        "required_avg_lx": req_avg,
        "required_min_lx": req_min,
        "class_parameter": key,
        "below_every_class": bool(below_all),
        "best_class_met": _best_class_met(e_avg, e_min),
        "length_m": None if length is None else round(length, 1),
        "grid_points": int(sum(int(r.n) for r in rows)),
        "lit_tag": tag_text(first.lit),
        "lamps_in_reach": int(max(int(r.lamps) for r in rows)),
        "stretches": [
            {
                "from_m": round(float(r.a0), 1),
                "to_m": round(float(r.a1), 1),
                "E_avg_lx": round(float(r.E_avg), 3),
                "E_min_lx": round(float(r.E_min), 3),
            }
            for r in rows
        ]
        if is_route
        else [],
    }  # fmt: skip
    assumptions = _assumptions(site, rows)
    if assumptions:
        evidence["assumptions"] = assumptions
    if _lower_bound(rows):
        evidence["lower_bound"] = True
    return Finding(
        severity=severity,
        title=f"Lighting below {LOWEST_CLASS if below_all else cls}",
        message=message,
        geometry=geometry,
        evidence=evidence,
        recommendation=(
            f"Add or re-space lamps, raise their output, or remove what shades them, until "
            f"the {'route' if is_route else 'area'} reaches {cls}; confirm with a lighting "
            "design to EN 13201-3 (and the class with BS 5489-1 in the UK)."
        ),
        features=[first.fid],
        basis=basis,
        rests_on=rests_on,
    )


def _gap_geometry(rows: pd.DataFrame) -> shapely.Geometry | None:
    lines = [g for g in rows.loc[rows["kind"] == "route", "geometry"] if g is not None]
    parts = shapely.get_parts(np.array(lines, dtype=object)) if lines else []
    parts = [p for p in parts if p.geom_type == "LineString" and not p.is_empty]
    return shapely.MultiLineString(parts) if parts else None


def _lamp_gap_finding(st: pd.DataFrame, total_m: float) -> Finding | None:
    """One data-gap finding for every stretch and area the mapped lamps do not light in a
    partial lamp layer (no mapped lamp within reach, or part of it unlit by any), untagged
    or tagged lit alike."""
    gap = st[st["gap"]]
    if gap.empty:
        return None
    routes = gap[gap["kind"] == "route"]
    length = float(routes["length_m"].sum())
    none_m = float(routes.loc[routes["gap_no_lamp"], "length_m"].sum())
    areas = gap[gap["kind"] != "route"].drop_duplicates(["kind", "fid"])
    share = length / total_m if total_m > 0 else 0.0
    tagged = float(routes.loc[routes["lit"].isin(LIT_DUSK_TO_DAWN), "length_m"].sum())
    what = []
    if length > 0:
        what.append(
            f"{_km(length)} of the {_km(total_m)} of outdoor route in the site ({100 * share:.0f}%)"
        )
    if len(areas):
        k = len(areas)
        what.append(f"{k} parking or pedestrian area{'s' if k != 1 else ''}")
    detail = []
    if length > 0:
        detail.append(f"{_km(none_m)} of the route has no mapped lamp within reach at all")
    if tagged > 0:
        detail.append(f"{_km(tagged)} is tagged lit, so its lamps are simply not mapped")
    return Finding(
        severity="info",
        title="Street lighting not mapped",
        message=(
            "The mapped street lamps do not light "
            + " or ".join(what)
            + (f" ({'; '.join(detail)})" if detail else "")
            + ". The lamp data is partial, so a lamp that is not mapped is unknown, not "
            "absent: the lighting there cannot be assessed from this data."
        ),
        geometry=_gap_geometry(gap),
        evidence={
            "gap": {
                "kind": "lamps-unmapped",
                "extent": round(length, 1),
                "unit": "m",
                "resolve": "supply the lighting plan: lamp positions, mounting heights and "
                "photometry",
            },
            "length_m": round(length, 1),
            "length_no_lamp_in_reach_m": round(none_m, 1),
            "share_of_route": round(share, 4),
            "length_tagged_lit_m": round(tagged, 1),
            "areas": [str(f) for f in areas["fid"]],
        },
        recommendation="Supply the lighting plan (lamp positions, mounting heights and "
        "photometry), or map the street lamps, and assess again.",
        features=[],
        basis="data-gap",
    )


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


@rule(
    "LT001",
    "Route stretches below their EN 13201 P class",
    "lighting",
    principles=["natural_surveillance"],
    settings=[LIGHTING],
    references=REF_LT,
)
def p_class(site: Site) -> Iterator[Finding | Metric | Score]:
    """Maintained horizontal illuminance on each route stretch (≈ 50 m), pedestrian area and
    parking area against the P class its type needs: Ē and Emin (EN 13201-2). A route's
    failing stretches are one finding per tier (MultiLineString, worst figures, per-stretch
    list): below every P class (rests on no class choice) or below only the class chosen.
    Stretches no mapped lamp reaches in a partial lamp layer are one data-gap finding."""
    st = site.shared("lighting", "stretches")
    if st.empty:
        yield Metric("assessable_share", None, "ratio")
        yield Metric("lit_route_share", None, "ratio")
        yield Score("lighting", None, "no outdoor route or area in the site to assess")
        return
    ok = st[st["assessable"]]
    fail = ok[~ok["meets"]].reset_index(drop=True)
    tuples = list(fail.itertuples())
    for pos in _by_route(fail, ["fails_all"]):
        rows = [tuples[i] for i in pos]
        yield _p_class_finding(site, rows, bool(rows[0].fails_all))
    is_route = st["kind"] == "route"
    all_m = float(st.loc[is_route, "length_m"].sum())
    routes = ok[ok["kind"] == "route"]
    total = float(routes["length_m"].sum())
    met = float(routes.loc[routes["meets"], "length_m"].sum())
    unknown = float(st.loc[st["gap"] & is_route, "length_m"].sum())
    gap = _lamp_gap_finding(st, all_m)
    if gap is not None:
        yield gap
    share = met / total if total > 0 else None
    assessable = total / all_m if all_m > 0 else None
    yield Metric("assessable_share", None if assessable is None else round(assessable, 4), "ratio")
    yield Metric("route_length_m", round(all_m, 1), "m")
    yield Metric("route_length_assessed_m", round(total, 1), "m")
    yield Metric("route_length_meeting_class_m", round(met, 1), "m")
    yield Metric("route_length_lamps_unmapped_m", round(unknown, 1), "m")
    yield Metric("lit_route_share", None if share is None else round(share, 4), "ratio")
    if share is None:
        yield Score(
            "lighting",
            None,
            f"none of the {all_m:.0f} m of route in the site can be assessed: no lamp is "
            "mapped within reach",
            confidence=0.0 if all_m > 0 else None,
        )
        return
    extra = f"; {unknown:.0f} m with no mapped lamp could not be assessed" if unknown else ""
    yield Score(
        "lighting",
        round(100.0 * share, 1),
        f"{met:.0f} m of the {total:.0f} m of assessable route in the site meet their EN 13201 "
        f"P class ({100 * share:.0f}%){extra}.",
        confidence=None if assessable is None else round(assessable, 4),
    )


# --- LT002 ---------------------------------------------------------------------------------


@rule(
    "LT002",
    "Dark spots along routes",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_length_m": Param(6.0, "m", "report dark runs at least this long", UNVERIFIED),
        "long_dark_m": Param(25.0, "m", "a dark run this long is a medium finding", UNVERIFIED),
    },
    settings=[LIGHTING],
    references=REF_LT,
)
def dark_spots(site: Site) -> Iterator[Finding | Metric]:
    """Contiguous stretches of route where the darkest point of every cross-section lies
    below the Emin of the route's P class; reported with their length. Cross-sections no
    mapped lamp reaches in a partial lamp layer (not tagged unlit) are unknown and end a
    run; indoor and underground ways are left out."""
    grid = site.shared("lighting")
    keep = (
        grid["in_site"].to_numpy(dtype=bool)
        & (grid["kind"] == "route").to_numpy()
        & ~grid["indoor"].to_numpy(dtype=bool)
    )
    g = grid[keep]
    if g.empty:
        yield Metric("dark_spot_length_m", 0.0, "m")
        return
    g = g.assign(cls=_required_class(site, g), cls_key=class_keys(g))
    rows = g.groupby(["feature", "part", "along"], sort=True).agg(
        E=("E_h", "min"), lamps=("lamps_in_reach", "max"), cls=("cls", "first"),
        cls_key=("cls_key", "first"), fid=("fid", "first"), lit=("lit", "first"),
        highway=("highway", "first"), origin=("origin", "first"), name=("name", "first"),
        ph=("lamps_assumed_photometry", "max"), ht=("lamps_assumed_height", "max"),
        fx=("lamps_assumed_flux", "max"),
    ).reset_index()  # fmt: skip
    lit = np.array([tag_text(v) for v in rows["lit"]], dtype=object)
    partial = lamps_partial(site.layout, rows["origin"].to_numpy(dtype=object))
    no_lamp = rows["lamps"].to_numpy() == 0
    # in partial data a cross-section no mapped lamp lights is unknown (as in LT001)
    unknown = (no_lamp | (rows["E"].to_numpy() <= 0.0)) & partial & ~np.isin(lit, LIT_UNLIT)
    emin = np.array([P_CLASSES[c][1] for c in rows["cls"]])
    dark = (rows["E"].to_numpy() < emin - 1e-9) & ~unknown
    key = rows["feature"].to_numpy() * 100_000 + rows["part"].to_numpy()
    new_group = np.r_[True, key[1:] != key[:-1]]
    start = dark & (new_group | ~np.r_[False, dark[:-1]])
    run_id = np.cumsum(start) - 1
    total = 0.0
    along = rows["along"].to_numpy()
    e_row = rows["E"].to_numpy(dtype=float)
    # row spacing of each part: cells are equal, the first centre is at spacing / 2
    group_first = np.maximum.accumulate(np.where(new_group, np.arange(key.size), 0))
    runs = run_id[dark]
    dark_idx = np.flatnonzero(dark)
    if dark_idx.size == 0:
        yield Metric("dark_spot_length_m", 0.0, "m")
        return
    # one run per contiguous dark block: first and last row, extent, darkest value
    bounds = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1], True])
    firsts = dark_idx[bounds[:-1]]
    lasts = dark_idx[bounds[1:] - 1]
    spacing = along[group_first[firsts]] * 2
    a0 = along[firsts] - spacing / 2
    a1 = along[lasts] + spacing / 2
    length = a1 - a0
    e_low = np.minimum.reduceat(e_row[dark_idx], bounds[:-1])
    # per run: any lamp in reach, any modelled lamp, any partial row
    lamp_any = np.maximum.reduceat(rows["lamps"].to_numpy()[dark_idx], bounds[:-1]) > 0
    by_run = {
        k: np.maximum.reduceat(rows[k].to_numpy()[dark_idx], bounds[:-1])
        for k in ("ph", "ht", "fx")
    }
    assumed_any = (by_run["ph"] + by_run["ht"] + by_run["fx"]) > 0
    partial_any = np.maximum.reduceat(partial[dark_idx].astype(int), bounds[:-1]) > 0
    keep = np.flatnonzero(length >= site.params["min_length_m"] - 1e-9)
    parts, pfirst = route_parts(site.layout)
    feat = rows["feature"].to_numpy()
    part_no = rows["part"].to_numpy()
    pid = pfirst[feat[firsts[keep]]] + part_no[firsts[keep]]
    plen = shapely.length(parts[pid])
    geoms = line_substrings(parts[pid], np.maximum(a0[keep], 0.0), np.minimum(a1[keep], plen))
    cls_a = rows["cls"].to_numpy(dtype=object)
    key_a = rows["cls_key"].to_numpy(dtype=object)
    hw_a = rows["highway"].to_numpy(dtype=object)
    fid_a = rows["fid"].to_numpy(dtype=object)
    name_a = rows["name"].to_numpy(dtype=object)
    low_min = P_CLASSES[LOWEST_CLASS][1]
    for j, r in enumerate(keep):
        first = firsts[r]
        ln = length[r]
        total += ln
        cls = cls_a[first]
        medium = ln >= site.params["long_dark_m"]
        below_all = e_low[r] < low_min - 1e-9
        rests_on = ["min_length_m"] + (["long_dark_m"] if medium else [])
        if not below_all:
            rests_on.append(str(key_a[first]))
        place = _place(site, "route", fid_a[first], tag_text(name_a[first]), hw_a[first], geoms[j])
        modelled = bool(lamp_any[r]) and (bool(assumed_any[r]) or bool(partial_any[r]))
        if lit[first] in LIT_UNLIT:
            modelled = False
        evidence = {
            "length_m": round(float(ln), 1),
            "E_min_lx": round(float(e_low[r]), 3),
            "threshold_lx": P_CLASSES[cls][1],
            "required_class": cls,
            "below_every_class": bool(below_all),
            "lit_tag": lit[first],
        }  # fmt: skip
        if modelled:
            run = _Row(*(int(by_run[k][r]) for k in ("ph", "ht", "fx")), bool(partial_any[r]), 1)
            evidence["assumptions"] = _assumptions(site, [run])
            if _lower_bound([run]):
                evidence["lower_bound"] = True
        yield Finding(
            severity="medium" if medium else "low",
            title="Dark stretch of route",
            message=(
                f"{_cap(place)}: {ln:.0f} m ({a0[r]:.0f}–{a1[r]:.0f} m) where the darkest point "
                f"falls below {P_CLASSES[cls][1]:g} lx, the minimum of {cls}; lowest "
                f"{e_low[r]:.2f} lx."
            ),
            geometry=geoms[j],
            evidence=evidence,
            recommendation="Add a lamp to cover the dark stretch, or remove what shades it.",
            features=[fid_a[first]],
            basis="modelled" if modelled else "measured",
            rests_on=rests_on,
        )
    yield Metric("dark_spot_length_m", round(total, 1), "m")
