"""Every rule runs without raising on minimal valid layouts (issue 14, item 4).

Each layout is a GeoJSON mapping with one or two features and no drivable street: before the
fix, ``drive_network`` raised ``IndexError: index -1 is out of bounds`` in
``network._assemble`` (and the router's segment index failed on an empty network), so up to
12 rules (PA001-PA005, PM001-PM004, PM006, PM008, PM009) ended in ``Assessment.failures``.
"""

from __future__ import annotations

import pytest

import safespace
from tests.conftest import collection, feature, square

CRS27700 = {"type": "name", "properties": {"name": "EPSG:27700"}}
X0, Y0 = 530000.0, 180000.0


def _sq(x: float, y: float, size: float) -> dict:
    return square(X0 + x, Y0 + y, size)


def _line(*pts: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in pts]}


def _point(x: float, y: float) -> dict:
    return {"type": "Point", "coordinates": [X0 + x, Y0 + y]}


MINIMAL = {
    "a square": [feature(_sq(0, 0, 40), "sq", highway="pedestrian", area="yes")],
    "a park path": [feature(_line((0, 0), (120, 30)), "fp", highway="footway")],
    "one building": [feature(_sq(0, 0, 10), "b1", building="house")],
    "an untyped building": [feature(_sq(0, 0, 10), "b1", building="yes")],
    "a lamp alone": [feature(_point(0, 0), "l1", highway="street_lamp")],
    "police alone": [feature(_point(0, 0), "po", amenity="police")],
    "police premises as a building": [
        feature(_sq(0, 0, 12), "po", amenity="police", building="yes")
    ],
    "an emergency phone alone": [feature(_point(0, 0), "ph", emergency="phone")],
    "a site boundary alone": [feature(_sq(0, 0, 50), "site", **{"safespace:role": "site"})],
    "a site with one footway": [
        feature(_sq(-10, -10, 150), "site", **{"safespace:role": "site"}),
        feature(_line((0, 0), (120, 30)), "fp", highway="footway"),
    ],
    "police beside a footway": [
        feature(_line((0, 0), (120, 0)), "fp", highway="footway"),
        feature(_point(10, 5), "po", amenity="police"),
    ],
    "a home on a footway": [
        feature(_line((0, 0), (120, 0)), "fp", highway="footway"),
        feature(_sq(50, 5, 10), "b1", building="house"),
    ],
    "steps only": [feature(_line((0, 0), (0, 20)), "st", highway="steps")],
    "a pedestrian street alone": [
        feature(_line((0, 0), (200, 0)), "ps", highway="pedestrian", name="Market Street")
    ],
    "a barred street alone": [
        feature(_line((0, 0), (200, 0)), "rd", highway="residential", motor_vehicle="no")
    ],
}


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_every_rule_runs_on_a_minimal_layout(name):
    result = safespace.assess(collection(*MINIMAL[name], crs=CRS27700))
    assert result.failures == [], [f"{f.rule_id}: {f.error}: {f.message}" for f in result.failures]
    # police access is never scored as a number from nothing measured
    score = result.scores.get("police_access")
    if score is not None and not any(
        t["properties"].get("amenity") == "police" for t in MINIMAL[name]
    ):
        assert score.value is None


def test_police_rules_on_a_layout_without_premises_give_only_advisory_notes():
    result = safespace.assess(collection(*MINIMAL["a home on a footway"], crs=CRS27700))
    pa = [f for f in result.findings if f.rule_id.startswith("PA")]
    assert pa, "the missing premises must be said, not silently skipped"
    assert all(f.severity == "info" for f in pa)
    notes = [f for f in pa if f.rule_id in ("PA001", "PA002", "PA005")]
    assert sorted(f.rule_id for f in notes) == ["PA001", "PA002", "PA005"]
    for f in notes:
        assert f.basis == "data-gap"
        assert "--police FILE" in f.evidence["gap"]["resolve"]
        assert "1 home" in f.message and "1 homes" not in f.message


def test_context_without_routes_loads_and_assesses():
    """A context of buildings only (no street, no path) has nothing to join proposal routes
    onto; it once failed with pandas' "No objects to concatenate"."""
    import safespace
    from tests.conftest import FIXTURES, collection, feature

    ctx = collection(
        feature(
            {
                "type": "Polygon",
                "coordinates": [
                    [[0.1205, 52.2045], [0.1206, 52.2045], [0.1206, 52.2046], [0.1205, 52.2045]]
                ],
            },  # fmt: skip
            id="b1",
            building="house",
        )
    )
    lay = safespace.load(FIXTURES / "demo_estate.geojson", context=ctx)
    assert "b1" in set(lay.buildings["fid"])
    assert not safespace.assess(lay, rules=["SL001", "PM001"]).failures
