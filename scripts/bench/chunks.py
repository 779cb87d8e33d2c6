"""What the disentangle options buy and cost, side by side: each option's run and the recipe without it.

    python -m scripts.bench.chunks            # synthetic faces: levasa-bottleneck, with each option, and vanilla
    python -m scripts.bench.chunks --quick    # CI: 2,000 faces, 2 epochs, two of the runs (numbers not for reporting)
    python -m scripts.bench.chunks --group demo   # synthetic faces: the demo's recipe (hidden 512), options on it
    python -m scripts.bench.chunks --group fer    # FER2013 (12-epoch runs: about 25 min each on 2 CPU cores)
    python -m scripts.bench.chunks --only levasa-swap levasa-narrow-swap   # some of the options, beside the recipe

Per run, on the held-out split: the heads' CCC, the leakage matrix (models.eval.leakage: fresh probes), emotion
accuracy from [z_v, z_a], reconstruction MSE over vanilla's, judge-read edit CCC (models.eval.fidelity), the worst
45-degree sector of the polar edit grid (models.eval.polar) and the identity shift under edits. FIGURE lines for the
group's first run (the recipe the options vary: on synthetic faces the demo's until 2026-12-03, with the 128-unit
bottleneck; the demo's recipe today is scored by `levasa evaluate`), floors and baselines beside; the table for all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

# (runs measured, the first the network the options vary (the demo's until 2026-12-03); the vanilla every ratio is over)
GROUPS = {
    "synth": (("levasa-bottleneck", "levasa-narrow", "levasa-hsic", "levasa-narrow-hsic", "levasa-adversary",
               "levasa-narrow-adversary", "levasa-narrow-xcov", "levasa-cycle", "levasa-swap", "levasa-narrow-swap",
               "levasa-swap02", "levasa-swap-early", "levasa-swap-early-zkl", "levasa-swap-early-zkl8",
               "levasa-swap-long", "levasa-refit", "levasa-zkl"),
              "vanilla-bottleneck"),
    "demo": (("levasa", "levasa-wide-narrow", "levasa-wide-swap", "levasa-wide-swap-first", "levasa-wide-swap-zkl",
              "levasa-wide-swap-zkl2", "levasa-wide-narrow-swap-zkl", "levasa-wide-mix", "levasa-wide-mix-zkl2",
              "levasa-wide-narrow-mix", "levasa-wide-narrow4-mix", "levasa-wide-narrow-mix01"),
             "vanilla"),
    "fer": (("fer-levasa", "fer-levasa-swap"), "fer-vanilla"),
}


def measure(run_dir: Path, judge_net, data, quick: bool) -> dict:
    """The side-by-side figures of one trained run (models.eval.tasks' functions, without the slow probes)."""
    from models import runs as ck
    from models.eval import tasks

    run = ck.load_run(run_dir)
    lat = tasks._export(run, data, progress=False)
    ev = tasks.RunEval(run, data, lat, quick, 0, False)
    al = tasks.task_alignment(ev)
    fid, _, _ = tasks.task_edit_fidelity(ev, judge_net, {})
    return {"name": run.name, "recon_mse": float(lat["recon_mse"][ev.held].mean()),
            "heads": al["heads"], "leakage": tasks.task_leakage(ev), "fidelity": fid,
            "polar": tasks.task_polar(ev, judge_net)}


def print_table(rows: list[dict], vanilla: dict) -> None:
    head = ("run", "CCC v", "CCC a", "zv->A", "za->V", "zz->VA", "zz->emo", "zz->id", "[zv,za]->emo", "recon ratio",
            "judge CCC v", "judge CCC a", "worst sector", "rho", "identity shift")
    out = [head]
    for r in rows:
        f, lk = r["leakage"]["figures"], r["leakage"]
        out.append((r["name"], *(f"{x:.3f}" for x in (
            r["heads"]["valence"]["ccc"], r["heads"]["arousal"]["ccc"], f["leak_zv_a"], f["leak_za_v"], f["leak_zz_va"],
            f["leak_zz_emotion"], f.get("zz_identity", float("nan")), lk["emotion_from_zv_za"]["accuracy"],
            r["recon_mse"] / vanilla["recon_mse"], r["fidelity"]["judge"]["valence"]["ccc"],
            r["fidelity"]["judge"]["arousal"]["ccc"])), f"{r['polar']['worst_sector_deg']:.1f}",
            f"{r['polar']['strength_rho_worst']:.3f}", f"{r['fidelity']['identity_shift']:.3f}"))
    fl = rows[0]["leakage"]
    out.append(("floor", "", "", f"{fl['figures']['leak_zv_a_floor']:.3f}", f"{fl['figures']['leak_za_v_floor']:.3f}",
                "0", f"{fl['majority']['accuracy']:.3f}", "", f"{fl['floors']['va_emotion']:.3f}", "1", "", "",
                f"{rows[0]['polar']['unedited_worst_sector_deg']:.1f}", "0", ""))
    widths = [max(len(str(r[i])) for r in out) for i in range(len(head))]
    for r in out:
        print("  " + "  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(r, widths))))


def print_figures(r: dict, prefix: str, quick: bool) -> None:
    """The issue's figures for the adopted recipe, through the evaluation's own printer."""
    from scripts.evaluate import print_chunk_figures

    metrics = {"leakage": r["leakage"], "polar": r["polar"]}
    print_chunk_figures(metrics, prefix, quick)
    f = r["leakage"]["figures"]
    if "zz_identity" in f:  # synthetic faces only: the generator knows the identity factors
        print(f"FIGURE zz_identity {f['zz_identity']:.3f}  (mean R^2 from z_z of the {f['zz_identity_factors']} "
              f"identity factors the whole latent holds at R^2 >= 0.5; the whole latent {f['zz_identity_whole']:.3f}; "
              f"all {len(r['leakage']['identity_factors'])} factors from z_z {f['zz_identity_all']:.3f}; floor 0)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.chunks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2,000 synthetic faces, 2 epochs (CI)")
    p.add_argument("--group", choices=sorted(GROUPS), default="synth", help="synth: levasa-bottleneck and its "
                   "options (default); demo: the demo's recipe (hidden 512) and the options tried on it; fer: FER2013")
    p.add_argument("--runs", type=Path, default=None, help="runs folder (default: runs/, with --quick "
                   "bench-out/chunks-quick)")
    p.add_argument("--only", nargs="+", metavar="RUN", help="measure these runs of the group only, beside its recipe "
                   "(the first) and vanilla")
    args = p.parse_args(argv)
    if args.quick and args.group != "synth":
        p.error(f"--quick is the synthetic CI run; it cannot be combined with --group {args.group}")
    if args.quick and args.only:
        p.error("--quick measures its own two runs; it cannot be combined with --only")
    t0 = time.perf_counter()
    names, vanilla_name = GROUPS[args.group]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            p.error(f"--only: not in this group: {', '.join(unknown)}; its runs: {', '.join(names)}")
        names = names[:1] + tuple(n for n in names[1:] if n in args.only)
    if args.quick:  # CI's budget: the recipe and one option (tests/test_chunks.py trains every form)
        names = names[:1] + ("levasa-narrow-hsic",)
    runs = _train([*names, vanilla_name], args)
    if runs is None:
        return 0
    from models import runs as ck
    from models.data.labels import read_labels
    from models.eval.rundata import run_data
    from models.eval.tasks import load_judge

    first = ck.load_run(runs[0])
    data = run_data(first)
    files = read_labels(first.config["dataset"]["root"], require_va=True).files
    judge_net, _ = load_judge(runs[0].parent, files, data, quick=args.quick, progress=False)
    rows = [measure(r, judge_net, data, args.quick) for r in runs]
    vanilla = rows.pop()
    print(f"\nheld-out {data.heldout}, n = {int((np.asarray(data.split) == data.heldout).sum()):,}; "
          f"{time.perf_counter() - t0:.0f} s\n")
    print_table(rows, vanilla)
    print()
    print_figures(rows[0], "fer_" if args.group == "fer" else "", args.quick)
    return 0


def _train(names: list[str], args) -> list[Path] | None:
    if args.group == "fer":
        from scripts.bench.eval import _fer_data
        from scripts.bench.eval import _train as train_fer

        if not _fer_data():
            return None
        return train_fer(names, args.runs or Path("runs"))
    from scripts.bench.runs import synthetic_runs

    runs = args.runs or (Path("bench-out/chunks-quick") if args.quick else Path("runs"))
    synthetic_runs({n: n for n in names}, runs, args.quick, quick_epochs=2)
    return [runs / n for n in names]


if __name__ == "__main__":
    sys.exit(main())
