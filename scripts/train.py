"""Train a vanilla VAE or a LeVAsa model on a face folder with labels.csv (VA labels required).

    python -m scripts.train --data data/synthetic --name levasa --model levasa --epochs 12
    python -m scripts.train --data data/synthetic --name vanilla --model vanilla
    python -m scripts.train --name levasa --resume          # continue a killed run from its last finished epoch

Writes runs/NAME/ (config.json, model.safetensors, checkpoint.safetensors, metrics.jsonl, split.csv, summary.json).
A dataset with only emotion categories gets VA first: python -m scripts.transfer_annotations --help.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from models.config import (
    ALIGN_LOSSES,
    LABEL_MODES,
    MODEL_KINDS,
    RELATIONAL_FORMS,
    ConfigError,
    ModelConfig,
    TrainConfig,
)
from models.data.labels import DatasetError

M, T = ModelConfig(), TrainConfig()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m scripts.train",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", type=Path, help="dataset folder holding labels.csv (file, emotion, valence, arousal)")
    p.add_argument("--name", required=True, help="run name: the folder RUNS/NAME")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="folder of runs")
    p.add_argument("--resume", action="store_true", help="continue RUNS/NAME from its last finished epoch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing RUNS/NAME")
    p.add_argument("--config", type=Path, help='JSON file {"model": {...}, "train": {...}}; flags below override it')
    g = p.add_argument_group("model")
    g.add_argument("--model", dest="kind", choices=MODEL_KINDS, help=f"model kind (default {M.kind})")
    g.add_argument("--label-mode", choices=LABEL_MODES, help=f"VA label mode (default {M.label_mode})")
    g.add_argument("--zv-dim", type=int, help=f"valence chunk size (default {M.zv_dim})")
    g.add_argument("--za-dim", type=int, help=f"arousal chunk size (default {M.za_dim})")
    g.add_argument("--zz-dim", type=int, help=f"remaining latent size (default {M.zz_dim})")
    g.add_argument("--kl-weight", type=float, help=f"KL weight (default {M.kl_weight})")
    g.add_argument("--align-weight", type=float, help=f"alignment weight (default {M.align_weight})")
    g.add_argument("--align-loss", choices=ALIGN_LOSSES, help="continuous heads' loss: mse, or ccc (1 - batch CCC, "
                   f"the field's VA loss) (default {M.align_loss})")
    g.add_argument("--edit-weight", type=float, help=f"edit-consistency weight, LeVAsa (default {M.edit_weight})")
    g.add_argument("--edit-local", action="store_true", default=None,
                   help="edit term judges the expression box only and holds the rest of the face still (models.vae)")
    g.add_argument("--edit-start", type=float, help="share of the steps before the edit term ramps in (default 0)")
    g.add_argument("--relational", choices=RELATIONAL_FORMS, help="relational alignment of the latent, LeVAsa: cosine "
                   f"(the original paper's) or distance (keeps VA magnitude) (default {M.relational})")
    g.add_argument("--relational-weight", type=float, help=f"relational term weight (default {M.relational_weight})")
    g.add_argument("--no-head-grad", dest="head_grad", action="store_false", default=None,
                   help="the heads only read a detached latent: the relational term aligns alone")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, help=f"epochs (default {T.epochs})")
    g.add_argument("--batch-size", type=int, help=f"batch size (default {T.batch_size})")
    g.add_argument("--lr", type=float, help=f"peak learning rate (default {T.lr})")
    g.add_argument("--seed", type=int, help=f"seed (default {T.seed})")
    g.add_argument("--device", help=f"auto, cpu or cuda[:N] (default {T.device})")
    g.add_argument("--precision", choices=("auto", "bf16", "fp32"), help=f"(default {T.precision})")
    g.add_argument(
        "--split-column",
        help="labels.csv column giving the split (train/val/test names) or a group id "
        "(subject, identity) to split by; default: rows drawn with the seed",
    )
    g.add_argument("--val-fraction", type=float, help=f"share held out when drawn (default {T.val_fraction})")
    g.add_argument("--affine", type=float, help=f"shift/rotate/scale augmentation strength (default {T.affine})")
    g.add_argument("--threads", type=int, help="torch CPU threads (default: one per core)")
    g.add_argument("--eval-every", type=int, help="also evaluate every N steps (default: once per epoch)")
    g.add_argument("--max-images", type=int, help="stop after this many training images (default: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


_MODEL_FLAGS = ("kind", "label_mode", "zv_dim", "za_dim", "zz_dim", "kl_weight", "align_weight", "align_loss",
                "edit_weight", "edit_local", "edit_start", "relational", "relational_weight", "head_grad")
_TRAIN_FLAGS = (
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "device",
    "precision",
    "split_column",
    "val_fraction",
    "threads",
    "affine",
    "eval_every",
    "max_images",
)


def configs_from_args(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    base = {"model": {}, "train": {}}
    if args.config:
        try:
            base = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read --config {args.config}: {e}") from None
        unknown = set(base) - {"model", "train"}
        if unknown:
            raise ConfigError(
                f"--config {args.config}: unknown section(s) {', '.join(sorted(unknown))}; expected 'model' and 'train'"
            )
    model = {**base.get("model", {}), **{k: getattr(args, k) for k in _MODEL_FLAGS if getattr(args, k) is not None}}
    train = {**base.get("train", {}), **{k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}}
    return ModelConfig.from_dict(model), TrainConfig.from_dict(train)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run_dir = args.runs / args.name
    if "/" in args.name or args.name in ("", ".", ".."):
        parser.error(f"--name must be a plain folder name, got {args.name!r}")
    if args.resume:
        if not (run_dir / "config.json").is_file():
            parser.error(f"--resume: {run_dir} holds no run (no config.json)")
    else:
        try:
            model_cfg, train_cfg = configs_from_args(args)
        except ConfigError as e:
            parser.error(str(e))
        if args.data is None:
            parser.error("--data is required (a folder with labels.csv), unless --resume")
        if not (args.data / "labels.csv").is_file():
            parser.error(f"--data {args.data}: no labels.csv there (make one with: python -m scripts.make_synthetic)")
        # Under torchrun only rank 0 looks after the run folder (the others would see the folder it just made).
        if int(os.environ.get("RANK", "0")) == 0 and run_dir.exists() and any(run_dir.iterdir()):
            if not args.overwrite:
                parser.error(f"{run_dir} already exists; use --resume to continue it or --overwrite to replace it")
            shutil.rmtree(run_dir)

    from models.train.loop import train_run  # torch import deferred: --help and argument errors stay instant

    try:
        if args.resume:
            summary = train_run(run_dir, resume=True, progress=not args.quiet)
        else:
            summary = train_run(run_dir, args.data, model_cfg, train_cfg, progress=not args.quiet)
    except (DatasetError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; continue with: python -m scripts.train --name {args.name} --runs {args.runs} --resume",
            file=sys.stderr,
        )
        return 130
    if summary:  # rank 0's; the other processes of a torchrun job return none
        print_summary(summary)
    return 0


def print_summary(s: dict) -> None:
    rows = [
        ("run", s["name"]),
        ("model", f"{s['kind']} / {s['label_mode']}"),
        ("epochs", s["epochs"]),
        ("images seen", s["images"]),
        ("train time", f"{s['train_s']:.1f} s ({s['device']}, {s['precision']})"),
        (f"{s['heldout']} CCC valence", f"{s['ccc_v']:.3f}  (n={s['n_heldout']})"),
        (f"{s['heldout']} CCC arousal", f"{s['ccc_a']:.3f}"),
        (f"{s['heldout']} recon MSE", f"{s['recon_mse']:.5f}"),
    ]
    w = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")


if __name__ == "__main__":
    sys.exit(main())
