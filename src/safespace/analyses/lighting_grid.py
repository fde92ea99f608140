"""From a Layout to lamps and EN 13201-3-style calculation grids with illuminance.

The steps the lighting rules share:

- :func:`~safespace.analyses.lamp_inputs.layout_lamps` (its own module) turns the ``lamps``
  layer into a :class:`~safespace.analyses.illuminance.LampSet`, filling what the input
  leaves out with documented defaults **by setting** (the highway type of the nearest
  route), and returns a frame saying what was assumed.
- :func:`illuminance_grid` lays calculation points on every foot route, pedestrian area and
  parking area and evaluates E_h (ground), E_sc and E_v (1.5 m) with building (and tree
  crown) shadows. It is the lighting area's shared analysis, fed by the
  ``[settings.lighting]`` group (``safespace.rules.lighting.LIGHTING``): rules and the
  report's figures get it through ``site.shared("lighting")``.
- :func:`~safespace.analyses.lighting_stretches.stretch_table` (its own module) groups the grid into route stretches and areas, each with its light
  against its EN 13201-2 P class (:data:`P_CLASSES`); LT001 and LT003 read it through
  ``site.shared("lighting", "stretches")``.

Every default here and in ``lamp_inputs`` is **[unverified]** (no public source found for a
per-setting mounting height, flux or width; they are typical UK/EU practice) and each is a rule parameter; see
``docs/lighting.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

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
    LampSet,
    Obstacles,
    area_grid,
    illuminance_both_faces,
    route_grid,
)

# the lamps and the stretch table have modules of their own; their names stay importable here
from safespace.analyses.lamp_inputs import GENERIC_NAMES, HIGHWAY_SETTING, layout_lamps, setting_of
from safespace.analyses.lighting_stretches import (
    CLASS_OF_HIGHWAY,
    LOWEST_CLASS,
    P_CLASSES,
    class_keys,
    p_class_name,
    required_classes,
    stretch_table,
)

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


def route_width(frame: pd.DataFrame) -> np.ndarray:
    """Each route's width: ``width_m`` when tagged, else the default for its highway."""
    tagged = frame["width_m"].to_numpy(dtype=float) if "width_m" in frame else np.nan
    default = np.array(
        [DEFAULT_WIDTHS.get(h or "", DEFAULT_WIDTH_OTHER) for h in frame["highway"]], dtype=float
    )
    w = np.where(np.isfinite(tagged) & (tagged > 0), tagged, default)
    return w.astype(float)


def _col(frame: pd.DataFrame, name: str, default) -> np.ndarray:
    """A column as an object array, or ``default`` everywhere when the frame lacks it."""
    if name in frame:
        return frame[name].to_numpy(dtype=object)
    return np.full(len(frame), default, dtype=object)


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
