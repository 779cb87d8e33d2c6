"""File writes that are all or nothing: a temporary file in the same folder, fsynced, then renamed over the target.

A kill at any moment leaves either the old file or the new one, never half a file. The temporary file is created
with the permissions of a plain ``open(path, "w")`` (0666 masked by the process umask), so an atomic write is as
readable by other users (a container's serving user, say) as any other file the process writes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


class RunError(RuntimeError):
    """A run folder or one of its files cannot be read; the message says which file and why."""


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> None:
    """Write via ``write(tmp_path)`` to a temporary file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes 0600, and some writers (safetensors) recreate the file 0600 too: after the write, give it the
        # mode a plain open(path, "w") would, so a container's serving user can read what the trainer wrote.
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_npz(path: Path, **arrays) -> None:
    """np.savez, atomically (never pickled: load with allow_pickle=False)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object, so numpy does not append ".npz" to the temporary name
            np.savez(f, **arrays)

    atomic_write(path, write)


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2) + "\n"))


def append_jsonl(path: Path, obj) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl_last(path: Path) -> dict:
    """The last record of a JSON-lines file."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    return json.loads(lines[-1])


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunError(f"{path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON: {e}") from None

