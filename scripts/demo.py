"""The demo: make the synthetic faces and train the demo's runs when they do not exist yet, export what the explorer
shows (latents, thumbnails, t-SNE and PCA), then serve it. With --data, the same for a folder of real faces.

    make demo                       # = levasa demo --serve
    make demo DATA=~/faces          # = levasa demo --serve --data ~/faces
    levasa demo                     # set up only, do not serve
    levasa demo --retrain

Idempotent: an existing finished run is kept, a half-finished one (killed, Ctrl-C) resumes from its last epoch, and
exports are redone only when the weights are newer than them. The runs are the recipes in DEMO_RECIPES
(configs/levasa.json and configs/vanilla.json), trained on the recipe's data (data/synthetic).

--data DIR takes real faces (DIR/labels.csv with file, emotion and optionally valence, arousal; or DIR/<emotion>/
<image>): rows without VA get it by annotation transfer (models.data.realfaces), into data/NAME_va; then the real-face
recipe (configs/real-levasa.json) trains runs/NAME-levasa, for at least REAL_MIN_IMAGES images (a small folder gets
more epochs), and it is exported and served.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

RUNS = Path("runs")
N_FACES = 20000  # the demo's synthetic faces (seed 0)
DEMO_RECIPES = ("levasa", "vanilla")  # run name = recipe name
REAL_RECIPE = "real-levasa"  # what --data trains
REAL_MIN_IMAGES = 100_000  # images a real-face run sees at the least
GROUP_COLUMNS = ("subject", "identity")  # a labels.csv column that names the person: the split is drawn by it


SYNTHETIC_NOTE = ("  CCC: the heads' valence / arousal against the labels on held-out identities. The vanilla model's\n"
                  "  heads read a latent space that was not trained for VA; LeVAsa's z_v and z_a were.")


def print_table(summaries: list[dict], note: str = SYNTHETIC_NOTE) -> None:
    rows = [("run", lambda s: s["name"]), ("model", lambda s: f"{s['kind']}/{s['label_mode']}"),
            ("epochs", lambda s: str(s["epochs"])), ("train time", lambda s: f"{s['train_s']:.0f} s"),
            ("held-out faces", lambda s: f"{s['n_heldout']} ({s['heldout']})"),
            ("CCC valence", lambda s: f"{s['ccc_v']:.3f}"), ("CCC arousal", lambda s: f"{s['ccc_a']:.3f}"),
            ("recon MSE", lambda s: f"{s['recon_mse']:.5f}")]
    w = max(len(r[0]) for r in rows)
    print()
    for label, get in rows:
        print(f"  {label:<{w}}  " + "  ".join(f"{get(s):>16}" for s in summaries))
    print("\n" + note)


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


def prepare_real(src: Path, name: str | None, retrain: bool = False,
                 min_images: int = REAL_MIN_IMAGES) -> tuple[list[dict], str, str]:
    """A real-face run from the folder src: VA where missing, the real-face recipe trained (for at least
    ``min_images`` images), exported. Returns ([its summary], its name, what its held-out CCC means)."""
    import math

    from models.data.labels import read_labels
    from models.data.realfaces import prepare_real_faces
    from models.eval.export import ensure_exported
    from models.recipes import load_recipe
    from models.runs import CONFIG
    from models.train.ensure import ensure_run

    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", src.resolve().name).strip("-") or "faces"
    name = name or f"{stem}-levasa"
    data = prepare_real_faces(src, Path("data") / f"{stem}_va")
    recipe = load_recipe(REAL_RECIPE)
    table = read_labels(data, require_va=True)
    groups = next((c for c in GROUP_COLUMNS if c in table.columns), "")  # no person on both sides of the split
    n_train = len(table) * (1 - recipe.train.val_fraction)
    epochs = max(recipe.train.epochs, math.ceil(min_images / max(n_train, 1)))
    if epochs > recipe.train.epochs:
        print(f"== {n_train:,.0f} training faces: {epochs} epochs, so the run sees {min_images:,} images at least")
    print(f"== held-out faces drawn by {groups}: no {groups} on both sides" if groups else
          "== held-out faces drawn at random (no subject or identity column): a person may sit on both sides")
    config = RUNS / name / CONFIG
    stale = config.is_file() and config.stat().st_mtime < (data / "labels.csv").stat().st_mtime
    if retrain or stale:  # a run trained before its data was made again knows other faces than the folder's
        shutil.rmtree(RUNS / name, ignore_errors=True)
    summary = ensure_run(RUNS / name, recipe, data=data, epochs=epochs, split_column=groups)
    ensure_exported(RUNS / name)
    return [summary], name, real_note(groups)


def real_note(groups: str) -> str:
    """What the held-out CCC of a real-face run means, by how its split was drawn."""
    how = (f"faces of held-out {groups}s" if groups else
           "faces drawn at random, so a person may be on both sides (a subject column splits by person)")
    return f"  CCC: the heads' valence / arousal against the labels on {how}."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="levasa demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--retrain", action="store_true", help="delete the demo runs (or the --data run) and train again")
    p.add_argument("--serve", action="store_true", help="then start the service (levasa serve) and keep it up")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="a folder of real faces (labels.csv, or a folder per emotion): make a real-face run of it")
    p.add_argument("--name", default=None, help="the --data run's name (default: the folder's name + -levasa)")
    p.add_argument("--min-images", type=int, default=REAL_MIN_IMAGES,
                   help=f"the --data run sees at least this many images (default {REAL_MIN_IMAGES:,})")
    args = p.parse_args(argv)
    t0 = time.time()
    run, note = None, SYNTHETIC_NOTE
    if args.data is not None:
        from models.data.readers import ReaderError

        try:
            summaries, run, note = prepare_real(args.data, args.name, args.retrain, args.min_images)
        except (ReaderError, ValueError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    else:
        summaries = prepare(args.retrain)
    print_table(summaries, note)
    print(f"\n  ready in {time.time() - t0:.0f} s. Runs are in {RUNS}/; train more with levasa train --help")
    if not args.serve:
        return 0
    from backend.__main__ import main as serve
    from backend.settings import Settings

    s = Settings()
    page = f"http://{s.host}:{s.port}/" + (f"?run={run}" if run else "")
    print(f"\n  LeVAsa Explorer: {page}   (API docs: http://{s.host}:{s.port}/docs; Ctrl-C stops)\n", flush=True)
    return serve([])


if __name__ == "__main__":
    sys.exit(main())
