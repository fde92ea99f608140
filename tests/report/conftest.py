"""Small assessments for the report tests, built with rules defined here."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, box

import safespace
from safespace.findings import Finding, Score
from safespace.rules.engine import discover_rules, rule
from tests.conftest import collection, feature, square

XSS = "<script>alert(1)</script>"
LON, LAT = 8.69, 49.41


def _anchor(site):
    """The centroid of the building named XSS: every test finding sits relative to it."""
    b = site.layout.buildings
    geom = b.geometry.values[list(b["name"]).index(XSS)]
    c = shapely.centroid(geom)
    return c.x, c.y


@rule(
    "XS001", "Test findings of every shape", "sightlines", references=["Test guidance, section 1"]
)
def shapes(site):
    """Yield one finding of each geometry kind, and one without a location."""
    x, y = _anchor(site)
    yield Finding(
        severity="high",
        title="Point finding",
        message=f"Blank wall beside {XSS}",
        geometry=Point(x + 30.0, y),
        evidence={"distance_m": 12.345, "note": XSS},
        recommendation="Add windows facing the path",
        references=[f"Guide {XSS} p. 4"],
        features=["feature/0"],
    )
    yield Finding(
        severity="medium",
        title="Line finding",
        message="Unlit path",
        geometry=LineString([(x, y - 40.0), (x + 60.0, y - 40.0)]),
    )
    yield Finding(severity="medium", title="Unlocated finding", message="The whole site")
    yield Finding(
        severity="low",
        title="Polygon finding",
        message="Hidden corner",
        geometry=box(x + 70.0, y + 10.0, x + 90.0, y + 30.0),
    )
    yield Finding(
        severity="info",
        title="Multipoint finding",
        message="Several spots",
        geometry=MultiPoint([(x - 40.0, y + 40.0), (x - 30.0, y + 45.0)]),
    )
    yield Score("sightlines", 62.5, "test score explanation")


@rule("XL001", "Test lighting finding", "lighting", references=["Lighting guide"])
def lit(site):
    """One lighting finding near the lamp."""
    x, y = _anchor(site)
    yield Finding(
        severity="high", title="Dark spot", message="Below 1 lx", geometry=Point(x, y - 60)
    )


@rule("XC001", "Flagged buildings", "permeability")
def flagged(site):
    """A finding on every building whose name starts with Flag; score 100 less 10 each."""
    b = site.layout.buildings
    n = 0
    for name, geom in zip(b["name"], b.geometry.values, strict=True):
        if isinstance(name, str) and name.startswith("Flag"):
            n += 1
            yield Finding(
                severity="medium",
                title=f"Flagged {name}",
                message=f"Building {name} is flagged",
                geometry=shapely.centroid(geom),
            )
    yield Score("permeability", 100.0 - 10.0 * n, f"{n} flagged buildings")


def registry(*rules):
    reg = {r.id: r for r in discover_rules().values() if r.area == "input"}
    reg.update({r.id: r for r in rules})
    return reg


def layout_mapping() -> dict:
    d = 0.0004  # about 30 m of latitude
    return collection(
        feature(square(LON, LAT, 0.0002), building="house", name=XSS),
        feature(square(LON + 2 * d, LAT, 0.0002), building="house", name="Annex"),
        feature(square(LON - 2 * d, LAT + d, 0.0002), building="yes"),
        feature(
            {"type": "LineString", "coordinates": [[LON - 3 * d, LAT - d], [LON + 4 * d, LAT - d]]},
            highway="residential",
            name="High Street",
        ),
        feature(
            {"type": "LineString", "coordinates": [[LON - d, LAT + 2 * d], [LON - d, LAT - d]]},
            highway="footway",
        ),
        feature({"type": "Point", "coordinates": [LON + d, LAT - 0.5 * d]}, highway="street_lamp"),
        feature(
            {"type": "Point", "coordinates": [LON + 3 * d, LAT + 2 * d]},
            amenity="police",
            name="Police <b>station</b>",
        ),
    )


def make_assessment():
    reg = registry(shapes, lit)
    return safespace.assess(
        layout_mapping(), registry=reg, profile=safespace.load_profile("default", reg)
    )


def flagged_layout(names: dict[str, tuple[float, float]]) -> dict:
    feats = [
        feature(square(LON + dx, LAT + dy, 0.0001), building="yes", name=name)
        for name, (dx, dy) in names.items()
    ]
    feats.append(
        feature(
            {
                "type": "LineString",
                "coordinates": [[LON - 0.001, LAT - 0.0003], [LON + 0.003, LAT - 0.0003]],
            },
            highway="residential",
        )
    )
    return collection(*feats)


def make_comparison():
    reg = registry(flagged)
    prof = safespace.load_profile("default", reg)
    before = safespace.assess(
        flagged_layout(
            {"FlagA": (0, 0), "FlagB": (0.001, 0), "FlagD": (0.002, 0), "Shed": (0, 0.0005)}
        ),
        registry=reg,
        profile=prof,
    )
    after = safespace.assess(
        flagged_layout({"FlagB": (0.001, 0), "FlagC": (0.0015, 0.0005), "Shed": (0, 0.0005)}),
        registry=reg,
        profile=prof,
    )
    return safespace.compare(before, after)


@pytest.fixture(scope="session")
def assessment():
    return make_assessment()


@pytest.fixture(scope="session")
def report_path(assessment, tmp_path_factory):
    return assessment.to_html(tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="session")
def comparison():
    return make_comparison()


@pytest.fixture(scope="session")
def comparison_path(comparison, tmp_path_factory):
    return comparison.to_html(tmp_path_factory.mktemp("compare") / "diff.html")
