"""The safespace Processing provider and its setting (the environment folder)."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import runner


class SafespaceProvider(QgsProcessingProvider):
    """Algorithms that run the external safespace command."""

    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting

            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(
                Setting(
                    self.name(),
                    runner.SETTING,
                    "safespace environment folder (holding bin/safespace), or the command",
                    "",
                    valuetype=Setting.FOLDER,
                )
            )
            ProcessingConfig.readSettings()
        except Exception:  # qgis_process without the Processing plugin's config
            pass
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig

            ProcessingConfig.removeSetting(runner.SETTING)
        except Exception:
            pass

    def loadAlgorithms(self):  # noqa: N802 - QGIS's name
        from .algorithms import (
            AssessAlgorithm,
            CompareAlgorithm,
            EvaluateAlgorithm,
            SitePoliceAlgorithm,
        )

        for alg in (AssessAlgorithm(), CompareAlgorithm(), SitePoliceAlgorithm(),
                    EvaluateAlgorithm()):  # fmt: skip
            self.addAlgorithm(alg)

    def id(self):
        return "safespace"

    def name(self):
        return "safespace"

    def longName(self):  # noqa: N802 - QGIS's name
        return "safespace: safety assessment of public-space layouts"

    def icon(self):
        return QIcon(os.path.join(os.path.dirname(__file__), "icon.svg"))
