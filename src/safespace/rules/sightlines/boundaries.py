"""SL007 and SL008: planting and front boundaries that block sightlines."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import shapely
import shapely.ops

from safespace.analyses._visibility import polygon_segments
from safespace.findings import Finding, Metric
from safespace.rules._common import (
    building_place,
    in_site,
    is_label,
    route_place,
)
from safespace.rules.engine import Param, Site, rule
from safespace.rules.sightlines._shared import (
    BOUNDARY_BARRIERS,
    PLANTING_SHRUBS,
    SBD_FRONT,
    SBD_PLANTING,
    TREES,
    UNVERIFIED,
    dwelling_fids,
)

# --- SL007 ---------------------------------------------------------------------------------


def _route_edge_distance(geoms, routes) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each geometry to the nearest route's edge (centreline minus half its
    width, width 0 when untagged) and that route's row. O(n log m)."""
    tree = shapely.STRtree(routes.geometry.values)
    gi, ri = tree.query_nearest(geoms, all_matches=False, return_distance=False)
    d = shapely.distance(geoms[gi], routes.geometry.values[ri])
    half = np.nan_to_num(routes["width_m"].to_numpy(float)[ri], nan=0.0) / 2
    out = np.full(len(geoms), np.inf)
    row = np.full(len(geoms), -1)
    out[gi] = np.maximum(d - half, 0.0)
    row[gi] = ri
    return out, row


@rule(
    "SL007",
    "Planting that blocks sightlines beside routes and parking",
    "sightlines",
    principles=["natural_surveillance"],
    params={
        "shrub_max_m": Param(
            1.0, "m", "shrubs and hedges beside routes no taller than this", SBD_PLANTING
        ),
        "crown_min_m": Param(
            2.0, "m", "tree crowns beside routes start no lower than this", SBD_PLANTING
        ),
        "parking_hedge_max_m": Param(
            0.5, "m", "hedges by parking no taller than this", SBD_PLANTING
        ),
        "route_distance_m": Param(
            2.0, "m", "planting within this of a route's edge is beside it", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_PLANTING],
)
def blocking_planting(site: Site) -> Iterator[Finding | Metric]:
    """Shrubs and hedges taller than the limit, and tree crowns lower than the limit, beside
    foot routes; hedges taller than the parking limit beside parking. Only tagged heights
    are judged (``height``, ``safespace:crown_base``)."""
    p = site.params
    lay = site.layout
    items = []  # (fid, kind, geometry, height, crown_base, crown_radius)
    pl = lay.planting
    if not pl.empty:
        for r in pl.itertuples():
            kind = r.natural
            radius = 0.0
            if kind in TREES:
                try:
                    radius = float(str(r.tags.get("diameter_crown", "")).split()[0]) / 2
                except (ValueError, IndexError):
                    radius = 0.0
            items.append((r.fid, kind, r.geometry, r.height_m, r.crown_base_m, radius))
    br = lay.barriers
    if not br.empty:
        for r in br[br["barrier"] == "hedge"].itertuples():
            items.append((r.fid, "hedge", r.geometry, r.height_m, np.nan, 0.0))
    count = 0
    unknown = 0
    if items and not lay.foot_routes.empty:
        df = pd.DataFrame(items, columns=["fid", "kind", "geometry", "h", "crown", "radius"])
        geoms = df["geometry"].to_numpy()
        d_route, ri = _route_edge_distance(geoms, lay.foot_routes)
        d_route = np.maximum(d_route - df["radius"].to_numpy(float), 0.0)
        d_park = np.full(len(df), np.inf)
        if not lay.parking.empty:
            d_park = shapely.distance(geoms, shapely.union_all(lay.parking.geometry.values))
        insite = in_site(site, geoms)
        near = float(p["route_distance_m"])
        for i, row in df.iterrows():
            if not insite[i]:
                continue
            shrub = row.kind in PLANTING_SHRUBS
            tree = row.kind in TREES
            by_route = d_route[i] <= near
            by_park = d_park[i] <= near
            problem = None
            if shrub and by_park and row.h > p["parking_hedge_max_m"]:
                problem = ("height_m", row.h, p["parking_hedge_max_m"], "parking")
            elif shrub and by_route and row.h > p["shrub_max_m"]:
                problem = ("height_m", row.h, p["shrub_max_m"], "route")
            elif tree and (by_route or by_park) and row.crown < p["crown_min_m"]:
                problem = ("crown_base_m", row.crown, p["crown_min_m"], "route")
            elif (by_route or by_park) and (
                (shrub and np.isnan(row.h)) or (tree and np.isnan(row.crown))
            ):
                unknown += 1
            if problem is None:
                continue
            key, value, limit, where = problem
            count += 1
            route = lay.foot_routes["fid"].iloc[ri[i]] if ri[i] >= 0 else None
            beside = "parking" if where == "parking" else route_place(site, [route])
            label = f" {row.fid}" if is_label(row.fid) else ""
            if key == "height_m":
                what = f"a {row.kind}{label} is {value:g} m tall"
                rule_text = f"over the {limit:g} m limit"
                fix = f"Keep it trimmed to {limit:g} m or below, or replace it with low planting."
            else:
                what = f"a tree{label} has its crown from {value:g} m"
                rule_text = f"below the {limit:g} m minimum"
                fix = f"Crown-lift the tree to {limit:g} m or more (clear stem), or move it."
            yield Finding(
                severity="medium",
                title="Planting blocks sightlines",
                message=f"Beside {beside}, {what}, {rule_text}: it hides people and paths.",
                geometry=row.geometry,
                basis="measured",
                rests_on=[
                    {"parking": "parking_hedge_max_m", "route": "shrub_max_m"}[where]
                    if key == "height_m"
                    else "crown_min_m",
                    "route_distance_m",
                ],
                evidence={
                    key: float(value),
                    "limit_m": float(limit),
                    "distance_to_route_edge_m": None
                    if np.isinf(d_route[i])
                    else round(float(d_route[i]), 2),
                    "beside": where,
                },
                recommendation=fix + " Specify it in the landscape management plan.",
                features=[row.fid] + ([route] if route else []),
            )
    yield Metric("blocking_planting", count)
    yield Metric("planting_height_unknown_by_routes", unknown)


# --- SL008 ---------------------------------------------------------------------------------


@rule(
    "SL008",
    "High front boundaries",
    "sightlines",
    proposal_rule=True,
    principles=["natural_surveillance", "territorial_reinforcement"],
    params={
        "max_height_m": Param(1.0, "m", "front boundaries no taller than this", SBD_FRONT),
        "max_front_depth_m": Param(
            30.0, "m", "a front faces a route within this distance", UNVERIFIED
        ),
    },  # fmt: skip
    references=[SBD_FRONT],
)
def front_boundaries(site: Site) -> Iterator[Finding | Metric]:
    """Walls, fences and hedges taller than the limit between a dwelling's front (its
    entrance wall) and the street or path it faces, which hide the door and windows."""
    p = site.params
    lay = site.layout
    count = 0
    br = lay.barriers
    ent = lay.entrances
    routes = lay.foot_routes
    if br.empty or ent.empty or routes.empty or lay.buildings.empty:
        yield Metric("high_front_boundaries", 0)
        return
    high = br[
        br["barrier"].isin(BOUNDARY_BARRIERS).to_numpy()
        & (br["height_m"] > p["max_height_m"]).to_numpy()
    ]
    b = lay.buildings
    homes_all = dwelling_fids(lay)
    e = ent[ent["building_fid"].isin(homes_all).to_numpy()]
    if high.empty or e.empty:
        yield Metric("high_front_boundaries", 0)
        return
    pos = {f: i for i, f in enumerate(b["fid"])}
    seg, owner = polygon_segments(b.geometry.values)
    zones, dwell = [], []
    ei, ri = shapely.STRtree(routes.geometry.values).query_nearest(
        e.geometry.values, max_distance=float(p["max_front_depth_m"]), all_matches=False
    )
    nearest_route = dict(zip(ei.tolist(), ri.tolist(), strict=True))
    for k, r in enumerate(e.itertuples()):  # one front zone per dwelling entrance (few)
        if k not in nearest_route:
            continue
        bi = pos[r.building_fid]
        own = np.flatnonzero(owner == bi)
        ex, ey = r.geometry.x, r.geometry.y
        sg = seg[own]
        ab = sg[:, 2:] - sg[:, :2]
        t = np.clip(
            ((ex - sg[:, 0]) * ab[:, 0] + (ey - sg[:, 1]) * ab[:, 1]) / (ab**2).sum(1), 0, 1
        )
        dd = np.hypot(sg[:, 0] + t * ab[:, 0] - ex, sg[:, 1] + t * ab[:, 1] - ey)
        w = sg[int(np.argmin(dd))]
        a, c = np.array(w[:2]), np.array(w[2:])
        wall_len = float(np.hypot(*(c - a)))
        if wall_len > 1.0:  # the middle of the front wall: side fences at its ends are not fronts
            u = (c - a) / wall_len
            a, c = a + 0.5 * u, c - 0.5 * u
        rr = [nearest_route[k]]
        road = routes.geometry.values[rr[0]]
        pa = road.interpolate(road.project(shapely.Point(a)))
        pc = road.interpolate(road.project(shapely.Point(c)))
        zones.append(shapely.MultiPoint([a, c, pa.coords[0], pc.coords[0]]).convex_hull)
        dwell.append((r.building_fid, routes["fid"].iloc[rr[0]]))
    if not zones:
        yield Metric("high_front_boundaries", 0)
        return
    zi, bi = shapely.STRtree(np.array(zones, dtype=object)).query(
        high.geometry.values, predicate="intersects"
    )[::-1]
    hits: dict[int, list[int]] = {}
    for z, k in zip(zi, bi, strict=True):
        piece = high.geometry.values[k].intersection(zones[z])
        if piece.length > 0.5 or piece.area > 0.25:
            hits.setdefault(int(k), []).append(int(z))
    for k, zs in sorted(hits.items()):
        row = high.iloc[k]
        if not shapely.intersects(row.geometry, site.site_polygon):
            continue
        count += 1
        homes = sorted({dwell[z][0] for z in zs})
        streets = sorted({dwell[z][1] for z in zs})
        yield Finding(
            severity="medium",
            title="High front boundary",
            message=(
                f"A {row.barrier.replace('_', ' ')}"
                f"{' ' + str(row.fid) if is_label(row.fid) else ''} ({row.height_m:g} m) stands "
                f"between the front of {building_place(site, homes, 'home')} and "
                f"{route_place(site, streets)}: above {p['max_height_m']:g} m it hides the door "
                "and ground-floor windows from the street, and the street from them."
            ),
            geometry=row.geometry,
            basis="measured",
            rests_on=["max_height_m"],
            evidence={
                "height_m": float(row.height_m),
                "max_height_m": p["max_height_m"],
                "barrier": row.barrier,
                "dwellings": homes,
                "faces": streets,
            },
            recommendation=(
                f"Lower the front boundary to {p['max_height_m']:g} m or less (a low wall, "
                "railings or a low hedge); keep taller boundaries (1.8 m) to rear and side gardens."
            ),
            features=[row.fid] + homes,
        )
    yield Metric("high_front_boundaries", count)
