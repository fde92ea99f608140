"""Natural-surveillance field and forward-visibility benchmark on real OSM extracts.

Run from the repository root::

    python benchmarks/surveillance.py

For each extract in ``../shared/data/real/osm/`` (Helsinki centre, Heidelberg old town) it
prints the size of the problem (samples, observers, candidate pairs), the wall time of the
whole natural-surveillance field (target: ≤ 30 s on the whole Helsinki extract, issue 7),
of its line-of-sight stage alone, of the forward visibility, and of all SL rules. Side by
side, the same sight-line tests done with shapely 2 (STRtree ``query(lines,
predicate="intersects")`` against the wall rings, vectorised, the obvious peer) on a
subsample. Numba kernels are compiled (and cached) before timing. Figures are wall-clock on a
shared 2-core machine: treat them as indicative.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import shapely
from scipy.spatial import cKDTree

import safespace
from safespace.analyses._visibility import SightIndex, polygon_segments, route_samples
from safespace.analyses.forward_visibility import forward_visibility
from safespace.analyses.surveillance import observers, surveillance_field
from safespace.rules import sightlines
from safespace.rules.engine import Site, run_rule

ROOT = Path(__file__).resolve().parents[1]
OSM = ROOT / ".." / "shared" / "data" / "real" / "osm"
EXTRACTS = ["helsinki_centre.osm.pbf", "heidelberg_altstadt.osm.pbf"]


def _best(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _pairs(layout):
    """The field's candidate pairs after the facing test, as 3-D end points."""
    s = route_samples(layout, 5.0)
    obs = observers(layout)
    sxy = shapely.get_coordinates(s.geometry.values)
    oxy = obs[["x", "y"]].to_numpy()
    coo = cKDTree(sxy).sparse_distance_matrix(cKDTree(oxy), 25.0, output_type="coo_matrix")
    i, o = coo.row, coo.col
    v = sxy[i] - oxy[o]
    keep = v[:, 0] * obs["nx"].to_numpy()[o] + v[:, 1] * obs["ny"].to_numpy()[o] > 1e-9
    i, o = i[keep], o[keep]
    a = np.column_stack([oxy[o], obs["z"].to_numpy()[o]])
    b = np.column_stack([sxy[i], np.full(len(i), 1.6)])
    return len(s), len(obs), len(coo.row), a, b


def run_extract(path: Path) -> None:
    name = path.name
    t = time.perf_counter()
    layout = safespace.load(path)
    t_load = time.perf_counter() - t
    surveillance_field(layout)  # compile / load the numba cache
    forward_visibility(layout)
    n_s, n_o, n_cand, a, b = _pairs(layout)
    index = SightIndex.from_layout(layout)
    print(f"\n== {name}: load {t_load:.1f} s; {len(layout.buildings)} buildings, "
          f"{index.n_segments} wall segments, {n_s} samples, {n_o} observers, "
          f"{n_cand} candidate pairs, {len(a)} facing")  # fmt: skip
    t_field, field = _best(lambda: surveillance_field(layout))
    print(f"surveillance field (whole extract)        {t_field:7.2f} s   "
          f"({(field['n_buildings'] > 0).mean():.0%} of samples overlooked)")  # fmt: skip
    t_idx, _ = _best(lambda: SightIndex.from_layout(layout))
    t_los, blocked = _best(lambda: index.blocked(a, b))
    print(f"  sight-line index build                  {t_idx * 1e3:7.1f} ms")
    print(f"  sight-line tests, safespace (numba)     {t_los:7.3f} s   "
          f"{len(a) / t_los:12,.0f} tests/s")  # fmt: skip
    # the peer: shapely 2, vectorised, on a subsample (it is much slower)
    m = min(len(a), 20_000)
    sub = np.random.default_rng(0).choice(len(a), m, replace=False)
    rings = shapely.boundary(layout.buildings.geometry.values)
    tree = shapely.STRtree(rings)

    def peer():
        lines = shapely.linestrings(np.stack([a[sub, :2], b[sub, :2]], axis=1))
        hit = tree.query(lines, predicate="intersects")
        out = np.zeros(len(sub), bool)
        out[hit[0]] = True
        return out

    t_peer, ref = _best(peer, repeat=1)
    # the peer ignores heights: compare with every building wall opaque, nothing else
    seg, _ = polygon_segments(layout.buildings.geometry.values)
    only_b = SightIndex.from_segments(seg, np.full(len(seg), np.inf))
    agree = (only_b.blocked(a[sub], b[sub]) == ref).mean()
    print(f"  sight-line tests, shapely STRtree       {t_peer * len(a) / m:7.3f} s   "
          f"{m / t_peer:12,.0f} tests/s  (extrapolated from {m}; agreement on "
          f"opaque buildings {agree:.4%})")  # fmt: skip
    t_fv, fv = _best(lambda: forward_visibility(layout), repeat=2)
    print(f"forward visibility                        {t_fv:7.2f} s   "
          f"({(fv['ahead_stop'] == 'blocked').sum()} views cut ahead)")  # fmt: skip

    def all_rules():
        site = Site(layout)
        n = 0
        for r in sightlines.RULES:
            n += len(list(run_rule(r, site.with_params(r.defaults()))))
        return n

    t_rules, n = _best(all_rules, repeat=1)
    print(f"all SL rules (fresh analysis cache)       {t_rules:7.2f} s   ({n} outputs)")


def main() -> None:
    for name in EXTRACTS:
        path = OSM / name
        if not path.exists():
            print(f"{name}: not present, skipped")
            continue
        run_extract(path)


if __name__ == "__main__":
    main()
