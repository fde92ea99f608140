"""Test-area evaluation (issue 15.5): WDQ, success measure, total net effect and WDD.

Known answers are worked out by hand in each test's docstring before the assertions check
exactly those numbers; the real-data test counts the incidents itself (pandas + pyproj +
shapely distances, no safespace code) and compares.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import safespace
from safespace.errors import InputError
from safespace.evaluation import COLUMNS, format_table, wdd_test, wdq_measures
from tests.conftest import FIXTURES, real_file

ROOT = Path(__file__).resolve().parents[2]
LEEDS = FIXTURES / "leeds_test_area"
BNG = "EPSG:27700"  # British National Grid: metric, kept as the working CRS

# --------------------------------------------------------------------------- formulas


def test_wdd_known_answer_wheeler_ratcliffe_2018():
    """The published example (Wheeler & Ratcliffe 2018, Crime Science 7:11).

    Control 308→318, treated 207→110, control displacement 150→140, treated displacement
    178→157:

    * ΔT = 110 − 207 = −97, ΔC = 318 − 308 = 10, ΔD = 157 − 178 = −21, ΔCD = 140 − 150 = −10
    * WDD = ΔT − ΔC + ΔD − ΔCD = −97 − 10 − 21 + 10 = −118
    * Var = 207 + 110 + 308 + 318 + 178 + 157 + 150 + 140 = 1568, SE = √1568 = 39.598
    * z = −118 / 39.598 = −2.980; 95 % CI = −118 ∓ 1.95996·39.598 = −195.6 .. −40.4
      (the paper rounds to −196 .. −40).
    """
    r = wdd_test((207, 110), (308, 318), (178, 157), (150, 140))
    assert r["wdd"] == -118
    assert r["wdd_local"] == -107 and r["wdd_displacement"] == -11
    assert r["wdd_se"] == pytest.approx(math.sqrt(1568))
    assert r["wdd_se"] == pytest.approx(39.598, abs=1e-3)
    assert round(r["wdd_z"], 2) == -2.98
    assert (round(r["wdd_ci_low"]), round(r["wdd_ci_high"])) == (-196, -40)
    assert r["wdd_p"] == pytest.approx(0.00288, abs=1e-4)  # 2·Φ(−2.980)
    assert r["notes"] == []


def test_wdq_hand_computed_displacement():
    """A second, independent case: the treated area halves, the buffer rises.

    Treated R 100→50, control C 200→200, buffer D 80→100:

    * SM = Ra/Ca − Rb/Cb = 50/200 − 100/200 = −0.25 (a success)
    * BM = Da/Ca − Db/Cb = 100/200 − 80/200 = +0.10
    * WDQ = BM/SM = 0.10 / −0.25 = −0.4 (displacement, smaller than the direct effect)
    * TNE = [Rb·Ca/Cb − Ra] + [Db·Ca/Cb − Da] = [100 − 50] + [80 − 100] = 30 crimes
    """
    r = wdq_measures((100, 50), (200, 200), (80, 100))
    assert r["success_measure"] == pytest.approx(-0.25)
    assert r["buffer_measure"] == pytest.approx(0.10)
    assert r["wdq"] == pytest.approx(-0.4)
    assert r["total_net_effect"] == pytest.approx(30.0)
    assert r["notes"] == []


def test_wdq_on_the_wdd_example_in_exact_fractions():
    """The WDD example read with Bowers & Johnson's measures, in exact fractions.

    R 207→110, C 308→318, D 178→157:
    SM = 110/318 − 207/308, BM = 157/318 − 178/308,
    TNE = (207 + 178)·318/308 − (110 + 157) = 122430/308 − 267 = 397.5 − 267 = 130.5.
    """
    sm = Fraction(110, 318) - Fraction(207, 308)
    bm = Fraction(157, 318) - Fraction(178, 308)
    r = wdq_measures((207, 110), (308, 318), (178, 157))
    assert r["success_measure"] == pytest.approx(float(sm), abs=1e-12)
    assert r["wdq"] == pytest.approx(float(bm / sm), abs=1e-12)
    assert r["wdq"] == pytest.approx(0.2582, abs=1e-4)  # diffusion of benefit
    assert r["total_net_effect"] == pytest.approx(130.5, abs=1e-9)


def test_zero_denominators_give_nan_with_a_note_never_inf():
    r = wdq_measures((5, 3), (0, 4), (2, 2))
    assert math.isnan(r["success_measure"]) and math.isnan(r["wdq"])
    assert math.isnan(r["total_net_effect"])
    assert "no incidents before" in r["notes"][0]
    r = wdq_measures((5, 5), (10, 10), (2, 3))  # SM = 0
    assert r["success_measure"] == 0 and math.isnan(r["wdq"])
    assert any("success measure 0" in n for n in r["notes"])
    w = wdd_test((0, 0), (0, 0), (0, 0), (0, 0))
    assert w["wdd"] == 0 and w["wdd_se"] == 0 and math.isnan(w["wdd_z"])
    assert w["notes"]


# --------------------------------------------------------------------------- spatial


def _scatter(rng, poly, n):
    """n random points strictly inside ``poly`` (rejection sampling)."""
    out = []
    minx, miny, maxx, maxy = poly.bounds
    while len(out) < n:
        x, y = rng.uniform(minx, maxx, 64), rng.uniform(miny, maxy, 64)
        pts = shapely.points(x, y)
        ok = shapely.contains_properly(poly, pts)
        out.extend(pts[ok][: n - len(out)])
    return out


# treated 0..100 m square at (500000, 200000) in BNG; a 50 m ring; control 1 km east
X0, Y0 = 500_000.0, 200_000.0
TREATED = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
CONTROL = shapely.box(X0 + 1000, Y0, X0 + 1100, Y0 + 100)
RING = TREATED.buffer(50, quad_segs=16).difference(TREATED)
CRING = CONTROL.buffer(50, quad_segs=16).difference(CONTROL)


def _scene(counts: dict[str, dict[str, tuple[int, int]]], seed: int = 1) -> gpd.GeoDataFrame:
    """Incidents with exactly the given (before, after) counts per category and area.

    Plus noise that must not be counted: incidents 400 m south of everything, and
    incidents inside the treated area in a month of neither period.
    """
    rng = np.random.default_rng(seed)
    polys = {"treated": TREATED, "buffer": RING, "control": CONTROL, "control_buffer": CRING}
    rows, geoms = [], []
    for cat, per_area in counts.items():
        for area, (nb, na) in per_area.items():
            for month, n in (("2016-07", nb), ("2017-07", na)):
                pts = _scatter(rng, polys[area].buffer(-0.5), n)
                rows += [{"category": cat, "month": month}] * n
                geoms += pts
    for month in ("2016-07", "2017-07"):
        rows += [{"category": "Burglary", "month": month}] * 7
        geoms += _scatter(rng, shapely.box(X0, Y0 - 500, X0 + 100, Y0 - 400), 7)
    rows += [{"category": "Burglary", "month": "2016-12"}] * 9
    geoms += _scatter(rng, TREATED, 9)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=BNG)


PAPER = {
    "Burglary": {
        "treated": (207, 110),
        "control": (308, 318),
        "buffer": (178, 157),
        "control_buffer": (150, 140),
    },
    "Robbery": {
        "treated": (100, 50),
        "control": (200, 200),
        "buffer": (80, 100),
        "control_buffer": (0, 0),
    },
}


def test_evaluate_counts_and_the_paper_answer_through_the_map():
    """The counts placed in each area come back, and the Burglary row is the paper's.

    Robbery is the hand case above (SM −0.25, WDQ −0.4, TNE 30) with an empty control
    buffer: WDD = (50 − 100) − 0 + (100 − 80) − 0 = −30, Var = 100+50+200+200+80+100 = 730.
    The "all" row sums both: treated 307→160, and so on.
    """
    inc = _scene(PAPER)
    t = safespace.evaluate(
        TREATED, CONTROL, buffer=50, before="2016-07", after="2017-07", incidents=inc, crs=BNG
    )
    assert list(t.columns) == list(COLUMNS)
    assert list(t["category"]) == ["Burglary", "Robbery", "all"]
    b = t.set_index("category").loc["Burglary"]
    assert (b.treated_before, b.treated_after, b.control_before, b.control_after) == (
        207,
        110,
        308,
        318,
    )
    assert (b.buffer_before, b.buffer_after) == (178, 157)
    assert (b.control_buffer_before, b.control_buffer_after) == (150, 140)
    assert b.wdd == -118 and b.wdd_se == pytest.approx(math.sqrt(1568))
    assert round(b.wdd_z, 2) == -2.98
    r = t.set_index("category").loc["Robbery"]
    assert r.success_measure == pytest.approx(-0.25) and r.wdq == pytest.approx(-0.4)
    assert r.total_net_effect == pytest.approx(30.0)
    assert r.wdd == -30 and r.wdd_se == pytest.approx(math.sqrt(730))
    a = t.set_index("category").loc["all"]
    assert (a.treated_before, a.treated_after, a.buffer_before, a.buffer_after) == (
        307,
        160,
        258,
        257,
    )
    assert a.wdd == -148
    assert t.attrs["crs"] == "EPSG:27700"  # a metric input CRS is kept
    assert t.attrs["area_m2"]["treated"] == pytest.approx(10_000)
    assert t.attrs["before"] == ["2016-07"] and t.attrs["after"] == ["2017-07"]
    ctx = t.attrs["context"]
    assert len(ctx.incidents) == 1568 + 730  # the two rows' variances: every count once
    text = format_table(t)
    assert "207→110" in text and "-118" in text


def test_input_forms_agree_file_geoseries_frame_and_wgs84(tmp_path):
    """A GeoJSON file in WGS84, a GeoSeries and a shapely polygon with crs= give one table."""
    inc = _scene(PAPER, seed=3)
    ref = safespace.evaluate(
        TREATED, CONTROL, buffer=50, before="2016-07", after="2017-07", incidents=inc, crs=BNG
    )
    t_wgs = gpd.GeoSeries([TREATED], crs=BNG).to_crs(4326)
    path = tmp_path / "treated.geojson"
    t_wgs.to_frame("geometry").to_file(path, driver="GeoJSON")
    got = safespace.evaluate(
        path,
        gpd.GeoDataFrame(geometry=[CONTROL], crs=BNG),
        buffer="50",
        before=["2016-07"],
        after="2017-07..2017-07",
        incidents=inc.to_crs(4326),
    )
    cols = ["category", "treated_before", "treated_after", "control_before", "control_after"]
    pd.testing.assert_frame_equal(got[cols], ref[cols])


def test_zero_control_gives_nan_and_note_in_the_table():
    inc = _scene(
        {
            "Burglary": {"treated": (4, 2), "control": (0, 3), "buffer": (1, 1)},
            "Robbery": {"treated": (2, 2), "control": (5, 5), "buffer": (0, 0)},
        }
    )
    t = safespace.evaluate(
        TREATED, CONTROL, buffer=50, before="2016-07", after="2017-07", incidents=inc, crs=BNG
    )
    b = t.set_index("category").loc["Burglary"]
    assert math.isnan(b.wdq) and math.isnan(b.success_measure) and "control area" in b.note
    assert np.isfinite(
        t.select_dtypes("number").to_numpy(dtype=float)[
            ~np.isnan(t.select_dtypes("number").to_numpy(dtype=float))
        ]
    ).all()


def test_categories_filter_and_unknown_category():
    inc = _scene(PAPER)
    t = safespace.evaluate(
        TREATED,
        CONTROL,
        buffer=50,
        before="2016-07",
        after="2017-07",
        incidents=inc,
        crs=BNG,
        categories=["Robbery"],
    )
    assert list(t["category"]) == ["Robbery", "all"]
    assert t.iloc[0]["wdd"] == t.iloc[1]["wdd"]
    with pytest.raises(InputError, match="Robery"):
        safespace.evaluate(
            TREATED,
            CONTROL,
            buffer=50,
            before="2016-07",
            after="2017-07",
            incidents=inc,
            crs=BNG,
            categories=["Robery"],
        )


def test_no_buffer_and_polygon_buffer():
    """Without a buffer: WDQ NaN, WDD local only; a polygon buffer without a control buffer."""
    inc = _scene(PAPER)
    t = safespace.evaluate(
        TREATED, CONTROL, before="2016-07", after="2017-07", incidents=inc, crs=BNG
    ).set_index("category")
    assert math.isnan(t.loc["Burglary", "wdq"]) and math.isnan(t.loc["Burglary", "buffer_before"])
    assert t.loc["Burglary", "wdd"] == (110 - 207) - (318 - 308)  # −107
    ring = gpd.GeoSeries([RING], crs=BNG)
    t = safespace.evaluate(
        TREATED, CONTROL, buffer=ring, before="2016-07", after="2017-07", incidents=inc, crs=BNG
    ).set_index("category")
    assert t.loc["Burglary", "wdq"] == pytest.approx(
        wdq_measures((207, 110), (308, 318), (178, 157))["wdq"]
    )
    assert t.loc["Burglary", "wdd"] == -107 and "no control buffer" in t.loc["Burglary", "note"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"control": TREATED.buffer(-10)}, "treated and control areas overlap"),
        ({"control": shapely.box(X0 + 120, Y0, X0 + 200, Y0 + 100)}, "buffer and control"),
        ({"before": []}, "no month"),
        ({"before": "2016-13"}, "not a month"),
        ({"before": "2016-09..2016-07"}, "ends before it starts"),
        ({"after": "2016-07"}, "share 2016-07"),
        ({"before": "2015-01"}, "no incident falls in the before period"),
        ({"crs": None}, "without a CRS"),
        ({"crs": "EPSG:999999"}, "unknown CRS"),
        ({"treated": shapely.LineString([(X0, Y0), (X0 + 5, Y0)])}, "has no polygon"),
        ({"buffer": -5}, "positive number of metres"),
    ],
)
def test_input_errors(kwargs, match):
    args = {
        "treated": TREATED,
        "control": CONTROL,
        "buffer": 50,
        "before": "2016-07",
        "after": "2017-07",
        "incidents": _scene(PAPER),
        "crs": BNG,
    }
    args.update(kwargs)
    treated, control = args.pop("treated"), args.pop("control")
    with pytest.raises(InputError, match=match):
        safespace.evaluate(treated, control, **args)


def test_incidents_errors():
    inc = _scene(PAPER)
    kw = {"buffer": 50, "before": "2016-07", "after": "2017-07", "crs": BNG}
    with pytest.raises(InputError, match="'category'"):
        safespace.evaluate(TREATED, CONTROL, incidents=inc.drop(columns="category"), **kw)
    with pytest.raises(InputError, match="'month'"):
        safespace.evaluate(TREATED, CONTROL, incidents=inc.drop(columns="month"), **kw)
    with pytest.raises(InputError, match="no CRS"):
        safespace.evaluate(
            gpd.GeoSeries([TREATED], crs=BNG),
            gpd.GeoSeries([CONTROL], crs=BNG),
            incidents=gpd.GeoDataFrame(inc.drop(columns="geometry"), geometry=list(inc.geometry)),
            buffer=50,
            before="2016-07",
            after="2017-07",
        )
    far = inc.set_geometry(inc.geometry.translate(50_000, 0))
    with pytest.raises(InputError, match="lies in any of the areas"):
        safespace.evaluate(TREATED, CONTROL, incidents=far, **kw)


# --------------------------------------------------------------------------- real data

CSV = ("crime", "2016-07-west-yorkshire-street.csv"), ("crime", "2017-07-west-yorkshire-street.csv")


def _police_frame(paths) -> gpd.GeoDataFrame:
    """The data.police.uk rows with coordinates, parsed here with pandas (independent)."""
    d = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    d = d[d["Longitude"].notna() & d["Latitude"].notna()]
    return gpd.GeoDataFrame(
        {"category": d["Crime type"].to_numpy(), "month": d["Month"].to_numpy()},
        geometry=gpd.points_from_xy(d["Longitude"], d["Latitude"]),
        crs=4326,
    )


def _direct_counts(paths, width=200.0) -> pd.DataFrame:
    """Counts per category, area and period straight from the CSVs.

    Points and polygons projected to UTM 30N with pyproj; treated/control by
    ``contains``; the rings by exact distance (0 < d ≤ 200 m), not by a buffered polygon.
    """
    d = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    d = d[d["Longitude"].notna()]
    tf = Transformer.from_crs(4326, 32630, always_xy=True)
    x, y = tf.transform(d["Longitude"].to_numpy(), d["Latitude"].to_numpy())
    pts = shapely.points(x, y)

    def poly(name):
        ring = json.loads((LEEDS / f"{name}.geojson").read_text())["features"][0]["geometry"][
            "coordinates"
        ][0]
        return shapely.Polygon(np.column_stack(tf.transform(*np.array(ring).T)))

    t, c = poly("treated"), poly("control")
    dt, dc = shapely.distance(t, pts), shapely.distance(c, pts)
    # no map point so close to a ring's edge that the polygon approximation could matter
    assert not (np.abs(dt - width) < 0.5).any() and not (np.abs(dc - width) < 0.5).any()
    area = np.select(
        [dt == 0, dt <= width, dc == 0, dc <= width],
        ["treated", "buffer", "control", "control_buffer"],
        default="",
    )
    period = np.where(d["Month"].to_numpy() == "2016-07", "before", "after")
    key = pd.Series(area) + "_" + pd.Series(period)
    keep = area != ""
    return pd.crosstab(d["Crime type"].to_numpy()[keep], key.to_numpy()[keep])


def test_leeds_counts_match_a_direct_count():
    paths = [real_file(*p) for p in CSV]
    t = safespace.evaluate(
        LEEDS / "treated.geojson",
        LEEDS / "control.geojson",
        buffer=200,
        before="2016-07",
        after="2017-07",
        incidents=_police_frame(paths),
    )
    direct = _direct_counts(paths)
    got = t[t["category"] != "all"].set_index("category")
    for cat in direct.index:
        for col in direct.columns:
            assert got.loc[cat, col] == direct.loc[cat, col], (cat, col)
    # every category with an incident in the two periods has a row, even with no count here
    assert set(got.index) == set(_police_frame(paths)["category"])
    assert t.attrs["crs"] == "EPSG:32630"
    allrow = t.set_index("category").loc["all"]
    assert allrow.treated_before == direct.get("treated_before", pd.Series()).sum()
    assert allrow.treated_before > 100  # the night-time quarter is busy: a real test


def test_leeds_cli_prints_a_table_per_category(tmp_path):
    paths = [real_file(*p) for p in CSV]
    pytest.importorskip(
        "safespace.io.incidents", reason="read_incidents (issue 15.1) not built yet"
    )
    out = tmp_path / "leeds.csv"
    cmd = [
        sys.executable,
        "-m",
        "safespace",
        "evaluate",
        "--treated",
        str(LEEDS / "treated.geojson"),
        "--control",
        str(LEEDS / "control.geojson"),
        "--buffer",
        "200",
        "--before",
        "2016-07",
        "--after",
        "2017-07",
        "--incidents",
        *map(str, paths),
        "-o",
        str(out),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    direct = _direct_counts(paths)
    for cat in direct.index:
        assert any(line.startswith(cat) for line in run.stdout.splitlines()), cat
    table = pd.read_csv(out)
    assert list(table.columns) == list(COLUMNS)
    got = table.set_index("category")
    for cat in direct.index:
        for col in direct.columns:
            assert got.loc[cat, col] == direct.loc[cat, col], (cat, col)
    # the reader's unlocated rows are reported, not lost (SOURCES.md: 27,176 − 25,829)
    assert "1,347 incident(s) without a location" in run.stdout


# --------------------------------------------------------------------------- report


def _html_body(path: Path) -> str:
    text = path.read_text("utf-8")
    return text[text.index("<main>") : text.index("</main>")]


def test_evaluation_report_page(tmp_path):
    """The page: the table's numbers, the map (well-formed SVG), method, no network."""
    import base64
    import re
    import xml.etree.ElementTree as ET

    from safespace.report import write_evaluation_html

    t = safespace.evaluate(
        TREATED,
        CONTROL,
        buffer=50,
        before="2016-07",
        after="2017-07",
        incidents=_scene(PAPER),
        crs=BNG,
    )
    out = write_evaluation_html(t, tmp_path / "eval.html", date="3 December 2026")
    html = out.read_text("utf-8")
    body = _html_body(out)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "207 → 110" in body and "308 → 318" in body and "-118" in body
    assert "-196 to -40" in body  # the paper's 95 % interval
    assert "significant at 5 %" in body  # |z| = 2.98
    assert "Bowers" in body and "Wheeler" in body
    # synthetic incidents are not data.police.uk's: no OGL line unless asked for
    assert "Open Government Licence" not in html
    svg = base64.b64decode(re.search(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", body)[1])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}path")) >= 4  # four areas and the scale bar
    assert root.findall(f"{ns}circle")
    # deterministic
    again = write_evaluation_html(t, tmp_path / "again.html", date="3 December 2026")
    assert again.read_bytes() == out.read_bytes()


def test_evaluation_report_escapes_names(tmp_path):
    from safespace.report import write_evaluation_html

    treated = gpd.GeoDataFrame({"name": ["<script>alert(1)</script>"]}, geometry=[TREATED], crs=BNG)
    t = safespace.evaluate(
        treated,
        CONTROL,
        buffer=50,
        before="2016-07",
        after="2017-07",
        incidents=_scene(PAPER),
        crs=BNG,
    )
    body = _html_body(write_evaluation_html(t, tmp_path / "e.html"))
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_evaluation_report_beside_a_design_comparison(tmp_path):
    """The demo estate as the treated area: its design changes shown beside the crime.

    The treated polygon is the demo's red line (the ``safespace:role=site`` polygon of the
    file); the control a same-size square 600 m east; incidents scattered in each.
    """
    from safespace.report import write_evaluation_html

    demo = FIXTURES / "demo_estate.geojson"
    site = gpd.read_file(demo)
    site = site[site["safespace:role"] == "site"].to_crs(32631)
    poly = site.geometry.union_all()
    control = shapely.affinity.translate(poly, 600, 0)
    rng = np.random.default_rng(5)
    geoms, rows = [], []
    for area, nb, na in (
        (poly, 12, 5),
        (control, 10, 11),
        (poly.buffer(200).difference(poly), 8, 8),
    ):
        for month, n in (("2016-07", nb), ("2017-07", na)):
            geoms += _scatter(rng, area.buffer(-1), n)
            rows += [{"category": "Burglary", "month": month}] * n
    inc = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=32631)
    t = safespace.evaluate(
        demo, control, buffer=200, before="2016-07", after="2017-07", incidents=inc, crs=32631
    )
    b = t.set_index("category").loc["Burglary"]
    assert (b.treated_before, b.treated_after, b.control_before, b.control_after) == (12, 5, 10, 11)
    cmp = safespace.compare(FIXTURES / "demo_existing.geojson", demo, rules=["PM"])
    out = write_evaluation_html(
        t, tmp_path / "eval.html", comparison=cmp, attribution="Synthetic incidents."
    )
    body = _html_body(out)
    assert 'id="design"' in body and cmp.summary_line() in body
    assert "overlaps the treated area (100% of it)" in body
    assert "Permeability" in body  # the score change row
    for f in cmp.resolved:
        assert f.rule_id in body
    assert "Synthetic incidents." in body


def test_cli_writes_csv_and_html_with_ogl(tmp_path):
    """The CLI on the real files writes a report carrying the OGL attribution."""
    paths = [real_file(*p) for p in CSV]
    from safespace.cli import main

    out = tmp_path / "leeds.html"
    code = main(
        [
            "evaluate",
            "--treated", str(LEEDS / "treated.geojson"),
            "--control", str(LEEDS / "control.geojson"),
            "--buffer", "200",
            "--before", "2016-07",
            "--after", "2017-07",
            "--incidents", *map(str, paths),
            "--categories", "Burglary,Robbery",
            "-o", str(out),
            "-q",
        ]
    )  # fmt: skip
    assert code == 0
    html = out.read_text("utf-8")
    assert (
        "Contains public sector information licensed under the Open Government Licence v3.0" in html
    )
    assert "Lower Briggate and Call Lane" in html


def test_cli_usage_errors(capsys):
    from safespace.cli import main

    code = main(
        [
            "evaluate",
            "--treated", str(LEEDS / "treated.geojson"),
            "--control", str(LEEDS / "treated.geojson"),
            "--before", "2016-07",
            "--after", "2017-07",
            "--incidents", str(LEEDS / "treated.geojson"),
        ]
    )  # fmt: skip
    assert code == 2
    assert "overlap" in capsys.readouterr().err


def test_parse_months():
    from datetime import date

    from safespace.evaluation import parse_months

    assert parse_months("2016-07") == ["2016-07"]
    assert parse_months("2015-11..2016-02") == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert parse_months(["2016-03", "2016-01..2016-02", date(2016, 1, 5)]) == [
        "2016-01",
        "2016-02",
        "2016-03",
    ]
    assert parse_months(pd.Period("2017-07", freq="M")) == ["2017-07"]


def test_unequal_periods_are_noted():
    inc = _scene(PAPER)
    t = safespace.evaluate(
        TREATED,
        CONTROL,
        buffer=50,
        before="2016-06..2016-07",
        after="2017-07",
        incidents=inc,
        crs=BNG,
    )
    assert any("differ in length" in n for n in t.attrs["notes"])
    assert t.set_index("category").loc["Burglary", "treated_before"] == 207  # June has none


def test_control_empty_after_only_leaves_tne_defined():
    """Cb = 1, Ca = 0: Ra/Ca is undefined, but TNE's scale Ca/Cb = 0 is not.

    R 2→3, D 2→4: TNE = [2·0 − 3] + [2·0 − 4] = −7 (the control predicts no incident).
    """
    r = wdq_measures((2, 3), (1, 0), (2, 4))
    assert math.isnan(r["success_measure"]) and math.isnan(r["wdq"])
    assert r["total_net_effect"] == -7
    assert r["notes"] == [
        "the control area has no incidents after: success measure and WDQ undefined"
    ]
