"""Raw features from a GeoDataFrame or a vector file GDAL reads (GeoPackage, FlatGeobuf...)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from safespace.errors import InputError
from safespace.io._tags import to_tags

_ID_COLUMNS = ("fid", "id", "osm_id", "@id")


def read_frame(frame: gpd.GeoDataFrame, *, label: str = "<GeoDataFrame>") -> gpd.GeoDataFrame:
    """Raw features (``fid``, ``tags``, ``geometry``) from a GeoDataFrame in any CRS.

    Every non-geometry column becomes a tag; a ``tags`` column of mappings is merged in.
    The feature id comes from an ``fid``/``id``/``osm_id`` column, else the row position.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError("expected a GeoDataFrame", file=label)
    if frame.crs is None:
        raise InputError(
            "the GeoDataFrame has no CRS; set one (frame.set_crs(...)) so coordinates can be "
            "placed on the Earth",
            file=label,
        )
    geom_name = frame.geometry.name
    columns = [c for c in frame.columns if c != geom_name]
    id_column = next((c for c in _ID_COLUMNS if c in columns), None)
    records = frame[columns].to_dict("records") if columns else [{} for _ in range(len(frame))]
    fids, tags = [], []
    for i, row in enumerate(records):
        nested = row.pop("tags", None)
        row_tags = to_tags(nested) if isinstance(nested, dict) else {}
        if id_column is not None:
            value = row.get(id_column)
            fid = f"feature/{i}" if value is None or pd.isna(value) else str(value)
            if id_column == "fid":
                row.pop("fid", None)
        else:
            fid = f"feature/{i}"
        row_tags.update(to_tags(row))
        fids.append(fid)
        tags.append(row_tags)
    return gpd.GeoDataFrame(
        {"fid": fids, "tags": tags},
        # 2D only (heights come from tags): a Z on some vertices would reproject to NaN
        geometry=list(_flat(frame.geometry.values)),
        crs=frame.crs,
    )


def _flat(geoms):
    import warnings

    import shapely

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return shapely.force_2d(np.asarray(geoms, dtype=object))


def read_vector_file(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Raw features from a GeoPackage (all layers unless one is named) or another OGR file."""
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    try:
        layers = [layer] if layer else [name for name, _ in pyogrio.list_layers(path)]
        frames = []
        for name in layers:
            frame = gpd.read_file(path, layer=name, engine="pyogrio")
            if frame.geometry.name is None or len(frame) == 0:
                continue
            frames.append(read_frame(frame, label=f"{path}:{name}"))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"cannot read as a vector file ({exc})", file=str(path)) from None
    if not frames:
        raise InputError("no features with geometry", file=str(path))
    crs = frames[0].crs
    frames = [f.to_crs(crs) if f.crs != crs else f for f in frames]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)
