"""Choosing the metric working CRS, and catching coordinates that do not fit their CRS."""

from __future__ import annotations

import math

import numpy as np
from pyproj import CRS, Transformer

from safespace.errors import InputError

WGS84 = CRS.from_epsg(4326)


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 / UTM zone CRS containing a longitude and latitude."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


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


def choose_metric_crs(bounds: np.ndarray, crs: CRS) -> CRS:
    """The working CRS for data with these bounds in ``crs``.

    A CRS that is already projected in metres is kept (a planner's drawing in British
    National Grid stays in it, with no reprojection error); otherwise the UTM zone of the
    data's centroid.
    """
    if is_metric(crs):
        return crs
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    if not crs.equals(WGS84):
        cx, cy = Transformer.from_crs(crs, WGS84, always_xy=True).transform(cx, cy)
    return utm_crs(cx, cy)
