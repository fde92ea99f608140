"""CR rules: nothing without incidents; measured, info, one issue of their own with them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.stats import poisson

import safespace
from safespace.io.incidents import OGL_ATTRIBUTION
from tests.conftest import FIXTURES, real_file

ESTATE = FIXTURES / "demo_estate.geojson"
INCIDENTS = FIXTURES / "demo_incidents.csv"


@pytest.fixture(scope="module")
def crime():
    return safespace.assess(safespace.load(ESTATE, incidents=INCIDENTS), rules=["CR", "PM005"])


def test_no_incidents_layer_no_output():
    res = safespace.assess(ESTATE, rules=["CR"])
    assert res.findings == [] and res.failures == [] and "crime" not in res.metrics
    assert "crime" not in res.scores


def test_hot_spots_are_fp01_and_the_parking_court(crime):
    cr1 = [f for f in crime.findings if f.rule_id == "CR001"]
    assert len(cr1) == 1
    segs = cr1[0].evidence["segments"]
    names = [s["segment"] for s in segs]
    assert names == ["fp01", "st03"]
    fp01 = segs[0]
    assert fp01["count"] == 12 and fp01["by_category"] == {"Burglary": 12}
    # Poisson excess by hand: 20 incidents on the network, fp01's share by length
    n_on = cr1[0].evidence["incidents_on_segments"]
    assert n_on == 20
    assert fp01["excess_p"] == pytest.approx(
        float(f"{poisson.sf(11, fp01['expected']):.3g}"), rel=1e-2
    )
    assert crime.metrics["crime"]["hot_spot_segments_near_site"] == 2


def test_categories_above_rate_by_hand(crime):
    cr2 = next(f for f in crime.findings if f.rule_id == "CR002")
    ev = {c["category"]: c for c in cr2.evidence["categories"]}
    assert cr2.evidence["unit"] == "km²"  # the estate's network does not reach 1 km round
    layout = crime.layout
    inc = layout.incidents
    d = shapely.distance(layout.site_polygon, np.asarray(inc.geometry.values, dtype=object))
    near = shapely.area(shapely.buffer(layout.site_polygon, 100)) / 1e6
    wide = shapely.area(shapely.buffer(layout.site_polygon, 1000)) / 1e6
    for cat in ("Burglary", "Vehicle crime"):
        n_near = int(((d <= 100) & (inc.category == cat)).sum())
        n_wide = int(((d <= 1000) & (inc.category == cat)).sum())
        assert ev[cat]["near"] == n_near and ev[cat]["wider"] == n_wide
        assert ev[cat]["expected"] == pytest.approx(n_wide / wide * near, abs=0.01)
        assert ev[cat]["above"]
    assert ev["Burglary"]["near"] == 12 and ev["Vehicle crime"]["near"] == 8
    assert not ev["Anti-social behaviour"]["above"]


def test_context_summary(crime):
    cr3 = next(f for f in crime.findings if f.rule_id == "CR003")
    ev = cr3.evidence
    assert ev["records"] == {"rows": 203, "located": 200, "unlocated": 3, "no_id": 61}
    assert ev["unlocated_by_category"] == {"Anti-social behaviour": 1, "Burglary": 2}
    assert ev["by_category"]["Burglary"]["site"] == 12
    assert ev["by_category"]["all"]["site"] == 20
    assert sum(ev["by_month"].values()) == ev["by_category"]["all"]["within_500m"]
    assert ev["anonymised"] and ev["attribution"] == OGL_ATTRIBUTION
    assert "not per address" in cr3.message and "3 record(s) had no location" in cr3.message


def test_findings_are_measured_info_and_one_issue_of_their_own(crime):
    cr = [f for f in crime.findings if f.rule_id.startswith("CR")]
    assert {f.basis for f in cr} == {"measured"} and {f.severity for f in cr} == {"info"}
    assert len({f.issue_id for f in cr}) == 1
    issue = next(i for i in crime.issues if i.id == cr[0].issue_id)
    assert set(issue.rules) == {"CR001", "CR002", "CR003"} and not issue.key_concern
    assert issue.kind == "crime_context" and issue.title == "Crime context: the site"
    # the rear footpath issue holds no CR finding
    rear = next(i for i in crime.issues if "PM005" in i.rules)
    assert not any(r.startswith("CR") for r in rear.rules)


def test_empty_incidents_layer_gives_a_zero_summary_only():
    empty = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    res = safespace.assess(safespace.load(ESTATE, incidents=empty), rules=["CR"])
    assert res.failures == []
    assert [f.rule_id for f in res.findings] == ["CR003"]
    assert res.findings[0].evidence["by_category"]["all"]["site"] == 0


def test_real_file_on_a_leeds_point_runs():
    """The West Yorkshire file with a small layout in Leeds city centre: the rules run."""
    path = real_file("crime", "2016-07-west-yorkshire-street.csv")
    site = shapely.Point(-1.5491, 53.7965).buffer(0.002)  # about Leeds station
    lay = gpd.GeoDataFrame(
        {"fid": ["s1", "r1"], "tags": [{"safespace:role": "site"}, {"highway": "footway"}]},
        geometry=[site, shapely.LineString([(-1.552, 53.7965), (-1.546, 53.7965)])],
        crs="EPSG:4326",
    )
    res = safespace.assess(safespace.load(lay, incidents=path), rules=["CR"])
    assert res.failures == []
    cr3 = next(f for f in res.findings if f.rule_id == "CR003")
    assert cr3.evidence["records"]["rows"] == 27176 and cr3.evidence["anonymised"]
    assert cr3.evidence["by_category"]["all"]["within_500m"] > 100
