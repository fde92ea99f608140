"""LT004, LT005 and LT006: what must be lit and is not, lighting not on dusk to dawn, and
lamps whose light buildings or trees mostly block."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from safespace._classify import LIT_DUSK_TO_DAWN, LIT_PART_NIGHT, LIT_UNLIT, tag_text
from safespace.analyses.lamp_inputs import GENERIC_NAMES
from safespace.analyses.lighting_grid import indoor_mask
from safespace.analyses.lighting_stretches import lamps_partial
from safespace.findings import Finding, Metric
from safespace.rules._common import where_unnamed
from safespace.rules.engine import Param, Site, rule
from safespace.rules.lighting._shared import (
    _RAW_ID,
    EN13201_3,
    LIGHTING,
    OSM_LIT,
    SBD_SWITCHING,
    UNVERIFIED,
    _cap,
    _near_name,
    _place,
)

# --- LT004 ---------------------------------------------------------------------------------


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
        "footpath_highways": Param(
            ["footway", "path", "steps"],
            "",
            "the highway types that are footpaths: on these the duty to light rests on SBD, "
            "not on the list above",
            "Secured by Design, residential guide, scenario 5: footpaths lit [checked]",
        ),
        "parking_must_be_lit": Param(
            True, "", "parking areas must be lit", "SBD Homes 2024 [quoted]"
        ),
        "police_entrance_must_be_lit": Param(
            True, "", "public police entrances must be lit", "safespace convention [unverified]"
        ),
    },  # fmt: skip
    settings=[LIGHTING],
    references=[OSM_LIT, "Secured by Design, residential guide, scenario 5 [checked]"],
)
def must_be_lit(site: Site) -> Iterator[Finding | Metric]:
    """Routes of the listed types, parking areas and police public entrances on the site that
    are tagged unlit (``lit=no``/``disused``, measured) or that no lamp reaches. No lamp
    within reach is a finding only where the lamp layer is complete (a drawing): in partial
    data it is a data gap (LT001's, LT003's for entrances). Indoor and underground ways are
    left out."""
    grid = site.shared("lighting")
    must = set(site.params["must_light_highways"])
    footpaths = set(site.params["footpath_highways"])
    g = grid[grid["in_site"].to_numpy(dtype=bool) & ~grid["indoor"].to_numpy(dtype=bool)]
    n = 0
    layout = site.layout
    routes = g[(g["kind"] == "route") & g["highway"].isin(must)]
    # one row per route: its light and lamps; findings only for the failing routes
    per = routes.groupby(["feature", "fid"], sort=True).agg(
        E_avg=("E_h", "mean"), E_min=("E_h", "min"), lamps=("lamps_in_reach", "max")
    ).reset_index()  # fmt: skip
    fr = layout.foot_routes
    feat = per["feature"].to_numpy()
    lit_all = np.array([tag_text(v) for v in fr["lit"].to_numpy(dtype=object)[feat]], dtype=object)
    hw_all = fr["highway"].to_numpy(dtype=object)[feat]
    name_all = fr["name"].to_numpy(dtype=object)[feat] if "name" in fr else [None] * len(feat)
    origin = (
        fr["origin"].to_numpy(dtype=object)[feat] if "origin" in fr else ["proposal"] * len(feat)
    )
    partial = lamps_partial(layout, origin)
    unlit = np.isin(lit_all, LIT_UNLIT)
    no_lamp = per["lamps"].to_numpy() == 0
    fail = np.flatnonzero(unlit | (no_lamp & ~partial))
    geoms = fr.geometry.values[feat[fail]]
    glen = shapely.length(geoms)
    fids = per["fid"].to_numpy(dtype=object)
    e_avg = per["E_avg"].to_numpy(dtype=float)
    e_min = per["E_min"].to_numpy(dtype=float)
    for j, i in enumerate(fail):
        fid, lit, geom = fids[i], lit_all[i], geoms[j]
        place = _place(site, "route", fid, tag_text(name_all[i]), hw_all[i], geom)
        rests_on = ["footpath_highways" if hw_all[i] in footpaths else "must_light_highways"]
        n += 1
        if unlit[i]:
            yield Finding(
                severity="high",
                title="Route must be lit but is unlit",
                message=f"{_cap(place)} is tagged lit={lit} (not lit); average "
                f"{e_avg[i]:.1f} lx reaches it from lamps nearby.",
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
                basis="measured",
                rests_on=rests_on,
            )
            continue
        tagged_lit = lit in LIT_DUSK_TO_DAWN
        yield Finding(
            severity="low" if tagged_lit else "medium",
            title="Route tagged lit but no lamp drawn" if tagged_lit else "Route has no lamp",
            message=f"{_cap(place)}: no lamp within reach in the drawing"
            + (f" although it is tagged lit={lit}." if tagged_lit else "."),
            geometry=geom,
            evidence={
                "lit_tag": lit,
                "lamps_in_reach": 0,
                "length_m": round(float(glen[j]), 1),
            },
            recommendation="Add the route's lamps to the drawing."
            if tagged_lit
            else "Light the route dusk to dawn.",  # fmt: skip
            features=[fid],
            basis="measured",
            rests_on=rests_on,
        )
    if site.params["parking_must_be_lit"]:
        for (feature, fid), pts in g[g["kind"] == "parking"].groupby(["feature", "fid"]):
            lit = tag_text(pts["lit"].iat[0])
            tagged_unlit = lit in LIT_UNLIT
            no_lamp = bool((pts["lamps_in_reach"] == 0).all())
            if not (
                tagged_unlit or (no_lamp and not lamps_partial(layout, [pts["origin"].iat[0]])[0])
            ):
                continue
            n += 1
            geom = layout.parking.geometry.values[feature]
            place = _cap(_place(site, "parking", fid, tag_text(pts["name"].iat[0]), None, geom))
            yield Finding(
                severity="high" if tagged_unlit else "medium",
                title="Parking must be lit but is unlit",
                message=f"{place}: "
                + (f"tagged lit={lit} (not lit)." if tagged_unlit else "no lamp within reach."),
                geometry=geom,
                evidence={"lit_tag": lit, "E_avg_lx": round(float(pts["E_h"].mean()), 3)},
                recommendation="Light the parking dusk to dawn.",
                features=[fid],
                basis="measured",
                rests_on=["parking_must_be_lit"],
            )
    if site.params["police_entrance_must_be_lit"]:
        ent = site.shared("lighting", "entrances")
        pol = ent[(ent["kind"] == "police") & (ent["E_h"] <= 0.0)]
        partial = lamps_partial(layout, pol["origin"].to_numpy(dtype=object))
        for row in pol[~partial].itertuples():
            n += 1
            name = None
            if not layout.police.empty and "name" in layout.police:
                hit = layout.police.loc[layout.police["fid"] == row.fid, "name"]
                name = tag_text(hit.iat[0]) if len(hit) else None
            who = name or (
                f"police premises {row.fid}"
                if not _RAW_ID.match(str(row.fid))
                else "the police premises"
            )
            yield Finding(
                severity="medium",
                title="Police entrance unlit",
                message=f"The public entrance of {who} gets no light from any lamp.",
                geometry=row.geometry,
                evidence={"E_h_lx": 0.0, "lamps_in_reach": int(row.lamps_in_reach)},
                recommendation="Light the approach and entrance of the police premises.",
                features=[row.fid],
                basis="measured",
                rests_on=["police_entrance_must_be_lit"],
            )
    yield Metric("unlit_must_light_findings", n)


# --- LT005 ---------------------------------------------------------------------------------


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
    """Outdoor routes and parking on the site whose ``lit`` tag says the lights are switched
    off part of the night (``lit=limited``/``interval``): a tagged, measured fact."""
    layout = site.layout
    site_poly = layout.site
    values = set(site.params["part_night_values"])
    n = 0
    for kind, layer in (
        ("route", layout.foot_routes),
        ("parking", layout.parking),
        ("pedestrian_area", layout.pedestrian_areas),
    ):
        if layer.empty:
            continue
        lit = np.array([t.get("lit") for t in layer["tags"]], dtype=object)
        hit = np.isin(lit, list(values)) & ~indoor_mask(layer)
        if site_poly is not None:
            hit &= shapely.intersects(layer.geometry.values, site_poly)
        names = layer["name"].to_numpy(dtype=object) if "name" in layer else [None] * len(layer)
        hws = layer["highway"].to_numpy(dtype=object) if "highway" in layer else [None] * len(layer)
        for i in np.flatnonzero(hit):
            n += 1
            fid = layer["fid"].iat[i]
            geom = layer.geometry.values[i]
            place = _cap(_place(site, kind, fid, tag_text(names[i]), tag_text(hws[i]), geom))
            yield Finding(
                severity="medium",
                title="Lighting switched off part of the night",
                message=f"{place} is tagged lit={lit[i]}: it is not lit dusk to dawn.",
                geometry=geom,
                evidence={"lit_tag": lit[i]},
                recommendation="Switch the lighting automatically dusk to dawn (photocell).",
                features=[fid],
                basis="measured",
                rests_on=["part_night_values"],
            )
    yield Metric("part_night_lighting_findings", n)


# --- LT006 ---------------------------------------------------------------------------------


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
    settings=[LIGHTING],
    references=[EN13201_3],
)
def shaded_lamps(site: Site) -> Iterator[Finding | Metric]:
    """Lamps on the site whose light reaching the ground within reach is mostly blocked by
    buildings (light landing on roofs or cut off by walls) or tree crowns. A lamp whose head
    is inside a tree crown lights nothing whatever the threshold: measured, resting on no
    threshold. Otherwise the share depends on the lamp's photometry and the heights of what
    blocks it (modelled where assumed) and on ``max_blocked_share``."""
    sh = site.shared("lighting", "shading")
    if sh.empty:
        yield Metric("shaded_lamps", 0)
        return
    _, frame = site.shared("lighting", "lamps")
    boundary = site.layout.site
    in_site = shapely.intersects(sh.geometry.values, boundary) if boundary is not None else True
    hit = in_site & (sh["blocked_share"] > site.params["max_blocked_share"]).to_numpy()
    sel = np.flatnonzero(hit)
    b = site.layout.buildings
    heightless = np.zeros(len(sh), dtype=bool)
    if not b.empty and sel.size:
        no_h = ~np.isfinite(b["height_m"].to_numpy(dtype=float))
        if no_h.any():
            tree = shapely.STRtree(b.geometry.values[no_h])
            reach = float(site.params["reach_factor"]) * frame["height_m"].to_numpy(dtype=float)
            li, _ = tree.query(sh.geometry.values[sel], predicate="dwithin", distance=reach[sel])
            heightless[sel[np.unique(li)]] = True
    for i in sel:
        row = sh.iloc[i]
        lamp = frame.iloc[i]
        crown = bool(row["in_crown"])
        why = "its head is inside a tree crown" if crown else "buildings or trees"
        assumptions = []
        if not crown:
            if str(lamp["photometry"]) in GENERIC_NAMES:
                assumptions.append(
                    "The lamp has no photometry file: a generic street-light distribution "
                    "stands in."
                )
            if str(lamp["height_source"]).startswith("default"):
                assumptions.append(
                    f"The lamp's mounting height is assumed ({float(lamp['height_m']):g} m "
                    "for its setting) [unverified]."
                )
            if heightless[i]:
                assumptions.append(
                    "Buildings without a height are taken as taller than any lamp, an "
                    "upper bound on their shade."
                )
        geom = row.geometry
        near = _near_name(site, geom)
        fid = row["fid"]
        where = f"by {near}" if near else where_unnamed(site, geom)
        who = (f"Lamp {fid}" if not _RAW_ID.match(str(fid)) else "A lamp") + (
            f" {where}" if where else ""
        )
        evidence = {
            "blocked_share": round(float(row["blocked_share"]), 3),
            "flux_open_lm": round(float(row["flux_open_lm"]), 1),
            "flux_lm": round(float(row["flux_lm"]), 1),
            "in_crown": crown,
        }  # fmt: skip
        if assumptions:
            evidence["assumptions"] = assumptions
        yield Finding(
            severity="medium",
            title="Lamp mostly blocked",
            message=f"{who}: {100 * row['blocked_share']:.0f}% of its light reaching the "
            f"ground within reach is blocked ({why}).",
            geometry=geom,
            evidence=evidence,
            recommendation="Move the lamp clear of the building or tree, or prune the crown.",
            features=[fid],
            basis="modelled" if assumptions else "measured",
            rests_on=[] if crown else ["max_blocked_share"],
        )
    yield Metric("shaded_lamps", int(len(sel)))
