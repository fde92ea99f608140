"""Geometry repair and notes; the tag vocabulary; context joining."""

from __future__ import annotations

import shapely

import safespace
from tests.conftest import collection, feature, square

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 545000.0, 258000.0


def bng(*features):
    return collection(*features, crs=BNG)


def line(*xy):
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in xy]}


def point(x, y):
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


def test_bow_tie_is_repaired_and_noted():
    bow = {
        "type": "Polygon",
        "coordinates": [[[X0, Y0], [X0 + 10, Y0 + 10], [X0 + 10, Y0], [X0, Y0 + 10], [X0, Y0]]],
    }
    layout = safespace.load(bng(feature(bow, id="bow", building="house")))
    assert len(layout.buildings) == 1
    geom = layout.buildings.geometry.iloc[0]
    assert geom.is_valid and geom.area == 50.0  # two triangles of 25 m²
    (note,) = [n for n in layout.notes if n.feature == "bow"]
    assert note.code == "repaired-invalid" and "Self-intersection" in note.message


def test_duplicates_merged_and_degenerate_dropped_with_notes():
    layout = safespace.load(
        bng(
            feature(square(X0, Y0, 10), id="a", building="house"),
            feature(square(X0, Y0, 10), id="b", building="house", name="Twin"),
            feature(line((0, 20), (0, 20)), id="stub", highway="footway"),
            feature(None, id="nothing", building="yes"),
        )
    )
    assert list(layout.buildings["fid"]) == ["a"]
    assert layout.buildings["tags"].iloc[0]["name"] == "Twin"  # tags of the twin kept
    codes = {n.feature: n.code for n in layout.notes if n.code != "completeness"}
    assert codes == {
        "b": "merged-duplicate",
        "stub": "dropped-degenerate",
        "nothing": "dropped-empty",
    }
    assert layout.foot_routes.empty


def test_tag_vocabulary_sorts_features_into_layers():
    layout = safespace.load(
        bng(
            feature(
                square(X0, Y0, 10),
                id="home",
                building="house",
                height="7.5",
                building__levels="2",
                safespace__frontage="active",
            ),
            feature(point(5, 0), id="door", entrance="main"),
            feature(
                line((0, -5), (50, -5)),
                id="road",
                highway="residential",
                lit="yes",
                maxspeed="20 mph",
                width="5.5",
            ),
            feature(line((0, -8), (50, -8)), id="mway", highway="motorway"),
            feature(line((0, 30), (50, 30)), id="path", highway="footway", lit="no", tunnel="yes"),
            feature(line((0, 40), (50, 40)), id="nofoot", highway="cycleway", foot="no"),
            feature(
                point(20, -3),
                id="lamp",
                highway="street_lamp",
                height="6",
                safespace__lumens="3000",
            ),
            feature(
                square(X0 + 60, Y0, 10),
                id="cop",
                amenity="police",
                building="yes",
                police="offices",
            ),
            feature(point(60, 5), id="copdoor", entrance="main"),
            feature(point(30, -2), id="phone", emergency="phone"),
            feature(point(30, 12), id="tree", natural="tree", safespace__crown_base="1.5"),
            feature(line((0, 15), (10, 15)), id="hedge", barrier="hedge", height="1.8"),
            feature(square(X0 + 20, Y0 + 50, 20), id="park", amenity="parking"),
            feature(square(X0 - 10, Y0 - 10, 100), id="site", safespace__role="site"),
        )
    )
    ids = {name: list(frame["fid"]) for name, frame in layout.layers.items()}
    assert ids["buildings"] == ["home", "cop"]
    assert ids["streets"] == ["road", "mway"]
    assert ids["foot_routes"] == ["road", "path"]  # motorway and foot=no excluded
    assert ids["lamps"] == ["lamp"] and ids["police"] == ["cop"]
    assert ids["emergency_phones"] == ["phone"] and ids["boundary"] == ["site"]
    assert ids["planting"] == ["tree"] and ids["barriers"] == ["hedge"]
    assert ids["parking"] == ["park"]
    b = layout.buildings.iloc[0]
    assert (b["height_m"], b["levels"], b["frontage"]) == (7.5, 2.0, "active")
    road = layout.streets.iloc[0]
    assert road["maxspeed_kmh"] == 20 * 1.609344 and road["width_m"] == 5.5
    assert bool(layout.foot_routes.iloc[1]["tunnel"])
    assert layout.lamps.iloc[0]["lumens"] == 3000.0
    assert layout.planting.iloc[0]["crown_base_m"] == 1.5
    assert list(layout.entrances["building_fid"]) == ["home", "cop"]
    # the police polygon's access point is its tagged entrance
    assert layout.police["access_point"].iloc[0].equals(shapely.Point(X0 + 60, Y0 + 5))
    assert layout.police["public_facing"].iloc[0]
    assert layout.site.area == 10000.0


def test_police_polygon_without_entrance_gets_outline_point_nearest_a_route():
    layout = safespace.load(
        bng(
            feature(square(X0, Y0, 10), id="cop", amenity="police"),
            feature(line((-20, -5), (30, -5)), id="road", highway="residential"),
        )
    )
    p = layout.police["access_point"].iloc[0]
    assert p.y == Y0 and X0 <= p.x <= X0 + 10


def test_proposal_replaces_context_inside_site_and_joins_routes():
    context = bng(
        feature(line((-100, 0), (100, 0)), id="old_road", highway="residential"),
        feature(square(X0 + 10, Y0 + 10, 10), id="old_house", building="house"),
        feature(square(X0 + 200, Y0 + 10, 10), id="far_house", building="house"),
    )
    proposal = bng(
        feature(square(X0, Y0 + 5, 50), id="site", safespace__role="site"),
        feature(square(X0 + 20, Y0 + 20, 8), id="new_house", building="house"),
        # ends 0.6 m short of the context road: joined to it
        feature(line((25, 40), (25, 0.6)), id="new_path", highway="footway"),
    )
    layout = safespace.load(proposal, context=context)
    assert sorted(layout.buildings["fid"]) == ["far_house", "new_house"]
    assert set(layout.buildings["origin"]) == {"proposal", "context"}
    path = layout.foot_routes.set_index("fid").geometry["new_path"]
    road = layout.foot_routes.set_index("fid").geometry["old_road"]
    end = shapely.Point(path.coords[-1])
    assert end.equals(shapely.Point(X0 + 25, Y0))  # snapped onto the road
    assert any(shapely.Point(c).equals(end) for c in road.coords)  # and a vertex of it
    assert any(n.code == "context-joined" and "1 proposal" in n.message for n in layout.notes)


def test_external_police_premises_join_the_police_layer(tmp_path):
    import json

    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps(bng(feature(point(500, 0), id="hq", name="HQ"))))
    layout = safespace.load(
        bng(feature(square(X0, Y0, 10), id="home", building="house")), police=path
    )
    assert list(layout.police["fid"]) == ["hq"]
    assert list(layout.police["origin"]) == ["external"]
    assert layout.police["access_point"].iloc[0].equals(shapely.Point(X0 + 500, Y0))
    assert any(i["role"] == "police" for i in layout.inputs)
