"""The runs the service serves: every runs/NAME/ folder loaded once at start, with what evaluation saved beside it.

A run that cannot load (missing or truncated weights, a broken config) is kept with status "error" and its reason, so
readiness names it while the other runs serve. Run names come only from the folder listing: a request's run name is
looked up in this registry, never joined onto a path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from models import runs as ck
from models.data.emotions import ALL_EMOTIONS
from models.data.transfer import Ellipse, affectnet_ellipses, nearest_ellipse
from models.device import autocast, resolve_precision
from models.editing import edit_latent
from models.runs import LATENTS, PROJECTIONS, THUMBS

log = logging.getLogger("levasa")
SMALL_BATCH = 4  # CPU batches up to this size run the frozen fp32 graphs; larger ones eager (bf16 where it pays)


def _frozen_graph(module: torch.nn.Module, example: torch.Tensor):
    """TorchScript trace, frozen (weights as constants, BatchNorm folded) and optimised for inference."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example, check_trace=False, strict=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


class _DecodePath(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, z):
        return self.vae.decoder(z)


class _EncodePath(_DecodePath):
    def forward(self, x):
        mu = self.vae.encoder(x)[0]
        return mu, self.vae.heads(mu)[0]


class _EditPath(_DecodePath):
    def forward(self, z, target):
        z_edit = edit_latent(self.vae, z, target)
        faces = self.vae.decoder(z_edit)
        mu = self.vae.encoder(faces)[0]
        return faces, self.vae.heads(mu)[0], z_edit


_BF16: dict[str, bool] = {}


def _bf16_ok(device: torch.device) -> bool:
    if device.type not in _BF16:
        _BF16[device.type] = resolve_precision("auto", device) == "bf16"
    return _BF16[device.type]


@dataclass
class ServedRun:
    name: str
    path: Path
    status: str = "error"  # "ready" or "error"
    error: str | None = None
    run: ck.LoadedRun | None = None
    latents: dict[str, np.ndarray] | None = None
    proj: dict[str, np.ndarray] | None = None
    metrics: dict | None = None
    thumbs: tuple[np.ndarray, np.ndarray] | None = None  # (JPEG bytes end to end, offsets)
    ellipses: dict[str, Ellipse] = field(default_factory=affectnet_ellipses)
    missing: list[str] = field(default_factory=list)  # artifacts evaluation has not written yet
    precision: str = "auto"
    load_s: float = 0.0
    _proj_json: bytes | None = None
    _proj_gz: bytes | None = None
    _graphs: dict | None = None  # frozen TorchScript paths for small CPU batches

    # --- facts ---
    @property
    def ready(self) -> bool:
        return self.status == "ready"

    @property
    def latent_dim(self) -> int:
        return self.run.model_cfg.latent_dim

    @property
    def n_samples(self) -> int:
        return 0 if self.latents is None else len(self.latents["ids"])

    def emotion_of(self, va: np.ndarray) -> list[str]:
        """Nearest category ellipse (normalised distance) for each (V, A) row."""
        return [str(e) for e in nearest_ellipse(va, self.ellipses)]

    def thumbnail(self, i: int) -> bytes:
        data, off = self.thumbs
        return data[off[i] : off[i + 1]].tobytes()

    # --- model calls: run on the model thread (backend.engine) ---
    # On the CPU a single face is latency-bound: frozen TorchScript graphs (BatchNorm folded into the convolutions,
    # oneDNN layouts) decode and encode one face about 1.7x faster than eager PyTorch here. Batches are throughput-
    # bound: eager bf16 autocast with channels-last runs a face of a 16-batch about 2x faster than fp32 on CPUs with
    # AMX / AVX512-BF16. ``precision`` "auto" picks per batch; "fp32" keeps every call in fp32.
    def prepare(self) -> None:
        """Build the fast paths once, at load (on the model thread: see backend.engine)."""
        m = self.run.model
        if self.run.device.type != "cpu":
            return
        m.to(memory_format=torch.channels_last)
        c = self.run.model_cfg
        z = torch.zeros(1, c.latent_dim)
        x = torch.zeros(1, 3, c.image_size, c.image_size)
        t = torch.zeros(1, 2)
        self._graphs = {"decode": _frozen_graph(_DecodePath(m), z), "encode": _frozen_graph(_EncodePath(m), x),
                        "edit": _frozen_graph(_EditPath(m), (z, t))}

    def _small(self, batch: int) -> bool:
        return self._graphs is not None and batch <= SMALL_BATCH and self.precision != "bf16"

    def _bf16(self, batch: int) -> bool:
        if self.precision == "bf16":
            return True
        return self.precision == "auto" and batch > SMALL_BATCH and _bf16_ok(self.run.device)

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        if self._small(len(z)):
            return self._graphs["decode"](z)
        with autocast(self.run.device, "bf16" if self._bf16(len(z)) else "fp32"):
            return self.run.model.decode(z).float()

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) -> latent means (B, D) and head VA (B, 2)."""
        if self._small(len(x)):
            return self._graphs["encode"](x)
        if self.run.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.run.device, "bf16" if self._bf16(len(x)) else "fp32"):
            mu = self.run.model.encode(x)[0].float()
        return mu, self.run.model.heads(mu)[0].float()

    def _to_u8(self, x: torch.Tensor) -> np.ndarray:
        """(B, 3, H, W) float in [0, 1] -> (B, H, W, 3) uint8."""
        return x.float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def _from_u8(self, pixels: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 (possibly read-only, as PIL hands it out) -> (B, 3, S, S) float in [0, 1]."""
        return torch.from_numpy(np.array(pixels)).to(self.run.device).permute(0, 3, 1, 2).float().div_(255.0)

    @torch.inference_mode()
    def encode(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, S, S, 3) uint8 -> latent means (B, D) and head VA (B, 2)."""
        mu, va = self._encode(self._from_u8(pixels))
        return mu.cpu().numpy(), va.cpu().numpy()

    @torch.inference_mode()
    def reconstruct(self, pixels: np.ndarray) -> np.ndarray:
        """(B, S, S, 3) uint8 -> the decoded mean latents, (B, S, S, 3) uint8."""
        return self._to_u8(self._decode(self._encode(self._from_u8(pixels))[0]))

    @torch.inference_mode()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """(B, D) float -> (B, S, S, 3) uint8 faces."""
        return self._to_u8(self._decode(torch.from_numpy(np.asarray(z, np.float32)).to(self.run.device)))

    @torch.inference_mode()
    def edit(self, z: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latents (B, D) and target VA (B, 2) -> edited faces (B, S, S, 3) uint8, the VA the model reads back from
        them (re-encoded, (B, 2)) and the edited latents (B, D)."""
        zt = torch.from_numpy(np.asarray(z, np.float32)).to(self.run.device)
        tt = torch.from_numpy(np.asarray(targets, np.float32)).to(self.run.device)
        if self._small(len(zt)):
            faces, va, z_edit = self._graphs["edit"](zt, tt)  # one graph: edit, decode, re-encode, heads
        else:
            z_edit = edit_latent(self.run.model, zt, tt)
            faces = self._decode(z_edit)
            va = self._encode(faces)[1]
        return self._to_u8(faces), va.cpu().numpy(), z_edit.cpu().numpy()

    @torch.inference_mode()
    def edit_grid(self, z: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """One latent (D,) -> n x n faces edited to a grid over [-1, 1]^2 as one sprite (n*S, n*S, 3) uint8, and the
        grid's values (n,). Row r has arousal values[n - 1 - r] (arousal up), column c valence values[c]."""
        values = np.linspace(-1.0, 1.0, n, dtype=np.float32)
        v, a = np.meshgrid(values, values[::-1])  # row 0 = highest arousal
        targets = np.stack([v.ravel(), a.ravel()], 1)
        faces = []
        m = self.run.model
        zt = torch.from_numpy(np.repeat(z[None].astype(np.float32), len(targets), 0)).to(self.run.device)
        z_edit = edit_latent(m, zt, torch.from_numpy(targets).to(self.run.device))
        for i in range(0, len(z_edit), 128):
            faces.append(self._to_u8(self._decode(z_edit[i : i + 128])))
        f = np.concatenate(faces)  # (n*n, S, S, 3)
        s = f.shape[1]
        sprite = f.reshape(n, n, s, s, 3).transpose(0, 2, 1, 3, 4).reshape(n * s, n * s, 3)
        return np.ascontiguousarray(sprite), values

    # --- projections, as compact columns ---
    def projections_json(self) -> bytes:
        """The dataset's points as columns (built once, then served as stored bytes)."""
        if self._proj_json is None:
            self._proj_json = json.dumps(self.projection_columns(), separators=(",", ":")).encode()
        return self._proj_json

    def projections_gzip(self) -> bytes:
        if self._proj_gz is None:
            import gzip

            self._proj_gz = gzip.compress(self.projections_json(), compresslevel=6)
        return self._proj_gz

    def projection_columns(self) -> dict:
        lat, proj = self.latents, self.proj
        ids = proj["ids"] if proj is not None else lat["ids"]
        r4 = lambda a: np.round(a.astype(np.float64), 4).tolist()
        cols = {
            "run": self.name,
            "n": int(len(ids)),
            "n_dataset": int(len(lat["ids"])),
            "emotions": list(ALL_EMOTIONS),
            "ids": ids.tolist(),
            "emotion": lat["emotion"][ids].tolist(),
            "split": lat["split"][ids].tolist(),
            "label_v": r4(lat["va_label"][ids, 0]),
            "label_a": r4(lat["va_label"][ids, 1]),
            "head_v": r4(lat["va_head"][ids, 0]),
            "head_a": r4(lat["va_head"][ids, 1]),
        }
        for key in ("tsne_v", "tsne_a", "tsne_z", "pca_v", "pca_a", "pca_z"):
            arr = proj[key] if proj is not None else np.zeros((0, 2))
            cols[f"{key}_x"] = r4(arr[:, 0]) if len(arr) else []
            cols[f"{key}_y"] = r4(arr[:, 1]) if len(arr) else []
        return cols


class Registry:
    def __init__(self, runs_dir: Path, device: torch.device, precision: str = "auto"):
        self.runs_dir = Path(runs_dir)
        self.device = device
        self.precision = precision
        self.runs: dict[str, ServedRun] = {}

    def load_all(self) -> None:
        """Load every run folder (a sub-folder with a config.json, or one that should have had one)."""
        if not self.runs_dir.is_dir():
            log.warning("runs folder %s does not exist: no runs to serve", self.runs_dir)
            return
        for path in sorted(self.runs_dir.iterdir()):
            if path.name.startswith(".") or not path.is_dir():
                continue
            if not any((path / f).exists() for f in (ck.CONFIG, ck.WEIGHTS, ck.CHECKPOINT)):
                continue  # not a run folder
            self.runs[path.name] = load_served(path, self.device, self.precision)

    def ready(self) -> list[ServedRun]:
        return [r for r in self.runs.values() if r.ready]


def load_served(path: Path, device: torch.device, precision: str = "auto") -> ServedRun:
    """One run with its artifacts; any failure becomes status "error" with the reason (logged)."""
    import time

    t0 = time.perf_counter()
    sr = ServedRun(path.name, path, precision=precision)
    try:
        sr.run = ck.load_run(path, device)
        sr.prepare()
    except (ck.RunError, OSError, ValueError) as e:
        sr.error = str(e)
        log.error("run %s not served: %s", path.name, e)
        return sr
    except Exception as e:  # noqa: BLE001 - a run must never stop the others from serving
        sr.error = f"{type(e).__name__}: {e}"
        log.exception("run %s not served", path.name)
        return sr
    sr.latents = _npz(path / LATENTS, sr)
    if sr.latents is not None and sr.latents["mu"].shape[1] != sr.run.model_cfg.latent_dim:
        sr.missing.append(f"{LATENTS} holds {sr.latents['mu'].shape[1]}-dim latents, the model "
                          f"{sr.run.model_cfg.latent_dim}: re-export them")
        sr.latents = None
    if sr.latents is not None:
        sr.proj = _npz(path / PROJECTIONS, sr)
        if sr.proj is not None and int(sr.proj["ids"].max(initial=-1)) >= len(sr.latents["ids"]):
            sr.missing.append(f"{PROJECTIONS} does not match {LATENTS}: re-export them")
            sr.proj = None
        th = _npz(path / THUMBS, sr)
        if th is not None and len(th["offsets"]) == len(sr.latents["ids"]) + 1:
            sr.thumbs = (th["data"], th["offsets"])
        elif th is not None:
            sr.missing.append(f"{THUMBS} does not match {LATENTS}: re-export them")
    if (path / "metrics.json").is_file():
        try:
            sr.metrics = json.loads((path / "metrics.json").read_text())
        except (OSError, ValueError) as e:
            sr.missing.append(f"metrics.json unreadable: {e}")
    root = Path(sr.run.config.get("dataset", {}).get("root", ""))
    if (root / "ellipses.json").is_file():  # the dataset's own category statistics (annotation transfer wrote them)
        try:
            raw = json.loads((root / "ellipses.json").read_text())["ellipses"]
            sr.ellipses = {k: Ellipse(**v) for k, v in raw.items()}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    if sr.latents is not None:
        sr.projections_gzip()  # built once here, so the first request for the map does not wait for it
    sr.status = "ready"
    sr.load_s = time.perf_counter() - t0
    return sr


def _npz(path: Path, sr: ServedRun) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        sr.missing.append(f"{path.name} missing: python -m scripts.export runs/{sr.name}")
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as e:  # noqa: BLE001 - a damaged artifact degrades the run, it does not stop it
        sr.missing.append(f"{path.name} unreadable ({type(e).__name__}: {e})")
        return None
