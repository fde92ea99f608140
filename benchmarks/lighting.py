"""Lighting benchmark: lamp–point evaluations per second, with and without occlusion.

Run from the repository root::

    python benchmarks/lighting.py

Uses the real photometry in ``../shared/data/real/photometry/`` (the 0.5°-γ roadway IES
file and the non-equidistant Philips EULUMDAT). Kernels are compiled (numba, cached) before
timing. The machine is shared: every line gives the wall rate, the rate per CPU-second of
the process and all its threads (``resource.getrusage(RUSAGE_SELF)``), and the load
average while measuring; the one-thread line is the per-core rate.

Two scenes: a **street grid** with realistic pair density (points every 1 m on three lines
along each street, lamps 8 m high every 25 m on alternate sides: ~15 lamps in reach per
point; the kernel's figure), and **scattered points** (~3 lamps per point: it measures the
pair builder and the occlusion test more than the kernel).
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numba
import numpy as np
import shapely

import safespace
from safespace import photometry
from safespace.analyses import illuminance as il

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / ".." / "shared" / "data" / "real"
PHOTO = REAL / "photometry"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _best(fn, repeat=3):
    """Best wall time of ``repeat`` runs, and the CPU time (all threads) of that run."""
    best, cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        t, c = time.perf_counter(), _cpu()
        out = fn()
        w = time.perf_counter() - t
        if w < best:
            best, cpu = w, _cpu() - c
    _best.cpu = cpu
    return best, out


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _line(label, evals, t):
    """Evaluations per wall second, and per CPU-second of the process (all threads)."""
    cpu = max(_best.cpu, 1e-9)
    print(f"{label:48s} {evals / t:13,.0f} eval/s wall ({t * 1e3:6.0f} ms) "
          f"{evals / cpu:13,.0f} eval/CPU-s  {_load()}")  # fmt: skip


def street_scene(side=1000.0, block=40.0, lamp_step=25.0, pt_step=1.0):
    """Square street grid (streets every ``block`` m): points every ``pt_step`` m on the centre
    line and 1 m either side; lamps every ``lamp_step`` m on alternate sides (3 m off the
    centre), C90 facing the street. Returns lamp xy, lamp azimuths, points."""
    lines = np.arange(0, side + 1e-9, block)
    s = np.arange(0, side, pt_step)
    sl = np.arange(0, side, lamp_step)
    off = np.where(np.arange(sl.size) % 2 == 0, -3.0, 3.0)
    pts, lamps, az = [], [], []
    for c in lines:
        for d in (-1.0, 0.0, 1.0):
            pts += [np.column_stack([s, np.full_like(s, c + d)]),
                    np.column_stack([np.full_like(s, c + d), s])]  # fmt: skip
        lamps += [np.column_stack([sl, c + off]), np.column_stack([c + off, sl + lamp_step / 2])]
        az += [np.where(off < 0, 90.0, 270.0), np.where(off < 0, 180.0, 0.0)]
    return np.vstack(lamps), np.concatenate(az), np.vstack(pts)


def _kernel_lines(label, lamps, pts):
    """The fused point kernel (what illuminance() runs) on ``pts``, without occlusion."""
    pts = pts[np.lexsort((pts[:, 0] // 32, pts[:, 1] // 32))]  # illuminance()'s visit order
    n = len(lamps)
    lamp_i, _ = il.lamp_point_pairs(lamps, pts)
    k = lamp_i.size
    print(f"{label}: {n} lamps, {len(pts):,} points, {k:,} pairs in reach, "
          f"{k / len(pts):.1f} lamps in reach per point")  # fmt: skip
    rows = il._lamp_rows(lamps, 6.0)
    g = il._lamp_grid(lamps.positions[:, :2], 6.0 * lamps.positions[:, 2])
    i_all = il._candela(lamps.photometries)
    px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    zero = np.zeros(len(pts))
    inside = np.zeros(len(pts), dtype=bool)
    dark = np.zeros(n, dtype=bool)
    e0 = np.zeros(n, np.int64)

    def fused(want):
        return il._point_kernel(px, py, zero, zero, 0.0, 1.5, want, inside, rows, dark, g.x0,
                                g.y0, g.inv_cell, g.nx, g.ny, g.reach_max, g.start, g.items,
                                False, e0, e0, e0, np.zeros((1, 4)), np.zeros(1), np.zeros(1),
                                i_all)  # fmt: skip

    h_only, all3 = np.array([True, False, False]), np.array([True, True, True])
    fused(h_only)
    t, _ = _best(lambda: fused(h_only), repeat=10)
    _line("  point kernel, E_h only (C-γ bilinear)", k, t)
    t, _ = _best(lambda: fused(all3), repeat=10)
    _line("  point kernel, E_h + 2 faces E_sc/E_v (2K)", 2 * k, t)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t, _ = _best(lambda: fused(h_only), repeat=3)
        _line("  point kernel, E_h only, 1 thread", k, t)
    finally:
        numba.set_num_threads(threads)
    return k


def synthetic_scene(rng, n_lamps=600, side=1200.0, n_points=200_000, n_buildings=400):
    """Lamps 8 m high on a square, points scattered, square-ish buildings (10–30 m)."""
    lamps_xy = rng.uniform(0, side, (n_lamps, 2))
    pts = rng.uniform(0, side, (n_points, 2))
    c = rng.uniform(0, side, (n_buildings, 2))
    half = rng.uniform(5, 15, (n_buildings, 2))
    bld = shapely.box(c[:, 0] - half[:, 0], c[:, 1] - half[:, 1], c[:, 0] + half[:, 0],
                      c[:, 1] + half[:, 1])  # fmt: skip
    return lamps_xy, pts, bld


def main() -> None:
    rng = np.random.default_rng(1)
    phs = [
        photometry.read(PHOTO / "outdoor_roadway_60W_4000K.ies"),
        photometry.read(PHOTO / "philips_BDP100_townguide_performer.ldt"),
    ]
    print(f"numba threads {numba.get_num_threads()}, cpus {os.cpu_count()}")
    sxy, saz, spts = street_scene()
    sl = il.LampSet(np.column_stack([sxy, np.full(len(sxy), 8.0)]), phs,
                    photometry_index=np.arange(len(sxy)) % 2, azimuth_deg=saz)  # fmt: skip
    il.illuminance(sl, spts[:100], 0.0)  # warm-up (numba compile / cache load)
    _kernel_lines("street grid", sl, spts)

    lamps_xy, pts, bld = synthetic_scene(rng)
    n = lamps_xy.shape[0]
    lamps = il.LampSet(
        np.column_stack([lamps_xy, np.full(n, 8.0)]),
        phs,
        photometry_index=rng.integers(0, 2, n),
        azimuth_deg=rng.uniform(0, 360, n),
        flux_scale=1.0,
    )
    obstacles = il.Obstacles(bld)
    il.illuminance(lamps, pts[:100], 0.0, obstacles=obstacles)
    print(f"scattered: {len(bld)} buildings, {obstacles.edges.shape[0]} edges")
    k = _kernel_lines("scattered", lamps, pts)
    t, _ = _best(lambda: il.lamp_point_pairs(lamps, pts), repeat=5)
    _line("  pair builder (lamp_point_pairs), pairs/s", k, t)
    t, _ = _best(lambda: il.horizontal_illuminance(lamps, pts))
    _line("  horizontal_illuminance, end to end", k, t)
    t, _ = _best(lambda: il.horizontal_illuminance(lamps, pts, obstacles=obstacles))
    _line("  horizontal_illuminance, with occlusion", k, t)
    t, _ = _best(lambda: il.illuminance(lamps, pts, 0.0, obstacles=obstacles), repeat=2)
    _line("  E_h+E_sc+E_v, occlusion (2 planes, 2K evals)", 2 * k, t)

    helsinki = REAL / "osm" / "helsinki_centre.osm.pbf"
    if not helsinki.exists():
        print(f"helsinki: skipped ({helsinki} absent)")
        return
    from safespace.analyses.lighting_grid import illuminance_grid

    t0 = time.perf_counter()
    layout = safespace.load(str(helsinki))
    t_load = time.perf_counter() - t0
    illuminance_grid(layout)  # warm (numba cache load)
    t0, c0 = time.perf_counter(), _cpu()
    grid = illuminance_grid(layout)
    t_grid, c_grid = time.perf_counter() - t0, _cpu() - c0
    t0, c0 = time.perf_counter(), _cpu()
    a = safespace.assess(layout, rules=["LT"])
    t_assess, c_assess = time.perf_counter() - t0, _cpu() - c0
    eh = grid["E_h"].to_numpy()
    reached = grid["lamps_in_reach"].to_numpy() > 0
    print(f"helsinki: load {t_load:.2f} s (not counted); {len(layout.lamps)} lamps, "
          f"{len(grid):,} grid points; illuminance_grid {t_grid:.2f} s ({c_grid:.2f} CPU-s); "
          f"grid + assess LT001-006 {t_assess:.2f} s wall ({c_assess:.2f} CPU-s) -> "
          f"{'met' if t_assess <= 10 else 'MISSED'} (target <= 10 s); "
          f"{len(a.findings)} findings; {_load()}")  # fmt: skip
    print(f"  median E_h all points {np.median(eh):.2f} lx; points with a mapped lamp in reach "
          f"{reached.mean():.0%}, their median E_h {np.median(eh[reached]):.2f} lx")  # fmt: skip


if __name__ == "__main__":
    main()
