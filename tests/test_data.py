"""The folder + labels.csv reader, the cached tensor store and the splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.data import images as images_mod
from models.data.images import load_images
from models.data.labels import DatasetError, read_labels
from models.data.splits import make_split, read_split, write_split


def _dataset(tmp_path, rows, header="file,emotion,valence,arousal", make_images=True):
    for row in rows:
        name = row.split(",")[0]
        if make_images:
            Image.new("RGB", (64, 64), (10, 200, 30)).save(tmp_path / name)
    (tmp_path / "labels.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    return tmp_path


def test_reads_names_codes_and_va(tmp_path):
    _dataset(tmp_path, ["a.png,happy,0.5,0.1", "b.png,6,-0.4,0.6", "c.png,Angry,-0.5,0.5"])
    t = read_labels(tmp_path, require_va=True)
    assert t.files == ["a.png", "b.png", "c.png"] and t.emotions == ["happy", "anger", "anger"]
    assert np.allclose(t.va, [[0.5, 0.1], [-0.4, 0.6], [-0.5, 0.5]])
    assert t.has_va and t.emotion_codes().tolist() == [1, 6, 6]


def test_missing_csv_and_missing_columns_are_named(tmp_path):
    with pytest.raises(DatasetError, match="no labels.csv in"):
        read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("file,emotion\na.png,happy\n")
    with pytest.raises(DatasetError, match="missing column.*valence, arousal.*found file, emotion"):
        read_labels(tmp_path, require_va=True)


def test_unknown_emotion_names_the_row(tmp_path):
    _dataset(tmp_path, ["a.png,happy,0,0", "b.png,bored,0,0"])
    with pytest.raises(DatasetError, match=r"row 2 \(file 'b.png'\): unknown emotion 'bored'; known: neutral"):
        read_labels(tmp_path)


def test_va_out_of_range_or_not_numbers_names_the_row(tmp_path):
    _dataset(tmp_path, ["a.png,happy,1.5,0"])
    with pytest.raises(DatasetError, match=r"row 1 .*outside \[-1, 1\]"):
        read_labels(tmp_path)
    _dataset(tmp_path, ["a.png,happy,high,0"])
    with pytest.raises(DatasetError, match=r"row 1 .*not numbers"):
        read_labels(tmp_path)


def test_missing_and_corrupt_images_name_the_row(tmp_path):
    _dataset(tmp_path, ["a.png,happy,0,0", "b.png,sad,0,0"])
    (tmp_path / "b.png").unlink()
    with pytest.raises(DatasetError, match=r"row 2 \(file 'b.png'\): image file .*b.png not found"):
        load_images(read_labels(tmp_path), cache=False, progress=False)
    full = (tmp_path / "a.png").read_bytes()
    (tmp_path / "b.png").write_bytes(full[: len(full) // 2])  # truncated PNG
    with pytest.raises(DatasetError, match=r"row 2 \(file 'b.png'\): cannot decode image"):
        load_images(read_labels(tmp_path), cache=False, progress=False)


def test_grayscale_and_other_sizes_become_3x64x64(tmp_path):
    Image.new("L", (48, 48), 128).save(tmp_path / "g.jpg")
    Image.new("RGBA", (100, 80), (255, 0, 0, 128)).save(tmp_path / "r.png")
    (tmp_path / "labels.csv").write_text("file,emotion\ng.jpg,sad\nr.png,happy\n")
    arr = load_images(read_labels(tmp_path), cache=False, progress=False)
    assert arr.shape == (2, 3, 64, 64) and arr.dtype == np.uint8
    assert (arr[0, 0] == arr[0, 1]).all() and abs(int(arr[0].mean()) - 128) <= 2
    assert arr[1, 0].mean() > 250 and arr[1, 1].max() < 5


def test_cache_means_no_decoding_after_the_first_load(tmp_path, monkeypatch):
    _dataset(tmp_path, ["a.png,happy,0,0", "b.png,sad,0,0"])
    first = load_images(read_labels(tmp_path), progress=False)
    monkeypatch.setattr(images_mod, "decode_image", lambda *a: pytest.fail("decoded an image despite the cache"))
    second = load_images(read_labels(tmp_path), progress=False)
    assert (first == second).all()
    Image.new("RGB", (64, 64), (0, 0, 0)).save(tmp_path / "a.png")  # a changed file invalidates the cache
    monkeypatch.undo()
    third = load_images(read_labels(tmp_path), progress=False)
    assert third[0].max() == 0


def test_the_cache_is_memory_mapped_and_a_write_never_reaches_it(tmp_path):
    _dataset(tmp_path, ["a.png,happy,0,0", "b.png,sad,0,0"])
    first = load_images(read_labels(tmp_path), progress=False)
    assert isinstance(first, np.memmap) and str(first.filename).endswith(".npy")  # decoded straight into the cache file
    assert [p.name for p in (tmp_path / ".cache").iterdir()] == [Path(first.filename).name]  # no temporary left
    kept = np.array(first)
    first[:] = 7  # copy-on-write: this process's pages only
    again = load_images(read_labels(tmp_path), progress=False)
    assert isinstance(again, np.memmap) and (np.asarray(again) == kept).all()
    assert torch.from_numpy(again).shape == (2, 3, 64, 64)  # a writable map: torch takes it without a copy


def test_split_drawn_with_seed_is_deterministic(tmp_path):
    _dataset(tmp_path, [f"{i}.png,happy,0,0" for i in range(200)], make_images=False)
    t = read_labels(tmp_path)
    a, b, c = make_split(t, seed=1), make_split(t, seed=1), make_split(t, seed=2)
    assert (a == b).all() and not (a == c).all() and (a == "val").sum() == 20


def test_split_column_with_split_names_is_used_as_given(tmp_path):
    rows = ["a.png,happy,Training", "b.png,happy,PublicTest", "c.png,happy,PrivateTest"]
    _dataset(tmp_path, rows, header="file,emotion,split", make_images=False)
    assert make_split(read_labels(tmp_path), "split").tolist() == ["train", "val", "test"]


def test_group_column_keeps_each_subject_on_one_side(tmp_path):
    rows = [f"{i}.png,happy,S{i % 20}" for i in range(200)]
    _dataset(tmp_path, rows, header="file,emotion,subject", make_images=False)
    t = read_labels(tmp_path)
    split = make_split(t, "subject", val_fraction=0.25, seed=0)
    subj = np.array(t.columns["subject"])
    assert set(subj[split == "val"]).isdisjoint(subj[split == "train"])
    assert len(set(subj[split == "val"])) == 5
    with pytest.raises(DatasetError, match="split column 'person' not in"):
        make_split(t, "person")


def test_saved_split_round_trips_and_detects_a_changed_dataset(tmp_path):
    _dataset(tmp_path, [f"{i}.png,happy,0,0" for i in range(10)], make_images=False)
    t = read_labels(tmp_path)
    split = make_split(t, seed=0)
    write_split(tmp_path / "split.csv", t, split)
    assert (read_split(tmp_path / "split.csv", t) == split).all()
    t.files[0] = "other.png"
    with pytest.raises(DatasetError, match="dataset changed"):
        read_split(tmp_path / "split.csv", t)
