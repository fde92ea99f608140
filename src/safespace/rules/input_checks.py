"""Input checks (``IN``): what the readers repaired, dropped or could not place.

These run on every assessment, so that even a layout with no area rules selected reports
what happened to its input.
"""

from __future__ import annotations

from collections.abc import Iterator

from safespace.findings import Finding, Metric
from safespace.rules.engine import Param, Site, rule

NOTE_SEVERITY = {"error": "medium", "warning": "low", "info": "info"}


@rule(
    "IN001",
    "Input features repaired, merged or dropped",
    "input",
    references=["safespace docs/tags.md: geometry hygiene"],
    params={
        "include_info": Param(
            False,
            "",
            "also report info-level notes",
            "safespace convention: info notes are context",
        )
    },
)
def input_notes(site: Site) -> Iterator[Finding | Metric]:
    """Report every input note (repair, merge, drop) as a finding, located where possible."""
    layout = site.layout
    geoms = {}
    for frame in layout.layers.values():
        if not frame.empty:
            geoms.update(zip(frame["fid"], frame.geometry.values, strict=False))
    count = 0
    for note in layout.notes:
        if note.level == "info" and not site.params["include_info"]:
            continue
        count += 1
        yield Finding(
            severity=NOTE_SEVERITY.get(note.level, "low"),
            title=f"Input {note.code.replace('-', ' ')}",
            message=f"{note.file or 'input'}: {('feature ' + note.feature + ': ') if note.feature else ''}"
            f"{note.message}",
            geometry=geoms.get(note.feature),
            evidence={"code": note.code, "file": note.file, "feature": note.feature},
            recommendation="Check the drawing: fix the feature at source so the assessment "
            "rests on what the designer meant.",
            features=[note.feature] if note.feature else [],
        )
    yield Metric("input_notes", count)


@rule("IN002", "Layout contents", "input", references=["safespace docs/tags.md"])
def layout_contents(site: Site) -> Iterator[Finding | Metric]:
    """Count the features in each layer; say when there is no site boundary."""
    layout = site.layout
    for name, n in layout.summary().items():
        yield Metric(f"{name}_count", n)
    if layout.site is None:
        yield Finding(
            severity="info",
            title="No site boundary",
            message="No feature is tagged safespace:role=site and no boundary was given: the "
            "whole layout's extent is treated as the site.",
            recommendation="Add the red-line boundary as a polygon tagged safespace:role=site, "
            "or pass --boundary.",
        )
