"""Resource limits (issue 14, item 9): what is beyond them is refused quickly and clearly."""

from __future__ import annotations

import json
import time

import pytest
import shapely

import safespace
from safespace.cli import main
from safespace.errors import InputError, ResourceLimitError
from safespace.limits import Limits, active, check_points, using
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo_estate.geojson"


def _scaled_demo(factor: float) -> dict:
    """The demo estate's GeoJSON with every coordinate's offset from the first vertex
    multiplied by ``factor`` (a drawing exported in the wrong unit)."""
    doc = json.loads(DEMO.read_text())
    x0, y0 = doc["features"][0]["geometry"]["coordinates"][0][0][:2]

    def scale(c):
        if isinstance(c[0], list):
            return [scale(p) for p in c]
        return [x0 + (c[0] - x0) * factor, y0 + (c[1] - y0) * factor]

    for f in doc["features"]:
        g = f.get("geometry")
        if g:
            g["coordinates"] = scale(g["coordinates"])
    return doc


def test_too_many_features_is_refused_naming_the_file():
    with pytest.raises(ResourceLimitError) as err:
        safespace.load(DEMO, limits={"max_features": 10})
    assert isinstance(err.value, InputError)
    assert err.value.file == str(DEMO)
    assert err.value.limit == "max_features" and err.value.value == 148
    assert "148 features" in str(err.value) and "max_features" in str(err.value)


def test_a_drawing_in_the_wrong_unit_is_refused_within_a_second():
    # ×100: the 0.04 km² estate would cover about 300 km². Loading it is cheap and allowed
    # (a building dataset may span a country); assessing it is refused before any rule runs.
    lay = safespace.load(_scaled_demo(100.0))
    t0 = time.perf_counter()
    with pytest.raises(ResourceLimitError, match="max_area_km2") as err:
        safespace.assess(lay)
    assert time.perf_counter() - t0 < 1.0
    assert err.value.limit == "max_area_km2" and err.value.value > 100.0


def test_the_area_limit_can_be_raised():
    lay = safespace.load(_scaled_demo(100.0))
    with pytest.raises(ResourceLimitError, match="max_analysis_points"):
        # past the area limit, the grid limit still stands between it and the memory
        safespace.assess(lay, limits={"max_area_km2": 1000, "max_analysis_points": 10_000})


def test_an_analysis_grid_over_the_limit_stops_the_assessment_not_one_rule():
    lay = safespace.load(DEMO)
    with pytest.raises(ResourceLimitError, match="max_analysis_points"):
        safespace.assess(lay, limits={"max_analysis_points": 500})
    # the limits were only in force for that call
    assert active() == Limits()
    a = safespace.assess(lay, rules=["SL001"])
    assert not a.failures


def test_check_points_refuses_before_allocating():
    with using({"max_analysis_points": 1_000}):
        check_points(1_000, "grid")
        with pytest.raises(ResourceLimitError, match="1,001 points"):
            check_points(1_001, "grid")


def test_an_absurd_area_polygon_is_refused_by_its_grid_size():
    # one 2,000 km² pedestrian area, allowed by a raised area limit: its 3 m lighting grid
    # would have 2.2e8 points, so the grid check stops it before numpy allocates them
    from safespace.analyses.illuminance import area_grid

    square = shapely.box(0, 0, 44_721, 44_721)
    with pytest.raises(ResourceLimitError, match="lighting area grid"):
        area_grid([square], spacing=3.0)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"max_feature": 5}, "unknown limit"),
        ({"max_features": -1}, "positive"),
        ({"max_area_km2": 0}, "positive"),
        ({"max_analysis_points": "many"}, "positive"),
    ],
)
def test_limits_are_validated(bad, message):
    with pytest.raises(ValueError, match=message):
        Limits.of(bad)


def test_cli_reports_the_limit_and_exits_non_zero(capsys):
    code = main(["assess", str(DEMO), "-q", "--max-features", "10"])
    assert code != 0
    err = capsys.readouterr().err
    assert "max_features" in err and "Traceback" not in err
