"""The plugin object: registers the Processing provider (also under qgis_process)."""

from qgis.core import QgsApplication


class SafespacePlugin:
    """Adds the safespace Processing provider; nothing else in the GUI."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 - QGIS's name
        """Called by QGIS and by qgis_process (which has no GUI)."""
        from .provider import SafespaceProvider

        if self.provider is None:
            self.provider = SafespaceProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 - QGIS's name
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
