"""models.io's atomic writes: the permissions of a plain write (the umask honoured, not mkstemp's 0600), and a write
that dies half-way leaves the old file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.io import atomic_write, save_npz, write_json

ROOT = Path(__file__).resolve().parents[1]
def _safetensors(p: Path) -> None:
    """The way models.runs writes weights and checkpoints: safetensors recreates the file it writes, 0600."""
    import torch
    from safetensors.torch import save_file

    atomic_write(p, lambda tmp: save_file({"w": torch.zeros(2)}, tmp))


WRITERS = {
    "atomic_write": lambda p: atomic_write(p, lambda tmp: Path(tmp).write_bytes(b"new")),
    "save_npz": lambda p: save_npz(p, a=np.arange(3)),
    "write_json": lambda p: write_json(p, {"a": 1}),
    "safetensors": _safetensors,
}


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["022", "077", "002"])
def test_atomic_writes_honour_the_umask_like_a_plain_write(tmp_path, umask, writer, mask, want):
    umask(mask)
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    target = tmp_path / "target"
    WRITERS[writer](target)
    assert _mode(plain) == want, "the premise: a plain write gets 0666 & ~umask"
    got = _mode(target)
    assert got == want, f"{writer} made {oct(got)} under umask {oct(mask)}; a plain write makes {oct(want)}"


def test_a_trained_runs_weights_and_checkpoint_get_the_mode_of_a_plain_write(tiny_run):
    """The tiny run was trained in this process: its files have 0666 & ~umask, like any other write (0644 under the
    usual 022, so a container's serving user can read what the trainer wrote)."""
    mask = os.umask(0)
    os.umask(mask)
    for name in ("model.safetensors", "checkpoint.safetensors", "config.json", "summary.json"):
        assert _mode(tiny_run / name) == 0o666 & ~mask, f"{name} is {oct(_mode(tiny_run / name))}"


def test_replacing_a_file_gives_the_new_files_mode(tmp_path, umask):
    umask(0o077)
    target = tmp_path / "t.json"
    write_json(target, {"v": 1})
    umask(0o022)
    write_json(target, {"v": 2})
    assert _mode(target) == 0o644 and target.read_text() == '{\n  "v": 2\n}\n'


def test_a_write_that_raises_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old content")

    def half_then_fail(tmp: str) -> None:
        Path(tmp).write_bytes(b"half of the ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path):
    """SIGKILL while the new content is half written: no finally runs, and the target still holds the old content (the
    temporary file beside it is the only trace)."""
    target = tmp_path / "data.json"
    target.write_text('{"v": "old"}')
    code = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from models.io import atomic_write\n"
        "def write(tmp):\n"
        "    Path(tmp).write_text('{\"v\": \"ne')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic_write(Path({str(target)!r}), write)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()
    assert target.read_text() == '{"v": "old"}'
    left = [p.name for p in tmp_path.iterdir() if p.name != "data.json"]
    assert all(n.startswith(".data.json.") and n.endswith(".tmp") for n in left), left
