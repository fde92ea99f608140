"""The report's crime-context section: present with incidents, absent without."""

from __future__ import annotations

import re

import pytest

import safespace
from safespace.io.incidents import OGL_ATTRIBUTION
from safespace.report import write_html
from tests.conftest import FIXTURES

ESTATE = FIXTURES / "demo_estate.geojson"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("crime_report")
    with_inc = safespace.assess(safespace.load(ESTATE, incidents=FIXTURES / "demo_incidents.csv"))
    without = safespace.assess(ESTATE)
    a = write_html(with_inc, d / "with.html", date="2026-12-03").read_text(encoding="utf-8")
    b = write_html(without, d / "without.html", date="2026-12-03").read_text(encoding="utf-8")
    return a, b


def test_section_with_map_lorenz_table_and_attribution(pages):
    html, _ = pages
    assert 'id="crime-context"' in html
    assert OGL_ATTRIBUTION in html
    alts = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]*)"', html)
    assert any(a.startswith("Map of 58 recorded incidents within 500 m") for a in alts)
    assert any(a.startswith("Lorenz curve: 3.6% of the 28 street segments") for a in alts)
    # the counts table: burglary 12 in the site (fixtures/README.md)
    row = re.search(r"<tr><td data-label=\"Category\">Burglary</td>(.*?)</tr>", html)
    assert row and re.findall(r">([\d,]+)<", row.group(1))[0] == "12"
    assert "could not be drawn" not in html


def test_no_section_without_incidents(pages):
    _, html = pages
    assert 'id="crime-context"' not in html and OGL_ATTRIBUTION not in html
    assert "Recorded incidents by category" not in html
