"""Where an issue is: the route a many-street finding lies along most.

``_Placer._dominant`` measures each route against the 1 m zone of the finding's parts near
it, longest route first, and stops once no shorter route could do better. These tests hold
it to the plain definition: buffer the whole geometry by 1 m, measure every route's length
inside, take the longest, the first in the finding's order of equal ones.
"""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace._place import PlaceIndex
from safespace.findings import Finding
from safespace.issues.places import _Placer


def _placer(routes: dict[str, shapely.LineString]) -> _Placer:
    fids = sorted(routes)
    idx = PlaceIndex(
        layer={f: "foot_routes" for f in fids},
        name={},
        highway={f: "footway" for f in fids},
        geometry=dict(routes),
        crs=None,
        routes=fids,
        route_tree=shapely.STRtree([routes[f] for f in fids]),
    )
    placer = _Placer(idx, [], 40.0)
    placer.route_key = lambda fid, scope: fid  # the chosen route itself, not its place key
    return placer


def _plain(routes: dict[str, shapely.LineString], geom, order: list[str]) -> str:
    zone = shapely.buffer(geom, 1.0)
    best, best_len = order[0], -1.0
    for fid in order:
        overlap = float(shapely.intersection(routes[fid], zone).length)
        if overlap > best_len:
            best, best_len = fid, overlap
    return best


def test_longest_overlap_wins_not_longest_route():
    routes = {
        "long": shapely.LineString([(0, 0), (100, 0)]),  # 100 m, 10 m along the finding
        "mid": shapely.LineString([(0, 10), (50, 10)]),  # 50 m, all along it
        "short": shapely.LineString([(0, 20), (20, 20)]),
    }
    geom = shapely.MultiLineString([[(0, 0), (10, 0)], [(0, 10), (50, 10)], [(0, 20), (20, 20)]])
    f = Finding(rule_id="PM006", geometry=geom, features=["long", "mid", "short"])
    assert _placer(routes)._dominant(f, ["long", "mid", "short"], "context") == "mid"


def test_equal_overlaps_go_to_the_first_named():
    routes = {
        "a": shapely.LineString([(0, 0), (30, 0)]),
        "b": shapely.LineString([(0, 10), (30, 10)]),
    }
    geom = shapely.MultiLineString([list(r.coords) for r in routes.values()])
    f = Finding(rule_id="PM006", geometry=geom, features=["b", "a"])
    placer = _placer(routes)
    assert placer._dominant(f, ["b", "a"], "context") == "b"
    assert placer._dominant(f, ["a", "b"], "context") == "a"


_point = st.tuples(st.integers(0, 40), st.integers(0, 40))


@settings(max_examples=150, deadline=None)
@given(
    ends=st.lists(st.tuples(_point, _point), min_size=2, max_size=8),
    picked=st.lists(st.booleans(), min_size=8, max_size=8),
    cut=st.floats(0.1, 0.9),
    seed=st.integers(0, 2**16),
)
def test_same_route_as_the_plain_definition(ends, picked, cut, seed):
    routes = {f"r{i}": shapely.LineString([a, b]) for i, (a, b) in enumerate(ends) if a != b}
    if len(routes) < 2:
        return
    fids = list(routes)
    # the finding: some routes whole, the others in part (a stretch of them)
    parts = [
        routes[f] if picked[i] else shapely.ops.substring(routes[f], 0, cut, normalized=True)
        for i, f in enumerate(fids)
    ]
    geom = shapely.MultiLineString([list(p.coords) for p in parts if p.length > 0])
    order = list(np.random.default_rng(seed).permutation(fids))
    f = Finding(rule_id="PM006", geometry=geom, features=order)
    assert _placer(routes)._dominant(f, order, "context") == _plain(routes, geom, order)
