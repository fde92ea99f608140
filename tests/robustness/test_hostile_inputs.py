"""Hostile, corrupt and odd inputs end in a clear InputError or are used sensibly (14.4–14.6)."""

from __future__ import annotations

import bz2
import gzip
import time
from pathlib import Path

import pytest

import safespace
from safespace.errors import InputError
from tests.robustness.layouts import LAMP, fc, feature, pt

MONACO = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / "osm"
GOOD = (
    '<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="52.205" lon="0.12">'
    '<tag k="highway" v="street_lamp"/></node></osm>\n'
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE osm [\n<!ENTITY a "aaaaaaaaaa">\n'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
    + ']>\n<osm version="0.6"><node id="1" lat="52" lon="0.1"><tag k="name" v="&j;"/>'
    '<tag k="highway" v="street_lamp"/></node></osm>\n'
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    '<osm version="0.6"><node id="1" lat="52" lon="0.1"><tag k="name" v="&x;"/>'
    '<tag k="highway" v="street_lamp"/></node></osm>\n'
)


def _files(tmp: Path) -> dict[str, tuple[Path, str]]:
    cases = {
        "billion laughs": ("laughs.osm", LAUGHS.encode(), "XML entities are not supported"),
        "external entity": ("xxe.osm", XXE.encode(), "XML entities are not supported"),
        "malformed lat": (
            "lat.osm",
            GOOD.replace('lat="52.205"', 'lat="52x"').encode(),
            "a node has a malformed location",
        ),  # fmt: skip
        "truncated bz2": ("t.osm.bz2", bz2.compress(GOOD.encode() * 50)[:60], "bzip2 error"),
        "corrupt bz2": ("c.osm.bz2", b"BZh9garbage" * 10, "bzip2 error"),
        "truncated gz": ("t.osm.gz", gzip.compress(GOOD.encode() * 50)[:40], "gzip error"),
        "corrupt gz": ("c.osm.gz", b"\x1f\x8bgarbage" * 10, "gzip error"),
        "corrupt pbf": ("c.osm.pbf", b"\x00\x01garbage" * 100, "PBF error"),
        "XML named pbf": (
            "x.osm.pbf",
            GOOD.encode(),
            "file name says an OSM PBF file, but its content is XML",
        ),  # fmt: skip
        "gzip named osm": (
            "g.osm",
            gzip.compress(GOOD.encode()),
            "file name says XML, but its content is gzip-compressed",
        ),  # fmt: skip
        "empty": ("e.osm", b"", "the file is empty"),
        "not XML": ("n.osm", b"hello world", "not a readable OSM file"),
    }
    out = {}
    for name, (fname, data, match) in cases.items():
        (tmp / fname).write_bytes(data)
        out[name] = (tmp / fname, match)
    return out


NAMES = [
    "billion laughs", "external entity", "malformed lat", "truncated bz2", "corrupt bz2",
    "truncated gz", "corrupt gz", "corrupt pbf", "XML named pbf", "gzip named osm", "empty",
    "not XML",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_hostile_osm_files_are_refused_quickly_and_clearly(tmp_path, name):
    path, match = _files(tmp_path)[name]
    start = time.perf_counter()
    with pytest.raises(InputError, match=match) as err:
        safespace.load(path)
    assert time.perf_counter() - start < 1.0
    assert err.value.file == str(path)  # the error names the file


def test_truncated_real_pbf_is_an_input_error(tmp_path):
    real = MONACO / "monaco.osm.pbf"
    if not real.is_file():
        pytest.skip(f"real extract not found at {real}")
    data = real.read_bytes()
    cut = tmp_path / "monaco_cut.osm.pbf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="PBF error: unexpected EOF"):
        safespace.load(cut)


def _deep_dict(n):
    v = "x"
    for _ in range(n):
        v = {"a": v}
    return v


def _deep_list(n):
    v = pt(0, 0)
    for _ in range(n):
        v = [v]
    return v


def test_values_nested_a_thousand_levels_are_input_errors():
    deep_props = fc(feature({"highway": "street_lamp", "x": _deep_dict(1000)}, "Point", pt(0, 0)))
    with pytest.raises(InputError, match="'properties' nests lists or objects more than 64"):
        safespace.load(deep_props)
    deep_coords = fc(feature({"building": "yes"}, "Polygon", _deep_list(1000)))
    with pytest.raises(InputError, match="'geometry' nests lists or objects more than 64"):
        safespace.load(deep_coords)


def test_huge_and_infinite_coordinates_are_input_errors():
    with pytest.raises(InputError, match=r"1e\+300.*not longitude/latitude degrees"):
        safespace.load(fc(feature({"highway": "street_lamp"}, "Point", [1e300, 52.0])))
    with pytest.raises(InputError):
        safespace.load(fc(feature({"highway": "street_lamp"}, "Point", [float("inf"), 52.0])))


def test_multipoint_and_polygon_lamps_become_point_lamps():
    multi = feature({"highway": "street_lamp"}, "MultiPoint", [pt(0, 0), pt(20, 0)], "lm")
    poly = feature({"highway": "street_lamp"}, "Polygon",
                   [[pt(40, 0), pt(41, 0), pt(41, 1), pt(40, 1), pt(40, 0)]], "lp")  # fmt: skip
    result = safespace.assess(fc(multi, poly, LAMP))
    lamps = result.layout.lamps
    assert sorted(lamps["fid"]) == ["l1", "lm#1", "lm#2", "lp"]
    assert set(lamps.geometry.geom_type) == {"Point"}
    # the two parts stay 20 m apart; the polygon lamp sits inside its 1 m square
    a, b = (lamps.set_index("fid").geometry[k] for k in ("lm#1", "lm#2"))
    assert a.distance(b) == pytest.approx(20.0, rel=5e-3)  # pt() is spherical
    codes = {n.code for n in result.notes}
    assert {"split-multipoint", "point-from-shape"} <= codes
    assert not result.failures


def test_z_on_some_vertices_only_is_read_in_2d():
    line = feature({"highway": "footway"}, "LineString", [[*pt(0, 0), 3.0], pt(50, 0)], "f")
    result = safespace.assess(fc(line))
    assert not result.failures
    geom = result.layout.foot_routes.geometry.iloc[0]
    assert not geom.has_z and geom.length == pytest.approx(50.0, rel=5e-3)


def test_collapsed_polygon_with_a_hole_is_dropped_with_a_note():
    p = pt(0, 0)
    doc = fc(
        feature({"barrier": "fence"}, "MultiPolygon",
                [[[p, p, p, p, p], [pt(0, -20), pt(10, 0), pt(12, -20), pt(0, -20)]]], "x"),
        LAMP,
    )  # fmt: skip
    result = safespace.assess(doc)  # GEOS's make_valid raised "mixed-dimension" here
    assert not result.failures
    assert any(n.feature == "x" for n in result.notes)
