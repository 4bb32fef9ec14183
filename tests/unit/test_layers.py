"""The house's layers (issue 27): the import-linter contracts hold, and no package imports itself in a circle.

The contracts (core imports no Textual, the app reaches the API only through ``tui.core.ops``, the sandbox
imports nothing of the core, the API uses neither the operations nor more than the errors) are declared in
pyproject.toml; ``lint-imports`` runs here so CI runs it through pytest.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAZY = re.compile(r"""\blazy\(\s*["']([\w.]+)["']\s*\)""")  # tui/lazy.py: an import made on first use


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def runtime_graph() -> dict[str, set[str]]:
    """Who imports whom when the code runs: every import but the annotations' (``if TYPE_CHECKING``), plus
    the ``lazy("...")`` ones, which grimp cannot see (their TYPE_CHECKING twin is left out above)."""
    graph = grimp.build_graph("tui", exclude_type_checking_imports=True, cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    for module in graph.modules:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        for target in LAZY.findall(Path(spec.origin).read_text(encoding="utf-8")):
            edges[module].add(target)
    return edges


def circles(edges: dict[str, set[str]], package: str) -> list[list[str]]:
    """The strongly connected components of more than one module inside ``package`` (Tarjan)."""
    inside = {m for m in edges if m == package or m.startswith(package + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(edges[module] & inside):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(inside):
        if module not in index:
            visit(module)
    return found


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return runtime_graph()


@pytest.mark.parametrize("package", ["tui.app", "tui.cli", "tui.core"])
def test_no_import_circle(edges: dict[str, set[str]], package: str) -> None:
    assert circles(edges, package) == []


def test_a_circle_is_found_and_lazy_imports_count() -> None:
    """The finder itself: a circle closed only by a lazy import is still a circle."""
    edges = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": set(), "p.d": set()}
    assert circles(edges, "p") == []
    edges["p.c"].add("p.a")
    assert circles(edges, "p") == [["p.a", "p.b", "p.c"]]
    assert LAZY.findall('x, y = lazy("tui.core.ops.previews"), lazy( "tui.core.ops.bulk" )') == [
        "tui.core.ops.previews",
        "tui.core.ops.bulk",
    ]


def test_the_app_is_no_switchboard() -> None:
    """Issue 27: results go to their owner; the App passes on at most five messages widgets post upward."""
    import ast
    import inspect

    from tui.app import app

    tree = ast.parse(inspect.getsource(app.PrismeDeployApp))
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    handlers = [f for f in ast.walk(tree) if isinstance(f, functions) and f.name.startswith("on_")]
    forwarding = [
        f.name
        for f in handlers
        if len(body := [s for s in f.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Call)
    ]
    assert len(forwarding) <= 5, forwarding
    assert len(handlers) <= 9, [f.name for f in handlers]
