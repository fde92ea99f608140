"""Visibility benchmark: safespace's exact isovists beside CGAL (pyvispoly) and pysovist.

Run from the repository root: ``python benchmarks/visibility.py [--quick] [--peers N]``.

Prints, in one run, on the same real layouts and viewpoints (buildings from the OSM extracts
in ``../shared/data/real/osm``, viewpoints every 10 m along foot routes, radius 100 m):

1. time per isovist, shapely polygon and measures included, for safespace, CGAL's
   triangular-expansion visibility polygon (``pyvispoly``, clipped to the radius with
   shapely) and ``pysovist``; and how far their areas are from safespace's;
2. isovist-measure cells per second on a 2 m grid over Heidelberg's core;
3. 10,000 isovists over the Helsinki centre;
4. (unless ``--quick``) the area agreement with pysovist over every viewpoint of Heidelberg
   and Helsinki.

and whether each target of issue 7 is met. Peers are optional: ``not installed`` if absent.
pyvispoly is GPL and pysovist MIT; both are benchmark/test tools, never runtime dependencies.
Timings on a shared 2-core machine are noisy: best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from safespace.analyses.isovist import (
    ObstacleIndex,
    isovist_measures,
    isovists,
    isovists_with_measures,
)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "osm"
RADIUS = 100.0
FOOT = {
    "footway", "pedestrian", "path", "steps", "living_street", "residential", "service",
    "cycleway", "track", "unclassified", "tertiary", "secondary", "primary", "corridor",
    "bridleway",
}  # fmt: skip
TARGET_MS = 0.64  # depthmapX, polygon and measures stored
TARGET_CELLS = 5300.0  # depthmapX VGA isovists on a 2 m grid
TARGET_10K_S = 10.0


# ---------------------------------------------------------------- data


def load_scene(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Buildings (polygons) and foot routes (lines) of an extract, in its UTM zone."""
    path = DATA / f"{name}.osm.pbf"
    try:
        from safespace.io.osm import read_osm
    except ImportError:
        read_osm = None
    if read_osm is not None:
        raw = read_osm(path)
        kind = raw.geometry.geom_type
        tags = raw["tags"]
        bld = raw[kind.isin(["Polygon", "MultiPolygon"]) & tags.map(lambda t: "building" in t)]
        foot = raw[
            kind.eq("LineString")
            & tags.map(lambda t: t.get("highway") in FOOT and t.get("area") != "yes")
        ]
        buildings, routes = bld.geometry, foot.geometry
    else:
        buildings, routes = _read_osm_locally(path)
    crs = buildings.estimate_utm_crs()
    return buildings.to_crs(crs).values, routes.to_crs(crs).values


def _read_osm_locally(path):
    import osmium
    from osmium.geom import WKBFactory

    wkb = WKBFactory()
    bld, foot = [], []
    for o in osmium.FileProcessor(str(path)).with_locations().with_areas():
        try:
            if o.is_area() and "building" in o.tags:
                bld.append(shapely.from_wkb(wkb.create_multipolygon(o)))
            elif o.is_way() and o.tags.get("highway") in FOOT and o.tags.get("area") != "yes":
                foot.append(shapely.from_wkb(wkb.create_linestring(o)))
        except (RuntimeError, osmium.InvalidLocationError):
            continue
    return gpd.GeoSeries(bld, crs=4326), gpd.GeoSeries(foot, crs=4326)


def route_points(buildings, routes, step=10.0) -> np.ndarray:
    """Points every ``step`` m along the routes, outside (and not on) the buildings."""
    pts = np.vstack(
        [shapely.get_coordinates(shapely.line_interpolate_point(r, np.arange(0, r.length, step)))
         for r in routes]
    )  # fmt: skip
    pts = np.unique(np.round(pts, 3), axis=0)
    hit = shapely.STRtree(buildings).query(shapely.points(pts), predicate="dwithin", distance=1e-3)
    keep = np.ones(len(pts), bool)
    keep[hit[0]] = False
    return pts[keep]


def evenly(pts: np.ndarray, n: int) -> np.ndarray:
    return pts[np.linspace(0, len(pts) - 1, min(n, len(pts))).astype(int)]


def neighbourhood(buildings, routes, target_segments=1400, n_views=300):
    """Whole buildings in the smallest square around the core holding ~target wall segments."""
    cen = shapely.centroid(buildings)
    cxy = np.median(shapely.get_coordinates(cen), axis=0)
    for half in np.arange(50.0, 2000.0, 10.0):
        win = shapely.box(*(cxy - half), *(cxy + half))
        sel = buildings[shapely.intersects(cen, win)]
        idx = ObstacleIndex.from_geometries(sel)
        if idx.n_segments >= target_segments:
            break
    pts = route_points(sel, routes)
    pts = pts[shapely.intersects(shapely.points(pts), win)]
    return sel, idx, evenly(pts, n_views), half


def wall_segments(buildings) -> np.ndarray:
    """Raw building outlines as (n, 2, 2) segments (no union) for pysovist."""
    rings = shapely.get_rings(shapely.get_parts(buildings))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    return np.stack([xy[:-1][same], xy[1:][same]], axis=1)


# ---------------------------------------------------------------- engines


def best_of(func, repeat):
    """Best wall time of ``repeat`` runs (and the process CPU time of that run)."""
    best, cpu, out = math.inf, math.inf, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = func()
        wall = time.perf_counter() - t
        if wall < best:
            best, cpu = wall, time.process_time() - c
    best_of.cpu = cpu
    return out, best


def safespace_run(idx, pts):
    return isovists_with_measures(idx, pts, RADIUS)


class Cgal:
    """pyvispoly over one environment: a box around everything, obstacles as holes."""

    def __init__(self, idx: ObstacleIndex, pts: np.ndarray):
        import pyvispoly as pv

        self.pv = pv
        allb = np.vstack([shapely.get_coordinates(idx.polygons), pts])
        self.cen = allb.mean(axis=0)
        lo = allb.min(axis=0) - RADIUS - 10
        hi = allb.max(axis=0) + RADIUS + 10

        def ring(xy):
            return pv.Polygon([pv.Point(float(x), float(y)) for x, y in xy - self.cen])

        outer = np.array([lo, [hi[0], lo[1]], hi, [lo[0], hi[1]]])
        holes = [ring(np.asarray(p.exterior.coords)[:-1][::-1]) for p in idx.polygons]
        self.calc = pv.VisibilityPolygonCalculator(pv.PolygonWithHoles(ring(outer), holes))

    def feasible(self, pts):
        pv = self.pv
        return np.array(
            [self.calc.is_feasible_query_point(pv.Point(*map(float, p - self.cen))) for p in pts]
        )

    def run(self, pts):
        pv, out = self.pv, []
        for p in pts:
            vis = self.calc.compute_visibility_polygon(pv.Point(*map(float, p - self.cen)))
            xy = np.array([(float(v.x()), float(v.y())) for v in vis.boundary()]) + self.cen
            circle = shapely.Point(p).buffer(RADIUS, quad_segs=90)  # 1-degree chords too
            out.append(shapely.Polygon(xy).intersection(circle))
        return out


def pysovist_run(walls, pts):
    """pysovist isovists; ``walls`` is a prepared Plan, or an STRtree over raw segments."""
    import pysovist

    out = []
    for p in pts:
        if isinstance(walls, tuple):  # large scene: only the walls within range
            tree, segs = walls
            plan = segs[tree.query(shapely.Point(p), predicate="dwithin", distance=RADIUS)]
        else:
            plan = walls
        iv = pysovist.isovist(plan, p, max_distance=RADIUS)
        out.append(shapely.Polygon(iv.polygon(arc_step=math.radians(1.0))))
    return out


def rel_err(a, b):
    a = shapely.area(np.asarray(a, dtype=object))
    b = shapely.area(np.asarray(b, dtype=object))
    e = np.abs(a / b - 1)
    return float(np.median(e)), float(e.max())


def met(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# ---------------------------------------------------------------- sections


def per_isovist(label, buildings, idx, pts, repeat, peers, whole_plan):
    print(f"\n== {label}: {idx.n_segments} wall segments (merged), {len(pts)} viewpoints, "
          f"r = {RADIUS:g} m")  # fmt: skip
    (polys, _), t = best_of(lambda: safespace_run(idx, pts), repeat)
    polys = np.asarray(polys, dtype=object)
    ms = t / len(pts) * 1e3
    cpu = best_of.cpu / len(pts) * 1e3
    print(f"  safespace  {ms:8.3f} ms/isovist (polygon + measures; CPU {cpu:.3f} ms, all threads)")
    res = {"safespace": ms}
    sub = evenly(np.arange(len(pts)), peers)
    try:
        cg = Cgal(idx, pts)
    except ImportError:
        print("  CGAL       not installed (pip install pyvispoly)")
    else:
        s_ok = sub[cg.feasible(pts[sub])]
        out, t = best_of(lambda: cg.run(pts[s_ok]), 1)
        res["cgal"] = t / len(s_ok) * 1e3
        med, mx = rel_err(polys[s_ok], out)
        print(
            f"  CGAL       {res['cgal']:8.3f} ms/isovist (pyvispoly, clipped to r; "
            f"{len(s_ok)} viewpoints)   area vs safespace: median {med:.1e}, max {mx:.1e}"
        )
    try:
        import pysovist
    except ImportError:
        print("  pysovist   not installed (pip install pysovist)")
    else:
        segs = wall_segments(buildings)
        t0 = time.perf_counter()
        if whole_plan:
            walls, how = pysovist.Plan(segs), "whole Plan"
        else:  # Plan() of a whole city takes minutes: give each call its walls in range
            walls, how = (shapely.STRtree(shapely.linestrings(segs)), segs), "walls in range"
        prep = time.perf_counter() - t0
        out, t = best_of(lambda: pysovist_run(walls, pts[sub]), 1)
        res["pysovist"] = t / len(sub) * 1e3
        med, mx = rel_err(polys[sub], out)
        print(
            f"  pysovist   {res['pysovist']:8.3f} ms/isovist ({len(sub)} viewpoints, {how}, "
            f"prep {prep:.1f} s)   area vs safespace: median {med:.1e}, max {mx:.1e}"
        )
    return res


def grid_cells(buildings, idx, repeat, size=300.0):
    cen = np.median(shapely.get_coordinates(shapely.centroid(buildings)), axis=0)
    g = np.arange(-size / 2, size / 2, 2.0) + 1.0
    xx, yy = np.meshgrid(cen[0] + g, cen[1] + g)
    cells = np.column_stack([xx.ravel(), yy.ravel()])

    def run():
        inside = idx._tree.query(shapely.points(cells), predicate="intersects")[0]
        keep = np.ones(len(cells), bool)
        keep[inside] = False
        return isovist_measures(idx, cells[keep], RADIUS)

    table, t = best_of(run, repeat)
    rate = len(table) / t
    cpu_rate = len(table) / best_of.cpu
    print(f"\n== isovist measures on a 2 m grid, {size:g} m x {size:g} m of Heidelberg's core: "
          f"{len(table)} open cells of {len(cells)}")  # fmt: skip
    print(f"  safespace  {rate:10.0f} cells/s ({t:.2f} s; {cpu_rate:.0f} cells per CPU-second)   "
          f"target >= {TARGET_CELLS:.0f}: {met(rate >= TARGET_CELLS)}")  # fmt: skip
    return rate


def helsinki_10k(buildings, routes, repeat):
    pts = evenly(route_points(buildings, routes, step=5.0), 10_000)
    idx, t_idx = best_of(lambda: ObstacleIndex.from_geometries(buildings), 1)
    polys, t = best_of(lambda: isovists(idx, pts, RADIUS), repeat)
    total = t + t_idx
    print(f"\n== {len(pts)} isovists over Helsinki centre ({idx.n_segments} wall segments)")
    print(
        f"  safespace  {t:.2f} s isovists with polygons + {t_idx:.2f} s obstacle index "
        f"= {total:.2f} s   target <= {TARGET_10K_S:g} s: {met(total <= TARGET_10K_S)}"
    )
    return total


def full_accuracy(name, buildings, routes):
    try:
        import pysovist
    except ImportError:
        print(f"  {name}: pysovist not installed")
        return
    pts = route_points(buildings, routes)
    polys = isovists(buildings, pts, RADIUS)
    segs = wall_segments(buildings)
    tree = shapely.STRtree(shapely.linestrings(segs))
    ref = np.empty(len(pts))
    t0 = time.perf_counter()
    for i, p in enumerate(pts):
        near = tree.query(shapely.Point(p), predicate="dwithin", distance=RADIUS)
        ref[i] = pysovist.isovist(segs[near], p, max_distance=RADIUS).metrics["area"]
    e = np.abs(shapely.area(np.asarray(polys, dtype=object)) / ref - 1)
    ok = np.isfinite(e)
    med, mx = float(np.median(e[ok])), float(e[ok].max())
    print(
        f"  {name}: {ok.sum()} viewpoints (pysovist {time.perf_counter() - t0:.0f} s): "
        f"median {med:.1e} (<= 1e-4 {met(med <= 1e-4)}), max {mx:.1e} "
        f"(<= 1e-3 {met(mx <= 1e-3)}); all polygons valid: "
        f"{bool(shapely.is_valid(np.asarray(polys, dtype=object)).all())}"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the full pysovist accuracy run")
    ap.add_argument("--peers", type=int, default=300, help="viewpoints timed for pysovist")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    isovists([shapely.box(1, 1, 2, 2)], np.zeros((1, 2)), 10.0)  # load the compiled kernel
    isovist_measures([shapely.box(1, 1, 2, 2)], np.zeros((1, 2)), 10.0)
    hd_b, hd_r = load_scene("heidelberg_altstadt")
    hs_b, hs_r = load_scene("helsinki_centre")

    print(f"radius {RADIUS:g} m; viewpoints every 10 m along foot routes, outside buildings")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times are noisy)")
    sel, idx, pts, half = neighbourhood(hd_b, hd_r)
    res = per_isovist(
        f"Heidelberg neighbourhood ({2 * half:.0f} m square, {len(sel)} buildings)",
        sel, idx, pts, args.repeat, args.peers, True,
    )  # fmt: skip
    print(f"  target <= {TARGET_MS} ms/isovist: {met(res['safespace'] <= TARGET_MS)}", end="")
    if "cgal" in res:
        x = res["cgal"] / res["safespace"]
        print(f"; {x:.1f}x faster than CGAL (target ~5x: {met(x >= 5)})")
    else:
        print()
    for label, b, r in [("Heidelberg Altstadt", hd_b, hd_r), ("Helsinki centre", hs_b, hs_r)]:
        idx_all = ObstacleIndex.from_geometries(b)
        pts_all = evenly(route_points(b, r), 300)
        per_isovist(label, b, idx_all, pts_all, args.repeat, min(args.peers, 100), False)

    grid_cells(hd_b, ObstacleIndex.from_geometries(hd_b), args.repeat)
    helsinki_10k(hs_b, hs_r, args.repeat)
    if not args.quick:
        print("\n== area agreement with pysovist (exact arcs), every viewpoint")
        full_accuracy("Heidelberg Altstadt", hd_b, hd_r)
        full_accuracy("Helsinki centre", hs_b, hs_r)


if __name__ == "__main__":
    main()
