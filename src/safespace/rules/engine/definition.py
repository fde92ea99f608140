"""What a rule is: the :class:`Rule` type and the :func:`rule` decorator that makes one.

A rule's id, area and principles are checked here against the ids, areas and CPTED
principles safespace knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safespace.errors import RuleError
from safespace.findings import AREAS, Finding, Metric, Score
from safespace.rules.engine.params import Param, SettingsGroup, _groups_of

if TYPE_CHECKING:
    from safespace.rules.engine.site import Site


RULE_ID = re.compile(r"^[A-Z]{2}\d{3}$")
PRINCIPLES = (
    "natural_surveillance",
    "natural_access_control",
    "territorial_reinforcement",
    "image_and_maintenance",
    "activity_support",
    "target_hardening",
)
INPUT_AREA = "input"
#: Recorded-crime context (CR rules): no design area, no score; see docs/crime.md.
CRIME_AREA = "crime"


#: The id prefixes of safespace's areas: an ``SL`` rule is a sightlines rule, whoever
#: writes it, so a report's grouping by prefix and by area always agree.
PREFIX_AREAS = {
    "SL": "sightlines",
    "LT": "lighting",
    "PM": "permeability",
    "PA": "police_access",
    "CR": "crime",
    "IN": "input",
}


@dataclass(frozen=True)
class Rule:
    """A rule: a stable id, metadata, parameters, and a check that yields findings.

    The check is called as ``check(site)`` and yields :class:`~safespace.Finding`,
    :class:`~safespace.findings.Metric` and at most one :class:`~safespace.findings.Score`.
    """

    id: str
    title: str
    area: str
    check: Callable[[Site], Iterable[Finding | Metric | Score]]
    principles: tuple[str, ...] = ()
    params: Mapping[str, Param] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    description: str = ""
    view: str | None = None
    #: The settings groups the rule reads, by name (a plain mapping of group name to
    #: parameters is accepted and becomes groups that feed no analysis).
    settings: Mapping[str, SettingsGroup] = field(default_factory=dict)
    #: A rule that judges a design decision (where to put police premises, how many links
    #: cross the red line): on the existing context its findings are at most advisory.
    proposal_rule: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", _groups_of(self.settings, f"rule {self.id}"))
        for group, params in self.settings.items():
            clash = set(params) & set(self.params)
            if clash:
                raise RuleError(
                    f"rule {self.id}: {sorted(clash)} are both its own parameters and in the "
                    f"shared settings [{group}]"
                )
        if not RULE_ID.match(self.id):
            raise RuleError(f"rule id {self.id!r} must be two capital letters and three digits")
        bound = PREFIX_AREAS.get(self.id[:2])
        if bound is not None and self.area != bound:
            raise RuleError(
                f"rule {self.id}: the prefix {self.id[:2]} is safespace's {bound!r} area, not "
                f"{self.area!r} (a rule pack uses its own prefix)"
            )
        if self.area not in AREAS + (INPUT_AREA, CRIME_AREA) and not self.area.startswith("x-"):
            raise RuleError(
                f"rule {self.id}: area {self.area!r} is not one of "
                f"{AREAS + (INPUT_AREA, CRIME_AREA)} "
                "(third-party areas start with 'x-')"
            )
        for p in self.principles:
            if p not in PRINCIPLES:
                raise RuleError(f"rule {self.id}: unknown CPTED principle {p!r}; use {PRINCIPLES}")

    @property
    def all_params(self) -> dict[str, Param]:
        """The rule's own parameters and those of the shared settings groups it reads."""
        merged: dict[str, Param] = {}
        for params in self.settings.values():
            merged.update(params)
        merged.update(self.params)
        return merged

    def setting_group(self, name: str) -> str | None:
        """The shared settings group a parameter belongs to, or None for the rule's own."""
        return next((g for g, params in self.settings.items() if name in params), None)

    def defaults(self) -> dict[str, Any]:
        """Every parameter's default, shared settings included."""
        return {name: p.default for name, p in self.all_params.items()}


def rule(
    id: str,
    title: str,
    area: str,
    *,
    principles: Iterable[str] = (),
    params: Mapping[str, Param] | None = None,
    references: Iterable[str] = (),
    view: str | None = None,
    settings: Iterable[SettingsGroup] | Mapping[str, Mapping[str, Param]] | None = None,
    proposal_rule: bool = False,
) -> Callable[[Callable[[Site], Iterable[Any]]], Rule]:
    """Make a :class:`Rule` from a check function.

    ``settings`` lists the :class:`SettingsGroup` objects the rule reads (e.g. the lamp and
    grid assumptions every lighting rule reads, ``safespace.rules.lighting.LIGHTING``): a
    profile sets them once, under ``[settings.GROUP]``, so rules sharing an analysis can
    never disagree about it, and the rule gets the analysis with ``site.shared(GROUP)``.
    ``proposal_rule`` marks a rule that judges a design decision: outside the red line (or
    with no red line) its findings are at most advisory (see ``docs/data.md``).

    Examples
    --------
    >>> @rule("XX001", "Every lamp counted", "lighting", references=["OSM wiki"])
    ... def count_lamps(site):
    ...     yield Metric("lamps", len(site.layout.lamps))
    """

    def wrap(check: Callable[[Site], Iterable[Any]]) -> Rule:
        return Rule(
            id=id,
            title=title,
            area=area,
            check=check,
            principles=tuple(principles),
            params=dict(params or {}),
            references=tuple(references),
            description=(check.__doc__ or "").strip(),
            view=view,
            settings=_groups_of(settings, f"rule {id}"),
            proposal_rule=proposal_rule,
        )

    return wrap
