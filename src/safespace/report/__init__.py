"""The consultation report: one self-contained, offline HTML file per assessment or comparison.

>>> from safespace.report import write_html              # doctest: +SKIP
>>> write_html(assessment, "report.html")                # doctest: +SKIP

Rule areas add figures with :func:`register_figure`; see ``docs/report.md``. Jinja2 and
matplotlib are imported only when a report is written, so registering a figure is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safespace.report import crime_figures as _crime_figures  # noqa: F401  (crime section figures)
from safespace.report import overview as _overview  # noqa: F401  (registers the overview figure)
from safespace.report.figures import (
    Figure,
    register_figure,
    registered_figures,
    shared_analysis,
    unregister_figure,
)

__all__ = [
    "Figure",
    "register_figure",
    "registered_figures",
    "shared_analysis",
    "unregister_figure",
    "write_comparison_html",
    "write_evaluation_html",
    "write_html",
]


def write_html(assessment: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write the consultation report of an assessment; see :func:`safespace.report.page.write_html`."""
    from safespace.report.page import write_html as _write

    return _write(assessment, path, **kwargs)


def write_comparison_html(comparison: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write the proposal-against-existing report; see :mod:`safespace.report.comparison_page`."""
    from safespace.report.comparison_page import write_comparison_html as _write

    return _write(comparison, path, **kwargs)


def write_evaluation_html(table: Any, path: str | Path, **kwargs: Any) -> Path:
    """Write the test-area evaluation report; see :mod:`safespace.report.evaluation_page`."""
    from safespace.report.evaluation_page import write_evaluation_html as _write

    return _write(table, path, **kwargs)
