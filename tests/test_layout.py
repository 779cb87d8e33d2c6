"""The package's shape: no import cycle in models/, the server imports no training or evaluation code, and every
run-folder file name is spelled in models/runs.py alone."""

from __future__ import annotations

import ast
import subprocess
import sys

from models import runs
from tests.conftest import ROOT

RUN_FILES = {runs.CONFIG, runs.WEIGHTS, runs.CHECKPOINT, runs.METRICS, runs.SPLIT, runs.SUMMARY, runs.LATENTS,
             runs.THUMBS, runs.LEGACY_THUMBS, runs.THUMB_STORES, runs.PROJECTIONS, runs.PROJECTIONS_PARTIAL,
             runs.METRICS_JSON, runs.JUDGES, runs.QUICK_JUDGES}


def _modules(package: str) -> dict[str, ast.Module]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text())
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only, never executed)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_models_has_no_import_cycle():
    mods = _modules("models")
    graph = {m: {i for i in _imports(t) if i in mods and i != m} for m, t in mods.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, f"import cycle: {' -> '.join(path + [m, n])}"
            if n not in state:
                visit(n, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_the_server_imports_no_training_or_evaluation_code():
    code = ("import sys, backend.main; backend.main.create_app(); "
            "bad = sorted(m for m in sys.modules if m.startswith(('models.train', 'models.eval', 'scripts'))); "
            "print(','.join(bad))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"the server loaded {r.stdout.strip()}"


def test_run_file_names_are_spelled_in_models_runs_only():
    spelled = []
    for package in ("models", "backend", "scripts"):
        for name, tree in _modules(package).items():
            if name == "models.runs":
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value in RUN_FILES:
                    spelled.append(f"{name}:{node.lineno} {node.value!r}")
    assert not spelled, "use the constants of models.runs instead: " + "; ".join(spelled)
