"""Checks on the hand-designed fixtures themselves (``fixtures/``).

The files are tested as data: valid RFC 7946, stable ids, and the geometry the planted
problems in ``fixtures/README.md`` rely on (hand-computed figures, measured here in UTM 31N
metres). They do not need safespace's loader, so a broken loader cannot hide a broken fixture.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.ops
from pyproj import Transformer
from shapely.geometry import LineString, Point, shape

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DEMO = FIXTURES / "demo_estate.geojson"
EXISTING = FIXTURES / "demo_existing.geojson"
SCENES = ["rear_footpath", "leaky_culdesac", "underpass", "courtyard_lamp"]
ALL_FILES = [DEMO, EXISTING] + [FIXTURES / "scenes" / f"{s}.geojson" for s in SCENES]
DWELLING = {"house", "terrace", "semidetached_house", "apartments"}

_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _metric(geometry: dict) -> shapely.Geometry:
    """A GeoJSON geometry (lon/lat) as a shapely geometry in UTM 31N metres."""
    return shapely.transform(
        shape(geometry), lambda a: np.column_stack(_TO_UTM.transform(a[:, 0], a[:, 1]))
    )


def _by_id(path: Path) -> dict[str, tuple[dict, shapely.Geometry]]:
    """Features by id (the last one wins for the planted duplicate), geometry in metres."""
    return {f["id"]: (f["properties"], _metric(f["geometry"])) for f in _load(path)["features"]}


def _signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring)
    return 0.5 * float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]))


def _positions(geometry: dict) -> list[list[float]]:
    c = geometry["coordinates"]
    kind = geometry["type"]
    if kind == "Point":
        return [c]
    if kind == "LineString":
        return list(c)
    return [p for ring in c for p in ring]


# --------------------------------------------------------------------------- RFC 7946


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_valid_rfc7946(path: Path) -> None:
    doc = _load(path)
    assert set(doc) == {"type", "features"}  # no legacy "crs" member, nothing foreign
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) >= 4
    for f in doc["features"]:
        assert set(f) == {"type", "id", "properties", "geometry"}, f.get("id")
        assert f["type"] == "Feature"
        assert isinstance(f["id"], str) and f["id"]
        assert all(isinstance(v, str) for v in f["properties"].values()), f["id"]
        assert "crs" not in f["geometry"]
        geom = f["geometry"]
        assert geom["type"] in {"Point", "LineString", "Polygon"}, f["id"]
        for pos in _positions(geom):
            assert len(pos) == 2
            lon, lat = pos
            assert -180 <= lon <= 180 and -90 <= lat <= 90
            # lon/lat order, near the site (a swapped pair would put lat at 0.12)
            assert 0.10 < lon < 0.14 and 52.19 < lat < 52.22, (f["id"], pos)
            assert round(lon, 7) == lon and round(lat, 7) == lat
        if geom["type"] == "LineString":
            assert len(geom["coordinates"]) >= 2
        if geom["type"] == "Polygon":
            rings = geom["coordinates"]
            for ring in rings:
                assert len(ring) >= 4 and ring[0] == ring[-1], f["id"]
            if shapely.is_valid(shape(geom)):
                # right-hand rule: exterior counter-clockwise, holes clockwise
                assert _signed_area(rings[0]) > 0, f["id"]
                assert all(_signed_area(r) < 0 for r in rings[1:]), f["id"]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_ids_unique_except_planted_duplicate(path: Path) -> None:
    features = _load(path)["features"]
    counts = Counter(f["id"] for f in features)
    repeated = {k: n for k, n in counts.items() if n > 1}
    assert repeated == ({"hb05": 2} if path == DEMO else {})


def test_planted_duplicate_is_exact() -> None:
    copies = [f for f in _load(DEMO)["features"] if f["id"] == "hb05"]
    assert len(copies) == 2
    assert copies[0] == copies[1]
    assert shapely.equals_exact(shape(copies[0]["geometry"]), shape(copies[1]["geometry"]), 0)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_only_the_bowtie_is_invalid(path: Path) -> None:
    invalid = {
        f["id"]: shapely.is_valid_reason(shape(f["geometry"]))
        for f in _load(path)["features"]
        if f["geometry"]["type"] == "Polygon" and not shapely.is_valid(shape(f["geometry"]))
    }
    if path != DEMO:
        assert invalid == {}
        return
    assert list(invalid) == ["s02"]
    assert invalid["s02"].startswith("Self-intersection")
    # repaired: two triangles of 3 m x 1.5 m / 2 each
    repaired = shapely.make_valid(_by_id(DEMO)["s02"][1])
    assert repaired.geom_type == "MultiPolygon" and len(repaired.geoms) == 2
    assert repaired.area == pytest.approx(4.5, abs=0.1)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_only_the_planted_degenerate_line(path: Path) -> None:
    zero = {
        f["id"]
        for f in _load(path)["features"]
        if f["geometry"]["type"] == "LineString" and shape(f["geometry"]).length == 0
    }
    assert zero == ({"fp08"} if path == DEMO else set())


# --------------------------------------------------------------------------- site and buildings


def test_site_area_and_police_outside() -> None:
    feats = _by_id(DEMO)
    site = feats["site"][1]
    assert feats["site"][0]["safespace:role"] == "site"
    assert site.area == pytest.approx(170 * 133 + 28 * 30, abs=5)  # 2.345 ha
    police_tags, police = feats["po01"]
    assert police_tags["amenity"] == "police" and "police" not in police_tags
    assert police.disjoint(site)
    assert 10 < police.distance(site) < 20  # just across Mill Lane
    inside = [
        fid
        for fid, (tags, g) in feats.items()
        if "building" in tags and fid != "po01" and site.contains(shapely.make_valid(g))
    ]
    buildings = [fid for fid, (tags, _) in feats.items() if "building" in tags]
    assert sorted(inside) == sorted(b for b in buildings if b != "po01")
    assert len(buildings) == 1 + 42 + 2 + 2  # police, dwellings, garages, bin store + shed


def test_existing_situation_buildings() -> None:
    feats = _by_id(EXISTING)
    site = feats["site"][1]
    assert feats["po01"][1].disjoint(site)
    assert site.contains(feats["b01"][1])
    assert [fid for fid, (t, _) in feats.items() if "building" in t] == ["b01", "po01"]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_entrances_on_their_walls(path: Path) -> None:
    feats = _by_id(path)
    entrances = {fid: g for fid, (t, g) in feats.items() if "entrance" in t}
    for fid, point in entrances.items():
        assert feats[fid][0]["entrance"] == "main"
        building = feats[fid.removeprefix("e-")][1]
        assert building.exterior.distance(point) <= 0.05, fid
    dwellings = {fid for fid, (t, _) in feats.items() if t.get("building") in DWELLING}
    with_door = {fid.removeprefix("e-") for fid in entrances}
    assert dwellings <= with_door  # every dwelling has its front door
    if path == DEMO:
        assert len(dwellings) == 42 and len(entrances) == 43  # + the police office


# --------------------------------------------------------------------------- planted problems


def _first_leg(line: LineString) -> LineString:
    return LineString(line.coords[:2])


@pytest.mark.parametrize(
    ("path", "n_houses"), [(DEMO, 20), (FIXTURES / "scenes/rear_footpath.geojson", 8)]
)
def test_rear_footpath_between_backs(path: Path, n_houses: int) -> None:
    feats = _by_id(path)
    tags, fp01 = feats["fp01"]
    assert tags["highway"] == "footway" and tags["lit"] == "no"
    leg = _first_leg(fp01) if path == DEMO else fp01
    # flanking: within 20 m and alongside (the nearest point of the leg is not one of its ends)
    flanking = [
        fid
        for fid, (t, g) in feats.items()
        if t.get("building") in DWELLING
        and g.distance(leg) < 20
        and 0 < leg.project(g.centroid) < leg.length
    ]
    assert len(flanking) == n_houses
    for fid in flanking:
        building = feats[fid][1]
        door = feats[f"e-{fid}"][1]
        # the front door is on the far side: 5 m (half a house) farther than the centroid
        assert door.distance(leg) == pytest.approx(building.centroid.distance(leg) + 5, abs=0.05)
    lamps = [g for t, g in feats.values() if t.get("highway") == "street_lamp"]
    # the unlit stretch: no lamp within 25 m of the path but for 20 m at each end (where the
    # demo's path meets Mill Lane, lit by l22)
    middle = shapely.ops.substring(leg, 20, leg.length - 20)
    assert middle.length > 10
    assert min((g.distance(middle) for g in lamps), default=np.inf) > 25


def _chord_offset(line: LineString) -> float:
    """Largest distance of the line's vertices from the chord joining its ends."""
    chord = LineString([line.coords[0], line.coords[-1]])
    return max(chord.distance(Point(c)) for c in line.coords)


@pytest.mark.parametrize(
    ("path", "fid", "offset"),
    [
        (DEMO, "fp04", 120 / np.hypot(12, 20)),  # bend (116,-14), ends (116,-4) (128,-24)
        (FIXTURES / "scenes/underpass.geojson", "fp02", 156 / np.hypot(12, 20)),
        (FIXTURES / "scenes/underpass.geojson", "fp03", 0.0),  # the straight control
    ],
)
def test_underpass_exit_visibility(path: Path, fid: str, offset: float) -> None:
    tags, tunnel = _by_id(path)[fid]
    assert tags["tunnel"] == "yes" and tags["layer"] == "-1"
    assert _chord_offset(tunnel) == pytest.approx(offset, abs=0.03)
    bore = tunnel.buffer(float(tags["width"]) / 2)
    chord = LineString([tunnel.coords[0], tunnel.coords[-1]])
    # exit visible from the entrance iff the sightline stays inside the bore
    assert bore.contains(chord) == (offset == 0.0)


def test_recess_opens_onto_the_link() -> None:
    feats = _by_id(DEMO)
    house = feats["hc09"][1]
    assert house.area == pytest.approx(80 - 1.2 * 1.5, abs=0.3)
    # what the footprint lacks of its bounding box, less the sub-cm slivers of rounding
    gaps = shapely.get_parts(house.envelope.difference(house).buffer(-0.02).buffer(0.02))
    recess = max(gaps, key=lambda g: g.area)
    minx, miny, maxx, maxy = recess.bounds
    assert maxx - minx == pytest.approx(1.2, abs=0.03)
    assert maxy - miny == pytest.approx(1.5, abs=0.03)
    link = feats["fp02"][1]
    assert recess.distance(link) < house.centroid.distance(link) - 3
    assert recess.distance(link) < 4


def test_leaky_culdesac_topology() -> None:
    feats = _by_id(DEMO)
    head = Point(feats["st02"][1].coords[-1])
    assert feats["n01"][0]["highway"] == "turning_circle"
    assert feats["n01"][1].distance(head) < 0.02
    link_tags, link = feats["fp02"]
    assert link_tags["lit"] == "limited"
    assert Point(link.coords[0]).distance(head) < 0.02
    northfield = feats["r02"][1]
    assert min(Point(c).distance(Point(link.coords[-1])) for c in northfield.coords) < 0.02


def _dangling_ends(path: Path) -> set[tuple[str, int]]:
    """Route ends not on a vertex of another route (1 cm tolerance): the network's dead ends."""
    routes = {
        fid: g
        for fid, (t, g) in _by_id(path).items()
        if t.get("highway") not in (None, "street_lamp", "turning_circle")
        and g.geom_type == "LineString"
        and g.length > 0
    }
    vertices = {fid: shapely.points(np.asarray(g.coords)) for fid, g in routes.items()}
    out = set()
    for fid, g in routes.items():
        for end in (0, -1):
            p = Point(g.coords[end])
            others = np.concatenate([v for k, v in vertices.items() if k != fid])
            if shapely.distance(others, p).min() > 0.02:
                out.add((fid, end))
    return out


def test_demo_network_dead_ends() -> None:
    # inside the site: the stub fp06 and the service road's end in the parking court
    assert _dangling_ends(DEMO) == {
        ("fp06", -1),
        ("st03", -1),
        ("r01", 0),
        ("r01", -1),
        ("r03", -1),
        ("r04", 0),
    }


def test_demo_crossings_without_junction() -> None:
    """Routes cross only at shared vertices, except the underpass below the Ring Road."""
    routes = {
        fid: g
        for fid, (t, g) in _by_id(DEMO).items()
        if t.get("highway") not in (None, "street_lamp", "turning_circle") and g.length > 0
    }
    unjoined = set()
    for a, ga in routes.items():
        for b, gb in routes.items():
            if a < b and ga.intersects(gb):
                va = shapely.points(np.asarray(ga.coords))
                vb = shapely.points(np.asarray(gb.coords))
                for p in shapely.get_parts(ga.intersection(gb)):
                    # a junction is a vertex of both lines
                    if max(shapely.distance(va, p).min(), shapely.distance(vb, p).min()) > 0.02:
                        unjoined.add((a, b))
    assert unjoined == {("fp04", "r03")}


def test_scene_sealed_and_leaky_culdesacs() -> None:
    ends = _dangling_ends(FIXTURES / "scenes/leaky_culdesac.geojson")
    # st03 is a sealed cul-de-sac; st02 leaks through fp01; st01/st04 ends are the map's edge
    assert ends == {("st01", 0), ("st01", -1), ("st03", -1), ("st04", 0), ("st04", -1)}


def test_front_wall_between_door_and_street() -> None:
    feats = _by_id(DEMO)
    tags, wall = feats["br03"]
    assert tags == {"barrier": "wall", "height": "1.5"}
    door = feats["e-ha01"][1]
    street = feats["st01"][1]
    path_to_street = LineString([door, street.interpolate(street.project(door))])
    assert path_to_street.intersects(wall)


def test_parking_court_not_overlooked() -> None:
    """No dwelling wall sees into the court (0.5 m inset) from closer than 45 m."""
    feats = _by_id(DEMO)
    court = feats["pk01"][1]
    obstacles = [shapely.make_valid(g) for t, g in feats.values() if "building" in t]
    tree = shapely.STRtree(obstacles)
    # observers: points every metre on every dwelling wall, nudged 5 cm outward
    observers = []
    for t, g in feats.values():
        if t.get("building") in DWELLING:
            ring = g.exterior
            pts = shapely.line_interpolate_point(ring, np.arange(0, ring.length, 1.0))
            grown = g.buffer(0.05, join_style="mitre").exterior
            observers.append(shapely.get_coordinates(shapely.snap(pts, grown, 0.1)))
    obs = np.concatenate(observers)
    inner = court.buffer(-0.5)
    minx, miny, maxx, maxy = inner.bounds
    gx, gy = np.meshgrid(np.arange(minx, maxx, 2.0), np.arange(miny, maxy, 2.0))
    targets = np.column_stack([gx.ravel(), gy.ravel()])
    targets = targets[shapely.contains_xy(inner, targets[:, 0], targets[:, 1])]
    i, j = np.meshgrid(np.arange(len(obs)), np.arange(len(targets)), indexing="ij")
    i, j = i.ravel(), j.ravel()
    dist = np.hypot(*(obs[i] - targets[j]).T)
    near = dist < 60
    sight = shapely.linestrings(np.stack([obs[i[near]], targets[j[near]]], axis=1))
    blocked = np.zeros(len(sight), dtype=bool)
    blocked[np.unique(tree.query(sight, predicate="intersects")[0])] = True
    open_dist = dist[near][~blocked]
    assert len(obs) > 1000 and len(targets) > 100 and blocked.sum() > 1000
    # the nearest open view is 47.3 m long (he02's rear wall, through the service-road gap)
    assert open_dist.size == 0 or open_dist.min() > 45


def test_courtyard_lamp_fully_enclosed() -> None:
    feats = _by_id(FIXTURES / "scenes/courtyard_lamp.geojson")
    block = feats["b01"][1]
    lamp = feats["l01"][1]
    court = shapely.Polygon(block.interiors[0])
    assert court.contains(lamp) and not block.contains(lamp)
    assert feats["pa01"][1].symmetric_difference(court).area < 0.5  # the court itself
    fp = feats["fp01"][1]
    pts = shapely.line_interpolate_point(fp, np.linspace(0, fp.length, 61))
    rays = shapely.linestrings(
        np.stack(
            [np.broadcast_to(shapely.get_coordinates(lamp), (61, 2)), shapely.get_coordinates(pts)],
            axis=1,
        )
    )
    assert shapely.intersects(rays, block.exterior).all()  # every ray leaves through the block
    assert fp.distance(lamp) < 6 * float(feats["l01"][0]["height"])  # yet within the reach


# --------------------------------------------------------------------------- before / after


SHARED = ["site", "r01", "r02", "r03", "r04", "fp04", "fp05", "fp07", "po01", "e-po01"]


def test_existing_and_proposal_share_the_surroundings() -> None:
    before = {f["id"]: f for f in _load(EXISTING)["features"]}
    after = {f["id"]: f for f in _load(DEMO)["features"]}
    lamps = [fid for fid, f in before.items() if f["properties"].get("highway") == "street_lamp"]
    assert len(lamps) == 13
    for fid in SHARED + lamps:
        assert before[fid] == after[fid], fid
    assert "fp01" not in before and "fp10" not in after  # rear path new, field path gone


def test_existing_field_path_is_unlit_and_the_proposal_lights_it() -> None:
    before = _by_id(EXISTING)
    after = _by_id(DEMO)
    field_tags, field = before["fp10"]
    assert field_tags["lit"] == "no"
    south = _first_leg(field)  # underpass to the middle of the field
    lamps_before = [g for t, g in before.values() if t.get("highway") == "street_lamp"]
    assert min(g.distance(south) for g in lamps_before) > 15
    approach_tags, approach = after["fp03"]
    assert approach_tags["lit"] == "yes"
    assert south.buffer(0.05).contains(approach)  # same line, now lit
    lamps_after = [g for t, g in after.values() if t.get("highway") == "street_lamp"]
    assert min(g.distance(approach) for g in lamps_after) < 3


# --------------------------------------------------------------------------- regeneration


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(FIXTURES / "make_fixtures.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.geojson"))
    assert made == sorted(p.relative_to(FIXTURES) for p in ALL_FILES)
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
