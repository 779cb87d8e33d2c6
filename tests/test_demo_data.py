"""`levasa demo --data DIR`: a folder of real faces (labels.csv or a folder per emotion) to a served run, in one
command: VA transferred where missing (kept where given), the real-face recipe trained, exported."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from models import runs as ck


def _rows(synth_dir: Path, n: int) -> list[dict]:
    with open(synth_dir / "labels.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["emotion"] in ("happy", "sad", "surprise")][:n]


@pytest.fixture
def class_folders(synth_dir, tmp_path) -> Path:
    """90 faces as SRC/<emotion>/<image>, no VA anywhere."""
    src = tmp_path / "my faces"
    for r in _rows(synth_dir, 90):
        (src / r["emotion"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(synth_dir / r["file"], src / r["emotion"] / Path(r["file"]).name)
    return src


def test_demo_data_makes_a_served_run_from_a_folder_per_emotion(class_folders, tmp_path, monkeypatch, capsys):
    from models.data.labels import read_labels
    from scripts import demo

    monkeypatch.chdir(tmp_path)
    assert demo.main(["--data", str(class_folders), "--min-images", "1200"]) == 0
    table = read_labels(tmp_path / "data" / "my-faces_va", require_va=True)  # every row has VA now
    assert len(table) == 90 and set(table.emotions) == {"happy", "sad", "surprise"}
    happy = table.va[[e == "happy" for e in table.emotions]]
    assert (happy[:, 0] > 0).all(), "transferred VA lies inside happy's ellipse"
    run = tmp_path / "runs" / "my-faces-levasa"
    train = ck.read_json(run / ck.CONFIG)["train"]
    assert train["epochs"] == 15, "81 training faces: 15 epochs to see 1,200 images"
    assert train["split_column"] == "", "no column names the person: the held-out rows are drawn with the seed"
    assert all((run / f).is_file() for f in (ck.SUMMARY, *ck.SERVING_FILES))
    out = capsys.readouterr().out
    assert "a folder per emotion" in out and "15 epochs" in out
    from models.data.synthetic import is_synthetic

    assert not is_synthetic(tmp_path / "data" / "my-faces_va"), "real faces: the page gives no synthetic warning"
    assert demo.main(["--data", str(class_folders), "--min-images", "1200"]) == 0
    out = capsys.readouterr().out
    assert "is ready" in out and "exists with this recipe" in out, "a second call reuses the data and the run"
    next((class_folders / "happy").iterdir()).unlink()  # the folder changed: its data and run are made again
    assert demo.main(["--data", str(class_folders), "--min-images", "1200"]) == 0
    assert len(read_labels(tmp_path / "data" / "my-faces_va")) == 89
    assert "== training runs/my-faces-levasa" in capsys.readouterr().out, "a run of the old folder is not served"


def test_demo_data_keeps_the_va_a_labels_csv_gives(synth_dir, tmp_path):
    from models.data.labels import read_labels
    from models.data.realfaces import prepare_real_faces

    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    rows = _rows(synth_dir, 12)
    with open(src / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "emotion", "valence", "arousal"])
        w.writeheader()
        for i, r in enumerate(rows):
            name = Path(r["file"]).name
            shutil.copy(synth_dir / r["file"], src / "images" / name)  # files relative to SRC/images
            given = i % 2 == 0
            w.writerow({"file": name, "emotion": r["emotion"], "valence": r["valence"] if given else "",
                        "arousal": r["arousal"] if given else ""})
    table = read_labels(prepare_real_faces(src, tmp_path / "out", log=lambda s: None), require_va=True)
    for i, r in enumerate(rows):
        if i % 2 == 0:
            assert table.va[i] == pytest.approx([float(r["valence"]), float(r["arousal"])], abs=1e-6)


def test_demo_data_splits_by_the_person_when_a_column_names_them(synth_dir, tmp_path, monkeypatch):
    from scripts import demo

    src = tmp_path / "people"
    (src / "images").mkdir(parents=True)
    rows = _rows(synth_dir, 120)
    with open(src / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "emotion", "identity"])
        w.writeheader()
        for r in rows:
            shutil.copy(synth_dir / r["file"], src / "images" / Path(r["file"]).name)
            w.writerow({"file": Path(r["file"]).name, "emotion": r["emotion"], "identity": r["identity"]})
    monkeypatch.chdir(tmp_path)
    assert demo.main(["--data", str(src), "--min-images", "100"]) == 0
    run = tmp_path / "runs" / "people-levasa"
    assert ck.read_json(run / ck.CONFIG)["train"]["split_column"] == "identity"
    with open(run / ck.SPLIT, newline="") as f:
        split = {r["file"]: r["split"] for r in csv.DictReader(f)}
    by_file = {Path(r["file"]).name: r["identity"] for r in rows}
    sides = {}
    for file, side in split.items():
        sides.setdefault(by_file[Path(file).name], set()).add(side)
    assert all(len(s) == 1 for s in sides.values()), "no person on both sides of the split"


@pytest.mark.parametrize(("make", "says"), [
    (lambda d: None, "is not a folder"),
    (lambda d: d.mkdir(), "no class folders"),
    (lambda d: (d.mkdir(), (d / "labels.csv").write_text("name,label\na.png,happy\n")), "file and emotion"),
])
def test_demo_data_refuses_a_folder_it_cannot_read(tmp_path, monkeypatch, capsys, make, says):
    from scripts import demo

    monkeypatch.chdir(tmp_path)
    make(tmp_path / "faces")
    assert demo.main(["--data", str(tmp_path / "faces")]) == 2
    assert says in capsys.readouterr().err
