"""Batch benchmark: 20 real sites, 1 vs 2 local worker processes, and Dask's overhead per site.

Run from the repository root::

    python benchmarks/batch.py [--repeat 3] [--workload sightlines|installed]

Cuts 20 sites of 500 m × 500 m (four around the building-dense middle of each of the
Helsinki, Heidelberg, Monaco, Baltimore and London extracts in ``../shared/data/real/osm/``)
into GeoJSON files in a temporary folder, then times ``safespace.batch.run`` over them:

- in-process, for reference;
- a local process pool with 1 worker and with 2 workers (speed-up = 1 worker / 2 workers),
  each with the pool already started (warm) and, separately, its start-up time;
- a Dask LocalCluster of 2 single-threaded worker processes on 127.0.0.1 (warm), and
  the overhead per site = (Dask − 2-process pool) / 20; plus the round trip of a no-op task.

Wall-clock on a shared 2-core machine: other work on it makes every figure noisy, so each
is the best of ``--repeat`` runs and the spread is printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

from safespace._crs import choose_metric_crs
from safespace.analyses.isovist import isovist_measures
from safespace.analyses.network import walk_network
from safespace.batch import ProcessExecutor, run
from safespace.batch.executors import DaskExecutor
from safespace.batch.task import noop
from safespace.findings import Metric
from safespace.io.sources import read_source
from safespace.rules.engine import rule

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / ".." / "shared" / "data" / "real" / "osm"
EXTRACTS = [
    "helsinki_centre.osm.pbf",
    "heidelberg_altstadt.osm.pbf",
    "monaco.osm.pbf",
    "baltimore.osm.pbf",
    "london_moorgate.osm.pbf",
]
SIDE_M = 500.0
OFFSETS = [(-250.0, -250.0), (250.0, -250.0), (-250.0, 250.0), (250.0, 250.0)]


@rule("XB001", "Benchmark workload: walk network and isovists", "x-bench")
def sightline_workload(site):
    """Stand-in for the analysis rules still to come: the walk network, and 100 m isovists
    every 10 m along the foot routes, with buildings as obstacles."""
    layout = site.layout
    graph = site.analysis(walk_network)
    routes = layout.foot_routes.geometry.values
    if len(routes) == 0 or layout.buildings.empty:
        yield Metric("isovists", 0)
        return
    lengths = shapely.length(routes)
    idx = np.repeat(np.arange(len(routes)), np.maximum(1, (lengths // 10).astype(int)))
    dist = np.concatenate([np.arange(max(1, int(n // 10))) * 10.0 for n in lengths])
    pts = shapely.get_coordinates(shapely.line_interpolate_point(routes[idx], dist))
    measures = isovist_measures(layout.buildings.geometry.values, pts, 100.0)
    yield Metric("isovists", len(measures))
    yield Metric("walk_nodes", graph.number_of_nodes())


def cut_sites(folder: Path) -> Path:
    """Write 20 GeoJSON sites (whole features meeting each square) and a manifest."""
    lines = ["id,input"]
    for name in EXTRACTS:
        raw = read_source(OSM / name).features
        crs = choose_metric_crs(raw.total_bounds, raw.crs)
        metric = raw.to_crs(crs)
        is_building = np.array(["building" in t for t in metric["tags"]])
        centre = np.median(
            shapely.get_coordinates(shapely.centroid(metric.geometry.values[is_building])), axis=0
        )
        for k, (dx, dy) in enumerate(OFFSETS):
            cx, cy = centre[0] + dx, centre[1] + dy
            box = shapely.box(cx - SIDE_M / 2, cy - SIDE_M / 2, cx + SIDE_M / 2, cy + SIDE_M / 2)
            hits = np.sort(metric.sindex.query(box, predicate="intersects"))
            part = raw.iloc[hits]
            feats = [
                {
                    "type": "Feature",
                    "id": fid,
                    "properties": tags,
                    "geometry": json.loads(shapely.to_geojson(geom)),
                }
                for fid, tags, geom in zip(
                    part["fid"], part["tags"], part.geometry.values, strict=True
                )
            ]
            site = f"{name.split('.')[0].split('_')[0]}-{k}"
            path = folder / f"{site}.geojson"
            path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
            lines.append(f"{site},{path.name}")
    manifest = folder / "sites.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


EXTRA: tuple[str, ...] = ()


def timed_runs(manifest: Path, work: Path, executor, repeat: int) -> list[float]:
    times = []
    for r in range(repeat):
        out = work / f"out-{time.monotonic_ns()}-{r}"
        t = time.perf_counter()
        summary = run(
            manifest, outdir=out, executor=executor, formats="geojson,json", extra_rules=EXTRA
        )
        times.append(time.perf_counter() - t)
        assert (summary["status"] == "ok").all(), summary[summary["status"] != "ok"]
        shutil.rmtree(out)
    return times


def fmt(times: list[float]) -> str:
    return f"best {min(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--workload",
        choices=["installed", "sightlines"],
        default="sightlines",
        help="installed: every installed rule (the default profile: input checks, "
        "sightlines, lighting, permeability, police access); sightlines: those plus the "
        "stand-in rule XB001 (walk network and isovists), the workload of the first figures",
    )
    args = parser.parse_args()
    global EXTRA
    # Workers import this file as the module "batch" (its folder is on their sys.path).
    EXTRA = ("batch",) if args.workload == "sightlines" else ()
    print(f"workload: {args.workload}")
    missing = [n for n in EXTRACTS if not (OSM / n).exists()]
    if missing:
        raise SystemExit(f"real data missing: {missing} (expected in {OSM})")

    with tempfile.TemporaryDirectory(prefix="safespace-batch-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        manifest = cut_sites(work)
        n = len(manifest.read_text().splitlines()) - 1
        print(f"cut {n} sites of {SIDE_M:g} m in {time.perf_counter() - t:.1f} s")

        inline = timed_runs(manifest, work, "inline", args.repeat)
        print(f"in-process            {fmt(inline)}")

        pools = {}
        for workers in (1, 2):
            t = time.perf_counter()
            ex = ProcessExecutor(workers)
            list(ex.map_unordered(noop, list(range(workers * 2))))  # start every worker
            start = time.perf_counter() - t
            pools[workers] = timed_runs(manifest, work, ex, args.repeat)
            print(f"process pool, {workers} wkr  {fmt(pools[workers])}  [pool start {start:.2f} s]")
            if workers == 2:
                pool2 = ex
            else:
                ex.close()
        speedup = min(pools[1]) / min(pools[2])
        print(f"speed-up 2 workers over 1: {speedup:.2f}x (target >= 1.7x)")

        t = time.perf_counter()
        dask = DaskExecutor("local", workers=2)
        start = time.perf_counter() - t
        try:
            list(dask.map_unordered(noop, list(range(4))))
            t = time.perf_counter()
            list(dask.map_unordered(noop, list(range(n))))
            noop_each = (time.perf_counter() - t) / n
            t = time.perf_counter()
            list(pool2.map_unordered(noop, list(range(n))))
            noop_pool = (time.perf_counter() - t) / n
            dask_times = timed_runs(manifest, work, dask, args.repeat)
        finally:
            dask.close()
            pool2.close()
        print(f"dask LocalCluster, 2  {fmt(dask_times)}  [cluster start {start:.2f} s]")
        overhead = (min(dask_times) - min(pools[2])) / n
        print(
            f"dask overhead per site vs 2-process pool: {overhead * 1000:+.0f} ms "
            f"(target <= 200 ms); no-op task round trip: dask {noop_each * 1000:.1f} ms, "
            f"process pool {noop_pool * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
