"""Running one rule on a site, and checking what it yields."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shapely.geometry.base import BaseGeometry

from safespace.errors import RuleError
from safespace.findings import BASES, SEVERITIES, Finding, Metric, Score
from safespace.rules.engine.definition import Rule
from safespace.rules.engine.site import Site


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
