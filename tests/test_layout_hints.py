"""Every parameter named ``layout`` in ``src/safespace`` has the type ``Layout`` (issue 17.7).

Checked on the source with :mod:`ast`: the annotation is ``Layout`` or ``Layout | None`` (or
either as a string), and the module binds ``Layout`` itself: it imports it (at module level,
or under ``if TYPE_CHECKING:`` where the import would close a cycle) or defines it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "safespace"

#: The annotations a ``layout`` parameter may have (as ``ast.unparse`` spells them).
ACCEPTED = {"Layout", "Layout | None", "None | Layout"}


def _accepted(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        # a string annotation: "Layout", "Layout | None"
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    return ast.unparse(annotation) in ACCEPTED


def _layout_params(tree: ast.AST) -> list[tuple[int, str, ast.arg]]:
    """(line, function name, argument) for every parameter called ``layout``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = args.posonlyargs + args.args + args.kwonlyargs
            every += [a for a in (args.vararg, args.kwarg) if a is not None]
            found += [(a.lineno, node.name, a) for a in every if a.arg == "layout"]
    return found


def _binds_layout(tree: ast.Module) -> bool:
    """Whether the module imports ``Layout`` (module level or TYPE_CHECKING) or defines it."""

    def visit(body) -> bool:
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name == "Layout":
                return True
            if isinstance(node, ast.ImportFrom | ast.Import):
                if any((a.asname or a.name) == "Layout" for a in node.names):
                    return True
            if isinstance(node, ast.If | ast.Try) and visit(node.body):
                return True
        return False

    return visit(tree.body)


def _violations(root: Path = PKG) -> tuple[list[str], list[str]]:
    """(parameters without the type, files using the type without binding it)."""
    untyped, unbound = [], []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        params = _layout_params(tree)
        rel = path.relative_to(root.parent)
        for line, func, arg in params:
            if not _accepted(arg.annotation):
                shown = ast.unparse(arg.annotation) if arg.annotation else None
                untyped.append(f"{rel}:{line}: {func}(layout: {shown})")
        if any(_accepted(arg.annotation) for _, _, arg in params) and not _binds_layout(tree):
            unbound.append(f"{rel}: annotates layout as Layout but never imports it")
    return untyped, unbound


def test_every_layout_parameter_is_typed_layout():
    untyped, _ = _violations()
    assert untyped == [], "parameters named layout without the Layout type:\n" + "\n".join(untyped)


def test_every_module_annotating_layout_imports_it():
    _, unbound = _violations()
    assert unbound == [], "\n".join(unbound)


def test_the_check_sees_what_it_must(tmp_path):
    # a check that cannot fail is no check
    (tmp_path / "good.py").write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from safespace.layout import Layout\n"
        "def a(layout: Layout): ...\n"
        "def b(x, *, layout: Layout | None = None): ...\n"
        "def c(layout: 'Layout'): ...\n"
        "def d(layout: 'Layout | None' = None): ...\n"
    )
    (tmp_path / "bad.py").write_text(
        "from typing import Any\n"
        "def a(layout): ...\n"
        "def b(layout: Any): ...\n"
        "class K:\n"
        "    def m(self, layout: object): ...\n"
        "def c(layout: Layout): ...\n"
    )
    untyped, unbound = _violations(tmp_path)
    assert [u.split(": ", 1)[1] for u in untyped] == [
        "a(layout: None)",
        "b(layout: Any)",
        "m(layout: object)",
    ]
    assert len(unbound) == 1 and "bad.py" in unbound[0]
    # the real tree has layout parameters to check
    assert len(_layout_params(ast.parse((PKG / "rules" / "engine" / "site.py").read_text()))) >= 1
