"""The import graph: values, program and errors at the bottom; no circles; no torch at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import visprog

PACKAGE = Path(visprog.__file__).parent
BOTTOM = {
    "visprog.values",
    "visprog.masks",
    "visprog.program",
    "visprog.errors",
    "visprog._version",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """visprog modules imported at module level (not inside functions, not TYPE_CHECKING).

    ``from visprog import values`` imports the module visprog.values, not the package.
    """
    out: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules
            out.update(subs or {node.module})
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out & modules


def graph() -> dict[str, set[str]]:
    """Module -> the visprog modules it imports at module level."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    names = set(files)
    return {m: _runtime_imports(p, names) - {m} for m, p in files.items()}


def _cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_circles() -> None:
    g = graph()
    assert "visprog.session" in g and "visprog.values" in g  # the walk found the package
    assert _cycle(g) is None, f"import circle: {' -> '.join(_cycle(g) or [])}"


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_values_program_and_errors_sit_at_the_bottom() -> None:
    g = graph()
    for module in BOTTOM:
        assert g[module] <= BOTTOM, f"{module} imports {g[module] - BOTTOM}"
    assert g["visprog.errors"] == set()


def test_import_visprog_loads_no_heavy_library() -> None:
    code = (
        "import sys, visprog, visprog.tools; "
        "print(sorted(m for m in ('torch', 'transformers', 'ultralytics', 'sam2', 'diffusers') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
