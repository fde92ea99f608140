"""The layering of ``docs/architecture.md``, checked on the source: module-level imports only
go downward (readers → Layout → analyses → rules → Assessment → writers), and none closes a
cycle. Imports inside a function (deferred, for optional parts) are not module dependencies
and are not counted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "safespace"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module of the source tree: a ``.py`` file or a package."""
    where = SRC / Path(*dotted.split("."))
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _imports(path: Path, name: str) -> set[str]:
    """safespace modules imported at module level (not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def visit(body):
        for node in body:
            if isinstance(node, ast.If):
                if "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("safespace"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if mod.startswith("safespace"):
                    out.add(mod)
                    # "from safespace.x import y" where y is a submodule or subpackage
                    for a in node.names:
                        if _is_module(f"{mod}.{a.name}"):
                            out.add(f"{mod}.{a.name}")

    visit(tree.body)
    return out


def _graph() -> dict[str, set[str]]:
    mods = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in mods.items():
        deps = set()
        for mod in _imports(path, name):
            # importing a.b.c also runs a and a.b: count the deepest module that exists
            while mod and mod not in mods:
                mod = mod.rpartition(".")[0]
            if mod and mod != name:
                deps.add(mod)
        graph[name] = deps
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def _parent_package_edge(a: str, b: str) -> bool:
    # a package's __init__ re-exporting its own submodules, and a submodule importing a
    # sibling through the package, are one unit
    return a.startswith(b + ".") or b.startswith(a + ".")


def test_no_import_cycle_between_modules():
    graph = {a: {b for b in deps if not _parent_package_edge(a, b)} for a, deps in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_graph_sees_real_imports():
    # a check that cannot fail is no check: the scan must find the known dependencies
    assert "safespace.findings" in GRAPH["safespace.assessment"]
    assert "safespace.analyses.network" in GRAPH["safespace.analyses.crime"] or any(
        d.startswith("safespace.analyses") for d in GRAPH["safespace.rules.crime"]
    )
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_graph_sees_packages(tmp_path):
    # a package is its __init__: a module of the graph, with its submodules beside it
    assert {"safespace.rules.engine", "safespace.rules.engine.site"} <= set(GRAPH)
    assert "safespace.rules.engine" in GRAPH["safespace.batch.task"]
    assert "safespace.rules.engine.definition" in GRAPH["safespace.rules.engine.site"]
    # "from safespace.x import y" where y is a subpackage counts y, not only x
    probe = tmp_path / "probe.py"
    probe.write_text("from safespace.rules import engine\nfrom safespace.analyses import network\n")
    found = _imports(probe, "safespace.probe")
    assert {"safespace.rules.engine", "safespace.analyses.network"} <= found


def test_the_engine_parts_import_one_another_not_the_engine():
    # safespace.rules.engine re-exports its parts; a part importing the package at module
    # level would read it half initialised (the cycle test counts a package and its own
    # submodules as one unit, so it would not see this)
    parts = [m for m in GRAPH if m.startswith("safespace.rules.engine.")]
    assert len(parts) >= 4
    bad = sorted((m, d) for m in parts for d in GRAPH[m] if d == "safespace.rules.engine")
    assert bad == []


# (layer, modules it must not import at module level)
FORBIDDEN = [
    ("safespace.io", ("safespace.analyses", "safespace.rules", "safespace.report",
                      "safespace.assessment", "safespace.issues", "safespace.batch")),
    ("safespace.analyses", ("safespace.rules", "safespace.report", "safespace.assessment",
                            "safespace.issues", "safespace.batch", "safespace.cli",
                            "safespace.response", "safespace.evaluation")),
    ("safespace.rules", ("safespace.report", "safespace.assessment", "safespace.batch",
                         "safespace.cli", "safespace.response")),
    ("safespace.issues", ("safespace.report", "safespace.assessment", "safespace.batch",
                          "safespace.cli", "safespace.response")),
    ("safespace.findings", ("safespace.report", "safespace.assessment", "safespace.rules",
                            "safespace.analyses")),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN)
def test_layers_import_only_downward(layer, forbidden):
    bad = sorted(
        (a, b)
        for a, deps in GRAPH.items()
        if a == layer or a.startswith(layer + ".")
        for b in deps
        if any(b == f or b.startswith(f + ".") for f in forbidden)
    )
    assert bad == []


def test_nothing_below_the_report_imports_it():
    above = ("safespace.report", "safespace.assessment", "safespace.compare", "safespace.cli",
             "safespace.batch", "safespace._cli_siting", "safespace")  # fmt: skip
    bad = sorted(
        (a, b)
        for a, deps in GRAPH.items()
        if not any(a == u or a.startswith(u + ".") for u in above[:-1]) and a != "safespace"
        for b in deps
        if b == "safespace.report" or b.startswith("safespace.report.")
    )
    assert bad == []


# -- the lazy exports of safespace.analyses ------------------------------------------------


def _public_analyses_modules() -> list[str]:
    """Every public module of ``safespace.analyses`` (no part of its name private)."""
    import pkgutil

    import safespace.analyses as an

    names = []
    for info in pkgutil.walk_packages(an.__path__, "safespace.analyses."):
        if not any(part.startswith("_") for part in info.name.split(".")[2:]):
            names.append(info.name)
    return sorted(names)


def _public_names(module) -> list[str]:
    """A module's ``__all__``, or (without one) the functions and classes it defines."""
    import inspect

    listed = getattr(module, "__all__", None)
    if listed is not None:
        return list(listed)
    return [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == module.__name__
    ]


def _public_analyses() -> dict[str, tuple[str, object]]:
    """Public analyses by name: (defining public module, function).

    An analysis is a public function whose first parameter is ``layout``: what
    ``site.analysis(func, **kw)`` calls as ``func(layout, **kw)``.
    """
    import importlib
    import inspect

    found: dict[str, tuple[str, object]] = {}
    for modname in _public_analyses_modules():
        module = importlib.import_module(modname)
        for name in _public_names(module):
            obj = getattr(module, name)
            if not inspect.isfunction(obj):
                continue
            first = next(iter(inspect.signature(obj).parameters), None)
            if first == "layout":
                # where it is defined, not the first module that re-exports it
                found.setdefault(name, (obj.__module__, obj))
    return found


def test_every_public_analysis_is_a_lazy_export_of_safespace_analyses():
    import importlib

    import safespace.analyses as an

    analyses = _public_analyses()
    # a check that cannot fail is no check: the scan finds analyses old and new
    assert {"illuminance_grid", "stretch_table", "walk_angular", "leaky_culdesacs"} <= set(analyses)
    missing, wrong = [], []
    for name, (modname, obj) in sorted(analyses.items()):
        home = an._EXPORTS.get(name)
        if home is None:
            missing.append(f"{name} ({modname})")
            continue
        # the export names the defining module, a package above it that re-exports the name,
        # or the public module that re-exports it from a private kernel module (_kern_*)
        private = any(part.startswith("_") for part in modname.split("."))
        if not (modname == home or modname.startswith(home + ".") or private) or (
            getattr(importlib.import_module(home), name, None) is not obj
        ):
            wrong.append(f"{name}: exported from {home}, defined in {modname}")
    assert missing == [], "public analyses missing from safespace.analyses._EXPORTS"
    assert wrong == []


def test_every_lazy_export_is_public_in_its_module():
    import importlib

    import safespace.analyses as an

    assert an.__all__ == sorted(an._EXPORTS)
    bad = []
    for name, home in sorted(an._EXPORTS.items()):
        module = importlib.import_module(home)
        if name not in _public_names(module):
            bad.append(f"{name} is not public in {home}")
    assert bad == []
