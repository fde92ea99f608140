"""Whole default assessments of the real extracts: wall time, peak memory, time per rule.

Each extract runs in a fresh subprocess (so its peak resident memory is its own; ``ru_maxrss``
of the child). The first run of the first extract also pays numba's compile (cold); the
figures per extract are the best of ``--repeat`` warm runs after one untimed warm-up, unless
``--cold`` is given. Printed: the load and assess wall time, peak memory, the five slowest
rules (``issues:`` is the grouping of findings into issues, after the rules), the five
slowest shared analyses (each timed where it is computed, including the analyses it asks
for), and time per 1,000 buildings across the extracts (how the cost grows with the work).
A rule's time includes the shared analyses it is the first to ask for.

    python benchmarks/assess.py                  # all six extracts, best of 1 warm run
    python benchmarks/assess.py --repeat 3 helsinki_centre.osm.pbf
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real" / "osm"
EXTRACTS = [
    "london_moorgate.osm.pbf",
    "west_oakland.osm.bz2",
    "heidelberg_altstadt.osm.pbf",
    "helsinki_centre.osm.pbf",
    "baltimore.osm.pbf",
    "monaco.osm.pbf",
]

CHILD = r"""
import json, resource, sys, time
import safespace
from safespace.rules.engine import Site
path, runs = sys.argv[1], int(sys.argv[2])
# time each shared analysis where it is computed (a cache miss), inclusive of the analyses
# it asks for in turn
analysis_s = {}
_analysis = Site.analysis
def timed(self, func, /, **kwargs):
    before, t = len(self._cache), time.perf_counter()
    out = _analysis(self, func, **kwargs)
    if len(self._cache) > before:
        name = func.__qualname__
        analysis_s[name] = analysis_s.get(name, 0.0) + time.perf_counter() - t
    return out
Site.analysis = timed
best = None
for _ in range(runs):
    analysis_s.clear()
    t0 = time.perf_counter()
    layout = safespace.load(path)
    t1 = time.perf_counter()
    marks = []
    def progress(msg):
        marks.append((msg.split()[0], time.perf_counter()))
    a = safespace.assess(layout, progress=progress)
    t2 = time.perf_counter()
    marks.append(("end", t2))
    per_rule = {marks[i][0]: marks[i + 1][1] - marks[i][1] for i in range(len(marks) - 1)}
    run = {"load_s": t1 - t0, "assess_s": t2 - t1, "per_rule": per_rule,
           "buildings": len(layout.buildings), "findings": len(a.findings),
           "issues": len(a.issues), "failures": len(a.failures),
           "per_analysis": dict(analysis_s)}
    if best is None or run["assess_s"] < best["assess_s"]:
        best = run
best["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(best))
"""


def run(path: Path, runs: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(runs)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extracts", nargs="*", default=EXTRACTS)
    ap.add_argument("--repeat", type=int, default=1, help="timed warm runs per extract")
    ap.add_argument("--cold", action="store_true", help="no warm-up run (first run after install)")
    args = ap.parse_args()
    paths = [REAL / e for e in args.extracts if (REAL / e).exists()]
    if not paths:
        print(f"no extracts found in {REAL}")
        return 1
    if not args.cold:
        run(paths[0], 1)  # warm numba's on-disk cache
    print(f"{'extract':30} {'bldgs':>6} {'load s':>7} {'assess s':>8} {'peak MB':>8} "
          f"{'s/1k bldg':>9} {'issues':>6}  slowest rules")  # fmt: skip
    analyses = []
    for p in paths:
        r = run(p, args.repeat)
        analyses.append((p.name, r["per_analysis"]))
        slow = sorted(r["per_rule"].items(), key=lambda kv: -kv[1])[:5]
        per_k = r["assess_s"] / max(r["buildings"], 1) * 1000
        print(
            f"{p.name:30} {r['buildings']:6d} {r['load_s']:7.2f} {r['assess_s']:8.2f} "
            f"{r['peak_mb']:8.0f} {per_k:9.2f} {r['issues']:6d}  "
            + ", ".join(f"{k} {v:.1f}" for k, v in slow)
            + (f"  ({r['failures']} rule failures)" if r["failures"] else "")
        )
    print("\nslowest shared analyses (s, inclusive)")
    for name, times in analyses:
        slow = sorted(times.items(), key=lambda kv: -kv[1])[:6]
        print(f"{name:30} " + ", ".join(f"{k} {v:.1f}" for k, v in slow))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
