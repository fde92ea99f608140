"""The rule pages' Parameters sections are generated from the code and must be current.

(Named ``test_rule_pages`` so it does not clash with ``tests/test_rule_docs.py``: the test
folders are not packages, so two test files cannot share a name.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from safespace.rules import _docs
from safespace.rules.engine import Param, rule
from safespace.rules.lighting import LIGHTING
from safespace.rules.profiles import available_profiles, profiles_dir

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RULES = _docs.builtin_rules()
FIX = "run `python -m safespace.rules._docs` and commit the pages"


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_page_parameters_are_current(rule_id):
    page = DOCS / "rules" / f"{rule_id}.md"
    text = page.read_text(encoding="utf-8")
    assert _docs.BEGIN in text and _docs.END in text, f"{page.name} has no generated section"
    assert _docs.render_page(text, RULES[rule_id], RULES) == text, f"{page.name} is stale: {FIX}"
    section = text[text.index(_docs.BEGIN) : text.index(_docs.END)]
    for name in RULES[rule_id].all_params:  # the group's settings are on the page too
        assert f"| `{name}` |" in section, f"{rule_id}: {name} missing from its page"
    for group in RULES[rule_id].settings:
        assert f"../profiles.md#settings-group-{group}" in section


def test_profiles_page_settings_groups_are_current():
    text = (DOCS / "profiles.md").read_text(encoding="utf-8")
    assert _docs.render_profiles(text, RULES) == text, f"docs/profiles.md is stale: {FIX}"
    for group in ("lighting", "surveillance", "rear_access", "police_access"):
        assert f"### Settings group `{group}`" in text


def test_the_check_finds_a_stale_page(tmp_path):
    (tmp_path / "rules").mkdir()
    for rid in RULES:
        src = DOCS / "rules" / f"{rid}.md"
        (tmp_path / "rules" / src.name).write_text(src.read_text(encoding="utf-8"))
    (tmp_path / "profiles.md").write_text((DOCS / "profiles.md").read_text(encoding="utf-8"))
    assert _docs.stale_pages(tmp_path) == []
    page = tmp_path / "rules" / "SL003.md"
    page.write_text(page.read_text().replace("| `max_depth_m` | 0.6 |", "| `max_depth_m` | 0.9 |"))
    assert _docs.main(["--check", "--docs", str(tmp_path)]) == 1
    assert _docs.stale_pages(tmp_path, write=True) == [page]
    assert _docs.stale_pages(tmp_path) == []
    assert "| `max_depth_m` | 0.6 |" in page.read_text()


def test_a_page_without_a_section_gets_one_before_how_to_fix():
    @rule(
        "XX040",
        "A test rule",
        "lighting",
        params={"limit_m": Param(2.5, "m", "a | limit", "somewhere [quoted]")},
        settings=[LIGHTING],
    )
    def check(site):
        yield from ()

    text = "# XX040 — A test rule\n\n## What it measures\nThings.\n\n## How to fix\nFix.\n"
    out = _docs.render_page(text, check, {"XX040": check})
    assert out.index("## Parameters") < out.index("## How to fix")
    assert "| `limit_m` | 2.5 | m | a \\| limit | somewhere **[quoted]** |" in out
    assert '| `footway_class` | "P4" |' in out  # the settings group's table
    assert _docs.render_page(out, check, {"XX040": check}) == out  # idempotent


def test_default_profile_is_true_to_its_header():
    # "every registered rule at the defaults its code declares ... restates one default"
    data = tomllib.loads((profiles_dir() / "default.toml").read_text(encoding="utf-8"))
    assert "extends" not in data["profile"] and "rules" not in data["profile"]
    assert "settings" not in data
    restated = {(rid, k) for rid, table in data.get("rules", {}).items() for k in table}
    assert restated == {("IN001", "include_info")}
    assert data["rules"]["IN001"]["include_info"]["value"] == (
        RULES["IN001"].params["include_info"].default
    )
    # "Every built-in profile extends it"
    for name in available_profiles():
        seen, current = [], name
        while current != "default":
            head = tomllib.loads((profiles_dir() / f"{current}.toml").read_text())["profile"]
            assert "extends" in head, f"{name} does not extend the default profile"
            current = str(head["extends"]).removesuffix(".toml")
            assert current not in seen
            seen.append(current)
