"""The demo: make the synthetic faces and train the demo's runs when they do not exist yet, export what the explorer
shows (latents, thumbnails, t-SNE and PCA), then serve it.

    make demo                       # = levasa demo --serve
    levasa demo                     # set up only, do not serve
    levasa demo --retrain

Idempotent: an existing finished run is kept, a half-finished one (killed, Ctrl-C) resumes from its last epoch, and
exports are redone only when the weights are newer than them. The runs are the recipes in DEMO_RECIPES
(configs/levasa.json and configs/vanilla.json), trained on the recipe's data (data/synthetic).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

RUNS = Path("runs")
N_FACES = 20000  # the demo's synthetic faces (seed 0)
DEMO_RECIPES = ("levasa", "vanilla")  # run name = recipe name


def print_table(summaries: list[dict]) -> None:
    rows = [("run", lambda s: s["name"]), ("model", lambda s: f"{s['kind']}/{s['label_mode']}"),
            ("epochs", lambda s: str(s["epochs"])), ("train time", lambda s: f"{s['train_s']:.0f} s"),
            ("held-out faces", lambda s: f"{s['n_heldout']} ({s['heldout']})"),
            ("CCC valence", lambda s: f"{s['ccc_v']:.3f}"), ("CCC arousal", lambda s: f"{s['ccc_a']:.3f}"),
            ("recon MSE", lambda s: f"{s['recon_mse']:.5f}")]
    w = max(len(r[0]) for r in rows)
    print()
    for label, get in rows:
        print(f"  {label:<{w}}  " + "  ".join(f"{get(s):>16}" for s in summaries))
    print("\n  CCC: the heads' valence / arousal against the labels on held-out identities. The vanilla model's heads")
    print("  read a latent space that was not trained for VA; LeVAsa's z_v and z_a were.")


def prepare(retrain: bool = False) -> list[dict]:
    """Faces, runs and exports, each made only when missing or stale. Returns the runs' summaries."""
    from models.data.synthetic import ensure_synthetic
    from models.eval.export import ensure_exported
    from models.recipes import load_recipe
    from models.train.ensure import ensure_run

    recipes = [load_recipe(name) for name in DEMO_RECIPES]
    for data in {r.data for r in recipes}:
        ensure_synthetic(data, N_FACES, seed=0)
    if retrain:
        for r in recipes:
            shutil.rmtree(RUNS / r.name, ignore_errors=True)
    summaries = [ensure_run(RUNS / r.name, r) for r in recipes]
    for r in recipes:
        ensure_exported(RUNS / r.name)
    return summaries


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--retrain", action="store_true", help="delete the demo runs and train them again")
    p.add_argument("--serve", action="store_true", help="then start the service (levasa serve) and keep it up")
    args = p.parse_args(argv)
    t0 = time.time()
    print_table(prepare(args.retrain))
    print(f"\n  ready in {time.time() - t0:.0f} s. Runs are in {RUNS}/; train more with levasa train --help")
    if not args.serve:
        return 0
    from backend.__main__ import main as serve
    from backend.settings import Settings

    s = Settings()
    print(f"\n  LeVAsa Explorer: http://{s.host}:{s.port}/   (API docs: http://{s.host}:{s.port}/docs; Ctrl-C stops)\n",
          flush=True)
    return serve([])


if __name__ == "__main__":
    sys.exit(main())
