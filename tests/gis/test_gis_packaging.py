"""The postgis extra stays optional, and the QGIS plugin never imports safespace."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import FIXTURES, ROOT

PLUGIN = ROOT / "qgis" / "safespace_qgis"


def test_safespace_runs_without_the_postgis_packages(tmp_path):
    """With sqlalchemy, psycopg and geoalchemy2 made unimportable, safespace still assesses
    and writes files, and a database address gives a clear message naming the extra."""
    script = f"""
import sys
for name in ("sqlalchemy", "psycopg", "geoalchemy2"):
    sys.modules[name] = None
import safespace, safespace.cli, safespace.batch, safespace.io.writers, safespace.io.sources
result = safespace.assess({str(FIXTURES / "demo_estate.geojson")!r})
result.to_gpkg({str(tmp_path / "x.gpkg")!r})
try:
    safespace.load("postgresql://u:pw@127.0.0.1:1/gis?table=t")
except ImportError as exc:
    print("IMPORT-ERROR", exc)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "IMPORT-ERROR PostGIS input and output need the postgis extra" in done.stdout
    assert (tmp_path / "x.gpkg").exists()


def test_the_extras_declare_the_postgis_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for name in ("sqlalchemy", "psycopg[binary]", "geoalchemy2"):
        assert any(r.startswith(name) for r in extras["postgis"]), name
        assert any(r.startswith(name) for r in extras["test"]), name
        assert not any(r.startswith(name) for r in project["dependencies"]), name


def test_the_plugin_is_a_processing_provider_that_never_imports_safespace():
    meta = (PLUGIN / "metadata.txt").read_text()
    assert "hasProcessingProvider=yes" in meta and "license=MIT" in meta
    for source in PLUGIN.glob("*.py"):
        text = source.read_text()
        assert "import safespace" not in text and "from safespace" not in text, source
