"""Few-shot VA labelling: a run's frozen encoder, a small labelled support set, a pair head (models.data.fewshot).

    python -m scripts.fewshot --run runs/levasa                       # the run's held-out faces, 50/20/6/2% support
    python -m scripts.fewshot --run runs/fer-levasa --data data/ckplus48_va --group subject
    python -m scripts.fewshot --run runs/levasa --data DIR --group clip --every 17 --out data/DIR_fewshot

Scores: the support is every k-th face of each group (clip, subject, identity; k = 1 / fraction), the rest are
queries scored against their labels (RMSE, PCC, CCC, SAGR per axis), beside the nearest support face's VA (1-NN in the
same latent space) and the run's own heads (no support at all). On the run's own dataset only its held-out split is
used: faces whose labels the encoder never saw. With --out and --every, writes a labelled dataset instead: support
rows keep their labels, the others get the few-shot VA and emotion (label_source column), ready for scripts.train.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.data.fewshot import fit_pair_head, label_queries, nn_baseline, standardise, support_mask
from models.eval.affect import va_metrics

DEFAULT_FRACTIONS = (0.5, 0.2, 0.06, 0.02)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="levasa fewshot", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--run", type=Path, required=True, help="trained run whose encoder gives the (frozen) encodings")
    p.add_argument("--data", type=Path, help="dataset folder with labels.csv (default: the run's own dataset, "
                                             "held-out split only)")
    p.add_argument("--group", default="", help="labels.csv column to draw the support per group from (clip, "
                                               "subject, identity; 'none': the whole dataset is one group; default: "
                                               "identity if present, else none)")
    p.add_argument("--fractions", default=",".join(map(str, DEFAULT_FRACTIONS)),
                   help="support fractions to score (default 0.5,0.2,0.06,0.02)")
    p.add_argument("--every", type=int, help="with --out: label the dataset from every k-th face of each group")
    p.add_argument("--out", type=Path, help="with --every: write the few-shot labelled dataset here")
    p.add_argument("--figures", default="", help="print FIGURE lines for the 6%% support with this prefix "
                                                 "(e.g. fewshot6)")
    p.add_argument("--seed", type=int, default=0, help="pair head seed (default 0)")
    return p


def _fractions(p: argparse.ArgumentParser, text: str) -> list[float]:
    try:
        fractions = [float(f) for f in text.split(",") if f.strip()]
        if fractions and all(0 < f < 1 for f in fractions):
            return fractions
    except ValueError:
        pass
    p.error(f"--fractions must be numbers in (0, 1) separated by commas, got {text!r}")


def _query_set(args):
    """(run, table, rows, note, group column): the faces to label — the run's own held-out split by default."""
    from models.data.labels import DatasetError, read_labels
    from models.data.splits import heldout_name, read_split
    from models.runs import SPLIT, load_run

    run = load_run(args.run)
    root = args.data or Path(run.config["dataset"]["root"])
    table = read_labels(root, require_va=args.out is None)
    rows, note = np.arange(len(table)), f"all {len(table):,} faces of {root}"
    if args.data is None or Path(root).resolve() == Path(run.config["dataset"]["root"]).resolve():
        split = read_split(run.path / SPLIT, table)
        held = heldout_name(split)
        rows = np.flatnonzero(split == held)
        note = f"the {len(rows):,} {held}-split faces of {root} (the encoder never saw their labels)"
    group_col = "" if args.group == "none" else args.group or ("identity" if "identity" in table.columns else "")
    if group_col and group_col not in table.columns:
        raise DatasetError(f"--group {group_col!r} is no column of {table.csv_path}; columns: "
                           f"{', '.join(table.columns)}")
    return run, table, rows, note, group_col


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if (args.out is None) != (args.every is None):
        p.error("--out and --every go together (label a dataset from every k-th face of each group)")
    fractions = _fractions(p, args.fractions)

    from models.data.images import load_images
    from models.data.labels import DatasetError
    from models.runs import RunError

    try:
        run, table, rows, note, group_col = _query_set(args)
        images, conversion = run.to_domain(load_images(table, progress=False)[rows], axis=1)  # the run's colour mode
    except (RunError, DatasetError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    import torch

    from models.data.fewshot import FewShotConfig
    from models.inference import predict

    t0 = time.perf_counter()
    enc = predict(run.model, torch.from_numpy(images), run.device)
    q = QuerySet(enc["mu"], enc["va"], table.va[rows].astype(np.float64), table.emotion_codes()[rows],
                 np.array(table.columns[group_col])[rows] if group_col else np.zeros(len(rows), int),
                 int(table.emotion_codes().max()) + 1)
    converted = " (converted to grayscale, as the run trained)" if conversion != "none" else ""
    print(f"{run.name}: encoded {note}{converted} in {time.perf_counter() - t0:.1f} s; support drawn per "
          f"{group_col or 'dataset'} ({len(np.unique(q.groups)):,} groups)")
    cfg = FewShotConfig(seed=args.seed)
    if args.out is not None:
        return _write(args, table, rows, q, cfg)
    results = score_fractions(q, fractions, cfg)
    if args.figures and 0.06 in results:
        print_figures(args.figures, results[0.06])
    return 0


@dataclass
class QuerySet:
    feats: np.ndarray  # (N, D) latent means from the run's frozen encoder
    heads_va: np.ndarray  # (N, 2) the run's own heads
    va: np.ndarray  # (N, 2) labels
    emo: np.ndarray  # (N,) emotion codes
    groups: np.ndarray  # (N,) the group each face's support is drawn within
    n_classes: int


def _mean_ccc(m: dict) -> float:
    return (m["valence"]["ccc"] + m["arousal"]["ccc"]) / 2


def score_fractions(q: QuerySet, fractions: list[float], cfg) -> dict[float, dict[str, float]]:
    """For each support fraction: the pair head beside 1-NN in latent space and the run's heads, printed as a table.
    Returns {fraction: {method: mean CCC of V and A}}."""
    print(f"  {'support':>8} {'n':>6}  {'method':<16} {'CCC v':>6} {'CCC a':>6} {'mean':>6} {'RMSE v':>7} "
          f"{'RMSE a':>7} {'PCC v':>6} {'PCC a':>6} {'SAGR v':>7} {'SAGR a':>7} {'emotion':>8}")
    results = {}
    for f in fractions:
        mask = support_mask(q.groups, max(1, round(1 / f)))
        if mask.sum() < 2 or (~mask).sum() < 2:
            print(f"  {f:>8.0%}: too few faces for a support and a query set; skipped")
            continue
        t1 = time.perf_counter()
        rows_out = _score_one(q, mask, cfg)
        results[f] = {k: _mean_ccc(m) for k, (m, _) in rows_out.items()}
        for name, (m, acc) in rows_out.items():
            v, a = m["valence"], m["arousal"]
            print(f"  {f:>8.0%} {int(mask.sum()):>6}  {name:<16} {v['ccc']:6.3f} {a['ccc']:6.3f} {_mean_ccc(m):6.3f} "
                  f"{v['rmse']:7.3f} {a['rmse']:7.3f} {v['pcc']:6.3f} {a['pcc']:6.3f} {v['sagr']:7.3f} "
                  f"{a['sagr']:7.3f} {'' if acc is None else f'{acc:8.3f}'}")
        print(f"  {'':>8} (pair head fitted and {int((~mask).sum()):,} queries labelled in "
              f"{time.perf_counter() - t1:.1f} s)")
    return results


def _score_one(q: QuerySet, mask: np.ndarray, cfg) -> dict[str, tuple[dict, float | None]]:
    fs, fq = standardise(q.feats[mask], q.feats[~mask])
    head = fit_pair_head(fs, q.va[mask], q.emo[mask], cfg)
    pred, pred_emo, _ = label_queries(head, fs, q.va[mask], q.emo[mask], fq, q.n_classes, cfg.top_m)
    truth = q.va[~mask]
    return {"pair head": (va_metrics(truth, pred), float((pred_emo == q.emo[~mask]).mean())),
            "1-NN latent": (va_metrics(truth, nn_baseline(fs, q.va[mask], fq)), None),
            "heads (no support)": (va_metrics(truth, q.heads_va[~mask]), None)}


def print_figures(prefix: str, r: dict[str, float]) -> None:
    print(f"FIGURE {prefix}_ccc {r['pair head']:.3f}  (mean of V and A CCC, 6% support; 1-NN in latent "
          f"space {r['1-NN latent']:.3f}, ratio {r['pair head'] / max(r['1-NN latent'], 1e-9):.2f}; the run's "
          f"heads with no support {r['heads (no support)']:.3f})")
    print(f"FIGURE {prefix}_nn_ccc {r['1-NN latent']:.3f}  (the nearest support face's VA, 6% support)")


def _write(args, table, rows, q: QuerySet, cfg) -> int:
    """Label every row of the dataset from every k-th face of each group; write OUT/labels.csv."""
    import os

    from models.data.emotions import ALL_EMOTIONS

    feats, va, emo, n_classes = q.feats, q.va, q.emo, q.n_classes
    mask = support_mask(q.groups, args.every)
    labelled = ~np.isnan(va).any(1)
    mask &= labelled
    if mask.sum() < 2:
        print(f"error: every {args.every}th face of each group gives {int(mask.sum())} labelled faces; need >= 2",
              file=sys.stderr)
        return 2
    fs, fq = standardise(feats[mask], feats[~mask])
    head = fit_pair_head(fs, va[mask], emo[mask], cfg)
    pred, pred_emo, conf = label_queries(head, fs, va[mask], emo[mask], fq, n_classes, cfg.top_m)
    out_va, out_emo = va.copy(), emo.copy()
    out_va[~mask], out_emo[~mask] = pred, pred_emo
    args.out.mkdir(parents=True, exist_ok=True)
    cols = [c for c in table.columns if c not in ("file", "emotion", "valence", "arousal")]
    tmp = args.out / "labels.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "emotion", "valence", "arousal", *cols, "label_source", "fewshot_confidence"])
        conf_all = np.ones(len(rows))
        conf_all[~mask] = conf
        for k, i in enumerate(rows):
            path = os.path.relpath((table.root / table.files[i]).resolve(), args.out.resolve())
            w.writerow([path, ALL_EMOTIONS[out_emo[k]], f"{out_va[k, 0]:.4f}", f"{out_va[k, 1]:.4f}",
                        *(table.columns[c][i] for c in cols), "support" if mask[k] else "fewshot",
                        f"{conf_all[k]:.3f}"])
    os.replace(tmp, args.out / "labels.csv")
    print(f"wrote {args.out / 'labels.csv'}: {int(mask.sum()):,} support faces kept their labels, "
          f"{int((~mask).sum()):,} labelled few-shot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
