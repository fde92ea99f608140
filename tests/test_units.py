import math

import pytest

from safespace._units import is_yes, parse_length, parse_number, parse_speed


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("12", 12.0),
        ("12 m", 12.0),
        ("12.5m", 12.5),
        ("3,5", 3.5),
        (7, 7.0),
        ("40 ft", 12.192),
        ("12'6\"", 3.81),
        ("6'", 1.8288),
        ("250 cm", 2.5),
    ],
)
def test_parse_length_reads_osm_forms(text, metres):
    assert parse_length(text) == pytest.approx(metres)


@pytest.mark.parametrize("text", [None, "", "tall", "yes", True])
def test_parse_length_unreadable_is_nan(text):
    assert math.isnan(parse_length(text))


@pytest.mark.parametrize(
    ("text", "kmh"), [("30", 30.0), ("20 mph", 32.18688), ("DE:urban", 50.0), ("walk", 6.0)]
)
def test_parse_speed(text, kmh):
    assert parse_speed(text) == pytest.approx(kmh)


def test_parse_number_and_yes():
    assert parse_number("2;3") == 2.0
    assert math.isnan(parse_number("two"))
    assert is_yes("yes") and is_yes("building_passage") and not is_yes("no") and not is_yes(None)
