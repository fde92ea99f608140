"""The rule engine: what a rule is, how rules are found, and what a rule receives.

A package of four parts, every name importable from ``safespace.rules.engine`` itself:

- :mod:`~safespace.rules.engine.params`: :class:`Param`, and the settings groups
  (:class:`SettingsGroup`, :class:`Feed`) several rules share;
- :mod:`~safespace.rules.engine.definition`: :class:`Rule`, the :func:`rule` decorator, and
  the ids, areas and CPTED principles a rule is checked against;
- :mod:`~safespace.rules.engine.discovery`: :func:`discover_rules` (the ``safespace.rules``
  entry points) and :func:`select_rules`;
- :mod:`~safespace.rules.engine.site`: :class:`Site`, with the assessment's analysis cache;
- :mod:`~safespace.rules.engine.run`: :func:`run_rule`, which checks what a rule yields.
"""

from __future__ import annotations

# Re-exported here so that ``safespace.rules.engine.entry_points`` can be replaced (a test
# does, to install fake rule packs): discover_rules looks it up on this package.
from importlib.metadata import entry_points as entry_points

from safespace.rules.engine.definition import (
    CRIME_AREA,
    INPUT_AREA,
    PREFIX_AREAS,
    PRINCIPLES,
    RULE_ID,
    Rule,
    rule,
)
from safespace.rules.engine.discovery import (
    ENTRY_POINT_GROUP,
    RuleDiscoveryWarning,
    discover_rules,
    select_rules,
)
from safespace.rules.engine.discovery import (
    _is_builtin as _is_builtin,
)
from safespace.rules.engine.discovery import (
    _rules_in as _rules_in,
)
from safespace.rules.engine.params import Feed, Param, SettingsGroup
from safespace.rules.engine.params import _as_kind as _as_kind
from safespace.rules.engine.params import _groups_of as _groups_of
from safespace.rules.engine.run import _malformed as _malformed
from safespace.rules.engine.run import run_rule
from safespace.rules.engine.site import _PLAIN as _PLAIN
from safespace.rules.engine.site import Site
from safespace.rules.engine.site import _Result as _Result

# The private names imported ``as`` themselves are used from here by other modules (the
# batch runner's ``_rules_in``): they stay importable from ``safespace.rules.engine`` as
# they were before it became a package.
__all__ = [
    "CRIME_AREA",
    "ENTRY_POINT_GROUP",
    "INPUT_AREA",
    "PREFIX_AREAS",
    "PRINCIPLES",
    "RULE_ID",
    "Feed",
    "Param",
    "Rule",
    "RuleDiscoveryWarning",
    "SettingsGroup",
    "Site",
    "discover_rules",
    "rule",
    "run_rule",
    "select_rules",
]
