"""The rule engine: what a rule is, how rules are found, and what a rule receives."""

from __future__ import annotations

import re
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from safespace.errors import RuleError
from safespace.findings import AREAS, BASES, SEVERITIES, Finding, Metric, Score

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
#: Recorded-crime context (CR rules): no design area, no score; see docs/crime.md.
CRIME_AREA = "crime"


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
class Feed:
    """One analysis a settings group feeds, and how the group's parameters reach it.

    Parameters
    ----------
    func
        The analysis, called as ``func(layout, **kwargs)`` through the site's cache.
    kwargs
        Group parameter name to the keyword argument of ``func`` it sets (``{"spacing_m":
        "spacing"}``). Values are converted to the parameter's type (a list becomes a
        tuple, so every argument is hashable).
    inputs
        Keyword argument of ``func`` to the name of another feed of the same group whose
        (cached) result it takes, e.g. ``{"grid": "grid"}``: the stretch table is computed
        from the group's illuminance grid, keyed by that grid's identity.
    """

    func: Callable[..., Any]
    kwargs: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)


class SettingsGroup(Mapping[str, Param]):
    """Parameters several rules share because they read the same analysis.

    A profile sets them once, under ``[settings.NAME]``, for every rule that declares the
    group (``settings=[GROUP]`` on :func:`rule`), so two rules can never read two different
    versions of one analysis. The group names the analyses it feeds (:class:`Feed`): a rule
    gets one with ``site.shared(NAME)`` (the first feed) or ``site.shared(NAME, FEED)``,
    never by rebuilding the keyword arguments itself.

    The group is a read-only mapping of parameter name to :class:`Param`.

    Parameters
    ----------
    name
        The group's name: the ``GROUP`` of ``[settings.GROUP]``.
    params
        Its parameters, by name.
    analyses
        The analyses it feeds, by feed name; the first is the group's main analysis.
        Empty for a group that only shares values.
    description
        One sentence on what the group describes (printed in ``docs/profiles.md``).

    Examples
    --------
    >>> from safespace.analyses.surveillance import surveillance_field
    >>> group = SettingsGroup(
    ...     "my_field",
    ...     {"spacing_m": Param(5.0, "m", "sample spacing", "safespace convention")},
    ...     {"field": Feed(surveillance_field, {"spacing_m": "spacing"})},
    ... )
    >>> group.arguments(group.feed(), {"spacing_m": 4})
    {'spacing': 4.0}
    """

    def __init__(
        self,
        name: str,
        params: Mapping[str, Param],
        analyses: Mapping[str, Feed] | None = None,
        *,
        description: str = "",
    ) -> None:
        self.name = name
        self._params = dict(params)
        self._analyses = dict(analyses or {})
        self.description = description
        for feed_name, feed in self.analyses.items():
            unknown = set(feed.kwargs) - set(self.params)
            if unknown:
                raise RuleError(
                    f"settings group {name!r}: feed {feed_name!r} maps {sorted(unknown)}, "
                    "which are not parameters of the group"
                )
            missing = set(feed.inputs.values()) - set(self.analyses)
            if missing:
                raise RuleError(
                    f"settings group {name!r}: feed {feed_name!r} takes the result of "
                    f"{sorted(missing)}, which are not feeds of the group"
                )

    @property
    def params(self) -> Mapping[str, Param]:
        """The group's parameters, by name (read-only)."""
        return MappingProxyType(self._params)

    @property
    def analyses(self) -> Mapping[str, Feed]:
        """The analyses the group feeds, by feed name; the first is the main one."""
        return MappingProxyType(self._analyses)

    def __getitem__(self, key: str) -> Param:
        return self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return f"SettingsGroup({self.name!r}, params={list(self.params)}, analyses={list(self.analyses)})"

    def feed(self, name: str | None = None) -> Feed:
        """The feed called ``name``, or the group's main analysis (its first feed).

        Raises
        ------
        RuleError
            The group feeds no analysis, or none of that name.
        """
        if not self.analyses:
            raise RuleError(f"settings group {self.name!r} feeds no analysis")
        if name is None:
            return next(iter(self.analyses.values()))
        if name not in self.analyses:
            raise RuleError(
                f"settings group {self.name!r} has no analysis {name!r}; "
                f"it feeds {', '.join(self.analyses)}"
            )
        return self.analyses[name]

    def arguments(self, feed: Feed, values: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments ``feed`` gets from the group's parameter ``values``.

        Each value is converted to its parameter's type (int, float, bool, str; a list or
        tuple becomes a tuple), so equal settings always give equal cache keys.
        """
        out: dict[str, Any] = {}
        for pname, kw in feed.kwargs.items():
            out[kw] = _as_kind(values[pname], self.params[pname])
        return out

    def same_as(self, other: SettingsGroup) -> bool:
        """Whether ``other`` is this group: same name, parameters and analyses."""
        return other is self or (
            other.name == self.name
            and dict(other.params) == dict(self.params)
            and dict(other.analyses) == dict(self.analyses)
        )


def _as_kind(value: Any, param: Param) -> Any:
    kind = param.kind
    if kind is list or kind is tuple:
        return tuple(value)
    if kind in (int, float, str, bool):
        return kind(value)
    return value


def _groups_of(
    settings: Mapping[str, Mapping[str, Param]] | Iterable[SettingsGroup] | None, owner: str
) -> dict[str, SettingsGroup]:
    """``settings=`` as given to :func:`rule` or :class:`Rule`, as groups by name.

    A plain mapping of group name to parameters (the older form) becomes a group that
    feeds no analysis.
    """
    if not settings:
        return {}
    if isinstance(settings, Mapping):
        items = list(settings.items())
    else:
        items = []
        for g in settings:
            if not isinstance(g, SettingsGroup):
                raise RuleError(
                    f"{owner}: settings= takes SettingsGroup objects or a mapping of group "
                    f"name to parameters, not {type(g).__name__}"
                )
            items.append((g.name, g))
    out: dict[str, SettingsGroup] = {}
    for name, params in items:
        group = params if isinstance(params, SettingsGroup) else SettingsGroup(name, params)
        if group.name != name:
            raise RuleError(f"{owner}: settings group {group.name!r} given as {name!r}")
        out[name] = group
    return out


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


def _rules_in(obj: Any, origin: str, _depth: int = 0) -> list[Rule]:
    """The rules an entry point (or a module named by ``--rules-from``) gives.

    Raises
    ------
    RuleError
        The object gives something other than rules.
    """
    if _depth > 3:
        raise RuleError(f"{origin}: entry point gives callables returning callables, not rules")
    if isinstance(obj, Rule):
        return [obj]
    if isinstance(obj, types.ModuleType):
        listed = getattr(obj, "RULES", None)
        if listed is not None:
            if isinstance(listed, str | bytes) or not isinstance(listed, Iterable):
                raise RuleError(f"{origin}: RULES is {type(listed).__name__}, not a list of Rules")
            return _rules_in(list(listed), origin, _depth + 1)
        return [v for v in vars(obj).values() if isinstance(v, Rule)]
    if isinstance(obj, list | tuple):
        found = []
        for item in obj:
            if not isinstance(item, Rule):
                raise RuleError(f"{origin}: {item!r:.80} is not a safespace Rule")
            found.append(item)
        return found
    if callable(obj):
        try:
            made = obj()
        except Exception as exc:
            raise RuleError(f"{origin}: raised {type(exc).__name__}: {exc}") from exc
        return _rules_in(made, origin, _depth + 1)
    raise RuleError(f"{origin}: entry point gives {type(obj).__name__}, not rules")


def _is_builtin(ep: Any) -> bool:
    dist = getattr(ep, "dist", None)
    return dist is not None and (dist.metadata["Name"] or "").lower() == "safespace"


def discover_rules(errors: list[RuleError] | None = None) -> dict[str, Rule]:
    """Every rule registered under the ``safespace.rules`` entry-point group, by id.

    Built-in rules are registered the same way as third-party rule packs. An entry point
    may name a module (its ``RULES`` list, or every Rule in it), a Rule, a list of Rules,
    or a callable returning them.

    A broken entry point — one that cannot be imported, gives something other than rules,
    or registers a rule id already taken — is left out *as a whole* and the others are
    still discovered. safespace's own entry points come first, so a rule pack cannot
    replace a built-in rule by reusing its id.

    Parameters
    ----------
    errors
        A list that receives one :class:`~safespace.errors.RuleError` per entry point left
        out, naming it and why (the CLI and assessments report these). When not given, each
        is issued as a :class:`RuleDiscoveryWarning` instead, so it is never silent.

    Returns
    -------
    dict
        Rule id to :class:`Rule`, sorted by id.
    """
    registry: dict[str, Rule] = {}
    origins: dict[str, str] = {}
    problems: list[RuleError] = []
    eps = sorted(
        entry_points(group=ENTRY_POINT_GROUP),
        key=lambda e: (not _is_builtin(e), e.name, e.value),
    )
    for ep in eps:
        origin = f"entry point {ep.name} = {ep.value}"
        try:
            loaded = ep.load()
            found = _rules_in(loaded, origin)
        except RuleError as exc:  # a broken plugin must not hide the others
            if not str(exc).startswith(origin):
                exc = RuleError(f"{origin}: cannot be loaded ({exc})")
            problems.append(exc)
            continue
        except Exception as exc:
            err = RuleError(f"{origin}: cannot be loaded ({type(exc).__name__}: {exc})")
            err.__cause__ = exc
            problems.append(err)
            continue
        mine: dict[str, Rule] = {}
        clash: set[str] = set()
        for r in found:
            if registry.get(r.id, r) is not r or mine.get(r.id, r) is not r:
                clash.add(r.id)
            mine[r.id] = r
        if clash:
            problems.append(
                RuleError(
                    f"{origin}: left out, rule id(s) {', '.join(sorted(clash))} already registered"
                    + "".join(f" ({c} by {origins[c]})" for c in sorted(clash) if c in origins)
                )
            )
            continue
        for r in found:
            registry[r.id] = r
            origins[r.id] = origin
    if errors is not None:
        errors.extend(problems)
    else:
        for err in problems:
            warnings.warn(str(err), RuleDiscoveryWarning, stacklevel=2)
    return dict(sorted(registry.items()))


class RuleDiscoveryWarning(UserWarning):
    """An installed rule pack's entry point was left out of discovery (see its message)."""


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


@dataclass(frozen=True)
class _Result:
    """A cache-key part standing for a cached analysis's result passed as an argument.

    It holds the key under which the result is cached: a key names exactly one object in
    the cache, and the cache keeps that object alive, so this is keying by identity (two
    equal but distinct frames never share it) with a readable, deterministic spelling.
    """

    key: tuple

    def __repr__(self) -> str:
        module, qualname, _ = self.key
        return f"<result of {module}.{qualname}{self.key[2]!r}>"


#: Argument types used in a cache key as they are (by value).
_PLAIN = (type(None), bool, int, float, complex, str, bytes)


class Site:
    """What a rule receives: the layout, its parameters, and the shared analyses.

    Analyses are computed lazily and cached for the whole assessment: ``site.analysis(f,
    **kw)`` runs ``f(layout, **kw)`` the first time any rule asks for it and hands every
    later caller the same object. ``site.shared(GROUP)`` is the analysis a settings group
    feeds (:class:`SettingsGroup`), with the keyword arguments made from the group's
    parameters: the lighting rules and the report's figures reach the same grid that way.

    The cache is the only one: its key is ``(func.__module__, func.__qualname__,
    ((name, value), ...))`` with the keyword arguments sorted by name. A value is used as
    it is when it is a number, text, None, a tuple of those or any other hashable object;
    a result of an analysis in the same cache is keyed by identity (spelled as the key it
    is cached under; the cache keeps it alive); anything else unhashable (a list, a
    DataFrame that is not a cached result, an array) is refused with a
    :class:`~safespace.errors.RuleError`.
    """

    def __init__(
        self,
        layout,
        cache: dict | None = None,
        params: Mapping[str, Any] | None = None,
        assessment: Mapping[str, Any] | None = None,
    ):
        self.layout = layout
        self.params: dict[str, Any] = dict(params or {})
        #: the profile's ``[assessment]`` settings (``edge_margin_m``, ...), read-only
        self.assessment: dict[str, Any] = dict(assessment or {})
        self._cache = cache if cache is not None else {}
        #: the rule this site was handed to (set by :func:`run_rule`), or None
        self._rule: Rule | None = None
        #: settings groups the rules run on this cache read, with the values they read
        #: (shared by every site made from this one, so the assessment's site sees them)
        self._groups: dict[str, tuple[SettingsGroup, dict[str, Any]]] = {}

    def _derived(self, params: Mapping[str, Any], rule_: Rule | None) -> Site:
        site = Site(self.layout, self._cache, params, self.assessment)
        site._rule = rule_
        site._groups = self._groups
        return site

    def with_params(self, params: Mapping[str, Any]) -> Site:
        """The same site and analysis cache, seen with another rule's parameters."""
        return self._derived(params, self._rule)

    def _for_rule(self, rule_: Rule) -> Site:
        """This site as ``rule_`` sees it; records the settings groups it reads."""
        site = self._derived(self.params, rule_)
        for name, group in rule_.settings.items():
            if name not in self._groups and all(p in self.params for p in group):
                self._groups[name] = (group, {p: self.params[p] for p in group})
        return site

    def analysis(self, func: Callable[..., Any], /, **kwargs: Any) -> Any:
        """``func(layout, **kwargs)``, computed once per assessment.

        Raises
        ------
        RuleError
            An argument is unhashable and not the result of an analysis in this cache.
        """
        key = (
            func.__module__,
            func.__qualname__,
            tuple((k, self._key_part(func, k, v)) for k, v in sorted(kwargs.items())),
        )
        if key not in self._cache:
            self._cache[key] = func(self.layout, **kwargs)
        return self._cache[key]

    def _key_part(self, func: Callable[..., Any], name: str, value: Any) -> Any:
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, tuple) and all(isinstance(v, _PLAIN) for v in value):
            return value
        for key, cached in self._cache.items():
            if cached is value:
                return _Result(key)
        if isinstance(value, tuple):
            return tuple(self._key_part(func, name, v) for v in value)
        try:
            hash(value)
        except TypeError:
            raise RuleError(
                f"analysis {func.__qualname__}: argument {name}= is a "
                f"{type(value).__name__}, which is unhashable and not the result of a cached "
                "analysis, so it cannot key the analysis cache; pass a cached analysis's "
                "result, or a hashable value (a tuple, not a list)"
            ) from None
        return value

    def settings(self, group: str) -> dict[str, Any] | None:
        """The values of a settings group as this site sees them.

        A rule's site has them in its parameters (only for the groups the rule declares);
        the assessment's own site (the report's figures) sees the values the rules reading
        the group ran with. None otherwise (e.g. no rule reading the group has run).
        """
        found = self._group(group)
        return None if found is None else dict(found[1])

    def _group(self, name: str) -> tuple[SettingsGroup, dict[str, Any]] | None:
        # a rule reads only the groups it declares (never one another rule happened to run
        # first); the assessment's own site sees every group the rules read
        if self._rule is not None:
            group = self._rule.settings.get(name)
        else:
            group = self._groups[name][0] if name in self._groups else None
        if group is None:
            return None
        if all(p in self.params for p in group):
            return group, {p: self.params[p] for p in group}
        if name in self._groups:
            return group, self._groups[name][1]
        return None

    def shared(self, group: str | SettingsGroup, feed: str | None = None, /, **extra: Any) -> Any:
        """The analysis a settings group feeds, computed once per assessment.

        ``site.shared("lighting")`` is ``site.analysis(illuminance_grid, **kw)`` with ``kw``
        made from the ``[settings.lighting]`` values by the group's :class:`Feed`; ``feed``
        names another analysis of the group (``site.shared("lighting", "stretches")``).
        A feed's ``inputs`` are the group's other (cached) analyses. ``extra`` are further
        keyword arguments that are not settings (``mode="walk"``).

        Parameters
        ----------
        group
            The group's name (on a rule's site, a group the rule declares; on the
            assessment's own site, one a rule that ran read), or the
            :class:`SettingsGroup` itself (then its values are this site's parameters,
            falling back to the group's defaults).
        feed
            The feed's name; the group's main analysis when omitted.
        **extra
            Keyword arguments the settings do not give.

        Raises
        ------
        RuleError
            The rule does not declare the group (on the assessment's own site: no rule
            reading it has run), the group feeds no analysis of that name, or ``extra``
            repeats an argument the settings give.
        """
        if isinstance(group, SettingsGroup):
            found = self._group(group.name)
            if found is None or not found[0].same_as(group):
                found = (group, {p: self.params.get(p, group[p].default) for p in group})
        else:
            found = self._group(group)
            if found is None:
                if self._rule is not None:
                    raise RuleError(
                        f"rule {self._rule.id} does not read the settings group {group!r}; "
                        "declare it with settings=[...] on the rule"
                    )
                raise RuleError(f"no rule reading the settings group {group!r} has run here")
        return self._feed(*found, feed, extra)

    def _feed(
        self, g: SettingsGroup, values: Mapping[str, Any], feed: str | None, extra: Mapping
    ) -> Any:
        f = g.feed(feed)
        kwargs = g.arguments(f, values)
        for kw, other in f.inputs.items():
            kwargs[kw] = self._feed(g, values, other, {})
        clash = sorted(set(kwargs) & set(extra))
        if clash:
            raise RuleError(
                f"settings group {g.name!r} already sets {clash} of {f.func.__qualname__}; "
                f"set them under [settings.{g.name}]"
            )
        return self.analysis(f.func, **kwargs, **extra)

    @property
    def site_polygon(self) -> shapely.Geometry:
        """The site boundary, or the layout's extent when none was given."""
        return self.layout.site_polygon

    def computed(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """What the assessment has already computed of the analysis called ``name``.

        For readers after the rules (issue ranking, report figures) that may use an analysis
        only if a rule computed it, never compute it themselves.

        Parameters
        ----------
        name
            The analysis function's qualified name (``"walk_angular"``).

        Returns
        -------
        list of (kwargs, result)
            One per set of keyword arguments it was computed with, in a stable order (fewest
            arguments first, so the defaults' result leads, then by the arguments' text);
            empty when no rule computed it.
        """
        hits = [
            (dict(key[2]), value)
            for key, value in self._cache.items()
            if isinstance(key, tuple) and len(key) == 3 and key[1] == name
        ]
        return sorted(hits, key=lambda kv: (len(kv[0]), repr(sorted(kv[0].items(), key=str))))

    @property
    def analyses_computed(self) -> int:
        """How many analyses have been computed so far (for tests and progress)."""
        return len(self._cache)


def _malformed(rule_: Rule, item: Any) -> str | None:
    """Why a rule's output item is unusable, or None when it is well formed."""
    if isinstance(item, Finding):
        f = item
        if f.severity not in SEVERITIES:
            return f"severity {f.severity!r} is not one of {', '.join(SEVERITIES)}"
        if f.basis not in BASES:
            return f"basis {f.basis!r} is not one of {', '.join(BASES)}"
        if f.geometry is not None and not isinstance(f.geometry, BaseGeometry):
            return f"geometry is {type(f.geometry).__name__}, not a shapely geometry or None"
        for name in ("rule_id", "title", "message", "recommendation", "area"):
            if not isinstance(getattr(f, name), str):
                return f"{name} is {type(getattr(f, name)).__name__}, not text"
        if f.rule_id and f.rule_id != rule_.id:
            return f"rule_id {f.rule_id!r} is not the rule's own id"
        if not isinstance(f.evidence, Mapping):
            return f"evidence is {type(f.evidence).__name__}, not a mapping"
        for name in ("references", "features", "rests_on", "moderation"):
            value = getattr(f, name)
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
                return f"{name} is {type(value).__name__}, not a list"
        bad = [n for n in f.rests_on if n not in rule_.all_params]
        if bad:
            return f"rests_on names {bad}, which are not parameters of the rule"
        return None
    if isinstance(item, Metric):
        if not isinstance(item.key, str) or not item.key:
            return f"metric key {item.key!r} is not a name"
        return None
    if isinstance(item, Score):
        if item.area != rule_.area:
            return f"score is for area {item.area!r}, not the rule's area {rule_.area!r}"
        return None
    return f"{type(item).__name__} is not a Finding, Metric or Score"


def run_rule(rule_: Rule, site: Site) -> Iterator[Finding | Metric | Score]:
    """Run one rule, filling in the rule's id, area, view and references on its output.

    Raises
    ------
    RuleError
        The rule yielded something malformed (an unknown severity, a geometry that is not a
        shapely geometry, text that is not text, a score for another area, ...). The
        assessment records it as that rule's failure; the other rules' results stand.
    """
    produced = rule_.check(site._for_rule(rule_))
    if produced is None:
        return
    if not isinstance(produced, Iterable):
        raise RuleError(
            f"rule {rule_.id} returned {type(produced).__name__}, not findings (a check must "
            "yield Finding, Metric or Score objects)"
        )
    for n, item in enumerate(produced):
        why = _malformed(rule_, item)
        if why is not None:
            raise RuleError(f"rule {rule_.id} yielded a malformed item (#{n + 1}): {why}")
        if isinstance(item, Finding):
            item.rule_id = item.rule_id or rule_.id
            item.area = item.area or rule_.area
            item.view = item.view or rule_.view
            if not item.references:
                item.references = list(rule_.references)
        elif isinstance(item, Metric):
            if not item.area:
                item = Metric(item.key, item.value, item.unit, rule_.area)
        yield item
