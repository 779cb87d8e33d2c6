"""What the edit-consistency term buys and costs: LeVAsa recipes side by side on synthetic faces, against vanilla.

    python -m scripts.bench.edit           # five 3-epoch runs on the demo's 20,000 faces (runs-ablation/), then judged
    python -m scripts.bench.edit --quick   # CI: 2,000 faces, 1 epoch each, a one-epoch judge

Each recipe is trained (or reused when its saved config matches) on the same data, split and budget; then every run's
held-out faces are reconstructed (recon MSE, inside and outside the expression box) and 300 of them are edited to 6
grid targets each and read back by the evaluation's independent judge (models.eval.fidelity). The figures compare each
recipe's recon MSE with vanilla's, measured in the same run of this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

# Each step adds one change to the one before it; vanilla is the baseline every ratio is taken against.
# run name (in runs-ablation/) -> recipe (configs/NAME.json)
RECIPES = {
    "vanilla": "vanilla-pixel",  # every step trains with the pixel loss alone, as the demo did until 2026-12-01
    "levasa-noedit": "levasa-noedit",
    "levasa-edit": "levasa-edit",
    "levasa-edit-local": "levasa-edit-local",
    "levasa-edit-local-late": "levasa-pixel",  # the demo's recipe before the perceptual term
}


def measure(run_dir: Path, data, judge_net, n_faces: int) -> dict:
    from models.editing import expression_box
    from models.eval.fidelity import edit_fidelity
    from models.runs import load_run

    run = load_run(run_dir)
    held = np.flatnonzero(np.asarray(data.split) == data.heldout)
    box = expression_box()
    sq, n = torch.zeros(64, 64), 0
    with torch.inference_mode():
        for i in range(0, len(held), 500):
            x = data.images[held[i : i + 500]].float() / 255
            mu, _ = run.model.encode(x)
            sq += (run.model.decode(mu) - x).pow(2).mean(1).sum(0)
            n += len(x)
    err = sq / n  # (64, 64) per-pixel MSE over the held-out faces
    fid = edit_fidelity(run.model, data.images[held], judge_net, n_faces=n_faces, seed=0)
    return {"n": n, "recon": float(err.mean()), "recon_box": float(err[box].mean()),
            "recon_out": float(err[~box].mean()), "judge_v": fid["judge"]["valence"]["ccc"],
            "judge_a": fid["judge"]["arousal"]["ccc"], "heads_v": fid["heads"]["valence"]["ccc"],
            "heads_a": fid["heads"]["arousal"]["ccc"], "identity": fid["identity_shift"], "n_edits": fid["n_edits"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.edit", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 2,000 faces, 1 epoch per run, a one-epoch judge")
    p.add_argument("--runs", type=Path, help="where the runs go (default runs-ablation; quick bench-out/edit-quick)")
    args = p.parse_args(argv)
    from models.data.labels import read_labels
    from models.eval.rundata import run_data
    from models.eval.tasks import load_judge
    from models.runs import load_run
    from scripts.bench.runs import synthetic_runs

    runs = args.runs or Path("bench-out/edit-quick" if args.quick else "runs-ablation")
    synthetic_runs(RECIPES, runs, args.quick)

    first = load_run(runs / "vanilla")
    data = run_data(first)
    files = read_labels(first.config["dataset"]["root"], require_va=True).files
    judge_net, meta = load_judge(runs, files, data, quick=args.quick, progress=not args.quick)
    res = {name: measure(runs / name, data, judge_net, 24 if args.quick else 300) for name in RECIPES}

    base = res["vanilla"]["recon"]
    n, ne = res["vanilla"]["n"], res["vanilla"]["n_edits"]
    print(f"\n{n} held-out faces (split {data.heldout}); {ne} edits judged by the independent judge "
          f"({meta.get('epochs')}-epoch CNN){' (quick)' if args.quick else ''}")
    print(f"  {'recipe':<24} {'recon MSE':>9} {'ratio':>6} {'in box':>8} {'outside':>8} {'judge v':>8} "
          f"{'judge a':>8} {'heads v':>8} {'identity':>8}")
    for name, r in res.items():
        print(f"  {name:<24} {r['recon']:9.5f} {r['recon'] / base:6.2f} {r['recon_box']:8.5f} {r['recon_out']:8.5f} "
              f"{r['judge_v']:8.3f} {r['judge_a']:8.3f} {r['heads_v']:8.3f} {r['identity']:8.3f}")
    q = " (quick)" if args.quick else ""
    for name in list(RECIPES)[1:]:
        r = res[name]
        slug = name.removeprefix("levasa-").replace("-", "_")
        print(f"FIGURE recon_ratio_{slug} {r['recon'] / base:.3f}  (vanilla recon MSE {base:.5f}; "
              f"judge CCC v/a on edits {r['judge_v']:.3f}/{r['judge_a']:.3f}){q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
