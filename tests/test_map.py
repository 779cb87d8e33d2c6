"""The explorer's map in a real browser (chromium against a real server, fixtures in conftest.py): what it paints and
where, its colourings and legend, hover, pan and zoom, box and lasso selection into the CSV export, and the other
drawers (WebGL, and the plotly map kept as the benchmarks' baseline). What is on screen is read from screenshots."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from tests.pages import nearest, open_page, point_pixels, screen, shot, to_client

pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")

MAP = "window.__levasa.ui.map"


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[k:k + 2], 16) for k in (1, 3, 5))


def _isolated(page, pixels: list[list[float]], among: list[int], room: float = 12.0) -> list[int]:
    """Points of `among` with no other point within `room` pixels and no label or button over them (what the screen
    shows there is that point)."""
    boxes = page.eval_on_selector_all("#map .emotion-label, #map .map-tools",
                                      "es => es.map(e => { const r = e.getBoundingClientRect();"
                                      " return [r.left, r.top, r.right, r.bottom]; })")
    out = []
    for i in among:
        x, y = pixels[i]
        if any(x0 - room < x < x1 + room and y0 - room < y < y1 + room for x0, y0, x1, y1 in boxes):
            continue
        if all(j == i or math.hypot(pixels[j][0] - x, pixels[j][1] - y) > room for j in range(len(pixels))):
            out.append(i)
    return out


def _blend(colour: tuple[int, int, int], alpha: float) -> list[float]:
    return [255 + (c - 255) * alpha for c in colour]


def test_map_paints_every_point_in_its_emotions_colour_where_it_says(page):
    cols = open_page(page)
    n = cols["n"]
    assert page.evaluate(f"{MAP}.layer.n") == n == page.evaluate("window.__levasa.n") > 0
    assert page.evaluate(f"{MAP}.kind") == "CPU", "software WebGL here: the CPU drawer is the faster one"
    status = page.inner_text("#map-status")
    assert f"{n:,} faces" in status and "truncated" in status  # the broken run is named, the rest serve
    labels = page.eval_on_selector_all("#map .emotion-label", "ls => ls.map(l => l.textContent)")
    assert {"happy", "sad", "anger", "neutral"} <= set(labels)
    palette = {e["name"]: e["colour"] for e in page.evaluate("fetch('/api/emotions').then(r => r.json())")["emotions"]}
    assert palette["happy"] == "#2ca02c"  # the report's palette, served; the page keeps no copy
    pixels = point_pixels(page, n)
    img = screen(page)
    lone = _isolated(page, pixels, list(range(n)))
    assert len(lone) >= 10
    for i in lone[:25]:
        x, y = (round(c) for c in pixels[i])
        want = _blend(_hex(palette[cols["emotions"][cols["emotion"][i]]]), 0.8)
        assert img[y, x].tolist() == pytest.approx(want, abs=14), f"point {i} at {x},{y}"
    # Empty plane between the points is the plot's white (or a grid line), not a stray point.
    far = [(x, y) for x, y in (to_client(page, 1.08, -1.08), to_client(page, -1.08, 1.08))]
    for x, y in far:
        assert min(img[round(y), round(x)]) >= 200
    shot(page, "map")


def test_legend_hides_an_emotion_and_colouring_by_valence_uses_the_ramp(page):
    cols = open_page(page)
    n = cols["n"]
    happy = cols["emotions"].index("happy")
    pixels = point_pixels(page, n)
    lone_happy = _isolated(page, pixels, [i for i in range(n) if cols["emotion"][i] == happy])
    assert lone_happy
    x, y = (round(c) for c in pixels[lone_happy[0]])
    assert min(screen(page)[y, x]) < 200  # drawn
    page.click(f"#map-legend .legend-item[data-code='{happy}']")
    assert page.get_attribute(f"#map-legend .legend-item[data-code='{happy}']", "aria-pressed") == "false"
    page.wait_for_timeout(100)
    assert min(screen(page)[y, x]) >= 200, "a hidden emotion's point is not drawn"
    page.mouse.move(x, y)  # nor found by the pointer
    page.wait_for_timeout(200)
    assert page.locator(".hover-card").is_hidden()
    page.click(f"#map-legend .legend-item[data-code='{happy}']")

    page.select_option("#colour", "label_v")
    page.wait_for_function(f"{MAP}.colouring === 'label_v'")
    assert "valence (label)" in page.inner_text("#map-legend")
    assert "colour=label_v" in page.url
    img = screen(page)
    lone = _isolated(page, pixels, list(range(n)))
    pos = [i for i in lone if cols["label_v"][i] > 0.6][:5]
    neg = [i for i in lone if cols["label_v"][i] < -0.6][:5]
    assert pos and neg
    for i in pos:
        r, _, b = img[round(pixels[i][1]), round(pixels[i][0])]
        assert r > b + 60, f"valence {cols['label_v'][i]:+.2f} should be red"
    for i in neg:
        r, _, b = img[round(pixels[i][1]), round(pixels[i][0])]
        assert b > r + 60, f"valence {cols['label_v'][i]:+.2f} should be blue"
    shot(page, "map-valence")


def test_hover_shows_the_faces_thumbnail(page):
    cols = open_page(page)
    i = max(range(cols["n"]), key=lambda k: cols["label_v"][k])  # an outlying point: nothing else under the pointer
    x, y = page.evaluate(f"window.__levasa.pointClient({i})")
    page.mouse.move(x - 30, y)
    page.mouse.move(x, y, steps=3)
    card = page.locator(".hover-card")
    card.wait_for(state="visible", timeout=10_000)
    assert card.get_attribute("data-id") == str(cols["ids"][i])
    page.wait_for_function("document.querySelector('.hover-card img').naturalWidth === 64", timeout=10_000)
    assert cols["emotions"][cols["emotion"][i]] in card.inner_text()
    page.mouse.move(*to_client(page, 1.1, -1.1))  # empty plane: the card goes
    card.wait_for(state="hidden", timeout=5_000)
    shot(page, "hover")


def test_wheel_zooms_about_the_pointer_and_drag_pans_with_the_markers(page):
    cols = open_page(page)
    i, j = nearest(cols, 0.3, 0.3), nearest(cols, -0.4, -0.2)
    page.mouse.click(*page.evaluate(f"window.__levasa.pointClient({i})"))
    page.wait_for_selector("#face:not([hidden])")
    pi0, pj0 = (page.evaluate(f"window.__levasa.pointClient({k})") for k in (i, j))
    pointer = [round(c) for c in pi0]  # the mouse sits on whole pixels
    under = page.evaluate("p => window.__levasa.toData(p)", pointer)
    page.mouse.move(*pointer)
    page.mouse.wheel(0, -400)  # zoom in about point i
    page.wait_for_function(f"{MAP}.vp.zoom > 1.5")
    pi1, pj1 = (page.evaluate(f"window.__levasa.pointClient({k})") for k in (i, j))
    assert page.evaluate("p => window.__levasa.toData(p)", pointer) == pytest.approx(under, abs=1e-6)
    assert pi1 == pytest.approx(pi0, abs=2.5), "the point under the pointer stays under it"
    assert math.dist(pi1, pj1) > 1.5 * math.dist(pi0, pj0), "the others spread out"
    # Drag on the plane pans: every point and the selected face's marker move with the pointer.
    box = page.locator("#map").bounding_box()
    start = (box["x"] + box["width"] - 90, box["y"] + box["height"] - 90)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 60, start[1] - 40, steps=6)
    page.mouse.up()
    pi2 = page.evaluate(f"window.__levasa.pointClient({i})")
    assert pi2 == pytest.approx([pi1[0] - 60, pi1[1] - 40], abs=1.5)
    marker = page.evaluate("s => { const r = document.querySelector(s).getBoundingClientRect();"
                           " return [r.x + r.width / 2, r.y + r.height / 2]; }", ".marker-selected")
    assert marker == pytest.approx(pi2, abs=1.5)
    assert page.evaluate("window.__levasa.state.face.index") == i, "a pan is not a click"
    # Home again with a double-click on the plane, where the selected face's edit target (a marker of its own, over
    # the map) already sits under the pointer: the double-click must still reach the map.
    home = (box["x"] + box["width"] - 30, box["y"] + box["height"] - 60)
    page.mouse.click(*home)
    page.wait_for_selector(".marker-target:not([hidden])")
    page.wait_for_timeout(600)  # a click of its own, not the first of the double-click
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).className", list(home)) == "marker marker-target"
    page.mouse.dblclick(*home)
    page.wait_for_function(f"Math.abs({MAP}.vp.zoom - 1) < 1e-9")
    assert page.evaluate(f"window.__levasa.pointClient({i})") == pytest.approx(pi0, abs=0.5)


def _export(page) -> list[dict]:
    with page.expect_download() as dl:
        page.click("#export-csv")
    return list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))


def test_box_selection_exports_csv(page):
    cols = open_page(page)
    page.click(".map-tools button[data-tool='box']")
    page.mouse.move(*to_client(page, -1.1, 1.1))
    page.mouse.down()
    page.mouse.move(*to_client(page, 0.0, -1.1), steps=8)
    page.mouse.up()
    page.wait_for_function("!document.getElementById('export-csv').disabled", timeout=10_000)
    n_sel = page.evaluate("window.__levasa.state.selection.length")
    left = sum(v < -0.01 for v in cols["label_v"])
    assert left <= n_sel <= sum(v <= 0.01 for v in cols["label_v"]), "every face left of valence 0, and no other"
    rows = _export(page)
    assert len(rows) == n_sel
    assert all(float(r["label_valence"]) <= 0.01 for r in rows)
    by_id = {i: k for k, i in enumerate(cols["ids"])}
    for r in rows[:20]:
        k = by_id[int(r["id"])]
        assert r["emotion"] == cols["emotions"][cols["emotion"][k]]
        assert float(r["label_arousal"]) == pytest.approx(cols["label_a"][k], abs=1e-4)
    shot(page, "selection")
    page.keyboard.press("Escape")
    page.wait_for_function("document.getElementById('export-csv').disabled")


def _inside(poly: list[tuple[float, float]], x: float, y: float) -> bool:
    hit = False
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def _edge_distance(poly, x, y) -> float:
    def seg(a, b):
        (ax, ay), (bx, by) = a, b
        t = max(0.0, min(1.0, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)))
        return math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay))
    return min(seg(a, b) for a, b in zip(poly, poly[1:] + poly[:1]))


def test_lasso_selects_the_points_inside_it(page):
    cols = open_page(page)
    page.select_option("#view", "pca_z")  # any view: the lasso works in the view's own coordinates
    page.wait_for_function(f"{MAP}.rendered === 'pca_z'")
    xs, ys = cols["pca_z_x"], cols["pca_z_y"]
    cx, cy = sorted(xs)[len(xs) // 2], sorted(ys)[len(ys) // 2]
    sx, sy = (max(xs) - min(xs)) / 3, (max(ys) - min(ys)) / 3
    poly = [(cx - sx, cy - sy), (cx + sx, cy - sy * 0.6), (cx + sx * 0.2, cy + sy), (cx - sx * 0.8, cy + sy * 0.4)]
    page.click(".map-tools button[data-tool='lasso']")
    path = []
    for (x0, y0), (x1, y1) in zip(poly, poly[1:] + poly[:1]):
        path += [(x0 + (x1 - x0) * t / 12, y0 + (y1 - y0) * t / 12) for t in range(12)]
    page.mouse.move(*to_client(page, *path[0]))
    page.mouse.down()
    for p in path[1:]:
        page.mouse.move(*to_client(page, *p))
    page.mouse.up()
    page.wait_for_function("!document.getElementById('export-csv').disabled", timeout=10_000)
    got = set(page.evaluate("window.__levasa.state.selection"))
    px_per_unit = page.evaluate(f"{MAP}.vp.scale[0]")
    slack = 1.5 / px_per_unit  # a pixel and a half either side of the line
    clear = [i for i in range(cols["n"]) if _edge_distance(poly, xs[i], ys[i]) > slack]
    sure_in = {i for i in clear if _inside(poly, xs[i], ys[i])}
    sure_out = {i for i in clear if not _inside(poly, xs[i], ys[i])}
    assert len(sure_in) > 10
    assert sure_in <= got and not (got & sure_out)
    rows = _export(page)
    assert {int(r["id"]) for r in rows} == {cols["ids"][i] for i in got}
    shot(page, "lasso")


def test_webgl_drawer_paints_the_same_points(page):
    cols = open_page(page, "?renderer=webgl")
    if not page.evaluate("!!document.createElement('canvas').getContext('webgl')"):
        pytest.skip("this chromium offers no WebGL at all (not even software): the CPU drawer is the one it gets")
    assert page.evaluate(f"{MAP}.kind") == "WebGL"
    assert "WebGL map" in page.inner_text("#map-status")
    palette = {e["name"]: e["colour"] for e in page.evaluate("fetch('/api/emotions').then(r => r.json())")["emotions"]}
    pixels = point_pixels(page, cols["n"])
    img = screen(page)
    lone = _isolated(page, pixels, list(range(cols["n"])))[:10]
    for i in lone:
        x, y = (round(c) for c in pixels[i])
        want = _blend(_hex(palette[cols["emotions"][cols["emotion"][i]]]), 0.8)
        assert img[y, x].tolist() == pytest.approx(want, abs=14), f"point {i} at {x},{y}"
    page.mouse.move(*pixels[lone[0]])
    page.locator(".hover-card").wait_for(state="visible", timeout=10_000)
    assert page.get_attribute(".hover-card", "data-id") == str(cols["ids"][lone[0]])


def test_plotly_map_is_still_there_as_the_baseline(page):
    cols = open_page(page, "?renderer=plotly")
    plotted = page.evaluate("document.getElementById('map').data.reduce((s, t) => s + t.x.length, 0)")
    assert plotted == cols["n"]
    assert page.evaluate("document.getElementById('map').data[0].type") == "scattergl"
    assert "plotly WebGL map" in page.inner_text("#map-status")
    assert page.is_disabled("#colour")
    i = max(range(cols["n"]), key=lambda k: cols["label_a"][k])
    page.mouse.click(*page.evaluate(f"window.__levasa.pointClient({i})"))
    page.wait_for_selector("#face:not([hidden])")
    assert f"#{cols['ids'][i]}" in page.inner_text("#face-title")
