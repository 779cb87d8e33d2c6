"""Dataset readers, each on a tiny fixture the test builds in that dataset's own layout (no real images committed)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from models.data.images import load_images
from models.data.labels import read_labels
from models.data.readers import (
    ReaderError,
    read_afew_va,
    read_affectnet_csv,
    read_affectnet_npy,
    read_folders,
    read_imfdb,
    va_labels,
    write_dataset,
)
from tests.conftest import ROOT


def _img(path, size=(80, 80), box=None, colour=(200, 30, 30)):
    """A grey image with a coloured square where the face is (box = x, y, w, h)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    a = np.full((size[1], size[0], 3), 90, np.uint8)
    if box:
        x, y, w, h = box
        a[y : y + h, x : x + w] = colour
    Image.fromarray(a).save(path)
    return path


AFFECTNET_HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
                    "expression", "valence", "arousal"]


@pytest.fixture
def affectnet(tmp_path):
    imgs = tmp_path / "Manually_Annotated_Images"
    rows = [
        ["1/a.jpg", 10, 20, 40, 40, "1;2", 1, 0.8, 0.1],     # happy, kept, box cropped
        ["1/b.png", 0, 0, 80, 80, "", 6, -0.5, 0.6],         # anger
        ["2/c.png", 5, 5, 30, 30, "", 7, -0.3, 0.2],         # contempt: kept (code 7)
        ["2/d.png", 5, 5, 30, 30, "", 8, -2, -2],            # none: dropped
        ["2/e.png", 5, 5, 30, 30, "", 9, -2, -2],            # uncertain: dropped
        ["2/f.png", 5, 5, 30, 30, "", 10, -2, -2],           # no face: dropped
        ["3/missing.png", 0, 0, 10, 10, "", 2, -0.6, -0.3],  # image missing
        ["3/g.png", 0, 0, 80, 80, "", 0, -2, -2],            # neutral without VA: kept, counted
    ]
    for r in rows:
        if "missing" not in r[0]:
            _img(imgs / r[0], box=(r[1], r[2], r[3], r[4]))
    lst = tmp_path / "training.csv"
    with open(lst, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(AFFECTNET_HEADER)
        w.writerows(rows)
    return lst, imgs


def test_affectnet_csv_keeps_0_to_7_drops_8_to_10_and_counts_why(affectnet, tmp_path):
    lst, imgs = affectnet
    imp = read_affectnet_csv(lst, imgs)
    assert [r["emotion"] for r in imp.rows] == ["happy", "anger", "contempt", "neutral"]
    assert imp.skipped == {"expression 8 (none)": 1, "expression 9 (uncertain)": 1, "expression 10 (no face)": 1,
                           "image file missing": 1}
    assert imp.notes == {"without VA (valence/arousal -2)": 1}
    assert imp.rows[0]["valence"] == "0.8" and imp.rows[3]["valence"] == ""
    assert "skipped       1  expression 9 (uncertain)" in imp.report()

    # Written out, the dataset loads with the face box cropped: the happy face is all red after the crop.
    out = tmp_path / "ds"
    write_dataset(imp, out)
    table = read_labels(out)
    assert table.columns["face_x"][0] == "10" and len(table) == 4
    px = load_images(table, cache=False, progress=False)
    assert px.shape == (4, 3, 64, 64)
    assert px[0, 0].mean() > 190 and px[0, 1].mean() < 40  # red square filled the crop
    meta = json.loads((out / "import.json").read_text())
    assert meta["rows"] == 4 and meta["with_va"] == 3 and meta["skipped"]["image file missing"] == 1


def test_affectnet_csv_without_its_columns_is_refused(tmp_path):
    bad = tmp_path / "list.csv"
    bad.write_text("file,label\na.png,1\n")
    with pytest.raises(ReaderError, match="subDirectory_filePath"):
        read_affectnet_csv(bad, tmp_path)


def test_affectnet_per_image_annotations_as_numbers_or_strings(tmp_path):
    root = tmp_path / "train_set"
    (root / "annotations").mkdir(parents=True)
    for n, (exp, v, a, as_str) in enumerate([(3, 0.2, 0.7, True), (4, -0.1, 0.8, False), (9, 0, 0, True)]):
        _img(root / "images" / f"{n}.jpg")
        for k, x in (("exp", exp), ("val", v), ("aro", a)):
            np.save(root / "annotations" / f"{n}_{k}.npy", np.array(str(x) if as_str else x))
    _img(root / "images" / "7.jpg")  # no annotations
    imp = read_affectnet_npy(root)
    assert [(r["emotion"], r["valence"], r["arousal"]) for r in imp.rows] == [("surprise", "0.2", "0.7"),
                                                                              ("fear", "-0.1", "0.8")]
    assert imp.skipped == {"expression 9 (uncertain)": 1, "annotation file missing": 1}


def test_afew_va_scales_to_unit_range_boxes_from_landmarks_and_names_the_nearest_ellipse(tmp_path):
    root = tmp_path / "AFEW-VA"
    lm = [[20, 30], [50, 30], [35, 60]]  # bounding box 30 x 30 at (20, 30)
    frames = {"00000": {"valence": 7, "arousal": 1, "landmarks": lm},      # happy region
              "00001": {"valence": -6, "arousal": -3, "landmarks": lm},    # sad region
              "00002": {"valence": 12, "arousal": 0, "landmarks": lm},     # out of range
              "00003": {"arousal": 2, "landmarks": lm}}                    # no valence
    for fid in ["00000", "00001", "00002", "00003"]:
        _img(root / "001" / f"{fid}.png")
    (root / "001" / "001.json").write_text(json.dumps({"actor": "x", "video_id": "001", "frames": frames}))
    (root / "002").mkdir()
    (root / "002" / "002.json").write_text("{not json")
    imp = read_afew_va(root)
    assert [(r["frame"], r["valence"], r["arousal"], r["emotion"]) for r in imp.rows] == [
        ("00000", "0.7", "0.1", "happy"), ("00001", "-0.6", "-0.3", "sad")]
    assert imp.rows[0]["emotion_source"] == "nearest ellipse"
    side = 30 * 1.4
    assert int(imp.rows[0]["face_width"]) == round(side) and int(imp.rows[0]["face_x"]) == round(35 - side / 2)
    assert imp.skipped == {"valence/arousal outside -10..10": 1, "frame without valence/arousal": 1,
                           "annotation JSON unreadable or without 'frames'": 1}


def test_imfdb_finds_image_and_emotion_columns_and_the_actor(tmp_path):
    movie = tmp_path / "IMFDB" / "AamirKhan" / "Ghajini"
    for f in ("img_1.jpg", "img_2.jpg", "img_3.jpg"):
        _img(movie / "images" / f)
    (movie / "Ghajini.txt").write_text(
        "1\tGhajini\tAamirKhan\timg_1.jpg\tANGER\tHIGH\tFRONTAL\tNONE\tMIDDLE\tNONE\tMALE\n"
        "2\tGhajini\tAamirKhan\timg_2.jpg\tHAPPINESS\tMEDIUM\tLEFT\tNONE\tMIDDLE\tNONE\tMALE\n"
        "3\tGhajini\tAamirKhan\timg_3.jpg\tBLURRED\tLOW\tRIGHT\tNONE\tMIDDLE\tNONE\tMALE\n"
        "4\tGhajini\tAamirKhan\timg_9.jpg\tSADNESS\tLOW\tRIGHT\tNONE\tMIDDLE\tNONE\tMALE\n")
    imp = read_imfdb(tmp_path / "IMFDB")
    assert [(r["emotion"], r["subject"], r["movie"]) for r in imp.rows] == [("anger", "AamirKhan", "Ghajini"),
                                                                             ("happy", "AamirKhan", "Ghajini")]
    assert imp.skipped == {"no emotion word on the line": 1, "no image named on the line (or the image is missing)": 1}


def test_folder_per_class_with_subjects_and_unknown_folders_counted(tmp_path):
    root = tmp_path / "CK+48"
    _img(root / "happy" / "S010_006_00000013.png")
    _img(root / "sadness" / "S011_002_00000020.png")
    _img(root / "misc" / "S012_001_00000001.png")
    (root / "sadness" / "readme.md").write_text("x")
    imp = read_folders(root, r"^(S\d+)_")
    assert [(r["emotion"], r["subject"]) for r in imp.rows] == [("happy", "S010"), ("sad", "S011")]
    assert imp.skipped["not an image file"] == 1 and sum(imp.skipped.values()) == 2
    assert any("misc" in k for k in imp.skipped)


def test_va_labels_reads_affectnet_lists_and_our_csvs(affectnet, tmp_path):
    lst, _ = affectnet
    emotions, va = va_labels(lst)
    # 8-10 and -2 left out; the row whose image is missing counts (statistics need no images)
    assert emotions == ["happy", "anger", "contempt", "sad"] and va.shape == (4, 2)
    ours = tmp_path / "labels.csv"
    ours.write_text("file,emotion,valence,arousal\na.png,sad,-0.5,-0.2\nb.png,happy,,\n")
    assert va_labels(ours)[0] == ["sad"]


def test_import_script_writes_a_trainable_dataset_and_refuses_bad_input(tmp_path, affectnet):
    lst, imgs = affectnet
    out = tmp_path / "ds"
    r = subprocess.run([sys.executable, "-m", "scripts.import_dataset", "affectnet", str(lst), "--images", str(imgs),
                        "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "4 rows kept, 4 skipped" in r.stdout and (out / "labels.csv").is_file()
    r = subprocess.run([sys.executable, "-m", "scripts.import_dataset", "afew-va", str(tmp_path / "nope"), "--out",
                        str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "not found" in r.stderr
    r = subprocess.run([sys.executable, "-m", "scripts.import_dataset", "folders", str(imgs), "--subject-regex",
                        "S\\d+", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "one (group)" in r.stderr
