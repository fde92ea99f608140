"""Cold and warm time of the README's first command, and what numba compiles on the way.

``safespace assess fixtures/demo_estate.geojson -o findings.geojson`` is run as a fresh
subprocess:

- **cold**: with an empty numba cache (a new ``NUMBA_CACHE_DIR`` per run), as after
  ``pip install .``: every kernel the run needs is compiled;
- **warm**: again with the cache the cold run filled.

Then one more cold run is made in-process under numba's compile-event recorder
(``numba.core.event.install_recorder("numba:compile")``) and every compiled function is
listed with its signature, its inclusive compile time (what the caller waited) and its
exclusive time (less the functions it compiled on the way).

Usage (from the repository root)::

    python benchmarks/cold_start.py [--runs 2] [--path fixtures/demo_estate.geojson] [--top 15]
                                    [--kernels auto|jit|small]

``--kernels`` sets ``SAFESPACE_KERNELS`` for the runs (see ``safespace.analyses._jit``):
``jit`` compiles every kernel the run reaches, as before small inputs had small paths, and
so lists what each kernel costs to compile.

Issue 17 (item 8) target: cold ≤ 10 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_COLD_S = 10.0

_CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
from numba.core import event
path, out = sys.argv[1], sys.argv[2]
with event.install_recorder("numba:compile") as rec:
    from safespace.cli import main
    t0 = time.perf_counter()
    code = main(["assess", path, "-o", out, "-q"])
    t1 = time.perf_counter()
stack, rows = [], []
for ts, ev in rec.buffer:
    name = ev.data["dispatcher"].py_func
    key = f"{name.__module__.rsplit('.', 1)[-1]}.{name.__qualname__}"
    if ev.is_start:
        stack.append([key, str(ev.data["args"]), ts, 0.0])
    else:
        k, sig, t, inner = stack.pop()
        total = ts - t
        if stack:
            stack[-1][3] += total
        rows.append({"function": k, "signature": sig, "inclusive_s": total,
                     "exclusive_s": total - inner, "top_level": not stack})
print(json.dumps({"code": code, "import_s": t0 - t_start, "assess_s": t1 - t0,
                  "compiles": rows}))
"""


def _run(
    cmd: list[str], cache: str, kernels: str
) -> tuple[float, float, subprocess.CompletedProcess]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, SAFESPACE_KERNELS=kernels)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"command failed with exit code {proc.returncode}: {' '.join(cmd)}")
    return wall, cpu, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--path", default="fixtures/demo_estate.geojson")
    ap.add_argument("--runs", type=int, default=2, help="cold runs (each with a fresh cache)")
    ap.add_argument("--top", type=int, default=15, help="compiled functions to list")
    ap.add_argument("--kernels", default="auto", choices=("auto", "jit", "small"))
    args = ap.parse_args()
    exe = shutil.which("safespace")
    base = [exe] if exe else [sys.executable, "-m", "safespace.cli"]
    tmp = Path(tempfile.mkdtemp(prefix="safespace_cold_"))
    try:
        cmd = [*base, "assess", args.path, "-o", str(tmp / "findings.geojson"), "-q"]
        print(f"command: {' '.join(cmd[len(base) - 1 :])}")
        print(
            f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, "
            f"SAFESPACE_KERNELS={args.kernels}"
        )
        colds, warms = [], []
        for r in range(args.runs):
            cache = str(tmp / f"cache{r}")
            wall, cpu, _ = _run(cmd, cache, args.kernels)
            colds.append(wall)
            print(f"cold run {r + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
            wall, cpu, _ = _run(cmd, cache, args.kernels)
            warms.append(wall)
            print(f"warm run {r + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
        print(f"cold best {min(colds):.2f} s, warm best {min(warms):.2f} s")
        met = "met" if min(colds) <= TARGET_COLD_S else "NOT met"
        print(f"target cold <= {TARGET_COLD_S:g} s: {met}")

        out = str(tmp / "child.geojson")
        _, _, proc = _run(
            [sys.executable, "-c", _CHILD, args.path, out], str(tmp / "cache_events"), args.kernels
        )
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        rows = res["compiles"]
        top = [r for r in rows if r["top_level"]]
        total = sum(r["inclusive_s"] for r in top)
        print(
            f"\nin-process cold run: import {res['import_s']:.2f} s, assess "
            f"{res['assess_s']:.2f} s; {len(rows)} compilations ({len(top)} top-level, "
            f"{total:.2f} s in all)"
        )
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["function"]] = counts.get(r["function"], 0) + 1
        twice = sorted(k for k, v in counts.items() if v > 1)
        if twice:
            print(f"compiled for more than one signature: {', '.join(twice)}")
        if not rows:
            print("nothing was compiled: every kernel took its small path")
            return
        print(f"\n{'function':44} {'incl s':>7} {'excl s':>7}  signature")
        for r in sorted(rows, key=lambda r: -r["exclusive_s"])[: args.top]:
            sig = r["signature"] if len(r["signature"]) < 70 else r["signature"][:67] + "..."
            print(f"{r['function']:44} {r['inclusive_s']:7.2f} {r['exclusive_s']:7.2f}  {sig}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
