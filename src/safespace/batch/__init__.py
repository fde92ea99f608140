"""Batch assessments at scale: many sites through one executor, and large areas in tiles.

>>> from safespace import batch
>>> summary = batch.run("sites.csv", outdir="out", workers=2)          # doctest: +SKIP
>>> result = batch.assess_tiled("city.osm.pbf", tile_m=500)            # doctest: +SKIP

See ``docs/batch.md``.
"""

from safespace.batch.executors import (
    DaskExecutor,
    Executor,
    InlineExecutor,
    ProcessExecutor,
    make_executor,
)
from safespace.batch.manifest import ManifestError, SiteSpec, read_manifest, site_dir
from safespace.batch.run import DEFAULT_FORMATS, run
from safespace.batch.tiling import assess_tiled, clip_layout, default_margin, tile_grid

__all__ = [
    "DEFAULT_FORMATS",
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "ManifestError",
    "ProcessExecutor",
    "SiteSpec",
    "assess_tiled",
    "clip_layout",
    "default_margin",
    "make_executor",
    "read_manifest",
    "run",
    "site_dir",
    "tile_grid",
]
