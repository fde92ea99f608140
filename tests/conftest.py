"""Shared test helpers: paths to the real data beside the checkout, and small layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / ".." / "shared" / "data" / "real"
FIXTURES = ROOT / "fixtures"


def real_file(*parts: str) -> Path:
    """A file from ../shared/data/real, or skip the test with the reason."""
    path = REAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not present: {path} (../shared/ sits beside the checkout in CI)")
    return path


def feature(geometry: dict, id: str | None = None, **tags) -> dict:
    """A GeoJSON feature with OSM tags as properties (``building_levels`` -> ``building:levels``)."""
    props = {k.replace("__", ":"): v for k, v in tags.items()}
    f = {"type": "Feature", "geometry": geometry, "properties": props}
    if id is not None:
        f["id"] = id
    return f


def collection(*features: dict, **members) -> dict:
    """A FeatureCollection of the given features."""
    return {"type": "FeatureCollection", "features": list(features), **members}


def square(x: float, y: float, size: float) -> dict:
    """A square polygon geometry (GeoJSON mapping) with its lower-left corner at (x, y)."""
    return {
        "type": "Polygon",
        "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]],
    }
