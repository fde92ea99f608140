"""Render the screenshots of docs/gis.md headless with PyQGIS (Debian's python3-qgis).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis/tools/render_screenshots.py \
        FINDINGS.gpkg LAYOUT.geojson docs/img

Writes ``gis-findings.png`` (the findings and issues as QGIS styles them on open, over the
layout) and ``gis-dialog.png`` (the Assess layout dialog of the Processing provider).
Needs ``SAFESPACE_COMMAND`` only for running, not for rendering.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def render_map(app, gpkg, layout, out):
    from qgis.core import (
        QgsFillSymbol,
        QgsLineSymbol,
        QgsMapRendererParallelJob,
        QgsMapSettings,
        QgsMarkerSymbol,
        QgsProject,
        QgsRectangle,
        QgsSingleSymbolRenderer,
        QgsVectorLayer,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    layers = []
    for name in ("issues", "findings_points", "findings_lines", "findings_polygons"):
        lyr = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
        if lyr.isValid():
            layers.append(lyr)
    base = []
    for geom, symbol in (
        (
            "Polygon",
            QgsFillSymbol.createSimple({"color": "225,222,215", "outline_color": "150,150,150"}),
        ),
        (
            "LineString",
            QgsLineSymbol.createSimple({"line_color": "170,170,170", "line_width": "0.5"}),
        ),
        ("Point", QgsMarkerSymbol.createSimple({"color": "120,120,120", "size": "1"})),
    ):
        lyr = QgsVectorLayer(f"{layout}|geometrytype={geom}", f"layout {geom}", "ogr")
        if lyr.isValid() and lyr.featureCount():
            lyr.setRenderer(QgsSingleSymbolRenderer(symbol))
            base.append(lyr)
    for lyr in layers + base:
        QgsProject.instance().addMapLayer(lyr)
    settings = QgsMapSettings()
    settings.setLayers(layers + base)  # first drawn on top
    settings.setDestinationCrs(layers[0].crs())
    extent = QgsRectangle()
    for lyr in layers:
        extent.combineExtentWith(lyr.extent())
    extent.scale(1.08)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(1100, 900))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setFlag(settings.DrawLabeling, True)
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(str(out), "png")


def render_dialog(layout, out):
    from qgis.core import QgsApplication, QgsProject, QgsVectorLayer

    sys.path.insert(0, "/usr/share/qgis/python/plugins")  # Debian's Processing plugin
    from processing.core.Processing import Processing
    from processing.gui.AlgorithmDialog import AlgorithmDialog

    Processing.initialize()
    sys.path.insert(0, str(HERE.parent))
    from safespace_qgis.provider import SafespaceProvider

    provider = SafespaceProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    QgsProject.instance().addMapLayer(QgsVectorLayer(str(layout), Path(layout).stem, "ogr"))
    alg = QgsApplication.processingRegistry().createAlgorithmById("safespace:assess")
    dialog = AlgorithmDialog(alg)
    dialog.resize(900, 620)
    dialog.show()
    QgsApplication.processEvents()
    dialog.grab().save(str(out), "png")
    dialog.close()
    return provider


def main():
    from qgis.core import QgsApplication, QgsProject

    gpkg, layout, folder = sys.argv[1:4]
    folder = Path(folder)
    app = QgsApplication([], True)
    app.initQgis()
    keep = render_dialog(layout, folder / "gis-dialog.png")  # noqa: F841 - keep it registered
    QgsProject.instance().removeAllMapLayers()
    render_map(app, gpkg, layout, folder / "gis-findings.png")
    sys.stdout.flush()
    os._exit(0)  # QGIS 3.22 may crash tearing down offscreen; the images are written


if __name__ == "__main__":
    main()
