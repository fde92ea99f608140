"""Generators of small layouts for the robustness tests: minimal ones and hypothesis ones."""

from __future__ import annotations

import math

from hypothesis import strategies as st

LON0, LAT0 = 0.1200, 52.2050  # beside the demo estate (Cambridge)
M_LON = 1.0 / (111_320.0 * math.cos(math.radians(LAT0)))  # degrees of longitude per metre
M_LAT = 1.0 / 110_540.0


def pt(x: float, y: float) -> list[float]:
    """A position ``x`` m east and ``y`` m north of the origin, as [lon, lat]."""
    return [LON0 + x * M_LON, LAT0 + y * M_LAT]


def box(x: float, y: float, w: float, h: float) -> list[list[list[float]]]:
    return [[pt(x, y), pt(x + w, y), pt(x + w, y + h), pt(x, y + h), pt(x, y)]]


def feature(props: dict, gtype: str, coords, fid: str | None = None) -> dict:
    f = {"type": "Feature", "properties": props, "geometry": {"type": gtype, "coordinates": coords}}
    if fid is not None:
        f["id"] = fid
    return f


def fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


BUILDING = feature({"building": "house", "building:levels": "2"}, "Polygon", box(0, 0, 10, 8), "b1")
FOOTWAY = feature({"highway": "footway"}, "LineString", [pt(-20, -10), pt(40, -10)], "f1")
STREET = feature({"highway": "residential", "name": "Orchard Way"}, "LineString",
                 [pt(-60, -30), pt(80, -30)], "s1")  # fmt: skip
LAMP = feature({"highway": "street_lamp"}, "Point", pt(5, -12), "l1")
POLICE = feature({"amenity": "police", "name": "Police station"}, "Point", pt(30, 20), "p1")
SITE = feature({"safespace:role": "site"}, "Polygon", box(-30, -40, 100, 90), "site")

#: The minimal valid layouts of issue 14.4: every rule must run on each without raising.
MINIMAL = {
    "one building": fc(BUILDING),
    "one footway": fc(FOOTWAY),
    "no streets": fc(BUILDING, FOOTWAY, LAMP),
    "no buildings": fc(STREET, FOOTWAY, LAMP),
    "site boundary alone": fc(SITE),
    "lamp alone": fc(LAMP),
    "police alone": fc(POLICE),
    "street alone": fc(STREET),
    "site and one building": fc(SITE, BUILDING),
}

# -- hypothesis ------------------------------------------------------------------------------

TAGS = st.sampled_from(
    [
        {"building": "yes"},
        {"building": "house", "height": "7"},
        {"building": "garage", "building:levels": "x"},
        {"highway": "footway"},
        {"highway": "footway", "lit": "yes"},
        {"highway": "residential", "name": "Mill Lane"},
        {"highway": "service"},
        {"highway": "primary", "maxspeed": "30 mph"},
        {"highway": "steps", "tunnel": "yes"},
        {"highway": "street_lamp"},
        {"highway": "street_lamp", "safespace:lumens": "-5"},
        {"amenity": "police"},
        {"emergency": "phone"},
        {"barrier": "wall"},
        {"barrier": "fence", "height": "nan"},
        {"natural": "tree"},
        {"natural": "scrub"},
        {"amenity": "parking"},
        {"safespace:role": "site"},
        {"entrance": "yes"},
        {},
        {"name": "\udcff\u202e" + "x" * 3000},
    ]
)


def rarely(odd, usual, one_in: int = 12):
    """``odd`` about once in ``one_in`` draws, else ``usual``: most layouts stay readable."""
    # a middle value: hypothesis favours the bounds (0, one_in - 1) and shrinks towards 0
    return st.integers(0, one_in - 1).flatmap(lambda i: odd if i == one_in // 2 else usual)


coord = st.floats(-150.0, 150.0, allow_nan=False)
position = st.builds(pt, coord, coord)
odd_number = st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e12, 0.0])
odd_position = st.one_of(
    st.lists(odd_number, min_size=2, max_size=2),
    st.just([]),
    st.just([LON0]),
    st.builds(lambda p, z: [*p, z], position, st.floats(-10, 50)),
    st.just("0.1,52.2"),
    st.just(None),
)
positions = rarely(
    odd_position,
    rarely(st.builds(lambda p, z: [*p, z], position, st.floats(-10, 50)), position, 6),
    40,
)


def _ring(pts):
    return [*pts, pts[0]] if pts else pts


line_coords = rarely(
    st.lists(positions, min_size=0, max_size=1), st.lists(positions, min_size=2, max_size=6), 15
)
ring = rarely(
    st.lists(positions, min_size=0, max_size=5),  # unclosed, short or odd
    st.one_of(
        st.lists(position, min_size=3, max_size=6).map(_ring),  # closed, maybe self-crossing
        st.builds(
            lambda x, y, w, h: box(x, y, w, h)[0],
            coord,
            coord,
            st.floats(0.0, 40.0),
            st.floats(0.0, 40.0),
        ),  # fmt: skip
    ),
    15,
)


def geometries(depth: int = 2):
    simple = st.one_of(
        st.builds(lambda c: {"type": "Point", "coordinates": c}, positions),
        st.builds(
            lambda c: {"type": "MultiPoint", "coordinates": c}, st.lists(positions, max_size=3)
        ),
        st.builds(lambda c: {"type": "LineString", "coordinates": c}, line_coords),
        st.builds(
            lambda c: {"type": "MultiLineString", "coordinates": c},
            st.lists(line_coords, max_size=2),
        ),  # fmt: skip
        st.builds(lambda r: {"type": "Polygon", "coordinates": r}, st.lists(ring, max_size=2)),
        st.builds(
            lambda r: {"type": "MultiPolygon", "coordinates": r},
            st.lists(st.lists(ring, min_size=1, max_size=2), max_size=2),
        ),  # fmt: skip
    )
    simple = rarely(
        st.sampled_from([None, {"type": "Circle", "coordinates": [0, 0]}, {"type": "Point"}]),
        simple,
        25,
    )
    if depth == 0:
        return simple
    return st.one_of(
        simple,
        st.builds(
            lambda g: {"type": "GeometryCollection", "geometries": g},
            st.lists(geometries(depth - 1), max_size=3),
        ),  # fmt: skip
    )


ids = st.one_of(
    st.none(), st.sampled_from(["a", "b", "a", "node/1", "way/2", ""]), st.integers(0, 3)
)
properties = st.one_of(
    TAGS,
    st.builds(
        lambda t, extra: {**t, **extra},
        TAGS,
        st.dictionaries(
            st.sampled_from(["height", "width", "lit", "x"]),
            st.one_of(
                st.text(max_size=8),
                st.floats(),
                st.integers(),
                st.none(),
                st.lists(st.integers(), max_size=2),
            ),
            max_size=2,
        ),
    ),  # fmt: skip
    rarely(st.sampled_from([None, [1, 2]]), TAGS, 30),
)


@st.composite
def features(draw):
    f = {"type": "Feature", "properties": draw(properties), "geometry": draw(geometries())}
    fid = draw(ids)
    if fid is not None:
        f["id"] = fid
    if draw(st.integers(0, 150)) == 0:
        f["type"] = draw(st.sampled_from(["feature", "Point", 3]))
    return f


@st.composite
def documents(draw):
    doc = {"type": "FeatureCollection", "features": draw(st.lists(features(), max_size=8))}
    crs = draw(rarely(st.sampled_from(["EPSG:27700", "EPSG:3857", "not a crs"]),
                      st.sampled_from([None, "EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84"]),
                      20))  # fmt: skip
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc
