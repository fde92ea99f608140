"""LT003: too little light to recognise a face (semi-cylindrical illuminance on routes,
parking and at entrances)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from safespace._classify import tag_text
from safespace.analyses.lighting_stretches import lamps_partial
from safespace.findings import Finding, Metric
from safespace.rules.engine import Param, Site, rule
from safespace.rules.lighting._shared import (
    _RAW_ID,
    EN13201_3,
    LIGHTING,
    ROMBAUTS,
    _assumptions,
    _basis,
    _by_route,
    _cap,
    _lower_bound,
    _multi,
    _near_name,
    _place,
    _ranges,
    _Row,
)

# --- LT003 ---------------------------------------------------------------------------------


def _entrance_place(site: Site, fid: str, geom) -> str:
    """``the entrance of Rathaus``, ``entrance e-ha07`` (a drawn id), ``an entrance on
    Hauptstraße``."""
    layout = site.layout
    ent = layout.entrances
    bfid = None
    if not ent.empty and "building_fid" in ent:
        hit = ent.loc[ent["fid"] == fid, "building_fid"]
        bfid = hit.iat[0] if len(hit) else None
    if bfid is not None and not layout.buildings.empty and "name" in layout.buildings:
        nm = layout.buildings.loc[layout.buildings["fid"] == bfid, "name"]
        if len(nm) and tag_text(nm.iat[0]):
            return f"the entrance of {tag_text(nm.iat[0])}"
    if not _RAW_ID.match(str(fid)):
        return f"entrance {fid}"
    near = _near_name(site, geom)
    return f"an entrance on {near}" if near else "an entrance"


def _face_rows_finding(site: Site, rows: list, thr: float, lower: float) -> Finding:
    first = rows[0]
    avg = min(float(r.Esc_avg) for r in rows)
    low = min(float(r.Esc_min) for r in rows)
    is_route = first.kind == "route"
    geometry = (_multi(rows) if len(rows) > 1 else first.geometry) if is_route else first.geometry
    place = _cap(_place(site, first.kind, first.fid, first.name, first.highway, geometry))
    dark = avg < lower - 1e-9
    if is_route and len(rows) > 1:
        length = float(np.sum([r.length_m for r in rows]))
        where = f"{place}: {len(rows)} stretches, {length:.0f} m in all ({_ranges(rows)}),"
        what = "where semi-cylindrical illuminance averages as little as"
    else:
        length = float(first.length_m) if is_route else None
        where = f"{place}, {_ranges(rows)}:" if is_route else f"{place}:"
        what = "semi-cylindrical illuminance averages"
    band = (
        f"below the {lower:g}–{thr:g} lx at which a face can be recognised at about 4 m"
        if dark
        else f"within the {lower:g}–{thr:g} lx band the source gives for recognising a face "
        "at about 4 m, below its upper end"
    )
    evidence = {
        "Esc_avg_lx": round(avg, 3),
        "Esc_min_lx": round(low, 3),
        "threshold_lx": thr,
        "lower_threshold_lx": lower,
        "length_m": None if length is None else round(length, 1),
        "stretches": [
            {
                "from_m": round(float(r.a0), 1),
                "to_m": round(float(r.a1), 1),
                "Esc_avg_lx": round(float(r.Esc_avg), 3),
                "Esc_min_lx": round(float(r.Esc_min), 3),
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
        severity="low" if dark else "info",
        title="Faces hard to recognise",
        message=f"{where} {what} {avg:.2f} lx (lowest {low:.2f} lx), {band}.",
        geometry=geometry,
        evidence=evidence,
        recommendation=(
            "Light the route from the side and from both directions (lamps on alternate sides, "
            "or more lamps), so faces are lit, not only the ground."
        ),
        features=[first.fid],
        basis=_basis(rows),
        rests_on=["min_esc_lower_lx"] if dark else ["min_esc_lx"],
    )


def _lamp_assumptions_point(site: Site, row) -> list[str]:
    fake = _Row(
        int(row.lamps_assumed_photometry), int(row.lamps_assumed_height),
        int(row.lamps_assumed_flux), False, int(row.lamps_in_reach),
    )  # fmt: skip
    return _assumptions(site, [fake])


@rule(
    "LT003",
    "Too little light to recognise a face",
    "lighting",
    principles=["natural_surveillance"],
    params={
        "min_esc_lx": Param(
            0.6,
            "lx",
            "semi-cylindrical illuminance at 1.5 m needed to recognise a face (4 m): the upper "
            "end of the source's band; below it and above min_esc_lower_lx is advisory",
            ROMBAUTS,
        ),
        "min_esc_lower_lx": Param(
            0.4,
            "lx",
            "the lower end of the band: below it a face cannot be recognised at 4 m (low)",
            ROMBAUTS,
        ),
        "check_routes": Param(True, "", "check route stretches", "safespace convention"),
        "check_entrances": Param(True, "", "check building entrances", "safespace convention"),
        "check_parking": Param(True, "", "check parking areas", "safespace convention"),
    },  # fmt: skip
    settings=[LIGHTING],
    references=[ROMBAUTS, EN13201_3, "EN 13201-2 SC classes [unverified]"],
)
def facial_recognition(site: Site) -> Iterator[Finding | Metric]:
    """Semi-cylindrical illuminance E_sc at 1.5 m (the smaller of the two faces along a
    route) against the level at which a face can be recognised: route stretches and parking
    areas by their average, entrances at the door. Below the lower end of the source's band
    (0.4 lx) is a low finding; within the band (0.4–0.6 lx) advisory. A route's failing
    stretches are one finding per band. With partial lamp data, entrances are one data gap
    (door lights are not mapped in OpenStreetMap), and route stretches no mapped lamp
    reaches are LT001's data gap."""
    thr = float(site.params["min_esc_lx"])
    lower = min(float(site.params["min_esc_lower_lx"]), thr)
    st = site.shared("lighting", "stretches")
    n = 0
    if not st.empty:
        want = []
        if site.params["check_routes"]:
            want += ["route", "pedestrian_area"]
        if site.params["check_parking"]:
            want.append("parking")
        sel = st[st["assessable"] & st["kind"].isin(want) & (st["Esc_avg"] < thr)]
        sel = sel.assign(dark=sel["Esc_avg"] < lower - 1e-9).reset_index(drop=True)
        tuples = list(sel.itertuples())
        for pos in _by_route(sel, ["dark"]):
            n += 1
            yield _face_rows_finding(site, [tuples[i] for i in pos], thr, lower)
    if site.params["check_entrances"]:
        ent = site.shared("lighting", "entrances")
        ent = ent[(ent["kind"] == "entrance") & ent["in_site"].astype(bool)]
        partial = lamps_partial(site.layout, ent["origin"].to_numpy(dtype=object))
        below = ent["E_sc"].to_numpy(dtype=float) < thr
        unknown = ent[partial & below]
        if len(unknown):
            k = len(unknown)
            yield Finding(
                severity="info",
                title="Entrance lighting not mapped",
                message=(
                    f"The light at {k} entrance{'s' if k != 1 else ''} cannot be assessed: door "
                    "lights and most wall lamps are not mapped in OpenStreetMap, and the lamp "
                    "data is partial, so mapped street lamps alone give only a lower bound."
                ),
                geometry=shapely.MultiPoint(list(unknown.geometry.values)),
                evidence={
                    "gap": {
                        "kind": "entrance-lights-unmapped",
                        "extent": k,
                        "unit": "entrances",
                        "resolve": "supply the lighting plan, with the door and wall lights of "
                        "each entrance: positions, mounting heights and photometry",
                    },
                    "entrances": k,
                },
                recommendation="Supply the external lighting plan for the entrances (door "
                "lights with their photometry) and assess again.",
                features=[],
                basis="data-gap",
            )
        for row in ent[~partial & below].itertuples():
            n += 1
            dark = row.E_sc < lower - 1e-9
            modelled = row.lamps_in_reach > 0 and (
                row.lamps_assumed_photometry + row.lamps_assumed_height + row.lamps_assumed_flux > 0
            )
            evidence = {
                "Esc_lx": round(float(row.E_sc), 3),
                "threshold_lx": thr,
                "lower_threshold_lx": lower,
                "lamps_in_reach": int(row.lamps_in_reach),
            }  # fmt: skip
            if modelled:
                evidence["assumptions"] = _lamp_assumptions_point(site, row)
            place = _cap(_entrance_place(site, row.fid, row.geometry))
            yield Finding(
                severity="low" if dark else "info",
                title="Entrance too dark to recognise a face",
                message=(
                    f"{place}: {row.E_sc:.2f} lx semi-cylindrical at 1.5 m on the face of "
                    "someone at the door, "
                    + (
                        f"below the {lower:g}–{thr:g} lx at which a face can be recognised"
                        if dark
                        else f"within the {lower:g}–{thr:g} lx band, below its upper end"
                    )
                    + (" (no lamp within reach)." if row.lamps_in_reach == 0 else ".")
                ),
                geometry=row.geometry,
                evidence=evidence,
                recommendation="Light the entrance: a lamp near the door (dusk to dawn) lighting "
                "the face of a caller.",
                features=[row.fid],
                basis="modelled" if modelled else "measured",
                rests_on=["min_esc_lower_lx"] if dark else ["min_esc_lx"],
            )
    yield Metric("facial_recognition_findings", n)
