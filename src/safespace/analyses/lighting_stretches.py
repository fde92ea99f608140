"""Lighting grid points grouped into route stretches, each against its EN 13201-2 P class.

:func:`stretch_table` is the lighting area's second shared analysis: LT001 and LT003 read it
through ``site.shared("lighting", "stretches")``, keyed on the cached
:func:`~safespace.analyses.lighting_grid.illuminance_grid`. The P classes
(:data:`P_CLASSES`) and the class each kind of route takes (:data:`CLASS_OF_HIGHWAY`) live
here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from safespace._classify import LIT_UNLIT, tag_text
from safespace._geom import line_substrings
from safespace.errors import RuleError

if TYPE_CHECKING:
    from safespace.layout import Layout

__all__ = [
    "CLASS_OF_HIGHWAY",
    "LOWEST_CLASS",
    "P_CLASSES",
    "class_keys",
    "p_class_name",
    "required_classes",
    "stretch_table",
]

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


def lamps_partial(layout: Layout, origins) -> np.ndarray:
    """Per origin: is the lamp layer partial there (a missing lamp is unknown)?"""
    return ~layout.complete_mask("lamps", origins)


def route_parts(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """All parts of the foot routes and, per route, the index of its first part.

    The grid's (``feature``, ``part``) of a route point is part ``first[feature] + part``.
    """
    parts, line_of = shapely.get_parts(layout.foot_routes.geometry.values, return_index=True)
    first = np.searchsorted(line_of, np.arange(len(layout.foot_routes)))
    return parts, first


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
        parts, first = route_parts(layout)
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
        agg[col] = pd.Series([tag_text(v) for v in agg[col]], dtype=object, index=agg.index)
    partial = lamps_partial(layout, agg["origin"].to_numpy(dtype=object))
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
        geom[r] = line_substrings(parts[pid], agg["a0"].to_numpy()[r], agg["a1"].to_numpy()[r])
    for k, layer in (("parking", layout.parking), ("pedestrian_area", layout.pedestrian_areas)):
        sel = kind == k
        if sel.any():
            geom[sel] = layer.geometry.values[feat[sel]]
    agg["geometry"] = geom
    return agg
