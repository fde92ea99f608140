"""Per-area figures for the report: the registry rule areas add theirs to, and rendering.

A figure function takes the :class:`~safespace.Assessment` and returns a :class:`Figure`
(or None when it has nothing to show, e.g. its analysis did not run). It reuses the rules'
cached analyses, never a version of its own: the analysis a settings group feeds through
:func:`shared_analysis` (the grid the lighting rules read, with the profile's
``[settings.lighting]``), any other through ``assessment.analysis(func, **kwargs)`` with
the arguments the rules use. Register it once, at import time of the module that defines
the area's rules::

    from safespace.report import Figure, register_figure
    from safespace.report.figures import shared_analysis

    @register_figure("lighting")
    def illuminance_map(assessment):
        grid = shared_analysis(assessment, "lighting")
        if grid is None:  # no lighting rule ran
            return None
        fig = matplotlib.figure.Figure(figsize=(8, 6))
        ...
        return Figure("Horizontal illuminance", alt="Heat map of ...", image=fig)

This module imports nothing heavy: rule modules can register figures without pulling in
Jinja2 or matplotlib.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OVERVIEW = "overview"


@dataclass
class Figure:
    """A static figure for the report.

    Parameters
    ----------
    title
        Shown above the figure.
    alt
        Alternative text describing what the figure shows (required: screen readers and
        printed reports without images rely on it).
    image
        PNG bytes, SVG text (or bytes), or a ``matplotlib.figure.Figure`` (rendered to PNG).
    caption
        One or two sentences under the figure: what to read from it, and its method.
    """

    title: str
    alt: str
    image: Any
    caption: str = ""


FigureFunc = Callable[[Any], "Figure | None"]
_REGISTRY: dict[str, list[tuple[str, FigureFunc]]] = {}


def register_figure(area: str, func: FigureFunc | None = None, *, name: str | None = None):
    """Register ``func(assessment) -> Figure | None`` to draw a figure in ``area``'s section.

    Usable as ``register_figure("lighting", func)`` or as a decorator
    ``@register_figure("lighting")``. Registering the same function (by module and name, or
    ``name``) again replaces it, so re-imports do not duplicate figures.

    Parameters
    ----------
    area
        A rule area (``sightlines``, ``lighting``, ``permeability``, ``police_access``,
        ``input``, ``x-...``) or ``"overview"`` for the summary section.
    func
        The figure function.
    name
        A stable name for the figure (default: the function's module and qualified name).

    Returns
    -------
    The function, unchanged (or a decorator when ``func`` is omitted).
    """

    def add(f: FigureFunc) -> FigureFunc:
        key = name or f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', repr(f))}"
        entries = [e for e in _REGISTRY.get(area, []) if e[0] != key]
        entries.append((key, f))
        _REGISTRY[area] = entries
        return f

    return add if func is None else add(func)


def shared_analysis(assessment: Any, group: str, feed: str | None = None, **extra: Any) -> Any:
    """The analysis a settings group feeds, as the assessment's rules computed it.

    The same cached object the rules read (``site.shared(group, feed)`` with the values
    the rules reading the group ran with): a figure never draws a grid of its own with
    other settings.

    Parameters
    ----------
    assessment
        A :class:`~safespace.Assessment` (anything with a ``site``).
    group
        The settings group: ``lighting``, ``surveillance``, ``rear_access``,
        ``police_access`` or a rule pack's.
    feed
        One of the group's analyses (``"stretches"``); its main one when omitted.
    **extra
        The arguments the rules pass that are not settings (``mode="walk",
        premises="public"`` for the police access field), so the figure reaches the rules'
        cached result rather than computing another.

    Returns
    -------
    The analysis, or None when the assessment has no site or no rule reading the group ran
    (nothing is computed then).
    """
    site = getattr(assessment, "site", None)
    if site is None or site.settings(group) is None:
        return None
    return site.shared(group, feed, **extra)


def unregister_figure(area: str, name: str) -> None:
    """Remove a registered figure (by the name :func:`registered_figures` lists)."""
    _REGISTRY[area] = [e for e in _REGISTRY.get(area, []) if e[0] != name]


def registered_figures() -> dict[str, list[str]]:
    """The registered figure names per area."""
    return {a: [n for n, _ in entries] for a, entries in _REGISTRY.items() if entries}


@dataclass
class RenderedFigure:
    """A figure ready for the page: a data URI and its texts (or the error that stopped it)."""

    area: str
    name: str
    title: str = ""
    alt: str = ""
    caption: str = ""
    src: str = ""
    error: str = ""


def _data_uri(image: Any) -> str:
    if hasattr(image, "savefig"):  # a matplotlib Figure
        buf = io.BytesIO()
        image.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
        image = buf.getvalue()
    if isinstance(image, str):
        image = image.encode("utf-8")
    if not isinstance(image, bytes | bytearray):
        raise TypeError(f"figure image must be PNG/SVG bytes or a matplotlib Figure, not {image!r}")
    if image[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
    elif image.lstrip()[:1] == b"<":
        # An SVG in an <img> cannot run scripts, so plugin SVG needs no sanitising here.
        mime = "image/svg+xml"
    else:
        raise TypeError("figure image is neither PNG nor SVG")
    return f"data:{mime};base64,{base64.b64encode(bytes(image)).decode('ascii')}"


def render_figures(assessment: Any, areas: list[str]) -> dict[str, list[RenderedFigure]]:
    """Run every registered figure function for ``areas``; a failing one is recorded, not raised."""
    out: dict[str, list[RenderedFigure]] = {}
    for area in areas:
        for name, func in _REGISTRY.get(area, []):
            try:
                fig = func(assessment)
                if fig is None:
                    continue
                if not isinstance(fig, Figure):
                    raise TypeError(f"returned {type(fig).__name__}, not safespace.report.Figure")
                if not fig.alt.strip():
                    raise ValueError("figure has no alt text")
                rendered = RenderedFigure(
                    area, name, fig.title, fig.alt, fig.caption, _data_uri(fig.image)
                )
            except Exception as exc:  # one broken figure must not lose the report
                rendered = RenderedFigure(area, name, error=f"{type(exc).__name__}: {exc}")
            out.setdefault(area, []).append(rendered)
    return out
