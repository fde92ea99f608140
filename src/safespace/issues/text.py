"""The words of an issue: its evidence lines, its summary and its one recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safespace._place import (
    ROUTE_WORDS,
    PlaceIndex,
    first_sentence,
    join_names,
    plain_text,
    plural,
)
from safespace.findings import Finding, severity_rank

if TYPE_CHECKING:
    pass

from safespace.issues.kinds import CLAUSES, DATA_GAP, OTHER, Kind


def _evidence_lines(members: list[Finding], idx: PlaceIndex) -> list[str]:
    by_rule: dict[str, list[Finding]] = {}
    for f in members:
        by_rule.setdefault(f.rule_id, []).append(f)
    lines = []
    for rid in sorted(
        by_rule, key=lambda r: (-max(severity_rank(f.severity) for f in by_rule[r]), r)
    ):
        group = by_rule[rid]
        worst = max(group, key=lambda f: severity_rank(f.severity))
        msg = first_sentence(plain_text(worst.message, idx)) if worst.message else ""
        head = plain_text(worst.title, idx) or rid
        line = f"{head}: {msg}" if msg else head
        if len(group) > 1:
            line += f" ({plural(len(group), 'finding')}; the worst is quoted)"
        lines.append(line)
    return lines


def _what(members: list[Finding], idx: PlaceIndex) -> str:
    labels = []
    for f in members:  # the first feature that is not a route: the thing the rule is about
        own = [x for x in f.features if not idx.is_route(x)]
        if own:
            labels.append(idx.label(own[0]))
    return join_names(labels) or "it"


def _recommendation(kind: Kind, place: str, members: list[Finding], idx: PlaceIndex) -> str:
    rules = sorted({f.rule_id for f in members})
    if kind is DATA_GAP:
        resolves = []
        for f in members:
            gap = f.evidence.get("gap", {}) if isinstance(f.evidence, dict) else {}
            text = gap.get("resolve") if isinstance(gap, dict) else None
            resolves.append(text or first_sentence(f.recommendation))
        body = "; ".join(dict.fromkeys(r for r in resolves if r)) or "supply the missing data"
        return _sentence(body)
    if kind is OTHER or kind.key == "police_access":
        recs = [first_sentence(plain_text(f.recommendation, idx)) for f in members]
        recs = [r for r in dict.fromkeys(recs) if r]
        return _sentence("; ".join(recs[:3]) or kind.action)
    clauses = []
    # advisory members add no action to an issue that has findings above advisory
    weighty = {f.rule_id for f in members if f.severity != "info"}
    for rid in rules:
        if rid in kind.answers or rid not in CLAUSES or (weighty and rid not in weighty):
            continue
        of_rule = [f for f in members if f.rule_id == rid]
        clause = CLAUSES[rid].format(what=_what(of_rule, idx))
        if clause not in clauses:
            clauses.append(clause)
    text = f"{_cap(_with_noun(place, kind.noun))}: {kind.action}"
    if clauses:
        text += "; also " + "; ".join(clauses)
    return _sentence(text)


def _with_noun(place: str, noun: str | None) -> str:
    """``footway fp01 (…)`` → ``rear footpath fp01 (…)``: the kind's noun for the route's."""
    if not noun:
        return place
    for word in sorted(set(ROUTE_WORDS.values()), key=len, reverse=True):
        for lead in ("the ", ""):
            if place.startswith(lead + word + " "):
                return lead + noun + place[len(lead + word) :]
    return place


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _sentence(text: str) -> str:
    text = _cap(text.strip())
    return text if text.endswith(".") else text + "."


def _gap_title(members: list[Finding]) -> str:
    areas = sorted({f.area.replace("_", " ") for f in members})
    return f"Data gap in {join_names(areas)}"
