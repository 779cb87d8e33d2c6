"""The dataset's faces as JPEG thumbnails, stored once per dataset and memory-mapped, not once per run and read whole.

A store is a folder in the runs folder, RUNS/.thumbs/KEY/, named by the key of the decoded images it was made from
(models.data.images.cache_key), so every run of one dataset shares it and a changed dataset gets a new one:
  data.npy     uint8, every face's JPEG end to end
  offsets.npy  int64 (N + 1,): face i is data[offsets[i]:offsets[i + 1]]
A run points at its store with RUN/thumbs.json ({"store": KEY, "n": N}); the server maps both arrays read-only, so
400,000 faces (about 0.8 GB) cost a worker no memory until a face is asked for. The runs folder holds the stores so a
server that sees only runs/ (the Docker service mounts nothing else) still finds them.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from models.io import RunError, current_umask, read_json, write_json
from models.runs import THUMB_STORES, THUMBS

THUMB_QUALITY = 90  # JPEG: a 64 px face in about 2 KB (20,000 faces in ~40 MB), served as stored bytes
_KEY = re.compile(r"[0-9a-f]{8,64}")  # a store key is a hash: never a path


@dataclass(frozen=True)
class Thumbnails:
    data: np.ndarray  # (N_bytes,) uint8: every face's JPEG, end to end
    offsets: np.ndarray  # (N + 1,) face i is data[offsets[i]:offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def jpeg(self, i: int) -> bytes:
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])].tobytes()


def store_dir(runs_dir: Path, key: str) -> Path:
    if not _KEY.fullmatch(key):
        raise RunError(f"thumbnail store key {key!r} is not a hash")
    return Path(runs_dir) / THUMB_STORES / key


def encode_jpegs(hwc: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) uint8 faces -> (data, offsets), every face a JPEG at THUMB_QUALITY."""
    rows = range(len(hwc))
    if progress:
        from tqdm import tqdm

        rows = tqdm(rows, desc="thumbnails", unit="face", mininterval=1.0)
    parts, offsets = [], np.zeros(len(hwc) + 1, np.int64)
    for i in rows:
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(hwc[i])).save(buf, format="JPEG", quality=THUMB_QUALITY)
        parts.append(buf.getvalue())
        offsets[i + 1] = offsets[i] + len(parts[-1])
    return np.frombuffer(b"".join(parts), dtype=np.uint8), offsets


def ensure_store(runs_dir: Path, key: str, chw: np.ndarray, progress: bool = False) -> tuple[Path, bool]:
    """The store for these (N, 3, H, W) uint8 faces, written unless it is there already. Returns (folder, written).

    Written into a temporary folder and renamed into place, so a reader never sees half a store; two exports of one
    dataset at once both succeed (the second finds the first's store, or its rename loses to an identical one)."""
    final = store_dir(runs_dir, key)
    if _complete(final, len(chw)):
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    data, offsets = encode_jpegs(np.asarray(chw).transpose(0, 2, 3, 1), progress)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key}."))
    try:
        np.save(tmp / "data.npy", data)
        np.save(tmp / "offsets.npy", offsets)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700: a container's serving user must read it
        if final.exists():  # a damaged or partial store of this key: replace it
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another export put the same store in place first
            if not _complete(final, len(chw)):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def _complete(folder: Path, n: int) -> bool:
    try:
        return len(np.load(folder / "offsets.npy", mmap_mode="r")) == n + 1 and (folder / "data.npy").is_file()
    except (OSError, ValueError):
        return False


def write_pointer(run_dir: Path, key: str, n: int) -> None:
    write_json(Path(run_dir) / THUMBS, {"store": key, "n": int(n)})


def open_store(run_dir: Path) -> Thumbnails:
    """The run's thumbnails, memory-mapped from the store its thumbs.json names. RunError says what is wrong."""
    run_dir = Path(run_dir)
    ptr = read_json(run_dir / THUMBS)
    key, n = ptr.get("store"), ptr.get("n")
    if not isinstance(key, str) or not isinstance(n, int):
        raise RunError(f"{run_dir / THUMBS} must hold {{\"store\": KEY, \"n\": N}}, got {ptr}")
    folder = store_dir(run_dir.parent, key)
    try:
        th = Thumbnails(np.load(folder / "data.npy", mmap_mode="r"), np.load(folder / "offsets.npy", mmap_mode="r"))
    except (OSError, ValueError) as e:
        raise RunError(f"thumbnail store {folder} unreadable ({type(e).__name__}: {e})") from None
    if len(th) != n:
        raise RunError(f"thumbnail store {folder} holds {len(th)} faces, {THUMBS} says {n}")
    return th
