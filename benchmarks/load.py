"""Load benchmark: the Monaco extract through safespace's OSM reader, ``safespace.load``, OSMnx.

Run from the repository root::

    python benchmarks/load.py [--repeat 3] [--file ../shared/data/real/osm/monaco.osm.pbf]

Each measurement runs in a fresh Python subprocess, so its peak resident memory
(``ru_maxrss``) is the honest figure for that one job, imports included. Printed per job:

- ``call s``: wall time of the call alone (imports done before the clock starts);
- ``cpu s``: CPU time of the call, all threads (less disturbed by other work on the machine);
- ``total s``: wall time from interpreter start to the call's end (imports included);
- ``peak MiB``: peak RSS of the subprocess.

Jobs:

a. ``safespace.io.osm.read_osm`` on the ``.osm.pbf`` (raw features only);
b. ``safespace.load`` on the same file (the full Layout), when the package has it;
c. ``osmnx.graph_from_xml`` on the same data: OSMnx reads XML only, so the ``.pbf`` is first
   written to a temporary ``.osm`` XML file with pyosmium, outside the timing.

Wall clock on a shared 2-core machine is noisy: each figure is the best of ``--repeat`` runs
(the peak memory is that of the same run). Targets: ``safespace.load`` ≤ 10 s and ≤ 1.5 GB,
and at least 3× faster than ``osmnx.graph_from_xml``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONACO = ROOT / ".." / "shared" / "data" / "real" / "osm" / "monaco.osm.pbf"

# Runs in the subprocess: argv[1] is the job, argv[2] the input file.
CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
job, path = sys.argv[1], sys.argv[2]
if job == "read_osm":
    from safespace.io.osm import read_osm
    call = lambda: read_osm(path)
    size = lambda out: f"{len(out)} raw features"
elif job == "safespace.load":
    import safespace
    if not hasattr(safespace, "load"):
        print(json.dumps({"missing": "safespace.load not available"}))
        sys.exit(0)
    call = lambda: safespace.load(path)
    layers = ("buildings", "streets", "foot_routes")
    size = lambda out: " + ".join(f"{len(getattr(out, n))} {n}" for n in layers)
elif job == "osmnx.graph_from_xml":
    import osmnx
    call = lambda: osmnx.graph_from_xml(path)
    size = lambda out: f"{out.number_of_nodes()} nodes, {out.number_of_edges()} edges"
r1 = resource.getrusage(resource.RUSAGE_SELF)
t1 = time.perf_counter()
out = call()
t2 = time.perf_counter()
r2 = resource.getrusage(resource.RUSAGE_SELF)
peak = r2.ru_maxrss / 1024  # KiB on Linux
cpu = (r2.ru_utime + r2.ru_stime) - (r1.ru_utime + r1.ru_stime)
try:
    what = size(out)
except Exception as exc:  # the size line is informative only
    what = f"? ({exc})"
print(json.dumps({"call": t2 - t1, "cpu": cpu, "total": t2 - t0, "peak": peak, "size": what}))
"""


def to_xml(pbf: Path, xml: Path) -> None:
    """Write an OSM PBF file as OSM XML with pyosmium (all objects, unchanged)."""
    import osmium

    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)


def measure(job: str, path: Path) -> dict:
    """Run one job in a fresh interpreter and return its figures."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, job, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {"error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(job: str, path: Path, repeat: int) -> dict:
    """The run with the least call time out of ``repeat``, and the spread of call times."""
    runs = [measure(job, path) for _ in range(repeat)]
    ok = [r for r in runs if "call" in r]
    if not ok:
        return runs[0]
    top = min(ok, key=lambda r: r["call"])
    top["spread"] = max(r["call"] for r in ok) - top["call"]
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per job (best is kept)")
    parser.add_argument("--file", type=Path, default=MONACO, help="an .osm.pbf extract")
    args = parser.parse_args()
    pbf = args.file.resolve()
    if not pbf.exists():
        sys.exit(f"not found: {pbf} (../shared/ sits beside the checkout)")

    with tempfile.TemporaryDirectory() as tmp:
        xml = Path(tmp) / (pbf.name.removesuffix(".pbf").removesuffix(".osm") + ".osm")
        to_xml(pbf, xml)
        results = {
            "a. read_osm (pbf)": best("read_osm", pbf, args.repeat),
            "b. safespace.load (pbf)": best("safespace.load", pbf, args.repeat),
            "c. osmnx.graph_from_xml (xml)": best("osmnx.graph_from_xml", xml, args.repeat),
        }

    print(f"file: {pbf.name} ({pbf.stat().st_size / 1e6:.2f} MB), best of {args.repeat}")
    print(f"{'job':32} {'call s':>8} {'±':>6} {'cpu s':>7} {'total s':>8} {'peak MiB':>9}  output")
    for name, r in results.items():
        if "call" not in r:
            print(f"{name:32} {r.get('missing') or r.get('error')}")
            continue
        print(
            f"{name:32} {r['call']:8.2f} {r['spread']:6.2f} {r['cpu']:7.2f} {r['total']:8.2f} "
            f"{r['peak']:9.0f}  {r['size']}"
        )
    osmnx = results["c. osmnx.graph_from_xml (xml)"]
    for name in ("a. read_osm (pbf)", "b. safespace.load (pbf)"):
        r = results[name]
        if "call" in r and "call" in osmnx:
            print(
                f"speed-up of {name.split(' ', 1)[1]} over osmnx: {osmnx['call'] / r['call']:.1f}×"
            )
    load = results["b. safespace.load (pbf)"]
    if "call" in load:
        ok_time = load["total"] <= 10.0
        ok_mem = load["peak"] <= 1.5 * 1024
        ok_fast = "call" in osmnx and osmnx["call"] >= 3 * load["call"]
        print(
            "targets: load ≤ 10 s (imports included): "
            f"{'met' if ok_time else 'MISSED'}; ≤ 1.5 GB: {'met' if ok_mem else 'MISSED'}; "
            f"≥ 3× osmnx: {'met' if ok_fast else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
