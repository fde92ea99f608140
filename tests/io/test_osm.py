"""Tests of the offline OSM reader: real extracts against SOURCES.md, hand-made XML files."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon

from safespace.errors import InputError
from safespace.io.osm import read_osm

OSM_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "osm"

# From ../shared/data/real/SOURCES.md: buildings (ways or relations with any building=*),
# street lamps (nodes with highway=street_lamp), amenity=police objects (any type).
SOURCES = {
    "helsinki_centre.osm.pbf": (500, 586, 0),
    "heidelberg_altstadt.osm.pbf": (1372, 38, 1),
    "monaco.osm.pbf": (23373, 0, 14),
    "baltimore.osm.pbf": (1738, 0, 5),
    "west_oakland.osm.bz2": (23, 0, 0),
    "london_moorgate.osm.pbf": (151, 13, 0),
}

# Buildings that cannot have a geometry, so the reader drops them with a note instead of
# emitting them. Emitted + dropped must equal SOURCES.md. Reasons, measured on the files:
# - helsinki: 5 ways with at most 1 of their nodes inside the extract (e.g. way/22499189:
#   33 of 34 nodes missing);
# - heidelberg: relation/2513418 (type=building), none of whose members is in the extract;
# - monaco: 12 ways that keep a single node reference in the file (e.g. way/62656660).
DROPPED_BUILDINGS = {
    "helsinki_centre.osm.pbf": 5,
    "heidelberg_altstadt.osm.pbf": 1,
    "monaco.osm.pbf": 12,
}


def real(name: str) -> Path:
    path = OSM_DIR / name
    if not path.exists():
        pytest.skip(f"real data not present: {path} (../shared/ sits beside the checkout)")
    return path


@pytest.fixture(scope="module")
def frames() -> dict[str, object]:
    return {}


def load(frames: dict, name: str):
    if name not in frames:
        frames[name] = read_osm(real(name))
    return frames[name]


def kind(fid: str) -> str:
    return fid.split("/")[0]


def building_fids_in_file(path: Path) -> set[str]:
    """Every way or relation with a building tag, by an independent plain osmium scan."""
    fids = set()
    entities = osmium.osm.WAY | osmium.osm.RELATION
    processor = osmium.FileProcessor(str(path), entities)
    for obj in processor.with_filter(osmium.filter.KeyFilter("building")):
        fids.add(("way/" if obj.type_str() == "w" else "relation/") + str(obj.id))
    return fids


# --------------------------------------------------------------------------- real extracts


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_counts_match_sources(frames, name):
    buildings, lamps, police = SOURCES[name]
    gdf = load(frames, name)
    kinds = gdf["fid"].map(kind)
    is_building = gdf["tags"].map(lambda t: "building" in t) & (kinds != "node")
    is_lamp = gdf["tags"].map(lambda t: t.get("highway") == "street_lamp") & (kinds == "node")
    is_police = gdf["tags"].map(lambda t: t.get("amenity") == "police")
    assert is_lamp.sum() == lamps
    assert is_police.sum() == police

    # Every building of the file is emitted, or dropped with a note naming it.
    in_file = building_fids_in_file(real(name))
    assert len(in_file) == buildings
    emitted = set(gdf.loc[is_building, "fid"])
    dropped = in_file - emitted
    noted = {n["feature"] for n in gdf.attrs["notes"] if n["message"].endswith("dropped")}
    assert dropped <= noted
    assert len(dropped) == DROPPED_BUILDINGS.get(name, 0)
    assert is_building.sum() == buildings - len(dropped)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_frame_contract(frames, name):
    gdf = load(frames, name)
    assert list(gdf.columns) == ["fid", "tags", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert gdf["fid"].is_unique
    assert gdf["fid"].map(kind).isin(["node", "way", "relation"]).all()
    assert all(
        isinstance(k, str) and isinstance(v, str) for tags in gdf["tags"] for k, v in tags.items()
    )
    assert not gdf.geometry.isna().any()
    assert not gdf.geometry.is_empty.any()
    nodes = gdf["fid"].map(kind) == "node"
    assert (gdf.geometry[nodes].geom_type == "Point").all()
    assert (gdf.geometry[~nodes].geom_type != "Point").all()
    for note in gdf.attrs["notes"]:
        assert set(note) == {"level", "code", "message", "feature"}
        assert note["level"] in ("warning", "info")


# Buildings that are not (Multi)Polygons, each with a warning. Monaco: 25 unclosed outlines
# and 7 closed ways with fewer than 3 distinct corners. Helsinki (cut at its bbox): 6 ways
# with only 2 located corners left and 4 multipolygons whose located members close no ring.
# The other extracts keep complete ways.
NOT_POLYGONAL = {"monaco.osm.pbf": 32, "helsinki_centre.osm.pbf": 10}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_buildings_are_polygons_unless_noted(frames, name):
    gdf = load(frames, name)
    is_building = gdf["tags"].map(lambda t: "building" in t) & (gdf["fid"].map(kind) != "node")
    polygonal = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    odd = set(gdf.loc[is_building & ~polygonal, "fid"])
    warned = {n["feature"] for n in gdf.attrs["notes"] if n["level"] == "warning"}
    assert odd <= warned
    assert len(odd) == NOT_POLYGONAL.get(name, 0)
    assert gdf.geometry[is_building & polygonal].is_valid.all()


def test_heidelberg_police_way_is_a_polygon(frames):
    gdf = load(frames, "heidelberg_altstadt.osm.pbf")
    row = gdf[gdf["fid"] == "way/87231565"]
    assert len(row) == 1
    assert row.iloc[0]["tags"]["amenity"] == "police"
    assert row.geometry.iloc[0].geom_type == "Polygon"


def test_monaco_named_police(frames):
    gdf = load(frames, "monaco.osm.pbf")
    by_fid = gdf.set_index("fid")
    assert by_fid.loc["way/262421148", "tags"]["name"] == "Sûreté Publique de Monaco"
    assert by_fid.loc["way/262421148", "geometry"].geom_type == "Polygon"
    assert by_fid.loc["node/280487253", "tags"]["name"] == "Commissariat de la Condamine"
    # Inside Monaco's bbox from SOURCES.md.
    x, y = by_fid.loc["node/280487253", "geometry"].coords[0]
    assert 7.349 <= x <= 7.491 and 43.7148 <= y <= 43.77


def test_west_oakland_bz2_xml(frames):
    gdf = load(frames, "west_oakland.osm.bz2")
    is_building = gdf["tags"].map(lambda t: "building" in t)
    assert (gdf.geometry[is_building].geom_type == "Polygon").all()
    # Inside the node bbox SOURCES.md gives to 5 decimals.
    minx, miny, maxx, maxy = gdf.total_bounds
    assert -122.31433 - 1e-5 <= minx and maxx <= -122.29078 + 1e-5
    assert 37.80401 - 1e-5 <= miny and maxy <= 37.81758 + 1e-5
    assert gdf.attrs["notes"] == []


def test_multipolygon_relations_are_assembled(frames):
    gdf = load(frames, "baltimore.osm.pbf")
    rel = gdf[gdf["fid"].str.startswith("relation/")]
    is_building = rel["tags"].map(lambda t: "building" in t)
    assert is_building.sum() == 7
    assert rel.geometry[is_building].geom_type.isin(["Polygon", "MultiPolygon"]).all()


# --------------------------------------------------------------------------- hand-made XML


def node(nid: int, lon: float, lat: float, **tags: str) -> str:
    inner = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{inner}</node>'


def way(wid: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    inner = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<way id="{wid}" version="1">{nds}{inner}</way>'


def relation(rid: int, members: list[tuple[str, int, str]], **tags: str) -> str:
    mem = "".join(f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
    inner = "".join(f'<tag k="{k.replace("__", ":")}" v="{v}"/>' for k, v in tags.items())
    return f'<relation id="{rid}" version="1">{mem}{inner}</relation>'


def osm_xml(nodes: list[str], ways: list[str] = (), relations: list[str] = ()) -> str:
    body = "\n".join([*nodes, *ways, *relations])
    return f"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n{body}\n</osm>\n"


def square_nodes(first_id: int, x: float, y: float, size: float) -> tuple[list[str], list[int]]:
    corners = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]
    ids = [first_id + i for i in range(4)]
    return [node(i, cx, cy) for i, (cx, cy) in zip(ids, corners, strict=True)], ids


def scene() -> str:
    """A small scene with one of each case the reader handles."""
    nodes = [
        node(1, 10.0, 50.0, highway="street_lamp"),
        node(2, 10.0001, 50.0),  # untagged: not a feature
        node(3, 10.0002, 50.0, safespace__lumens="2000"),  # namespaced key only
        node(4, 10.0003, 50.0, natural="tree"),
        node(5, 10.0004, 50.0, shop="bakery"),  # irrelevant tags
    ]
    b, bid = square_nodes(10, 10.0, 50.001, 0.001)  # building
    loop, lid = square_nodes(20, 10.01, 50.0, 0.001)  # footway loop
    plaza, pid = square_nodes(30, 10.02, 50.0, 0.001)  # pedestrian area
    outer, oid = square_nodes(40, 10.03, 50.0, 0.002)  # multipolygon outer
    inner, iid = square_nodes(50, 10.0305, 50.0005, 0.001)  # and its hole
    edge, eid = square_nodes(60, 10.04, 50.0, 0.001)
    lone = [node(70, 10.05, 50.0), node(71, 10.05, 50.001)]
    cut, cid = square_nodes(90, 10.07, 50.0, 0.001)
    del cut[2]  # the corner at (10.071, 50.001) lies outside the extract
    nodes += b + loop + plaza + outer + inner + edge + lone + cut + [node(80, 10.06, 50.0)]
    ways = [
        way(100, [*bid, bid[0]], building="yes"),
        way(101, [*lid, lid[0]], highway="footway"),
        way(102, [*pid, pid[0]], highway="pedestrian", area="yes"),
        way(103, [*oid, oid[0]]),
        way(104, [*iid, iid[0]]),
        # eid[1] is replaced by a node that is not in the file (an extract's edge).
        way(105, [eid[0], 999, eid[2], eid[3]], highway="footway"),
        way(106, [70, 998, 997], highway="service"),  # one located node
        way(107, bid[:3], building="garage"),  # open building outline
        way(108, [70, 71], power="line"),  # irrelevant
        way(109, [*cid, cid[0]], building="yes"),  # closed again across the missing corner
    ]
    relations = [
        relation(
            200, [("w", 103, "outer"), ("w", 104, "inner")], type="multipolygon", building="yes"
        ),
        relation(
            201, [("w", 107, "outer"), ("w", 996, "outer")], type="multipolygon", landuse="grass"
        ),
        relation(202, [("n", 80, "")], type="site", amenity="police"),
        relation(203, [("w", 108, "")], type="route", route="power"),  # irrelevant
    ]
    return osm_xml(nodes, ways, relations)


@pytest.fixture
def scene_file(tmp_path: Path) -> Path:
    path = tmp_path / "scene.osm"
    path.write_text(scene(), encoding="utf-8")
    return path


def test_scene_features(scene_file):
    gdf = read_osm(scene_file)
    by_fid = gdf.set_index("fid")
    assert set(gdf["fid"]) == {
        "node/1", "node/3", "node/4",
        "way/100", "way/101", "way/102", "way/105", "way/107", "way/109",
        "relation/200", "relation/201", "relation/202",
    }  # fmt: skip
    assert by_fid.loc["node/1", "geometry"].equals(shapely.Point(10.0, 50.0))
    assert by_fid.loc["node/3", "tags"] == {"safespace:lumens": "2000"}

    building = by_fid.loc["way/100", "geometry"]
    assert building.geom_type == "Polygon"
    assert building.area == pytest.approx(1e-6, rel=1e-6)
    assert building.normalize().equals_exact(
        shapely.box(10.0, 50.001, 10.001, 50.002).normalize(), 1e-9
    )
    assert by_fid.loc["way/101", "geometry"].geom_type == "LineString"  # loop stays a line
    assert by_fid.loc["way/102", "geometry"].geom_type == "Polygon"  # area=yes

    # The located part of a way cut at the extract's edge, in order.
    cut = by_fid.loc["way/105", "geometry"]
    assert cut.equals_exact(LineString([(10.04, 50.0), (10.041, 50.001), (10.04, 50.001)]), 1e-9)

    triangle = by_fid.loc["way/109", "geometry"]
    assert triangle.geom_type == "Polygon"
    assert triangle.area == pytest.approx(0.5e-6, rel=1e-6)

    hole = by_fid.loc["relation/200", "geometry"]
    assert hole.geom_type == "Polygon"
    assert len(hole.interiors) == 1
    assert hole.area == pytest.approx(0.002**2 - 0.001**2, rel=1e-6)

    assert by_fid.loc["way/107", "geometry"].geom_type == "LineString"
    # Broken multipolygon: emitted from its located member, with a note.
    assert by_fid.loc["relation/201", "geometry"].geom_type == "LineString"
    assert by_fid.loc["relation/202", "geometry"].equals(shapely.MultiPoint([(10.06, 50.0)]))

    notes = {n["feature"]: n for n in gdf.attrs["notes"]}
    for fid in ("way/105", "way/106", "way/107", "way/109", "relation/201"):
        assert notes[fid]["level"] == "warning"
        assert notes[fid]["code"] == "osm-bad-geometry"
    assert "dropped" in notes["way/106"]["message"]
    assert "1 of 4 nodes" in notes["way/105"]["message"]
    assert notes["relation/202"]["level"] == "info"
    assert "way/100" not in notes and "relation/200" not in notes


def test_gz_bz2_and_pbf_read_the_same(scene_file, tmp_path):
    plain = read_osm(scene_file)
    gz = tmp_path / "scene.osm.gz"
    gz.write_bytes(gzip.compress(scene_file.read_bytes()))
    bz = tmp_path / "scene.osm.bz2"
    bz.write_bytes(bz2.compress(scene_file.read_bytes()))
    pbf = tmp_path / "scene.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(scene_file)):
            writer.add(obj)
    for other in (read_osm(gz), read_osm(bz), read_osm(pbf)):
        assert list(other["fid"]) == list(plain["fid"])
        assert list(other["tags"]) == list(plain["tags"])
        assert other.geometry.geom_equals_exact(plain.geometry, 1e-9).all()
        assert other.attrs["notes"] == plain.attrs["notes"]


def test_accepts_str_pathlike_and_any_suffix_case(scene_file, tmp_path):
    fids = list(read_osm(scene_file)["fid"])
    assert list(read_osm(str(scene_file))["fid"]) == fids
    upper = tmp_path / "SCENE.OSM.GZ"
    upper.write_bytes(gzip.compress(scene_file.read_bytes()))
    assert list(read_osm(upper)["fid"]) == fids
    xml = tmp_path / "scene.osm.xml"
    xml.write_bytes(scene_file.read_bytes())
    assert list(read_osm(xml)["fid"]) == fids


def test_empty_osm_file_gives_empty_frame(tmp_path):
    path = tmp_path / "empty.osm"
    path.write_text(osm_xml([]), encoding="utf-8")
    gdf = read_osm(path)
    assert len(gdf) == 0
    assert list(gdf.columns) == ["fid", "tags", "geometry"]
    assert gdf.crs.to_epsg() == 4326


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    path = tmp_path / "nope.osm.pbf"
    with pytest.raises(InputError, match="not found") as info:
        read_osm(path)
    assert info.value.file == str(path)


def test_directory(tmp_path):
    with pytest.raises(InputError) as info:
        read_osm(tmp_path)
    assert info.value.file == str(tmp_path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("garbage.osm.pbf", b"\x00\x01garbage, not a protobuf blob"),
        ("garbage.osm", b"hello, world"),
        ("page.osm", b"<html><body/></html>"),
        ("garbage.osm.gz", gzip.compress(b"not xml")),
        ("truncated.osm", b"<osm version='0.6'><node id='1' lat='1' lon='1'>"),
    ],
)
def test_unreadable_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable OSM file") as info:
        read_osm(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- properties

coordinate = st.integers(min_value=-1_000_000, max_value=1_000_000)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=12),
    present=st.lists(st.booleans(), min_size=12, max_size=12),
)
def test_way_keeps_its_located_nodes_in_order(tmp_path_factory, points, present):
    """A footway whose nodes are partly missing keeps exactly its located nodes, in order."""
    lonlat = [(10 + x * 1e-7, 50 + y * 1e-7) for x, y in points]
    kept = [p for p, here in zip(lonlat, present, strict=False) if here]
    # Expected: consecutive duplicates collapse (osmium's use_nodes=UNIQUE).
    expected = [p for i, p in enumerate(kept) if i == 0 or kept[i - 1] != p]
    nodes = [
        node(i + 1, *p) for i, (p, here) in enumerate(zip(lonlat, present, strict=False)) if here
    ]
    text = osm_xml(nodes, [way(1, list(range(1, len(lonlat) + 1)), highway="footway")])
    path = tmp_path_factory.mktemp("prop") / "w.osm"
    path.write_text(text, encoding="utf-8")
    gdf = read_osm(path)
    notes = gdf.attrs["notes"]
    if len(expected) < 2:
        assert len(gdf) == 0
        assert [n["feature"] for n in notes] == ["way/1"]
        return
    line = gdf.geometry.iloc[0]
    np.testing.assert_allclose(np.asarray(line.coords), np.asarray(expected), atol=1e-9, rtol=0)
    assert bool(notes) == (len(kept) < len(lonlat))


@settings(max_examples=30, deadline=None)
@given(
    x=st.integers(-1_000_000, 1_000_000),
    y=st.integers(-1_000_000, 1_000_000),
    w=st.integers(1, 100_000),
    h=st.integers(1, 100_000),
)
def test_closed_building_is_its_rectangle(tmp_path_factory, x, y, w, h):
    x0, y0, x1, y1 = (10 + x * 1e-7, 50 + y * 1e-7, 10 + (x + w) * 1e-7, 50 + (y + h) * 1e-7)
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    nodes = [node(i + 1, *c) for i, c in enumerate(corners)]
    path = tmp_path_factory.mktemp("prop") / "b.osm"
    path.write_text(osm_xml(nodes, [way(7, [1, 2, 3, 4, 1], building="yes")]), encoding="utf-8")
    poly = read_osm(path).geometry.iloc[0]
    assert isinstance(poly, Polygon)
    assert poly.area == pytest.approx(w * h * 1e-14, rel=1e-6)
    assert poly.bounds == pytest.approx((x0, y0, x1, y1), abs=1e-9)
