"""How rules are found: the ``safespace.rules`` entry points, and selecting rules by id."""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from safespace.errors import RuleError
from safespace.rules.engine.definition import RULE_ID, Rule

ENTRY_POINT_GROUP = "safespace.rules"


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
    # looked up on the package, which re-exports it, so that replacing
    # ``safespace.rules.engine.entry_points`` (as the plugin tests do) is obeyed here
    from safespace.rules import engine

    eps = sorted(
        engine.entry_points(group=ENTRY_POINT_GROUP),
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
