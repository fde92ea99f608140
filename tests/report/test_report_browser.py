"""The report in a real browser (headless Chromium driven by Playwright).

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` Python package;
never ``playwright install``: the system browser is used. Skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.report.conftest import XSS

CHROMIUM = os.environ.get("SAFESPACE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with everything it logged, every dialog it tried and every request it made."""

    def __init__(self, browser, path: Path, width: int = 1280, height: int = 900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_function("window.safespaceMap !== undefined")

    def close(self):
        self.page.close()


@pytest.fixture
def report(browser, report_path):
    page = Page(browser, report_path)
    yield page
    page.close()


def _id_of(assessment, needle):
    (f,) = [f for f in assessment.findings if needle in f.message]
    return f.id


def _click_finding(report, fid):
    """Click the finding's shape on the map (the layer's own element)."""
    report.page.evaluate("id => window.safespaceMap.findings[id].fire('click')", fid)


def _show_row(report, fid):
    """Open the collapsed appendix block that holds a finding's row."""
    report.page.evaluate(
        "id => { for (let e = document.getElementById('f-' + id); e; e = e.parentElement)"
        " if (e.tagName === 'DETAILS') e.open = true; }",
        fid,
    )


def test_map_draws_one_shape_per_located_finding(report, assessment):
    located = [f for f in assessment.findings if f.geometry is not None]
    assert report.page.locator("path.ss-finding").count() == len(located) == 5
    # Severity classes match the findings' (after moderation).
    for sev in ("high", "medium", "low", "info"):
        n = sum(1 for f in located if f.severity == sev)
        assert report.page.locator(f"path.ss-finding.ss-sev-{sev}").count() == n
    # The issues are drawn too, one shape per located issue.
    n_issues = sum(
        1 for i in assessment.issues if i.geometry is not None and not i.geometry.is_empty
    )
    assert report.page.locator("path.ss-issue-shape").count() == n_issues
    # The base map is drawn (canvas renderer) and the layers control lists findings and issues.
    assert report.page.locator(".leaflet-overlay-pane canvas").count() >= 1
    assert "Issues" in report.page.inner_text(".leaflet-control-layers")


def test_clicking_a_finding_shows_its_text(report, assessment):
    fid = _id_of(assessment, "Blank wall beside")
    _click_finding(report, fid)
    popup = report.page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert f"Blank wall beside {XSS}" in text
    assert "Add windows facing the path" in text
    # The popup's table row is highlighted.
    assert "ss-active" in report.page.get_attribute(f"#f-{fid}", "class")


def test_clicking_a_table_row_focuses_the_map(report, assessment):
    fid = _id_of(assessment, "Hidden corner")
    _show_row(report, fid)
    report.page.click(f"#f-{fid} td[data-label=Finding] p")  # the polygon finding's row
    popup = report.page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Hidden corner" in popup.inner_text()
    # The unlocated finding's row is not clickable to the map.
    unlocated = _id_of(assessment, "The whole site")
    assert "ss-located" not in report.page.get_attribute(f"#f-{unlocated}", "class")


def test_key_concern_link_opens_its_issue(report, assessment):
    keys = [i for i in assessment.issues if i.key_concern]
    if not keys:
        pytest.skip("this assessment has no key concern")
    report.page.click(f".ss-concern[data-issue='{keys[0].id}'] a")
    assert report.page.evaluate(f"document.getElementById('issue-{keys[0].id}').open")


def test_untrusted_names_stay_text(report, assessment):
    # A building named <script>alert(1)</script>: its tooltip and the finding texts.
    report.page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    body = report.page.inner_text("body")
    assert XSS in body
    _click_finding(report, _id_of(assessment, "Blank wall beside"))
    report.page.locator(".leaflet-popup-content").wait_for()
    assert XSS in report.page.inner_text(".leaflet-popup-content")
    assert report.page.evaluate("document.querySelectorAll('script').length") == 3
    assert report.dialogs == []


def test_no_console_errors_and_no_network(report, tmp_path):
    report.page.mouse.wheel(0, 400)
    report.page.wait_for_timeout(200)
    assert report.errors == []
    assert report.dialogs == []
    outside = [u for u in report.requests if not u.startswith(("data:", report.url))]
    assert outside == []
    shot = tmp_path / "report.png"
    report.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_phone_layout_does_not_scroll_sideways(browser, report_path, tmp_path):
    page = Page(browser, report_path, width=390, height=844)
    try:
        width = page.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        assert page.errors == []
        page.page.screenshot(path=str(tmp_path / "phone.png"), full_page=False)
    finally:
        page.close()


def test_comparison_in_browser(browser, comparison, comparison_path, tmp_path):
    page = Page(browser, comparison_path)
    try:
        assert page.page.locator("path.ss-finding.ss-status-resolved").count() == 2
        assert page.page.locator("path.ss-finding.ss-status-new").count() == 1
        located_unchanged = sum(1 for _, a in comparison.unchanged if a.geometry is not None)
        assert page.page.locator("path.ss-finding.ss-status-unchanged").count() == located_unchanged
        page.page.locator("path.ss-finding.ss-status-new").click()
        page.page.locator(".leaflet-popup-content").wait_for()
        assert "Building FlagC is flagged" in page.page.inner_text(".leaflet-popup-content")
        assert page.errors == [] and page.dialogs == []
        page.page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
    finally:
        page.close()
