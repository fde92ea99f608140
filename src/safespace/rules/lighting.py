"""Built-in lighting rules (``LT``): EN 13201 P classes, dark spots, facial recognition,
routes that must be lit, dusk-to-dawn switching and shaded lamps.

All rules read the shared calculation grid (:func:`~safespace.analyses.lighting_grid.
illuminance_grid`) through ``site.analysis`` so it is computed once per assessment. The
lamp, grid and class assumptions (:data:`SETTINGS`) are one shared settings group: a
profile sets them once under ``[settings.lighting]``, so every rule reads the same grid.
"""

from __future__ import annotations

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


def _stretches(site: Site, grid) -> pd.DataFrame:
    """Grid points grouped into stretches (route parts cut into ≈ stretch_m pieces; areas
    whole), with per-stretch Ē, Emin, U0, mean/min E_sc, class, length and assessability.

    Only points inside the site count. A stretch is *not assessable* when no mapped lamp
    reaches it although its route is tagged lit (yes/24/7/automatic): the lamps are missing
    from the data, not from the street (LT004 reports these).
    """
    g = grid[grid["in_site"].to_numpy(dtype=bool)].copy()
    if g.empty:
        return pd.DataFrame()
    g["cls"] = _required_class(site, g)
    fr = site.layout.foot_routes
    step = float(site.params["stretch_m"])
    is_route = (g["kind"] == "route").to_numpy()
    part_len = np.zeros(len(g))
    if is_route.any():
        fp = g.loc[is_route, ["feature", "part"]].to_numpy()
        uniq, inv = np.unique(fp, axis=0, return_inverse=True)
        lens = np.array(
            [shapely.get_parts(fr.geometry.values[f])[k].length for f, k in uniq], dtype=float
        )
        part_len[is_route] = lens[inv.ravel()]
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
    agg["req_avg"] = [P_CLASSES[c][0] for c in agg["cls"]]
    agg["req_min"] = [P_CLASSES[c][1] for c in agg["cls"]]
    agg["assessable"] = ~((agg["lamps"] == 0) & agg["lit"].isin(LIT_DUSK_TO_DAWN))
    agg["meets"] = (agg["E_avg"] >= agg["req_avg"] - 1e-9) & (agg["E_min"] >= agg["req_min"] - 1e-9)
    return agg


def _geometry(site: Site, row) -> shapely.Geometry:
    """The stretch of route (or the area) a stretch row stands for."""
    layout = site.layout
    if row.kind == "route":
        part = shapely.get_parts(layout.foot_routes.geometry.values[row.feature])[row.part]
        return shapely.ops.substring(part, row.a0, row.a1)
    layer = layout.parking if row.kind == "parking" else layout.pedestrian_areas
    return layer.geometry.values[row.feature]


def _where(row) -> str:
    if row.kind == "route":
        return f"{row.highway or 'route'} {row.fid}, {row.a0:.0f}–{row.a1:.0f} m"
    return f"{row.kind.replace('_', ' ')} {row.fid}"


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
    parking area against the P class its type needs: Ē and Emin (EN 13201-2)."""
    st = _stretches(site, _grid(site))
    if st.empty:
        yield Metric("lit_route_share", None, "ratio")
        return
    ok = st[st["assessable"]]
    for row in ok[~ok["meets"]].itertuples():
        req_avg, req_min = P_CLASSES[row.cls]
        severity = "high" if row.E_avg < P_CLASSES["P6"][0] else "medium"
        yield Finding(
            severity=severity,
            title=f"Lighting below {row.cls}",
            message=(
                f"{_where(row)}: average {row.E_avg:.1f} lx and minimum {row.E_min:.2f} lx "
                f"against {row.cls} ({req_avg:g} / {req_min:g} lx, EN 13201-2)."
            ),
            geometry=_geometry(site, row),
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
    fr = site.layout.foot_routes
    total = 0.0
    along = rows["along"].to_numpy()
    # row spacing of each part: cells are equal, the first centre is at spacing / 2
    group_first = np.maximum.accumulate(np.where(new_group, np.arange(key.size), 0))
    runs = run_id[dark]
    dark_idx = np.flatnonzero(dark)
    bounds = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1], True])
    for b0, b1 in zip(bounds[:-1], bounds[1:], strict=True):
        sel = dark_idx[b0:b1]
        first, last = sel[0], sel[-1]
        spacing = along[group_first[first]] * 2
        a0, a1 = along[first] - spacing / 2, along[last] + spacing / 2
        length = a1 - a0
        if length < site.params["min_length_m"] - 1e-9:
            continue
        total += length
        part = shapely.get_parts(fr.geometry.values[rows["feature"].iat[first]])[
            rows["part"].iat[first]
        ]
        cls = rows["cls"].iat[first]
        yield Finding(
            severity="medium" if length >= site.params["long_dark_m"] else "low",
            title="Dark stretch of route",
            message=(
                f"{rows['highway'].iat[first] or 'route'} {rows['fid'].iat[first]}: {length:.0f} m "
                f"({a0:.0f}–{a1:.0f} m) where the darkest point falls below {P_CLASSES[cls][1]:g} "
                f"lx, the minimum of {cls}; lowest {rows['E'].iloc[sel].min():.2f} lx."
            ),
            geometry=shapely.ops.substring(part, max(a0, 0.0), min(a1, part.length)),
            evidence={
                "length_m": round(float(length), 1),
                "E_min_lx": round(float(rows["E"].iloc[sel].min()), 3),
                "threshold_lx": P_CLASSES[cls][1],
                "required_class": cls,
                "lit_tag": rows["lit"].iat[first],
            },  # fmt: skip
            recommendation="Add a lamp to cover the dark stretch, or remove what shades it.",
            features=[rows["fid"].iat[first]],
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
    areas by their average, entrances at the door."""
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
        for row in sel.itertuples():
            n += 1
            yield Finding(
                severity="low",
                title="Faces hard to recognise",
                message=(
                    f"{_where(row)}: semi-cylindrical illuminance averages {row.Esc_avg:.2f} lx "
                    f"(lowest {row.Esc_min:.2f} lx), below the {thr:g} lx needed to recognise "
                    "a face at about 4 m."
                ),
                geometry=_geometry(site, row),
                evidence={
                    "Esc_avg_lx": round(float(row.Esc_avg), 3),
                    "Esc_min_lx": round(float(row.Esc_min), 3),
                    "threshold_lx": thr,
                },  # fmt: skip
                recommendation="Light the route from the side and from both directions (lamps "
                "on alternate sides, or more lamps), so faces are lit, not only the ground.",
                features=[row.fid],
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
    for (feature, fid), pts in routes.groupby(["feature", "fid"], sort=True):
        lit = pts["lit"].iat[0]
        geom = layout.foot_routes.geometry.values[feature]
        if lit in LIT_UNLIT:
            n += 1
            yield Finding(
                severity="high",
                title="Route must be lit but is unlit",
                message=f"{pts['highway'].iat[0]} {fid} is tagged lit={lit}; "
                f"average {pts['E_h'].mean():.1f} lx from lamps nearby.",
                geometry=geom,
                evidence={
                    "lit_tag": lit,
                    "E_avg_lx": round(float(pts["E_h"].mean()), 3),
                    "E_min_lx": round(float(pts["E_h"].min()), 3),
                    "length_m": round(float(geom.length), 1),
                },  # fmt: skip
                recommendation="Light the route dusk to dawn (or close it if it is not needed, "
                "e.g. a footpath behind dwellings).",
                features=[fid],
            )
            continue
        if (pts["lamps_in_reach"] == 0).all():
            tagged_lit = lit in LIT_DUSK_TO_DAWN
            n += 1
            yield Finding(
                severity="low" if tagged_lit else "medium",
                title="Route tagged lit but no lamp mapped" if tagged_lit else "Route has no lamp",
                message=f"{pts['highway'].iat[0]} {fid}: no lamp within reach"
                + (
                    f" although it is tagged lit={lit}: its lamps are missing from the input."
                    if tagged_lit
                    else "."
                ),  # fmt: skip
                geometry=geom,
                evidence={
                    "lit_tag": lit,
                    "lamps_in_reach": 0,
                    "length_m": round(float(geom.length), 1),
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
