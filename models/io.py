"""File writes that are all or nothing: a temporary file in the same folder, fsynced, then renamed over the target.

A kill at any moment leaves either the old file or the new one, never half a file. The temporary file is created
with the permissions of a plain ``open(path, "w")`` (0666 masked by the process umask), so an atomic write is as
readable by other users (a container's serving user, say) as any other file the process writes.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np


class RunError(RuntimeError):
    """A run folder or one of its files cannot be read; the message says which file and why."""


def current_umask() -> int:
    """The process umask (what a plain open() masks a new file's mode with)."""
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
        os.chmod(tmp, 0o666 & ~current_umask())
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


MMAP_MIN_BYTES = 1 << 16  # smaller members are read whole: a map per tiny array costs more than it saves


def load_npz(path: Path, mmap: bool = True) -> dict[str, np.ndarray]:
    """Every array of an .npz, never unpickled. Members stored uncompressed (np.savez, save_npz) are memory-mapped
    in place (read-only), so a 400,000-row file costs no memory until its pages are read; compressed or small ones
    are read whole. Raises ValueError for an object array and OSError / zipfile.BadZipFile for a damaged file."""
    out = {}
    with zipfile.ZipFile(path) as zf, open(path, "rb") as fh:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if mmap and info.compress_type == zipfile.ZIP_STORED and info.file_size >= MMAP_MIN_BYTES:
                out[name] = _mapped_member(path, fh, info)
            else:
                with zf.open(info) as f:
                    out[name] = np.lib.format.read_array(f, allow_pickle=False)
    return out


def _mapped_member(path: Path, fh, info: zipfile.ZipInfo) -> np.ndarray:
    """One uncompressed .npy member as a read-only memmap: past the zip's local header, then the .npy header."""
    fh.seek(info.header_offset)
    local = fh.read(30)  # the local file header: signature ... name length, extra length (zip spec 4.3.7)
    if local[:4] != b"PK\x03\x04":
        raise OSError(f"{path}: member {info.filename} has no local header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject:
        raise ValueError(f"{path}: member {info.filename} is an object array (it would need pickle)")
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, order="F" if fortran else "C", offset=fh.tell())


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

