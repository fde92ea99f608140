"""Small geometry helpers shared across analyses."""

from __future__ import annotations

import numpy as np
import shapely


def inner_points(geoms):
    """A point inside each geometry that turns and mirrors with it: the centroid where the
    geometry covers it, else GEOS's point on surface.

    GEOS's ``point_on_surface`` scans along a horizontal line, so the point it picks in a
    polygon depends on the map grid's orientation; a home standing for its polygon would move
    when the layout is turned. Vectorised; accepts one geometry or an array.
    """
    scalar = isinstance(geoms, shapely.Geometry)
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    out = shapely.centroid(arr)
    outside = ~np.asarray(shapely.covers(arr, out), dtype=bool)
    if outside.any():
        out[outside] = shapely.point_on_surface(arr[outside])
    return out[0] if scalar else out
