"""The shape of the package: modules import only downwards (no cycle, not even through an
import inside a function), and the workflow passes Snakemake's linter and snakefmt."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "src" / "hlsnake"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports, anywhere in its body."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # "from . import x" imports the submodule x; "from .m import y" imports m
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_the_package():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_sees_a_cycle_behind_a_function_level_import():
    graph = {"a": {"b"}, "b": set(), "c": set()}
    assert cycles(graph) == []
    graph["b"] = {"a"}
    assert cycles(graph) == [["a", "b"]]


def test_the_package_imports_its_submodules_as_edges():
    graph = import_graph()
    assert "hlsnake.synth.estimate" in graph["hlsnake.synth"]  # the package __init__ imports its backends
    assert "hlsnake.synth.base" in graph["hlsnake.synth.estimate"]  # ... which register in the base module
    assert "hlsnake.synth" not in graph["hlsnake.synth.estimate"]


def test_the_runtime_package_does_not_reach_into_the_shared_fixtures():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "shared" not in text.replace("shared by", "").replace("shares", "") or "fixtures" not in text, path


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile"), "--cores", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_rules_are_formatted_with_snakefmt():
    exe = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    if exe is None:
        pytest.fail("snakefmt is not installed: pip install -e '.[test]' installs it")
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    proc = subprocess.run([exe, "--check", "--line-length", "120", *map(str, files)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
