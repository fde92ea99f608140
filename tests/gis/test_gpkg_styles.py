"""GeoPackage output a GIS user can open: a QGIS style per layer in ``layer_styles``."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

import safespace
from safespace.io.gpkg_styles import SEVERITY_COLOURS
from tests.conftest import FIXTURES

SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def demo_gpkg(tmp_path_factory):
    result = safespace.assess(FIXTURES / "demo_estate.geojson")
    path = result.to_gpkg(tmp_path_factory.mktemp("gpkg") / "demo.gpkg")
    return result, path


def test_every_layer_has_a_default_style_coloured_by_severity(demo_gpkg):
    result, path = demo_gpkg
    layers = [name for name, _ in pyogrio.list_layers(path)]
    assert "issues" in layers
    assert pyogrio.read_info(path, layer="issues")["features"] == len(result.issues)
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        registered = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
    assert registered == ("attributes",)
    styled = {name: (geom, qml, default) for name, geom, qml, default in rows}
    spatial = [n for n in layers if n.startswith("findings_") and n != "findings_unlocated"]
    assert sorted(styled) == sorted([*spatial, "issues"])
    for name, (geom, qml, default) in styled.items():
        assert default == 1 and geom == "geom"
        root = ET.fromstring(qml.split("\n", 1)[1])
        renderer = root.find("renderer-v2")
        assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "severity"
        values = [c.get("value") for c in renderer.find("categories")]
        assert values == ["high", "medium", "low", "info"]
        label = root.find("labeling/settings/text-style").get("fieldName")
        assert label == ("place" if name == "issues" else "title")
        kind = {"findings_points": "marker", "findings_lines": "line",
                "findings_polygons": "fill", "issues": "marker"}[name]  # fmt: skip
        assert {s.get("type") for s in renderer.find("symbols")} == {kind}
        assert SEVERITY_COLOURS["high"] in qml


@pytest.mark.skipif(
    subprocess.run([str(SYSTEM_PYTHON), "-c", "import qgis.core"], capture_output=True).returncode
    != 0
    if SYSTEM_PYTHON.exists()
    else True,
    reason="PyQGIS absent (apt-get install python3-qgis)",
)
def test_qgis_applies_the_styles_on_open(demo_gpkg, tmp_path):
    _, path = demo_gpkg
    script = (
        "import sys\n"
        "from qgis.core import QgsApplication, QgsVectorLayer\n"
        "app = QgsApplication([], False); app.initQgis()\n"
        "for name in ('findings_lines', 'issues'):\n"
        "    lyr = QgsVectorLayer(sys.argv[1] + '|layername=' + name, name, 'ogr')\n"
        "    r = lyr.renderer()\n"
        "    cats = {c.value(): c.symbol().color().name() for c in r.categories()}\n"
        "    print(name, lyr.isValid(), r.type(), r.classAttribute(), lyr.labelsEnabled(),\n"
        "          lyr.labeling().settings().fieldName, cats['high'], cats['info'])\n"
        "sys.stdout.flush()\n"
        "import os; os._exit(0)  # QGIS 3.22 may crash tearing down; the answer is printed\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime),
               QGIS_CUSTOM_CONFIG_PATH=str(tmp_path))  # fmt: skip
    done = subprocess.run([str(SYSTEM_PYTHON), "-c", script, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    assert "findings_lines True categorizedSymbol severity True title #d7191c #74add1" in lines
    assert "issues True categorizedSymbol severity True place #d7191c #74add1" in lines
