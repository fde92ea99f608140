"""A rule's parameters, and the settings groups several rules share.

:class:`Param` describes one parameter (default, unit, meaning, source); a
:class:`SettingsGroup` is a set of parameters a profile sets once, under
``[settings.NAME]``, for every rule reading the analyses it feeds (:class:`Feed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from safespace.errors import RuleError


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
