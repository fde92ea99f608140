"""PA003: is a proposed police premises well placed (a well-integrated street, overlooked
by other doors, lit)?"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import shapely

from safespace._geom import inner_points
from safespace.analyses.angular import integration_segments
from safespace.analyses.named_routes import way_name
from safespace.analyses.overlooking import overlooking_doors
from safespace.errors import InputError
from safespace.findings import Finding, Metric
from safespace.rules.engine import Param, Site, rule
from safespace.rules.police_access._shared import (
    _LIT,
    COE_237,
    _names,
    _street_of,
    proposed_premises,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------------------------
# PA003 placement of proposed premises
# --------------------------------------------------------------------------------------------


@rule(
    "PA003",
    "Proposed police premises poorly placed",
    "police_access",
    principles=["natural_surveillance", "activity_support"],
    params={
        "integration_quantile": Param(
            0.5,
            "ratio",
            "the entrance's street must be at least "
            "this quantile of angular integration (800 m) on the "
            "walk network",
            "safespace default [unverified]",
        ),
        "overlook_radius_m": Param(
            30.0,
            "m",
            "range within which other buildings' doors overlook the entrance",
            "safespace default [unverified]",
        ),
        "min_overlooking": Param(
            1,
            "",
            "doors of other buildings that must see the entrance",
            "safespace default [unverified]",
        ),
        "lamp_distance_m": Param(
            15.0,
            "m",
            "a lamp this near the entrance counts as lighting it",
            "safespace default [unverified]",
        ),
    },
    references=[COE_237, "ISO 22341:2021 clause 5.2 (natural surveillance)"],
    proposal_rule=True,
)
def premises_placement(site: Site) -> Iterator[Finding | Metric]:
    """Each proposed police premises (drawn in the proposal, inside the red line): is its
    entrance on a well-integrated street, overlooked by other doors, and lit? Without a red
    line nothing is proposed and the rule says nothing."""
    layout = site.layout
    proposed = proposed_premises(layout)
    if not proposed.any():
        return
    pol = layout.police
    rows = pol[proposed]
    names = _names(site)
    pts = np.asarray(rows["access_point"].values, dtype=object)
    missing = np.array([p is None or shapely.is_empty(p) for p in pts], dtype=bool)
    if missing.any():
        pts[missing] = inner_points(rows.geometry.values[missing])
    # integration
    skipped = []
    integ_ok: list[bool | None] = [None] * len(rows)
    integ_val: list[float | None] = [None] * len(rows)
    cut = None
    try:
        seg = site.analysis(integration_segments)
        vals = seg["integration_800"].to_numpy(float)
        if len(vals) == 0 or not np.isfinite(vals).any():
            # no segment has a defined integration (e.g. no segment reaches another within
            # 800 m): nothing to compare a door against, so the test is skipped, not failed
            skipped.append("integration (undefined on every street segment)")
        else:
            cut = float(np.nanquantile(vals, float(site.params["integration_quantile"])))
            tree = shapely.STRtree(seg.geometry.values)
            _, si = tree.query_nearest(pts, all_matches=False)
            for i, s in enumerate(si):
                if np.isfinite(vals[s]):
                    integ_val[i] = float(vals[s])
                    integ_ok[i] = bool(vals[s] >= cut)
    except (ImportError, InputError, ValueError, KeyError):
        skipped.append("integration (space-syntax analysis not available)")
        cut = None
    # overlooking: other buildings' doors inside the isovist from just outside the door
    doors_known = layout.is_complete("entrances", "proposal")
    exclude = []
    bfids = layout.buildings["fid"].to_numpy(dtype=object)
    for geom in rows.geometry.values:
        hit = shapely.intersects(layout.buildings.geometry.values, geom) if len(bfids) else []
        exclude.append(set(bfids[np.asarray(hit, dtype=bool)]) if len(bfids) else set())
    routes = layout.foot_routes.geometry.values
    origins = pts.copy()
    if len(routes):
        tree = shapely.STRtree(routes)
        _, ri = tree.query_nearest(pts, all_matches=False)
        for i, (p, r) in enumerate(zip(pts, ri, strict=True)):
            q = shapely.get_point(shapely.shortest_line(p, routes[r]), 1)
            d = p.distance(q)
            origins[i] = shapely.line_interpolate_point(shapely.LineString([p, q]), min(1.0, d))
    seen = overlooking_doors(
        layout, points=origins, exclude=exclude, radius=float(site.params["overlook_radius_m"])
    )
    if seen and seen[0] is None:
        skipped.append("overlooking (isovist analysis not available)")
    if not doors_known:
        skipped.append("overlooking (entrances are not complete in the data: doors unknown)")
    # lighting: tagged lit routes beside the entrance, or a lamp near it
    lamps_known = layout.is_complete("lamps", "proposal")
    lamps = layout.lamps.geometry.values
    lit_ok: list[bool | None] = []
    for p in pts:
        near_lamp = bool(len(lamps)) and float(shapely.distance(lamps, p).min()) <= float(
            site.params["lamp_distance_m"]
        )
        lit_tag = None
        if len(routes):
            i = int(np.argmin(shapely.distance(routes, p)))
            lit_tag = str(layout.foot_routes["lit"].iloc[i]).lower()
        if near_lamp or lit_tag in _LIT:
            lit_ok.append(True)
        elif lit_tag == "no" or lamps_known:
            lit_ok.append(False)
        else:
            lit_ok.append(None)  # no lamp mapped, in a partial layer: unknown
    if any(x is None for x in lit_ok):
        skipped.append("lighting (lamps are not complete in the data and no lit=* tag)")
    for i, (_, row) in enumerate(rows.iterrows()):
        problems, rests = [], []
        if integ_ok[i] is False:
            problems.append("its entrance is on a poorly integrated street")
            rests.append("integration_quantile")
        if doors_known and seen[i] is not None and seen[i] < int(site.params["min_overlooking"]):
            problems.append("no other door overlooks its entrance")
            rests += ["overlook_radius_m", "min_overlooking"]
        if lit_ok[i] is False:
            problems.append("its entrance is unlit")
            rests.append("lamp_distance_m")
        if not problems:
            continue
        label = way_name(row.get("name"))
        street = _street_of(row.get("tags")) or names.near([pts[i]])[0]
        where = label or (f"on {street}" if street else "in the site")
        yield Finding(
            severity="medium",
            title="Proposed police premises poorly placed",
            message=f"Proposed police premises {where}: " + "; ".join(problems) + ".",
            geometry=pts[i],
            evidence={
                "integration_800": integ_val[i],
                "integration_threshold": cut,
                "overlooking_doors": seen[i] if doors_known else None,
                "lit": lit_ok[i],
                "lighting_method": "route lit=* tag or a lamp within lamp_distance_m (the "
                "illuminance grid is not used)",
                "skipped": skipped,
            },
            rests_on=rests,
            recommendation="Put the entrance on a busy, well-connected street, facing other "
            "front doors, and light it dusk to dawn.",
            features=[row["fid"]],
        )
