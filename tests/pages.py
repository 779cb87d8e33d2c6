"""Helpers for the browser tests (tests/test_frontend.py, tests/test_map.py): open the page, read the served columns,
find points and markers on the map, read what the screen shows. The fixtures (site, browser, page) are in conftest.

Screenshots land in bench-out/screens/ (ignored by git) for a look after a run.
"""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

from scripts.bench.serve import ROOT

SHOTS = ROOT / "bench-out" / "screens"
READY = "window.__levasa && window.__levasa.ready"
CENTRE = ("s => { const r = document.querySelector(s).getBoundingClientRect();"
          " return [r.x + r.width / 2, r.y + r.height / 2]; }")


def open_page(page, query: str = "") -> dict:
    """Open the explorer (with a query string) and return the shown run's columns as the JSON API gives them."""
    page.goto("/" + query)
    page.wait_for_function(READY, timeout=60_000)
    return columns(page, page.evaluate("window.__levasa.state.run"))


def columns(page, run: str) -> dict:
    with urllib.request.urlopen(page.url.split("/?")[0].rstrip("/") + f"/api/runs/{run}/projections") as r:
        return json.loads(r.read())


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def screen(page):
    """What the page shows now, as an RGB array (rows are page y, columns page x)."""
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)


def nearest(cols: dict, v: float, a: float) -> int:
    return min(range(cols["n"]), key=lambda k: (cols["label_v"][k] - v) ** 2 + (cols["label_a"][k] - a) ** 2)


def marker_va(page, name: str) -> list[float]:
    """Where an overlay marker sits on the map, in the view's data units."""
    return page.evaluate("p => window.__levasa.toData(p)", page.evaluate(CENTRE, f".marker-{name}"))


def to_client(page, x: float, y: float) -> list[float]:
    """The page pixel of data point (x, y) in the map's current view."""
    return page.evaluate("p => window.__levasa.toClient(p)", [x, y])


def point_pixels(page, n: int) -> list[list[float]]:
    """Every point's page pixel in the current view."""
    return page.evaluate(f"Array.from({{length: {n}}}, (_, i) => window.__levasa.pointClient(i))")


def face_png(synth_dir: Path) -> Path:
    return next(synth_dir.rglob("*.png"))
