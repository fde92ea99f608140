"""The algorithms: Assess layout, Compare before and after, Site a neighbourhood police office.

Each writes its inputs to files safespace reads (or passes the layer's own file), runs the
safespace command, and hands back GeoPackage layers styled by safespace (the styles sit in
the GeoPackage's layer_styles table, so QGIS applies them on load) and the HTML report.
"""

import os
import tempfile

from qgis.core import (
    QgsDataProvider,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsProviderRegistry,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from . import runner

#: Files safespace reads directly: a layer backed by one of these is passed as it is.
DIRECT_SUFFIXES = (
    ".geojson",
    ".json",
    ".osm",
    ".osm.pbf",
    ".pbf",
    ".osm.bz2",
    ".osm.gz",
    ".osm.xml",
    ".fgb",
)
FINDING_LAYERS = ("findings_points", "findings_lines", "findings_polygons", "issues")


def _gpkg_layers(path):
    layer = QgsVectorLayer(path, "probe", "ogr")
    names = []
    for sub in layer.dataProvider().subLayers() if layer.isValid() else []:
        parts = sub.split(QgsDataProvider.sublayerSeparator())
        if len(parts) > 1:
            names.append(parts[1])
    return names


class _SafespaceAlgorithm(QgsProcessingAlgorithm):
    """What the three algorithms share: the command, input files, loading outputs."""

    def group(self):
        return "Safety assessment"

    def groupId(self):  # noqa: N802 - QGIS's name
        return "assessment"

    def createInstance(self):  # noqa: N802 - QGIS's name
        return type(self)()

    def _command(self, feedback):
        try:
            command, version = runner.check_command()
        except runner.SafespaceNotFound as exc:
            raise QgsProcessingException(str(exc)) from None
        feedback.pushInfo("safespace {} at {}".format(".".join(map(str, version)), command))
        return command

    def _input_file(self, parameters, name, context, feedback, folder):
        """A file safespace reads for a layer parameter: its own file, or a GeoPackage copy."""
        layer = self.parameterAsVectorLayer(parameters, name, context)
        if layer is None:
            return None
        if layer.providerType() == "ogr":
            parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
            path = parts.get("path") or ""
            if (
                path.lower().endswith(DIRECT_SUFFIXES)
                and not parts.get("subset")
                and os.path.isfile(path)
            ):
                return path
        out = os.path.join(folder, f"{name.lower()}.gpkg")
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = name.lower()
        result = QgsVectorFileWriter.writeAsVectorFormatV3(
            layer, out, context.transformContext(), options
        )
        if result[0] != QgsVectorFileWriter.NoError:
            raise QgsProcessingException(f"cannot write {name} for safespace: {result[1]}")
        feedback.pushInfo(f"{layer.name()} written to {out} for safespace")
        return out

    def _load(self, context, path, layer, label, output):
        """Load a GeoPackage layer on completion (styled from its layer_styles)."""
        uri = f"{path}|layername={layer}"
        if context.willLoadLayerOnCompletion(uri):
            return uri
        details = QgsProcessingContext.LayerDetails(label, context.project(), output)
        context.addLayerToLoadOnCompletion(uri, details)
        return uri


class AssessAlgorithm(_SafespaceAlgorithm):
    """Assess a layout: findings, issues and the consultation report."""

    def name(self):
        return "assess"

    def displayName(self):  # noqa: N802 - QGIS's name
        return "Assess layout"

    def shortHelpString(self):  # noqa: N802 - QGIS's name
        return (
            "Assesses a layout (OSM-tagged features: building=*, highway=*, lamps, police, "
            "the site boundary) against a safespace profile's rules for sightlines, lighting, "
            "permeability and police access. Findings come back as GeoPackage layers coloured "
            "by severity and labelled with the rule title; issues (findings grouped by place) "
            "labelled with the place; and the HTML consultation report. Runs the safespace "
            "command set under Settings > Options > Processing > Providers > safespace."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS's name
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "INPUT", "Layout", [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "CONTEXT",
                "Existing area around the proposal",
                [QgsProcessing.TypeVectorAnyGeometry],
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterString("PROFILE", "Profile", "default"))
        self.addParameter(
            QgsProcessingParameterFileDestination("OUTPUT", "Findings", "GeoPackage (*.gpkg)")
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "REPORT", "Report", "HTML files (*.html)", optional=True, createByDefault=True
            )
        )
        for key, label in (
            ("FINDINGS_POINTS", "Findings (points)"),
            ("FINDINGS_LINES", "Findings (lines)"),
            ("FINDINGS_POLYGONS", "Findings (areas)"),
            ("ISSUES", "Issues"),
        ):
            self.addOutput(QgsProcessingOutputVectorLayer(key, label))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS's name
        command = self._command(feedback)
        folder = tempfile.mkdtemp(prefix="safespace-qgis-")
        layout = self._input_file(parameters, "INPUT", context, feedback, folder)
        ctx = self._input_file(parameters, "CONTEXT", context, feedback, folder)
        profile = self.parameterAsString(parameters, "PROFILE", context) or "default"
        gpkg = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        report = self.parameterAsFileOutput(parameters, "REPORT", context)
        steps = runner.rule_count(command, profile)
        feedback.setProgress(2)
        args = ["assess", layout, "--profile", profile, "-o", gpkg]
        if ctx:
            args += ["--context", ctx]
        if report:
            args += ["-o", report]
        runner.run(command, args, feedback, steps=steps, start=2, span=97)
        results = {"OUTPUT": gpkg, "REPORT": report or None}
        present = set(_gpkg_layers(gpkg))
        for layer, key, label in (
            ("findings_points", "FINDINGS_POINTS", "Findings (points)"),
            ("findings_lines", "FINDINGS_LINES", "Findings (lines)"),
            ("findings_polygons", "FINDINGS_POLYGONS", "Findings (areas)"),
            ("issues", "ISSUES", "Issues"),
        ):
            if layer in present:
                results[key] = self._load(context, gpkg, layer, label, key)
        return results


class CompareAlgorithm(_SafespaceAlgorithm):
    """Compare the existing situation with a proposal: new, resolved and unchanged findings."""

    def name(self):
        return "compare"

    def displayName(self):  # noqa: N802 - QGIS's name
        return "Compare before and after"

    def shortHelpString(self):  # noqa: N802 - QGIS's name
        return (
            "Assesses the existing situation (INPUT) and the proposal (AFTER) with the "
            "same profile and reports the findings new in the proposal, resolved by it "
            "and unchanged, as GeoJSON and an HTML report."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS's name
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "INPUT", "Before (existing)", [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "AFTER", "After (proposal)", [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "CONTEXT",
                "Existing area around both",
                [QgsProcessing.TypeVectorAnyGeometry],
                optional=True,
            )
        )
        self.addParameter(QgsProcessingParameterString("PROFILE", "Profile", "default"))
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", "Changed findings", "GeoJSON (*.geojson)"
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "REPORT",
                "Comparison report",
                "HTML files (*.html)",
                optional=True,
                createByDefault=True,
            )
        )

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS's name
        command = self._command(feedback)
        folder = tempfile.mkdtemp(prefix="safespace-qgis-")
        before = self._input_file(parameters, "INPUT", context, feedback, folder)
        after = self._input_file(parameters, "AFTER", context, feedback, folder)
        ctx = self._input_file(parameters, "CONTEXT", context, feedback, folder)
        profile = self.parameterAsString(parameters, "PROFILE", context) or "default"
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        report = self.parameterAsFileOutput(parameters, "REPORT", context)
        steps = runner.rule_count(command, profile)
        args = ["compare", before, after, "--profile", profile, "-o", out]
        if ctx:
            args += ["--context", ctx]
        if report:
            args += ["-o", report]
        runner.run(command, args, feedback, steps=2 * steps if steps else None, start=2, span=97)
        return {"OUTPUT": out, "REPORT": report or None}


class SitePoliceAlgorithm(_SafespaceAlgorithm):
    """Choose sites for new neighbourhood police offices (exact optimisation)."""

    OBJECTIVES = ["coverage", "median", "center"]
    MODES = ["walk", "drive"]

    def name(self):
        return "sitepolice"

    def displayName(self):  # noqa: N802 - QGIS's name
        return "Site a neighbourhood police office"

    def shortHelpString(self):  # noqa: N802 - QGIS's name
        return (
            "Chooses K new police premises (existing ones kept open) that best serve the "
            "layout's homes: most homes within the threshold (coverage), least total time "
            "(median) or least worst time (center), solved exactly by safespace."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS's name
        self.addParameter(
            QgsProcessingParameterVectorLayer(
                "INPUT", "Layout", [QgsProcessing.TypeVectorAnyGeometry]
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "K", "New premises", QgsProcessingParameterNumber.Integer, 1, minValue=1
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum("OBJECTIVE", "Objective", self.OBJECTIVES, defaultValue=0)
        )
        self.addParameter(QgsProcessingParameterEnum("MODE", "Travel", self.MODES, defaultValue=0))
        self.addParameter(
            QgsProcessingParameterNumber(
                "THRESHOLD",
                "Coverage threshold (s)",
                QgsProcessingParameterNumber.Double,
                600.0,
                minValue=1,
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination("OUTPUT", "Chosen sites", "GeoPackage (*.gpkg)")
        )
        self.addOutput(QgsProcessingOutputVectorLayer("CHOSEN", "Chosen sites"))
        self.addOutput(QgsProcessingOutputVectorLayer("CANDIDATES", "Candidates"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS's name
        command = self._command(feedback)
        folder = tempfile.mkdtemp(prefix="safespace-qgis-")
        layout = self._input_file(parameters, "INPUT", context, feedback, folder)
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        k = self.parameterAsInt(parameters, "K", context)
        objective = self.OBJECTIVES[self.parameterAsEnum(parameters, "OBJECTIVE", context)]
        mode = self.MODES[self.parameterAsEnum(parameters, "MODE", context)]
        threshold = self.parameterAsDouble(parameters, "THRESHOLD", context)
        feedback.setProgress(5)
        runner.run(
            command,
            [
                "site-police",
                layout,
                "-k",
                str(k),
                "--objective",
                objective,
                "--mode",
                mode,
                "--threshold-s",
                repr(threshold),
                "-o",
                out,
            ],
            feedback,
            start=5,
            span=94,
        )
        return {
            "OUTPUT": out,
            "CHOSEN": self._load(context, out, "chosen", "Chosen sites", "CHOSEN"),
            "CANDIDATES": self._load(context, out, "candidates", "Candidates", "CANDIDATES"),
        }


class EvaluateAlgorithm(_SafespaceAlgorithm):
    """Evaluate a test area against a control: WDQ and WDD per crime category."""

    def name(self):
        return "evaluate"

    def displayName(self):  # noqa: N802 - QGIS's name
        return "Evaluate test area"

    def shortHelpString(self):  # noqa: N802 - QGIS's name
        return (
            "Counts recorded incidents in the treated area, its buffer, a control area and "
            "the control's buffer before and after, and gives per crime category the "
            "weighted displacement quotient and the weighted displacement difference with "
            "its confidence interval (safespace evaluate; docs/evaluation.md)."
        )

    def initAlgorithm(self, config=None):  # noqa: N802 - QGIS's name
        polygons = [QgsProcessing.TypeVectorPolygon]
        self.addParameter(QgsProcessingParameterVectorLayer("INPUT", "Treated area", polygons))
        self.addParameter(QgsProcessingParameterVectorLayer("CONTROL", "Control area", polygons))
        self.addParameter(
            QgsProcessingParameterString(
                "BUFFER", "Treated area's buffer: ring width in metres", "200", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterString("BEFORE", "Before: month 2016-07, range a..b, or a,b")
        )
        self.addParameter(QgsProcessingParameterString("AFTER", "After: as before"))
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "INCIDENTS", "Incident files (e.g. data.police.uk CSV)", QgsProcessing.TypeFile
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                "CATEGORIES", "Categories (comma-separated; all if empty)", optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination("OUTPUT", "Table", "CSV files (*.csv)")
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "REPORT", "Report", "HTML files (*.html)", optional=True, createByDefault=True
            )
        )

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 - QGIS's name
        command = self._command(feedback)
        folder = tempfile.mkdtemp(prefix="safespace-qgis-")
        treated = self._input_file(parameters, "INPUT", context, feedback, folder)
        control = self._input_file(parameters, "CONTROL", context, feedback, folder)
        incidents = [
            QgsProviderRegistry.instance().decodeUri("delimitedtext", p).get("path") or p
            if p.startswith("file:")
            else p
            for p in self.parameterAsFileList(parameters, "INCIDENTS", context)
        ]
        args = ["evaluate", "--treated", treated, "--control", control]
        buffer = self.parameterAsString(parameters, "BUFFER", context)
        if buffer:
            args += ["--buffer", buffer]
        args += ["--before", self.parameterAsString(parameters, "BEFORE", context)]
        args += ["--after", self.parameterAsString(parameters, "AFTER", context)]
        categories = self.parameterAsString(parameters, "CATEGORIES", context)
        if categories:
            args += ["--categories", categories]
        args += ["--incidents", *incidents]
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        report = self.parameterAsFileOutput(parameters, "REPORT", context)
        runner.run(command, [*args, "-o", out], feedback, start=5, span=45 if report else 94)
        if report:
            runner.run(command, [*args, "-o", report, "-q"], feedback, start=50, span=49)
        return {"OUTPUT": out, "REPORT": report or None}
