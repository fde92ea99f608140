"""From a layout's ``lamps`` layer to a :class:`~safespace.analyses.illuminance.LampSet`.

:func:`layout_lamps` fills what the input leaves out of each lamp with documented defaults
**by setting** (the highway type of the nearest route: :data:`HIGHWAY_SETTING`) and returns
a frame saying what was assumed. Every default is **[unverified]** (no public source found
for a per-setting mounting height or flux; they are typical UK/EU practice) and each is a
rule parameter; see ``docs/lighting.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace.analyses.illuminance import DEFAULT_MAINTENANCE_FACTOR, LampSet
from safespace.errors import InputError
from safespace.photometry import Photometry, generic_streetlight
from safespace.photometry import read as read_photometry

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = ["GENERIC_NAMES", "HIGHWAY_SETTING", "layout_lamps", "setting_of"]

#: Lighting setting of a route by its ``highway`` value: it picks the default mounting
#: height and flux of lamps beside it.
HIGHWAY_SETTING: dict[str, str] = {
    **dict.fromkeys(
        ("footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "track", "corridor"),
        "footway",
    ),  # fmt: skip
    **dict.fromkeys(
        ("residential", "unclassified", "service", "living_street", "road", "busway"),
        "street",
    ),
    **dict.fromkeys(("tertiary", "tertiary_link", "secondary", "secondary_link"), "main"),
    **dict.fromkeys(
        ("primary", "primary_link", "trunk", "trunk_link", "motorway", "motorway_link"), "trunk"
    ),
}

_SETTING_KEY = {
    "footway": "footway",
    "street": "street",
    "main": "main_road",
    "trunk": "trunk_road",
}

#: OSM ``direction`` given as a compass point.
_COMPASS = {
    k: 22.5 * i for i, k in enumerate("N NNE NE ENE E ESE SE SSE S SSW SW WSW W WNW NW NNW".split())
}

GENERIC_NAMES = ("generic", "generic_streetlight")
_GENERIC_REF_LM = 1000.0


def setting_of(highway: str | None) -> str:
    """The lighting setting (``footway``, ``street``, ``main``, ``trunk``) of a highway value."""
    return HIGHWAY_SETTING.get(highway or "", "street")


def _all_routes(layout: Layout) -> gpd.GeoDataFrame:
    """Foot routes and streets (a ``foot=no`` street still carries lamps), one row per fid."""
    parts = [f for f in (layout.foot_routes, layout.streets) if not f.empty]
    if not parts:
        return layout.foot_routes.iloc[0:0]
    both = pd.concat(parts, ignore_index=True).drop_duplicates("fid")
    return gpd.GeoDataFrame(both, geometry="geometry", crs=layout.crs).reset_index(drop=True)


def _direction_deg(tags: dict) -> float:
    """OSM ``direction`` in degrees clockwise from north, or NaN."""
    raw = str(tags.get("direction", "")).strip().upper()
    if raw in _COMPASS:
        return _COMPASS[raw]
    try:
        return float(raw) % 360.0
    except ValueError:
        return np.nan


def _input_dir(layout: Layout) -> Path:
    label = layout.inputs[0]["label"] if layout.inputs else ""
    p = Path(label) if label else None
    return p.parent if p is not None and p.suffix else Path.cwd()


def layout_lamps(
    layout: Layout,
    *,
    footway_height_m: float = 5.0,
    street_height_m: float = 6.0,
    main_road_height_m: float = 8.0,
    trunk_road_height_m: float = 10.0,
    footway_lumens: float = 3000.0,
    street_lumens: float = 5000.0,
    main_road_lumens: float = 10000.0,
    trunk_road_lumens: float = 15000.0,
    maintenance_factor: float = DEFAULT_MAINTENANCE_FACTOR,
    setting_search_m: float = 50.0,
    facade_snap_m: float = 2.0,
) -> tuple[LampSet, gpd.GeoDataFrame]:
    """The layout's lamps as a :class:`LampSet`, and a frame of what was assumed.

    Per lamp (tags as in ``docs/tags.md``):

    - **setting**: the highway of the nearest route (foot route or street) within
      ``setting_search_m``: ``footway`` (footway, path, steps, cycleway...), ``street``
      (residential, service, unclassified, living_street...), ``main`` (tertiary,
      secondary) or ``trunk`` (primary, trunk); ``street`` when no route is that near.
    - **height**: ``height``/``lamp_mount:height``, else the setting's default height.
    - **photometry**: ``safespace:photometry`` as a file path relative to the input file
      (``layout.inputs[0]["label"]``) or a built-in name (``generic``); else the built-in
      :func:`~safespace.photometry.generic_streetlight`.
    - **lumens**: ``safespace:lumens`` scales the photometry to that lamp flux; else a file
      photometry is used as photometered and the generic one gets the setting's default flux.
    - **azimuth** (C0 plane, degrees clockwise from north): ``safespace:azimuth``; else OSM
      ``direction`` (the way the light faces) taken as the C90 plane (C0 = direction + 90°);
      else C90 faces the nearest point of the nearest route, i.e. C0–C180 runs along it (the
      road-luminaire convention of EULUMDAT / EN 13201, which the generic distribution's
      along-road lobe follows). A lamp standing on the route's line gets C0 along the route.
    - **tilt**: ``safespace:tilt``, else 0. **maintenance factor**: tag, else
      ``maintenance_factor``.
    - a lamp mapped inside a building footprint within ``facade_snap_m`` of its outline (a
      wall-mounted lamp drawn on the façade) is moved 0.3 m outside the nearest wall, so the
      building does not swallow its light.

    Returns
    -------
    (LampSet, geopandas.GeoDataFrame)
        The lamps (same order as ``layout.lamps``) and one row per lamp: ``fid``, ``setting``,
        ``nearest_highway``, ``height_m``, ``height_source``, ``lumens``, ``lumens_source``,
        ``photometry``, ``azimuth_deg``, ``azimuth_source``, ``tilt_deg``,
        ``maintenance_factor``, ``moved_m`` and the (possibly moved) point geometry.

    Raises
    ------
    InputError
        A photometry file that is missing or unreadable, or an unknown built-in name.

    Notes
    -----
    O(m log R) for m lamps and R routes (STRtree nearest queries).
    """
    lamps = layout.lamps
    m = len(lamps)
    heights = dict(
        footway_height_m=footway_height_m, street_height_m=street_height_m,
        main_road_height_m=main_road_height_m, trunk_road_height_m=trunk_road_height_m,
        footway_lumens=footway_lumens, street_lumens=street_lumens,
        main_road_lumens=main_road_lumens, trunk_road_lumens=trunk_road_lumens,
    )  # fmt: skip
    cols = ["fid", "setting", "nearest_highway", "height_m", "height_source", "lumens",
            "lumens_source", "photometry", "azimuth_deg", "azimuth_source", "tilt_deg",
            "maintenance_factor", "moved_m"]  # fmt: skip
    if m == 0:
        frame = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=layout.crs)
        return LampSet(np.empty((0, 3)), [generic_streetlight(_GENERIC_REF_LM)]), frame

    xy = shapely.get_coordinates(lamps.geometry.values)[:, :2].copy()
    moved = np.zeros(m)
    # wall-mounted lamps drawn on (or just inside) a building outline: step them outside
    if not layout.buildings.empty and facade_snap_m > 0:
        bgeoms = layout.buildings.geometry.values
        li, bi = shapely.STRtree(bgeoms).query(shapely.points(xy), predicate="intersects")
        if li.size:
            li, first = np.unique(li, return_index=True)
            bi = bi[first]
            ring = shapely.boundary(bgeoms[bi])
            pts = shapely.points(xy[li])
            dist = shapely.distance(pts, ring)
            near = dist <= facade_snap_m
            li, ring, pts, dist = li[near], ring[near], pts[near], dist[near]
            on = shapely.get_coordinates(
                shapely.line_interpolate_point(ring, shapely.line_locate_point(ring, pts))
            )
            out = on - xy[li]
            n = np.hypot(out[:, 0], out[:, 1])
            # a lamp exactly on the wall: step out across the wall's normal (either side
            # tested below by containment)
            safe = n > 1e-9
            out[safe] /= n[safe, None]
            cand = on + 0.3 * out
            bad = ~safe | shapely.contains_xy(bgeoms[bi[near]], cand[:, 0], cand[:, 1])
            if bad.any():
                # step along the outward normal of the wall segment nearest the lamp
                s = shapely.line_locate_point(ring[bad], pts[bad])
                a = shapely.get_coordinates(shapely.line_interpolate_point(ring[bad], s - 0.05))
                b = shapely.get_coordinates(shapely.line_interpolate_point(ring[bad], s + 0.05))
                t = b - a
                t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-12)[:, None]
                nrm = np.column_stack([t[:, 1], -t[:, 0]])
                c1 = on[bad] + 0.3 * nrm
                inside1 = shapely.contains_xy(bgeoms[bi[near]][bad], c1[:, 0], c1[:, 1])
                cand[bad] = np.where(inside1[:, None], on[bad] - 0.3 * nrm, c1)
            moved[li] = np.hypot(*(cand - xy[li]).T)
            xy[li] = cand

    # nearest route: setting and default aim
    routes = _all_routes(layout)
    nearest_hw = np.array([None] * m, dtype=object)
    aim = np.full(m, np.nan)  # bearing of C90 (toward the route), or C0 along a route
    aim_along = np.zeros(m, dtype=bool)
    if not routes.empty:
        rg = routes.geometry.values
        pi_, ri = shapely.STRtree(rg).query_nearest(
            shapely.points(xy), max_distance=setting_search_m, all_matches=False
        )
        nearest_hw[pi_] = routes["highway"].to_numpy(dtype=object)[ri]
        s = shapely.line_locate_point(rg[ri], shapely.points(xy[pi_]))
        near = shapely.get_coordinates(shapely.line_interpolate_point(rg[ri], s))
        v = near - xy[pi_]
        d = np.hypot(v[:, 0], v[:, 1])
        bearing = np.degrees(np.arctan2(v[:, 0], v[:, 1])) % 360.0
        a = shapely.get_coordinates(shapely.line_interpolate_point(rg[ri], s - 0.5))
        b = shapely.get_coordinates(shapely.line_interpolate_point(rg[ri], s + 0.5))
        along = np.degrees(np.arctan2(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1])) % 360.0
        on_line = d < 0.5
        aim[pi_] = np.where(on_line, along, bearing)
        aim_along[pi_] = on_line
    setting = np.array([setting_of(h) if h else "street" for h in nearest_hw], dtype=object)
    key = np.array([_SETTING_KEY[s] for s in setting], dtype=object)

    h_tag = lamps["height_m"].to_numpy(dtype=float)
    h_def = np.array([heights[f"{k}_height_m"] for k in key])
    height = np.where(np.isfinite(h_tag) & (h_tag > 0), h_tag, h_def)
    height_src = np.where(np.isfinite(h_tag) & (h_tag > 0), "tag", "default:" + setting)

    # photometry: one object per distinct file / built-in name
    base = _input_dir(layout)
    cache: dict[str, Photometry] = {}
    generic = generic_streetlight(_GENERIC_REF_LM)
    phs: list[Photometry] = [generic]
    ph_index = np.zeros(m, dtype=np.int64)
    ph_name = np.array(["generic"] * m, dtype=object)
    lumen_tag = lamps["lumens"].to_numpy(dtype=float)
    lum_def = np.array([heights[f"{k}_lumens"] for k in key])
    flux_scale = np.empty(m)
    lumens = np.empty(m)
    lum_src = np.empty(m, dtype=object)
    for i, (fid, name) in enumerate(zip(lamps["fid"], lamps["photometry"], strict=True)):
        tagged = np.isfinite(lumen_tag[i]) and lumen_tag[i] > 0
        if name is None or str(name).strip().lower() in GENERIC_NAMES:
            lumens[i] = lumen_tag[i] if tagged else lum_def[i]
            lum_src[i] = "tag" if tagged else f"default:{setting[i]}"
            flux_scale[i] = lumens[i] / _GENERIC_REF_LM
            continue
        path = Path(str(name).strip())
        path = path if path.is_absolute() else base / path
        key_p = str(path.resolve())
        if key_p not in cache:
            if not path.is_file():
                raise InputError(
                    f"safespace:photometry file {name!r} not found (looked in {path})",
                    file=layout.inputs[0]["label"] if layout.inputs else None,
                    feature=fid,
                )
            cache[key_p] = read_photometry(path)
            phs.append(cache[key_p])
        ph = cache[key_p]
        ph_index[i] = phs.index(ph)
        ph_name[i] = str(name)
        if tagged:
            lumens[i], lum_src[i] = lumen_tag[i], "tag"
            flux_scale[i] = LampSet.flux_scale_for(ph, lumen_tag[i])
        else:
            lumens[i] = ph.rated_flux if ph.rated_flux else ph.flux
            lum_src[i] = "photometry file"
            flux_scale[i] = 1.0

    az_tag = np.array(
        [float(t["safespace:azimuth"]) if _is_num(t.get("safespace:azimuth")) else np.nan
         for t in lamps["tags"]]
    )  # fmt: skip
    az_dir = np.array([_direction_deg(t) for t in lamps["tags"]])
    az = np.where(aim_along, aim, (aim + 90.0) % 360.0)
    az_src = np.where(aim_along, "default:along route", "default:C90 toward route")
    az_src = np.where(np.isfinite(aim), az_src, "default:north (no route near)")
    az = np.where(np.isfinite(aim), az, 0.0)
    az = np.where(np.isfinite(az_dir), (az_dir + 90.0) % 360.0, az)
    az_src = np.where(np.isfinite(az_dir), "direction tag (C90)", az_src)
    az = np.where(np.isfinite(az_tag), az_tag % 360.0, az)
    az_src = np.where(np.isfinite(az_tag), "tag", az_src)
    tilt = lamps["tilt_deg"].to_numpy(dtype=float)
    tilt = np.where(np.isfinite(tilt), tilt, 0.0)
    mf = lamps["maintenance_factor"].to_numpy(dtype=float)
    mf = np.where(np.isfinite(mf) & (mf > 0), mf, maintenance_factor)

    lampset = LampSet(np.column_stack([xy, height]), phs, ph_index, az, tilt, flux_scale, mf)
    frame = gpd.GeoDataFrame(
        {
            "fid": lamps["fid"].to_numpy(),
            "setting": setting,
            "nearest_highway": nearest_hw,
            "height_m": height,
            "height_source": height_src,
            "lumens": lumens,
            "lumens_source": lum_src,
            "photometry": ph_name,
            "azimuth_deg": az,
            "azimuth_source": az_src,
            "tilt_deg": tilt,
            "maintenance_factor": mf,
            "moved_m": moved,
        },  # fmt: skip
        geometry=shapely.points(xy),
        crs=layout.crs,
    )
    return lampset, frame


def _is_num(v) -> bool:
    try:
        return np.isfinite(float(v))
    except (TypeError, ValueError):
        return False
