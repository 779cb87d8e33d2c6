"""A user's photo: colour uploads met in a grayscale run's domain, and edits pasted into the photo (models.domain,
models.paste and the API's output / box fields), with a real run trained on grayscale faces."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from backend.main import create_app
from backend.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
BOX = (40, 24, 128, 128)  # where the test photo's face sits


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def gray_run(synth_dir, tmp_path_factory):
    """A LeVAsa run trained for one short epoch on a grayscale copy of the synthetic fixture."""
    from models.config import ModelConfig, TrainConfig
    from models.train.loop import train_run
    from scripts.bench.photo import gray_copy

    root = tmp_path_factory.mktemp("gray")
    data = gray_copy(synth_dir, root / "synth-gray")
    run = root / "runs" / "gray"
    train_run(run, data, ModelConfig(kind="levasa"), TrainConfig(epochs=1, batch_size=32, seed=0), progress=False,
              log=lambda s: None)
    return run


@pytest.fixture(scope="module")
def client(gray_run, tiny_run, tmp_path_factory):
    from fastapi.testclient import TestClient

    served = tmp_path_factory.mktemp("served-photo")
    shutil.copytree(gray_run, served / "gray")
    shutil.copytree(tiny_run, served / "colour")
    with TestClient(create_app(Settings(runs_dir=served, max_grid=9))) as c:
        yield c


@pytest.fixture(scope="module")
def colour_faces(synth_dir) -> np.ndarray:
    from models.data.images import load_images
    from models.data.labels import read_labels

    return load_images(read_labels(synth_dir), progress=False)[:6].transpose(0, 2, 3, 1).copy()


@pytest.fixture(scope="module")
def photo(colour_faces) -> np.ndarray:
    """A 224 x 176 colour photo: textured surround, a synthetic face upscaled into BOX."""
    rng = np.random.default_rng(0)
    out = rng.integers(0, 256, (176, 224, 3), dtype=np.uint8)
    x, y, w, h = BOX
    out[y : y + h, x : x + w] = np.asarray(Image.fromarray(colour_faces[0]).resize((w, h), Image.Resampling.BICUBIC))
    return out


# --- the domain ---
def test_luma_is_pillows_own_grayscale():
    from models.domain import luma

    rgb = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert np.array_equal(luma(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_color_mode_tells_grayscale_from_colour(colour_faces):
    from models.domain import color_mode, to_domain

    nchw = colour_faces.transpose(0, 3, 1, 2)
    gray, what = to_domain(nchw, "gray", axis=1)
    assert what == "grayscale" and color_mode(gray) == "gray" and color_mode(nchw) == "rgb"
    assert to_domain(gray, "gray", axis=1)[1] == "none", "an image already grayscale is not converted"
    assert to_domain(nchw, "rgb", axis=1)[0] is nchw


def test_training_records_the_colour_mode(gray_run, tiny_run):
    from models.domain import run_color
    from models.runs import load_run

    assert json.loads((gray_run / "config.json").read_text())["dataset"]["color"] == "gray"
    assert load_run(gray_run).color == "gray" and load_run(tiny_run).color == "rgb"
    legacy = json.loads((gray_run / "config.json").read_text())
    del legacy["dataset"]["color"]
    assert run_color(legacy) == "gray", "a run trained before the record is measured from its dataset's files"


def test_colour_upload_reads_as_its_grayscale_copy_on_a_gray_run(client, colour_faces):
    for f in colour_faces[:3]:
        faces = client.post("/api/runs/gray/encode", files=[("files", ("c.png", png(Image.fromarray(f)))),
                                                            ("files", ("g.png", png(Image.fromarray(f).convert("L"))))])
        colour, gray = faces.json()["faces"]
        assert colour["conversion"] == "grayscale" and gray["conversion"] == "none"
        # the same pixels reach the model: equal readings, to float rounding (the two rows share a batch)
        got = np.array([colour["valence"], colour["arousal"], *colour["zz"]])
        want = np.array([gray["valence"], gray["arousal"], *gray["zz"]])
        assert np.allclose(got, want, rtol=0, atol=1e-5), np.abs(got - want).max()
    r = client.post("/api/runs/colour/encode", files=[("files", ("c.png", png(Image.fromarray(colour_faces[0]))))])
    assert r.json()["faces"][0]["conversion"] == "none", "a colour run takes colour as it comes"


def test_reconstruct_and_edit_say_what_was_done_to_the_upload(client, colour_faces):
    img = png(Image.fromarray(colour_faces[0]))
    r = client.post("/api/runs/gray/reconstruct", files={"file": ("c.png", img)})
    assert r.status_code == 200 and r.headers["X-Input-Conversion"] == "grayscale"
    r = client.post("/api/runs/gray/edit/upload", files={"file": ("c.png", img)},
                    data={"valence": "0.5", "arousal": "0.2", "format": "json"})
    assert r.status_code == 200 and r.json()["conversion"] == "grayscale"


def test_fewshot_converts_a_colour_dataset_for_a_gray_run(gray_run, synth_dir, capsys):
    from scripts import fewshot

    assert fewshot.main(["--run", str(gray_run), "--data", str(synth_dir), "--fractions", "0.5"]) == 0
    assert "converted to grayscale" in capsys.readouterr().out


# --- the paste ---
def test_paste_at_the_faces_own_va_returns_the_photo(photo):
    from models.paste import paste_photo

    recon = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(paste_photo(photo, BOX, recon, recon, 0.0), photo), "no change asked, none made"


def test_a_far_paste_takes_the_decodes_coarse_structure_and_keeps_the_photos_detail():
    import cv2

    from models.paste import paste_box

    rng = np.random.default_rng(3)
    photo = np.clip(210 + rng.normal(0, 20, (200, 200, 3)), 0, 255).astype(np.uint8)  # a bright, textured face
    flat = np.full((64, 64, 3), 100, np.uint8)  # the decode: a darker, flat face
    out = paste_box(photo, (0, 0, 200, 200), flat[None], flat, np.array([1.0]))[0].astype(np.float32)
    centre = (slice(80, 120), slice(80, 120))
    blur = lambda a: cv2.GaussianBlur(a.astype(np.float32), (0, 0), 6)  # noqa: E731
    assert abs(float(blur(out)[centre].mean()) - 100) < 5, "the coarse level is the decode's"
    detail = lambda a: a.astype(np.float32) - blur(a)  # noqa: E731
    kept = np.corrcoef(detail(out)[centre].ravel(), detail(photo)[centre].ravel())[0, 1]
    assert kept > 0.95, f"the photo's own fine detail stays (correlation {kept:.3f})"


def test_a_gray_runs_paste_keeps_a_colour_photos_colours():
    from models.paste import paste_box

    rng = np.random.default_rng(4)
    photo = rng.integers(60, 190, (160, 160, 3), dtype=np.uint8)
    gray = lambda v: np.full((64, 64, 3), v, np.uint8)  # noqa: E731  (a gray run decodes gray)
    out = paste_box(photo, (0, 0, 160, 160), gray(150)[None], gray(110), np.array([1.0]), gray=True)[0].astype(int)
    assert np.abs(out - photo).max() > 20, "the face changed"
    chroma = lambda a: a[..., :2].astype(int) - a[..., 1:].astype(int)  # noqa: E731  (R - G, G - B)
    assert np.abs(chroma(out) - chroma(photo)).max() <= 1, "every channel moved alike: the colours stay"


def test_face_mask_is_zero_on_the_box_border_and_one_at_its_centre():
    from models.paste import face_mask

    m = face_mask(96, 80)
    assert m[48, 40] == 1.0
    assert max(m[0].max(), m[-1].max(), m[:, 0].max(), m[:, -1].max()) == 0.0


def test_edit_photo_changes_only_the_face_box(client, photo):
    img = png(Image.fromarray(photo))
    box = ",".join(map(str, BOX))
    r = client.post("/api/runs/colour/edit/upload", files={"file": ("p.png", img)},
                    data={"valence": "-0.8", "arousal": "0.6", "output": "photo", "box": box})
    assert r.status_code == 200 and r.headers["X-Face-Box"] == box and r.headers["X-Face-Crop"] == "given"
    out = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    assert out.shape == photo.shape
    x, y, w, h = BOX
    outside = np.ones(photo.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(out[outside], photo[outside]), "nothing outside the face box may change"
    assert np.abs(out.astype(int) - photo)[~outside].max() > 10, "the face itself changed"
    r = client.post("/api/runs/colour/edit/upload", files={"file": ("p.png", img)},
                    data={"valence": "-0.8", "arousal": "0.6", "output": "box", "box": box})
    part = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    assert np.array_equal(part, out[y : y + h, x : x + w]), "output=box is the photo's face box"


def test_edit_grid_of_pasted_boxes(client, photo):
    import base64

    box = (30, 10, 150, 150)
    body = {"image": base64.b64encode(png(Image.fromarray(photo))).decode(), "box": ",".join(map(str, box)),
            "n": 3, "output": "box", "format": "json"}
    r = client.post("/api/runs/colour/edit-grid", json=body)
    assert r.status_code == 200
    layout = r.json()["layout"]
    assert layout["box"] == dict(zip(("x", "y", "width", "height"), box))
    assert layout["tile"] == 128, "a 150 px box previews in tiles of at most 128 px"
    sprite = Image.open(io.BytesIO(base64.b64decode(r.json()["image"])))
    assert sprite.size == (3 * 128, 3 * 128)
    r = client.post("/api/runs/colour/edit-grid", json={**body, "format": "png"})  # the page's form of it
    assert r.status_code == 200 and r.headers["X-Face-Box"] == "30,10,150,150"
    assert json.loads(r.headers["X-Grid-Layout"])["box"] == layout["box"]
    assert Image.open(io.BytesIO(r.content)).size == sprite.size


@pytest.mark.parametrize(("data", "status", "says"), [
    ({"output": "photo", "box": "1,2,3"}, 422, "box must be four integers"),
    ({"output": "photo", "box": "200,100,128,128"}, 422, "must lie inside the 224 x 176 image"),
    ({"output": "poster"}, 422, "output"),
])
def test_edit_upload_refuses_bad_paste_fields(client, photo, data, status, says):
    r = client.post("/api/runs/colour/edit/upload", files={"file": ("p.png", png(Image.fromarray(photo)))},
                    data={"valence": "0.1", "arousal": "0.1", **data})
    assert r.status_code == status and says in r.text, r.text


def test_photo_output_needs_an_image_source(client):
    r = client.post("/api/runs/colour/edit", json={"sample": 0, "valence": 0.2, "arousal": 0.1, "output": "photo"})
    assert r.status_code == 422 and "send the face as image" in r.text, r.text
    r = client.post("/api/runs/colour/edit", json={"sample": 0, "valence": 0.2, "arousal": 0.1, "box": "0,0,9,9"})
    assert r.status_code == 422 and "apply to an image source" in r.text, r.text


@pytest.mark.parametrize("box", ["1,2,3", "+1,0,20,20", " 1,0,20,20", "1_0,0,20,20"])
def test_json_and_multipart_refuse_a_bad_box_alike(client, photo, box):
    import base64

    img = png(Image.fromarray(photo))
    r = client.post("/api/runs/colour/edit", json={"image": base64.b64encode(img).decode(), "box": box,
                                                   "valence": 0.1, "arousal": 0.1})
    assert r.status_code == 422 and "box must be four integers" in r.text, r.text
    r = client.post("/api/runs/colour/edit/upload", files={"file": ("p.png", img)},
                    data={"valence": "0.1", "arousal": "0.1", "box": box})
    assert r.status_code == 422 and "box must be four integers" in r.text, r.text
