"""The explorer page in headless Chromium against a real server: first paint of 30,000 points, drag preview rate and
the time for the exact edit to land once the pointer rests.

    python -m scripts.bench.frontend            # 30,000 unseen synthetic faces encoded by the demo LeVAsa run
    python -m scripts.bench.frontend --quick    # CI: 2,000 faces and a 1-epoch run, shorter drags
    python -m scripts.bench.frontend --run runs/X --points 5000

Figures and the baseline beside each, measured in the same run:
  paint_30k_s       navigation start -> the map plotted and painted (the page's own drawer: its CPU one where WebGL
                    is software, as here), median of 3 cold page loads; baseline: the plotly map drawing the points
                    with its SVG scatter (?renderer=svg)
  paint_30k_svg_ratio  the SVG baseline's paint time over the map's, from the same run (holds on a slower machine;
                    with --points N it is paint_{N/1000}k_svg_ratio, or paint_N_svg_ratio below 1,000)
  drag_preview_fps  preview images drawn per second while the pad's handle is dragged by real pointer events;
                    baseline: the pointer events per second the browser delivered (the most the page could show)
  edit_settle_ms    last pointer move -> the exact edited face on screen, median of 15 drag-and-rest trials;
                    baseline: one bare POST /edit round trip from the same page (median of 30)
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

from models import runs as ck
from scripts.bench.serve import start_server, stop_server

OUT = Path("bench-out/frontend")


def build_site(quick: bool, base: Path | None = None, n: int | None = None, out: Path = OUT) -> Path:
    """A runs folder with one run (base's weights) whose map holds n faces the model never trained on
    (default 30,000; quick 2,000)."""
    from scripts.bench.serve import ensure_bench_run

    n = n or (2000 if quick else 30000)
    root = out / f"{n}"
    run = root / "runs" / f"levasa-{n // 1000}k"
    unseen_faces(root / "faces", n)
    if not (run / ck.PROJECTIONS).is_file():
        unseen_run(ensure_bench_run(quick, base), root / "faces", run, progress=True)
    return root / "runs"


def unseen_faces(data: Path, n: int, packed: bool = False) -> float:
    """n synthetic faces of seed 7 (other faces than the training set's, seed 0) in ``data``, drawn unless there;
    returns the seconds it took (0 when they were there)."""
    from models.data.synthetic import generate

    if (data / "labels.csv").is_file():
        return 0.0
    return generate(data, n=n, seed=7, progress=True, packed=packed)["seconds"]


def unseen_run(base: Path, data: Path, run: Path, progress: bool = False) -> dict:
    """RUN: base's weights serving every face of ``data`` (all held out: none seen in training), exported for the
    explorer (latents, thumbnails, projections). Returns prepare_serving's summary, with its stage times."""
    from models.data.labels import read_labels
    from models.eval.export import prepare_serving
    from models.runs import load_run

    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    for f in (ck.WEIGHTS, ck.SUMMARY):
        if (base / f).is_file():
            shutil.copy(base / f, run / f)
    files = read_labels(data).files
    cfg = json.loads((base / ck.CONFIG).read_text())
    cfg["name"] = run.name
    cfg["dataset"] = {**cfg.get("dataset", {}), "root": str(data.resolve()), "name": f"synthetic-{len(files) // 1000}k",
                      "n": len(files)}
    (run / ck.CONFIG).write_text(json.dumps(cfg, indent=2))
    (run / ck.SPLIT).write_text("file,split\n" + "".join(f"{f},test\n" for f in files))
    return prepare_serving(load_run(run), max_points=len(files), progress=progress)


def paint(browser, url: str, query: str = "") -> tuple[float, int]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(url + "/" + query)
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=180_000)
    ms, n, marks = page.evaluate("[window.__levasa.paintMs, window.__levasa.n, window.__levasa.marks]")
    ctx.close()
    print(f"  paint{' (' + query + ')' if query else ''}: data in {marks['data']:.0f} ms (the points fetched, and "
          f"plotly.js compiled for the plotly map), plotted at {marks['plotted']:.0f} ms, painted at {ms:.0f} ms",
          flush=True)
    return ms / 1000, n


def drag_and_settle(browser, url: str, moves: int, trials: int) -> dict:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.goto(url + "/")
    page.wait_for_function("window.__levasa && window.__levasa.ready", timeout=180_000)
    sid = page.evaluate("window.__levasa.state.cols.ids[0]")
    page.goto(url + f"/?sel={sid}&v=0&a=0")
    page.wait_for_function("window.__levasa.ready && document.querySelector('.editor .mode') && "
                           "document.querySelector('.editor .mode').textContent === 'exact'", timeout=120_000)
    box = page.locator("#pad").bounding_box()
    to_px = lambda v, a: (box["x"] + box["width"] / 2 + v * box["width"] * 0.44,
                          box["y"] + box["height"] / 2 - a * box["height"] * 0.44)
    page.evaluate("document.getElementById('snap').checked = false; document.getElementById('snap')"
                  ".dispatchEvent(new Event('change'))")

    # 1. A long drag: the handle circles the plane while real pointer events stream in.
    page.mouse.move(*to_px(0, 0))
    page.mouse.down()
    page.evaluate("window.__levasa.previewFrames = 0; window.__levasa.frameTimes = []; window.__moves = 0;"
                  "document.getElementById('pad').addEventListener('pointermove', () => window.__moves++)")
    t0 = time.perf_counter()
    for k in range(moves):
        ang = 2 * math.pi * k / 120
        r = 0.3 + 0.6 * (k % 240) / 240
        page.mouse.move(*to_px(r * math.cos(ang), r * math.sin(ang)))
    wall = time.perf_counter() - t0
    frames, events, span, cost = page.evaluate(
        "[window.__levasa.previewFrames, window.__moves, window.__levasa.frameTimes.length > 1 ? "
        "(window.__levasa.frameTimes.at(-1) - window.__levasa.frameTimes[0]) / 1000 : 0,"
        " window.__levasa.previewCostMs.slice(-window.__levasa.previewFrames)]")
    page.mouse.up()

    # 2. Drag-and-rest trials: a short drag to a new target, then the pointer rests until the exact face is up.
    settles = []
    for t in range(trials):
        ang = 2.4 * t
        # counted before the drag: on a fast machine the last target's exact face can land before the drag returns
        n0 = page.evaluate("window.__levasa.settles.length")
        page.mouse.down()
        for k in range(1, 9):
            page.mouse.move(*to_px(0.8 * math.cos(ang) * k / 8, 0.8 * math.sin(ang) * k / 8))
        page.wait_for_function(f"window.__levasa.settles.length > {n0} && document.querySelector('.editor .mode')"
                               ".textContent === 'exact'", timeout=30_000)
        settles.append(page.evaluate("window.__levasa.settles.at(-1)"))
        page.mouse.up()
        page.wait_for_timeout(50)

    # 3. The baseline: one bare edit request from the page.
    bare = page.evaluate("""async (sid) => {
        const run = window.__levasa.state.run, out = [];
        for (let i = 0; i < 30; i++) {
          const t = performance.now();
          const r = await fetch(`/api/runs/${run}/edit`, {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({sample: sid, valence: Math.cos(i) * 0.7, arousal: Math.sin(i) * 0.7})});
          await createImageBitmap(await r.blob());
          out.push(performance.now() - t);
        }
        return out;
    }""", sid)
    ctx.close()
    return {"frames": frames, "events": events, "span_s": span, "wall_s": wall, "settles": settles, "bare": bare,
            "cost_ms": cost}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scripts.bench.frontend", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CI: 2,000 points, shorter drags")
    p.add_argument("--run", type=Path, default=None, help="run whose weights serve the map (default runs/levasa, "
                   "trained if missing; quick: a 1-epoch run)")
    p.add_argument("--points", type=int, default=None, help="faces on the map (default 30000; quick 2000)")
    p.add_argument("--out", type=Path, default=OUT, help=f"work folder (default {OUT})")
    args = p.parse_args(argv)
    if args.run is not None and not (args.run / ck.WEIGHTS).is_file():
        print(f"error: {args.run} is not a trained run (no {ck.WEIGHTS})", file=sys.stderr)
        return 2
    if args.points is not None and not 10 <= args.points <= 100_000:
        print(f"error: --points must be 10..100000, got {args.points}", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    from scripts.bench.browser import launch_or_say_why

    site = build_site(args.quick, args.run, args.points, args.out)
    proc, url = start_server(site, log_path=args.out / "server.log")
    try:
        with sync_playwright() as pw:
            browser = launch_or_say_why(pw)
            if browser is None:
                return 2
            paint(browser, url)  # warm the server's gzip cache and the OS page cache; the browser's HTTP cache is per
            reps = 1 if args.quick else 3  # context, so every measured load below fetches everything again
            gl = [paint(browser, url) for _ in range(reps)]
            svg = [paint(browser, url, "?renderer=svg") for _ in range(reps)]
            d = drag_and_settle(browser, url, moves=60 if args.quick else 240, trials=5 if args.quick else 15)
            if not args.quick:
                shot = args.out / "explorer.png"
                ctx = browser.new_context(viewport={"width": 1400, "height": 860})
                page = ctx.new_page()
                page.goto(url + "/?view=label&sel=1&v=0.62&a=0.35")
                page.wait_for_function("window.__levasa.ready && document.querySelector('.editor .mode') && "
                                       "document.querySelector('.editor .mode').textContent === 'exact'",
                                       timeout=120_000)
                page.wait_for_timeout(500)
                page.screenshot(path=str(shot))
                ctx.close()
                print(f"screenshot: {shot}")
            browser.close()
    finally:
        stop_server(proc)

    n = gl[0][1]
    t_gl, t_svg = statistics.median(t for t, _ in gl), statistics.median(t for t, _ in svg)
    fps = d["frames"] / d["span_s"] if d["span_s"] else 0.0
    ev_rate = d["events"] / d["span_s"] if d["span_s"] else 0.0
    settle, bare = statistics.median(d["settles"]), statistics.median(d["bare"])
    print(f"\n{n:,} points; drag: {d['events']} pointer events, {d['frames']} preview frames in {d['span_s']:.2f} s; "
          f"drawing a preview took {statistics.median(d['cost_ms']):.2f} ms (median), so the page could draw "
          f"{1000 / max(statistics.median(d['cost_ms']), 1e-3):.0f}/s: the pointer sets the pace")
    print(f"settle trials (ms): {', '.join(f'{s:.0f}' for s in d['settles'])}")
    label = f"{n // 1000}k" if n >= 1000 else str(n)
    print(f"FIGURE paint_{label}_s {t_gl:.2f}  (the map; plotly's SVG scatter baseline {t_svg:.2f} s: "
          f"{t_svg / t_gl:.1f}x slower)")
    print(f"FIGURE paint_{label}_svg_ratio {t_svg / t_gl:.2f}  (the SVG scatter's paint {t_svg:.3f} s over the map's "
          f"{t_gl:.3f} s, both measured in this run; higher is better, above 1 = the map paints faster)")
    print(f"FIGURE drag_preview_fps {fps:.1f}  (pointer events delivered {ev_rate:.1f}/s: ratio {fps / ev_rate:.2f})"
          if ev_rate else "FIGURE drag_preview_fps 0")
    print(f"FIGURE edit_settle_ms {settle:.1f}  (bare edit round trip from the page {bare:.1f} ms: "
          f"ratio {settle / bare:.2f}; p90 settle {statistics.quantiles(d['settles'], n=10)[-1]:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
