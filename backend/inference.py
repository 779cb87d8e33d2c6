"""A run's model calls as the service makes them: encode, decode, reconstruct, edit and the edit grid, uint8 in and out.

Every call runs on the model thread (backend.engine). On the CPU a single face is latency-bound: frozen TorchScript
graphs (BatchNorm folded into the convolutions, oneDNN layouts) decode and encode one face about 1.7x faster than eager
PyTorch here. Batches are throughput-bound: eager bf16 autocast with channels-last runs a face of a 16-batch about 2x
faster than fp32 on CPUs with AMX / AVX512-BF16. ``precision`` "auto" picks per batch; "fp32" keeps every call in fp32.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from models.device import autocast, resolve_precision
from models.editing import edit_latent
from models.runs import LoadedRun

SMALL_BATCH = 4  # CPU batches up to this size run the frozen fp32 graphs; larger ones eager (bf16 where it pays)
GRID_CHUNK = 128  # faces decoded per call of an edit grid (a 41 x 41 grid is 1,681 faces)


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


def _frozen_graph(module: torch.nn.Module, example: torch.Tensor | tuple[torch.Tensor, ...]):
    """TorchScript trace, frozen (weights as constants, BatchNorm folded) and optimised for inference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example, check_trace=False, strict=False)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def _to_u8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float in [0, 1] -> (B, H, W, 3) uint8."""
    return x.float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def grid_targets(values: np.ndarray) -> np.ndarray:
    """The edit grid's targets (n*n, 2) in row order: row r has arousal values[n - 1 - r] (arousal up), column c
    valence values[c]."""
    v, a = np.meshgrid(values, values[::-1])  # row 0 = highest arousal
    return np.stack([v.ravel(), a.ravel()], 1)


def sprite(tiles: np.ndarray, n: int) -> np.ndarray:
    """(n*n, T, T, 3) tiles in row order -> one (n*T, n*T, 3) sprite sheet."""
    t = tiles.shape[1]
    return np.ascontiguousarray(tiles.reshape(n, n, t, t, 3).transpose(0, 2, 1, 3, 4).reshape(n * t, n * t, 3))


class Inference:
    """The fast paths of one loaded run. Build it on the model thread: tracing is torch work like any other."""

    def __init__(self, run: LoadedRun, precision: str = "auto"):
        self.model = run.model
        self.cfg = run.model_cfg
        self.device = run.device
        self.precision = precision
        self._bf16_native = resolve_precision("auto", self.device) == "bf16"
        # The frozen graphs are built when first needed, or by the server's warm-up after start-up (a run's three
        # take about 1.5 s here: built at load, they made 4 runs start in 7.7 s instead of 1.7 s).
        self._graphs: dict[str, torch.jit.ScriptModule] | None = {} if self.device.type == "cpu" else None
        if self.device.type == "cpu":
            self.model.to(memory_format=torch.channels_last)

    @property
    def graph_names(self) -> tuple[str, ...]:
        """The paths that run as frozen graphs here (none on a GPU)."""
        return ("encode", "decode", "edit") if self._graphs is not None else ()

    def graph(self, name: str) -> torch.jit.ScriptModule:
        """The frozen graph of one path (built on its first use; call on the model thread)."""
        g = self._graphs.get(name)
        if g is None:
            z = torch.zeros(1, self.cfg.latent_dim)
            x = torch.zeros(1, 3, self.cfg.image_size, self.cfg.image_size)
            path, example = {"decode": (_DecodePath, z), "encode": (_EncodePath, x),
                             "edit": (_EditPath, (z, torch.zeros(1, 2)))}[name]
            g = self._graphs[name] = _frozen_graph(path(self.model), example)
        return g

    # --- the service's calls ---
    @torch.inference_mode()
    def encode(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B, S, S, 3) uint8 -> latent means (B, D) and head VA (B, 2)."""
        mu, va = self._encode(self._from_u8(pixels))
        return mu.cpu().numpy(), va.cpu().numpy()

    @torch.inference_mode()
    def reconstruct(self, pixels: np.ndarray) -> np.ndarray:
        """(B, S, S, 3) uint8 -> the decoded mean latents, (B, S, S, 3) uint8."""
        return _to_u8(self._decode(self._encode(self._from_u8(pixels))[0]))

    @torch.inference_mode()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """(B, D) float -> (B, S, S, 3) uint8 faces."""
        return _to_u8(self._decode(self._tensor(z)))

    @torch.inference_mode()
    def heads(self, z: np.ndarray) -> np.ndarray:
        """(B, D) latents -> the VA the heads read from them, (B, 2)."""
        return self.model.heads(self._tensor(z))[0].float().cpu().numpy()

    @torch.inference_mode()
    def edit(self, z: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latents (B, D) and target VA (B, 2) -> edited faces (B, S, S, 3) uint8, the VA the model reads back from
        them (re-encoded, (B, 2)) and the edited latents (B, D)."""
        zt, tt = self._tensor(z), self._tensor(targets)
        if self._small(len(zt)):
            faces, va, z_edit = self.graph("edit")(zt, tt)  # one graph: edit, decode, re-encode, heads
        else:
            z_edit = edit_latent(self.model, zt, tt)
            faces = self._decode(z_edit)
            va = self._encode(faces)[1]
        return _to_u8(faces), va.cpu().numpy(), z_edit.cpu().numpy()

    @torch.inference_mode()
    def edit_grid(self, z: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """One latent (D,) -> n x n faces edited to a grid over [-1, 1]^2, (n*n, S, S, 3) uint8 in row order, and the
        grid's values (n,). Row r has arousal values[n - 1 - r] (arousal up), column c valence values[c]."""
        values = np.linspace(-1.0, 1.0, n, dtype=np.float32)
        targets = grid_targets(values)  # (n*n, 2)
        zt = self._tensor(np.repeat(np.asarray(z, np.float32)[None], len(targets), 0))
        z_edit = edit_latent(self.model, zt, self._tensor(targets))
        faces = np.concatenate([_to_u8(self._decode(z_edit[i : i + GRID_CHUNK]))
                                for i in range(0, len(z_edit), GRID_CHUNK)])  # (n*n, S, S, 3)
        return faces, values

    # --- the paths: frozen graphs for small CPU batches, eager (bf16 where it pays) for the rest ---
    def _small(self, batch: int) -> bool:
        return self._graphs is not None and batch <= SMALL_BATCH and self.precision != "bf16"

    def _bf16(self, batch: int) -> bool:
        if self.precision == "bf16":
            return True
        return self.precision == "auto" and batch > SMALL_BATCH and self._bf16_native

    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        if self._small(len(z)):
            return self.graph("decode")(z)
        with autocast(self.device, "bf16" if self._bf16(len(z)) else "fp32"):
            return self.model.decode(z).float()

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) -> latent means (B, D) and head VA (B, 2)."""
        if self._small(len(x)):
            return self.graph("encode")(x)
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, "bf16" if self._bf16(len(x)) else "fp32"):
            mu = self.model.encode(x)[0].float()
        return mu, self.model.heads(mu)[0].float()

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(a, np.float32)).to(self.device)

    def _from_u8(self, pixels: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 (possibly read-only, as PIL hands it out) -> (B, 3, S, S) float in [0, 1]."""
        return torch.from_numpy(np.array(pixels)).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
