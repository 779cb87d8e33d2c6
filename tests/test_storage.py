"""Storage that scales: .npz arrays memory-mapped in place, thumbnails stored once per dataset and memory-mapped, and
what the server makes of a store that is missing, damaged or named by a path."""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from models.io import load_npz, save_npz
from models.runs import LEGACY_THUMBS, THUMB_STORES, THUMBS


def test_load_npz_maps_uncompressed_members_and_reads_the_rest(tmp_path):
    arrays = {"mu": np.random.default_rng(0).random((3000, 24), dtype=np.float32),
              "files": np.array([f"face_{i}.png" for i in range(3000)]), "key": np.array("abc"), "tiny": np.arange(4)}
    save_npz(tmp_path / "a.npz", **arrays)
    got = load_npz(tmp_path / "a.npz")
    assert set(got) == set(arrays) and all(np.array_equal(got[k], arrays[k]) for k in arrays)
    assert isinstance(got["mu"], np.memmap) and isinstance(got["files"], np.memmap)  # large members: mapped
    assert not isinstance(got["tiny"], np.memmap)  # small ones: read whole
    assert not got["mu"].flags.writeable  # a shared read-only map, never written through
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    comp = load_npz(tmp_path / "c.npz")
    assert not isinstance(comp["mu"], np.memmap) and np.array_equal(comp["mu"], arrays["mu"])


def test_load_npz_refuses_an_object_array(tmp_path):
    np.savez(tmp_path / "o.npz", big=np.array([{"a": i} for i in range(20000)], dtype=object))
    with pytest.raises(ValueError, match="object"):
        load_npz(tmp_path / "o.npz")


def test_load_npz_on_a_damaged_file_raises(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises((OSError, zipfile.BadZipFile)):
        load_npz(tmp_path / "d.npz")


def _export(run_dir):
    from models.eval.export import prepare_serving
    from models.runs import load_run

    return prepare_serving(load_run(run_dir), max_points=30000)


@pytest.fixture(scope="module")
def two_runs(tiny_run, tmp_path_factory):
    """Two runs of one dataset, both exported into one runs folder."""
    root = tmp_path_factory.mktemp("shared")
    for name in ("a", "b"):
        shutil.copytree(tiny_run, root / name)
        _export(root / name)
    return root


def test_two_runs_of_one_dataset_share_one_thumbnail_store(two_runs, synth_dir):
    from models.data.images import load_images
    from models.data.labels import read_labels

    ptrs = [json.loads((two_runs / r / THUMBS).read_text()) for r in ("a", "b")]
    stores = list((two_runs / THUMB_STORES).iterdir())
    assert ptrs[0] == ptrs[1] and len(stores) == 1 and stores[0].name == ptrs[0]["store"]
    assert not (two_runs / "a" / LEGACY_THUMBS).exists()
    images = load_images(read_labels(synth_dir), progress=False)
    offsets = np.load(stores[0] / "offsets.npy")
    data = np.load(stores[0] / "data.npy")
    assert len(offsets) == len(images) + 1 == ptrs[0]["n"] + 1
    face = np.asarray(Image.open(io.BytesIO(data[offsets[7]:offsets[8]].tobytes())).convert("RGB"))
    assert np.abs(face.astype(int) - images[7].transpose(1, 2, 0)).mean() < 6  # face 7 is row 7's face (JPEG q90)


def test_the_server_maps_latents_projections_and_thumbnails(two_runs, monkeypatch):
    import models.io
    from backend.store import load_stored

    monkeypatch.setattr(models.io, "MMAP_MIN_BYTES", 0)  # the fixture's arrays are small: map them all the same
    st = load_stored(two_runs / "a", torch.device("cpu"))
    assert st.ready and not st.missing, st.missing
    assert isinstance(st.thumbs.data, np.memmap) and isinstance(st.thumbs.offsets, np.memmap)
    assert isinstance(st.latents["mu"], np.memmap) and isinstance(st.projections["pca_z"], np.memmap)
    assert st.thumbs.jpeg(3)[:2] == b"\xff\xd8"  # a JPEG's start-of-image marker


def test_a_run_exported_before_the_stores_still_serves_its_own_thumbnails(two_runs, tmp_path):
    from backend.store import load_stored
    from models.thumbstore import open_store

    run = tmp_path / "runs" / "old"
    shutil.copytree(two_runs / "a", run)  # without the runs folder's store: only the legacy file can serve
    th = open_store(two_runs / "a")
    save_npz(run / LEGACY_THUMBS, data=np.asarray(th.data), offsets=np.asarray(th.offsets))
    (run / THUMBS).unlink()
    st = load_stored(run, torch.device("cpu"))
    assert st.thumbs is not None and st.thumbs.jpeg(5) == th.jpeg(5) and not st.missing


@pytest.mark.parametrize("pointer, message", [
    ({"store": "../../etc", "n": 320}, "not a hash"),
    ({"store": "0123456789abcdef", "n": 320}, "unreadable"),
    ({"store": 5}, "must hold"),
])
def test_a_bad_thumbs_pointer_degrades_the_run_and_says_why(two_runs, tmp_path, pointer, message):
    from backend.store import load_stored

    run = tmp_path / "runs" / "bad"
    shutil.copytree(two_runs / "a", run)
    (run / THUMBS).write_text(json.dumps(pointer))
    st = load_stored(run, torch.device("cpu"))
    assert st.ready and st.thumbs is None
    assert any(m.startswith(THUMBS) and message in m for m in st.missing), st.missing


def test_a_store_that_disagrees_with_the_pointer_is_refused(two_runs, tmp_path):
    from models.io import RunError
    from models.thumbstore import open_store

    runs = tmp_path / "runs"
    shutil.copytree(two_runs, runs)
    ptr = json.loads((runs / "a" / THUMBS).read_text())
    (runs / "a" / THUMBS).write_text(json.dumps({**ptr, "n": ptr["n"] + 1}))
    with pytest.raises(RunError, match="holds 320 faces"):
        open_store(runs / "a")
