"""Read GeoJSON (RFC 7946, with a legacy ``crs`` member honoured) into raw features."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from safespace.errors import InputError
from safespace.io._tags import to_tags

WGS84 = CRS.from_epsg(4326)


def _legacy_crs(doc: Mapping[str, Any], label: str) -> CRS:
    member = doc.get("crs")
    if not member:
        return WGS84
    try:
        if member.get("type") == "name":
            name = member["properties"]["name"]
        elif member.get("type") in ("EPSG", "epsg"):
            name = f"EPSG:{member['properties']['code']}"
        else:
            raise KeyError(member.get("type"))
        crs = CRS.from_user_input(name)
    except (KeyError, TypeError, AttributeError, CRSError) as exc:
        raise InputError(f"unreadable legacy 'crs' member {member!r} ({exc})", file=label) from None
    # urn:ogc:def:crs:OGC:1.3:CRS84 is WGS84 in lon/lat order, as RFC 7946 wants.
    if crs.equals(WGS84, ignore_axis_order=True):
        return WGS84
    return crs


#: Deepest nesting of lists/objects accepted in a feature's properties or geometry. GeoJSON
#: coordinates need 4 levels (MultiPolygon); 64 leaves room for any real attribute value and
#: stays far below Python's recursion limit (1000), which the JSON encoder and the tag and
#: coordinate readers would otherwise hit with a RecursionError.
MAX_NESTING = 64


def _too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether lists/mappings nest deeper than ``limit`` (iterative: never recurses)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, Mapping):
            children = v.values()
        elif isinstance(v, list | tuple):
            children = v
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def _feature_id(feature: Mapping[str, Any], index: int) -> str:
    fid = feature.get("id")
    if fid is None or fid == "":
        return f"feature/{index}"
    return str(fid)


def read_geojson_mapping(doc: Mapping[str, Any], *, label: str = "<mapping>") -> gpd.GeoDataFrame:
    """Raw features (``fid``, ``tags``, ``geometry``) from a parsed GeoJSON object.

    Parameters
    ----------
    doc
        A FeatureCollection, a Feature, or a bare geometry.
    label
        How errors name the input (the file's path when read from a file).

    Returns
    -------
    geopandas.GeoDataFrame
        In the document's CRS: WGS84 per RFC 7946 unless a legacy ``crs`` member says
        otherwise.
    """
    if not isinstance(doc, Mapping) or "type" not in doc:
        raise InputError("not a GeoJSON object (no 'type' member)", file=label)
    kind = doc["type"]
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InputError("FeatureCollection has no 'features' list", file=label)
    elif kind == "Feature":
        features = [doc]
    elif kind in (
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    ):
        features = [{"type": "Feature", "geometry": doc, "properties": {}}]
    else:
        raise InputError(f"unsupported GeoJSON type {kind!r}", file=label)
    crs = _legacy_crs(doc, label)

    fids, tags, geoms = [], [], []
    for i, feature in enumerate(features):
        fid = _feature_id(feature, i) if isinstance(feature, Mapping) else f"feature/{i}"
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise InputError("not a GeoJSON Feature", file=label, feature=fid)
        for part in ("geometry", "properties"):
            if _too_deep(feature.get(part)):
                raise InputError(
                    f"'{part}' nests lists or objects more than {MAX_NESTING} levels deep",
                    file=label,
                    feature=fid,
                )
        geometry = feature.get("geometry")
        if geometry is None:
            geom = None
        else:
            try:
                geom = shapely.from_geojson(json.dumps(geometry))
                # 2D only (heights come from tags): a Z on some vertices only would leave
                # NaN heights that reproject to NaN positions
                geom = shapely.force_2d(geom)
            except (shapely.errors.GEOSException, TypeError, ValueError, RecursionError) as exc:
                raise InputError(f"unreadable geometry ({exc})", file=label, feature=fid) from None
        properties = feature.get("properties")
        if properties is not None and not isinstance(properties, Mapping):
            raise InputError("'properties' is not an object", file=label, feature=fid)
        fids.append(fid)
        tags.append(to_tags(properties))
        geoms.append(geom)
    return gpd.GeoDataFrame({"fid": fids, "tags": tags}, geometry=geoms, crs=crs)


def read_geojson(path: str | Path) -> gpd.GeoDataFrame:
    """Raw features from a GeoJSON file; see :func:`read_geojson_mapping`."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=str(path)) from None
    return read_geojson_mapping(doc, label=str(path))
