"""Resource limits: refuse, quickly and clearly, what would exhaust memory or time.

A layout with millions of features, data spanning a region, or an analysis grid of hundreds
of millions of points is not a site assessment: safespace stops it with a
:class:`~safespace.errors.ResourceLimitError` naming the input, the measure, its value and
the limit, before allocating anything large. The limits are configurable
(``safespace.load(..., limits=...)``, ``safespace.assess(..., limits=...)``, the CLI's
``--max-features``, ``--max-area-km2`` and ``--max-analysis-points``); ``docs/reliability.md``
gives the defaults and why.

The limits in force are held in a context variable, so analyses deep in a rule can check a
grid's size (:func:`check_points`) without every call passing them down.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any

from safespace.errors import ResourceLimitError


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what one assessment may take on.

    Parameters
    ----------
    max_features
        Features in one input (proposal, context or police source). Default 1,000,000:
        about forty times Monaco's 23,000 buildings, a whole city district.
    max_area_km2
        Area where the data is (the convex hull of the features' centres), in km². Default 100:
        ten times the Monaco extract; a site assessment is rarely more than a few km², and
        larger areas belong in ``safespace batch`` tiles.
    max_analysis_points
        Points of one analysis grid (route samples, lighting grid, area grid). Default
        20,000,000: about 1.5 GB of float64 coordinates and values in one grid.
    """

    max_features: int = 1_000_000
    max_area_km2: float = 100.0
    max_analysis_points: int = 20_000_000

    @classmethod
    def of(cls, value: Limits | Mapping[str, Any] | None) -> Limits:
        """Limits from a :class:`Limits`, a mapping of some of its fields, or None (the
        limits in force)."""
        if value is None:
            return active()
        if isinstance(value, Limits):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"limits must be a Limits or a mapping, not {type(value).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {unknown}; known: {sorted(known)}")
        out = replace(active(), **{k: v for k, v in value.items() if v is not None})
        for f in fields(out):
            v = getattr(out, f.name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
                raise ValueError(f"limit {f.name} must be a positive number, not {v!r}")
        return out


# Limits is frozen, so one shared default instance is safe
_ACTIVE: ContextVar[Limits] = ContextVar("safespace_limits", default=Limits())  # noqa: B039


def active() -> Limits:
    """The limits in force (the defaults unless :func:`using` set others)."""
    return _ACTIVE.get()


@contextmanager
def using(limits: Limits | Mapping[str, Any] | None) -> Iterator[Limits]:
    """Put ``limits`` in force for the ``with`` block (None keeps those in force)."""
    value = Limits.of(limits)
    token = _ACTIVE.set(value)
    try:
        yield value
    finally:
        _ACTIVE.reset(token)


def check_features(n: int, source: str) -> None:
    """Refuse an input of more than ``max_features`` features."""
    limit = active().max_features
    if n > limit:
        raise ResourceLimitError(
            f"{n:,} features, more than the limit of {limit:,} (max_features): clip the "
            "input to the area to assess, or raise the limit (limits={'max_features': ...}, "
            "--max-features)",
            file=source,
            limit="max_features",
            value=n,
        )


def check_area(area_m2: float, source: str) -> None:
    """Refuse data whose extent covers more than ``max_area_km2``."""
    limit = active().max_area_km2
    km2 = area_m2 / 1e6
    if not km2 <= limit:  # also refuses NaN
        raise ResourceLimitError(
            f"the data covers {km2:,.1f} km², more than the limit of {limit:g} km² "
            "(max_area_km2): clip it to the area to assess, split it into tiles with "
            "`safespace batch`, or raise the limit (--max-area-km2)",
            file=source,
            limit="max_area_km2",
            value=km2,
        )


def check_points(n: int, what: str) -> None:
    """Refuse an analysis grid of more than ``max_analysis_points`` points, before it is
    allocated."""
    limit = active().max_analysis_points
    if n > limit:
        raise ResourceLimitError(
            f"the {what} would have {n:,} points, more than the limit of {limit:,} "
            "(max_analysis_points): assess a smaller area, use a coarser spacing, or raise "
            "the limit (--max-analysis-points)",
            limit="max_analysis_points",
            value=n,
        )
