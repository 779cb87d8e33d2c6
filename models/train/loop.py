"""Training: one loop for the vanilla VAE and LeVAsa, both label modes, CPU or GPU, with atomic per-epoch checkpoints.

What makes it fast next to the reference recipe (PIL decode every step, fp32, Adam at a constant 1e-4, batch 128):
  * the dataset is decoded once into a uint8 tensor (models.data.images) and batches are sliced from it;
  * bfloat16 autocast with channels-last convolutions where the hardware runs them natively (oneDNN AVX512-BF16/AMX on
    CPU, tensor cores on GPU): about 2x the images per second of fp32 on this 2-core machine;
  * a one-cycle learning rate (warm-up to 2e-3, cosine decay) and batch 64: the same images buy more, larger updates.
Several processes (``torchrun --nproc_per_node N -m scripts.train ...``) train one run: models.train.distributed.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.config import ModelConfig, TrainConfig
from models.data.images import load_images
from models.data.labels import read_labels
from models.data.splits import heldout_name, make_split, read_split, write_split
from models.device import autocast, resolve_device, resolve_precision, to_input
from models.domain import color_mode
from models.inference import evaluate_heads
from models.io import append_jsonl, read_json, read_jsonl_last, write_json
from models.losses import DECODED_FORMS, StepAids
from models.train.adversarial import discriminator_step
from models.train.augment import random_affine, random_flip
from models.train.disentangle import adversary_step, refit_targets
from models.train.distributed import barrier, broadcast_flag, dist_setup, mean_over_processes, wrap_distributed
from models.train.schedule import late_ramp, lr_at
from models.vae import VAE


@dataclass
class TrainData:
    images: torch.Tensor  # (N, 3, 64, 64) uint8, on the training device
    va: np.ndarray  # (N, 2) float32
    split: np.ndarray  # (N,) "train" / "val" / "test"
    summary: dict  # dataset facts saved in config.json
    files: list[str] = field(default_factory=list)  # image paths relative to the dataset root, in row order
    emotion: np.ndarray | None = None  # (N,) int64 emotion codes (ALL_EMOTIONS order), for the disentangle term

    def rows(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)


@dataclass
class TrainState:
    """Where training is; saved in every checkpoint, so a resumed run continues exactly here."""

    epoch: int = 0  # finished epochs
    step: int = 0  # optimiser steps taken
    images: int = 0  # training images seen (all processes)
    train_s: float = 0.0  # seconds spent in training steps (scoring excluded)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Session:
    """What one call of train_run works with: settings, device, process, model, optimiser and data, set up once."""

    run_dir: Path
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    device: torch.device
    precision: str
    rank: int
    world: int
    log: Callable[[str], None]
    progress: bool
    data: TrainData | None = None
    model: VAE | None = None
    net: torch.nn.Module | None = None  # the model, or its DistributedDataParallel wrapper
    percept: torch.nn.Module | None = None  # the perceptual term's frozen network (perceptual_weight > 0)
    disc: torch.nn.Module | None = None  # the adversarial term's discriminator (adversarial_weight > 0) ...
    disc_opt: torch.optim.Optimizer | None = None  # ... and its optimiser
    label_means: torch.nn.Module | None = None  # the disentangle term's label statistics (disentangle on) ...
    chunk_adv: torch.nn.Module | None = None  # ... its predictors (the adversary form) ...
    chunk_opt: torch.optim.Optimizer | None = None  # ... and their optimiser
    code_bank: torch.nn.Module | None = None  # the refit form's bank of recent codes
    opt: torch.optim.Optimizer | None = None
    sampler: object | None = None
    state: TrainState = field(default_factory=TrainState)
    steps_per_epoch: int = 0
    total_steps: int = 0
    val_idx: np.ndarray | None = None  # the held-out rows scored during training
    epoch_rate: float = 0.0  # images per second of the last epoch

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def per_rank(self) -> int:
        return self.train_cfg.batch_size // self.world

    @property
    def heldout(self) -> str:
        return self.data.summary["heldout"]


class LossMeter:
    """Running means of the loss terms over an epoch (each term over the steps that computed it: the edit term only
    once it has ramped in)."""

    TERMS = ("loss", "recon", "kl", "align", "perceptual", "adversarial", "disc", "relational", "disentangle",
             "chunk_adv", "edit", "edit_keep")

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, terms: dict[str, torch.Tensor]) -> None:
        for k in self.TERMS:
            if k in terms:
                self.sums[k] = self.sums.get(k, 0.0) + float(terms[k].detach())
                self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: v / self.counts[k] for k, v in self.sums.items()}


def prepare_data(data_root: Path, train_cfg: TrainConfig, run_dir: Path, device: torch.device, *, resume: bool,
                 progress: bool, write: bool = True) -> TrainData:
    """The dataset's table, images and split (the saved one on resume), and the facts config.json keeps."""
    table = read_labels(data_root, require_va=True)
    split_path = run_dir / ck.SPLIT
    if resume and split_path.is_file():
        split = read_split(split_path, table)
    else:
        c = train_cfg
        split = make_split(table, c.split_column, c.val_fraction, c.seed, c.train_values, c.val_values)
        if write:  # the split is drawn from the seed: every process of a distributed run draws the same one
            write_split(split_path, table, split)
    if not (split == "train").any():
        raise ValueError("the split leaves no training rows")
    pixels = load_images(table, progress=progress)
    summary = {
        "root": str(data_root),
        "name": data_root.name,
        "n": len(table),
        "split": {s: int((split == s).sum()) for s in ("train", "val", "test")},
        "heldout": heldout_name(split),
        "emotions": {e: table.emotions.count(e) for e in sorted(set(table.emotions))},
        "color": color_mode(pixels, np.flatnonzero(split == "train")),  # images from elsewhere meet it (models.domain)
    }
    images = torch.from_numpy(pixels).to(device)
    return TrainData(images, table.va.astype(np.float32), split, summary, list(table.files), table.emotion_codes())


def train_run(
    run_dir: str | Path,
    data_root: str | Path | None = None,
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    *,
    resume: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_eval: Callable[[dict], bool] | None = None,
) -> dict:
    """Train (or resume) the run in ``run_dir``; returns its summary.

    ``on_eval(record)`` is called after each held-out evaluation with the metrics record; returning True stops training
    (used by the time-to-quality benchmark). On resume the saved config and split are used and the run continues from
    the last finished epoch.
    """
    s, data_root = _open_session(Path(run_dir), data_root, model_cfg, train_cfg, resume=resume, progress=progress,
                                 log=log, with_early_stop=on_eval is not None)
    s.data = prepare_data(data_root, s.train_cfg, s.run_dir, s.device, resume=resume, progress=s.progress,
                          write=s.main)
    _plan(s)
    if not resume and s.main:
        _write_config(s)
    _build_model(s, resume)
    _load_percept(s)
    s.log(_describe(s))
    stop = False
    s.model.train()
    while not stop and s.state.epoch < s.train_cfg.epochs and s.state.step < s.total_steps:
        losses, stop = _run_epoch(s, on_eval)
        if stop:
            break
        s.state.epoch += 1
        losses = _mean_over_processes(s, losses)
        if s.main:
            stop = _score(s, losses, on_eval)
            ck.save_weights(s.run_dir, s.model)
            ck.save_checkpoint(s.run_dir, s.model, s.opt, s.state.to_dict(), extra=_extra_nets(s))
            _log_epoch(s, losses)
        stop = _broadcast_stop(s, stop)
    if stop and s.main:
        ck.save_weights(s.run_dir, s.model)
    summary = finish_run(s) if s.main else {}
    if s.world > 1:
        barrier(s.world)
        torch.distributed.destroy_process_group()
    return summary


def _open_session(run_dir: Path, data_root, model_cfg, train_cfg, *, resume: bool, progress: bool, log,
                  with_early_stop: bool) -> tuple[Session, Path]:
    """Settings (the saved ones on resume), device, process rank; checks that need no data."""
    if resume:
        saved = read_json(run_dir / ck.CONFIG)
        model_cfg, train_cfg = ModelConfig.from_dict(saved["model"]), TrainConfig.from_dict(saved["train"])
        data_root = Path(saved["dataset"]["root"])
    else:
        assert data_root is not None and model_cfg is not None and train_cfg is not None
        data_root = Path(data_root)
        run_dir.mkdir(parents=True, exist_ok=True)
    rank, world, device = dist_setup(resolve_device(train_cfg.device))
    if rank != 0:  # one voice: rank 0 logs, shows progress and writes the run folder
        log, progress = (lambda s: None), False
    if train_cfg.batch_size % world:
        raise ValueError(f"batch_size {train_cfg.batch_size} must divide among {world} processes")
    if world > 1 and (train_cfg.eval_every or with_early_stop):
        raise ValueError("eval_every and early stopping are single-process features; drop --eval-every under torchrun")
    if world > 1 and model_cfg.adversarial_weight > 0:
        raise ValueError("the adversarial term trains a discriminator in one process; train it without torchrun")
    if world > 1 and model_cfg.disentangle == "adversary":
        raise ValueError("the disentangle adversary trains its predictors in one process; train it without torchrun, "
                         "or use disentangle hsic")
    if train_cfg.threads:
        torch.set_num_threads(train_cfg.threads)
    torch.manual_seed(train_cfg.seed)
    precision = resolve_precision(train_cfg.precision, device)
    return Session(run_dir, model_cfg, train_cfg, device, precision, rank, world, log, progress), data_root


def _plan(s: Session) -> None:
    """Steps per epoch and in all, and the held-out rows scored during training (a seeded subsample of max_val)."""
    c, n_train = s.train_cfg, len(s.data.rows("train"))
    if n_train < c.batch_size:
        raise ValueError(f"{n_train} training images is fewer than one batch of {c.batch_size}")
    s.steps_per_epoch = n_train // c.batch_size
    s.total_steps = s.steps_per_epoch * c.epochs
    if c.max_images:
        s.total_steps = min(s.total_steps, math.ceil(c.max_images / c.batch_size))
    val_idx = s.data.rows(s.heldout)
    if c.max_val and len(val_idx) > c.max_val:
        val_idx = np.sort(np.random.default_rng(c.seed).choice(val_idx, c.max_val, replace=False))
    s.val_idx = val_idx


def _write_config(s: Session) -> None:
    write_json(s.run_dir / ck.CONFIG, {
        "format": ck.FORMAT_VERSION,
        "name": s.run_dir.name,
        "model": s.model_cfg.to_dict(),
        "train": s.train_cfg.to_dict(),
        "dataset": s.data.summary,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    (s.run_dir / ck.METRICS).unlink(missing_ok=True)


def _build_model(s: Session, resume: bool) -> None:
    """Model, optimiser and state (restored on resume), and the distributed wrapper and sampler under torchrun."""
    s.model = VAE(s.model_cfg).to(s.device)
    if s.train_cfg.channels_last:
        s.model = s.model.to(memory_format=torch.channels_last)
    s.opt = torch.optim.Adam(s.model.parameters(), lr=s.train_cfg.lr, weight_decay=s.train_cfg.weight_decay)
    if s.model_cfg.adversarial_weight > 0:
        from models.train.adversarial import make_adversary

        s.disc, s.disc_opt = make_adversary(s.device)
    if s.model_cfg.disentangle not in ("none", *DECODED_FORMS):  # the forms that read labels
        _build_disentangle(s)
    if resume:
        s.state = TrainState(**ck.load_checkpoint(s.run_dir, s.model, s.opt, extra=_extra_nets(s)))
        s.log(f"resuming {s.run_dir.name} after epoch {s.state.epoch} (step {s.state.step})")
    barrier(s.world)  # rank 0 has written config.json and split.csv
    s.net = s.model
    if s.world > 1:
        s.net, s.sampler = wrap_distributed(s.model, s.device, s.rank, s.world, len(s.data.rows("train")),
                                            s.train_cfg.seed)


def _build_disentangle(s: Session) -> None:
    """The disentangle term's label statistics (from the training rows) and, for the adversary form, its predictors,
    for the refit form, its bank of codes."""
    from models.data.emotions import ALL_EMOTIONS
    from models.train.disentangle import CodeBank, ConditionalMeans, make_chunk_adversary

    train, m = s.data.rows("train"), s.model_cfg
    s.label_means = ConditionalMeans(s.data.va[train], s.data.emotion[train], len(ALL_EMOTIONS)).to(s.device)
    if m.disentangle == "adversary":
        s.chunk_adv, s.chunk_opt = make_chunk_adversary(m.zv_dim, m.za_dim, m.zz_dim, len(ALL_EMOTIONS), s.device)
    if m.disentangle == "refit":
        s.code_bank = CodeBank((m.zv_dim, m.za_dim, m.zz_dim), len(ALL_EMOTIONS) + 4).to(s.device)


def _extra_nets(s: Session) -> dict:
    """The networks trained beside the model, saved with it in the checkpoint."""
    nets = {"disc": (s.disc, s.disc_opt), "chunk_adv": (s.chunk_adv, s.chunk_opt)}
    return {k: v for k, v in nets.items() if v[0] is not None}


def _load_percept(s: Session) -> None:
    """The perceptual term's network when the recipe has one: rank 0 trains and caches it, the others then read it.
    Training it draws random numbers under its own seed; the run's generators are put back, so a run trains alike
    whether the network was cached or not."""
    if s.model_cfg.perceptual_weight <= 0:
        return
    from models.train.percept import load_percept

    d = s.data
    cuda = [s.device] if s.device.type == "cuda" else []
    for turn in (True, False):
        if s.main == turn:
            with torch.random.fork_rng(devices=cuda):
                s.percept = load_percept(s.run_dir.parent, d.files, d.va, d.split == "train", d.images, s.device,
                                         progress=s.progress)
        barrier(s.world)


def _describe(s: Session) -> str:
    c, m = s.train_cfg, s.model_cfg
    return (f"{s.run_dir.name}: {m.kind} / {m.label_mode}, {len(s.data.rows('train'))} train + {len(s.val_idx)} "
            f"{s.heldout} images, {c.epochs} epochs x {s.steps_per_epoch} steps of {c.batch_size}, {s.device} "
            f"{s.precision}" + (f", {s.world} processes x {s.per_rank}" if s.world > 1 else ""))


def _epoch_order(s: Session) -> np.ndarray:
    """This epoch's training rows, shuffled with (seed, epoch); under torchrun this process's share of them."""
    train_idx = s.data.rows("train")
    if s.sampler is not None:
        s.sampler.set_epoch(s.state.epoch)
        return train_idx[np.fromiter(iter(s.sampler), dtype=np.int64)]
    return train_idx[np.random.default_rng([s.train_cfg.seed, s.state.epoch]).permutation(len(train_idx))]


def _run_epoch(s: Session, on_eval) -> tuple[dict[str, float], bool]:
    """One pass over the training rows. Returns the epoch's mean loss terms and whether to stop early."""
    order, meter = _epoch_order(s), LossMeter()
    bar = _progress_bar(s)
    t_epoch, n_steps, stop = time.perf_counter(), 0, False
    for b in range(s.steps_per_epoch):
        if s.state.step >= s.total_steps:
            break
        terms = _step(s, order[b * s.per_rank : (b + 1) * s.per_rank])
        meter.add(terms)
        n_steps += 1
        if bar is not None:
            bar.update(1)
            if b % 10 == 0:
                bar.set_postfix({k: f"{v:.4f}" for k, v in meter.means().items()}, refresh=False)
        if s.train_cfg.eval_every and s.state.step % s.train_cfg.eval_every == 0:
            stop = _score(s, meter.means(), on_eval)
            if stop:
                break
    if bar is not None:
        bar.close()
    s.epoch_rate = n_steps * s.train_cfg.batch_size / (time.perf_counter() - t_epoch)
    return meter.means(), stop


def _progress_bar(s: Session):
    if not s.progress:
        return None
    from tqdm import tqdm

    return tqdm(total=s.steps_per_epoch, desc=f"{s.run_dir.name} epoch {s.state.epoch + 1}/{s.train_cfg.epochs}",
                unit="step", mininterval=0.5, leave=True)


def _step(s: Session, rows: np.ndarray) -> dict[str, torch.Tensor]:
    """One optimiser step on ``rows``: augment, loss (through the DDP wrapper: its hooks average gradients), update."""
    t0 = time.perf_counter()
    c, idx = s.train_cfg, torch.from_numpy(rows)
    x = to_input(s.data.images[idx.to(s.data.images.device)], s.device, c.channels_last)
    if c.flip:
        x = random_flip(x)
    if c.affine > 0:
        x = random_affine(x, c.affine)
    va = torch.from_numpy(s.data.va[rows]).to(s.device)
    for g in s.opt.param_groups:
        g["lr"] = lr_at(s.state.step, s.total_steps, c.lr, c.warmup)
    m = s.model_cfg
    aids = StepAids(edit_scale=late_ramp(s.state.step, s.total_steps, m.edit_start),
                    disentangle_scale=late_ramp(s.state.step, s.total_steps, m.disentangle_ramp_start),
                    adversarial_scale=late_ramp(s.state.step, s.total_steps, m.adversarial_start),
                    percept=s.percept, disc=s.disc, label_means=s.label_means, chunk_adv=s.chunk_adv,
                    code_bank=s.code_bank,
                    emotion=None if s.label_means is None else torch.from_numpy(s.data.emotion[rows]).to(s.device))
    terms = optimise(s.model, s.net, s.opt, x, va, aids, s.device, s.precision, s.disc_opt, s.chunk_opt)
    s.state.step += 1
    s.state.images += x.shape[0] * s.world
    if not math.isfinite(float(terms["loss"].detach())):
        raise FloatingPointError(f"loss became {float(terms['loss'])} at step {s.state.step}; terms: "
                                 + ", ".join(f"{k}={float(v):.4g}" for k, v in terms.items()))
    s.state.train_s += time.perf_counter() - t0
    return terms


def optimise(model: VAE, net: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, va: torch.Tensor,
             aids: StepAids, device: torch.device, precision: str,
             disc_opt: torch.optim.Optimizer | None = None,
             chunk_opt: torch.optim.Optimizer | None = None) -> dict[str, torch.Tensor]:
    """The model's update on one batch (``net``: the model or its DDP wrapper), then the discriminator's on the same
    batch and its reconstructions when the adversarial term is on, and the chunk predictors' on its latent means when
    the disentangle adversary is. Returns the loss terms (``disc`` and ``chunk_adv`` among them)."""
    with autocast(device, precision):
        out = net(x)
        terms = model.loss(x, va, out=out, aids=aids)
    opt.zero_grad(set_to_none=True)
    terms["loss"].backward()
    opt.step()
    if "adversarial" in terms:
        with autocast(device, precision):
            terms["disc"] = discriminator_step(aids.disc, disc_opt, x, out.recon)
    if aids.chunk_adv is not None:
        terms["chunk_adv"] = adversary_step(aids.chunk_adv, chunk_opt, model.split(out.mu), va, aids.emotion)
    if aids.code_bank is not None:
        n_classes = len(aids.label_means.prior)
        aids.code_bank.push(model.split(out.mu), refit_targets(va, aids.emotion, n_classes, aids.label_means))
    return terms


def _score(s: Session, losses: dict[str, float], on_eval) -> bool:
    """Score the held-out rows, append the record to metrics.jsonl; True when ``on_eval`` asks to stop."""
    t0 = time.perf_counter()
    ev = evaluate_heads(s.model, s.data.images[s.val_idx], s.data.va[s.val_idx], s.device, s.precision,
                        s.train_cfg.channels_last)
    rec = {
        **s.state.to_dict(),
        "train_s": round(s.state.train_s, 3),
        "lr": s.opt.param_groups[0]["lr"],
        "train": {k: round(v, 6) for k, v in losses.items()},
        s.heldout: {k: ev[k] for k in ("n", "ccc_v", "ccc_a", "recon_mse")},
        "eval_s": round(time.perf_counter() - t0, 3),
    }
    append_jsonl(s.run_dir / ck.METRICS, rec)
    return bool(on_eval and on_eval(rec))


def _mean_over_processes(s: Session, losses: dict[str, float]) -> dict[str, float]:
    if s.world == 1:
        return losses
    return mean_over_processes(losses, s.world)


def _broadcast_stop(s: Session, stop: bool) -> bool:
    return broadcast_flag(stop) if s.world > 1 else stop


def _log_epoch(s: Session, losses: dict[str, float]) -> None:
    last, h = read_jsonl_last(s.run_dir / ck.METRICS), s.heldout
    s.log(f"{s.run_dir.name} epoch {s.state.epoch}: loss {losses['loss']:.4f} recon {losses['recon']:.4f} "
          f"align {losses['align']:.4f} | {h} CCC v {last[h]['ccc_v']:.3f} a {last[h]['ccc_a']:.3f} "
          f"recon {last[h]['recon_mse']:.4f} | {s.epoch_rate:.0f} img/s")


def finish_run(s: Session) -> dict:
    """Score the whole held-out split once more and write summary.json."""
    held = s.data.rows(s.heldout)
    ev = evaluate_heads(s.model, s.data.images[held], s.data.va[held], s.device, s.precision,
                        s.train_cfg.channels_last)
    summary = {
        "name": s.run_dir.name,
        "kind": s.model_cfg.kind,
        "label_mode": s.model_cfg.label_mode,
        "epochs": s.state.epoch,
        "steps": s.state.step,
        "images": s.state.images,
        "train_s": round(s.state.train_s, 1),
        "device": str(s.device),
        "precision": s.precision,
        "heldout": s.heldout,
        "n_heldout": ev["n"],
        "ccc_v": ev["ccc_v"],
        "ccc_a": ev["ccc_a"],
        "recon_mse": ev["recon_mse"],
        "metrics": ev["metrics"],
    }
    write_json(s.run_dir / ck.SUMMARY, summary)
    return summary
