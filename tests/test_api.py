"""The REST API in-process (FastAPI's TestClient): every endpoint, and every kind of bad input the issue names."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.main import create_app
from backend.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="session")
def client(runs_dir):
    from fastapi.testclient import TestClient

    settings = Settings(runs_dir=runs_dir, max_batch=8, max_upload_bytes=200_000, max_request_bytes=2_000_000,
                        max_image_pixels=4_000_000, max_grid=9)
    with TestClient(create_app(settings)) as c:
        yield c


def png(arr: np.ndarray, mode: str | None = None, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="session")
def faces(runs_dir):
    """The tiny run's first 4 dataset faces (64 x 64 RGB uint8) as the thumbnails' source: the dataset images."""
    from models.data.images import load_images
    from models.data.labels import read_labels
    from models.runs import load_run

    run = load_run(runs_dir / "tiny")
    table = read_labels(run.config["dataset"]["root"], require_va=True)
    return load_images(table)[:4].transpose(0, 2, 3, 1).copy()


def files(*blobs: bytes):
    return [("files", (f"f{i}.png", b, "image/png")) for i, b in enumerate(blobs)]


def latent_of(client, img: bytes) -> list[float]:
    f = client.post("/api/runs/tiny/encode", files=files(img)).json()["faces"][0]
    return f["zv"] + f["za"] + f["zz"]


# --- health, runs ---
def test_ready_names_broken_runs_and_serves_the_rest(client):
    r = client.get("/api/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["ready"] is True and body["device"] == "cpu"
    status = {x["name"]: x for x in body["runs"]}
    assert status["tiny"]["status"] == "ready" and status["tiny"]["missing"] == []
    assert status["truncated"]["status"] == "error" and "model.safetensors" in status["truncated"]["error"]
    assert status["badconfig"]["status"] == "error" and "config.json" in status["badconfig"]["error"]
    assert client.get("/api/health").json() == {"status": "ok"}


def test_runs_list_and_detail(client):
    runs = {r["name"]: r for r in client.get("/api/runs").json()}
    assert runs["tiny"]["kind"] == "levasa" and runs["tiny"]["latent"] == {"zv": 32, "za": 32, "zz": 32, "total": 96}
    assert runs["tiny"]["n_samples"] == 320
    assert runs["tiny"]["synthetic"] is True, "trained on the generator's faces, and the page must say so to a photo"
    d = client.get("/api/runs/tiny").json()
    assert d["config"]["model"]["kind"] == "levasa" and "happy" in d["emotions"]
    assert client.get("/api/runs/truncated").json()["status"] == "error"


def test_runs_headline_falls_back_to_the_training_summary(client, runs_dir):
    """The tiny run has summary.json (training wrote it) and no metrics.json (no evaluation yet), as after make demo."""
    assert not (runs_dir / "tiny" / "metrics.json").exists()
    summary = json.loads((runs_dir / "tiny" / "summary.json").read_text())
    runs = {r["name"]: r for r in client.get("/api/runs").json()}
    assert runs["tiny"]["headline"] == {k: summary[k] for k in ("ccc_v", "ccc_a", "recon_mse")}
    assert runs["tiny"]["headline_source"] == "training"
    d = client.get("/api/runs/tiny").json()
    assert d["summary"] == summary and d["metrics"] is None and d["headline_source"] == "training"
    broken = client.get("/api/runs/truncated").json()
    assert broken["summary"] is None and broken["headline"] == {} and broken["headline_source"] is None


def test_headline_prefers_the_evaluation_and_says_so():
    from backend.routes.runs import headline
    from backend.store import StoredRun

    metrics = {"alignment": {"heads": {"valence": {"ccc": 0.61}, "arousal": {"ccc": 0.42}}},
               "reconstruction": {"recon_mse": 0.011}, "edit_fidelity": {"judge": {"valence": {"ccc": 0.5}}}}
    summary = {"ccc_v": 0.1, "ccc_a": 0.2, "recon_mse": 0.03, "epochs": 4}
    both = StoredRun("x", Path("x"), metrics=metrics, summary=summary)
    assert headline(both) == ({"ccc_v": 0.61, "ccc_a": 0.42, "recon_mse": 0.011, "edit_judge_ccc_v": 0.5},
                              "evaluation")
    assert headline(StoredRun("x", Path("x"), summary=summary)) == (
        {"ccc_v": 0.1, "ccc_a": 0.2, "recon_mse": 0.03}, "training")
    empty_eval = StoredRun("x", Path("x"), metrics={"alignment": {}}, summary=summary)
    assert headline(empty_eval)[1] == "training"  # an evaluation without those figures does not hide training's
    assert headline(StoredRun("x", Path("x"), summary={"ccc_v": None, "heldout": "val"})) == ({}, None)
    assert headline(StoredRun("x", Path("x"))) == ({}, None)


def test_emotions_list_names_codes_and_the_one_palette(client):
    from models.data import emotions
    from models.eval import report

    r = client.get("/api/emotions")
    assert r.status_code == 200
    got = r.json()["emotions"]
    assert [e["code"] for e in got] == list(range(8)) and [e["name"] for e in got] == list(emotions.ALL_EMOTIONS)
    assert got[0] == {"name": "neutral", "code": 0, "colour": "#7f7f7f"}
    assert {e["name"]: e["colour"] for e in got} == {
        "neutral": "#7f7f7f", "happy": "#2ca02c", "sad": "#1f77b4", "surprise": "#ff7f0e", "fear": "#9467bd",
        "disgust": "#8c564b", "anger": "#d62728", "contempt": "#e377c2"}
    assert report.EMOTION_COLOURS is emotions.EMOTION_COLOURS  # the report asks the owner, it keeps no copy


def test_favicon_is_the_pages_svg(client, runs_dir, tmp_path):
    from fastapi.testclient import TestClient

    from backend.registry import Registry

    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.content == (Settings().frontend_dir / "favicon.svg").read_bytes()
    icon = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="3"/></svg>'
    (tmp_path / "favicon.svg").write_bytes(icon)
    no_runs = Registry(tmp_path, torch.device("cpu"))
    with TestClient(create_app(Settings(frontend_dir=tmp_path), registry=no_runs)) as c:
        assert c.get("/favicon.ico").content == icon
        (tmp_path / "favicon.svg").unlink()
        gone = c.get("/favicon.ico")
        assert gone.status_code == 404 and "favicon.svg" in gone.json()["detail"]


def test_unknown_run_is_404_listing_known_runs(client):
    r = client.post("/api/runs/nope/decode", json={"latent": [0.0] * 96})
    assert r.status_code == 404
    assert "nope" in r.json()["detail"] and "tiny" in r.json()["detail"]
    r = client.get("/api/runs/..%2F..%2Fetc/projections")
    assert r.status_code == 404


def test_broken_run_is_409_with_its_reason(client):
    r = client.post("/api/runs/truncated/decode", json={"latent": [0.0] * 96})
    assert r.status_code == 409 and "model.safetensors" in r.json()["detail"]


# --- encode ---
def test_encode_matches_the_dataset_latents(client, faces, runs_dir):
    r = client.post("/api/runs/tiny/encode", files=files(*(png(f) for f in faces)))
    assert r.status_code == 200
    out = r.json()["faces"]
    assert len(out) == 4
    lat = np.load(runs_dir / "tiny" / "latents.npz")
    for i, f in enumerate(out):
        assert len(f["zv"]) == len(f["za"]) == len(f["zz"]) == 32
        assert f["crop"] == "whole" and f["box"] == {"x": 0, "y": 0, "width": 64, "height": 64}
        z = np.array(f["zv"] + f["za"] + f["zz"])
        np.testing.assert_allclose(z, lat["mu"][i], atol=0.05)  # batch of 4: the fp32 graph; export: bf16 batches
        assert abs(f["valence"] - lat["va_head"][i, 0]) < 0.05 and -1 <= f["arousal"] <= 1
        assert f["emotion"] in ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")


def test_encode_accepts_base64_json_and_data_urls(client, faces):
    b64 = base64.b64encode(png(faces[0])).decode()
    r = client.post("/api/runs/tiny/encode", json={"images": [b64, "data:image/png;base64," + b64]})
    assert r.status_code == 200
    a, b = r.json()["faces"]
    assert a["zv"] == b["zv"] and a["name"] == "images[0]"


def test_odd_but_valid_images_encode(client, faces):
    f = faces[0]
    rgba = np.dstack([f, np.full(f.shape[:2], 200, np.uint8)])
    gray = f.mean(2).astype(np.uint8)
    g16 = (gray.astype(np.uint16) * 257)
    exif = Image.fromarray(np.ascontiguousarray(np.rot90(f))).getexif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    rot = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.rot90(f))).save(rot, "JPEG", exif=exif, quality=95)
    gif = io.BytesIO()
    frames = [Image.fromarray(f).convert("P"), Image.fromarray(255 - f).convert("P")]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    cmyk = io.BytesIO()
    Image.fromarray(f).convert("CMYK").save(cmyk, "JPEG")
    blobs = [png(rgba), png(gray), png(g16), rot.getvalue(), gif.getvalue(), cmyk.getvalue(),
             png(f, fmt="WEBP"), png(f, fmt="BMP")]
    r = client.post("/api/runs/tiny/encode", files=files(*blobs))
    assert r.status_code == 200, r.text
    out = r.json()["faces"]
    assert len(out) == 8
    plain = latent_of(client, png(f))
    rotated = out[3]["zv"] + out[3]["za"] + out[3]["zz"]
    assert np.abs(np.array(rotated) - plain).mean() < 0.15  # the EXIF rotation was applied before encoding


def bomb_png(w: int, h: int) -> bytes:
    """A small PNG file whose header declares w x h pixels."""
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("blob, status, words", [
    (b"", 422, "empty"),
    (b"just some text, not an image", 415, "not an image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "not an image"),
    (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", 415, "not an image"),
    (bomb_png(50000, 50000), 413, "pixel"),
    (b"\0" * 300_000, 413, "limit"),
])
def test_encode_rejects_bad_files(client, blob, status, words):
    r = client.post("/api/runs/tiny/encode", files=files(blob))
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_encode_rejects_truncated_png_and_jpeg(client, faces):
    for blob in (png(faces[0])[:400], png(faces[0], fmt="JPEG")[:500]):
        r = client.post("/api/runs/tiny/encode", files=files(blob))
        assert r.status_code == 422 and "truncated" in r.json()["detail"]


def test_encode_rejects_batches_over_the_limit_and_empty_requests(client, faces):
    r = client.post("/api/runs/tiny/encode", files=files(*[png(faces[0])] * 9))
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/api/runs/tiny/encode", json={"images": []})
    assert r.status_code == 422
    r = client.post("/api/runs/tiny/encode", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "multipart" in r.json()["detail"]
    r = client.post("/api/runs/tiny/encode", json={"images": ["%%%not base64"]})
    assert r.status_code == 422 and "base64" in r.json()["detail"]
    r = client.post("/api/runs/tiny/encode", json={"images": "x", "extra": 1})
    assert r.status_code == 422


def test_request_body_over_the_limit_is_413(client):
    r = client.post("/api/runs/tiny/encode", content=b"\0" * 2_100_000,
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]


def test_face_is_detected_or_the_centre_is_used(client, faces):
    ramp = np.broadcast_to(np.linspace(0, 255, 400).astype(np.uint8)[None, :, None], (300, 400, 3))
    f = client.post("/api/runs/tiny/encode", files=files(png(np.ascontiguousarray(ramp)))).json()["faces"][0]
    assert f["crop"] == "center" and f["box"] == {"x": 50, "y": 0, "width": 300, "height": 300}
    assert f["image_size"] == [400, 300]
    r = client.post("/api/runs/tiny/encode", files=files(png(faces[0])) + [("crop", (None, "sideways"))])
    assert r.status_code == 422 and "crop must be one of" in r.json()["detail"]


# --- decode, reconstruct ---
def test_decode_one_and_many(client, faces):
    z = latent_of(client, png(faces[0]))
    r = client.post("/api/runs/tiny/decode", json={"latent": z})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    one = np.asarray(Image.open(io.BytesIO(r.content)))
    assert one.shape == (64, 64, 3)
    far = (np.array(z) + 3 * np.random.default_rng(0).standard_normal(96)).tolist()
    r = client.post("/api/runs/tiny/decode", json={"latents": [z, z, far]})
    imgs = [np.asarray(Image.open(io.BytesIO(base64.b64decode(s)))) for s in r.json()["images"]]
    assert len(imgs) == 3 and np.abs(imgs[0].astype(int) - one).max() <= 3
    assert np.abs(imgs[2].astype(int) - one).mean() > 1  # a different latent, a different face


@pytest.mark.parametrize("body, status, words", [
    ({"latent": [0.0] * 5}, 422, "takes 96"),
    ({"latents": [[0.0] * 96, [0.0] * 97]}, 422, "latents[1] has 97"),
    ({"latent": [0.0] * 96, "latents": [[0.0] * 96]}, 422, "exactly one"),
    ({"latent": ["a"] * 96}, 422, "latent"),
    ({"latent": [1e9] * 96}, 422, "within"),
    ({"latents": [[0.0] * 96] * 9}, 413, "limit"),
])
def test_decode_rejects_bad_latents(client, body, status, words):
    r = client.post("/api/runs/tiny/decode", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_decode_rejects_nan(client):
    r = client.post("/api/runs/tiny/decode", content=b'{"latent": [NaN' + b", 0" * 95 + b"]}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_reconstruct_is_decode_of_encode(client, faces):
    blob = png(faces[1])
    r = client.post("/api/runs/tiny/reconstruct", files={"file": ("a.png", blob, "image/png")})
    assert r.status_code == 200 and r.headers["x-face-crop"] == "whole"
    rec = np.asarray(Image.open(io.BytesIO(r.content))).astype(int)
    dec = client.post("/api/runs/tiny/decode", json={"latent": latent_of(client, blob)})
    assert np.abs(rec - np.asarray(Image.open(io.BytesIO(dec.content)))).max() <= 3


# --- edit ---
def test_edit_moves_only_zv_za_to_what_the_heads_read(client, faces, runs_dir):
    from models.editing import edit_latent
    from models.runs import load_run

    z = latent_of(client, png(faces[2]))
    r = client.post("/api/runs/tiny/edit", json={"latent": z, "valence": 0.6, "arousal": -0.4, "format": "json"})
    assert r.status_code == 200
    body = r.json()
    ze = np.array(body["latent"])
    assert ze[64:].tolist() == pytest.approx(z[64:], abs=1e-6)  # z_z kept
    model = load_run(runs_dir / "tiny").model
    with torch.no_grad():
        want = edit_latent(model, torch.tensor([z]), torch.tensor([[0.6, -0.4]]))[0].numpy()
    np.testing.assert_allclose(ze, want, atol=1e-4)  # the least-norm move
    with torch.no_grad():
        va, _ = model.heads(torch.tensor(ze[None], dtype=torch.float32))
    assert va[0].tolist() == pytest.approx([0.6, -0.4], abs=1e-3)
    assert body["target"] == {"valence": 0.6, "arousal": -0.4}
    assert -1 <= body["read_back"]["valence"] <= 1
    img = Image.open(io.BytesIO(base64.b64decode(body["image"])))
    assert img.size == (64, 64)


def test_edit_png_carries_read_back_headers_and_matches_json(client):
    png_r = client.post("/api/runs/tiny/edit", json={"sample": 3, "valence": -0.5, "arousal": 0.5})
    assert png_r.status_code == 200 and png_r.headers["content-type"] == "image/png"
    js = client.post("/api/runs/tiny/edit", json={"sample": 3, "valence": -0.5, "arousal": 0.5,
                                                  "format": "json"}).json()
    assert float(png_r.headers["x-read-valence"]) == pytest.approx(js["read_back"]["valence"], abs=1e-3)
    assert float(png_r.headers["x-read-arousal"]) == pytest.approx(js["read_back"]["arousal"], abs=1e-3)
    assert base64.b64decode(js["image"]) == png_r.content


def test_edit_from_upload_and_base64_image_agree(client, faces):
    blob = png(faces[0])
    a = client.post("/api/runs/tiny/edit/upload", files={"file": ("a.png", blob, "image/png")},
                    data={"valence": "0.2", "arousal": "0.7"})
    b = client.post("/api/runs/tiny/edit", json={"image": base64.b64encode(blob).decode(), "valence": 0.2,
                                                 "arousal": 0.7})
    assert a.status_code == b.status_code == 200
    assert a.content == b.content


@pytest.mark.parametrize("body, status, words", [
    ({"sample": 3, "valence": 1.5, "arousal": 0}, 422, "valence"),
    ({"sample": 3, "valence": 0, "arousal": -1.01}, 422, "arousal"),
    ({"sample": 3, "valence": "high", "arousal": 0}, 422, "valence"),
    ({"sample": 999999, "valence": 0, "arousal": 0}, 404, "sample 999999"),
    ({"sample": 3, "latent": [0.0] * 96, "valence": 0, "arousal": 0}, 422, "exactly one"),
    ({"valence": 0, "arousal": 0}, 422, "exactly one"),
    ({"latent": [0.0] * 12, "valence": 0, "arousal": 0}, 422, "takes 96"),
    ({"sample": 3, "valence": 0, "arousal": 0, "format": "gif"}, 422, "format"),
])
def test_edit_rejects_bad_requests(client, body, status, words):
    r = client.post("/api/runs/tiny/edit", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


DEEP = 100_000
DEEP_BODIES = {"arrays": b"[" * DEEP + b"]" * DEEP, "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP}


@pytest.mark.parametrize("route", ["edit", "decode", "edit-grid", "encode"])
@pytest.mark.parametrize("shape", sorted(DEEP_BODIES))
def test_deeply_nested_json_is_a_400_saying_so(client, route, shape):
    r = client.post(f"/api/runs/tiny/{route}", content=DEEP_BODIES[shape], headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert "nests arrays or objects deeper than the JSON parser goes" in r.json()["detail"]
    assert "3 levels at most" in r.json()["detail"]


@pytest.mark.parametrize("route", ["edit", "encode"])
def test_bodies_that_are_not_json_say_what_is_wrong(client, route):
    bad_utf8 = client.post(f"/api/runs/tiny/{route}", content=b'{"sample": "\xff\xfe"}',
                           headers={"content-type": "application/json"})
    assert bad_utf8.status_code == 400 and "not UTF-8" in bad_utf8.json()["detail"]
    truncated = client.post(f"/api/runs/tiny/{route}", content=b'{"sample": 3,',
                            headers={"content-type": "application/json"})
    assert truncated.status_code == 422 and "not valid JSON" in truncated.json()["detail"]


@pytest.mark.parametrize("route, body, line", [
    ("edit", {"sample": 3, "valence": True, "arousal": 0}, "body.valence: must be a number, got boolean true"),
    ("edit", {"sample": "3", "valence": 0, "arousal": 0}, 'body.sample: must be an integer, got string "3"'),
    ("edit", {"latent": ["1"] * 96, "valence": 0, "arousal": 0}, 'body.latent.0: must be a number, got string "1"'),
    ("edit", {"sample": 3, "valence": 0, "arousal": None}, "body.arousal: must be a number, got null"),
    ("edit", {"sample": 3, "valence": 0, "arousal": 0, "format": 1},
     "body.format: must be 'png' or 'json', got number 1"),
    ("decode", {"latent": [True] * 96}, "body.latent.0: must be a number, got boolean true"),
    ("decode", {"latents": [[0] * 96, "x"]}, 'body.latents.1: must be an array, got string "x"'),
    ("edit-grid", {"sample": 3, "n": "5"}, 'body.n: must be an integer, got string "5"'),
    ("edit-grid", {"sample": 3, "n": 5.0}, "body.n: must be an integer, got number 5.0"),
    ("encode", {"images": [1]}, "body.images.0: must be a string, got number 1"),
])
def test_request_fields_take_their_type_and_are_never_coerced(client, route, body, line):
    r = client.post(f"/api/runs/tiny/{route}", json=body)
    assert r.status_code == 422, r.text
    assert line in r.json()["detail"]


def test_integers_are_numbers(client):
    r = client.post("/api/runs/tiny/edit", json={"sample": 3, "valence": 1, "arousal": -1, "format": "json"})
    assert r.status_code == 200, r.text
    assert r.json()["target"] == {"valence": 1.0, "arousal": -1.0}
    assert client.post("/api/runs/tiny/decode", json={"latent": [0] * 96}).status_code == 200


def test_edit_grid_sprite_and_layout(client):
    r = client.post("/api/runs/tiny/edit-grid", json={"sample": 3, "n": 5})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    layout = json.loads(r.headers["x-grid-layout"])
    assert layout["n"] == 5 and layout["tile"] == 64
    assert layout["valence"] == [-1.0, -0.5, 0.0, 0.5, 1.0] and layout["arousal"] == [1.0, 0.5, 0.0, -0.5, -1.0]
    sprite = np.asarray(Image.open(io.BytesIO(r.content))).astype(int)
    assert sprite.shape == (320, 320, 3)
    # the tile at row 1 (arousal 0.5), column 3 (valence 0.5) is that exact edit (grid batches run in bf16)
    one = client.post("/api/runs/tiny/edit", json={"sample": 3, "valence": 0.5, "arousal": 0.5})
    tile = sprite[64:128, 192:256]
    exact = np.asarray(Image.open(io.BytesIO(one.content))).astype(int)
    assert np.abs(tile - exact).mean() < 4
    assert np.abs(sprite[:64, :64] - exact).mean() > np.abs(tile - exact).mean()
    r = client.post("/api/runs/tiny/edit-grid", json={"sample": 3, "n": 10})
    assert r.status_code == 422 and "2..9" in r.json()["detail"]
    r = client.post("/api/runs/tiny/edit-grid", json={"sample": 3, "n": 3, "format": "json"})
    assert r.json()["layout"]["n"] == 3


# --- projections, samples ---
def test_projections_columns(client, runs_dir):
    r = client.get("/api/runs/tiny/projections")
    cols = r.json()
    n = cols["n"]
    assert n == 320 == cols["n_dataset"]
    for k in ("ids", "emotion", "label_v", "label_a", "head_v", "head_a", "tsne_v_x", "tsne_a_y", "pca_z_x"):
        assert len(cols[k]) == n, k
    lat = np.load(runs_dir / "tiny" / "latents.npz")
    i = cols["ids"][7]
    assert cols["label_v"][7] == pytest.approx(float(lat["va_label"][i, 0]), abs=1e-4)
    gz = client.get("/api/runs/tiny/projections", headers={"accept-encoding": "gzip"})
    assert gz.json() == cols  # the client inflates it
    assert int(gz.headers["content-length"]) < len(r.content) / 2


def test_binary_columns_carry_the_same_points_as_the_json(client):
    cols = client.get("/api/runs/tiny/projections").json()
    man = client.get("/api/runs/tiny/columns").json()
    assert man["n"] == cols["n"] == 320 and man["ids_are_rows"] and man["emotions"] == cols["emotions"]
    want = {"float32": np.float32, "uint8": np.uint8, "int32": np.int32}
    for name in ("ids", "emotion", "label_v", "head_a", "tsne_z_x", "pca_v_y"):
        meta = man["columns"][name]
        r = client.get(meta["url"])
        assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream", name
        assert len(r.content) == meta["bytes"] == 320 * np.dtype(meta["dtype"]).itemsize
        got = np.frombuffer(r.content, want[r.headers["x-dtype"]])
        assert np.allclose(got, cols[name], atol=1e-4), name  # the JSON rounds to 4 places
    splits = np.frombuffer(client.get(man["columns"]["split"]["url"]).content, np.uint8)
    assert [man["splits"][c] for c in splits] == cols["split"]
    first_paint = sum(man["columns"][k]["bytes"] for k in ("pca_z_x", "pca_z_y", "emotion"))
    assert first_paint / man["n"] == 9


def test_a_column_revalidates_with_its_etag_and_unknown_ones_are_named(client):
    r = client.get("/api/runs/tiny/columns/pca_z_x")
    etag = r.headers["etag"]
    again = client.get("/api/runs/tiny/columns/pca_z_x", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get("/api/runs/tiny/columns/pca_z_y", headers={"if-none-match": etag}).status_code == 200
    assert client.get("/api/runs/tiny/columns/pca_z_x", headers={"if-none-match": '"stale"'}).status_code == 200
    js = client.get("/api/runs/tiny/projections")
    assert client.get("/api/runs/tiny/projections", headers={"if-none-match": js.headers["etag"]}).status_code == 304
    bad = client.get("/api/runs/tiny/columns/mu")
    assert bad.status_code == 404 and "pca_z_x" in bad.json()["detail"] and "'mu'" in bad.json()["detail"]


def test_a_rewritten_export_changes_the_etag(runs_dir):
    from backend.columns import files_tag
    from models.runs import LATENTS, PROJECTIONS

    run = runs_dir / "tiny"
    before = files_tag(run / LATENTS, run / PROJECTIONS)
    p = run / PROJECTIONS
    st = p.stat()
    try:
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert files_tag(run / LATENTS, run / PROJECTIONS) != before
    finally:
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_samples_and_thumbnails(client, faces):
    s = client.get("/api/runs/tiny/samples/2").json()
    assert s["id"] == 2 and len(s["latent"]) == 96 and s["thumbnail"].endswith("/samples/2/thumbnail")
    t = client.get(s["thumbnail"])
    assert t.status_code == 200 and t.headers["content-type"] == "image/jpeg"
    img = np.asarray(Image.open(io.BytesIO(t.content))).astype(int)
    assert img.shape == (64, 64, 3) and np.abs(img - faces[2]).mean() < 6  # the dataset face, JPEG-compressed
    assert client.get("/api/runs/tiny/samples/320").status_code == 404
    assert client.get("/api/runs/tiny/samples/-1/thumbnail").status_code == 422


def test_openapi_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/health", "/api/ready", "/api/runs", "/api/runs/{run}", "/api/runs/{run}/encode",
              "/api/runs/{run}/decode", "/api/runs/{run}/reconstruct", "/api/runs/{run}/edit",
              "/api/runs/{run}/edit/upload", "/api/runs/{run}/edit-grid", "/api/runs/{run}/projections",
              "/api/runs/{run}/columns", "/api/runs/{run}/columns/{name}", "/api/runs/{run}/samples/{sample_id}",
              "/api/runs/{run}/samples/{sample_id}/thumbnail"):
        assert p in paths, p
    enc = paths["/api/runs/{run}/encode"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in enc and "application/json" in enc
    ok = paths["/api/emotions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/EmotionList"}
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "valence" in schemas["EditRequest"]["properties"]  # the strict request models still generate
    assert {"headline_source"} <= set(schemas["RunSummary"]["properties"])
    assert {"summary", "headline", "headline_source"} <= set(schemas["RunDetail"]["properties"])


def test_docs_page_and_its_assets_are_served_from_here(client):
    page = client.get("/docs")
    assert page.status_code == 200
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert set(srcs) == {"/vendor/swagger-ui/swagger-ui-bundle.js", "/vendor/swagger-ui/swagger-ui.css", "/favicon.ico"}
    js = client.get("/vendor/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content[:2000]
    css = client.get("/vendor/swagger-ui/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert b".swagger-ui" in css.content
    assert client.get("/redoc").status_code == 404  # FastAPI's ReDoc page loads from a CDN: off
