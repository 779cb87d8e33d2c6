"""Typed configuration for models and training runs.

Both dataclasses round-trip through plain JSON (``to_dict`` / ``from_dict``); unknown keys and wrong types are errors,
so a typo in a config file or on the command line never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass

MODEL_KINDS = ("vanilla", "levasa")
RELATIONAL_FORMS = ("none", "cosine", "distance")
LABEL_MODES = ("continuous", "discrete")
ALIGN_LOSSES = ("mse", "ccc")
# the forms of models.train.disentangle
DISENTANGLE_FORMS = ("none", "cycle", "swap", "mix", "adversary", "refit", "hsic", "xcov")
UPSAMPLES = ("transposed3", "transposed4", "resize")  # the decoder's upsampling (models.vae.UPSAMPLES)
PRECISIONS = ("auto", "bf16", "fp32")
N_DISCRETE = 21  # discrete VA labels are round(10 * x) in -10..10: 21 classes


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


@dataclass
class ModelConfig:
    kind: str = "levasa"  # "levasa" aligns z_v / z_a with VA; "vanilla" trains its heads on detached latents
    label_mode: str = "continuous"  # "continuous": MSE on [-1, 1]; "discrete": 21-way CE on round(10x)+10
    zv_dim: int = 32  # valence chunk; the reference used 32
    za_dim: int = 32  # arousal chunk; the reference used 32
    zz_dim: int = 32  # everything else (identity, pose, light); the reference used 32
    image_size: int = 64  # input is 3 x 64 x 64 in [0, 1], as in the reference
    channels: tuple[int, ...] = (64, 128, 256, 512)  # encoder conv widths; the decoder mirrors them
    hidden: tuple[int, ...] = (512, 128)  # fully connected widths between the conv stack and the latent heads
    upsample: str = "transposed3"  # decoder upsampling: transposed3 (the reference's), transposed4, resize (models.vae)
    refine: int = 0  # channels of a 3x3 convolution at 64 px before the decoder's RGB output (0: none, the reference's)
    kl_weight: float = 0.5  # the reference's 0.5 x KL (KL summed over dims / pixel count, see models.vae)
    align_weight: float = 0.3  # the reference's 0.3 x alignment (MSE or CE of the VA heads)
    align_loss: str = "mse"  # continuous heads: "mse" (the reference's) or "ccc" (1 - the batch's CCC, per axis)
    edit_weight: float = 0.0  # edit consistency (LeVAsa only): decoded edits must read back as their targets
    edit_fraction: float = 0.5  # share of each batch edited for that term (its cost grows with it)
    edit_local: bool = False  # edit term: read back the expression box only, and hold the rest to the unedited face
    edit_start: float = 0.0  # share of the training steps before the edit term ramps in (over the next 10%)
    edit_feather: float = 0.0  # edit_local's box edge, px: 0 a hard edge; wider, a smooth ramp across it
    edit_blur: float = 0.0  # edit term: Gaussian blur (sigma, px) on what the read-back sees; 0: none
    perceptual_weight: float = 0.0  # reconstruction matched in the features of a network trained here (0: off)
    laplacian_weight: float = 0.0  # L1 on the reconstruction's Laplacian-pyramid bands: a network-free blur charge
    adversarial_weight: float = 0.0  # a patch discriminator charges for reconstructions it tells from faces (0: off)
    adversarial_start: float = 0.0  # share of the training steps before the adversarial term ramps in
    relational: str = "none"  # LeVAsa: pull the batch's latent similarities to its VA similarities (models.vae)
    relational_weight: float = 1.0  # weight of the relational term
    head_grad: bool = True  # LeVAsa: the heads shape z_v / z_a; False: they read a detached latent (a readout)
    disentangle: str = "none"  # LeVAsa: keep each chunk to its own factor (models.train.disentangle's seven forms)
    disentangle_weight: float = 0.1  # weight of the disentangle term
    disentangle_start: float = -1.0  # share of steps before the cycle, swap or mix form ramps in; -1: the edit term's
    zz_kl_scale: float = 1.0  # z_z's KL weighed this many times kl_weight (> 1 squeezes out what z_v, z_a hold)

    def __post_init__(self) -> None:
        self.channels = tuple(self.channels)
        self.hidden = tuple(self.hidden)
        _check_choice("kind", self.kind, MODEL_KINDS)
        _check_choice("label_mode", self.label_mode, LABEL_MODES)
        _check_choice("relational", self.relational, RELATIONAL_FORMS)
        _check_choice("align_loss", self.align_loss, ALIGN_LOSSES)
        _check_choice("upsample", self.upsample, UPSAMPLES)
        _check_choice("disentangle", self.disentangle, DISENTANGLE_FORMS)
        if self.kind == "vanilla" and self.disentangle != "none":
            raise ConfigError("disentangle is a LeVAsa option; a vanilla model has no chunks to keep apart")
        if self.align_loss != "mse" and self.label_mode != "continuous":
            raise ConfigError(f"align_loss {self.align_loss} needs continuous labels; discrete heads use cross-entropy")
        if self.kind == "vanilla" and (self.relational != "none" or not self.head_grad):
            raise ConfigError("relational and head_grad are LeVAsa options; a vanilla model aligns nothing")
        if not self.head_grad and self.relational == "none":
            raise ConfigError("head_grad false leaves nothing aligning the latent; add relational cosine or distance")
        if not 0.0 <= self.edit_start < 1.0:
            raise ConfigError(f"edit_start must be in [0, 1), got {self.edit_start}")
        if not 0.0 <= self.edit_blur <= 8.0:
            raise ConfigError(f"edit_blur must be in [0, 8] px, got {self.edit_blur}")
        if not 0.0 <= self.edit_feather <= 16.0:
            raise ConfigError(f"edit_feather must be in [0, 16] px, got {self.edit_feather}")
        for name in ("perceptual_weight", "laplacian_weight", "adversarial_weight", "disentangle_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.disentangle_start == -1.0 or 0.0 <= self.disentangle_start < 1.0):
            raise ConfigError(f"disentangle_start must be -1 (with the edit term) or in [0, 1), got "
                              f"{self.disentangle_start}")
        if self.zz_kl_scale < 0:
            raise ConfigError(f"zz_kl_scale must be >= 0, got {self.zz_kl_scale}")
        if self.kind == "vanilla" and self.zz_kl_scale != 1.0:
            raise ConfigError("zz_kl_scale is a LeVAsa option; a vanilla model's latent has no chunks")
        if not 0.0 <= self.adversarial_start < 1.0:
            raise ConfigError(f"adversarial_start must be in [0, 1), got {self.adversarial_start}")
        if not 0 <= self.refine <= 256:
            raise ConfigError(f"refine must be in [0, 256] channels (0: off), got {self.refine}")
        for name in ("zv_dim", "za_dim", "zz_dim"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.image_size != 64:
            raise ConfigError(f"image_size must be 64 (the reference architecture), got {self.image_size}")
        if len(self.channels) != 4:
            raise ConfigError(f"channels must list 4 conv widths, got {self.channels}")

    @property
    def disentangle_ramp_start(self) -> float:
        """Share of the steps before the cycle, swap or mix form ramps in: its own ``disentangle_start``, or the edit
        term's (-1)."""
        return self.edit_start if self.disentangle_start < 0 else self.disentangle_start

    @property
    def latent_dim(self) -> int:
        return self.zv_dim + self.za_dim + self.zz_dim

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        return _from_dict(cls, d)


@dataclass
class TrainConfig:
    epochs: int = 12  # passes over the training split
    batch_size: int = 64  # smaller than the reference's 128: twice the updates per second at the same image rate
    lr: float = 2e-3  # peak of a one-cycle schedule (the reference: constant 1e-4)
    weight_decay: float = 0.0  # Adam weight decay
    warmup: float = 0.15  # share of the steps spent warming the learning rate up
    seed: int = 0  # seeds the model init, the split (when drawn) and the batch order
    val_fraction: float = 0.1  # share held out when the split is drawn with the seed
    split_column: str = ""  # labels.csv column that gives the split instead (e.g. FER2013's "split")
    train_values: tuple[str, ...] = ()  # values of split_column that mean "train" (default: "train", "Training")
    val_values: tuple[str, ...] = ()  # values of split_column that mean "val" (default: "val", "PublicTest", ...)
    device: str = "auto"  # "auto" picks cuda when present, else cpu
    precision: str = "auto"  # "bf16" autocast, "fp32", or "auto" (bf16 where the CPU/GPU runs it fast)
    channels_last: bool = True  # NHWC memory format: faster convolutions with oneDNN / cuDNN
    threads: int = 0  # torch CPU threads; 0 = torch's default (one per core)
    flip: bool = True  # random horizontal flip (VA is symmetric under it)
    affine: float = 0.0  # random shift / rotation / scale; 1.0 = +-4 px, +-10 deg, +-6 %; 0 = off (real photos: 1.0)
    eval_every: int = 0  # also evaluate the held-out split every N steps (0 = once per epoch)
    max_images: int = 0  # stop after this many training images (0 = no limit); for benchmarks
    max_val: int = 2000  # held-out images scored at each evaluation (0 = all)

    def __post_init__(self) -> None:
        self.train_values = tuple(self.train_values)
        self.val_values = tuple(self.val_values)
        _check_choice("precision", self.precision, PRECISIONS)
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 (BatchNorm needs a batch), got {self.batch_size}")
        if not 0.0 < self.lr < 1.0:
            raise ConfigError(f"lr must be in (0, 1), got {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in (0, 1), got {self.val_fraction}")

    def to_dict(self) -> dict:
        return _to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return _from_dict(cls, d)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _to_dict(obj) -> dict:
    return {f.name: list(v) if isinstance(v := getattr(obj, f.name), tuple) else v for f in dataclasses.fields(obj)}


def _from_dict(cls, d: dict):
    """Build ``cls`` from a dict, refusing unknown keys and values of the wrong type."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} key(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    kwargs = {}
    for key, value in d.items():
        kwargs[key] = _coerce(key, value, hints[key])
    return cls(**kwargs)


def _coerce(key: str, value, hint):
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {type(value).__name__}")
        (item_t, _) = typing.get_args(hint)
        return tuple(_coerce(key, v, item_t) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool, float) and (type(value) is not hint):
        raise ConfigError(f"{key} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def field_help(cls) -> dict[str, str]:
    """Each field's trailing comment in the class source (``name: type = default  # help``): the one place a setting is
    explained, read by the command line's --help and checked against the docs."""
    src = inspect.getsource(cls)
    out = {}
    for line in src.splitlines():
        m = re.match(r"\s+(\w+): [^=]+=.*?  # (.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


# Fields whose values come from a fixed set: the command line offers them as choices.
CHOICES: dict[str, tuple[str, ...]] = {"kind": MODEL_KINDS, "label_mode": LABEL_MODES, "relational": RELATIONAL_FORMS,
                                       "align_loss": ALIGN_LOSSES, "precision": PRECISIONS,
                                       "upsample": UPSAMPLES, "disentangle": DISENTANGLE_FORMS}


__all__ = ["ModelConfig", "TrainConfig", "ConfigError", "MODEL_KINDS", "LABEL_MODES", "N_DISCRETE", "CHOICES",
           "field_help"]
