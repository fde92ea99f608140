"""The values rules produce and an assessment holds: findings, metrics, scores, input notes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from shapely.geometry.base import BaseGeometry

Severity = Literal["info", "low", "medium", "high"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high")
AREAS: tuple[str, ...] = ("sightlines", "lighting", "permeability", "police_access")

#: The planning weight of each severity: what a consultation response does with it.
#: ``objection`` — the scheme should not be approved as drawn; ``amend`` — the layout should
#: change before approval; ``condition`` — acceptable if secured by a planning condition;
#: ``advisory`` — a note for the applicant (data gaps, context, unverified thresholds).
PLANNING_WEIGHT: dict[str, str] = {
    "high": "objection",
    "medium": "amend",
    "low": "condition",
    "info": "advisory",
}

#: How a finding knows what it says. ``measured``: the data it needs was present;
#: ``modelled``: a documented default stood in (the assumptions are listed in
#: ``evidence["assumptions"]``); ``data-gap``: it could not be assessed from the data.
BASES: tuple[str, ...] = ("measured", "modelled", "data-gap")

#: Where a finding lies: inside the red line of a proposal, or in the existing area around
#: it (everything is ``context`` when no site boundary was given: nothing is proposed).
SCOPES: tuple[str, ...] = ("proposal", "context")


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
    basis
        ``measured``, ``modelled`` or ``data-gap`` (see :data:`BASES`).
    rests_on
        Names of the rule parameters (thresholds) the finding's severity rests on; a
        threshold whose source is marked ``[unverified]`` cannot lift it above advisory.
    id
        ``SL001-0003``: the rule id and the finding's place in the assessment's order
        (filled in by the assessment; stable for the same input and profile).
    graded_by
        Names of thresholds that only raised the finding one grade (a 50 m stretch is
        ``high`` rather than ``medium``); an ``[unverified]`` one takes that grade back.
    scope
        ``proposal`` or ``context`` (filled in by the assessment from the site boundary).
    issue_id
        The :class:`Issue` the finding belongs to (filled in by the assessment).
    moderation
        Why the assessment lowered the rule's severity (data gap, context, data edge,
        unverified threshold), each as a sentence; empty when it did not.
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
    basis: str = "measured"
    rests_on: list[str] = field(default_factory=list)
    graded_by: list[str] = field(default_factory=list)
    id: str = ""
    scope: str = ""
    issue_id: str = ""
    moderation: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        severity_rank(self.severity)
        if self.basis not in BASES:
            raise ValueError(f"unknown basis {self.basis!r}; use one of {BASES}")

    @property
    def planning_weight(self) -> str:
        """``objection``, ``amend``, ``condition`` or ``advisory`` (:data:`PLANNING_WEIGHT`)."""
        return PLANNING_WEIGHT[self.severity]

    def moderate(self, severity: str, reason: str) -> None:
        """Lower the severity to at most ``severity``, recording why (never raises it)."""
        if severity_rank(self.severity) > severity_rank(severity):
            self.moderation.append(f"{reason} (rule said {self.severity})")
            self.severity = severity


@dataclass(frozen=True)
class Metric:
    """A measured value a rule reports for its area (``intersection_density_km2``: 98.2)."""

    key: str
    value: Any
    unit: str = ""
    area: str = ""


@dataclass(frozen=True)
class Score:
    """An area's score, 0 (worst) to 100 (best), with a one-line explanation.

    ``value`` is None when nothing in the area could be assessed (*not assessable*: not a
    number, never 0 or 100). ``confidence`` is the share (0–1) of the area that could be
    assessed from measured data, when known.
    """

    area: str
    value: float | None
    explanation: str
    confidence: float | None = None

    def __post_init__(self) -> None:
        if self.value is not None and (math.isnan(self.value) or not (0.0 <= self.value <= 100.0)):
            raise ValueError(f"score for {self.area} must lie in 0..100, got {self.value}")
        if self.confidence is not None and not (0.0 <= self.confidence <= 1.0):
            raise ValueError(f"confidence for {self.area} must lie in 0..1")

    @property
    def assessable(self) -> bool:
        """False when the area could not be scored (``value`` is None)."""
        return self.value is not None

    def label(self) -> str:
        """The value as text: ``73`` or ``not assessable``."""
        return "not assessable" if self.value is None else f"{self.value:.0f}"


@dataclass
class Issue:
    """Findings that concern one place, as one point of a consultation response.

    Attributes
    ----------
    id
        Stable id (``I-`` and a hash of the place key), the same for the same input.
    place
        Where, in words from the data: a street or building name, "between … and …", or a
        grid reference.
    title
        A headline naming the problem and the place.
    severity
        The worst member finding's severity; ``planning_weight`` says it in planning terms.
    rules
        The rule ids of the members, sorted.
    finding_ids
        The member findings' ids (``SL001-0003``) in assessment order.
    areas
        The rule areas of the members.
    geometry
        The union of the members' geometries (layout CRS).
    extent_m
        Length of route (m) the issue covers, or the size of its place where it is not a
        route.
    evidence
        One line per member rule: what was measured.
    recommendation
        One action answering all the members.
    priority
        The ranking score (higher first), see ``docs/scoring.md``; ``priority_terms`` its parts.
    basis
        ``measured`` when any member is measured, else ``modelled`` or ``data-gap``.
    scope
        ``proposal`` when any member lies in the proposal, else ``context``.
    key_concern
        True for the issues the report and response lead with.
    """

    id: str
    place: str
    title: str
    severity: str
    rules: list[str]
    finding_ids: list[str]
    areas: list[str]
    geometry: BaseGeometry | None
    extent_m: float
    evidence: list[str]
    recommendation: str
    priority: float = 0.0
    priority_terms: dict[str, float] = field(default_factory=dict)
    basis: str = "measured"
    scope: str = "context"
    key_concern: bool = False
    references: list[str] = field(default_factory=list)
    kind: str = ""

    @property
    def planning_weight(self) -> str:
        """``objection``, ``amend``, ``condition`` or ``advisory``."""
        return PLANNING_WEIGHT[self.severity]


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
