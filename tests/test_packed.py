"""The packed image store (models/data/packed.py): the generator writes one faces.npy instead of a PNG a face, the
dataset reader and the image cache read it, and a run trains and exports from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.data.images import load_images
from models.data.labels import DatasetError, read_labels
from models.data.synthetic import generate, generate_arrays
from scripts.bench.serve import ROOT


@pytest.fixture(scope="module")
def packed_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("packed")
    generate(out, n=320, seed=1, n_identities=24, progress=False, packed=True)
    return out


def test_packed_store_holds_the_generators_faces_and_labels(packed_dir, synth_dir):
    table = read_labels(packed_dir)
    assert table.files[:3] == ["faces.npy#0", "faces.npy#1", "faces.npy#2"]
    assert not (packed_dir / "images").exists(), "no file a face"
    faces, _, va, _ = generate_arrays(320, seed=1, n_identities=24)
    store = np.load(packed_dir / "faces.npy")
    assert store.shape == (320, 3, 64, 64) and np.array_equal(store, faces.transpose(0, 3, 1, 2))
    pngs = read_labels(synth_dir)  # the same seed written as PNGs (conftest): the same labels row for row
    assert pngs.emotions == table.emotions and np.allclose(pngs.va, table.va) and np.allclose(table.va, va, atol=1e-6)


def test_a_packed_dataset_is_its_own_cache(packed_dir):
    table = read_labels(packed_dir)
    images = load_images(table, progress=False)
    assert isinstance(images, np.memmap) and Path(images.filename).resolve() == (packed_dir / "faces.npy").resolve()
    assert not (packed_dir / ".cache").exists(), "nothing decoded, nothing copied"
    images[0] = 0  # copy-on-write: the store on disk keeps its face
    assert np.load(packed_dir / "faces.npy", mmap_mode="r")[0].any()


def test_rows_out_of_order_are_read_through_the_cache(packed_dir, tmp_path):
    src = (packed_dir / "labels.csv").read_text().splitlines()
    (tmp_path / "faces.npy").symlink_to(packed_dir / "faces.npy")
    (tmp_path / "labels.csv").write_text("\n".join([src[0], *src[1:][::-1][:50]]) + "\n")  # 50 rows, reversed
    table = read_labels(tmp_path)
    images = load_images(table, progress=False)
    store = np.load(packed_dir / "faces.npy")
    assert images.shape == (50, 3, 64, 64) and np.array_equal(images, store[::-1][:50])
    assert any((tmp_path / ".cache").glob("images-*.npy"))


def test_a_bad_reference_or_store_says_what_is_wrong(packed_dir, tmp_path):
    (tmp_path / "faces.npy").symlink_to(packed_dir / "faces.npy")
    (tmp_path / "labels.csv").write_text("file,emotion\nfaces.npy#5,happy\nfaces.npy#320,sad\n")
    with pytest.raises(DatasetError, match=r"row 2 .*faces\.npy#320.*has 320 faces \(rows 0-319\)"):
        load_images(read_labels(tmp_path), cache=False, progress=False)
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "faces.npy", np.zeros((4, 64, 64, 3), np.uint8))  # channels last: not the store's layout
    (bad / "labels.csv").write_text("file,emotion\n" + "".join(f"faces.npy#{i},happy\n" for i in range(4)))
    with pytest.raises(DatasetError, match=r"uint8 faces \(N, 3, 64, 64\), found uint8 \(4, 64, 64, 3\)"):
        load_images(read_labels(bad), progress=False)


def test_a_run_trains_and_exports_from_a_packed_dataset(packed_dir, tmp_path):
    from models.config import ModelConfig, TrainConfig
    from models.eval.export import prepare_serving
    from models.runs import load_run
    from models.thumbstore import open_store
    from models.train.loop import train_run

    run = tmp_path / "packed-run"
    train_run(run, packed_dir, ModelConfig(kind="levasa"), TrainConfig(epochs=1, batch_size=32, seed=0),
              progress=False, log=lambda s: None)
    prepare_serving(load_run(run), max_points=1000)
    lat = np.load(run / "latents.npz")
    assert len(lat["ids"]) == 320 and np.isfinite(lat["mu"]).all()
    thumbs = open_store(run)
    assert len(thumbs) == 320 and thumbs.jpeg(319)[:2] == b"\xff\xd8"  # a thumbnail for every face


def test_synth_command_writes_a_packed_store(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scripts.make_synthetic", "--out", str(tmp_path / "d"), "--n", "40",
                        "--packed", "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "d" / "faces.npy", mmap_mode="r").shape == (40, 3, 64, 64)
    assert "faces/s" in r.stdout
