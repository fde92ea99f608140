"""The ``## Parameters`` section of every rule page, generated from the code.

Like a linter's rule reference (ruff generates its rule pages from the rules), each
``docs/rules/ID.md`` carries a table of the rule's parameters made from
:attr:`~safespace.rules.engine.Rule.all_params`: name, default, unit, meaning and the
source of the default, with the settings groups the rule reads in tables of their own.
``docs/profiles.md`` carries one table per settings group, with the analyses it feeds.
Only the text between the markers is generated; the rest of each page is written by hand.

Run ``python -m safespace.rules._docs`` to rewrite the pages after changing a parameter,
``python -m safespace.rules._docs --check`` to list the pages that are not current (the
test ``tests/rules/test_rule_pages.py`` does the same in memory).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from safespace.rules.engine import Param, Rule, SettingsGroup, discover_rules

BEGIN = (
    "<!-- parameters: generated from the code by `python -m safespace.rules._docs`; "
    "change the Param, not this table -->"
)
END = "<!-- end of the generated parameters -->"
GROUPS_BEGIN = (
    "<!-- settings groups: generated from the code by `python -m safespace.rules._docs`; "
    "change the SettingsGroup, not these tables -->"
)
GROUPS_END = "<!-- end of the generated settings groups -->"

#: The source marks of GUIDANCE.md, printed in bold on the pages.
_MARKS = re.compile(r"(?<!\*\*)\[(checked|quoted|unverified)\](?!\*\*)")
_HEADER = "| parameter | default | unit | meaning | source |\n|---|---|---|---|---|"


def docs_dir() -> Path:
    """The source tree's ``docs/`` (the pages are not shipped in the wheel)."""
    return Path(__file__).resolve().parents[3] / "docs"


def builtin_rules(registry: Mapping[str, Rule] | None = None) -> dict[str, Rule]:
    """safespace's own rules (a rule pack documents its rules itself), by id."""
    registry = discover_rules() if registry is None else registry
    return {
        rid: r
        for rid, r in registry.items()
        if getattr(r.check, "__module__", "").startswith("safespace.")
    }


def format_default(value: Any) -> str:
    """A default as a profile would write it: ``5``, ``0.8``, ``true``, ``"P4"``, ``[...]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_default(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    """Text for a table cell: one line, ``|`` escaped, source marks in bold."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return _MARKS.sub(r"**[\1]**", text)


def param_table(params: Mapping[str, Param]) -> str:
    """A Markdown table of parameters: name, default, unit, meaning, source."""
    rows = [
        f"| `{name}` | {_cell(format_default(p.default))} | {_cell(p.unit) or '—'} | "
        f"{_cell(p.description) or '—'} | {_cell(p.source) or '—'} |"
        for name, p in params.items()
    ]
    return "\n".join([_HEADER, *rows])


def _readers(group: str, registry: Mapping[str, Rule]) -> list[str]:
    return [rid for rid, r in registry.items() if group in r.settings]


def _anchor(group: str) -> str:
    return f"settings-group-{group}"


def _feed_line(group: SettingsGroup, name: str, first: bool) -> str:
    feed = group.analyses[name]
    call = f'site.shared("{group.name}")' if first else f'site.shared("{group.name}", "{name}")'
    args = [f"`{kw}`" if kw == p else f"`{kw}` ← `{p}`" for p, kw in feed.kwargs.items()]
    args += [f"`{kw}` ← the group's `{other}`" for kw, other in feed.inputs.items()]
    func = f"{feed.func.__module__}.{feed.func.__qualname__}"
    return f"- `{call}`: `{func}`" + (f" ({', '.join(args)})" if args else "")


def parameters_section(rule_: Rule, registry: Mapping[str, Rule]) -> str:
    """The generated text of a rule's ``## Parameters`` section (between the markers)."""
    parts: list[str] = []
    if rule_.params:
        parts.append(param_table(rule_.params))
    elif not rule_.settings:
        parts.append("This rule has no parameters.")
    else:
        parts.append("This rule has no parameters of its own.")
    for name, group in rule_.settings.items():
        readers = ", ".join(_readers(name, registry))
        feeds = ", ".join(
            f"`{q}`" for q in dict.fromkeys(f.func.__qualname__ for f in group.analyses.values())
        )
        parts.append(
            f"Shared settings `[settings.{name}]`, set once in a profile for every rule that "
            f"reads them ({readers})"
            + (f"; they feed {feeds}" if feeds else "")
            + f" (see [docs/profiles.md](../profiles.md#{_anchor(name)})):"
        )
        parts.append(param_table(group.params))
    return "\n\n".join(parts)


def _replace_between(text: str, begin: str, end: str, body: str) -> str | None:
    i = text.find(begin)
    j = text.find(end)
    if i < 0 or j < i:
        return None
    return text[: i + len(begin)] + "\n\n" + body + "\n\n" + text[j:]


def render_page(text: str, rule_: Rule, registry: Mapping[str, Rule]) -> str:
    """The page ``text`` with its generated ``## Parameters`` section brought up to date.

    Between the markers when the page has them; otherwise the first table of its
    ``## Parameters`` section becomes the marked block (prose around it is kept), or a
    section is added before ``## How to fix`` (or at the end).
    """
    body = parameters_section(rule_, registry)
    done = _replace_between(text, BEGIN, END, body)
    if done is not None:
        return done
    block = f"{BEGIN}\n\n{body}\n\n{END}"
    lines = text.splitlines()
    head = next((i for i, ln in enumerate(lines) if ln.strip() == "## Parameters"), None)
    if head is not None:
        stop = next(
            (i for i in range(head + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        first = next((i for i in range(head + 1, stop) if lines[i].startswith("|")), None)
        if first is None:
            new = lines[: head + 1] + ["", block] + lines[head + 1 :]
        else:
            last = first
            while last + 1 < stop and lines[last + 1].startswith("|"):
                last += 1
            new = lines[:first] + [block] + lines[last + 1 :]
    else:
        at = next((i for i, ln in enumerate(lines) if ln.strip() == "## How to fix"), len(lines))
        new = lines[:at] + ["## Parameters", "", block, ""] + lines[at:]
    return "\n".join(new) + ("\n" if text.endswith("\n") else "")


def settings_groups_section(registry: Mapping[str, Rule]) -> str:
    """The generated tables of ``docs/profiles.md``: one per settings group."""
    groups: dict[str, SettingsGroup] = {}
    for r in registry.values():
        for name, group in r.settings.items():
            groups.setdefault(name, group)
    parts = []
    for name in sorted(groups):
        group = groups[name]
        parts.append(f"### Settings group `{name}`")
        intro = f"`[settings.{name}]`"
        if group.description:
            intro += f": {group.description}"
        parts.append(f"{intro}. Read by {', '.join(_readers(name, registry))}.")
        if group.analyses:
            lines = [_feed_line(group, feed, i == 0) for i, feed in enumerate(group.analyses)]
            parts.append(
                "It feeds these analyses, with these keyword arguments (← the setting that "
                "gives one, where the names differ):\n\n" + "\n".join(lines)
            )
        parts.append(param_table(group.params))
    return "\n\n".join(parts)


def render_profiles(text: str, registry: Mapping[str, Rule]) -> str:
    """``docs/profiles.md`` with its generated settings-group tables brought up to date
    (appended at the end, with the markers, when it has none yet)."""
    body = settings_groups_section(registry)
    done = _replace_between(text, GROUPS_BEGIN, GROUPS_END, body)
    if done is not None:
        return done
    return text.rstrip("\n") + f"\n\n{GROUPS_BEGIN}\n\n{body}\n\n{GROUPS_END}\n"


def stale_pages(
    docs: Path | None = None, registry: Mapping[str, Rule] | None = None, *, write: bool = False
) -> list[Path]:
    """The pages whose generated sections are not current (rewritten when ``write``).

    Parameters
    ----------
    docs
        The ``docs/`` folder (default: the source tree's).
    registry
        The rules (default: safespace's own).
    write
        Rewrite the stale pages.

    Returns
    -------
    list of Path
        The stale pages (missing rule pages included; they are never created here).
    """
    docs = docs_dir() if docs is None else Path(docs)
    registry = builtin_rules(registry)
    stale = []
    targets = [(docs / "rules" / f"{rid}.md", r) for rid, r in registry.items()]
    for path, r in targets:
        if not path.is_file():
            stale.append(path)
            continue
        text = path.read_text(encoding="utf-8")
        new = render_page(text, r, registry)
        if new != text:
            stale.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    path = docs / "profiles.md"
    text = path.read_text(encoding="utf-8")
    new = render_profiles(text, registry)
    if new != text:
        stale.append(path)
        if write:
            path.write_text(new, encoding="utf-8")
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or with ``--check``, list) the pages whose parameters are not current."""
    parser = argparse.ArgumentParser(
        prog="python -m safespace.rules._docs", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="list stale pages; change none")
    parser.add_argument("--docs", type=Path, default=None, help="the docs/ folder")
    args = parser.parse_args(argv)
    stale = stale_pages(args.docs, write=not args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'rewrote'}: {path}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
