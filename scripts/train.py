"""Train a vanilla VAE or a LeVAsa model on a face folder with labels.csv (VA labels required).

    levasa train --config configs/levasa.json --name levasa          # a recipe: its data, model and training settings
    levasa train --data data/synthetic --name vanilla --kind vanilla --epochs 3
    levasa train --name levasa --resume                              # continue a killed run from its last epoch

Writes RUNS/NAME/ (the files are listed in models/runs.py). Every model and training setting is a flag, generated from
models/config.py with its default and its help; flags override the recipe given with --config. A dataset with only
emotion categories gets VA first: levasa transfer --help.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import typing
from pathlib import Path

from models.config import CHOICES, ConfigError, ModelConfig, TrainConfig, field_help
from models.data.labels import DatasetError
from models.runs import CONFIG

ALIASES = {"kind": ["--model"]}  # older spellings that still work


def add_config_flags(group, cls) -> list[str]:
    """One flag per field of the config dataclass ``cls`` (type, choices, help and default from the class itself).
    Flags default to None, so only the ones given override the recipe. Returns the field names."""
    helps, hints = field_help(cls), typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = f"{helps[f.name]} (default: {default!r})".replace("%", "%%")  # argparse formats help with %
        kw: dict = {"dest": f.name, "default": None, "help": text}
        hint = hints[f.name]
        if hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(hint) is tuple:
            kw |= {"nargs": "*", "type": typing.get_args(hint)[0], "metavar": "VALUE"}
        else:
            kw["type"] = hint
            if f.name in CHOICES:
                kw["choices"] = CHOICES[f.name]
        group.add_argument(flag, *ALIASES.get(f.name, []), **kw)
    return [f.name for f in dataclasses.fields(cls)]


def build_parser() -> tuple[argparse.ArgumentParser, list[str], list[str]]:
    p = argparse.ArgumentParser(prog="levasa train", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, help="a recipe file (configs/NAME.json: about, data, model, train); "
                   "flags override it")
    p.add_argument("--data", type=Path, help="dataset folder holding labels.csv (file, emotion, valence, arousal); "
                   "default: the recipe's")
    p.add_argument("--name", required=True, help="run name: the folder RUNS/NAME")
    p.add_argument("--runs", type=Path, default=Path("runs"), help="folder of runs (default: runs)")
    p.add_argument("--resume", action="store_true", help="continue RUNS/NAME from its last finished epoch")
    p.add_argument("--overwrite", action="store_true", help="replace an existing RUNS/NAME")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    model_fields = add_config_flags(p.add_argument_group("model (models/config.py ModelConfig)"), ModelConfig)
    train_fields = add_config_flags(p.add_argument_group("training (models/config.py TrainConfig)"), TrainConfig)
    return p, model_fields, train_fields


def configs_from_args(args, model_fields, train_fields) -> tuple[ModelConfig, TrainConfig, Path | None]:
    """The recipe (if any) with the flags given laid over it."""
    from models.recipes import read_sections, recipe_data

    base = read_sections(args.config) if args.config else {}
    model = {**base.get("model", {}), **{k: getattr(args, k) for k in model_fields if getattr(args, k) is not None}}
    train = {**base.get("train", {}), **{k: getattr(args, k) for k in train_fields if getattr(args, k) is not None}}
    data = args.data or recipe_data(base)  # the same rule as every recipe loaded by name
    return ModelConfig.from_dict(model), TrainConfig.from_dict(train), data


def _check_new_run(parser, args, run_dir: Path, data: Path | None) -> None:
    if data is None:
        parser.error("--data is required (a folder with labels.csv), unless the --config recipe names one or --resume")
    if not (data / "labels.csv").is_file():
        parser.error(f"--data {data}: no labels.csv there (make one with: levasa synth)")
    # Under torchrun only rank 0 looks after the run folder (the others would see the folder it just made).
    if int(os.environ.get("RANK", "0")) == 0 and run_dir.exists() and any(run_dir.iterdir()):
        if not args.overwrite:
            parser.error(f"{run_dir} already exists; use --resume to continue it or --overwrite to replace it")
        shutil.rmtree(run_dir)


def main(argv: list[str] | None = None) -> int:
    parser, model_fields, train_fields = build_parser()
    args = parser.parse_args(argv)
    run_dir = args.runs / args.name
    if "/" in args.name or args.name in ("", ".", ".."):
        parser.error(f"--name must be a plain folder name, got {args.name!r}")
    if args.resume and not (run_dir / CONFIG).is_file():
        parser.error(f"--resume: {run_dir} holds no run (no {CONFIG})")
    if not args.resume:
        try:
            model_cfg, train_cfg, data = configs_from_args(args, model_fields, train_fields)
        except ConfigError as e:
            parser.error(str(e))
        _check_new_run(parser, args, run_dir, data)

    from models.train.loop import train_run

    try:
        if args.resume:
            summary = train_run(run_dir, resume=True, progress=not args.quiet)
        else:
            summary = train_run(run_dir, data, model_cfg, train_cfg, progress=not args.quiet)
    except (DatasetError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: levasa train --name {args.name} --runs {args.runs} --resume",
              file=sys.stderr)
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
