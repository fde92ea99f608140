"""Small site files for the batch tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import collection, feature, real_file

OAKLAND = ("osm", "west_oakland.osm.bz2")
OVERTURE = ("buildings", "overture_buildings_100_de.geojson")


def deg_box(lon: float, lat: float, size_deg: float) -> dict:
    """A square polygon geometry in WGS84 with its lower-left corner at (lon, lat)."""
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon, lat],
                [lon + size_deg, lat],
                [lon + size_deg, lat + size_deg],
                [lon, lat + size_deg],
                [lon, lat],
            ]
        ],
    }


def write_site(path: Path, n: int, lon: float = 0.12, lat: float = 52.2, **tags) -> Path:
    """A GeoJSON site of ``n`` buildings in a row (about 20 m squares, 40 m apart)."""
    feats = [
        feature(deg_box(lon + i * 0.0006, lat, 0.0002), id=f"b{i}", building="yes", **tags)
        for i in range(n)
    ]
    feats.append(
        feature(
            {
                "type": "LineString",
                "coordinates": [[lon, lat - 0.0002], [lon + n * 0.0006, lat - 0.0002]],
            },
            id="street",
            highway="residential",
        )
    )
    path.write_text(json.dumps(collection(*feats)))
    return path


@pytest.fixture
def real_sites():
    """The two small real inputs the batch tests use (skips when absent)."""
    return {"oak": real_file(*OAKLAND), "de": real_file(*OVERTURE)}
