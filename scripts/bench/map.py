"""The map at the field's scale, in headless Chromium against a real server: first paint, lasso, hover and pan with
400,000 points, each beside the previous (plotly) map painting 30,000 points in the same run.

    python -m scripts.bench.map            # 400,000 points (bench-out/scale-400000, shared with scale.py) and 30,000
    python -m scripts.bench.map --quick    # CI: 20,000 and 3,000 points
    python -m scripts.bench.map --points 100000 --small 10000 --run runs/X

The runs folders are scale.py's (bench-out/scale-N, reused when it made them): a trained run's model with made-up
latents and coordinates (VA uniform on the square) and its own thumbnails repeated, so what is measured is the page,
not the model. Figures:
  paint_400k_ratio     navigation -> all big-run points painted by the map, over the plotly map's paint of the small
                       run (?renderer=plotly), medians of cold page loads in this run (target <= 1; paint_400k_s beside)
  paint_30k_ratio      the map's paint of the small run over the plotly map's paint of it (target <= 1)
  lasso_400k_ms        pointer up after a lasso round a quarter of the points -> the selection count shown and painted
                       (target <= 150), median of 5
  hover_thumb_400k_ms  pointer onto a point -> its thumbnail loaded and shown (target <= 300), median of 10 faces
  pan_fps_400k         frames drawn per second while a drag pans the map (target >= 10); beside it the frames per
                       second the pointer asked for, and one frame's draw time for each drawer (CPU, WebGL)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from models.eval.export import ensure_exported
from scripts.bench.scale import build_runs
from scripts.bench.serve import ROOT, bench_run, start_server, stop_server

VIEWPORT = {"width": 1400, "height": 900}
READY = "window.__levasa && window.__levasa.ready"
MAP = "window.__levasa.ui.map"


def _label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


def paint_s(browser, url: str, query: str = "") -> float:
    """One cold page load (a fresh context: nothing cached): navigation start -> the map painted, in seconds."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.goto(url + "/" + query)
    page.wait_for_function(READY, timeout=300_000)
    ms, n, kind = page.evaluate(f"[window.__levasa.paintMs, window.__levasa.n, {MAP}.kind]")
    ctx.close()
    print(f"  paint {kind} map, {n:,} points{' (' + query + ')' if query else ''}: {ms:.0f} ms", flush=True)
    return ms / 1000


def median_paint(browser, url: str, reps: int, query: str = "") -> float:
    return statistics.median(paint_s(browser, url, query) for _ in range(reps))


def _open(browser, url: str):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_function(READY, timeout=300_000)
    return ctx, page


def lasso_ms(page, reps: int) -> list[float]:
    """A lasso round the quadrant V > 0, A > 0 of the VA view (a quarter of the points), pointer up -> count shown."""
    page.click(".map-tools button[data-tool='lasso']")
    corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    path = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
        path += [(x0 + (x1 - x0) * t / 10, y0 + (y1 - y0) * t / 10) for t in range(10)]
    px = [page.evaluate("p => window.__levasa.toClient(p)", list(p)) for p in path]
    out = []
    for _ in range(reps):
        page.evaluate("""() => {
            window.__lasso = {};
            window.addEventListener('pointerup', () => { window.__lasso.up = performance.now(); },
                                    {capture: true, once: true});
            const b = document.getElementById('export-csv');
            const painted = () => { window.__lasso.painted = performance.now(); };
            new MutationObserver((_, obs) => { obs.disconnect(); window.__lasso.shown = performance.now();
                requestAnimationFrame(() => requestAnimationFrame(painted));
            }).observe(b, {childList: true, characterData: true, subtree: true});
        }""")
        page.mouse.move(*px[0])
        page.mouse.down()
        for p in px[1:]:
            page.mouse.move(*p)
        page.mouse.up()
        page.wait_for_function("window.__lasso.painted", timeout=30_000)
        t = page.evaluate("window.__lasso")
        n_sel, n = page.evaluate(f"[window.__levasa.state.selection.length, {MAP}.layer.n]")
        out.append(t["painted"] - t["up"])
        print(f"  lasso: {n_sel:,} of {n:,} points selected ({n_sel / n:.1%}); count shown after "
              f"{t['shown'] - t['up']:.0f} ms, painted after {t['painted'] - t['up']:.0f} ms", flush=True)
        page.keyboard.press("Escape")
        page.wait_for_function("document.getElementById('export-csv').disabled")
    page.click(".map-tools button[data-tool='pan']")
    return out


def hover_ms(page, faces: int) -> list[float]:
    """Pointer onto a lone point -> its thumbnail (not fetched before) loaded and the card shown."""
    n = page.evaluate(f"{MAP}.layer.n")
    out = []
    for k in range(faces):
        i = (k * 7919 + 13) % n
        x, y = page.evaluate(f"window.__levasa.pointClient({i})")
        page.mouse.move(x - 40, y - 40)
        page.wait_for_timeout(50)
        page.evaluate("""(id) => {
            window.__hover = {};
            window.addEventListener('pointermove', () => { window.__hover.move = performance.now(); },
                                    {capture: true, once: true});
            const card = document.querySelector('.hover-card'), img = card.querySelector('img');
            img.addEventListener('load', function done() {
                if (!img.src.includes('/samples/')) return;
                img.removeEventListener('load', done);
                requestAnimationFrame(() => requestAnimationFrame(() => {
                    window.__hover.shown = performance.now(); window.__hover.id = card.dataset.id; }));
            });
        }""", i)
        page.mouse.move(x, y)
        page.wait_for_function("window.__hover.shown", timeout=30_000)
        t = page.evaluate("window.__hover")
        out.append(t["shown"] - t["move"])
    print(f"  hover: {', '.join(f'{v:.0f}' for v in out)} ms", flush=True)
    return out


def pan_fps(page, moves: int) -> tuple[float, float]:
    """(frames drawn per second, pointer moves per second) over a drag of `moves` pointer moves across the plot."""
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    f0 = page.evaluate(f"{MAP}.frames")
    t0 = time.perf_counter()
    for k in range(1, moves + 1):
        page.mouse.move(cx + 150 * (k % 40) / 40, cy + 100 * (k % 40) / 40)
    page.evaluate("new Promise((r) => requestAnimationFrame(() => r()))")
    wall = time.perf_counter() - t0
    frames = page.evaluate(f"{MAP}.frames") - f0
    page.mouse.up()
    return frames / wall, moves / wall


def draw_ms(browser, url: str, renderer: str) -> float:
    """One frame of the map's drawer, synchronised (WebGL: a one-pixel read waits for the frame), median of 5."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.goto(f"{url}/?renderer={renderer}")
    page.wait_for_function(READY, timeout=300_000)
    ms = page.evaluate(f"""() => {{
        const m = {MAP}, gl = m.layer.gl, px = new Uint8Array(4), out = [];
        for (let k = 0; k < 5; k++) {{
            const t = performance.now();
            m.draw();
            if (gl) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
            out.push(performance.now() - t);
        }}
        return out.sort((a, b) => a - b)[2]; }}""")
    ctx.close()
    return ms


def site(src: Path, n: int) -> Path:
    """scale.py's runs folder of n points (any number of runs: the page shows the first), built if there is none."""
    t0 = time.perf_counter()
    runs = build_runs(src, ROOT / "bench-out" / f"scale-{n}", n, 1, at_least=True)
    took = time.perf_counter() - t0
    print(f"runs folder {runs}: {n:,} points a run ({took:.1f} s to build or find)", flush=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.map", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 20,000 and 3,000 points, fewer repeats")
    p.add_argument("--points", type=int, help="the big run's points (default 400,000; quick 20,000)")
    p.add_argument("--small", type=int,
                   help="the small run's points, the plotly map's size (default 30,000; quick 3,000)")
    p.add_argument("--run", type=Path, help="the trained run to copy (default runs/levasa, trained if missing)")
    args = p.parse_args(argv)
    big = args.points if args.points is not None else (20_000 if args.quick else 400_000)
    small = args.small if args.small is not None else (3_000 if args.quick else 30_000)
    if big < 100 or small < 100:
        print(f"error: --points and --small must be >= 100, got {big} and {small}", file=sys.stderr)
        return 2
    src = bench_run(args.quick, args.run)
    if src is None:
        return 2
    ensure_exported(src)
    big_runs, small_runs = site(src, big), site(src, small)

    from playwright.sync_api import sync_playwright

    from scripts.bench.browser import launch_or_say_why

    reps = 2 if args.quick else 3
    with sync_playwright() as pw:
        browser = launch_or_say_why(pw)
        if browser is None:
            return 2
        proc, url = start_server(small_runs, log_path=small_runs.parent / "map-server.log", timeout=300)
        try:
            paint_s(browser, url)  # warm the server's caches and the OS page cache
            plotly_small = median_paint(browser, url, reps, "?renderer=plotly")
            map_small = median_paint(browser, url, reps)
        finally:
            stop_server(proc)
        proc, url = start_server(big_runs, log_path=big_runs.parent / "map-server.log", timeout=300)
        try:
            paint_s(browser, url)
            map_big = median_paint(browser, url, reps)
            ctx, page = _open(browser, url)
            lasso = lasso_ms(page, 3 if args.quick else 5)
            hover = hover_ms(page, 5 if args.quick else 10)
            fps, asked = pan_fps(page, 40 if args.quick else 120)
            kind = page.evaluate(f"{MAP}.kind")
            ctx.close()
            cpu_ms, gl_ms = draw_ms(browser, url, "cpu"), draw_ms(browser, url, "webgl")
        finally:
            stop_server(proc)
        browser.close()

    b, s = _label(big), _label(small)
    print(f"\none frame of {big:,} points: CPU drawer {cpu_ms:.0f} ms, WebGL drawer {gl_ms:.0f} ms (this browser's "
          f"WebGL is {'software' if kind == 'CPU' else 'on a GPU'}: the page draws with the {kind} drawer)")
    print(f"FIGURE paint_{b}_ratio {map_big / plotly_small:.2f}  (target <= 1; the map painting {big:,} points "
          f"{map_big:.2f} s over the plotly map painting {small:,} {plotly_small:.2f} s, this run)")
    print(f"FIGURE paint_{b}_s {map_big:.2f}  ({kind} drawer; median of {reps} cold loads)")
    print(f"FIGURE paint_{s}_ratio {map_small / plotly_small:.2f}  (target <= 1; the map {map_small:.2f} s over the "
          f"plotly map {plotly_small:.2f} s, both painting {small:,} points in this run)")
    print(f"FIGURE lasso_{b}_ms {statistics.median(lasso):.0f}  (target <= 150; pointer up -> count shown and painted, "
          f"a quarter of {big:,} points; max {max(lasso):.0f})")
    print(f"FIGURE hover_thumb_{b}_ms {statistics.median(hover):.0f}  (target <= 300; pointer onto a point -> its "
          f"thumbnail shown, {len(hover)} faces; max {max(hover):.0f})")
    print(f"FIGURE pan_fps_{b} {fps:.1f}  (target >= 10; the pointer moved {asked:.1f} times a second: ratio "
          f"{fps / asked:.2f}; one frame {cpu_ms if kind == 'CPU' else gl_ms:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
