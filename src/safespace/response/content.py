"""What a consultation response says, as plain values shared by the HTML, DOCX and Markdown.

:func:`build_response` turns an :class:`~safespace.Assessment` into a :class:`Response`: the
site, the officer's position, the key concerns (place, evidence, action), the suggested
planning conditions (the profile's ``[conditions]`` table matched to the issues), the policy
basis (the profile's ``[policy]`` table), the data limitations, the method and an annex with
the rule ids. See ``docs/response.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from safespace._place import plural
from safespace._version import __version__
from safespace.issues import overall_position

POSITIONS: tuple[str, ...] = ("objection", "subject to conditions", "no objection")

#: What each overall position means, in the words of a response.
POSITION_TEXT = {
    "objection": "The police designing-out-crime officer objects to the application as drawn.",
    "subject to conditions": "The police designing-out-crime officer raises no objection, "
    "subject to the conditions suggested below.",
    "no objection": "The police designing-out-crime officer raises no objection.",
}

AREA_WORDS = {
    "sightlines": "sightlines and natural surveillance",
    "lighting": "lighting",
    "permeability": "permeability and movement",
    "police_access": "access to police premises",
    "input": "input data",
}

WEIGHT_WORDS = {
    "objection": "objection",
    "amend": "amend before approval",
    "condition": "can be secured by condition",
    "advisory": "advisory",
}


@dataclass
class Concern:
    """One key concern as a response states it."""

    number: int
    issue_id: str
    place: str
    title: str
    weight: str
    scope: str
    basis: str
    evidence: str
    evidence_lines: list[str]
    action: str
    guidance: list[str]
    rules: list[str]
    n_findings: int


@dataclass
class Condition:
    """A suggested planning condition, with the concerns it answers."""

    key: str
    title: str
    text: str
    reason: str
    answers: list[str]


@dataclass
class Limitation:
    """Something that could not be assessed: what, how much, and what would resolve it."""

    area: str
    what: str
    extent: str
    resolve: str


@dataclass
class Response:
    """A consultation response draft (see :func:`build_response`)."""

    site: str
    inputs: list[dict[str, str]]
    date: str
    position: str
    position_reason: str
    position_overridden: bool
    position_text: str
    jurisdiction: str
    concerns: list[Concern]
    context_concerns: list[Concern]
    conditions: list[Condition]
    conditions_note: str
    policy: list[dict[str, str]]
    limitations: list[Limitation]
    coverage: list[dict[str, str]]
    scores: list[dict[str, str]]
    method: list[str]
    annex: list[dict[str, str]]
    n_issues: int
    n_findings: int
    has_site_boundary: bool
    profile: str
    extra: dict[str, Any] = field(default_factory=dict)


def derived_position(assessment: Any) -> dict[str, str]:
    """The position the assessment derives from its issues (the documented rule of
    :func:`safespace.issues.overall_position`)."""
    pos = overall_position(assessment.issues)
    return {"position": pos["position"], "reason": str(pos.get("reason", ""))}


def resolve_position(assessment: Any, position: Any = None) -> tuple[str, str, bool]:
    """``(position, reason, overridden)``: the officer's ``position`` if given, else derived.

    ``position`` is one of :data:`POSITIONS`, or a dict ``{"position": ..., "reason": ...}``.
    """
    derived = derived_position(assessment)
    if position is None:
        return derived["position"], derived["reason"], False
    if isinstance(position, dict):
        value, reason = position.get("position"), str(position.get("reason", ""))
    else:
        value, reason = str(position), ""
    value = str(value).strip().lower().replace("_", " ")
    if value not in POSITIONS:
        raise ValueError(f"unknown position {position!r}; use one of {POSITIONS}")
    if not reason:
        reason = (
            f"the officer's judgement (the assessment alone would give {derived['position']}: "
            f"{derived['reason']})"
        )
    return value, reason, True


def _fmt_extent(value: Any, unit: str | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "extent not known"
    unit = unit or ""
    if unit == "m":
        return f"{value / 1000:.1f} km of route" if value >= 1000 else f"{value:.0f} m of route"
    if unit == "share":
        return f"{100 * float(value):.0f}% of the site"
    if unit in ("buildings", "homes", "dwellings", "entrances", "lamps"):
        n = int(round(float(value)))
        return plural(n, unit.rstrip("s"))
    return f"{value:g} {unit}".strip()


def _concern(number: int, issue: Any, findings_by_id: dict[str, Any]) -> Concern:
    members = [findings_by_id[f] for f in issue.finding_ids if f in findings_by_id]
    evidence_lines = [str(e) for e in issue.evidence if str(e).strip()]
    lead = _lead_member(issue, members)
    evidence = lead.message if lead is not None else (evidence_lines[0] if evidence_lines else "")
    evidence = one_line(evidence or issue.title)
    if len(evidence_lines) > 1:
        evidence += f" (and {plural(len(evidence_lines) - 1, 'further point')})"
    title = issue.title
    for sep in (": ", " — "):
        if title.endswith(sep + issue.place):
            title = title[: -len(sep + issue.place)]
    refs = list(lead.references) if lead is not None else []
    refs = refs or list(getattr(issue, "references", []) or [])
    if not refs:
        for f in members:
            for r in f.references:
                if r not in refs:
                    refs.append(r)
    return Concern(
        number=number,
        issue_id=issue.id,
        place=issue.place,
        title=title,
        weight=issue.planning_weight,
        scope=issue.scope,
        basis=issue.basis,
        evidence=evidence,
        evidence_lines=evidence_lines,
        action=issue.recommendation,
        guidance=refs[:2],
        rules=list(issue.rules),
        n_findings=len(issue.finding_ids),
    )


_ID = r"\b(?:way|node|relation)/\d+"
_ID_PAREN = re.compile(rf"\s*\((?:{_ID}(?:,\s*)?)+\)")
_ID_RUN = re.compile(rf"(?:{_ID}(?:,\s*|\s+and\s+)?){{2,}}")
_ID_ONE = re.compile(rf"\s*{_ID}")
_IDS = re.compile(r"/\d+")
_ONE_LINE = 240


def one_line(text: str, limit: int = _ONE_LINE) -> str:
    """Evidence for one line: raw OSM ids out of the prose (runs counted); cut at a word."""
    text = _ID_PAREN.sub("", text)  # "(way/1, way/2)": the ids belong in the annex, not prose
    text = _ID_RUN.sub(lambda m: f"{len(_IDS.findall(m.group(0)))} mapped features ", text)
    text = _ID_ONE.sub("", text)
    text = re.sub(r"\s+([.,;:)])", r"\1", re.sub(r"\s+", " ", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + " …"


def _lead_member(issue: Any, members: list[Any]) -> Any:
    """The member that makes the issue what it is (its kind's rule), worst first."""
    if not members:
        return None
    from safespace.findings import severity_rank
    from safespace.issues import KIND_BY_KEY

    # the finding that gives the issue its kind speaks for it, worst first; an advisory
    # member never stands as the evidence of an issue that has findings above advisory
    kind = KIND_BY_KEY.get(getattr(issue, "kind", ""))
    triggers = set(kind.triggers) if kind is not None else set()
    weighty = [f for f in members if f.severity != "info"] or members
    named = [f for f in weighty if f.rule_id in triggers] or weighty
    return max(named, key=lambda f: severity_rank(f.severity))


def _matches(entry: dict[str, Any], issue: Any) -> bool:
    kinds = entry.get("kinds", []) or []
    rules = entry.get("rules", []) or []
    areas = entry.get("areas", []) or []
    if issue.kind and issue.kind in kinds:
        return True
    if any(r == p or r.startswith(p) for r in issue.rules for p in rules):
        return True
    return any(a in areas for a in issue.areas)


def suggested_conditions(
    table: dict[str, Any], issues: list[Any], has_site_boundary: bool
) -> tuple[list[Condition], str]:
    """The profile's conditions that answer the proposal's issues above advisory.

    A ``[conditions.KEY]`` entry has ``title``, ``text``, ``reason`` and the issues it
    answers: ``kinds`` (issue kinds), ``rules`` (rule ids or prefixes), ``areas``; or
    ``always = true`` for a condition every proposal gets (Secured by Design accreditation).
    Conditions are suggested only for a proposal (a site boundary was given): without one
    nothing is proposed, so nothing can be conditioned.
    """
    if not has_site_boundary:
        return [], (
            "No site boundary (red line) was given, so nothing in the data is proposed and no "
            "planning condition is suggested. The concerns describe the existing area."
        )
    live = [i for i in issues if i.scope == "proposal" and i.planning_weight != "advisory"]
    out = []
    for key, entry in table.items():
        if not isinstance(entry, dict) or not entry.get("text"):
            continue
        answers = [i for i in live if _matches(entry, i)]
        if answers or entry.get("always"):
            out.append(
                Condition(
                    key=key,
                    title=str(entry.get("title", key.replace("_", " ").capitalize())),
                    text=str(entry["text"]),
                    reason=str(entry.get("reason", "")),
                    answers=[i.place for i in answers],
                )
            )
    note = "" if out else "No issue in the proposal calls for a planning condition."
    return out, note


def policy_basis(table: dict[str, Any]) -> list[dict[str, str]]:
    """The profile's ``[policy]`` entries in their order: citation, edition, paragraph, text."""
    out = []
    for key, entry in table.items():
        if not isinstance(entry, dict):
            continue
        out.append(
            {
                "key": key,
                "citation": str(entry.get("citation", key)),
                "edition": str(entry.get("edition", "")),
                "paragraph": str(entry.get("paragraph", "")),
                "text": str(entry.get("text", "")),
                "status": str(entry.get("status", "")),
            }
        )
    return out


def data_limitations(assessment: Any) -> tuple[list[Limitation], list[dict[str, str]]]:
    """What could not be assessed (from the coverage and the data-gap findings), and per area
    the share that could."""
    limits: list[Limitation] = []
    seen = set()
    coverage_rows = []
    for area, cov in (assessment.coverage or {}).items():
        share = cov.get("assessable_share")
        coverage_rows.append(
            {
                "area": AREA_WORDS.get(area, area.replace("_", " ")),
                "share": "not known" if share is None else f"{100 * float(share):.0f}%",
            }
        )
        for gap in cov.get("gaps", []) or []:
            what = str(gap.get("message") or gap.get("title") or "").strip()
            if not what:
                continue
            seen.add(gap.get("finding"))
            limits.append(
                Limitation(
                    area=AREA_WORDS.get(area, area.replace("_", " ")),
                    what=what,
                    extent=_fmt_extent(gap.get("extent"), gap.get("unit")),
                    resolve=str(gap.get("resolve") or "supply the missing data"),
                )
            )
    for f in assessment.findings:
        if f.basis == "data-gap" and f.id not in seen:
            gap = f.evidence.get("gap", {}) if isinstance(f.evidence, dict) else {}
            limits.append(
                Limitation(
                    area=AREA_WORDS.get(f.area, f.area.replace("_", " ")),
                    what=f.message or f.title,
                    extent=_fmt_extent(gap.get("extent"), gap.get("unit")),
                    resolve=str(
                        gap.get("resolve") or f.recommendation or "supply the missing data"
                    ),
                )
            )
    return limits, coverage_rows


def _score_rows(assessment: Any) -> list[dict[str, str]]:
    rows = []
    for area, s in assessment.scores.items():
        conf = getattr(s, "confidence", None)
        rows.append(
            {
                "area": AREA_WORDS.get(area, area.replace("_", " ")),
                "value": "not assessable" if s.value is None else f"{s.value:.0f} / 100",
                "confidence": "not known" if conf is None else f"{100 * conf:.0f}% assessed",
                "explanation": s.explanation,
            }
        )
    return rows


def _site_name(assessment: Any) -> str:
    from safespace.report.render import site_name

    return site_name(assessment.layout, assessment.provenance)


def build_response(
    assessment: Any,
    *,
    position: Any = None,
    site: str | None = None,
    date: Any = None,
) -> Response:
    """The consultation response draft of ``assessment``.

    Parameters
    ----------
    assessment
        A :class:`safespace.Assessment`.
    position
        The officer's own position (``"objection"``, ``"subject to conditions"``,
        ``"no objection"``, or ``{"position": ..., "reason": ...}``); by default the one the
        assessment derives from its issues.
    site
        The site's name (default: the site boundary's ``name``, else the input file name).
    date
        The response's date (default: ``SOURCE_DATE_EPOCH``, else today).

    Returns
    -------
    Response
        Plain values; rule ids appear only in ``annex``.
    """
    from safespace.report.render import report_date

    prof = assessment.profile
    issues = list(assessment.issues)
    by_id = {f.id: f for f in assessment.findings}
    layout = assessment.layout
    has_boundary = bool(layout is not None and len(layout.boundary))
    pos, reason, overridden = resolve_position(assessment, position)
    keys = [i for i in issues if i.key_concern]
    if not keys:  # an older grouping that marks none: lead with the top of the ranking
        n = int(getattr(prof, "assessment", {}).get("key_concerns", 10)) if prof else 10
        keys = [i for i in issues if i.planning_weight != "advisory"][:n]
    keys = keys[:10]
    proposal_keys = [i for i in keys if i.scope == "proposal"]
    context_keys = [i for i in keys if i.scope != "proposal"]
    concerns = [_concern(n, i, by_id) for n, i in enumerate(proposal_keys, start=1)]
    context = [_concern(n, i, by_id) for n, i in enumerate(context_keys, start=len(concerns) + 1)]
    cond_table = prof.table("conditions") if prof is not None else {}
    conditions, cond_note = suggested_conditions(cond_table, issues, has_boundary)
    limits, coverage_rows = data_limitations(assessment)
    prov = assessment.provenance
    inputs = [
        {
            "role": str(i.get("role", "")),
            "label": str(i.get("label", "")),
            "sha256": str(i.get("sha256", "")),
        }
        for i in prov.get("inputs", [])
    ]
    jurisdiction = getattr(prof, "jurisdiction", "") if prof is not None else ""
    cluster = getattr(prof, "assessment", {}).get("issue_cluster_m", 40.0) if prof else 40.0
    method = [
        f"The layout was assessed with safespace {prov.get('safespace_version', __version__)} "
        f"against the profile “{prov.get('profile', '')}”"
        + (f" ({jurisdiction})" if jurisdiction else "")
        + f", running {plural(len(prov.get('rules', [])), 'rule')} on sightlines and natural "
        "surveillance, lighting, permeability and access to police premises.",
        f"The {plural(len(assessment.findings), 'finding')} the rules produced were grouped by "
        f"place (the same feature, the same named street, or within {cluster:g} m along the "
        f"network) into {plural(len(issues), 'issue')}, ranked by planning weight, extent and "
        "the people who use the place; the first are the key concerns above.",
        "Each finding says whether it was measured from the data, modelled from a stated "
        "default, or could not be assessed (a data gap). A feature not mapped in an "
        "OpenStreetMap extract is treated as unknown, not absent; in an applicant's drawing "
        "what is not drawn is taken as not proposed.",
        "Findings resting on a data gap, on the existing surroundings, on the edge of the data "
        "or on a threshold whose source could not be confirmed are advisory only.",
        "The overall position follows from the key concerns: any key concern carrying the "
        "weight of an objection gives an objection; any that can be resolved by amendment or "
        "condition gives no objection subject to conditions; otherwise no objection. The "
        "officer may override it.",
    ]
    annex = []
    for i in issues:
        annex.append(
            {
                "issue": i.id,
                "place": i.place,
                "weight": i.planning_weight,
                "scope": i.scope,
                "rules": ", ".join(i.rules),
                "findings": str(len(i.finding_ids)),
            }
        )
    return Response(
        site=site or _site_name(assessment),
        inputs=inputs,
        date=report_date(date),
        position=pos,
        position_reason=reason,
        position_overridden=overridden,
        position_text=POSITION_TEXT[pos]
        if has_boundary
        else (
            "No site boundary (red line) was given, so this assesses the existing area, not a "
            f"proposal: the position ({pos}) is indicative of what a response would say."
        ),
        jurisdiction=jurisdiction,
        concerns=concerns,
        context_concerns=context,
        conditions=conditions,
        conditions_note=cond_note,
        policy=policy_basis(prof.table("policy") if prof is not None else {}),
        limitations=limits,
        coverage=coverage_rows,
        scores=_score_rows(assessment),
        method=method,
        annex=annex,
        n_issues=len(issues),
        n_findings=len(assessment.findings),
        has_site_boundary=has_boundary,
        profile=str(prov.get("profile", "")),
    )
