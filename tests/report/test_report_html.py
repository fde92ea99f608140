"""The HTML report without a browser: self-contained, escaped, complete, and its map data exact."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from safespace.report import Figure, register_figure, unregister_figure, write_html
from safespace.report.mapdata import SCALE, encode_lines, encode_polygons
from safespace.report.render import script_json
from tests.conftest import real_file
from tests.report.conftest import XSS


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <script>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def parse(path: Path) -> tuple[str, _Tags]:
    text = path.read_text("utf-8")
    p = _Tags()
    p.feed(text)
    return text, p


def map_data(parsed: _Tags) -> dict:
    (text,) = [t for a, t in parsed.scripts if a.get("id") == "ss-map-data"]
    return json.loads(text)


def decode(flat: list[int]) -> np.ndarray:
    """The documented encoding: decimetres, first pair absolute, then deltas."""
    return np.cumsum(np.asarray(flat, dtype=float).reshape(-1, 2), axis=0) / SCALE


def test_no_external_resources(report_path):
    text, p = parse(report_path)
    for tag, attrs in p.tags:
        for key in ("src", "href", "data", "poster", "srcset", "action"):
            value = attrs.get(key)
            if value is None:
                continue
            assert value.startswith(("data:", "#")), f"<{tag} {key}={value[:60]!r}> leaves the file"
        assert tag not in ("link", "iframe", "object", "embed", "base")
    assert not re.search(
        r"""(src|href)\s*=\s*["']?\s*(https?:)?//""",
        text.replace(
            'href="https://leafletjs.com"',
            "",  # the attribution link string inside leaflet.js
        ),
    )
    css = "".join(re.findall(r"<style>(.*?)</style>", text, flags=re.S))
    assert "@import" not in css
    for url in re.findall(r"url\(([^)]*)\)", css):
        assert url.startswith(("data:", "#")), url
    csp = [a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0] and "img-src data:" in csp[0]


def test_untrusted_text_is_escaped(report_path):
    text, p = parse(report_path)
    # The only <script> elements are the map data and the two inlined scripts.
    assert [a.get("type") for a, _ in p.scripts] == ["application/json", None, None]
    assert XSS not in text
    assert html.escape(XSS, quote=False) in text  # building name / message / evidence as text
    assert "<b>station</b>" not in text  # the police premises' name, in the map data
    raw = [t for a, t in p.scripts if a.get("id") == "ss-map-data"][0]
    assert "<" not in raw and ">" not in raw
    data = map_data(p)
    assert XSS in [b["n"] for b in data["layouts"][0]["L"]["named"]]
    assert any(XSS in f["msg"] for f in data["findings"])


@given(st.text())
def test_script_json_cannot_close_the_script(s):
    out = str(script_json({"k": s, "l": [s + "</script>"]}))
    assert "<" not in out and ">" not in out
    assert json.loads(out) == {"k": s, "l": [s + "</script>"]}


def test_map_data_places_every_finding_exactly(assessment, report_path):
    _, p = parse(report_path)
    data = map_data(p)
    origin = np.array(data["origin"])
    assert [f["id"] for f in data["findings"]] == [
        f"{f.rule_id}-{n:04d}" for n, f in enumerate(assessment.findings, start=1)
    ]
    for item, f in zip(data["findings"], assessment.findings, strict=True):
        assert item["msg"] == f.message and item["sev"] == f.severity
        if f.geometry is None:
            assert item["g"] is None
            continue
        g = item["g"]
        kind = f.geometry.geom_type
        if kind == "Point":
            assert g["k"] == "pt"
            np.testing.assert_allclose(
                np.array(g["c"]) / SCALE + origin, [f.geometry.x, f.geometry.y], atol=0.051
            )
        elif kind == "LineString":
            assert g["k"] == "ln"
            np.testing.assert_allclose(decode(g["c"][0]) + origin, f.geometry.coords, atol=0.051)
        elif kind == "Polygon":
            assert g["k"] == "pg"
            ring = decode(g["c"][0][0]) + origin
            assert shapely.Polygon(ring).symmetric_difference(f.geometry).area < 0.05 * 20 * 4
        elif kind == "MultiPoint":  # one marker on the shape, parts as decoration
            assert g["k"] == "pt" and len(g["parts"]) == 4
    # Layout: three buildings, of which two are named (drawn separately to be labelled).
    layers = data["layouts"][0]["L"]
    assert len(layers["bld_prop"]) == 1 and len(layers["named"]) == 2
    assert len(layers["lamps"]) == 2 and len(layers["police"]) == 1


def test_encoding_round_trips_hand_geometry():
    origin = np.array([1000.0, 2000.0])
    line = shapely.LineString([(1000.0, 2000.0), (1010.25, 2000.0), (1010.25, 2003.0)])
    (enc,) = encode_lines([line], origin, tolerance=0.0)
    assert enc == [0, 0, 102, 0, 0, 30]  # 10.25 m rounds to 102 dm (half to even)
    sq = shapely.Polygon(
        [(1000, 2000), (1004, 2000), (1004, 2004), (1000, 2004)],
        [[(1001, 2001), (1002, 2001), (1002, 2002), (1001, 2002)]],
    )
    ((ext, hole),) = encode_polygons([sq], origin, tolerance=0.0)
    assert shapely.Polygon(decode(ext)).area == pytest.approx(16.0)
    assert shapely.Polygon(decode(hole)).area == pytest.approx(1.0)
    # A sliver narrower than the quantum collapses and is dropped, not drawn as garbage.
    sliver = shapely.Polygon([(1000, 2000), (1005, 2000), (1005, 2000.01)])
    assert encode_polygons([sliver], origin, tolerance=0.0) == []


def test_summary_and_appendix(assessment, report_path):
    text, _ = parse(report_path)
    prov = assessment.provenance
    for needle in (
        prov["profile_sha256"],
        prov["inputs"][0]["sha256"],
        f"safespace {prov['safespace_version']}",
        "test score explanation",
        "62 <small>/ 100</small>",
        "include_info",  # IN001's parameter, with its source from the profile
        "info notes (e.g. context joins) are not findings",
        "Add windows facing the path",
        "Test guidance, section 1",
        html.escape(f"Guide {XSS} p. 4", quote=False),
        "distance (m)</dt><dd>12.3",
    ):
        assert needle in text, needle


def test_report_leads_with_the_response_and_groups_findings_by_issue(assessment, report_path):
    text, _ = parse(report_path)
    # The response comes first, then conditions, limitations, map, scores, issues, findings.
    order = re.findall(r'<section id="([a-z]+)"', text)
    assert order[:7] == [
        "response",
        "conditions",
        "limitations",
        "map",
        "scores",
        "issues",
        "findings",
    ]
    # The areas keep their headings (under the scores), in the report's area order.
    areas = re.findall(r'<h3 id="area-([a-z_-]+)"', text)
    assert areas == ["sightlines", "lighting", "input"]
    # Every finding appears exactly once in the appendix, under its own issue, in issue order.
    appendix = text.split('<section id="findings">')[1].split("</section>")[0]
    blocks = re.findall(
        r'<details class="ss-ifind" id="findings-([^"]+)">(.*?)</details>', appendix, re.S
    )
    assert [b for b, _ in blocks] == [i.id for i in assessment.issues]
    for (_iid, body), issue in zip(blocks, assessment.issues, strict=True):
        assert re.findall(r'data-fid="([^"]+)"', body) == issue.finding_ids
    all_ids = re.findall(r'<tr class="ss-frow[^"]*" id="f-([^"]+)"', text)
    assert sorted(all_ids) == sorted(f.id for f in assessment.findings)
    # The position is on the first screen, with its derivation.
    head = text.split('<section id="conditions">')[0]
    assert assessment.position["position"].capitalize() in head
    assert "the officer may override it" in head


def test_officer_position_overrides(assessment, tmp_path):
    out = write_html(assessment, tmp_path / "r.html", position="no objection")
    head = out.read_text("utf-8").split('<section id="conditions">')[0]
    assert '<div class="ss-pos-value">No objection</div>' in head and "set by the officer" in head
    with pytest.raises(ValueError):
        write_html(assessment, tmp_path / "bad.html", position="maybe")


def test_registered_figures_render_and_failures_are_reported(assessment, tmp_path):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    register_figure(
        "lighting", lambda a: Figure("Lux map", alt="A black square", image=svg), name="t.ok"
    )
    register_figure("lighting", lambda a: 1 / 0, name="t.broken")
    register_figure("sightlines", lambda a: Figure("No alt", alt=" ", image=svg), name="t.noalt")
    register_figure("sightlines", lambda a: None, name="t.none")
    try:
        text = write_html(assessment, tmp_path / "r.html").read_text("utf-8")
    finally:
        for area, name in [
            ("lighting", "t.ok"),
            ("lighting", "t.broken"),
            ("sightlines", "t.noalt"),
            ("sightlines", "t.none"),
        ]:
            unregister_figure(area, name)
    lighting = text.split('<h3 id="area-lighting"')[1].split("<h3 ")[0]  # figures fold under it
    assert 'alt="A black square"' in lighting and "data:image/svg+xml;base64," in lighting
    assert "Lux map" in lighting
    assert "t.broken could not be drawn" in text and "ZeroDivisionError" in text
    assert "t.noalt could not be drawn" in text and "no alt text" in text
    # The built-in overview figure is a PNG with alt text naming what it shows.
    (alt,) = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', text)
    assert "3 buildings" in alt and "5 located findings" in alt


def test_every_image_has_alt_text(report_path):
    _, p = parse(report_path)
    imgs = [a for t, a in p.tags if t == "img"]
    assert imgs and all(a.get("alt", "").strip() for a in imgs)


def test_comparison_sections(comparison, comparison_path):
    text, p = parse(comparison_path)
    sec = {
        name: text.split(f'<section id="{name}">')[1].split("</section>")[0]
        for name in ("resolved", "new", "unchanged", "summary")
    }
    assert "Flagged FlagA" in sec["resolved"] and "Flagged FlagD" in sec["resolved"]
    assert "Flagged FlagC" in sec["new"] and "FlagA" not in sec["new"]
    assert "Flagged FlagB" in sec["unchanged"] and "FlagC" not in sec["unchanged"]
    row = re.search(
        r"<td data-label=\"Area\">Permeability and movement</td>(.*?)</tr>", sec["summary"], re.S
    )
    assert row is not None
    assert re.findall(r">([^<>]+)</(?:td|span)>", row.group(1)) == ["70", "80", "+10"]
    data = map_data(p)
    statuses = [f["status"] for f in data["findings"]]
    assert statuses.count("resolved") == 2 and statuses.count("new") == 1
    assert statuses.count("unchanged") == len(comparison.unchanged)
    assert [lay["style"] for lay in data["layouts"]] == ["ghost", "main"]


def test_cli_writes_html(tmp_path):
    from safespace.cli import main

    out = tmp_path / "demo.html"
    src = Path(__file__).resolve().parents[2] / "fixtures" / "demo_estate.geojson"
    if not src.exists():
        pytest.skip("fixtures/demo_estate.geojson is not present")
    assert main(["assess", str(src), "-o", str(out), "-q"]) in (0, 1)
    text = out.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'id="ss-map"' in text


def test_heidelberg_report_stays_small(tmp_path):
    import safespace

    src = real_file("osm", "heidelberg_altstadt.osm.pbf")
    a = safespace.assess(src)
    out = a.to_html(tmp_path / "heidelberg.html")
    size = out.stat().st_size
    # every finding is in the report (about 2,800 on this whole old town, most from partial
    # OSM lamp mapping); the guard catches geometry or assets bloating the page
    assert size < 5_000_000, f"{size} bytes"
    _, p = parse(out)
    data = map_data(p)
    layers = data["layouts"][0]["L"]
    # Every building reaches the map (named ones separately), none lost to simplification.
    n_drawn = (
        len(layers["bld_prop"]) + len(layers["bld_ctx"]) + sum(len(b["p"]) for b in layers["named"])
    )
    n_parts = int(shapely.get_num_geometries(a.layout.buildings.geometry.values).sum())
    assert n_drawn == n_parts
    assert "Contains OpenStreetMap data" in out.read_text("utf-8")


def test_comparison_report_states_the_tolerance_it_used(comparison, tmp_path):
    # it printed the module default (5 m) whatever compare() was given
    from safespace import compare

    wide = compare(comparison.before, comparison.after, tolerance=12.5)
    assert wide.tolerance_m == 12.5 and comparison.tolerance_m == 5.0
    text = wide.to_html(tmp_path / "wide.html").read_text(encoding="utf-8")
    assert "within 12.5 m are the same finding" in text


def test_report_modules_do_not_import_the_assessment_or_the_comparison():
    """report/ sits above findings, io and the rule registry: no module-level import of
    safespace.assessment or safespace.compare (issue 17, the import cycle)."""
    import ast
    from pathlib import Path

    import safespace.report

    for path in Path(safespace.report.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: a lazy import inside a function is fine
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in ("safespace.assessment", "safespace.compare"), path
