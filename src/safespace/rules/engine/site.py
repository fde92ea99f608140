"""What a rule receives: the :class:`Site`, with the assessment's one analysis cache.

The site hands a rule the layout, its parameters and the analyses, computed once per
assessment; ``site.shared(GROUP)`` is the analysis a settings group feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import shapely

from safespace.errors import RuleError
from safespace.rules.engine.definition import Rule
from safespace.rules.engine.params import SettingsGroup

if TYPE_CHECKING:
    from safespace.layout import Layout


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
        layout: Layout,
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
        """The site boundary, or the layout's extent when none was given (computed once:
        the extent reads every layer's bounds, and rules ask for it per finding)."""
        return self.analysis(_site_polygon)

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


def _site_polygon(layout: Layout) -> shapely.Geometry:
    """:attr:`Layout.site_polygon`, as an analysis for :attr:`Site.site_polygon`."""
    return layout.site_polygon
