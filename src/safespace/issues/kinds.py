"""Issue kinds: what an issue is about (its rules), its title, its action and its clauses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from safespace.findings import Finding

if TYPE_CHECKING:
    pass

from safespace.issues.places import _scope

NETWORK_RULES = frozenset({"PM001", "PM002", "PM003", "PM004"})


#: Police-access findings about the whole layout (homes outside a standard, a best site).
AREA_RULES = frozenset({"PA001", "PA002", "PA005"})


_LIGHT = frozenset({"LT001", "LT002", "LT003", "LT004", "LT005"})


@dataclass(frozen=True)
class Kind:
    """An issue kind: which member rules make it, which it answers, and its action."""

    key: str
    title: str
    noun: str | None
    triggers: frozenset[str]
    answers: frozenset[str]
    action: str


def _k(key, title, noun, triggers, answers, action) -> Kind:
    t = frozenset(triggers.split())
    return Kind(key, title, noun, t, t | frozenset(answers.split()), action)


#: Issue kinds in order of precedence: an issue takes the first kind one of its members
#: triggers. Its recommendation is the kind's action for its place, then a short clause for
#: each member rule the action does not answer (:data:`CLAUSES`).
KINDS: tuple[Kind, ...] = (
    _k(
        "rear_route",
        "Footpath behind homes",
        "rear footpath",
        "PM005",
        "PM007 PM008 PM009 SL001 SL002 SL004 LT001 LT002 LT003 LT004 LT005",
        "remove it, or gate it at the front building line; if it is kept, light it and give "
        "it overlooking windows",
    ),
    _k(
        "hidden_underpass",
        "Underpass with a hidden exit",
        "underpass",
        "SL005",
        "SL001 SL002 LT001 LT002 LT003 LT004 PM008",
        "make the way out visible from the way in (straighten or widen it, or open up its "
        "approaches) and light it to its class throughout, day and night",
    ),
    _k(
        "unobserved_parking",
        "Parking not overlooked",
        None,
        "SL006",
        "SL001 LT001 LT002 LT003 LT004",
        "bring the parking into view of active rooms (homes with windows onto it, frontage "
        "instead of blank garage and store walls) or split it into small groups beside the "
        "homes they serve, and light it to its class",
    ),
    _k(
        "leaky_culdesac",
        "Cul-de-sac with a foot link",
        "cul-de-sac",
        "PM006",
        "LT001 LT002 LT004 LT005 SL001",
        "close the foot link at the turning head; if it must stay, make it wide, straight "
        "and overlooked, and light it dusk to dawn",
    ),
    _k(
        "dead_end",
        "Dead-end path",
        "dead-end path",
        "PM009 SL004",
        "SL001 LT001 LT002 LT003 LT004",
        "close the dead end at the street or give it somewhere to lead; if it stays, gate "
        "it, and make it overlooked and lit",
    ),
    _k(
        "entrapment_recess",
        "Recess beside a route",
        None,
        "SL003",
        "",
        "fill the recess or bring the wall forward so that no recess is deeper than 0.6 m",
    ),
    _k(
        "unlit_route",
        "Route below its lighting class",
        None,
        "LT001 LT002 LT004 LT005",
        "LT003",
        "light it to its EN 13201 class dusk to dawn (a lighting scheme to BS 5489-1 / EN 13201-3)",
    ),
    _k(
        "unobserved_route",
        "Route not overlooked",
        None,
        "SL001 SL002 PM007 PM008",
        "",
        "give it overlooking windows and doors (active frontage), or route the path past them",
    ),
    _k(
        "dark_entrances",
        "Entrances too dark",
        None,
        "LT003 LT006",
        "",
        "light the entrances and the faces of people at them (door lights on dusk to dawn)",
    ),
    _k(
        "planting_boundary",
        "Planting or boundary too high",
        None,
        "SL007 SL008",
        "",
        "keep shrubs below 1 m and tree crowns above 2 m beside routes and parking, and "
        "front boundaries below 1 m",
    ),
    _k(
        "police_access",
        "Police access",
        None,
        "PA001 PA002 PA003 PA004 PA005",
        "",
        "agree emergency access and the police presence the area needs with the police",
    ),
    _k(
        "network",
        "Walking network",
        None,
        "PM001 PM002 PM003 PM004",
        "",
        "connect the network where movement needs it (junctions often, blocks of 80–150 m, "
        "a connection at least every 120 m of boundary), each link overlooked and lit",
    ),
    _k(
        "input",
        "Input data",
        None,
        "IN001 IN002",
        "",
        "check the repairs the loader made against the design intent and correct the drawing",
    ),
    _k(
        "crime_context",
        "Crime context",
        None,
        "CR001 CR002 CR003",
        "",
        "describe the recorded crime in the vicinity in the response; the design issues near "
        "it are ranked by it (docs/crime.md)",
    ),
)


KIND_BY_KEY = {k.key: k for k in KINDS}


DATA_GAP = Kind("data_gap", "Data gap", None, frozenset(), frozenset(), "")


OTHER = Kind("other", "Other matters", None, frozenset(), frozenset(), "")


#: Short clauses for member rules the issue's kind does not answer; ``{what}`` is the
#: feature they concern.
CLAUSES: dict[str, str] = {
    "SL001": "give it overlooking windows",
    "SL002": "open up the view round its bends and corners",
    "SL003": "fill the recess in {what} to 0.6 m deep or less",
    "SL004": "close the dead end or bring it into view",
    "SL005": "make the way out of {what} visible from the way in",
    "SL006": "bring {what} into view of active rooms",
    "SL007": "cut back {what} (shrubs below 1 m, tree crowns above 2 m)",
    "SL008": "lower {what} to below 1 m",
    "LT001": "light it to its EN 13201 class",
    "LT002": "light it to its EN 13201 class",
    "LT003": "light entrances and faces (door lights, dusk to dawn)",
    "LT004": "light it dusk to dawn",
    "LT005": "keep its lighting on dusk to dawn",
    "LT006": "move {what} clear of what blocks its light, or crown-lift the tree",
    "PM005": "remove it or gate it at the front building line",
    "PM006": "close the foot link at the turning head, or make it overlooked and lit",
    "PM007": "give it overlooking windows",
    "PM008": "give it overlooking windows and a reason to use it, or close it",
    "PM009": "close the dead end or bring it into view",
}


def _special_key(f: Finding) -> tuple | None:
    scope = _scope(f)
    if f.basis == "data-gap":
        gap = f.evidence.get("gap") if isinstance(f.evidence, dict) else None
        kind = gap.get("kind") if isinstance(gap, dict) and gap.get("kind") else f.rule_id
        return ("gap", f.area, str(kind), scope)
    if f.rule_id.startswith("IN") or f.area == "input":
        return ("input", scope)
    if f.rule_id in NETWORK_RULES:
        return ("network", f.area, scope)
    if f.rule_id in AREA_RULES or f.area == "crime" or (not f.features and f.geometry is None):
        # crime context (CR rules) is one issue, never merged with the design issues
        return ("area", f.area, scope)
    return None


def issue_kind(rules: Iterable[str], basis: str = "measured") -> Kind:
    """The kind of an issue with these member rules (first in :data:`KINDS` they trigger)."""
    if basis == "data-gap":
        return DATA_GAP
    rs = set(rules)
    for kind in KINDS:
        if kind.triggers & rs:
            return kind
    return OTHER
