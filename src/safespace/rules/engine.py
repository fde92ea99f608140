"""The rule engine: what a rule is, how rules are found, and what a rule receives."""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import shapely

from safespace.errors import RuleError
from safespace.findings import AREAS, Finding, Metric, Score

ENTRY_POINT_GROUP = "safespace.rules"
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


@dataclass(frozen=True)
class Param:
    """A rule parameter: its default, unit, meaning and the source of the default.

    Parameters
    ----------
    default
        The default value; its type (bool, int, float, str, list) is the parameter's type.
    unit
        ``m``, ``lx``, ``s``, ``1/km2``, ``ratio``, ... or ``""`` for none.
    description
        What the parameter controls.
    source
        Where the default comes from, with GUIDANCE.md's mark (``[checked]``...).
    """

    default: Any
    unit: str = ""
    description: str = ""
    source: str = ""

    @property
    def kind(self) -> type:
        """The Python type values must have (int is accepted where float is wanted)."""
        return type(self.default)


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
    settings: Mapping[str, Mapping[str, Param]] = field(default_factory=dict)
    #: A rule that judges a design decision (where to put police premises, how many links
    #: cross the red line): on the existing context its findings are at most advisory.
    proposal_rule: bool = False

    def __post_init__(self) -> None:
        for group, params in self.settings.items():
            clash = set(params) & set(self.params)
            if clash:
                raise RuleError(
                    f"rule {self.id}: {sorted(clash)} are both its own parameters and in the "
                    f"shared settings [{group}]"
                )
        if not RULE_ID.match(self.id):
            raise RuleError(f"rule id {self.id!r} must be two capital letters and three digits")
        if self.area not in AREAS + (INPUT_AREA,) and not self.area.startswith("x-"):
            raise RuleError(
                f"rule {self.id}: area {self.area!r} is not one of {AREAS + (INPUT_AREA,)} "
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
    settings: Mapping[str, Mapping[str, Param]] | None = None,
    proposal_rule: bool = False,
) -> Callable[[Callable[[Site], Iterable[Any]]], Rule]:
    """Make a :class:`Rule` from a check function.

    ``settings`` names groups of parameters shared by several rules (e.g. the lamp and
    grid assumptions every lighting rule reads): a profile sets them once, under
    ``[settings.GROUP]``, so rules sharing an analysis can never disagree about it.
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
            settings={g: dict(p) for g, p in (settings or {}).items()},
            proposal_rule=proposal_rule,
        )

    return wrap


def _rules_in(obj: Any, origin: str) -> list[Rule]:
    if isinstance(obj, Rule):
        return [obj]
    if isinstance(obj, types.ModuleType):
        listed = getattr(obj, "RULES", None)
        if listed is not None:
            return _rules_in(list(listed), origin)
        return [v for v in vars(obj).values() if isinstance(v, Rule)]
    if isinstance(obj, list | tuple):
        found = []
        for item in obj:
            if not isinstance(item, Rule):
                raise RuleError(f"{origin}: {item!r} is not a safespace Rule")
            found.append(item)
        return found
    if callable(obj):
        return _rules_in(obj(), origin)
    raise RuleError(f"{origin}: entry point gives {type(obj).__name__}, not rules")


def discover_rules() -> dict[str, Rule]:
    """Every rule registered under the ``safespace.rules`` entry-point group, by id.

    Built-in rules are registered the same way as third-party rule packs. An entry point
    may name a module (its ``RULES`` list, or every Rule in it), a Rule, a list of Rules,
    or a callable returning them.

    Raises
    ------
    RuleError
        Two rules with the same id, or an entry point that gives something else.
    """
    registry: dict[str, Rule] = {}
    origins: dict[str, str] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        origin = f"entry point {ep.name} = {ep.value}"
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            raise RuleError(f"{origin}: cannot be loaded ({type(exc).__name__}: {exc})") from exc
        for r in _rules_in(loaded, origin):
            if r.id in registry and registry[r.id] is not r:
                raise RuleError(f"rule id {r.id} is registered twice: {origins[r.id]} and {origin}")
            registry[r.id] = r
            origins[r.id] = origin
    return dict(sorted(registry.items()))


def select_rules(registry: Mapping[str, Rule], selectors: Iterable[str] | None) -> list[str]:
    """Rule ids matching selectors: full ids (``LT001``) or prefixes (``SL``)."""
    ids = list(registry)
    if selectors is None:
        return ids
    chosen = []
    for sel in selectors:
        sel = sel.strip().upper()
        matched = [i for i in ids if i == sel or (not RULE_ID.match(sel) and i.startswith(sel))]
        if not matched:
            raise RuleError(f"no rule matches {sel!r}; known: {', '.join(ids)}")
        chosen += [m for m in matched if m not in chosen]
    return [i for i in ids if i in chosen]


class Site:
    """What a rule receives: the layout, its parameters, and the shared analyses.

    Analyses are computed lazily and cached for the whole assessment: ``site.analysis(f,
    **kw)`` runs ``f(layout, **kw)`` the first time any rule asks for it and hands every
    later caller the same object.
    """

    def __init__(self, layout, cache: dict | None = None, params: Mapping[str, Any] | None = None):
        self.layout = layout
        self.params: dict[str, Any] = dict(params or {})
        self._cache = cache if cache is not None else {}

    def with_params(self, params: Mapping[str, Any]) -> Site:
        """The same site and analysis cache, seen with another rule's parameters."""
        return Site(self.layout, self._cache, params)

    def analysis(self, func: Callable[..., Any], /, **kwargs: Any) -> Any:
        """``func(layout, **kwargs)``, computed once per assessment."""
        key = (func.__module__, func.__qualname__, tuple(sorted(kwargs.items(), key=str)))
        try:
            hash(key)
        except TypeError:
            key = (func.__module__, func.__qualname__, repr(sorted(kwargs.items(), key=str)))
        if key not in self._cache:
            self._cache[key] = func(self.layout, **kwargs)
        return self._cache[key]

    @property
    def site_polygon(self) -> shapely.Geometry:
        """The site boundary, or the layout's extent when none was given."""
        return self.layout.site_polygon

    @property
    def analyses_computed(self) -> int:
        """How many analyses have been computed so far (for tests and progress)."""
        return len(self._cache)


def run_rule(rule_: Rule, site: Site) -> Iterator[Finding | Metric | Score]:
    """Run one rule, filling in the rule's id, area, view and references on its output."""
    for item in rule_.check(site) or ():
        if isinstance(item, Finding):
            item.rule_id = item.rule_id or rule_.id
            item.area = item.area or rule_.area
            item.view = item.view or rule_.view
            if not item.references:
                item.references = list(rule_.references)
        elif isinstance(item, Metric):
            if not item.area:
                item = Metric(item.key, item.value, item.unit, rule_.area)
        elif not isinstance(item, Score):
            raise RuleError(
                f"rule {rule_.id} yielded {type(item).__name__}, not a Finding, Metric or Score"
            )
        yield item
