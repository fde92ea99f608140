"""Issues: the findings that concern one place, as the points of a consultation response."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from safespace.findings import Finding, Issue, severity_rank

if TYPE_CHECKING:
    from safespace.layout import Layout
    from safespace.rules.profiles import Profile


def group_issues(findings: list[Finding], layout: Layout, profile: Profile) -> list[Issue]:
    """Group findings by the feature they concern; set each finding's ``issue_id``."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        key = f.features[0] if f.features else f.id
        groups.setdefault(key, []).append(f)
    issues = []
    for key, members in groups.items():
        iid = "I-" + hashlib.sha256(key.encode()).hexdigest()[:8]
        worst = max(members, key=lambda f: severity_rank(f.severity))
        for f in members:
            f.issue_id = iid
        issues.append(
            Issue(
                id=iid,
                place=key,
                title=worst.title,
                severity=worst.severity,
                rules=sorted({f.rule_id for f in members}),
                finding_ids=[f.id for f in members],
                areas=sorted({f.area for f in members}),
                geometry=worst.geometry,
                extent_m=0.0,
                evidence=[f.message for f in members],
                recommendation=worst.recommendation,
            )
        )
    issues.sort(key=lambda i: -severity_rank(i.severity))
    return issues
