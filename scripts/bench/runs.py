"""The runs a benchmark measures: recipes from configs/ trained (or reused) on the demo's synthetic faces, or with
``quick`` on 2,000 faces for a few epochs in bench-out/ (CI's budget: the numbers are not the reported ones)."""

from __future__ import annotations

from pathlib import Path

from models.data.synthetic import ensure_synthetic
from models.recipes import load_recipe
from models.train.ensure import ensure_run

QUICK_DATA = Path("bench-out/synth-quick")  # the benchmarks' --quick synthetic faces
QUICK_FACES, FULL_FACES = 2000, 20000


def synthetic_runs(recipes: dict[str, str], runs: Path, quick: bool, quick_epochs: int = 1) -> Path:
    """Train (or reuse) RUNS/RUN for each {run name: recipe name}: the recipe as it is, or with ``quick`` on the quick
    faces for ``quick_epochs``. Returns the data folder they trained on."""
    first = load_recipe(next(iter(recipes.values())))
    data = QUICK_DATA if quick else first.data
    ensure_synthetic(data, QUICK_FACES if quick else FULL_FACES)
    for run, recipe in recipes.items():
        overrides = {"epochs": quick_epochs} if quick else {}
        ensure_run(Path(runs) / run, load_recipe(recipe), data=data, **overrides)
    return Path(data)


def demo_levasa(quick: bool) -> Path:
    """The demo's LeVAsa (runs/levasa), or with ``quick`` a one-epoch one in bench-out/api-quick."""
    runs = Path("bench-out/api-quick") if quick else Path("runs")
    synthetic_runs({"levasa": "levasa"}, runs, quick)
    return runs / "levasa"
