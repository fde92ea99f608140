"""From a Layout to lamps and EN 13201-3-style calculation grids with illuminance.

The steps the lighting rules share:

- :func:`layout_lamps` turns the ``lamps`` layer into a :class:`~safespace.analyses.illuminance.
  LampSet`, filling what the input leaves out with documented defaults **by setting** (the
  highway type of the nearest route), and returns a frame saying what was assumed.
- :func:`illuminance_grid` lays calculation points on every foot route, pedestrian area and
  parking area and evaluates E_h (ground), E_sc and E_v (1.5 m) with building (and tree
  crown) shadows. It is the lighting area's shared analysis, fed by the
  ``[settings.lighting]`` group (``safespace.rules.lighting.LIGHTING``): rules and the
  report's figures get it through ``site.shared("lighting")``.
- :func:`stretch_table` groups the grid into route stretches and areas, each with its light
  against its EN 13201-2 P class (:data:`P_CLASSES`); LT001 and LT003 read it through
  ``site.shared("lighting", "stretches")``.

Every default below is **[unverified]** (no public source found for a per-setting mounting
height, flux or width; they are typical UK/EU practice) and each is a rule parameter; see
``docs/lighting.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

# the lit values are the one vocabulary in _classify, re-exported for the lighting rules
from safespace._classify import (
    LIT_DUSK_TO_DAWN,
    LIT_PART_NIGHT,
    LIT_UNLIT,
    building_heights,
    is_indoor,
)
from safespace._units import parse_length
from safespace.analyses.illuminance import (
    DEFAULT_MAINTENANCE_FACTOR,
    LampSet,
    Obstacles,
    area_grid,
    illuminance_both_faces,
    route_grid,
)
from safespace.errors import InputError, RuleError
from safespace.photometry import Photometry, generic_streetlight
from safespace.photometry import read as read_photometry

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = [
    "CLASS_OF_HIGHWAY",
    "HIGHWAY_SETTING",
    "LIT_DUSK_TO_DAWN",
    "LIT_PART_NIGHT",
    "LIT_UNLIT",
    "LOWEST_CLASS",
    "P_CLASSES",
    "class_keys",
    "entrance_illuminance",
    "illuminance_grid",
    "indoor_mask",
    "lamp_shading",
    "layout_lamps",
    "lighting_obstacles",
    "p_class_name",
    "required_classes",
    "route_width",
    "setting_of",
    "stretch_table",
]

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

#: Default route widths (m) by highway when ``width`` is not tagged [unverified]; the
#: footway value follows the 1.8 m minimum walking-route width (Auckland Design Manual
#: [checked]) rounded up.
DEFAULT_WIDTHS: dict[str, float] = {
    "footway": 2.0, "path": 1.5, "steps": 1.5, "cycleway": 2.5, "bridleway": 2.0,
    "track": 3.0, "corridor": 2.0, "pedestrian": 6.0, "living_street": 5.0,
    "residential": 5.5, "unclassified": 5.5, "service": 4.0, "road": 5.5, "busway": 6.0,
    "tertiary": 7.0, "tertiary_link": 6.0, "secondary": 7.5, "secondary_link": 6.0,
    "primary": 8.0, "primary_link": 6.0, "trunk": 10.0, "trunk_link": 7.0,
}  # fmt: skip
DEFAULT_WIDTH_OTHER = 3.0


#: Lamp defaults by setting: mounting height (m) and lamp flux (lm) [unverified].
LAMP_DEFAULTS = {
    "footway_height_m": 5.0,
    "street_height_m": 6.0,
    "main_road_height_m": 8.0,
    "trunk_road_height_m": 10.0,
    "footway_lumens": 3000.0,
    "street_lumens": 5000.0,
    "main_road_lumens": 10000.0,
    "trunk_road_lumens": 15000.0,
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


def route_width(frame: pd.DataFrame) -> np.ndarray:
    """Each route's width: ``width_m`` when tagged, else the default for its highway."""
    tagged = frame["width_m"].to_numpy(dtype=float) if "width_m" in frame else np.nan
    default = np.array(
        [DEFAULT_WIDTHS.get(h or "", DEFAULT_WIDTH_OTHER) for h in frame["highway"]], dtype=float
    )
    w = np.where(np.isfinite(tagged) & (tagged > 0), tagged, default)
    return w.astype(float)


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
    heights = dict(LAMP_DEFAULTS)
    heights.update(
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


def _col(frame: pd.DataFrame, name: str, default) -> np.ndarray:
    """A column as an object array, or ``default`` everywhere when the frame lacks it."""
    if name in frame:
        return frame[name].to_numpy(dtype=object)
    return np.full(len(frame), default, dtype=object)


def _is_num(v) -> bool:
    try:
        return np.isfinite(float(v))
    except (TypeError, ValueError):
        return False


#: ``parking=*`` values of car parks inside a structure: lit by their operator, not by
#: street lighting (OSM wiki Key:parking [checked]).
_INDOOR_PARKING = ("underground", "multi-storey")


def _is_indoor_tags(tags: dict) -> bool:
    """Indoors or underground by the tag vocabulary (:func:`safespace._classify.is_indoor`),
    and, for lighting, car parks inside a structure (``parking=underground|multi-storey``).
    ``tunnel=building_passage`` and ``tunnel=yes`` stay outdoor: public routes at night."""
    if not isinstance(tags, dict):
        return False
    return is_indoor(tags) or str(tags.get("parking") or "").strip().lower() in _INDOOR_PARKING


def indoor_mask(frame: pd.DataFrame) -> np.ndarray:
    """Per row of a route, pedestrian-area or parking layer: is it indoors or underground?

    Uses the layer's ``indoor`` column when the loader provides it (routes), else the tags
    (:func:`_is_indoor_tags`); underground and multi-storey car parks always count as
    indoor. O(n).
    """
    n = len(frame)
    tags = frame["tags"].to_numpy(dtype=object) if "tags" in frame else np.full(n, None)
    by_tags = np.array([_is_indoor_tags(t) for t in tags], dtype=bool)
    if "indoor" in frame:
        col = frame["indoor"].to_numpy(dtype=object)
        given = np.array([bool(v) if isinstance(v, (bool, np.bool_)) else False for v in col])
        known = np.array([isinstance(v, (bool, np.bool_)) for v in col])
        return np.where(known, given | by_tags, by_tags)
    return by_tags


def _assumed_in_reach(
    frame: gpd.GeoDataFrame, lamps: LampSet, xy: np.ndarray, reach_factor: float
) -> dict[str, np.ndarray]:
    """Per point: how many lamps in reach have an assumed photometry, height or flux.

    ``frame`` is :func:`layout_lamps`' frame. A lamp's photometry is assumed when it is the
    built-in generic distribution; its height when ``height_source`` is a default; its flux
    when ``lumens_source`` is a default. O((P + m) log P) (STRtree of the points).
    """
    n = len(xy)
    out = {k: np.zeros(n, np.int64) for k in ("photometry", "height", "flux")}
    if n == 0 or len(frame) == 0:
        return out
    kinds = {
        "photometry": frame["photometry"].astype(str).isin(GENERIC_NAMES).to_numpy(),
        "height": frame["height_source"].astype(str).str.startswith("default").to_numpy(),
        "flux": frame["lumens_source"].astype(str).str.startswith("default").to_numpy(),
    }
    any_assumed = kinds["photometry"] | kinds["height"] | kinds["flux"]
    if not any_assumed.any():
        return out
    li = np.flatnonzero(any_assumed)
    pos = lamps.positions[li]
    tree = shapely.STRtree(shapely.points(xy))
    lamp_i, pt_i = tree.query(
        shapely.points(pos[:, :2]), predicate="dwithin", distance=reach_factor * pos[:, 2]
    )
    for k, mask in kinds.items():
        sel = mask[li][lamp_i]
        out[k] = np.bincount(pt_i[sel], minlength=n).astype(np.int64)
    return out


def lighting_obstacles(
    layout: Layout, *, tree_occlusion: bool = True, crown_base_default_m: float = 2.0
) -> Obstacles | None:
    """Buildings (from the ground to their effective height: ``height_m``, else ``levels`` ×
    3 m, else unknown = taller than any lamp; the sight lines use the same), plus tree
    crowns when ``tree_occlusion``: ``natural=tree`` points with ``diameter_crown`` and a
    ``height``, or planting polygons with a height, as prisms from the crown base
    (``safespace:crown_base``, else ``crown_base_default_m``) to the top. Crowns are opaque:
    an upper bound on their shade. O(n) in the features.
    """
    # the buildings' part as Obstacles(layout.buildings) has it: the prepared obstacle set
    # is built once, from both parts (what Obstacles.concat of the two parts gives)
    bld = layout.buildings
    parts = []
    if not bld.empty:
        heights = building_heights(bld) if "height_m" in bld.columns else None
        parts.append((np.asarray(bld.geometry.values, dtype=object), heights, None))
    pl = layout.planting
    if tree_occlusion and not pl.empty:
        geoms = pl.geometry.values
        top = pl["height_m"].to_numpy(dtype=float)
        base = pl["crown_base_m"].to_numpy(dtype=float)
        base = np.where(np.isfinite(base), base, crown_base_default_m)
        diam = np.array([parse_length(t.get("diameter_crown")) for t in pl["tags"]])
        tid = shapely.get_type_id(geoms)
        crown = np.where(
            (tid == 0) & np.isfinite(diam) & (diam > 0),
            shapely.buffer(geoms, np.where(np.isfinite(diam), diam, 0.0) / 2, quad_segs=4),
            np.where(np.isin(tid, (3, 6)), geoms, None),
        )
        ok = (crown != None) & np.isfinite(top) & (top > base)  # noqa: E711
        if ok.any():
            parts.append((crown[ok], top[ok], base[ok]))
    if not parts:
        return None
    if len(parts) == 1:
        return Obstacles(*parts[0])
    n = [len(p[0]) for p in parts]
    return Obstacles(
        np.concatenate([p[0] for p in parts]),
        np.concatenate(
            [np.full(k, np.inf) if p[1] is None else p[1] for k, p in zip(n, parts, strict=True)]
        ),
        np.concatenate(
            [np.zeros(k) if p[2] is None else p[2] for k, p in zip(n, parts, strict=True)]
        ),
    )


def illuminance_grid(
    layout: Layout,
    *,
    spacing_along: float = 3.0,
    min_across: int = 3,
    area_spacing: float = 3.0,
    reach_factor: float = 6.0,
    occlusion: bool = True,
    tree_occlusion: bool = True,
    observer_height_m: float = 1.5,
    **lamp_defaults: float,
) -> gpd.GeoDataFrame:
    """Calculation points on every foot route, pedestrian area and parking area, with light.

    Routes get :func:`~safespace.analyses.illuminance.route_grid` points (at most
    ``spacing_along`` apart, at least ``min_across`` across the width from ``width_m`` or
    :data:`DEFAULT_WIDTHS`); areas get an ``area_spacing`` square grid. At each point:

    - ``E_h``: maintained horizontal illuminance at the ground (lx);
    - ``E_sc_fwd``, ``E_sc_back``: semi-cylindrical illuminance at ``observer_height_m``
      on the face of a person walking each way along the route (areas: faces looking north
      and south); ``E_sc`` is the smaller of the two;
    - ``E_v``: the smaller vertical illuminance of the same two faces;
    - ``lamps_in_reach``: lamps within ``reach_factor`` × their height (before shadows);
      ``lamps_assumed_photometry``, ``lamps_assumed_height``, ``lamps_assumed_flux``: how
      many of them have the generic photometry, a default mounting height or a default flux
      (the light there is *modelled*, not measured).

    Each point also carries its feature's ``origin`` (proposal/context/external), ``name``
    and ``indoor`` (:func:`indoor_mask`: corridors, ``indoor=*``, below-ground levels,
    station ways, underground and multi-storey car parks).

    Buildings (and tree crowns, :func:`lighting_obstacles`) cast shadows when ``occlusion``.
    ``lamp_defaults`` are passed to :func:`layout_lamps`.

    Returns
    -------
    geopandas.GeoDataFrame
        Point geometry in ``layout.crs`` and columns ``kind`` (``route``,
        ``pedestrian_area``, ``parking``), ``fid``, ``highway``, ``lit``, ``origin``,
        ``name``, ``indoor``, ``feature`` (row in its layer), ``part``, ``along``,
        ``offset``, ``direction_deg``, ``width_m``, ``in_site``, ``E_h``, ``E_sc``,
        ``E_sc_fwd``, ``E_sc_back``, ``E_v``, ``lamps_in_reach``, ``lamps_assumed_*``.
        Areas have ``along``/``offset``/``direction_deg`` NaN.

    Notes
    -----
    Cost: O(N) grid construction for N points, then two passes of the illuminance kernel:
    O(N × lamps in reach × obstacle edges near the lamp).
    """
    lamps, lamp_frame = layout_lamps(layout, **lamp_defaults)
    frames = []
    fr = layout.foot_routes
    if not fr.empty:
        width = route_width(fr)
        g = route_grid(fr, width, spacing_along=spacing_along, min_across=min_across)
        frames.append(
            pd.DataFrame(
                {
                    "x": g["x"],
                    "y": g["y"],
                    "kind": "route",
                    "fid": fr["fid"].to_numpy()[g["line"]],
                    "highway": fr["highway"].to_numpy(dtype=object)[g["line"]],
                    "lit": fr["lit"].to_numpy(dtype=object)[g["line"]],
                    "origin": _col(fr, "origin", "proposal")[g["line"]],
                    "name": _col(fr, "name", None)[g["line"]],
                    "indoor": indoor_mask(fr)[g["line"]],
                    "feature": g["line"],
                    "part": g["part"],
                    "along": g["along"],
                    "offset": g["offset"],
                    "direction_deg": g["direction_deg"],
                    "width_m": width[g["line"]],
                }  # fmt: skip
            )
        )
    for kind, layer in (("pedestrian_area", layout.pedestrian_areas), ("parking", layout.parking)):
        if layer.empty:
            continue
        polys = layer[np.isin(shapely.get_type_id(layer.geometry.values), (3, 6))]
        if polys.empty:
            continue
        g = area_grid(polys, spacing=area_spacing)
        hw = polys["highway"].to_numpy(dtype=object) if "highway" in polys else None
        frames.append(
            pd.DataFrame(
                {
                    "x": g["x"],
                    "y": g["y"],
                    "kind": kind,
                    "fid": polys["fid"].to_numpy()[g["area"]],
                    "highway": hw[g["area"]] if hw is not None else None,
                    "lit": [t.get("lit") for t in polys["tags"].to_numpy()[g["area"]]],
                    "origin": _col(polys, "origin", "proposal")[g["area"]],
                    "name": _col(polys, "name", None)[g["area"]],
                    "indoor": indoor_mask(polys)[g["area"]],
                    "feature": polys.index.to_numpy()[g["area"]],
                    "part": 0,
                    "along": np.nan,
                    "offset": np.nan,
                    "direction_deg": 0.0,
                    "width_m": np.nan,
                }  # fmt: skip
            )
        )
    if frames:
        df = pd.concat(frames, ignore_index=True)
    else:
        df = pd.DataFrame({c: [] for c in ("x", "y", "kind", "fid", "highway", "lit", "origin",
                                           "name", "indoor", "feature", "part", "along",
                                           "offset", "direction_deg", "width_m")})  # fmt: skip
    xy = df[["x", "y"]].to_numpy(dtype=float)
    obstacles = lighting_obstacles(layout, tree_occlusion=tree_occlusion) if occlusion else None
    heading = df["direction_deg"].to_numpy(dtype=float)
    # a person walking along heading θ shows their face toward θ; the observer meets them
    # a person walking along heading θ shows their face toward θ; the observer meets them.
    # One kernel pass gives both faces (θ and θ + 180°) and the lamps in reach.
    e = illuminance_both_faces(lamps, xy, heading, z_vertical=observer_height_m,
                               obstacles=obstacles, reach_factor=reach_factor)  # fmt: skip
    df["E_h"] = e["E_h"]
    df["E_sc_fwd"] = e["E_sc_fwd"]
    df["E_sc_back"] = e["E_sc_back"]
    df["E_sc"] = np.minimum(e["E_sc_fwd"], e["E_sc_back"])
    df["E_v"] = np.minimum(e["E_v_fwd"], e["E_v_back"])
    df["lamps_in_reach"] = e["lamps_in_reach"]
    assumed = _assumed_in_reach(lamp_frame, lamps, xy, reach_factor)
    df["lamps_assumed_photometry"] = assumed["photometry"]
    df["lamps_assumed_height"] = assumed["height"]
    df["lamps_assumed_flux"] = assumed["flux"]
    df["indoor"] = df["indoor"].astype(bool)
    site = layout.site  # no boundary: everything is the site
    df["in_site"] = (
        shapely.intersects_xy(site, xy[:, 0], xy[:, 1]) if site is not None and len(df) else True
    )
    df["feature"] = df["feature"].astype(np.int64)
    df["part"] = df["part"].astype(np.int64)
    return gpd.GeoDataFrame(
        df.drop(columns=["x", "y"]), geometry=shapely.points(xy), crs=layout.crs
    )


def entrance_illuminance(
    layout: Layout,
    *,
    step_out_m: float = 0.5,
    reach_factor: float = 6.0,
    occlusion: bool = True,
    tree_occlusion: bool = True,
    observer_height_m: float = 1.5,
    **lamp_defaults: float,
) -> gpd.GeoDataFrame:
    """Light at each entrance and each police premises' access point.

    The point is stepped ``step_out_m`` out of the building (away from its centroid; a
    point without a building stays put). ``E_sc``/``E_v`` are on the face of a person
    standing there looking out; ``E_h`` is at the ground. Columns: ``kind``
    (``entrance``/``police``), ``fid``, ``origin``, ``in_site``, ``E_h``, ``E_sc``, ``E_v``,
    ``lamps_in_reach`` and ``lamps_assumed_photometry|height|flux`` (as in
    :func:`illuminance_grid`). O(n × lamps in reach × edges near the lamp).
    """
    rows = []
    ent = layout.entrances
    if not ent.empty:
        pts = shapely.get_coordinates(ent.geometry.values)[:, :2]
        bfid = ent["building_fid"].to_numpy(dtype=object)
        rows.append(("entrance", ent["fid"].to_numpy(), pts, bfid, _col(ent, "origin", "proposal")))
    pol = layout.police
    if not pol.empty:
        pub = pol[pol["public_facing"].astype(bool)]
        if not pub.empty:
            pts = shapely.get_coordinates(shapely.points([(p.x, p.y) for p in pub["access_point"]]))
            rows.append(
                ("police", pub["fid"].to_numpy(), pts, pub["fid"].to_numpy(),
                 _col(pub, "origin", "external"))
            )  # fmt: skip
    cols = ["kind", "fid", "origin", "in_site", "E_h", "E_sc", "E_v", "lamps_in_reach",
            "lamps_assumed_photometry", "lamps_assumed_height", "lamps_assumed_flux"]  # fmt: skip
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=layout.crs)
    kind = np.concatenate([np.full(len(r[1]), r[0], dtype=object) for r in rows])
    fid = np.concatenate([r[1] for r in rows])
    xy = np.vstack([r[2] for r in rows]).astype(float)
    owner = np.concatenate([r[3] for r in rows])
    origin = np.concatenate([r[4] for r in rows])
    centroid = {}
    if not layout.buildings.empty:
        c = shapely.get_coordinates(shapely.centroid(layout.buildings.geometry.values))
        centroid = dict(zip(layout.buildings["fid"], map(tuple, c), strict=True))
    if not layout.police.empty:
        c = shapely.get_coordinates(shapely.centroid(layout.police.geometry.values))
        centroid.update(zip(layout.police["fid"], map(tuple, c), strict=True))
    out = np.zeros_like(xy)
    for i, o in enumerate(owner):
        if o in centroid:
            v = xy[i] - centroid[o]
            n = np.hypot(*v)
            out[i] = v / n if n > 1e-9 else 0.0
    xy_out = xy + step_out_m * out
    heading = np.degrees(np.arctan2(out[:, 0], out[:, 1])) % 360.0
    lamps, lamp_frame = layout_lamps(layout, **lamp_defaults)
    obstacles = lighting_obstacles(layout, tree_occlusion=tree_occlusion) if occlusion else None
    e = illuminance_both_faces(lamps, xy_out, heading, z_vertical=observer_height_m,
                               obstacles=obstacles, reach_factor=reach_factor)  # fmt: skip
    assumed = _assumed_in_reach(lamp_frame, lamps, xy_out, reach_factor)
    site = layout.site
    in_site = (
        shapely.intersects_xy(site, *xy_out.T) if site is not None else np.ones(len(fid), bool)
    )
    return gpd.GeoDataFrame(
        {
            "kind": kind,
            "fid": fid,
            "origin": origin,
            "in_site": in_site,
            "E_h": e["E_h"],
            "E_sc": e["E_sc_fwd"],
            "E_v": e["E_v_fwd"],
            "lamps_in_reach": e["lamps_in_reach"],
            "lamps_assumed_photometry": assumed["photometry"],
            "lamps_assumed_height": assumed["height"],
            "lamps_assumed_flux": assumed["flux"],
        },  # fmt: skip
        geometry=shapely.points(xy_out),
        crs=layout.crs,
    )


def lamp_shading(
    layout: Layout,
    *,
    samples_across: int = 41,
    reach_factor: float = 6.0,
    tree_occlusion: bool = True,
    **lamp_defaults: float,
) -> gpd.GeoDataFrame:
    """How much of each lamp's light reaching the ground within its reach is blocked.

    Each lamp's reach disc gets a ``samples_across`` × ``samples_across`` square grid of
    ground points, aligned with the lamp's C0 azimuth (so it turns with the layout); the
    lamp's E_h is summed over them with and without obstacles (points
    inside a building count as blocked: their light lands on the roof). The sums × cell area
    are the flux (lm) reaching the ground in reach. A lamp head inside a tree crown lights
    nothing. Columns: ``fid``, ``flux_open_lm``, ``flux_lm``, ``blocked_share``,
    ``in_crown``. O(m × samples_across² × edges near the lamp).
    """
    from safespace.analyses.illuminance import (  # the pair kernels, not public API
        _blocked_kernel,
        _candela,
        _edges_near_lamps,
        _lamp_rows,
        _pair_kernel,
    )

    lamps, frame = layout_lamps(layout, **lamp_defaults)
    m = len(lamps)
    res = gpd.GeoDataFrame(
        {"fid": frame["fid"].to_numpy(), "flux_open_lm": np.zeros(m), "flux_lm": np.zeros(m),
         "blocked_share": np.zeros(m), "in_crown": np.zeros(m, dtype=bool)},
        geometry=frame.geometry.values, crs=layout.crs,
    )  # fmt: skip
    if m == 0:
        return res
    k = samples_across
    reach = reach_factor * lamps.positions[:, 2]
    u = (np.arange(k) + 0.5) / k * 2 - 1  # cell centres on [-1, 1]
    uu, vv = np.meshgrid(u, u)
    disc = np.hypot(uu, vv) <= 1.0
    du, dv = uu[disc], vv[disc]
    q = du.size
    lamp_i = np.repeat(np.arange(m, dtype=np.int64), q)
    # The grid is turned to each lamp's own C0 azimuth (which follows its route), so the
    # sample points turn and mirror with the layout: the blocked share does not depend on
    # how the layout lies on the map grid (issue 14, metamorphic invariance).
    az = np.radians(np.broadcast_to(np.asarray(lamps.azimuth_deg, dtype=float), (m,)))
    ca, sa = np.cos(az)[lamp_i], np.sin(az)[lamp_i]
    gu, gv = np.tile(du, m), np.tile(dv, m)
    px = lamps.positions[lamp_i, 0] + (gu * ca + gv * sa) * reach[lamp_i]
    py = lamps.positions[lamp_i, 1] + (-gu * sa + gv * ca) * reach[lamp_i]
    pt_i = np.arange(px.size, dtype=np.int64)
    rows = _lamp_rows(lamps, reach_factor)
    pz = np.zeros(px.size)
    want = np.array([True, False, False])
    e_open = _pair_kernel(
        lamp_i, pt_i, rows, px, py, pz, pz, pz, want, _candela(lamps.photometries)
    )[:, 0]
    e = e_open.copy()
    obs = lighting_obstacles(layout, tree_occlusion=tree_occlusion)
    in_crown = np.zeros(m, dtype=bool)
    if obs is not None:
        csr = _edges_near_lamps(obs, lamps.positions[:, :2], reach)
        blocked = _blocked_kernel(lamp_i, pt_i, rows, px, py, pz, *csr, obs.edges,
                                  obs.edge_height, obs.edge_base)  # fmt: skip
        blocked |= obs.on_ground_containing_xy(px, py)
        e[blocked] = 0.0
        in_crown = obs.volumes_containing(lamps.positions)
        e[in_crown[lamp_i]] = 0.0
    cell = (2 * reach / k) ** 2
    res["flux_open_lm"] = np.bincount(lamp_i, weights=e_open, minlength=m) * cell
    res["flux_lm"] = np.bincount(lamp_i, weights=e, minlength=m) * cell
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 1.0 - res["flux_lm"].to_numpy() / res["flux_open_lm"].to_numpy()
    res["blocked_share"] = np.where(np.isfinite(share), np.clip(share, 0, 1), 0.0)
    res["in_crown"] = in_crown
    return res


# --- EN 13201 P classes and the stretch table ------------------------------------------------

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

#: The lowest P class for pedestrian routes (P7 sets no value): a route below it is below
#: any class a profile could give it, so the finding does not rest on the class choice.
LOWEST_CLASS = "P6"

#: The class parameter (``footway_class``, ...) a route's P class comes from, by highway;
#: any other highway is a main road (``main_road_class``).
CLASS_OF_HIGHWAY: dict[str, str] = {
    **dict.fromkeys(
        ("footway", "path", "steps", "cycleway", "bridleway", "track", "corridor"), "footway_class"
    ),
    "pedestrian": "pedestrian_class",
    **dict.fromkeys(("residential", "living_street", "unclassified", "road"), "residential_class"),
    **dict.fromkeys(("service", "busway"), "service_class"),
}


def class_keys(grid: pd.DataFrame) -> np.ndarray:
    """The class parameter (``footway_class``, ...) each grid point's P class comes from.

    Parking areas take ``parking_class``, pedestrian areas ``pedestrian_class``, routes the
    class of their highway (:data:`CLASS_OF_HIGHWAY`). O(n).
    """
    hw = grid["highway"].to_numpy(dtype=object)
    key = np.array([CLASS_OF_HIGHWAY.get(h or "", "main_road_class") for h in hw], dtype=object)
    kind = grid["kind"].to_numpy(dtype=object)
    key = np.where(kind == "parking", "parking_class", key)
    return np.where(kind == "pedestrian_area", "pedestrian_class", key)


def p_class_name(key: str, value: object) -> str:
    """The P class ``value`` names (``"p4 "`` is ``P4``), checked against :data:`P_CLASSES`.

    Raises
    ------
    RuleError
        ``value`` is not an EN 13201-2 P class; the message names the parameter ``key``.
    """
    name = str(value).strip().upper()
    if name not in P_CLASSES:
        raise RuleError(f"parameter {key}={value!r} is not one of {sorted(P_CLASSES)}")
    return name


def required_classes(keys: np.ndarray, classes: dict[str, object]) -> np.ndarray:
    """The P class name each point needs, from its class parameter (:func:`class_keys`) and
    the class each parameter is given (``{"footway_class": "P4", ...}``). Only the classes
    used are checked (:func:`p_class_name`)."""
    names = {k: p_class_name(k, classes[k]) for k in set(keys)}
    return np.array([names[k] for k in keys], dtype=object)


def _tag(value) -> str | None:
    """A tag value as text, or None for a missing one (never NaN)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _lamps_partial(layout: Layout, origins) -> np.ndarray:
    """Per origin: is the lamp layer partial there (a missing lamp is unknown)?"""
    return ~layout.complete_mask("lamps", origins)


def _route_parts(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
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


def stretch_table(
    layout: Layout,
    *,
    grid: gpd.GeoDataFrame,
    stretch_m: float = 50.0,
    footway_class: str = "P4",
    pedestrian_class: str = "P3",
    residential_class: str = "P3",
    service_class: str = "P4",
    main_road_class: str = "P2",
    parking_class: str = "P3",
) -> pd.DataFrame:
    """Grid points grouped into stretches, with their light against their P class.

    Route parts are cut into pieces of about ``stretch_m`` (a whole number of equal pieces);
    pedestrian and parking areas are one stretch each. Only outdoor points inside the site
    count (indoor and underground ways and areas, :func:`indoor_mask`, are left out). The
    lighting rules read it through ``site.shared("lighting", "stretches")``: ``grid`` is the
    group's cached :func:`illuminance_grid` (keyed by identity in the analysis cache), the
    class keywords are the ``[settings.lighting]`` classes of each kind of route.

    A stretch is *not assessable* (``gap``) when the lamp layer is partial for its origin,
    it is not tagged ``lit=no``/``disused``, and no mapped lamp reaches it or some of its
    points get light from none: its lamps are unknown there, not absent. In a complete lamp
    layer a stretch without a lamp is measured darkness.

    Parameters
    ----------
    layout
        The layout the grid was computed on.
    grid
        :func:`illuminance_grid` of ``layout``.
    stretch_m
        Routes are assessed in stretches of about this length (m).
    footway_class, pedestrian_class, residential_class, service_class, main_road_class, parking_class
        The P class (``P1`` … ``P6``) each kind of route and area needs
        (:data:`CLASS_OF_HIGHWAY`); only the classes used are checked.

    Returns
    -------
    pandas.DataFrame
        One row per stretch (empty when no outdoor point lies in the site), sorted by
        ``kind``, ``fid``, ``feature``, ``part``, ``stretch``; columns ``E_avg``, ``E_min``,
        ``U0``, ``Esc_avg``, ``Esc_min`` (lx, ratio), ``lamps`` (most lamps in reach at a
        point), ``cls``/``cls_key`` (required class and its parameter), ``req_avg``,
        ``req_min``, ``highway``, ``lit``, ``origin``, ``name``, ``a0``/``a1``/``length_m``
        (m along the route part; NaN for areas), ``n`` (points), ``ph``/``ht``/``fx`` (most
        lamps in reach with an assumed photometry, height, flux), ``partial``, ``gap``,
        ``gap_no_lamp``, ``assessable``, ``meets`` (Ē and Emin both met), ``fails_all``
        (below :data:`LOWEST_CLASS`), ``modelled`` and ``geometry`` (the stretch of its
        route part, or the whole area).

    Raises
    ------
    RuleError
        A class used is not an EN 13201-2 P class.

    Notes
    -----
    O(n log n) for n grid points (one group-by), plus O(vertices) for the geometries.
    """
    classes = {
        "footway_class": footway_class,
        "pedestrian_class": pedestrian_class,
        "residential_class": residential_class,
        "service_class": service_class,
        "main_road_class": main_road_class,
        "parking_class": parking_class,
    }
    keep = grid["in_site"].to_numpy(dtype=bool) & ~grid["indoor"].to_numpy(dtype=bool)
    g = grid[keep].copy()
    if g.empty:
        return pd.DataFrame()
    g["cls_key"] = class_keys(g)
    g["cls"] = required_classes(g["cls_key"].to_numpy(dtype=object), classes)
    step = float(stretch_m)
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
        cls_key=("cls_key", "first"), highway=("highway", "first"), lit=("lit", "first"),
        origin=("origin", "first"), name=("name", "first"), a0=("a0", "first"),
        a1=("a1", "first"), n=("E_h", "size"),
        ph=("lamps_assumed_photometry", "max"), ht=("lamps_assumed_height", "max"),
        fx=("lamps_assumed_flux", "max"),
    ).reset_index()  # fmt: skip
    agg["length_m"] = agg["a1"] - agg["a0"]
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["U0"] = np.where(agg["E_avg"] > 0, agg["E_min"] / agg["E_avg"], 0.0)
    req = agg["cls"].map({c: v for c, v in P_CLASSES.items()})
    agg["req_avg"] = [v[0] for v in req]
    agg["req_min"] = [v[1] for v in req]
    for col in ("lit", "name", "highway"):
        agg[col] = pd.Series([_tag(v) for v in agg[col]], dtype=object, index=agg.index)
    partial = _lamps_partial(layout, agg["origin"].to_numpy(dtype=object))
    unlit = agg["lit"].isin(LIT_UNLIT).to_numpy()
    no_lamp = (agg["lamps"] == 0).to_numpy()
    agg["partial"] = partial
    # in partial data a stretch is known only where the mapped lamps light all of it: a
    # point no mapped lamp lights may have a lamp that is not mapped
    agg["gap"] = partial & ~unlit & (no_lamp | (agg["E_min"] <= 0.0).to_numpy())
    agg["gap_no_lamp"] = agg["gap"] & no_lamp
    agg["assessable"] = ~agg["gap"]
    agg["meets"] = (agg["E_avg"] >= agg["req_avg"] - 1e-9) & (agg["E_min"] >= agg["req_min"] - 1e-9)
    low_avg, low_min = P_CLASSES[LOWEST_CLASS]
    agg["fails_all"] = (agg["E_avg"] < low_avg - 1e-9) | (agg["E_min"] < low_min - 1e-9)
    # measured: no lamp reaches it (a complete layer, or tagged unlit), or every lamp in
    # reach has its photometry and height given in a complete layer
    assumed = (agg["ph"] > 0) | (agg["ht"] > 0) | (agg["fx"] > 0)
    agg["modelled"] = ~no_lamp & (assumed.to_numpy() | partial)
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
