"""The explorer page in a real browser: Debian's chromium driven by playwright against a real server on loopback.
Each test opens the page fresh (fixtures in conftest.py, helpers in pages.py). The map itself: tests/test_map.py."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

import pytest

from scripts.bench.serve import start_server, stop_server
from tests.pages import face_png as _face_png
from tests.pages import marker_va as _marker_va
from tests.pages import nearest as _nearest
from tests.pages import open_page as _open
from tests.pages import shot as _shot
from tests.pages import to_client

pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")


def _canvas(page, sel: str) -> str:
    return page.eval_on_selector(sel, "c => c.toDataURL()")


def _wait_exact(page, n: int = 1) -> None:
    page.wait_for_function(f"document.querySelectorAll('.editor .mode').length >= {n} && "
                           "[...document.querySelectorAll('.editor .mode')].every(m => m.textContent === 'exact')",
                           timeout=30_000)


def test_first_paint_fetches_binary_columns_only_for_what_it_draws(page):
    seen = []
    page.on("requestfinished", lambda r: seen.append((r.url, r.sizes()["responseBodySize"], r.timing)))
    page.goto("/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    paint = page.evaluate("window.__levasa.paintMs")
    columns = [(u.rsplit("/", 1)[-1], size) for u, size, _ in seen if "/api/runs/tiny/columns/" in u]
    assert not [u for u, *_ in seen if u.endswith("/projections")], "the page fetched the JSON columns"
    names = {name for name, _ in columns}
    assert {"label_v", "label_a", "emotion"} <= names  # the default view's x and y, the colours
    assert "ids" not in names  # every row is on the map, so point i is row i: nothing to fetch
    assert not names & {"tsne_z_x", "pca_z_x"}  # a view not shown is not fetched
    n = page.evaluate("window.__levasa.n")
    drawn = sum(size for name, size in columns if name in ("label_v", "label_a", "emotion"))
    assert drawn == 9 * n and paint is not None
    page.select_option("#view", "pca_z")
    page.wait_for_function("window.__levasa.ui.map.rendered === 'pca_z'")
    assert page.evaluate("window.__levasa.state.cols.pca_z_x.length") == n  # fetched when the view asked for it


def test_click_selects_a_face_and_drag_changes_it(page):
    cols = _open(page)
    i = max(range(cols["n"]), key=lambda k: cols["label_a"][k])
    x, y = page.evaluate(f"window.__levasa.pointClient({i})")
    page.mouse.click(x, y)
    page.wait_for_selector("#face:not([hidden])")
    assert f"#{cols['ids'][i]}" in page.inner_text("#face-title")
    _wait_exact(page)
    before = _canvas(page, ".editor canvas.face")
    assert f"sel={cols['ids'][i]}" in page.url

    # Drag the pad's handle from the face's own VA to the far side of the plane.
    box = page.locator("#pad").bounding_box()
    tx, ty = page.evaluate("(() => { const p = window.__levasa.state.target; return [p[0], p[1]]; })()")
    to_px = lambda v, a: (box["x"] + 120 + v * 240 * 0.44, box["y"] + 120 - a * 240 * 0.44)
    page.mouse.move(*to_px(tx, ty))
    page.mouse.down()
    frames0 = page.evaluate("window.__levasa.previewFrames")
    for k in range(1, 21):
        page.mouse.move(*to_px(tx + (-0.8 - tx) * k / 20, ty + (-0.5 - ty) * k / 20))
    assert page.inner_text(".editor .mode") == "preview" or page.evaluate("window.__levasa.previewFrames") > frames0
    page.mouse.up()
    _wait_exact(page)
    target = page.evaluate("window.__levasa.state.target")
    assert target[0] == pytest.approx(-0.8, abs=0.03) and target[1] == pytest.approx(-0.5, abs=0.03)
    assert page.evaluate("window.__levasa.previewFrames") > frames0
    assert _canvas(page, ".editor canvas.face") != before
    assert "target V -0.80 A -0.50" in page.inner_text(".editor .target")
    assert re.search(r"read back V [+-]\d\.\d\d A [+-]\d\.\d\d", page.inner_text(".editor .readback"))
    assert page.evaluate("window.__levasa.settles.length") >= 1
    assert re.search(r"v=-0\.80\d&a=-0\.50\d", page.url)
    # The handle on the map moved with it.
    assert _marker_va(page, "target") == pytest.approx([-0.8, -0.5], abs=0.03)

    # Save the edited face.
    with page.expect_download() as dl:
        page.click(".editor button.save")
    assert dl.value.suggested_filename.endswith(".png")
    assert Path(dl.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _shot(page, "drag")


def test_clicking_empty_space_imagines_the_face_there(page):
    cols = _open(page, f"?sel={_columns_id0(page)}")
    _wait_exact(page)
    # The place in the disk farthest from every face: a click there hits no point.
    pts = list(zip(cols["label_v"], cols["label_a"]))
    grid = [(x / 20, y / 20) for x in range(-18, 19) for y in range(-18, 19) if (x * x + y * y) <= 18 * 18]
    v, a = max(grid, key=lambda g: min((g[0] - p[0]) ** 2 + (g[1] - p[1]) ** 2 for p in pts))
    page.mouse.click(*to_client(page, v, a))
    page.wait_for_function("([v, a]) => Math.hypot(window.__levasa.state.target[0] - v, "
                           "window.__levasa.state.target[1] - a) < 0.02", arg=[v, a], timeout=10_000)
    _wait_exact(page)
    assert f"target V {v:+.2f} A {a:+.2f}" in page.inner_text(".editor .target")
    # Alt-click on top of a face imagines there too, instead of selecting that face.
    sel = page.evaluate("window.__levasa.state.face.id")
    i = _nearest(cols, 0.3, 0.3)
    page.mouse.move(*page.evaluate(f"window.__levasa.pointClient({i})"))
    page.keyboard.down("Alt")
    page.mouse.click(*page.evaluate(f"window.__levasa.pointClient({i})"))
    page.keyboard.up("Alt")
    page.wait_for_function(f"Math.abs(window.__levasa.state.target[1] - {cols['label_a'][i]}) < 0.03", timeout=10_000)
    assert page.evaluate("window.__levasa.state.face.id") == sel


def _columns_id0(page) -> int:
    page.goto("/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    return page.evaluate("window.__levasa.state.cols.ids[0]")


def test_upload_lands_on_the_map_with_its_reconstruction(page, synth_dir):
    _open(page)
    page.set_input_files("#file", str(_face_png(synth_dir)))
    page.wait_for_selector("#face:not([hidden])")
    page.wait_for_function("document.getElementById('face-recon').naturalWidth === 64", timeout=30_000)
    assert "your upload" in page.inner_text("#face-title")
    assert "taken as a face crop" in page.inner_text("#upload-status")
    assert page.locator("#face-info .warn").count() == 0, "a synthetic face on a synthetic run needs no warning"
    marker = page.locator(".marker-upload")
    assert marker.is_visible()
    enc = page.evaluate("Object.values(window.__levasa.state.face.enc)[0]")
    assert _marker_va(page, "upload") == pytest.approx([enc["valence"], enc["arousal"]], abs=0.02)
    _wait_exact(page)
    assert page.evaluate("document.getElementById('face-input').naturalWidth") == 128  # the crop the model saw
    _shot(page, "upload")


def _photo_file(synth_dir: Path, tmp_path: Path):
    """A 240 x 180 colour photo: a textured surround and a synthetic face upscaled into its centre square."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (180, 240, 3), dtype=np.uint8)
    face = Image.open(_face_png(synth_dir)).convert("RGB").resize((180, 180), Image.Resampling.BICUBIC)
    pixels[:, 30:210] = np.asarray(face)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


PHOTO_EXACT = "document.querySelector('.photo-editor .mode').textContent === 'exact'"


def test_the_uploaded_photo_itself_is_edited_in_place(page, synth_dir, tmp_path):
    import numpy as np
    from PIL import Image

    path, pixels = _photo_file(synth_dir, tmp_path)
    _open(page)
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#photo:not([hidden]) canvas.face")
    page.wait_for_function(PHOTO_EXACT, timeout=60_000)
    size = page.eval_on_selector(".photo-editor canvas.face", "c => [c.width, c.height]")
    assert size == [240, 180], "the photo is shown whole, at its own aspect ratio"
    warn = page.inner_text("#face-info .warn")
    assert "trained on synthetic faces only" in warn and "levasa demo --data DIR" in warn
    box = page.evaluate("window.__levasa.state.face.enc.tiny.box")  # the face found in the photo
    x0, x1 = box["x"], box["x"] + box["width"]
    assert 0 < x0 < x1 < 240

    def outside_box() -> list[int]:
        return page.eval_on_selector(".photo-editor canvas.face", """(c, b) => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, out = [];
            for (let y = 0; y < c.height; y += 7) for (let x = 0; x < c.width; x += 3)
                if (x < b.x || x >= b.x + b.width) out.push(d[(y * c.width + x) * 4]);
            return out; }""", box)

    shown = _canvas(page, ".photo-editor canvas.face")
    surround = outside_box()
    # Drag the handle far: the photo's face changes, its surround does not.
    pad = page.locator("#pad").bounding_box()
    page.mouse.move(pad["x"] + 120, pad["y"] + 120)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(pad["x"] + 120 - k * 10, pad["y"] + 120 - k * 8)
    page.mouse.up()
    page.wait_for_function(f"window.__levasa.previewFrames > 0 && {PHOTO_EXACT} && "
                           "document.querySelector('.photo-editor .target').textContent.includes('V -0.')",
                           timeout=60_000)
    assert _canvas(page, ".photo-editor canvas.face") != shown
    assert outside_box() == surround
    expected = [int(pixels[y, x, 0]) for y in range(0, 180, 7) for x in range(0, 240, 3) if not x0 <= x < x1]
    assert outside_box() == expected, "the photo's own pixels outside the face box"
    # Hold for before: the photo as it was; let go: the edit again.
    edited = _canvas(page, ".photo-editor canvas.face")
    page.hover(".photo-editor button.before")
    page.mouse.down()
    assert _canvas(page, ".photo-editor canvas.face") != edited
    page.mouse.up()
    assert _canvas(page, ".photo-editor canvas.face") == edited
    # Save: the whole photo at its own size, unchanged outside the box, changed inside.
    with page.expect_download() as dl:
        page.click(".photo-editor button.save")
    saved = np.asarray(Image.open(dl.value.path()).convert("RGB"))
    assert saved.shape == pixels.shape
    assert np.array_equal(saved[:, :x0], pixels[:, :x0]) and np.array_equal(saved[:, x1:], pixels[:, x1:])
    assert np.abs(saved[:, x0:x1].astype(int) - pixels[:, x0:x1]).max() > 10
    _shot(page, "photo")


def test_bad_upload_shows_the_servers_reason(page, tmp_path):
    _open(page)
    bad = tmp_path / "notes.png"
    bad.write_text("this is text, not a picture")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    msg = page.inner_text("#error .msg")
    assert "not accepted" in msg and "image" in msg.lower()
    assert "notes.png" in page.inner_text("#upload-status")
    assert page.locator("#face").is_hidden()
    _shot(page, "bad-upload")


def test_url_restores_run_view_face_and_target(page):
    cols = _columns_from(page, "tiny")
    sid = cols["ids"][3]
    page.goto(f"/?run=tiny&view=pca_v&sel={sid}&v=0.4&a=-0.3&cmp=tiny-vanilla")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    assert page.input_value("#view") == "pca_v"
    assert page.evaluate("window.__levasa.ui.map.view") == "pca_v"
    assert f"#{sid}" in page.inner_text("#face-title")
    assert page.evaluate("window.__levasa.state.target") == pytest.approx([0.4, -0.3])
    assert page.is_checked("#compare-on") and page.input_value("#compare-run") == "tiny-vanilla"
    _wait_exact(page, 2)
    texts = page.locator(".editor .target").all_inner_texts()
    assert texts == ["target V +0.40 A -0.30"] * 2
    runs = page.locator(".editor .run-name").all_inner_texts()
    assert runs[0].startswith("tiny ·") and runs[1].startswith("tiny-vanilla ·")
    assert "tiny-vanilla" in page.inner_text("#metrics-table")  # both runs' figures side by side
    _shot(page, "compare")


def _columns_from(page, run: str) -> dict:
    page.goto("/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    return page.evaluate(f"fetch('/api/runs/{run}/projections').then(r => r.json())")


def test_unknown_run_in_the_url_says_so_and_falls_back(page):
    page.goto("/?run=nope&sel=999999")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    assert "'nope' is not served" in page.inner_text("#error .msg")
    assert page.evaluate("window.__levasa.state.run") == "tiny"


def test_shift_click_shows_the_path_between_two_faces(page):
    cols = _open(page)
    i, j = _nearest(cols, 0.5, 0.2), _nearest(cols, -0.5, -0.3)
    page.mouse.click(*page.evaluate(f"window.__levasa.pointClient({i})"))
    page.wait_for_selector("#face:not([hidden])")
    xj, yj = page.evaluate(f"window.__levasa.pointClient({j})")
    page.mouse.move(xj, yj, steps=3)  # hover the second face, then shift-click it
    page.keyboard.down("Shift")
    page.mouse.click(xj, yj)
    page.keyboard.up("Shift")
    page.wait_for_function("document.querySelectorAll('#interp-strip img').length === 9", timeout=20_000)
    k = page.evaluate("window.__levasa.state.second")  # the face under the pointer (j, or one drawn on top of it)
    assert abs(cols["label_v"][k] - cols["label_v"][j]) + abs(cols["label_a"][k] - cols["label_a"][j]) < 0.1
    assert f"#{cols['ids'][k]}" in page.inner_text("#interp-hint")
    srcs = page.eval_on_selector_all("#interp-strip img", "ims => ims.map(i => i.src)")
    assert len(set(srcs)) > 2  # the strip changes along the way
    _shot(page, "interpolate")


def test_dropped_file_is_encoded_and_snap_buttons_move_the_target(page, synth_dir):
    import base64

    _open(page)
    data = base64.b64encode(_face_png(synth_dir).read_bytes()).decode()
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
        document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
    }""", data)
    page.wait_for_selector("#face:not([hidden])")
    assert "dropped.png" in page.inner_text("#face-title")
    _wait_exact(page)
    centres = page.evaluate("window.__levasa.state.detail.emotions")
    page.click("#snap-buttons button:text-is('sad')")
    page.wait_for_function("([v, a]) => { const t = window.__levasa.state.target; return t[0] === v && t[1] === a; }",
                           arg=[centres["sad"]["mu_v"], centres["sad"]["mu_a"]], timeout=10_000)
    _wait_exact(page)
    assert f"target V {centres['sad']['mu_v']:+.2f}" in page.inner_text(".editor .target")
    # Arrow keys on the pad nudge the target by 0.05.
    page.focus("#pad")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([v]) => Math.abs(window.__levasa.state.target[0] - v - 0.05) < 1e-6",
                           arg=[centres["sad"]["mu_v"]], timeout=10_000)


XSS = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def xss_site(runs_dir, tmp_path_factory):
    """A server whose only run is named like markup (a folder name can be anything but a slash)."""
    root = tmp_path_factory.mktemp("xss-site")
    shutil.copytree(runs_dir / "tiny", root / XSS)
    proc, url = start_server(root, log_path=root / "server.log")
    yield url
    stop_server(proc)


def _pwned(page) -> bool:
    page.wait_for_timeout(300)  # an <img src=x> fails to load within a few ms; give its onerror time to run
    return page.evaluate("window.__pwned === 1")


def test_run_names_with_markup_are_shown_as_text(browser, xss_site, synth_dir):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=xss_site)
    page = ctx.new_page()
    crashes = []
    page.on("pageerror", lambda e: crashes.append(str(e)))
    page.goto("/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    assert page.evaluate("window.__levasa.state.run") == XSS
    assert page.inner_text("#metrics-table th:nth-child(2)") == XSS
    assert XSS in page.inner_text("#metrics-table")  # the evaluate command names it, as text
    assert page.inner_text("#run option").startswith(XSS + " (levasa")
    page.set_input_files("#file", str(_face_png(synth_dir)))
    _wait_exact(page)
    assert page.inner_text(".editor .run-name").startswith(XSS)
    assert page.locator('img[src="x"]').count() == 0
    assert not _pwned(page)
    # The payload does run when it reaches innerHTML in this browser, so the checks above can fail.
    page.evaluate(f"document.createElement('div').innerHTML = {json.dumps(XSS)}")
    assert _pwned(page)
    assert not crashes, f"JavaScript errors on the page: {crashes}"
    ctx.close()


def test_file_names_and_error_details_with_markup_are_shown_as_text(page, synth_dir, tmp_path):
    _open(page)
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(_face_png(synth_dir), good / f"{XSS}.png")
    page.set_input_files("#file", str(good / f"{XSS}.png"))
    _wait_exact(page)
    assert page.inner_text("#face-title") == f"your upload, {XSS}.png"
    assert page.inner_text("#upload-status").startswith(f"{XSS}.png (")
    # Refused: the server's detail names the file, and the banner shows that detail literally.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / f"{XSS}.png").write_text("<b>not</b> a picture")
    page.set_input_files("#file", str(bad / f"{XSS}.png"))
    page.wait_for_selector("#error:not([hidden])")
    assert f"The upload was not accepted: {XSS}.png: not an image" in page.inner_text("#error .msg")
    assert page.locator('img[src="x"]').count() == 0
    assert not _pwned(page)


def test_error_banner_shows_markup_in_the_url_literally(page):
    page.goto("/?run=<b>bold</b>")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    assert "run '<b>bold</b>' is not served here" in page.inner_text("#error .msg")
    assert page.locator("#error b").count() == 0


def test_page_loads_without_console_errors_or_a_favicon_404(browser, site):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=site)
    page = ctx.new_page()
    errors, failed = [], []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.goto("/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=60_000)
    page.wait_for_timeout(500)  # the browser asks for the icon after the load
    assert not failed, f"requests that failed on load: {failed}"
    assert not errors, f"console errors on load: {errors}"
    icon = page.evaluate("document.querySelector('link[rel=icon]').href")
    assert icon.endswith("/favicon.svg")
    with urllib.request.urlopen(icon) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("image/svg+xml")
    ctx.close()


def test_metrics_table_shows_the_training_summary_without_an_evaluation(page, site):
    _open(page)
    detail = page.evaluate("window.__levasa.state.detail")
    assert detail["metrics"] is None and detail["summary"]["n_heldout"] > 0  # `make demo`'s case: summary.json only
    s = detail["summary"]
    table = page.inner_text("#metrics-table")
    assert f"training's check on {s['n_heldout']:,} {s['heldout']} faces" in table
    assert re.search(rf"valence CCC \(heads\)\s+{s['ccc_v']:.3f}", table)
    assert re.search(rf"recon MSE\s+{s['recon_mse']:.4f}", table)
    assert "A full evaluation adds linear probes, emotion prediction, t-SNE quality and edit fidelity" in table
    assert page.locator("#metrics-table code").all_inner_texts() == ["levasa evaluate runs/tiny"]
