"""Choosing the metric working CRS, and catching coordinates that do not fit their CRS."""

from __future__ import annotations

import math

import numpy as np
from pyproj import CRS, Proj, Transformer

from safespace.errors import InputError

WGS84 = CRS.from_epsg(4326)


#: Largest scale error (a fraction: 0.001 = 0.1 %) a projected input CRS may have over the
#: data's extent and still be the working CRS. 0.1 % is UTM's own worst case inside its zone
#: (scale factor 0.9996 on the central meridian, about 1.001 at the zone edge), so a kept
#: CRS is never worse than the fallback; and it is far below what any threshold in
#: GUIDANCE.md is stated to (whole metres, whole lux, 5 % steps). [checked: UTM scale
#: factors, Snyder 1987, *Map Projections — A Working Manual*, USGS PP 1395, ch. 8]
MAX_SCALE_ERROR = 0.001

#: Largest angular distortion (degrees) a kept CRS may have: a conformal projection has
#: none; 0.06° (≈ 0.001 rad) is the angle a 0.1 % scale difference between directions gives.
MAX_ANGULAR_DISTORTION_DEG = 0.06

#: Widest data extent (km, either direction) safespace reads. Beyond a country's width no
#: single projection keeps lengths within MAX_SCALE_ERROR, and the analyses' grids would
#: exhaust memory (a vertex at an absurd latitude once asked for 579 GiB). A national
#: building dataset (LINZ outlines, 564 km) still loads; a per-site area limit for
#: assessments is separate (issue 14.9). Raise it deliberately
#: (``safespace._crs.MAX_EXTENT_KM = ...``).
MAX_EXTENT_KM = 1000.0


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 / UTM zone CRS containing a longitude and latitude.

    Raises
    ------
    InputError
        The position is not a finite longitude/latitude (no feature had a usable geometry,
        or a coordinate is infinite or out of range).
    """
    lon, lat = float(lon), float(lat)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InputError(
            "no usable coordinates: no feature has a geometry with finite coordinates "
            f"(centre {lon}, {lat})"
        )
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InputError(f"position ({lon:.6g}, {lat:.6g}) is not a longitude/latitude in degrees")
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _lonlat_samples(bounds, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    xs = np.array([minx, maxx, minx, maxx, (minx + maxx) / 2])
    ys = np.array([miny, miny, maxy, maxy, (miny + maxy) / 2])
    if crs.equals(WGS84):
        return xs, ys
    with np.errstate(all="ignore"):
        lon, lat = Transformer.from_crs(crs, WGS84, always_xy=True).transform(xs, ys)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def scale_error(crs: CRS, lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    """The worst scale error (fraction) and angular distortion (degrees) of ``crs`` there.

    From pyproj's ``Proj.get_factors`` at the given longitudes and latitudes: the larger of
    ``|meridional_scale - 1|`` and ``|parallel_scale - 1|``, and ``angular_distortion``.
    Returns ``(inf, inf)`` where the factors cannot be computed.
    """
    try:
        f = Proj(crs).get_factors(np.asarray(lon, float), np.asarray(lat, float))
        k = np.concatenate(
            [
                np.abs(np.asarray(f.meridional_scale) - 1.0),
                np.abs(np.asarray(f.parallel_scale) - 1.0),
            ]
        )
        ang = np.abs(np.asarray(f.angular_distortion, dtype=float))
    except Exception:  # a CRS proj cannot give factors for: never trusted as metres
        return math.inf, math.inf
    if not (np.isfinite(k).all() and np.isfinite(ang).all()):
        return math.inf, math.inf
    return float(k.max()), float(ang.max())


def crs_choice(bounds, crs: CRS, label: str | None = None) -> tuple[CRS, str | None]:
    """The working CRS for data with these bounds in ``crs``, and why, when it is not ``crs``.

    A CRS projected in metres is kept (a planner's drawing in British National Grid stays
    in it, with no reprojection error) when it is conformal and its scale error over the
    data's extent is at most :data:`MAX_SCALE_ERROR` (or no worse than UTM's there).
    Otherwise — Web Mercator (EPSG:3857, lengths ×1.6 at 52° N), an equal-area CRS such
    as EPSG:3035, feet, degrees — the UTM zone of the data's centre, with a sentence saying
    so for the layout's input notes.

    Raises
    ------
    InputError
        No finite coordinates, coordinates that are not positions on the Earth, or an extent
        wider than :data:`MAX_EXTENT_KM`.
    """
    vals = [float(v) for v in bounds]
    if not all(math.isfinite(v) for v in vals):
        what = (
            "no feature has a geometry"
            if all(math.isnan(v) for v in vals)
            else (
                f"the coordinates reach {', '.join(f'{v:g}' for v in vals if not math.isfinite(v))}"
            )
        )
        raise InputError(f"no usable extent: {what}", file=label)
    lon, lat = _lonlat_samples(vals, crs)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()) or (
        np.abs(lat).max() > 90.0 or np.abs(lon).max() > 180.0
    ):
        # check_coordinates says what is wrong (metres in a WGS84 file, swapped axes,
        # degrees in a projected CRS); without a label, leave it to the loader's own call
        # of check_coordinates, which names the file
        try:
            check_coordinates(np.asarray(vals), crs, label or "")
        except InputError:
            if label is not None:
                raise
            return CRS.from_epsg(3857), None  # never used: the loader refuses the data
        raise InputError(
            f"coordinates ({vals[0]:.6g}, {vals[1]:.6g})..({vals[2]:.6g}, {vals[3]:.6g}) in "
            f"{crs.name} are not positions on the Earth",
            file=label,
        )
    utm = utm_crs(float(lon[4]), float(lat[4]))
    to_utm = Transformer.from_crs(WGS84, utm, always_xy=True)
    ux, uy = to_utm.transform(lon, lat)
    span_km = max(np.ptp(ux), np.ptp(uy)) / 1000.0
    # a layout across the antimeridian or a pole, or wider than a town: refuse, clearly
    if not math.isfinite(span_km) or span_km > MAX_EXTENT_KM or np.ptp(lon) > 90.0:
        raise InputError(
            f"the data spans {span_km:,.0f} km ({np.ptp(lon):.3g}° of longitude, "
            f"{np.ptp(lat):.3g}° of latitude); safespace assesses sites up to "
            f"{MAX_EXTENT_KM:g} km across: clip the data to the area to assess",
            file=label,
        )
    if not is_metric(crs):
        return utm, None if crs.is_geographic else (
            f"{crs.name} is not in metres: working in {utm.name}"
        )
    k, ang = scale_error(crs, lon, lat)
    if k <= MAX_SCALE_ERROR and ang <= MAX_ANGULAR_DISTORTION_DEG:
        return crs, None
    k_utm, _ = scale_error(utm, lon, lat)
    if k <= k_utm and ang <= MAX_ANGULAR_DISTORTION_DEG:
        return crs, None
    why = (
        f"scale error {k:.2%}"
        if ang <= MAX_ANGULAR_DISTORTION_DEG
        else f"scale error {k:.2%} and angular distortion {ang:.2g}°"
    )
    return utm, (
        f"{crs.name} distorts lengths over this extent ({why}, more than "
        f"{MAX_SCALE_ERROR:.1%}): working in {utm.name}, where the error is {k_utm:.2%}"
    )


def is_metric(crs: CRS) -> bool:
    """True for a projected CRS whose axes are in metres."""
    if not crs.is_projected:
        return False
    return all(
        (axis.unit_name or "").lower() in ("metre", "meter", "m") for axis in crs.axis_info[:2]
    )


def check_coordinates(bounds: np.ndarray, crs: CRS, label: str) -> None:
    """Raise a clear error when coordinates are plainly wrong for their declared CRS.

    Catches projected metres in a WGS84 file, swapped latitude/longitude, and degrees in a
    file that declares a projected CRS (coordinates outside the CRS's area of use).

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` of the data in ``crs``.
    crs
        The declared CRS.
    label
        The file's name, for the message.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return
    if crs.is_geographic:
        lon_ok = -180.0 <= minx and maxx <= 180.0
        lat_ok = -90.0 <= miny and maxy <= 90.0
        if lon_ok and lat_ok:
            return
        if -90.0 <= minx and maxx <= 90.0 and -180.0 <= miny and maxy <= 180.0:
            raise InputError(
                f"latitude {miny:.6g}..{maxy:.6g} is outside -90..90 but longitude fits: the "
                "coordinates look swapped. GeoJSON (RFC 7946) puts longitude first: "
                "[lon, lat]",
                file=label,
            )
        raise InputError(
            f"coordinates ({minx:.6g}, {miny:.6g})..({maxx:.6g}, {maxy:.6g}) are not longitude/"
            f"latitude degrees, but the data declares {crs.name}. They look like projected "
            "metres: reproject to WGS84, or declare the CRS (a legacy GeoJSON 'crs' member, or "
            "the GeoDataFrame's crs)",
            file=label,
        )
    looks_like_degrees = (
        abs(minx) <= 180 and abs(maxx) <= 180 and abs(miny) <= 90 and (abs(maxy) <= 90)
    )
    if is_metric(crs) and looks_like_degrees and max(maxx - minx, maxy - miny) < 1.0:
        raise InputError(
            f"coordinates ({minx:.6g}, {miny:.6g})..({maxx:.6g}, {maxy:.6g}) span less than a "
            f"metre in {crs.name} but look like longitude/latitude degrees: the declared CRS "
            "is probably wrong (GeoJSON in WGS84 needs no 'crs' member)",
            file=label,
        )
    area = crs.area_of_use
    if area is None:
        return
    to_geo = Transformer.from_crs(crs, WGS84, always_xy=True)
    xs = np.array([minx, maxx, minx, maxx, (minx + maxx) / 2])
    ys = np.array([miny, miny, maxy, maxy, (miny + maxy) / 2])
    with np.errstate(all="ignore"):
        lon, lat = to_geo.transform(xs, ys)
    margin = 2.0  # degrees: CRSs are often used a little beyond their nominal area
    inside = (
        np.isfinite(lon)
        & np.isfinite(lat)
        & (lon >= area.west - margin)
        & (lon <= area.east + margin)
        & (lat >= area.south - margin)
        & (lat <= area.north + margin)
    )
    if not inside.all():
        hint = ""
        if abs(maxx) <= 180 and abs(maxy) <= 90:
            hint = " They look like longitude/latitude degrees."
        raise InputError(
            f"coordinates ({minx:.6g}, {miny:.6g})..({maxx:.6g}, {maxy:.6g}) fall outside the "
            f"area of use of the declared CRS {crs.name} ({area.name}).{hint}",
            file=label,
        )


def choose_metric_crs(bounds: np.ndarray, crs: CRS, label: str | None = None) -> CRS:
    """The working CRS for data with these bounds in ``crs`` (see :func:`crs_choice`)."""
    return crs_choice(bounds, crs, label)[0]
