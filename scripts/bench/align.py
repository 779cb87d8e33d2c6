"""Alignment on synthetic faces: the LeVAsa heads' valence and arousal against ground truth on held-out identities,
with the vanilla model's heads and a constant predictor beside them.

    python -m scripts.bench.align            # the demo runs (runs/levasa, runs/vanilla; trained first if missing)
    python -m scripts.bench.align --quick    # CI: 2,000 faces, 2 epochs each, in bench-out/align-quick

The demo recipe is the "short CPU training": both runs together fit in about 10 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEMO = {"levasa": "levasa", "vanilla": "vanilla"}  # run name -> recipe (configs/)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.align", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run for CI")
    p.add_argument("--runs", type=Path, default=None, help="runs folder (default: runs, or bench-out/align-quick)")
    args = p.parse_args(argv)

    from models.eval.rundata import heads_vs_baselines, run_data
    from models.runs import load_run
    from scripts.bench.runs import synthetic_runs

    runs = args.runs or Path("bench-out/align-quick" if args.quick else "runs")
    synthetic_runs(DEMO, runs, args.quick, quick_epochs=2)
    loaded = [load_run(runs / name) for name in DEMO]
    rd = run_data(loaded[0])
    res = heads_vs_baselines(loaded, rd)
    n = int((rd.split == rd.heldout).sum())

    print(f"\nheld-out split: {rd.heldout}, n = {n} faces of identities never seen in training\n")
    w = max(len(k) for k in res)
    print(f"  {'predictor':<{w}}  {'CCC v':>6} {'CCC a':>6} {'PCC v':>6} {'PCC a':>6} {'RMSE v':>6} {'RMSE a':>6} "
          f"{'SAGR v':>6} {'SAGR a':>6}")
    for k, m in res.items():
        v, a = m["valence"], m["arousal"]
        print(f"  {k:<{w}}  {v['ccc']:6.3f} {a['ccc']:6.3f} {v['pcc']:6.3f} {a['pcc']:6.3f} {v['rmse']:6.3f} "
              f"{a['rmse']:6.3f} {v['sagr']:6.3f} {a['sagr']:6.3f}")
    lv, va_, c = res["levasa"], res["vanilla"], res["constant (train mean)"]
    print()
    for axis, key in (("valence", "v"), ("arousal", "a")):
        print(f"FIGURE synth_ccc_{key} {lv[axis]['ccc']:.3f}  (vanilla heads {va_[axis]['ccc']:.3f}, "
              f"constant {c[axis]['ccc']:.3f}; n={n} held-out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
