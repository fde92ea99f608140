"""Design findings weighed by local crime: the demo estate with its synthetic incidents.

``fixtures/demo_incidents.csv`` (``fixtures/make_incidents.py``) puts 12 burglaries at the
backs of the homes along the rear footpath fp01 and 8 vehicle crimes in the parking court
pk01, with a background 150–1,000 m from the site. Without incidents fp01 already ranks first
(its issue gathers the most rules), so the rank change tested is the parking court's: the
issue of the service road st03 and pk01 is third without incidents, below Orchard Way, and
rises above it with the vehicle crime at pk01.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import safespace
from safespace._crime import crime_exposure
from tests.conftest import FIXTURES

ESTATE = FIXTURES / "demo_estate.geojson"
INCIDENTS = FIXTURES / "demo_incidents.csv"


@pytest.fixture(scope="module")
def both():
    plain = safespace.assess(ESTATE)
    crime = safespace.assess(safespace.load(ESTATE, incidents=INCIDENTS))
    return plain, crime


def _find(issues, text):
    return next(i for i in issues if text in i.title)


def test_rear_footpath_first_with_its_burglary_count(both):
    plain, crime = both
    key = [i for i in crime.issues if i.key_concern]
    first = key[0]
    assert first.kind == "rear_route" and "fp01" in first.place
    line = [e for e in first.evidence if e.startswith("Recorded crime")]
    assert line and "burglary 12" in line[0]
    # counted independently: burglaries within 50 m of the issue's geometry
    inc = crime.layout.incidents
    burg = inc[inc["category"] == "Burglary"].geometry.values
    assert int((shapely.distance(first.geometry, burg) <= 50).sum()) == 12
    pm005 = [f for f in crime.findings if f.issue_id == first.id and f.rule_id == "PM005"]
    counts = pm005[0].evidence["crime"]["counts"]
    # the issue's categories: burglary (PM005) and street crime (its LT and SL members)
    assert counts["Burglary"] == 12 and sum(counts.values()) == 12
    assert pm005[0].basis == "measured"
    # the priority is the plain one times 1 + e/(e + 5), e = 12 − expected
    before = _find(plain.issues, "fp01")
    e = 12 - sum(pm005[0].evidence["crime"]["expected"].values())
    assert first.priority_terms["exposure"] == pytest.approx(1 + e / (e + 5), abs=1e-3)
    assert first.priority == pytest.approx(before.priority * (1 + e / (e + 5)), rel=1e-3)
    # honest about the baseline: fp01 also leads without incidents, at a lower priority
    assert plain.issues[0].id == first.id and before.priority < first.priority


def test_parking_court_rises_above_orchard_way_with_vehicle_crime(both):
    plain, crime = both
    order = lambda issues: [i.id for i in issues]  # noqa: E731
    park_p, ow_p = _find(plain.issues, "pk01"), _find(plain.issues, ": Orchard Way")
    park_c, ow_c = _find(crime.issues, "pk01"), _find(crime.issues, ": Orchard Way")
    assert order(plain.issues).index(park_p.id) > order(plain.issues).index(ow_p.id)
    assert order(crime.issues).index(park_c.id) < order(crime.issues).index(ow_c.id)
    assert any("vehicle crime 8" in e for e in park_c.evidence)
    # Orchard Way is linked to street crime only, and none was recorded near it
    assert ow_c.priority == ow_p.priority and ow_c.priority_terms["exposure"] == 1.0


def test_no_incidents_or_no_links_means_no_hook(both):
    plain, crime = both
    assert crime_exposure(plain.findings, plain.layout, plain.profile) is None
    prof = crime.profile
    stripped = type(prof)(
        **{**prof.__dict__, "data": {k: v for k, v in prof.data.items() if k != "crime"}}
    )
    assert crime_exposure(crime.findings, crime.layout, stripped) is None
    assert all(i.priority_terms["exposure"] == 1.0 for i in plain.issues)
    assert not any("crime" in f.evidence for f in plain.findings)
    assert np.isfinite([i.priority for i in crime.issues]).all()


def test_incident_fixture_regenerates_byte_for_byte(tmp_path):
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(FIXTURES / "make_incidents.py"), "--out", str(tmp_path)], check=True
    )
    assert (tmp_path / "demo_incidents.csv").read_bytes() == INCIDENTS.read_bytes()
