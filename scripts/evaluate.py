"""Evaluate trained runs on their held-out split and write one report comparing them side by side.

    levasa evaluate runs/levasa runs/vanilla --out reports/synth
    levasa evaluate runs/fer-levasa runs/fer-vanilla --out reports/fer2013
    levasa evaluate runs/levasa --quick --no-tsne               # a fast smoke test (numbers not for reporting)

Per run it writes RUN/metrics.json (every task's numbers, each with its split and n), RUN/latents.npz (every dataset
row's latent mean, labels and head VA, for the server) and RUN/projections.npz (t-SNE and PCA, cached: a second
evaluation of the same latents reuses them); then OUT/report.html, which opens offline.
Runs evaluated together must share the dataset rows and the split. Bad input exits with code 2 and a message.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from models import runs as ck
from models.data.labels import DatasetError, read_labels
from models.device import resolve_device
from models.eval.image_quality import near_copies_text
from models.eval.report import ReportData, ReportRun, write_faces_png, write_report
from models.eval.rundata import run_data
from models.eval.tasks import GRID_EDITS, EvaluationError, check_same_rows, evaluate_run, judge_on_real, load_judge


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="levasa evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run folders (runs/NAME) on the same dataset and split")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: reports/RUN1-RUN2...)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: one setting per probe model, 4,000 training rows, 2,000 projected points, "
                        "24 edited faces, a one-epoch judge")
    p.add_argument("--no-tsne", action="store_true", help="skip t-SNE (PCA only)")
    p.add_argument("--no-fidelity", action="store_true", help="skip edit fidelity (and training its judge)")
    p.add_argument("--max-points", type=int, default=30000, help="latents projected per run (seeded subsample)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--seed", type=int, default=0, help="seed for subsamples and models")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _z(x: float) -> float:
    """Rounded to 3 places without a '-0.000'."""
    return round(float(x), 3) + 0.0


def fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for r in args.runs:
        if not r.is_dir():
            return fail(f"{r} is not a folder (expected a run folder such as runs/levasa)")
        if not (r / ck.CONFIG).is_file():
            return fail(f"{r} is not a run folder: no {ck.CONFIG} (train one with levasa train)")
    names = [r.resolve().name for r in args.runs]
    if len(set(names)) != len(names):
        return fail(f"run names must differ, got {', '.join(names)}")
    if args.max_points < 10:
        return fail(f"--max-points must be at least 10, got {args.max_points}")

    try:
        runs, data, device = _load(args)
    except EvaluationError as e:
        return fail(str(e))
    t_start = time.perf_counter()
    judge_net, judge_real, notes = _judge(args, runs, data, device)
    results = {run.name: evaluate_run(run, data, quick=args.quick, tsne=not args.no_tsne, max_points=args.max_points,
                                      judge_net=judge_net, judge_real=judge_real, fidelity=not args.no_fidelity,
                                      seed=args.seed, progress=not args.quiet)
               for run in runs}
    out = args.out or Path("reports") / "-".join(r.name for r in runs)
    rd = _report_data(args, argv, runs, data, next(iter(results.values()))["grid_rows"], notes)
    report_runs = [ReportRun(name, r["metrics"], recon=r["recon"], proj=r["proj"], va_head=r["latents"]["va_head"],
                             strip=r["strip"], strip_targets=r["strip_targets"], edits=r["edits"],
                             edit_names=tuple(GRID_EDITS)) for name, r in results.items()]
    path = write_report(out / "report.html", report_runs, rd)
    write_faces_png(out / "faces.png", report_runs, rd)
    print_summary({k: v["metrics"] for k, v in results.items()}, path, time.perf_counter() - t_start)
    print_figures(runs, {k: v["metrics"] for k, v in results.items()}, rd, quick=args.quick)
    return 0


def _load(args):
    """The runs (on one device), checked to share their rows and split, and their data. EvaluationError says why not."""
    try:
        device = resolve_device(args.device)
        runs = [ck.load_run(r, device) for r in args.runs]
        check_same_rows(runs)
        data = run_data(runs[0], progress=not args.quiet)
    except (ck.RunError, DatasetError, EvaluationError, ValueError, OSError, KeyError) as e:
        raise EvaluationError(f"{type(e).__name__}: {e}" if isinstance(e, OSError | KeyError) else str(e)) from None
    n_held, n_train = int((data.split == data.heldout).sum()), int((data.split == "train").sum())
    if n_held < 10 or n_train < 10:
        raise EvaluationError(f"too few rows to evaluate: {n_held} held-out ({data.heldout}), {n_train} train")
    return runs, data, device


def _judge(args, runs, data, device):
    """The independent judge and its agreement with the real held-out faces (None, None with --no-fidelity)."""
    if args.no_fidelity:
        return None, None, []
    files = read_labels(runs[0].config["dataset"]["root"], require_va=True).files
    judge_net, meta = load_judge(runs[0].path.parent, files, data, quick=args.quick, device=device,
                                 progress=not args.quiet)
    note = (f"edit-fidelity judge: {meta.get('epochs')} epochs on n = {meta.get('n_train')} training faces, cached "
            f"as {meta.get('key')}")
    return judge_net, judge_on_real(judge_net, data), [note]


def _report_data(args, argv, runs, data, rows, notes) -> ReportData:
    quick_note = ["--quick: smoke-test settings; these numbers are not for reporting"] if args.quick else []
    return ReportData(
        dataset=str(runs[0].config["dataset"].get("name", runs[0].config["dataset"]["root"])),
        va=np.asarray(data.va), emotions=np.asarray(data.emotions), heldout_mask=data.split == data.heldout,
        heldout=data.heldout, originals=data.images[rows].numpy(),
        command="levasa evaluate " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        notes=quick_note + notes,
    )


def _best(em: dict, fs: str) -> tuple[str, float]:
    row = em["results"].get(fs, {})
    name = max(row, key=lambda k: row[k]["accuracy"]) if row else ""
    return name, (row[name]["accuracy"] if row else float("nan"))


def print_summary(metrics: dict[str, dict], report: Path, seconds: float) -> None:
    first = next(iter(metrics.values()))
    print(f"\nheld-out split {first['split']}, n = {first['n']:,} (trained on {first['n_train']:,})\n")
    header = ("run", "kind", "recon MSE", "CCC v", "CCC a", "probe CCC v", "emotion acc [z_v,z_a]",
              "edit judge CCC v/a", "time")
    rows = []
    f3 = lambda x: f"{_z(x):.3f}"
    for name, m in metrics.items():
        al, fid = m["alignment"], m.get("edit_fidelity", {})
        clf, acc = _best(m["emotion"], "z_v+z_a")
        fj = "skipped"
        if "judge" in fid:
            fj = f"{f3(fid['judge']['valence']['ccc'])} / {f3(fid['judge']['arousal']['ccc'])}"
        rows.append((name, m["kind"], f"{m['reconstruction']['recon_mse']:.5f}", f3(al["heads"]["valence"]["ccc"]),
                     f3(al["heads"]["arousal"]["ccc"]), f3(al["linear_probe"]["metrics"]["valence"]["ccc"]),
                     f"{f3(acc)} ({clf})", fj, f"{sum(m['timing_s'].values()):.0f} s"))
    const = first["alignment"]["constant"]
    maj = first["emotion"]["majority"]["accuracy"]
    rows.append(("baseline", "constant / majority", f"{first['reconstruction']['mean_image_mse']:.5f}",
                 f3(const["valence"]["ccc"]), f3(const["arousal"]["ccc"]), "", f"{f3(maj)} (majority)", "", ""))
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for r in (header, *rows):
        print("  " + "  ".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(r, widths))))
    print(f"\nreport: {report}  ({report.stat().st_size / 1e6:.1f} MB)   total {seconds:.0f} s\n")


def print_figures(runs, metrics: dict[str, dict], rd, quick: bool = False) -> None:
    """FIGURE lines for the README's figures, when the runs evaluated allow them (marked when --quick)."""
    by_kind: dict[str, dict] = {}
    for run in runs:
        by_kind.setdefault(run.model_cfg.kind, metrics[run.name])
    lv, va = by_kind.get("levasa"), by_kind.get("vanilla")
    dataset = rd.dataset.lower()
    if lv is None:
        return
    al = lv["alignment"]
    sn = f"split {al['split']}, n={al['n']}" + ("; --quick settings" if quick else "")
    const = al["constant"]
    fid = lv.get("edit_fidelity", {})
    if va and ("synth" in dataset or "fer" in dataset):
        r_l, r_v = lv["reconstruction"]["recon_mse"], va["reconstruction"]["recon_mse"]
        name = "recon_mse_ratio" if "synth" in dataset else "recon_mse_ratio_fer"
        print(f"FIGURE {name} {_z(r_l / r_v):.3f}  (LeVAsa recon MSE {r_l:.5f} / vanilla {r_v:.5f}; "
              f"mean-image baseline {lv['reconstruction']['mean_image_mse']:.5f}; {sn})")
    if "synth" in dataset:
        for axis, k in (("valence", "v"), ("arousal", "a")):
            beside = f"vanilla heads {_z(va['alignment']['heads'][axis]['ccc']):.3f}, " if va else ""
            print(f"FIGURE eval_synth_ccc_{k} {_z(al['heads'][axis]['ccc']):.3f}  (LeVAsa heads; {beside}"
                  f"constant {_z(const[axis]['ccc']):.3f}; {sn})")
        if va:
            vp = va["alignment"]["linear_probe"]["metrics"]["valence"]["ccc"]
            print(f"FIGURE vanilla_probe_ccc_v {_z(vp):.3f}  (vanilla's Ridge probe z_v -> V, fitted on train; LeVAsa "
                  f"heads {_z(al['heads']['valence']['ccc']):.3f}, LeVAsa probe "
                  f"{_z(al['linear_probe']['metrics']['valence']['ccc']):.3f}; {sn})")
        if "judge" in fid:
            for axis, k in (("valence", "v"), ("arousal", "a")):
                print(f"FIGURE edit_fid_synth_ccc_{k} {_z(fid['judge'][axis]['ccc']):.3f}  (independent judge on "
                      f"{fid['n_edits']} edits of {fid['n_faces']} held-out faces; own heads "
                      f"{_z(fid['heads'][axis]['ccc']):.3f}; an edit that changes nothing: 0{_real(fid, axis)})")
    if "synth" in dataset or "fer" in dataset:
        print_image_figures(lv, va, "" if "synth" in dataset else "fer_", quick)
        print_chunk_figures(lv, "" if "synth" in dataset else "fer_", quick)
    if "fer" in dataset:
        centre = al.get("heads_vs_centre", {}).get("metrics")
        for axis, k in (("valence", "v"), ("arousal", "a")):
            c = f"vs ellipse centre {_z(centre[axis]['ccc']):.3f}, " if centre else ""
            vh = f"vanilla heads {_z(va['alignment']['heads'][axis]['ccc']):.3f}, " if va else ""
            print(f"FIGURE fer_ccc_{k} {_z(al['heads'][axis]['ccc']):.3f}  (LeVAsa heads vs transferred labels; {c}{vh}"
                  f"constant {_z(const[axis]['ccc']):.3f}; {sn})")
        clf, acc = _best(lv["emotion"], "z_v+z_a")
        em = lv["emotion"]
        print(f"FIGURE fer_emotion_acc {_z(acc):.3f}  (best classifier on [z_v, z_a]: {clf}; majority class "
              f"{_z(em['majority']['accuracy']):.3f}; split {em['split']}, n={em['n']})")
        if "judge" in fid:
            print(f"FIGURE edit_fid_fer_ccc_v {_z(fid['judge']['valence']['ccc']):.3f}  (independent judge on "
                  f"{fid['n_edits']} edits of {fid['n_faces']} held-out faces; own heads "
                  f"{_z(fid['heads']['valence']['ccc']):.3f}; an edit that changes nothing: 0{_real(fid, 'valence')})")


def print_image_figures(lv: dict, va: dict | None, prefix: str, quick: bool) -> None:
    """FIGURE lines of the image-quality task for LeVAsa, vanilla's value beside each (unprefixed: synthetic faces)."""
    iq, vq = lv.get("image_quality", {}), (va or {}).get("image_quality", {})
    if "n" not in iq:
        return
    v = lambda key, sub: f"; vanilla {_z(vq[key][sub]):.3f}" if "n" in vq else ""
    n = f"n={iq['n']} {iq['split']} faces" + ("; --quick settings" if quick else "")
    print(f"FIGURE {prefix}recon_sharpness {_z(iq['sharpness']['recon']):.3f}  (energy at periods of 5-16 px over the "
          f"originals'; originals 1.000; mean image {_z(iq['sharpness']['mean_image']):.3f}"
          f"{v('sharpness', 'recon')}; {n})")
    print(f"FIGURE {prefix}recon_grid_ratio {_z(iq['grid_ratio']['recon']):.3f}  (energy at periods of 2-4 px over the "
          f"originals'; originals 1.000; above 1 = decoder artefacts{v('grid_ratio', 'recon')}; {n})")
    for axis, k in (("valence", "v"), ("arousal", "a")):
        print(f"FIGURE {prefix}recon_judge_agree_{k} {_z(iq['judge_agree'][axis]):.3f}  (CCC of the judge's {axis} on "
              f"reconstructions against on their originals; originals 1.000, a constant face 0"
              f"{v('judge_agree', axis)}; {n})")
    f = iq["fjd"]
    vf = f"; vanilla {vq['fjd']['recon']:.2f}" if "n" in vq else ""
    print(f"FIGURE {prefix}recon_fjd {f['recon']:.2f}  (Fréchet distance in the judge's features to the originals; "
          f"two halves of the originals {f['originals_half_vs_half']:.2f}; decoded prior samples "
          f"{f['prior_samples']:.2f}{vf}; lower is better; {n})")
    t1 = iq["identity_top1"]
    near = near_copies_text(t1)
    near = f"; a near copy of the original {near}" if near else ""
    print(f"FIGURE {prefix}recon_identity_top1 {_z(t1['judge']):.3f}  (a reconstruction finds its own original among "
          f"{t1['pool']} by the judge's features{near}; by pixel correlation {_z(t1['pixel']):.3f}; chance "
          f"{t1['chance']:.4f}{v('identity_top1', 'judge')}; {n})")
    print(f"FIGURE {prefix}edit_seam_ratio {_z(iq['edit_seam_ratio']['mean']):.3f}  (gradient along the expression "
          f"box's border over the rest of the face, edited over unedited; 1 = no edge shows"
          f"{v('edit_seam_ratio', 'mean')}; {n})")


def print_chunk_figures(lv: dict, prefix: str, quick: bool) -> None:
    """FIGURE lines of the leakage matrix and the polar edit grid (unprefixed: synthetic faces), floors beside."""
    lk, pol = lv.get("leakage", {}), lv.get("polar", {})
    q = "; --quick settings" if quick else ""
    if "figures" in lk:
        f, n = lk["figures"], f"fresh probes on n={lk['n']} {lk['split']} faces{q}"
        print(f"FIGURE {prefix}leak_zv_a {_z(f['leak_zv_a']):.3f}  (R^2 of arousal from z_v; the labels' floor, "
              f"arousal from valence, {_z(f['leak_zv_a_floor']):.3f}; {n})")
        print(f"FIGURE {prefix}leak_za_v {_z(f['leak_za_v']):.3f}  (R^2 of valence from z_a; the labels' floor, "
              f"valence from arousal, {_z(f['leak_za_v_floor']):.3f}; {n})")
        ident = f"; identity factors from z_z R^2 {_z(f['zz_identity']):.3f}" if "zz_identity" in f else ""
        print(f"FIGURE {prefix}leak_zz_va {_z(f['leak_zz_va']):.3f}  (R^2 of valence or arousal from z_z, the larger; "
              f"floor 0{ident}; {n})")
        print(f"FIGURE {prefix}leak_zz_emotion {_z(f['leak_zz_emotion']):.3f}  (emotion accuracy from z_z; majority "
              f"class {_z(f['leak_zz_emotion_floor']):.3f}; {n})")
    if "sectors" in pol:
        n = f"{pol['n_edits']} edits of {pol['n_faces']} {pol['split']} faces{q}"
        print(f"FIGURE {prefix}edit_worst_sector_deg {pol['worst_sector_deg']:.1f}  (mean angular error of the judged "
              f"VA in the worst 45-degree sector, {pol['worst_sector']}; an edit that changes nothing "
              f"{pol['unedited_worst_sector_deg']:.1f}; {n})")
        print(f"FIGURE {prefix}edit_strength_rho {_z(pol['strength_rho_worst']):.3f}  (Spearman of judged against "
              f"target strength, worst sector; an edit that changes nothing 0; {n})")


def _real(fid: dict, axis: str) -> str:
    """The judge's own agreement with the labels of real held-out faces, when the metrics have it."""
    real = fid.get("judge_on_real")
    return f"; the judge on real held-out faces {_z(real[axis]['ccc']):.3f}" if real else ""


if __name__ == "__main__":
    sys.exit(main())
