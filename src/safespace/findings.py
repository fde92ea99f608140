"""The values rules produce and an assessment holds: findings, metrics, scores, input notes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from shapely.geometry.base import BaseGeometry

Severity = Literal["info", "low", "medium", "high"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high")
AREAS: tuple[str, ...] = ("sightlines", "lighting", "permeability", "police_access")


def severity_rank(severity: str) -> int:
    """Order of a severity: info 0, low 1, medium 2, high 3."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; use one of {SEVERITIES}") from None


@dataclass
class Finding:
    """One located, evidenced problem (or recommendation) found by a rule.

    Parameters
    ----------
    rule_id
        The rule's stable id (``SL001``); filled in by the engine when a rule leaves it blank.
    severity
        ``info``, ``low``, ``medium`` or ``high``.
    title
        A short headline.
    message
        What was found, in a sentence a planner can paste into a consultation response.
    geometry
        Where, in the layout's metric CRS.
    evidence
        The measured values behind the finding (numbers in metres, lux, seconds).
    recommendation
        How to fix it.
    references
        The guidance the finding rests on; the rule's references when left empty.
    area
        The rule area (filled in by the engine).
    view
        For areas where guidance disagrees, which view the finding comes from (e.g.
        ``secured-by-design`` or ``connectivity``).
    features
        Ids of the input features involved.
    """

    rule_id: str = ""
    severity: str = "medium"
    title: str = ""
    message: str = ""
    geometry: BaseGeometry | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    recommendation: str = ""
    references: list[str] = field(default_factory=list)
    area: str = ""
    view: str | None = None
    features: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        severity_rank(self.severity)


@dataclass(frozen=True)
class Metric:
    """A measured value a rule reports for its area (``intersection_density_km2``: 98.2)."""

    key: str
    value: Any
    unit: str = ""
    area: str = ""


@dataclass(frozen=True)
class Score:
    """An area's score, 0 (worst) to 100 (best), with a one-line explanation."""

    area: str
    value: float
    explanation: str

    def __post_init__(self) -> None:
        if not (0.0 <= self.value <= 100.0) or math.isnan(self.value):
            raise ValueError(f"score for {self.area} must lie in 0..100, got {self.value}")


@dataclass(frozen=True)
class InputNote:
    """Something done to the input on the way in: a repair, a drop, a merge, a warning."""

    level: str
    code: str
    message: str
    file: str | None = None
    feature: str | None = None

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.feature and f"feature {self.feature}") if p)
        return f"[{self.level}] {self.code}: {where + ': ' if where else ''}{self.message}"
