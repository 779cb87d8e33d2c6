"""The docs keep step with the code (datasette's tests/test_docs.py): every setting, command, route, figure and
config field is documented, and no page names a module, file, command or route that no longer exists.

    .venv/bin/python -m pytest -q tests/test_docs.py

Owners of each fact: backend/settings.py (settings), scripts/cli.py COMMANDS (commands), backend.main.create_app
(routes), the FIGURE lines printed under scripts/ (figures), models/config.py (model and training fields).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
CHANGELOG = ROOT / "CHANGELOG.md"
PAGES = sorted(DOCS.glob("*.md"))
USER_DOCS = [README, CHANGELOG, *PAGES]

# Figure names printed from a template (an f-string in the name; each {...} written as {}): the real values it takes.
FIGURE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "paint_{}_s": ("paint_30k_s", "paint_400k_s"),  # scripts/bench/frontend.py, map.py
    "paint_{}_ratio": ("paint_400k_ratio", "paint_30k_ratio"),  # scripts/bench/map.py
    "lasso_{}_ms": ("lasso_400k_ms",),
    "hover_thumb_{}_ms": ("hover_thumb_400k_ms",),
    "pan_fps_{}": ("pan_fps_400k",),
    "export_{}_min": ("export_400k_min",),  # scripts/bench/bigrun.py
    "paint_{}_svg_ratio": ("paint_30k_svg_ratio",),
    "recon_ratio_{}": ("recon_ratio_noedit", "recon_ratio_edit", "recon_ratio_edit_local",
                       "recon_ratio_edit_local_late"),  # scripts/bench/edit.py, one per ablation step
    "{}_ccc": ("fewshot6_ccc", "ck_fewshot6_ccc"),  # scripts/fewshot.py --figures PREFIX
    "{}_nn_ccc": ("fewshot6_nn_ccc", "ck_fewshot6_nn_ccc"),
    "{}": ("tsne_30k_s", "tsne_400k_min", "recon_mse_ratio", "recon_mse_ratio_fer"),  # bench/tsne.py, evaluate.py
    "eval_synth_ccc_{}": ("eval_synth_ccc_v", "eval_synth_ccc_a"),
    "edit_fid_synth_ccc_{}": ("edit_fid_synth_ccc_v", "edit_fid_synth_ccc_a"),
    "fer_ccc_{}": ("fer_ccc_v", "fer_ccc_a"),
    "synth_ccc_{}": ("synth_ccc_v", "synth_ccc_a"),
    # scripts/evaluate.py print_image_figures: unprefixed for synthetic faces, fer_ for FER2013
    "{}recon_sharpness": ("recon_sharpness", "fer_recon_sharpness"),
    "{}recon_grid_ratio": ("recon_grid_ratio", "fer_recon_grid_ratio"),
    "{}recon_judge_agree_{}": ("recon_judge_agree_v", "recon_judge_agree_a", "fer_recon_judge_agree_v",
                               "fer_recon_judge_agree_a"),
    "{}recon_fjd": ("recon_fjd", "fer_recon_fjd"),
    "{}recon_identity_top1": ("recon_identity_top1", "fer_recon_identity_top1"),
    "{}edit_seam_ratio": ("edit_seam_ratio", "fer_edit_seam_ratio"),
    # scripts/evaluate.py print_chunk_figures: unprefixed for synthetic faces, fer_ for FER2013
    **{f"{{}}{n}": (n, f"fer_{n}") for n in ("leak_zv_a", "leak_za_v", "leak_zz_va", "leak_zz_emotion",
                                            "edit_worst_sector_deg", "edit_strength_rho")},
    # scripts/bench/photo.py print_paste: unprefixed for synthetic faces, fer_ for FER2013
    "{}paste_outside_box_max": ("paste_outside_box_max", "fer_paste_outside_box_max"),
    "{}paste_sharpness_ratio": ("paste_sharpness_ratio", "fer_paste_sharpness_ratio"),
    "{}paste_judge_ccc_v": ("paste_judge_ccc_v", "fer_paste_judge_ccc_v"),
    "{}paste_judge_ccc_a": ("paste_judge_ccc_a", "fer_paste_judge_ccc_a"),
}
# Figures announced in docs/results.md before a benchmark prints them (marked "new" there). Once a script prints one,
# it is checked like any other; until then it may stand in the figure index.
PENDING_FIGURES = {"edit_p50_ratio", "edits_per_s_16_ratio", "encode_per_s_ratio", "paint_30k_svg_ratio",
                   "demo_fresh_s"}
# LEVASA_* names in the docs that are not service settings.
NOT_SETTINGS = {"LEVASA_PUBLISH_PORT"}  # docker-compose.yml: the host port the api service publishes
# FastAPI's own pages (plain Routes, not APIRoutes, so never required): the docs may name them.
FRAMEWORK_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def all_docs_text() -> str:
    return "\n".join(read(p) for p in [README, *PAGES])


def code_spans(text: str) -> list[str]:
    """Inline `code` and the lines of fenced code blocks."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", prose) + [line for b in blocks for line in b.splitlines()]


# ---- the facts, from the code --------------------------------------------------------------------------------------


def settings_names() -> list[str]:
    from backend.settings import Settings

    return [f"LEVASA_{name.upper()}" for name in Settings.model_fields]


def commands() -> list[str]:
    from scripts.cli import COMMANDS

    return list(COMMANDS)


def _walk_routes(routes, prefix: str = ""):
    """(method, path) of every APIRoute, descending into included routers (FastAPI may wrap them lazily)."""
    from fastapi.routing import APIRoute

    for r in routes:
        if isinstance(r, APIRoute):
            for m in sorted(r.methods - {"HEAD", "OPTIONS"}):
                yield m, prefix + r.path
        elif hasattr(r, "original_router"):
            ctx = getattr(r, "include_context", None)
            yield from _walk_routes(r.original_router.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        elif hasattr(r, "routes") and getattr(r, "path", None) is None:
            yield from _walk_routes(r.routes, prefix)


def api_routes() -> set[tuple[str, str]]:
    from backend.main import create_app

    app = create_app()
    found = set(_walk_routes(app.routes))
    for path, ops in app.openapi()["paths"].items():  # the schema's view, in case a router hides its routes
        found |= {(m.upper(), path) for m in ops}
    return found


def printed_figures() -> dict[str, list[str]]:
    """Every `FIGURE <name>` a script under scripts/ prints -> the files printing it. Templates expand through
    FIGURE_TEMPLATES; an unknown template is reported under its own name so the test names it."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "scripts").rglob("*.py")):
        tree = ast.parse(read(path))
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print"):
                continue
            for node in (n for a in call.args for n in _strings(a)):
                text = _string_text(node)
                m = re.match(r"FIGURE ([\w{}.\[\]'\"]+)", text or "")
                if not m:
                    continue
                template = re.sub(r"\{[^}]*\}", "{}", m.group(1))
                for name in FIGURE_TEMPLATES.get(template, (template,)):
                    found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def _strings(node):
    """String literals and f-strings under ``node``, without the literal pieces inside an f-string."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _strings(child)


def _string_text(node) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            else:
                parts.append("{" + ast.unparse(v.value) + "}")
        return "".join(parts)
    return None


def config_fields() -> list[tuple[str, str]]:
    from models.config import ModelConfig, TrainConfig

    return [(cls.__name__, f.name) for cls in (ModelConfig, TrainConfig) for f in dataclasses.fields(cls)]


# ---- everything is documented --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", settings_names())
def test_every_setting_is_documented_in_the_api_page(name):
    assert f"`{name}`" in read(DOCS / "api.md"), f"setting {name} (backend/settings.py) has no entry in docs/api.md"


def test_every_levasa_name_in_the_docs_is_a_setting():
    known = set(settings_names()) | NOT_SETTINGS
    named = set(re.findall(r"\bLEVASA_[A-Z_]+\b", all_docs_text()))
    assert not named - known, f"docs name settings that do not exist: {sorted(named - known)}"


@pytest.mark.parametrize("name", commands())
def test_every_command_is_documented(name):
    assert re.search(rf"(?<![\w/.-])levasa {re.escape(name)}\b", all_docs_text()), \
        f"`levasa {name}` (scripts/cli.py COMMANDS) appears in neither README.md nor docs/*.md"


def test_every_levasa_command_the_docs_name_exists():
    known = set(commands())
    named = set()
    for span in code_spans(all_docs_text()):
        named |= set(re.findall(r"(?<![\w/.-])levasa ([a-z][\w-]*)", span))
    assert not named - known, f"docs name levasa commands that do not exist: {sorted(named - known)}"


def test_every_route_is_documented_in_the_api_page():
    api = read(DOCS / "api.md")
    missing = sorted(f"{m} {p}" for m, p in api_routes() if f"{m} {p}" not in api and p != "/metrics")
    assert not missing, f"routes without an entry in docs/api.md: {missing}"


def test_metrics_route_is_documented_in_the_deploy_page():
    assert ("GET", "/metrics") in api_routes()
    assert "GET /metrics" in read(DOCS / "deploy.md")


def test_every_route_the_api_page_names_exists():
    routes = {f"{m} {p}" for m, p in api_routes()} | {f"GET {p}" for p in FRAMEWORK_PATHS}
    named = set(re.findall(r"\b((?:GET|POST|PUT|PATCH|DELETE) /[\w{}/.\-]*\w[}]?)", read(DOCS / "api.md")))
    assert not named - routes, f"docs/api.md names routes that do not exist: {sorted(named - routes)}"


def test_every_printed_figure_is_in_the_results_page():
    figures = printed_figures()
    unknown = sorted(n for n in figures if "{" in n)
    assert not unknown, f"figure names built at run time; add their real values to FIGURE_TEMPLATES: {unknown}"
    results = read(DOCS / "results.md")
    missing = sorted(f"{n} ({', '.join(sorted(set(figures[n])))})" for n in figures if f"`{n}`" not in results)
    assert not missing, f"figures printed by scripts/ with no entry in docs/results.md: {missing}"
    assert len(figures) >= 30, f"only {len(figures)} figures found: is the FIGURE scan still reading the scripts?"


def test_the_figure_index_names_only_printed_or_announced_figures():
    text = read(DOCS / "results.md")
    index = text.split("## Figure index", 1)
    assert len(index) == 2, "docs/results.md has no '## Figure index' section"
    section = index[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)`", section, flags=re.M)
    known = set(printed_figures()) | PENDING_FIGURES
    assert not set(listed) - known, f"the figure index lists figures no script prints: {sorted(set(listed) - known)}"
    assert set(printed_figures()) | PENDING_FIGURES <= set(listed), \
        f"figures missing from the index: {sorted((set(printed_figures()) | PENDING_FIGURES) - set(listed))}"
    for name in PENDING_FIGURES - set(printed_figures()):
        row = next(line for line in section.splitlines() if line.startswith(f"| `{name}`"))
        assert "new" in row, f"{name} is not measured yet: its index row must say 'new'"


@pytest.mark.parametrize("cls,name", config_fields())
def test_every_config_field_is_documented(cls, name):
    text = read(DOCS / "training.md") + read(DOCS / "models.md")
    assert f"`{name}`" in text, f"{cls}.{name} (models/config.py) is in neither docs/training.md nor docs/models.md"


# ---- nothing the docs name has gone ----------------------------------------------------------------------------------

PATH_RE = re.compile(r"(?<![\w./-])((?:models|scripts|backend|frontend|tests|configs|docs)/[\w./*{}-]*)")
MODULE_RE = re.compile(r"(?<![\w./-])((?:models|scripts|backend|tests)(?:\.\w+)+)")


def _is_placeholder(path: str) -> bool:
    """configs/NAME.json, scripts/bench/*.py, runs/X: a pattern, not a file."""
    return "*" in path or "{" in path or any(re.fullmatch(r"[A-Z][A-Z_]*", Path(part).stem) for part in
                                             path.split("/"))


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_page_names_exists(page):
    """Paths in code (`models/vae.py`, `configs/levasa.json`) are from the repository root; links from the page."""
    text = read(page)
    missing = []
    for span in code_spans(text):
        for path in PATH_RE.findall(span):
            path = path.rstrip(".,;:)")
            if not _is_placeholder(path) and not (ROOT / path).exists():
                missing.append(path)
    for link, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", text):
        if re.match(r"[a-z]+:", link):
            continue
        target = page.parent / link if link else page
        if not target.exists():
            missing.append(f"link {link}")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            missing.append(f"link {link}#{anchor}")
    assert not missing, f"{page.name} names files that do not exist: {sorted(set(missing))}"


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    out = set()
    for heading in re.findall(r"^#+ (.+)$", read(page), flags=re.M):
        out.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return out


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:i])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file() or (base / "__main__.py").is_file():
            if i == len(parts):
                return True
            obj = importlib.import_module(".".join(parts[:i]))
            for attr in parts[i:]:
                if not hasattr(obj, attr):
                    return False
                obj = getattr(obj, attr)
            return True
    return False


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_a_page_names_exists(page):
    names = {m.rstrip(".") for span in code_spans(read(page)) for m in MODULE_RE.findall(span)}
    names = {n for n in names if not re.search(r"\.(py|json|md|png|html|csv)$", n)
             and not any(re.fullmatch(r"[A-Z][A-Z_]*", part) for part in n.split("."))}  # scripts.bench.NAME
    missing = sorted(n for n in names if not _resolves(n))
    assert not missing, f"{page.name} names modules that do not exist: {missing}"


# ---- the shape of the docs -------------------------------------------------------------------------------------------


def test_readme_is_a_door_not_a_notebook():
    size = README.stat().st_size
    assert size <= 10_240, f"README.md is {size:,} bytes; keep it under 10 KB and move detail into docs/"


@pytest.mark.parametrize("page", USER_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_user_docs_carry_no_issue_numbers(page):
    text = read(page)
    hits = re.findall(r"\bissue \d+", text, flags=re.I) + re.findall(r"#\d+\b", text)
    assert not hits, f"{page.name} refers to issue numbers ({hits[:5]}); describe the feature instead"


def test_readme_links_every_docs_page_and_the_pages_exist():
    text = read(README)
    linked = set(re.findall(r"\(docs/([\w-]+\.md)", text))
    pages = {p.name for p in PAGES}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"
    assert linked <= pages, f"README links docs pages that do not exist: {sorted(linked - pages)}"


def test_every_results_table_cites_a_recipe_and_a_command():
    """Each dated results section of docs/results.md names its recipe file(s) and the command that reproduces it."""
    sections = re.split(r"^### ", read(DOCS / "results.md"), flags=re.M)[1:]
    assert sections, "docs/results.md has no ### result sections"
    for s in sections:
        title = s.splitlines()[0]
        if "|---" not in s:
            continue
        assert re.search(r"`configs/[\w-]+\.json`|Recipe: none", s), \
            f"results section '{title}' cites no recipe file (or 'Recipe: none' where it trains nothing)"
        assert re.search(r"`(levasa \w+|python -m scripts\.[\w.]+)[^`]*`", s), \
            f"results section '{title}' gives no command"
