"""Every built-in rule has its docs page, its references, and a source for every threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from safespace.rules.engine import discover_rules

DOCS = Path(__file__).resolve().parents[1] / "docs" / "rules"
RULES = discover_rules()


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_has_page_references_and_sources(rule_id):
    rule = RULES[rule_id]
    page = DOCS / f"{rule_id}.md"
    assert page.is_file(), f"docs/rules/{rule_id}.md is missing"
    text = page.read_text(encoding="utf-8")
    assert rule_id in text.splitlines()[0]
    assert rule.references, f"{rule_id} cites no guidance"
    for name, param in rule.all_params.items():
        assert param.source.strip(), f"{rule_id}.{name} has no source"


def test_rules_index_lists_every_rule():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for rule_id in RULES:
        assert f"[{rule_id}]({rule_id}.md)" in index
