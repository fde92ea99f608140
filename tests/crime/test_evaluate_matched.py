"""A control of matched street segments: a hand-made grid whose pairs and counts are known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

import safespace
from safespace.cli import main
from safespace.evaluation import MatchedSegments
from safespace.evaluation.matching import snap_to_segments
from tests.conftest import FIXTURES

CRS = "EPSG:32630"
TREATED = shapely.box(20, -30, 180, 30)  # holds the middles of the two segments on y = 0


def _grid() -> gpd.GeoDataFrame:
    """100 m segments of a 10 × 6 street grid, each its own row, plus one 150 m street."""
    lines, names = [], []
    for j in range(6):
        for i in range(10):
            lines.append(shapely.LineString([(100 * i, 100 * j), (100 * (i + 1), 100 * j)]))
            names.append(f"h{i}-{j}")
    for i in range(11):
        for j in range(5):
            lines.append(shapely.LineString([(100 * i, 100 * j), (100 * i, 100 * (j + 1))]))
            names.append(f"v{i}-{j}")
    lines.append(shapely.LineString([(1100, 0), (1250, 0)]))  # 150 m, off the grid's east end
    names.append("long")
    return gpd.GeoDataFrame({"name": names}, geometry=lines, crs=CRS)


def _incidents() -> gpd.GeoDataFrame:
    """(segment middle, before count, after count): 5 m beside each segment's middle."""
    plan = [
        ((50, 0), 5, 2),  # treated h0-0
        ((150, 0), 3, 1),  # treated h1-0
        ((550, 300), 5, 4),  # h5-3: the match for h0-0 (same count, same length)
        ((1175, 0), 5, 9),  # "long": same count, but 150 m, so it loses to h5-3
        ((750, 400), 3, 3),  # h7-4: the match for h1-0
        ((350, 500), 4, 0),  # h3-5: a near miss on the count
    ]
    rows = []
    for (x, y), nb, na in plan:
        rows += [("Burglary", "2016-07", x, y + 5)] * nb + [("Burglary", "2017-07", x, y + 5)] * na
    cat, month, xs, ys = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"category": list(cat), "month": list(month)},
        geometry=shapely.points(np.c_[xs, ys]),
        crs=CRS,
    )


def _run(**kw):
    return safespace.evaluate(
        gpd.GeoSeries([TREATED], crs=CRS),
        MatchedSegments(_grid(), **kw),
        before="2016-07",
        after="2017-07",
        incidents=_incidents(),
    )


def test_each_treated_segment_takes_the_segment_with_its_count_and_length():
    table = _run()
    pairs = table.attrs["matching"]
    assert list(zip(pairs["treated_name"], pairs["control_name"], strict=True)) == [
        ("h0-0", "h5-3"),
        ("h1-0", "h7-4"),
    ]
    assert list(pairs["treated_before"]) == list(pairs["control_before"]) == [5, 3]
    row = table.set_index("category").loc["all"]
    # treated 8 → 3; control = the incidents of h5-3 and h7-4: 8 → 7
    assert (row["treated_before"], row["treated_after"]) == (8, 3)
    assert (row["control_before"], row["control_after"]) == (8, 7)
    assert row["wdd"] == (3 - 8) - (7 - 8) == -4
    assert row["wdd_se"] == pytest.approx(np.sqrt(8 + 3 + 8 + 7))
    assert any("matched 1:1" in n for n in table.attrs["notes"])
    assert not any("match is poor" in n for n in table.attrs["notes"])


def test_a_ring_buffer_and_gap_keep_controls_away_and_ring_round_the_matched_streets():
    table = _run(gap_m=250)
    pairs = table.attrs["matching"]
    grid = _grid()
    taken = shapely.buffer(TREATED, 250)
    for seg in pairs["control_segment"]:
        assert not shapely.intersects(grid.geometry.iloc[seg], taken)
    # h5-3 and h7-4 lie beyond 250 m, so the same pairs hold
    assert list(pairs["control_name"]) == ["h5-3", "h7-4"]
    with_ring = safespace.evaluate(
        gpd.GeoSeries([TREATED], crs=CRS),
        MatchedSegments(_grid()),
        buffer=60,
        before="2016-07",
        after="2017-07",
        incidents=_incidents(),
    )
    areas = with_ring.attrs["context"].areas.set_index("area")
    assert {"treated", "buffer", "control", "control_buffer"} <= set(areas.index)
    assert shapely.intersection(areas.geometry["control"], areas.geometry["buffer"]).area < 1


def test_within_m_limits_the_pool_and_a_short_pool_is_a_clear_error():
    with pytest.raises(safespace.InputError, match=r"needs 2 untreated .* has 0 .* within 5 m"):
        _run(within_m=5)
    table = _run(within_m=700)  # "long" (1,100 m away) is out of reach, h5-3 is in
    assert "long" not in set(table.attrs["matching"]["control_name"])


def test_a_network_away_from_the_treated_area_is_refused():
    far = _grid().translate(50_000, 0)
    with pytest.raises(safespace.InputError, match="no street segment .* treated area"):
        safespace.evaluate(
            gpd.GeoSeries([TREATED], crs=CRS),
            MatchedSegments(far),
            before="2016-07",
            after="2017-07",
            incidents=_incidents(),
        )
    with pytest.raises(safespace.InputError, match="snap_m"):
        MatchedSegments(_grid(), snap_m=0)


def test_snapping_equals_brute_force_nearest_segment():
    grid = _grid()
    rng = np.random.default_rng(3)
    pts = shapely.points(rng.uniform(-100, 1300, (500, 2)))
    got = snap_to_segments(pts, grid, 80.0)
    d = shapely.distance(pts[:, None], np.asarray(grid.geometry.values, dtype=object)[None, :])
    want = np.where(d.min(axis=1) <= 80.0, d.argmin(axis=1), -1)
    # a point equidistant from two segments (at a junction's diagonal) may take either
    same = (got == want) | (
        (got >= 0) & np.isclose(d[np.arange(len(pts)), np.maximum(got, 0)], d.min(axis=1))
    )
    assert same.all()


def test_cli_matched_control_on_the_demo_estate(capsys):
    rc = main(["evaluate", "--treated", str(FIXTURES / "demo_estate.geojson"),
               "--control", "matched", "--network", str(FIXTURES / "demo_estate.geojson"),
               "--before", "2016-01..2016-06", "--after", "2016-07..2016-12",
               "--incidents", str(FIXTURES / "demo_incidents.csv"), "-q"])  # fmt: skip
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "matched 1:1" in out.out
    # the estate's surroundings hold no street with the site's burglary: said, not hidden
    assert "the match is poor" in out.out
    assert main(["evaluate", "--treated", "x", "--control", "matched", "--before", "2016-01",
                 "--after", "2016-02", "--incidents", "y", "-q"]) == 2  # fmt: skip
