"""The backend's boundaries: it imports only the serving side of models/, asks the owner for the ellipses file's name,
and stays in small pieces (no function over 60 lines, no module over 400). tests/test_layout.py checks the rest."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "backend").rglob("*.py"))
ALLOWED = ("models.runs", "models.device", "models.editing", "models.io", "models.data", "models.paste",
           "models.domain", "models.thumbstore")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imports(tree: ast.Module) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] if node.module != "models" else [f"models.{a.name}" for a in node.names]
    return out


def test_backend_imports_only_the_serving_side_of_models():
    bad = [f"{p.relative_to(ROOT)}: {m}" for p in MODULES for m in _imports(_tree(p))
           if (m == "models" or m.startswith("models.")) and not m.startswith(ALLOWED)]
    assert not bad, f"backend modules import beyond {', '.join(ALLOWED)}: {bad}"


def test_the_ellipses_file_name_is_spelled_by_its_owner_only():
    """models.data.transfer writes the dataset's ellipses.json and owns its name (tests/test_layout.py checks the
    run-folder names the same way)."""
    from models.data.transfer import ELLIPSES_FILE

    owner = ROOT / "models" / "data" / "transfer.py"
    files = [p for pkg in ("backend", "models", "scripts") for p in sorted((ROOT / pkg).rglob("*.py")) if p != owner]
    bad = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in files for n in ast.walk(_tree(p))
           if isinstance(n, ast.Constant) and n.value == ELLIPSES_FILE]
    assert not bad, f"{ELLIPSES_FILE!r} spelled outside models/data/transfer.py (use ELLIPSES_FILE): {bad}"


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT / "backend")) for p in MODULES])
def test_backend_modules_and_functions_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.name} has {lines} lines; split it (the limit is 400)"
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines)" for n in ast.walk(_tree(path))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, f"{path.name}: functions over 60 lines: {long}"
