"""Built-in lighting rules (``LT``): EN 13201 P classes, dark spots, facial recognition,
routes that must be lit, dusk-to-dawn switching and shaded lamps.

All rules read the shared calculation grid (:func:`~safespace.analyses.lighting_grid.
illuminance_grid`) through ``site.analysis`` so it is computed once per assessment. The
lamp, grid and class assumptions (:data:`SETTINGS`) are one shared settings group: a
profile sets them once under ``[settings.lighting]``, so every rule reads the same grid.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace.analyses.lighting_grid import (
    LIT_DUSK_TO_DAWN,
    LIT_PART_NIGHT,
    LIT_UNLIT,
    entrance_illuminance,
    illuminance_grid,
    lamp_shading,
)
from safespace.errors import RuleError
from safespace.findings import Finding, Metric, Score
from safespace.rules.engine import Param, Site, rule

#: EN 13201-2:2015 P classes: (average Ē, minimum Emin) maintained horizontal illuminance, lx.
#: [checked] via a published summary of EN 13201-2 (GUIDANCE.md).
P_CLASSES: dict[str, tuple[float, float]] = {
    "P1": (15.0, 3.0),
    "P2": (10.0, 2.0),
    "P3": (7.5, 1.5),
    "P4": (5.0, 1.0),
    "P5": (3.0, 0.6),
    "P6": (2.0, 0.4),
}

EN13201_2 = "EN 13201-2:2015 Road lighting — Performance requirements, P classes [checked]"
EN13201_3 = "EN 13201-3:2015 Road lighting — Calculation of performance [quoted]"
SBD_SWITCHING = (
    "Secured by Design, Sheltered Accommodation 2004: lighting switched automatically dusk to "
    "dawn [checked]"
)
ROMBAUTS = (
    "Rombauts et al. 1989, via Lin & Fotios 2015: Esc ≈ 0.4–0.6 lx identifies a face at 4 m, "
    "≈ 3 lx at 10 m [quoted]"
)
OSM_LIT = "OSM wiki, Key:lit [checked]"
UNVERIFIED = "safespace default, typical practice; no public source found [unverified]"

#: Lamp and grid assumptions, shared by every rule that reads the grid.
GRID_PARAMS: dict[str, Param] = {
    "footway_height_m": Param(5.0, "m", "mounting height of an untagged lamp by a footway/path", UNVERIFIED),
    "street_height_m": Param(6.0, "m", "mounting height of an untagged lamp by a residential/service street", UNVERIFIED),
    "main_road_height_m": Param(8.0, "m", "mounting height of an untagged lamp by a tertiary/secondary road", UNVERIFIED),
    "trunk_road_height_m": Param(10.0, "m", "mounting height of an untagged lamp by a primary/trunk road", UNVERIFIED),
    "footway_lumens": Param(3000.0, "lm", "flux of an untagged generic lamp by a footway", UNVERIFIED),
    "street_lumens": Param(5000.0, "lm", "flux of an untagged generic lamp by a street", UNVERIFIED),
    "main_road_lumens": Param(10000.0, "lm", "flux of an untagged generic lamp by a main road", UNVERIFIED),
    "trunk_road_lumens": Param(15000.0, "lm", "flux of an untagged generic lamp by a trunk road", UNVERIFIED),
    "maintenance_factor": Param(0.8, "ratio", "maintenance factor of an untagged lamp", "common design value, issue 8 [unverified]"),
    "reach_factor": Param(6.0, "ratio", "a lamp lights points within this multiple of its height", UNVERIFIED),
    "tree_occlusion": Param(True, "", "tree crowns (diameter_crown + height) cast shadows", "safespace convention"),
}  # fmt: skip

#: Route classes: which P class each kind of route needs.
CLASS_PARAMS: dict[str, Param] = {
    "footway_class": Param("P4", "", "P class of footways, paths, steps, cycleways", "safespace default per route type; class values " + EN13201_2 + "; the choice " + "[unverified]"),
    "pedestrian_class": Param("P3", "", "P class of pedestrian streets and areas", "[unverified] choice, " + EN13201_2),
    "residential_class": Param("P3", "", "P class of residential, living and unclassified streets", "[unverified] choice, " + EN13201_2),
    "service_class": Param("P4", "", "P class of service roads", "[unverified] choice, " + EN13201_2),
    "main_road_class": Param("P2", "", "P class for pedestrians on tertiary to trunk roads", "[unverified] choice, " + EN13201_2),
    "parking_class": Param("P3", "", "P class of parking areas", "[unverified] choice, " + EN13201_2),
    "stretch_m": Param(50.0, "m", "routes are assessed in stretches of about this length", "safespace convention"),
}  # fmt: skip

_CLASS_OF_HIGHWAY = {
    **dict.fromkeys(
        ("footway", "path", "steps", "cycleway", "bridleway", "track", "corridor"), "footway_class"
    ),
    "pedestrian": "pedestrian_class",
    **dict.fromkeys(("residential", "living_street", "unclassified", "road"), "residential_class"),
    **dict.fromkeys(("service", "busway"), "service_class"),
}

#: The lamp, grid and class assumptions every grid-reading rule shares: a profile sets them
#: once, under ``[settings.lighting]``, so the rules can never read different grids.
SETTINGS = {"lighting": {**CLASS_PARAMS, **GRID_PARAMS}}

REF_LT = [EN13201_2, EN13201_3, "BS 5489-1:2020 (UK selection of classes) [unverified]"]


def _grid_kw(site: Site) -> dict:
    return {k: site.params[k] for k in GRID_PARAMS}


def _grid(site: Site):
    return site.analysis(illuminance_grid, **_grid_kw(site))


def _class_name(site: Site, key: str) -> str:
    name = str(site.params[key]).strip().upper()
    if name not in P_CLASSES:
        raise RuleError(f"parameter {key}={site.params[key]!r} is not one of {sorted(P_CLASSES)}")
    return name


def _required_class(site: Site, grid) -> np.ndarray:
    """The P class name each grid point needs, from its kind and highway."""
    hw = grid["highway"].to_numpy(dtype=object)
    key = np.array([_CLASS_OF_HIGHWAY.get(h or "", "main_road_class") for h in hw], dtype=object)
    kind = grid["kind"].to_numpy(dtype=object)
    key = np.where(kind == "parking", "parking_class", key)
    key = np.where(kind == "pedestrian_area", "pedestrian_class", key)
    names = {k: _class_name(site, k) for k in set(key)}
    return np.array([names[k] for k in key], dtype=object)


def _route_parts(layout) -> tuple[np.ndarray, np.ndarray]:
    """All parts of the foot routes and, per route, the index of its first part.

    The grid's (``feature``, ``part``) of a route point is part ``first[feature] + part``.
    """
    parts, line_of = shapely.get_parts(layout.foot_routes.geometry.values, return_index=True)
    first = np.searchsorted(line_of, np.arange(len(layout.foot_routes)))
    return parts, first


def _substrings(lines: np.ndarray, a0: np.ndarray, a1: np.ndarray) -> np.ndarray:
    """``shapely.ops.substring(lines[k], a0[k], a1[k])`` for every k, vectorised.

    The same construction as shapely's: the point at ``a0``, the vertices strictly between
    ``a0`` and ``a1`` along the line, the point at ``a1``. Pieces outside the case
    0 ≤ a0 < a1, a0 < length fall back to shapely. O(Σ vertices of the lines).
    """
    lines = np.asarray(lines, dtype=object)
    a0 = np.asarray(a0, dtype=float)
    a1 = np.asarray(a1, dtype=float)
    k = lines.size
    out = np.empty(k, dtype=object)
    if k == 0:
        return out
    length = shapely.length(lines)
    easy = (a0 >= 0) & (a0 < a1) & (a0 < length)
    for i in np.flatnonzero(~easy):
        out[i] = shapely.ops.substring(lines[i], a0[i], a1[i])
    ids = np.flatnonzero(easy)
    if ids.size == 0:
        return out
    ls = lines[ids]
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(ls, a0[ids]))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(ls, a1[ids]))
    xy, owner = shapely.get_coordinates(ls, return_index=True)
    nv = np.bincount(owner, minlength=ids.size)
    first = np.cumsum(nv) - nv
    seg = np.zeros(owner.size)
    same = owner[1:] == owner[:-1]
    d = xy[1:] - xy[:-1]
    seg[1:] = np.where(same, np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2), 0.0)
    # distance along the line of each vertex (sequential sums, as shapely's loop)
    cum = np.cumsum(seg)
    cum = cum - cum[first][owner]
    last = np.r_[~same, True]  # a line's last vertex is never an interior one
    keep = ~last & (cum > a0[ids][owner]) & (cum < a1[ids][owner])
    n = ids.size
    cx = np.concatenate([p0[:, 0], xy[keep, 0], p1[:, 0]])
    cy = np.concatenate([p0[:, 1], xy[keep, 1], p1[:, 1]])
    who = np.concatenate([np.arange(n), owner[keep], np.arange(n)])
    pos = np.concatenate([np.full(n, -1), np.flatnonzero(keep), np.full(n, owner.size)])
    order = np.lexsort((pos, who))
    out[ids] = shapely.linestrings(np.column_stack([cx[order], cy[order]]), indices=who[order])
    return out


#: Stretch tables already computed, by id of the (cached, shared) grid they came from.
_STRETCH_CACHE: dict[int, tuple[weakref.ref, tuple, pd.DataFrame]] = {}


def _stretches(site: Site, grid) -> pd.DataFrame:
    """Grid points grouped into stretches (route parts cut into ≈ stretch_m pieces; areas
    whole), with per-stretch Ē, Emin, U0, mean/min E_sc, class, length and assessability.

    Only points inside the site count. A stretch is *not assessable* when no mapped lamp
    reaches it although its route is tagged lit (yes/24/7/automatic): the lamps are missing
    from the data, not from the street (LT004 reports these). Computed once per grid and
    class settings (LT001 and LT003 share it); the result also carries the stretch
    geometry (``geometry`` column, route stretches and whole areas).
    """
    key = (float(site.params["stretch_m"]),) + tuple(
        str(site.params[k]) for k in CLASS_PARAMS if k.endswith("_class")
    )
    hit = _STRETCH_CACHE.get(id(grid))
    if hit is not None and hit[0]() is grid and hit[1] == key:
        return hit[2]
    agg = _stretch_table(site, grid)
    for k in [k for k, v in _STRETCH_CACHE.items() if v[0]() is None]:
        del _STRETCH_CACHE[k]
    _STRETCH_CACHE[id(grid)] = (weakref.ref(grid), key, agg)
    return agg


def _stretch_table(site: Site, grid) -> pd.DataFrame:
    g = grid[grid["in_site"].to_numpy(dtype=bool)].copy()
    if g.empty:
        return pd.DataFrame()
    g["cls"] = _required_class(site, g)
    layout = site.layout
    step = float(site.params["stretch_m"])
    is_route = (g["kind"] == "route").to_numpy()
    part_len = np.zeros(len(g))
    parts = first = None
    if is_route.any():
        parts, first = _route_parts(layout)
        pid = first[g["feature"].to_numpy()[is_route]] + g["part"].to_numpy()[is_route]
        part_len[is_route] = shapely.length(parts)[pid]
    n_st = np.maximum(1, np.round(part_len / step)).astype(np.int64)
    along = g["along"].to_numpy(dtype=float)
    idx = np.where(
        is_route,
        np.minimum(
            (np.nan_to_num(along) / np.maximum(part_len, 1e-9) * n_st).astype(np.int64), n_st - 1
        ),
        0,
    )
    g["stretch"] = idx
    g["a0"] = np.where(is_route, idx * part_len / n_st, np.nan)
    g["a1"] = np.where(is_route, (idx + 1) * part_len / n_st, np.nan)
    keys = ["kind", "fid", "feature", "part", "stretch"]
    agg = g.groupby(keys, sort=True).agg(
        E_avg=("E_h", "mean"), E_min=("E_h", "min"), Esc_avg=("E_sc", "mean"),
        Esc_min=("E_sc", "min"), lamps=("lamps_in_reach", "max"), cls=("cls", "first"),
        highway=("highway", "first"), lit=("lit", "first"), a0=("a0", "first"),
        a1=("a1", "first"), n=("E_h", "size"),
    ).reset_index()  # fmt: skip
    agg["length_m"] = agg["a1"] - agg["a0"]
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["U0"] = np.where(agg["E_avg"] > 0, agg["E_min"] / agg["E_avg"], 0.0)
    req = agg["cls"].map({c: v for c, v in P_CLASSES.items()})
    agg["req_avg"] = [v[0] for v in req]
    agg["req_min"] = [v[1] for v in req]
    agg["assessable"] = ~((agg["lamps"] == 0) & agg["lit"].isin(LIT_DUSK_TO_DAWN))
    agg["meets"] = (agg["E_avg"] >= agg["req_avg"] - 1e-9) & (agg["E_min"] >= agg["req_min"] - 1e-9)
    # where each stretch lies: a piece of its route part, or the whole area
    geom = np.empty(len(agg), dtype=object)
    kind = agg["kind"].to_numpy(dtype=object)
    feat = agg["feature"].to_numpy()
    r = kind == "route"
    if r.any():
        pid = first[feat[r]] + agg["part"].to_numpy()[r]
        geom[r] = _substrings(parts[pid], agg["a0"].to_numpy()[r], agg["a1"].to_numpy()[r])
    for k, layer in (("parking", layout.parking), ("pedestrian_area", layout.pedestrian_areas)):
        sel = kind == k
        if sel.any():
            geom[sel] = layer.geometry.values[feat[sel]]
    agg["geometry"] = geom
    return agg


def _by_route(sel: pd.DataFrame) -> list[np.ndarray]:
    """Positions of ``sel``'s stretch rows grouped per route (an area is its own group), in
    the table's order: one finding per route instead of one per stretch."""
    if sel.empty:
        return []
    idx = sel.reset_index(drop=True).groupby(["kind", "fid", "feature"], sort=False, dropna=False)
    return sorted(idx.indices.values(), key=lambda a: a[0])


def _ranges(rows: list) -> str:
    return ", ".join(f"{r.a0:.0f}–{r.a1:.0f} m" for r in rows)


def _multi(rows: list) -> shapely.Geometry:
    return shapely.MultiLineString([r.geometry for r in rows])


def _where(row) -> str:
    if row.kind == "route":
        return f"{row.highway or 'route'} {row.fid}, {row.a0:.0f}–{row.a1:.0f} m"
    return f"{row.kind.replace('_', ' ')} {row.fid}"


def _p_class_finding(row) -> Finding:
    """One stretch (or area) below its class."""
    req_avg, req_min = P_CLASSES[row.cls]
    severity = "high" if row.E_avg < P_CLASSES["P6"][0] else "medium"
    return Finding(
        severity=severity,
        title=f"Lighting below {row.cls}",
        message=(
            f"{_where(row)}: average {row.E_avg:.1f} lx and minimum {row.E_min:.2f} lx "
            f"against {row.cls} ({req_avg:g} / {req_min:g} lx, EN 13201-2)."
        ),
        geometry=row.geometry,
        evidence={
            "E_avg_lx": round(float(row.E_avg), 3),
            "E_min_lx": round(float(row.E_min), 3),
            "U0": round(float(row.U0), 3),
            "required_class": row.cls,
            "required_avg_lx": req_avg,
            "required_min_lx": req_min,
            "length_m": None if np.isnan(row.length_m) else round(float(row.length_m), 1),
            "grid_points": int(row.n),
            "lit_tag": row.lit,
        },  # fmt: skip
        recommendation=(
            f"Add or re-space lamps, raise their output, or remove what shades them, until "
            f"the stretch reaches {row.cls}; confirm with a lighting design to EN 13201-3."
        ),
        features=[row.fid],
    )


def _p_class_route_finding(rows: list) -> Finding:
    """Several failing stretches (table rows) of one route: one finding, the worst figures."""
    first = rows[0]
    cls = first.cls
    req_avg, req_min = P_CLASSES[cls]
    e_avg = min(float(r.E_avg) for r in rows)
    e_min = min(float(r.E_min) for r in rows)
    length = float(np.sum([r.length_m for r in rows]))
    return Finding(
        severity="high" if e_avg < P_CLASSES["P6"][0] else "medium",
        title=f"Lighting below {cls}",
        message=(
            f"{first.highway or 'route'} {first.fid}: {len(rows)} stretches, {length:.0f} m in "
            f"all ({_ranges(rows)}), below {cls} ({req_avg:g} / {req_min:g} lx, EN 13201-2); "
            f"worst average {e_avg:.1f} lx, lowest minimum {e_min:.2f} lx."
        ),
        geometry=_multi(rows),
        evidence={
            "E_avg_lx": round(e_avg, 3),
            "E_min_lx": round(e_min, 3),
            "U0": round(min(float(r.U0) for r in rows), 3),
            "required_class": cls,
            "required_avg_lx": req_avg,
            "required_min_lx": req_min,
            "length_m": round(length, 1),
            "grid_points": int(sum(int(r.n) for r in rows)),
            "lit_tag": first.lit,
            "stretches": [
                {
                    "from_m": round(float(r.a0), 1),
                    "to_m": round(float(r.a1), 1),
                    "E_avg_lx": round(float(r.E_avg), 3),
                    "E_min_lx": round(float(r.E_min), 3),
                }
                for r in rows
            ],  # fmt: skip
        },  # fmt: skip
        recommendation=(
            f"Add or re-space lamps, raise their output, or remove what shades them, until "
            f"the route reaches {cls}; confirm with a lighting design to EN 13201-3."
        ),
        features=[first.fid],
    )


@rule(
    "LT001",
    "Route stretches below their EN 13201 P class",
    "lighting",
    principles=["natural_surveillance"],
    settings=SETTINGS,
    references=REF_LT,
)
def p_class(site: Site) -> Iterator[Finding | Metric | Score]:
    """Maintained horizontal illuminance on each route stretch (≈ 50 m), pedestrian area and
    parking area against the P class its type needs: Ē and Emin (EN 13201-2). A route's
    failing stretches are one finding (MultiLineString, worst figures, per-stretch list)."""
    st = _stretches(site, _grid(site))
    if st.empty:
        yield Metric("lit_route_share", None, "ratio")
        return
    ok = st[st["assessable"]]
    fail = ok[~ok["meets"]].reset_index(drop=True)
    tuples = list(fail.itertuples())
    for pos in _by_route(fail):
        if pos.size == 1:
            yield _p_class_finding(tuples[pos[0]])
        else:
            yield _p_class_route_finding([tuples[i] for i in pos])
    routes = ok[ok["kind"] == "route"]
    total = float(routes["length_m"].sum())
    met = float(routes.loc[routes["meets"], "length_m"].sum())
    unknown = float(st.loc[~st["assessable"] & (st["kind"] == "route"), "length_m"].sum())
    share = met / total if total > 0 else None
    yield Metric("route_length_assessed_m", round(total, 1), "m")
    yield Metric("route_length_meeting_class_m", round(met, 1), "m")
    yield Metric("route_length_lamps_unmapped_m", round(unknown, 1), "m")
    yield Metric("lit_route_share", None if share is None else round(share, 4), "ratio")
    if share is not None:
        extra = (
            f"; {unknown:.0f} m tagged lit but with no mapped lamp were left out" if unknown else ""
        )
        yield Score(
            "lighting",
            round(100.0 * share, 1),
            f"{met:.0f} m of {total:.0f} m of route in the site meet their EN 13201 P class "
            f"({100 * share:.0f}%){extra}.",
        )


@rule(
    "LT002",
    "Dark spots along routes",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_length_m": Param(6.0, "m", "report dark runs at least this long", UNVERIFIED),
        "long_dark_m": Param(25.0, "m", "a dark run this long is a medium finding", UNVERIFIED),
    },
    settings=SETTINGS,
    references=REF_LT,
)
def dark_spots(site: Site) -> Iterator[Finding | Metric]:
    """Contiguous stretches of route where the darkest point of every cross-section lies
    below the Emin of the route's P class; reported with their length."""
    grid = _grid(site)
    g = grid[grid["in_site"].to_numpy(dtype=bool) & (grid["kind"] == "route").to_numpy()]
    if g.empty:
        yield Metric("dark_spot_length_m", 0.0, "m")
        return
    g = g.assign(cls=_required_class(site, g))
    rows = g.groupby(["feature", "part", "along"], sort=True).agg(
        E=("E_h", "min"), lamps=("lamps_in_reach", "max"), cls=("cls", "first"),
        fid=("fid", "first"), lit=("lit", "first"), highway=("highway", "first"),
    ).reset_index()  # fmt: skip
    emin = np.array([P_CLASSES[c][1] for c in rows["cls"]])
    unmapped = (rows["lamps"] == 0) & rows["lit"].isin(LIT_DUSK_TO_DAWN)
    dark = (rows["E"].to_numpy() < emin - 1e-9) & ~unmapped.to_numpy()
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
    keep = np.flatnonzero(length >= site.params["min_length_m"] - 1e-9)
    parts, pfirst = _route_parts(site.layout)
    feat = rows["feature"].to_numpy()
    part_no = rows["part"].to_numpy()
    pid = pfirst[feat[firsts[keep]]] + part_no[firsts[keep]]
    plen = shapely.length(parts[pid])
    geoms = _substrings(parts[pid], np.maximum(a0[keep], 0.0), np.minimum(a1[keep], plen))
    cls_a = rows["cls"].to_numpy(dtype=object)
    hw_a = rows["highway"].to_numpy(dtype=object)
    fid_a = rows["fid"].to_numpy(dtype=object)
    lit_a = rows["lit"].to_numpy(dtype=object)
    for j, r in enumerate(keep):
        first = firsts[r]
        ln = length[r]
        total += ln
        cls = cls_a[first]
        yield Finding(
            severity="medium" if ln >= site.params["long_dark_m"] else "low",
            title="Dark stretch of route",
            message=(
                f"{hw_a[first] or 'route'} {fid_a[first]}: {ln:.0f} m "
                f"({a0[r]:.0f}–{a1[r]:.0f} m) where the darkest point falls below "
                f"{P_CLASSES[cls][1]:g} lx, the minimum of {cls}; lowest {e_low[r]:.2f} lx."
            ),
            geometry=geoms[j],
            evidence={
                "length_m": round(float(ln), 1),
                "E_min_lx": round(float(e_low[r]), 3),
                "threshold_lx": P_CLASSES[cls][1],
                "required_class": cls,
                "lit_tag": lit_a[first],
            },  # fmt: skip
            recommendation="Add a lamp to cover the dark stretch, or remove what shades it.",
            features=[fid_a[first]],
        )
    yield Metric("dark_spot_length_m", round(total, 1), "m")


@rule(
    "LT003",
    "Too little light to recognise a face",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_esc_lx": Param(
            0.6,
            "lx",
            "semi-cylindrical illuminance at 1.5 m needed to recognise a face (4 m)",
            ROMBAUTS,
        ),
        "check_routes": Param(True, "", "check route stretches", "safespace convention"),
        "check_entrances": Param(True, "", "check building entrances", "safespace convention"),
        "check_parking": Param(True, "", "check parking areas", "safespace convention"),
    },  # fmt: skip
    settings=SETTINGS,
    references=[ROMBAUTS, EN13201_3, "EN 13201-2 SC classes [unverified]"],
)
def facial_recognition(site: Site) -> Iterator[Finding | Metric]:
    """Semi-cylindrical illuminance E_sc at 1.5 m (the smaller of the two faces along a
    route) against the level at which a face can be recognised: route stretches and parking
    areas by their average, entrances at the door. A route's failing stretches are one
    finding (MultiLineString, worst figures, per-stretch list)."""
    thr = float(site.params["min_esc_lx"])
    st = _stretches(site, _grid(site))
    n = 0
    if not st.empty:
        want = []
        if site.params["check_routes"]:
            want += ["route", "pedestrian_area"]
        if site.params["check_parking"]:
            want.append("parking")
        sel = st[st["assessable"] & st["kind"].isin(want) & (st["Esc_avg"] < thr)]
        sel = sel.reset_index(drop=True)
        tuples = list(sel.itertuples())
        advice = (
            "Light the route from the side and from both directions (lamps on alternate sides, "
            "or more lamps), so faces are lit, not only the ground."
        )
        for pos in _by_route(sel):
            n += 1
            if pos.size == 1:
                row = tuples[pos[0]]
                yield Finding(
                    severity="low",
                    title="Faces hard to recognise",
                    message=(
                        f"{_where(row)}: semi-cylindrical illuminance averages "
                        f"{row.Esc_avg:.2f} lx (lowest {row.Esc_min:.2f} lx), below the {thr:g} "
                        "lx needed to recognise a face at about 4 m."
                    ),
                    geometry=row.geometry,
                    evidence={
                        "Esc_avg_lx": round(float(row.Esc_avg), 3),
                        "Esc_min_lx": round(float(row.Esc_min), 3),
                        "threshold_lx": thr,
                    },  # fmt: skip
                    recommendation=advice,
                    features=[row.fid],
                )
                continue
            rows = [tuples[i] for i in pos]
            first = rows[0]
            avg = min(float(r.Esc_avg) for r in rows)
            low = min(float(r.Esc_min) for r in rows)
            length = float(np.sum([r.length_m for r in rows]))
            yield Finding(
                severity="low",
                title="Faces hard to recognise",
                message=(
                    f"{first.highway or 'route'} {first.fid}: {len(rows)} stretches, "
                    f"{length:.0f} m in all ({_ranges(rows)}), where semi-cylindrical "
                    f"illuminance averages as little as {avg:.2f} lx (lowest {low:.2f} lx), "
                    f"below the {thr:g} lx needed to recognise a face at about 4 m."
                ),
                geometry=_multi(rows),
                evidence={
                    "Esc_avg_lx": round(avg, 3),
                    "Esc_min_lx": round(low, 3),
                    "threshold_lx": thr,
                    "length_m": round(length, 1),
                    "stretches": [
                        {
                            "from_m": round(float(r.a0), 1),
                            "to_m": round(float(r.a1), 1),
                            "Esc_avg_lx": round(float(r.Esc_avg), 3),
                            "Esc_min_lx": round(float(r.Esc_min), 3),
                        }
                        for r in rows
                    ],  # fmt: skip
                },  # fmt: skip
                recommendation=advice,
                features=[first.fid],
            )
    if site.params["check_entrances"]:
        ent = site.analysis(entrance_illuminance, **_grid_kw(site))
        ent = ent[(ent["kind"] == "entrance") & ent["in_site"].astype(bool) & (ent["E_sc"] < thr)]
        for row in ent.itertuples():
            n += 1
            yield Finding(
                severity="low",
                title="Entrance too dark to recognise a face",
                message=(
                    f"Entrance {row.fid}: {row.E_sc:.2f} lx semi-cylindrical at 1.5 m on the "
                    f"face of someone at the door, below {thr:g} lx"
                    + (" (no lamp within reach)." if row.lamps_in_reach == 0 else ".")
                ),
                geometry=row.geometry,
                evidence={
                    "Esc_lx": round(float(row.E_sc), 3),
                    "threshold_lx": thr,
                    "lamps_in_reach": int(row.lamps_in_reach),
                },  # fmt: skip
                recommendation="Light the entrance: a lamp near the door (dusk to dawn) lighting "
                "the face of a caller.",
                features=[row.fid],
            )
    yield Metric("facial_recognition_findings", n)


@rule(
    "LT004",
    "Route, parking or police entrance that must be lit is unlit",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "must_light_highways": Param(
            [
                "footway",
                "path",
                "pedestrian",
                "steps",
                "cycleway",
                "living_street",
                "residential",
                "service",
                "unclassified",
            ],
            "",
            "highway types on the site that must be lit (footpaths to dwellings, streets)",
            "SBD residential scenario 5: footpaths lit [checked]; the list is [unverified]",
        ),  # fmt: skip
        "parking_must_be_lit": Param(
            True, "", "parking areas must be lit", "SBD Homes 2024 [quoted]"
        ),
        "police_entrance_must_be_lit": Param(
            True, "", "public police entrances must be lit", "safespace convention [unverified]"
        ),
    },  # fmt: skip
    settings=SETTINGS,
    references=[OSM_LIT, "Secured by Design, residential guide, scenario 5 [checked]"],
)
def must_be_lit(site: Site) -> Iterator[Finding | Metric]:
    """Routes of the listed types, parking areas and police public entrances on the site that
    are tagged unlit (``lit=no``/``disused``) or that no lamp reaches."""
    grid = _grid(site)
    must = set(site.params["must_light_highways"])
    g = grid[grid["in_site"].to_numpy(dtype=bool)]
    n = 0
    layout = site.layout
    routes = g[(g["kind"] == "route") & g["highway"].isin(must)]
    # one row per route: its light and lamps; findings only for the failing routes
    per = routes.groupby(["feature", "fid"], sort=True).agg(
        E_avg=("E_h", "mean"), E_min=("E_h", "min"), lamps=("lamps_in_reach", "max")
    ).reset_index()  # fmt: skip
    fr = layout.foot_routes
    feat = per["feature"].to_numpy()
    lit_all = fr["lit"].to_numpy(dtype=object)[feat]
    hw_all = fr["highway"].to_numpy(dtype=object)[feat]
    unlit = np.isin(lit_all, LIT_UNLIT)
    fail = np.flatnonzero(unlit | (per["lamps"].to_numpy() == 0))
    geoms = fr.geometry.values[feat[fail]]
    glen = shapely.length(geoms)
    fids = per["fid"].to_numpy(dtype=object)
    e_avg = per["E_avg"].to_numpy(dtype=float)
    e_min = per["E_min"].to_numpy(dtype=float)
    for j, i in enumerate(fail):
        fid, lit, geom = fids[i], lit_all[i], geoms[j]
        if unlit[i]:
            n += 1
            yield Finding(
                severity="high",
                title="Route must be lit but is unlit",
                message=f"{hw_all[i]} {fid} is tagged lit={lit}; "
                f"average {e_avg[i]:.1f} lx from lamps nearby.",
                geometry=geom,
                evidence={
                    "lit_tag": lit,
                    "E_avg_lx": round(float(e_avg[i]), 3),
                    "E_min_lx": round(float(e_min[i]), 3),
                    "length_m": round(float(glen[j]), 1),
                },  # fmt: skip
                recommendation="Light the route dusk to dawn (or close it if it is not needed, "
                "e.g. a footpath behind dwellings).",
                features=[fid],
            )
            continue
        tagged_lit = lit in LIT_DUSK_TO_DAWN
        n += 1
        yield Finding(
            severity="low" if tagged_lit else "medium",
            title="Route tagged lit but no lamp mapped" if tagged_lit else "Route has no lamp",
            message=f"{hw_all[i]} {fid}: no lamp within reach"
            + (
                f" although it is tagged lit={lit}: its lamps are missing from the input."
                if tagged_lit
                else "."
            ),  # fmt: skip
            geometry=geom,
            evidence={
                "lit_tag": lit,
                "lamps_in_reach": 0,
                "length_m": round(float(glen[j]), 1),
            },
            recommendation="Add the route's lamps to the drawing (or map them)."
            if tagged_lit
            else "Light the route dusk to dawn.",  # fmt: skip
            features=[fid],
        )
    if site.params["parking_must_be_lit"]:
        for (feature, fid), pts in g[g["kind"] == "parking"].groupby(["feature", "fid"]):
            lit = pts["lit"].iat[0]
            if lit in LIT_UNLIT or (pts["lamps_in_reach"] == 0).all():
                n += 1
                yield Finding(
                    severity="high" if lit in LIT_UNLIT else "medium",
                    title="Parking must be lit but is unlit",
                    message=f"Parking {fid}: "
                    + (f"tagged lit={lit}." if lit in LIT_UNLIT else "no lamp within reach."),
                    geometry=layout.parking.geometry.values[feature],
                    evidence={"lit_tag": lit, "E_avg_lx": round(float(pts["E_h"].mean()), 3)},
                    recommendation="Light the parking dusk to dawn.",
                    features=[fid],
                )
    if site.params["police_entrance_must_be_lit"]:
        ent = site.analysis(entrance_illuminance, **_grid_kw(site))
        for row in ent[(ent["kind"] == "police") & (ent["E_h"] <= 0.0)].itertuples():
            n += 1
            yield Finding(
                severity="medium",
                title="Police entrance unlit",
                message=f"The public entrance of police premises {row.fid} gets no light "
                "from any lamp.",
                geometry=row.geometry,
                evidence={"E_h_lx": 0.0, "lamps_in_reach": int(row.lamps_in_reach)},
                recommendation="Light the approach and entrance of the police premises.",
                features=[row.fid],
            )
    yield Metric("unlit_must_light_findings", n)


@rule(
    "LT005",
    "Lighting not on dusk to dawn",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "part_night_values": Param(
            list(LIT_PART_NIGHT), "", "lit= values that are not dusk to dawn", OSM_LIT
        ),
    },  # fmt: skip
    references=[SBD_SWITCHING, OSM_LIT],
)
def dusk_to_dawn(site: Site) -> Iterator[Finding | Metric]:
    """Routes and parking on the site whose ``lit`` tag says the lights are switched off
    part of the night (``lit=limited``/``interval``)."""
    layout = site.layout
    site_poly = layout.site
    values = set(site.params["part_night_values"])
    n = 0
    for layer in (layout.foot_routes, layout.parking, layout.pedestrian_areas):
        if layer.empty:
            continue
        lit = np.array([t.get("lit") for t in layer["tags"]], dtype=object)
        hit = np.isin(lit, list(values))
        if site_poly is not None:
            hit &= shapely.intersects(layer.geometry.values, site_poly)
        for i in np.flatnonzero(hit):
            n += 1
            fid = layer["fid"].iat[i]
            yield Finding(
                severity="medium",
                title="Lighting switched off part of the night",
                message=f"{fid} is tagged lit={lit[i]}: it is not lit dusk to dawn.",
                geometry=layer.geometry.values[i],
                evidence={"lit_tag": lit[i]},
                recommendation="Switch the lighting automatically dusk to dawn (photocell).",
                features=[fid],
            )
    yield Metric("part_night_lighting_findings", n)


@rule(
    "LT006",
    "Lamp light mostly blocked by buildings or trees",
    "lighting",
    principles=["natural_surveillance", "image_and_maintenance"],
    params={
        "max_blocked_share": Param(
            0.5,
            "ratio",
            "report lamps losing more than this share of their ground light",
            UNVERIFIED,
        ),
    },  # fmt: skip
    settings=SETTINGS,
    references=[EN13201_3],
)
def shaded_lamps(site: Site) -> Iterator[Finding | Metric]:
    """Lamps on the site whose light reaching the ground within reach is mostly blocked by
    buildings (light landing on roofs or cut off by walls) or tree crowns."""
    sh = site.analysis(lamp_shading, **_grid_kw(site))
    if sh.empty:
        yield Metric("shaded_lamps", 0)
        return
    boundary = site.layout.site
    in_site = shapely.intersects(sh.geometry.values, boundary) if boundary is not None else True
    sel = sh[in_site & (sh["blocked_share"] > site.params["max_blocked_share"])]
    for row in sel.itertuples():
        why = "its head is inside a tree crown" if row.in_crown else "buildings or trees"
        yield Finding(
            severity="medium",
            title="Lamp mostly blocked",
            message=f"Lamp {row.fid}: {100 * row.blocked_share:.0f}% of its light reaching the "
            f"ground within reach is blocked ({why}).",
            geometry=row.geometry,
            evidence={
                "blocked_share": round(float(row.blocked_share), 3),
                "flux_open_lm": round(float(row.flux_open_lm), 1),
                "flux_lm": round(float(row.flux_lm), 1),
                "in_crown": bool(row.in_crown),
            },  # fmt: skip
            recommendation="Move the lamp clear of the building or tree, or prune the crown.",
            features=[row.fid],
        )
    yield Metric("shaded_lamps", int(len(sel)))


RULES = [p_class, dark_spots, facial_recognition, must_be_lit, dusk_to_dawn, shaded_lamps]
