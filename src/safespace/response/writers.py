"""Writing a :class:`~safespace.response.content.Response` as Markdown and as DOCX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safespace.response.content import Response, build_response

#: The response's sections, in order; both writers use these headings.
SECTIONS: tuple[str, ...] = (
    "Site and proposal",
    "Position",
    "Key concerns",
    "Suggested planning conditions",
    "Policy basis",
    "Data limitations",
    "Method",
    "Annex: issues and rules",
)

TITLE = "Designing out crime: consultation response (draft)"


def _md_escape(text: str) -> str:
    """Text safe in Markdown prose: characters that start markup are backslash-escaped."""
    out = []
    for ch in str(text):
        out.append("\\" + ch if ch in "\\`*_[]<>#|" else ch)
    return "".join(out).replace("\n", " ")


def markdown_text(r: Response) -> str:
    """The response as Markdown (CommonMark; tables in the GitHub form)."""
    e = _md_escape
    lines = [f"# {TITLE}", ""]
    lines += [f"## {SECTIONS[0]}", ""]
    lines.append(f"- **Site:** {e(r.site)}")
    lines.append(f"- **Date:** {e(r.date)}")
    for i in r.inputs:
        lines.append(f"- **Input ({e(i['role'] or 'proposal')}):** {e(i['label'])}")
    if not r.has_site_boundary:
        lines.append(
            "- **Note:** no site boundary (red line) was given: the whole area is treated as "
            "existing, and nothing in it as proposed."
        )
    lines += ["", f"## {SECTIONS[1]}", ""]
    lines.append(f"**{e(r.position.capitalize())}.** {e(r.position_text)}")
    lines.append("")
    lines.append(
        f"Reason: {e(r.position_reason)}."
        + (" (Position set by the officer.)" if r.position_overridden else "")
    )
    lines += ["", f"## {SECTIONS[2]}", ""]
    if not r.concerns and not r.context_concerns:
        lines.append("No key concerns were found.")
    for label, group in (
        ("In the proposal", r.concerns),
        ("In the existing surroundings (context)", r.context_concerns),
    ):
        if not group:
            continue
        lines += [f"### {label}", ""]
        for c in group:
            lines.append(f"{c.number}. **{e(c.place)}** — {e(c.title)} ({e(c.weight)})")
            lines.append(f"   - Evidence: {e(c.evidence)}")
            lines.append(f"   - Recommendation: {e(c.action)}")
            if c.guidance:
                lines.append(f"   - Guidance: {e('; '.join(c.guidance))}")
        lines.append("")
    lines += [f"## {SECTIONS[3]}", ""]
    if r.conditions:
        for n, c in enumerate(r.conditions, start=1):
            lines.append(f"{n}. **{e(c.title)}.** {e(c.text)}")
            if c.reason:
                lines.append(f"   - Reason: {e(c.reason)}")
            if c.answers:
                lines.append(f"   - Answers: {e('; '.join(dict.fromkeys(c.answers)))}")
    else:
        lines.append(e(r.conditions_note))
    lines += ["", f"## {SECTIONS[4]}", ""]
    for p in r.policy:
        head = ", ".join(x for x in (p["citation"], p["edition"], p["paragraph"]) if x)
        lines.append(
            f"- **{e(head)}**: {e(p['text'])}" + (f" {e(p['status'])}" if p["status"] else "")
        )
    if not r.policy:
        lines.append("The profile names no policy basis.")
    lines += ["", f"## {SECTIONS[5]}", ""]
    if r.coverage:
        lines += ["| Area | Share assessable from measured data |", "|---|---|"]
        lines += [f"| {e(c['area'])} | {e(c['share'])} |" for c in r.coverage]
        lines.append("")
    if r.limitations:
        for lim in r.limitations:
            lines.append(
                f"- **{e(lim.area.capitalize())}:** {e(lim.what)} Extent: {e(lim.extent)}. "
                f"To resolve: {e(lim.resolve)}."
            )
    else:
        lines.append("Every area could be assessed from the data supplied.")
    if r.scores:
        lines += ["", "| Area | Score | Confidence |", "|---|---|---|"]
        lines += [f"| {e(s['area'])} | {e(s['value'])} | {e(s['confidence'])} |" for s in r.scores]
    lines += ["", f"## {SECTIONS[6]}", ""]
    lines += [x for m in r.method for x in (e(m), "")]
    lines += [f"## {SECTIONS[7]}", ""]
    lines += ["| Issue | Place | Weight | Scope | Rules | Findings |", "|---|---|---|---|---|---|"]
    for a in r.annex:
        lines.append(
            f"| {e(a['issue'])} | {e(a['place'])} | {e(a['weight'])} | {e(a['scope'])} | "
            f"{e(a['rules'])} | {e(a['findings'])} |"
        )
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(
    assessment: Any, path: str | Path, *, position: Any = None, **kwargs: Any
) -> Path:
    """Write the consultation response draft as Markdown.

    Parameters
    ----------
    assessment
        A :class:`safespace.Assessment`.
    path
        Where to write (atomic).
    position
        The officer's position, overriding the derived one (see
        :func:`~safespace.response.build_response`).
    **kwargs
        ``site``, ``date`` as for :func:`~safespace.response.build_response`.

    Returns
    -------
    Path
        The file written.
    """
    from safespace.io.writers import _atomic_write

    r = build_response(assessment, position=position, **kwargs)
    return _atomic_write(Path(path), markdown_text(r))


def _docx_document(r: Response):
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: F401
    from docx.shared import Pt

    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.name = "Liberation Sans"
    style.font.size = Pt(10.5)
    doc.core_properties.title = f"{TITLE} — {r.site}"
    doc.core_properties.author = "safespace"
    doc.add_heading(TITLE, level=0)
    doc.add_heading(SECTIONS[0], level=1)
    table = doc.add_table(rows=0, cols=2)
    table.style = "Light List"
    rows = [("Site", r.site), ("Date", r.date)]
    rows += [(f"Input ({i['role'] or 'proposal'})", i["label"]) for i in r.inputs]
    if not r.has_site_boundary:
        rows.append(
            (
                "Note",
                "No site boundary (red line) was given: the whole area is treated "
                "as existing, and nothing in it as proposed.",
            )
        )
    for k, v in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = k, v
    doc.add_heading(SECTIONS[1], level=1)
    p = doc.add_paragraph()
    p.add_run(r.position.capitalize() + ". ").bold = True
    p.add_run(r.position_text)
    doc.add_paragraph(
        f"Reason: {r.position_reason}."
        + (" (Position set by the officer.)" if r.position_overridden else "")
    )
    doc.add_heading(SECTIONS[2], level=1)
    if not r.concerns and not r.context_concerns:
        doc.add_paragraph("No key concerns were found.")
    for label, group in (
        ("In the proposal", r.concerns),
        ("In the existing surroundings (context)", r.context_concerns),
    ):
        if not group:
            continue
        doc.add_heading(label, level=2)
        for c in group:
            para = doc.add_paragraph(style="List Number")
            para.add_run(c.place).bold = True
            para.add_run(f" — {c.title} ({c.weight})")
            for head, text in (
                ("Evidence", c.evidence),
                ("Recommendation", c.action),
                ("Guidance", "; ".join(c.guidance)),
            ):
                if not text:
                    continue
                q = doc.add_paragraph(style="List Bullet 2")
                q.add_run(f"{head}: ").italic = True
                q.add_run(text)
    doc.add_heading(SECTIONS[3], level=1)
    if r.conditions:
        for c in r.conditions:
            para = doc.add_paragraph(style="List Number 2")
            para.add_run(c.title + ". ").bold = True
            para.add_run(c.text)
            if c.reason:
                q = doc.add_paragraph(style="List Bullet 2")
                q.add_run("Reason: ").italic = True
                q.add_run(c.reason)
            if c.answers:
                q = doc.add_paragraph(style="List Bullet 2")
                q.add_run("Answers: ").italic = True
                q.add_run("; ".join(dict.fromkeys(c.answers)))
    else:
        doc.add_paragraph(r.conditions_note)
    doc.add_heading(SECTIONS[4], level=1)
    for pol in r.policy:
        para = doc.add_paragraph(style="List Bullet")
        head = ", ".join(x for x in (pol["citation"], pol["edition"], pol["paragraph"]) if x)
        para.add_run(head + ": ").bold = True
        para.add_run(pol["text"] + (f" {pol['status']}" if pol["status"] else ""))
    if not r.policy:
        doc.add_paragraph("The profile names no policy basis.")
    doc.add_heading(SECTIONS[5], level=1)
    if r.coverage:
        t = doc.add_table(rows=1, cols=2)
        t.style = "Light List"
        t.rows[0].cells[0].text, t.rows[0].cells[1].text = (
            "Area",
            "Share assessable from measured data",
        )
        for c in r.coverage:
            cells = t.add_row().cells
            cells[0].text, cells[1].text = c["area"], c["share"]
    if r.limitations:
        for lim in r.limitations:
            para = doc.add_paragraph(style="List Bullet")
            para.add_run(lim.area.capitalize() + ": ").bold = True
            para.add_run(f"{lim.what} Extent: {lim.extent}. To resolve: {lim.resolve}.")
    else:
        doc.add_paragraph("Every area could be assessed from the data supplied.")
    if r.scores:
        doc.add_paragraph("Scores by area, with the share that could be assessed:")
        t = doc.add_table(rows=1, cols=3)
        t.style = "Light List"
        for cell, text in zip(t.rows[0].cells, ("Area", "Score", "Confidence"), strict=True):
            cell.text = text
        for s in r.scores:
            for cell, text in zip(
                t.add_row().cells, (s["area"], s["value"], s["confidence"]), strict=True
            ):
                cell.text = text
    doc.add_heading(SECTIONS[6], level=1)
    for m in r.method:
        doc.add_paragraph(m)
    doc.add_heading(SECTIONS[7], level=1)
    t = doc.add_table(rows=1, cols=6)
    t.style = "Light List"
    for cell, text in zip(
        t.rows[0].cells, ("Issue", "Place", "Weight", "Scope", "Rules", "Findings"), strict=True
    ):
        cell.text = text
    for a in r.annex:
        for cell, key in zip(
            t.add_row().cells,
            ("issue", "place", "weight", "scope", "rules", "findings"),
            strict=True,
        ):
            cell.text = a[key]
    return doc


def write_docx(assessment: Any, path: str | Path, *, position: Any = None, **kwargs: Any) -> Path:
    """Write the consultation response draft as a Word document (python-docx).

    Parameters and return value as for :func:`write_markdown`. Headings use Word's built-in
    heading styles, so the document's outline lists the sections of :data:`SECTIONS`.
    """
    import io

    from safespace.io.writers import _atomic_write

    r = build_response(assessment, position=position, **kwargs)
    buf = io.BytesIO()
    _docx_document(r).save(buf)
    return _atomic_write(Path(path), buf.getvalue())
