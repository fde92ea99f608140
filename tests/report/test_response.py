"""The consultation response draft: DOCX and Markdown read back, LibreOffice, the UK profile."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import safespace
from safespace.response import build_response, write_docx, write_markdown
from safespace.response.writers import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo_estate.geojson"
RULE_ID = re.compile(r"\b(?:SL|LT|PM|PA|IN)\d{3}\b")


@pytest.fixture(scope="module")
def demo():
    if not DEMO.exists():
        pytest.skip("fixtures/demo_estate.geojson is not present")
    return safespace.assess(DEMO)


@pytest.fixture(scope="module")
def demo_docx(demo, tmp_path_factory):
    return write_docx(demo, tmp_path_factory.mktemp("resp") / "response.docx")


def _docx_text(path: Path) -> tuple[list[tuple[str, str]], str]:
    import docx

    doc = docx.Document(str(path))
    paras = [(p.style.name, p.text) for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return paras, "\n".join([t for _, t in paras] + cells)


def test_docx_reads_back_headings_position_concerns_conditions(demo, demo_docx):
    paras, text = _docx_text(demo_docx)
    headings = [t for s, t in paras if s == "Heading 1"]
    assert headings == list(SECTIONS)
    assert paras[0][1].startswith("Designing out crime")
    # The site's name comes from the red line's `name` in the fixture.
    assert "Orchard Fields" in text
    # The position is the one the assessment derives, in its words.
    pos = demo.position["position"]
    (pos_para,) = [t for s, t in paras if t.lower().startswith(pos + ".")]
    assert "designing-out-crime officer" in pos_para
    # Every key concern of the proposal is there by its place, with its recommendation.
    keys = [i for i in demo.issues if i.key_concern]
    assert 1 <= len(keys) <= 10
    numbered = [t for s, t in paras if s == "List Number"]
    assert len(numbered) == len(keys)
    for issue in keys:
        assert any(t.startswith(issue.place) for t in numbered), issue.place
        assert issue.recommendation in text
    # The planted rear footpath fp01 is a concern, and it brings the gated-paths condition.
    assert any("fp01" in t for t in numbered)
    conditions = [t for s, t in paras if s == "List Number 2"]
    titles = [t.split(".")[0] for t in conditions]
    assert "Gated rear paths" in titles and "Lighting scheme" in titles
    assert "Secured by Design" in titles  # every proposal
    assert any("BS 5489-1:2020" in t for t in conditions)
    # Policy basis: each citation with its edition and paragraph.
    assert "National Planning Policy Framework, December 2024, para 96(b)" in text
    assert "Crime and Disorder Act 1998, as amended, section 17" in text


def test_rule_ids_only_in_the_annex(demo_docx):
    paras, _ = _docx_text(demo_docx)
    texts = [t for _, t in paras]
    annex = texts.index(SECTIONS[-1])
    body = "\n".join(texts[:annex])
    assert RULE_ID.findall(body) == []


def test_officer_position_overrides(demo, tmp_path):
    out = write_docx(demo, tmp_path / "r.docx", position="no objection")
    paras, _ = _docx_text(out)
    assert any(t.startswith("No objection.") for _, t in paras)
    assert any("Position set by the officer" in t for _, t in paras)
    r = build_response(demo, position={"position": "objection", "reason": "my reasons"})
    assert (r.position, r.position_reason, r.position_overridden) == (
        "objection",
        "my reasons",
        True,
    )
    with pytest.raises(ValueError):
        build_response(demo, position="perhaps")


def test_markdown_has_the_same_sections(demo, demo_docx, tmp_path):
    md = write_markdown(demo, tmp_path / "response.md").read_text("utf-8")
    assert re.findall(r"^## (.+)$", md, flags=re.M) == list(SECTIONS)
    paras, _ = _docx_text(demo_docx)
    docx_places = [t.split(" — ")[0] for s, t in paras if s == "List Number"]
    md_places = re.findall(r"^\d+\. \*\*(.+?)\*\* — ", md, flags=re.M)
    unescape = [re.sub(r"\\(.)", r"\1", p) for p in md_places]
    assert unescape[: len(docx_places)] == docx_places
    # Written through the CLI's -o too.
    from safespace.cli import main

    out = tmp_path / "cli.md"
    assert main(["assess", str(DEMO), "-o", str(out), "-q"]) in (0, 1)
    assert out.read_text("utf-8") == md


def test_markdown_escapes_input_text(tmp_path):
    from tests.report.conftest import make_assessment

    a = make_assessment()  # a building named <script>alert(1)</script>; no site boundary
    md = write_markdown(a, tmp_path / "x.md").read_text("utf-8")
    assert "<script>" not in md
    r = build_response(a)
    assert r.conditions == [] and "No site boundary" in r.conditions_note


def test_docx_converts_in_libreoffice(demo_docx, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer)")
    subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(demo_docx)],
        check=True,
        capture_output=True,
        timeout=240,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    pdf = tmp_path / "response.pdf"
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for heading in SECTIONS[:4]:
            assert heading in text
        assert "Orchard Fields" in text


def test_uk_profile_cites_no_us_sources():
    prof = safespace.load_profile("uk_sbd")
    assert prof.jurisdiction == "England and Wales"
    for rid in prof.rule_ids:
        for name, source in prof.sources[rid].items():
            assert not re.search(r"LEED|MUTCD|Kentucky", source), (rid, name, source)
    # The walking speed comes from Manual for Streets' 800 m in 10 minutes.
    assert prof.params["PA002"]["walk_speed_mps"] == pytest.approx(800 / 600, abs=0.01)
    assert "PM004" not in prof.rule_ids and "PM002" not in prof.rule_ids
    # The default profile says what it stands for, and the UK profile keeps its response tables.
    assert safespace.load_profile("default").jurisdiction
    assert "lighting_scheme" in prof.table("conditions")
    assert "nppf_96b" in prof.table("policy")


def test_evidence_line_keeps_raw_ids_out_of_the_prose():
    from safespace.response.content import one_line

    assert one_line("Parking way/173307455: 0% of it is seen") == "Parking: 0% of it is seen"
    assert (
        one_line("137 m of route (way/4, way/11) leads nowhere") == "137 m of route leads nowhere"
    )
    assert one_line("onto way/1, way/2 and way/3: deep") == "onto 3 mapped features: deep"
    long = "word " * 100
    cut = one_line(long)
    assert len(cut) <= 242 and cut.endswith(" …")
