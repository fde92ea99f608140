"""Dispatch any supported source to its reader; fingerprint it for provenance."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from safespace.errors import InputError
from safespace.io._pgurl import PostGISSource, is_postgis_url

OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".osm.xml")
GEOJSON_SUFFIXES = (".geojson", ".json")
VECTOR_SUFFIXES = (".gpkg", ".fgb", ".shp")

Source = str | os.PathLike | Mapping[str, Any] | gpd.GeoDataFrame | PostGISSource


@dataclass
class RawInput:
    """Raw features read from one source, with the label errors use and a SHA-256."""

    features: gpd.GeoDataFrame
    label: str
    sha256: str
    notes: list[dict]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _frame_sha256(frame: gpd.GeoDataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(str(frame.crs).encode())
    for geom in shapely.to_wkb(frame.geometry.values, hex=True):
        digest.update((geom or "").encode())
    for tags in frame["tags"]:
        digest.update(json.dumps(tags, sort_keys=True).encode())
    return digest.hexdigest()


def read_source(source: Source) -> RawInput:
    """Read a path, a GeoJSON mapping or a GeoDataFrame into raw features.

    Parameters
    ----------
    source
        ``.geojson``/``.json``, ``.gpkg`` (and other OGR files), ``.osm``, ``.osm.bz2``,
        ``.osm.gz``, ``.osm.pbf``; a GeoJSON mapping; a GeoDataFrame in any CRS; or a
        PostGIS address (``postgresql://...?table=...``) or
        :class:`~safespace.io._pgurl.PostGISSource` (see ``docs/gis.md``).

    Returns
    -------
    RawInput
    """
    if isinstance(source, PostGISSource) or is_postgis_url(source):
        # a database address (docs/gis.md); needs the postgis extra
        from safespace.io.postgis import read_postgis

        return read_postgis(source)
    if isinstance(source, gpd.GeoDataFrame):
        from safespace.io.frame import read_frame

        raw = read_frame(source)
        return RawInput(raw, "<GeoDataFrame>", _frame_sha256(raw), [])
    if isinstance(source, Mapping):
        from safespace.io.geojson import read_geojson_mapping

        raw = read_geojson_mapping(source)
        blob = json.dumps(source, sort_keys=True, default=str).encode()
        return RawInput(raw, "<mapping>", hashlib.sha256(blob).hexdigest(), [])
    if not isinstance(source, str | os.PathLike):
        raise InputError(
            f"cannot read a {type(source).__name__}: give a path, a GeoJSON mapping or a "
            "GeoDataFrame"
        )
    path = Path(source)
    label = str(path)
    if not path.exists():
        raise InputError("file not found", file=label)
    if path.is_dir():
        raise InputError("is a directory, not a file", file=label)
    name = path.name.lower()
    if name.endswith(OSM_SUFFIXES):
        from safespace.io.osm import read_osm

        raw = read_osm(path)
        notes = list(raw.attrs.get("notes", []))
    elif name.endswith(GEOJSON_SUFFIXES):
        from safespace.io.geojson import read_geojson

        raw, notes = read_geojson(path), []
    elif name.endswith(VECTOR_SUFFIXES):
        from safespace.io.frame import read_vector_file

        raw, notes = read_vector_file(path), []
    else:
        raise InputError(
            "unknown file type; use .geojson, .json, .gpkg, .fgb, .osm, .osm.bz2, .osm.gz or "
            ".osm.pbf",
            file=label,
        )
    return RawInput(raw, label, _file_sha256(path), notes)
