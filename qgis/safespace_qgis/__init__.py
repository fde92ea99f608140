"""safespace for QGIS: a Processing provider that runs the external ``safespace`` command."""


def classFactory(iface):  # noqa: N802 - QGIS's name
    """QGIS's plugin entry point."""
    from .plugin import SafespacePlugin

    return SafespacePlugin(iface)
