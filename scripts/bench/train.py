"""Training efficiency as time to quality: our recipe against the reference recipe, same network, data and machine.

    python -m scripts.bench.train            # full: 20,000 synthetic faces, each loop capped at 15 min of training
    python -m scripts.bench.train --quick    # CI: 2,000 faces, 60 s caps

Both loops train LeVAsa (continuous) on the same synthetic faces and the same identity-held-out split, and every
320 training images the same 500 held-out faces are scored (the time spent scoring is not counted). The figure is
the training time each needs until its heads reach CCC >= 0.8 on valence and arousal; a loop that hits its cap counts
as the cap, and the speed-up is then a lower bound (printed with ">=").
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

EVERY_IMAGES = 320  # both loops score the held-out faces every this many training images
N_HELD = 500  # held-out faces scored


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run for CI (2,000 faces, 60 s caps)")
    p.add_argument("--data", type=Path, default=None, help="synthetic dataset folder (default: data/synthetic, "
                                                           "or bench-out/synth-quick with --quick; made if missing)")
    p.add_argument("--cap", type=float, default=None, help="training seconds allowed each loop (default 900; 60 quick)")
    p.add_argument("--target", type=float, default=0.8, help="held-out CCC both axes must reach")
    p.add_argument("--out", type=Path, default=Path("bench-out/train"), help="scratch folder for our run")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    cap = args.cap or (60.0 if args.quick else 900.0)
    if cap <= 0 or not 0 < args.target < 1:
        p.error("--cap must be > 0 and --target in (0, 1)")
    from models.recipes import load_recipe

    recipe = load_recipe("levasa-heads")  # the paper's LeVAsa (no edit term) with the demo's training settings
    data = args.data or Path("bench-out/synth-quick" if args.quick else "data/synthetic")
    faces = _faces(data, 2000 if args.quick else 20000, recipe)
    ours = run_ours(args, recipe, data, cap)
    ref = run_reference(args, recipe, data, faces, cap)
    print_figures(args, ours, ref, cap, faces)
    return 0


def _faces(data: Path, n_faces: int, recipe) -> dict:
    """The dataset's table, split, images, and the held-out rows both loops score."""
    from models.data.images import load_images
    from models.data.labels import read_labels
    from models.data.splits import make_split
    from models.data.synthetic import ensure_synthetic

    ensure_synthetic(data, n_faces)
    table = read_labels(data, require_va=True)
    split = make_split(table, recipe.train.split_column, recipe.train.val_fraction, seed=0)
    held = np.flatnonzero(split == "val")
    held = np.sort(np.random.default_rng(0).choice(held, min(N_HELD, len(held)), replace=False))
    return {"table": table, "split": split, "images": load_images(table, progress=False), "held": held}


def run_ours(args, recipe, data: Path, cap: float) -> dict:
    """Our loop (the recipe's settings), stopped once the target is reached or the cap is spent."""
    from models.train.loop import train_run

    ours = {"time": None, "images": 0, "train_s": 0.0}

    def on_eval(rec: dict) -> bool:
        ours.update(images=rec["images"], train_s=rec["train_s"])
        ok = rec["val"]["ccc_v"] >= args.target and rec["val"]["ccc_a"] >= args.target
        if ok and ours["time"] is None:
            ours["time"] = rec["train_s"]
        print(f"  ours       {rec['images']:7d} img  {rec['train_s']:7.1f} s  CCC v {rec['val']['ccc_v']:.3f} "
              f"a {rec['val']['ccc_a']:.3f}", flush=True)
        return ok or rec["train_s"] >= cap

    train_cfg = dataclasses.replace(recipe.train, eval_every=EVERY_IMAGES // recipe.train.batch_size, max_val=N_HELD,
                                    epochs=100 if args.quick else recipe.train.epochs)
    print(f"== ours: {train_cfg.batch_size} per batch, one-cycle lr {train_cfg.lr}, uint8 cache, bf16 where native",
          flush=True)
    train_run(args.out / "ours", data, recipe.model, train_cfg, progress=False, log=lambda s: None, on_eval=on_eval)
    return ours


def run_reference(args, recipe, data: Path, faces: dict, cap: float) -> dict:
    """The reference loop (PIL decode every step, fp32, batch 128, Adam 1e-4) on the same training rows."""
    import torch

    from models.inference import evaluate_heads
    from scripts.bench.reference import PILFaces, train_reference

    table, held = faces["table"], faces["held"]
    ref = {"time": None}
    val_images, val_va = torch.from_numpy(faces["images"][held]), table.va[held]

    def on_eval(model, state: dict) -> bool:
        ev = evaluate_heads(model, val_images, val_va, torch.device("cpu"), "fp32")
        ok = ev["ccc_v"] >= args.target and ev["ccc_a"] >= args.target
        if ok:
            ref["time"] = state["train_s"]
        print(f"  reference  {state['images']:7d} img  {state['train_s']:7.1f} s  CCC v {ev['ccc_v']:.3f} "
              f"a {ev['ccc_a']:.3f}", flush=True)
        return ok

    train_idx = np.flatnonzero(faces["split"] == "train")
    ds = PILFaces(data, [table.files[i] for i in train_idx], table.va[train_idx])
    print("== reference: PIL decode + transform every step, batch 128, fp32, Adam 1e-4", flush=True)
    ref["state"] = train_reference(ds, recipe.model, seed=0, max_seconds=cap, on_eval=on_eval,
                                   eval_every_images=EVERY_IMAGES)
    return ref


def print_figures(args, ours: dict, ref: dict, cap: float, faces: dict) -> None:
    import torch

    state = ref["state"]
    ours_img_s = ours["images"] / max(ours["train_s"], 1e-9)
    ref_img_s = state["images"] / max(state["train_s"], 1e-9)
    t_ours = ours["time"] if ours["time"] is not None else cap
    t_ref = ref["time"] if ref["time"] is not None else max(cap, state["train_s"])
    bound = ">=" if ref["time"] is None else ""
    note = "" if ours["time"] is not None else "  (ours did not reach the target: figure invalid)"
    print()
    print(f"FIGURE train_speedup {bound}{t_ref / t_ours:.2f}  (reference {bound}{t_ref:.1f} s / ours {t_ours:.1f} s "
          f"of training to held-out CCC >= {args.target} on both axes; baseline: the reference recipe = 1.00){note}")
    print(f"FIGURE time_to_ccc08_ours_s {t_ours:.1f}  (reference: {bound}{t_ref:.1f} s)")
    print(f"FIGURE train_img_s_ours {ours_img_s:.0f}  (reference loop: {ref_img_s:.0f} img/s, "
          f"ratio {ours_img_s / ref_img_s:.2f})")
    print(f"FIGURE train_img_s_ref {ref_img_s:.0f}")
    n_train = int((faces["split"] == "train").sum())
    print(f"  data: {faces['table'].root} ({len(faces['table'])} faces, {n_train} train, {len(faces['held'])} held-out "
          f"scored); {time.strftime('%Y-%m-%d')}; torch threads {torch.get_num_threads()}")

if __name__ == "__main__":
    sys.exit(main())
