"""One self-contained report.html comparing runs side by side, one section per evaluation task.

Over 400 lines on purpose: one section function per evaluation task, all sharing the small HTML helpers here.

Self-contained means it opens offline: plotly.js is inlined once (from the installed plotly package, never a CDN), each
figure is a <div> + script that uses it, and images are base64 PNG data URIs. Every section states the split and n
of its numbers and shows the baseline that gives them meaning beside them.

Input: ``ReportRun`` per run (its metrics.json content and the few arrays the figures need) and ``ReportData`` (what
the runs share: the dataset's labels, the held-out mask, the original faces of the reconstruction grid).
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.data.emotions import ALL_EMOTIONS, EMOTION_COLOURS
from models.data.transfer import affectnet_ellipses
from models.eval.htmlparts import _e, _f, _fig_html, _table
from models.eval.report_chunks import section_leakage, section_polar
from models.io import atomic_write

SECTIONS = (
    "1. Reconstructions",
    "2. Alignment: heads against labels",
    "3. Emotion prediction from the latent chunks",
    "4. Regression: z_v to V, z_a to A",
    "5. Inverse regression: z_v to A, z_a to V",
    "6. Leakage: what each chunk holds",
    "7. t-SNE of z_v and z_a",
    "8. The circumplex: predicted against labelled VA",
    "9. Edit fidelity",
    "10. Edits all round the circle",
    "11. What an eye sees",
)
REPORT_POINTS = 5000  # points per t-SNE panel in the report (WebGL copes with more; the file size does not)
CIRCUMPLEX_POINTS = 2000


@dataclass
class ReportRun:
    name: str
    metrics: dict  # the run's metrics.json
    recon: np.ndarray | None = None  # (k, 3, 64, 64) uint8 reconstructions of ReportData.originals
    proj: dict | None = None  # projections.npz arrays (ids, tsne_v, tsne_a, ...)
    va_head: np.ndarray | None = None  # (N, 2) head VA for every dataset row
    strip: np.ndarray | None = None  # (rows, cols, 3, 64, 64) uint8 edited faces (models.eval.fidelity)
    strip_targets: np.ndarray | None = None  # (cols, 2) their VA targets
    edits: np.ndarray | None = None  # (len(edit_names), k, 3, 64, 64) uint8: the grid faces edited to fixed targets
    edit_names: tuple[str, ...] = ()  # what each row of ``edits`` was edited to


@dataclass
class ReportData:
    dataset: str
    va: np.ndarray  # (N, 2) labels
    emotions: np.ndarray  # (N,) names
    heldout_mask: np.ndarray  # (N,) bool
    heldout: str  # its name
    originals: np.ndarray  # (k, 3, 64, 64) uint8 held-out faces shown in the reconstruction grid
    command: str = ""
    notes: list[str] = field(default_factory=list)


# --- small HTML helpers -----------------------------------------------------------------------------------------------
def png_data_uri(img: np.ndarray) -> str:
    """(3, H, W) or (H, W, 3) uint8 -> data:image/png;base64,..."""
    from PIL import Image

    a = np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    buf = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _grid(faces: np.ndarray, nrow: int, scale: int = 1) -> np.ndarray:
    """(B, 3, 64, 64) uint8 -> (3, H, W) uint8 via torchvision.utils.make_grid, optionally upscaled."""
    import torch

    from models._torchvision import torchvision

    t = torch.from_numpy(np.ascontiguousarray(faces))
    g = torchvision.utils.make_grid(t, nrow=nrow, padding=2, pad_value=255).numpy()
    if scale > 1:
        g = g.repeat(scale, 1).repeat(scale, 2)
    return g


def _sn(d: dict | None) -> str:
    """'split val, n = 1,987' from a result dict."""
    if not d or "split" not in d:
        return ""
    extra = f", fitted on n = {d['n_train']:,} training rows" if "n_train" in d else ""
    return f"split {d['split']}, n = {d['n']:,}{extra}"


# --- sections ---------------------------------------------------------------------------------------------------------
def _section_recon(runs: list[ReportRun], data: ReportData) -> str:
    k = len(data.originals)
    rows = [("originals", data.originals)] + [(r.name, r.recon) for r in runs if r.recon is not None]
    imgs = "".join(
        f'<tr><th class="rowname">{_e(name)}</th><td><img class="grid" alt="{_e(name)}" '
        f'src="{png_data_uri(_grid(faces, nrow=k, scale=2))}"></td></tr>'
        for name, faces in rows
    )
    t_rows = []
    base = None
    for r in runs:
        rec = r.metrics.get("reconstruction", {})
        base = rec.get("mean_image_mse", base)
        t_rows.append([r.name, r.metrics.get("kind", ""), _f(rec.get("recon_mse"), 5), _f(rec.get("mean_image_mse"), 5),
                       _sn(rec)])
    ratio = ""
    kinds = {r.metrics.get("kind"): r for r in runs}
    if "levasa" in kinds and "vanilla" in kinds:
        lv = kinds["levasa"].metrics["reconstruction"]["recon_mse"]
        va = kinds["vanilla"].metrics["reconstruction"]["recon_mse"]
        ratio = f"<p>LeVAsa / vanilla recon MSE: <b>{lv / va:.3f}</b> (same faces, same split).</p>"
    return (
        f"<p>The same {k} {data.heldout} faces (top row) and each run's reconstruction from its latent mean. "
        "Baseline: the mean training image, the MSE of a model that reconstructs nothing.</p>"
        f'<table class="images">{imgs}</table>'
        + _table(["run", "kind", "recon MSE", "mean-image MSE (baseline)", "split, n"], t_rows)
        + ratio
    )


_AFFECT_COLS = ("ccc", "pcc", "rmse", "mae", "sagr")


def _affect_row(name: str, m: dict) -> list:
    return [name] + [_f(m[ax][c]) for c in _AFFECT_COLS for ax in ("valence", "arousal")]


def _section_alignment(runs: list[ReportRun], data: ReportData) -> str:
    header = ["predictor"] + [f"{c.upper()} {ax}" for c in _AFFECT_COLS for ax in ("v", "a")]
    rows, sn = [], ""
    const = None
    for r in runs:
        al = r.metrics.get("alignment", {})
        if not al:
            continue
        sn = sn or _sn(al)
        rows.append(_affect_row(f"{r.name}: heads", al["heads"]))
        rows.append(_affect_row(f"{r.name}: linear probe (Ridge z_v→V, z_a→A)", al["linear_probe"]["metrics"]))
        if "heads_vs_centre" in al:
            rows.append(_affect_row(f"{r.name}: heads vs category centre", al["heads_vs_centre"]["metrics"]))
        const = al.get("constant", const)
    if const:
        rows.append(_affect_row("constant (training-split mean)", const))
    return (
        f"<p>{_e(sn)}. Heads: each run's own projection heads on its latent means. Linear probe: Ridge fitted on the "
        "training split (features standardised with training statistics, alpha by leave-one-out CV), the read-out any "
        "latent space offers. Constant: the training mean, whose CCC and PCC are 0 by definition. "
        "'vs category centre': the heads against the centre of the row's emotion ellipse (AffectNet) instead of the "
        "sampled label — for datasets whose VA came from annotation transfer.</p>"
        + _table(header, rows)
    )


def _section_emotion(runs: list[ReportRun], data: ReportData) -> str:
    ems = [(r.name, r.metrics.get("emotion")) for r in runs if r.metrics.get("emotion")]
    if not ems:
        return "<p>Not computed.</p>"
    first = ems[0][1]
    header = ["features", "classifier"] + [f"{n}: {m}" for n, _ in ems for m in ("accuracy", "macro-F1")]
    rows = [["—", f"majority class ({first['majority']['label']})"]
            + [v for _, e in ems for v in (_f(e["majority"]["accuracy"]), _f(e["majority"]["macro_f1"]))]]
    for fs, row in first["results"].items():
        for clf in row:
            cells = [fs, _clf_name(clf, row[clf])]
            for _, e in ems:
                res = e["results"].get(fs, {}).get(clf)
                cells += [_f(res["accuracy"]), _f(res["macro_f1"])] if res else ["–", "–"]
            rows.append(cells)
    dropped = first.get("dropped_classes") or {}
    note = (f" Too rare to train on (fewer than 6 training rows; their held-out rows count as errors): "
            f"{', '.join(f'{k} ({v})' for k, v in dropped.items())}." if dropped else "")
    return (
        f"<p>{_e(_sn(first))}; {len(first['classes'])} classes. Hyperparameters by 3-fold CV on the training split; "
        "features standardised with training statistics. Baseline: always the training split's majority class."
        f"{_e(note)}</p>" + _table(header, rows)
    )


def _clf_name(name: str, res: dict) -> str:
    label = {"tree": "decision tree", "svm": "SVM (RBF)", "mlp": "MLP", "ridge": "Ridge", "lasso": "Lasso",
             "svr": "SVR (RBF)"}.get(name, name)
    params = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in res.get("params", {}).items())
    fit = f", fit on {res['n_fit']:,}" if "n_fit" in res else ""
    return f"{label} ({params}{fit})" if params or fit else label


def _section_regression(runs: list[ReportRun], key: str, what: str) -> str:
    regs = [(r.name, r.metrics.get(key)) for r in runs if r.metrics.get(key)]
    if not regs:
        return "<p>Not computed.</p>"
    first = regs[0][1]
    header = ["task", "model"] + [f"{n}: {m}" for n, _ in regs for m in ("EV", "R²")]
    rows = []
    for task, row in first["results"].items():
        rows.append([task, "constant (training mean)"] + [
            v for _, g in regs for v in (_f(g["constant"][task]["ev"]), _f(g["constant"][task]["r2"]))
        ])
        for model in row:
            cells = [task, _clf_name(model, row[model])]
            for _, g in regs:
                res = g["results"].get(task, {}).get(model)
                cells += [_f(res["ev"]), _f(res["r2"])] if res else ["–", "–"]
            rows.append(cells)
    return (
        f"<p>{_e(_sn(first))}. {what} Explained variance (EV) and R² on the held-out split; hyperparameters by 3-fold "
        "CV on the training split only; kernel SVR fitted on a seeded subsample when the training split is larger "
        "(n in the model name). Baseline: the training mean (EV 0, R² ≤ 0).</p>"
        + _table(header, rows)
    )


def _subsample(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(np.random.default_rng(seed).choice(n, k, replace=False))


def _emotion_traces(go, x, y, emotions, showlegend: bool, legendgroup_prefix: str = ""):
    out = []
    for emo in [e for e in ALL_EMOTIONS if e in set(emotions)]:
        m = emotions == emo
        out.append(go.Scattergl(x=x[m], y=y[m], mode="markers", name=emo, legendgroup=legendgroup_prefix + emo,
                                showlegend=showlegend, marker={"size": 3, "color": EMOTION_COLOURS.get(emo, "#333")}))
    return out


def _section_tsne(runs: list[ReportRun], data: ReportData) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    parts = []
    for r in runs:
        p = r.proj
        if p is None or len(p.get("tsne_v", ())) == 0:
            parts.append(f"<h3>{_e(r.name)}</h3><p>t-SNE not computed for this run (--no-tsne).</p>")
            continue
        ids = np.asarray(p["ids"])
        pick = _subsample(len(ids), REPORT_POINTS)
        rows = ids[pick]
        emo, va = data.emotions[rows], data.va[rows]
        fig = make_subplots(2, 2, subplot_titles=("z_v by emotion", "z_v by valence", "z_a by emotion",
                                                  "z_a by arousal"), horizontal_spacing=0.06, vertical_spacing=0.08)
        for i, (chunk, axis, col) in enumerate((("tsne_v", "valence", 0), ("tsne_a", "arousal", 1))):
            xy = np.asarray(p[chunk], np.float32)[pick]
            for t in _emotion_traces(go, xy[:, 0], xy[:, 1], emo, showlegend=i == 0):
                fig.add_trace(t, i + 1, 1)
            fig.add_trace(go.Scattergl(
                x=xy[:, 0], y=xy[:, 1], mode="markers", name=axis, showlegend=False,
                marker={"size": 3, "color": va[:, col].astype(np.float32), "colorscale": "RdBu", "cmin": -1, "cmax": 1,
                        "colorbar": {"title": {"text": "V / A"}, "len": 0.9} if i == 0 else None,
                        "showscale": i == 0},
            ), i + 1, 2)
        fig.update_xaxes(showticklabels=False)
        fig.update_yaxes(showticklabels=False)
        fig.update_layout(height=760, margin={"l": 10, "r": 10, "t": 40, "b": 10}, template="plotly_white",
                          legend={"itemsizing": "constant"})
        n_all = int(r.metrics.get("projections", {}).get("n", len(ids)))
        parts.append(f'<div class="fig"><h3>{_e(r.name)}</h3><p class="small">t-SNE of {n_all:,} latents (all splits); '
                     f"{len(rows):,} drawn.</p>{_fig_html(fig)}</div>")
    return (
        "<p>t-SNE (openTSNE, perplexity 30, PCA initialisation) of the latent means of every dataset row, each chunk "
        "on its own. A chunk that carries valence shows a smooth valence gradient; the vanilla model's chunks are the "
        "baseline: the same map for a latent space not trained to hold VA there.</p>"
        f'<div class="figrow">{"".join(parts)}</div>'
    )


def _ellipse_traces(go, showlegend: bool):
    t = np.linspace(0, 2 * np.pi, 80)
    out = [go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", line={"color": "#bbb", "width": 1}, hoverinfo="skip",
                      showlegend=False)]
    for name, e in affectnet_ellipses().items():
        out.append(go.Scatter(x=e.mu_v + e.s_v * np.cos(t), y=e.mu_a + e.s_a * np.sin(t), mode="lines",
                              line={"color": EMOTION_COLOURS[name], "width": 2}, name=f"{name} ellipse",
                              legendgroup="ell" + name, showlegend=showlegend, hoverinfo="name"))
    return out


def _section_circumplex(runs: list[ReportRun], data: ReportData) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    held = np.flatnonzero(data.heldout_mask)
    pick = held[_subsample(len(held), CIRCUMPLEX_POINTS, 1)]
    parts = []
    for r in runs:
        if r.va_head is None:
            continue
        fig = make_subplots(1, 2, subplot_titles=("labels", f"{r.name}: heads"), horizontal_spacing=0.05)
        for c, va in enumerate((data.va[pick], np.asarray(r.va_head)[pick])):
            for t in _ellipse_traces(go, showlegend=c == 0):
                fig.add_trace(t, 1, c + 1)
            for t in _emotion_traces(go, va[:, 0], va[:, 1], data.emotions[pick], showlegend=c == 0):
                fig.add_trace(t, 1, c + 1)
        fig.update_xaxes(range=[-1.1, 1.1], title_text="valence", zeroline=True)
        fig.update_yaxes(range=[-1.1, 1.1], title_text="arousal", scaleanchor="x", zeroline=True)
        fig.update_yaxes(scaleanchor="x2", row=1, col=2)
        fig.update_layout(height=460, margin={"l": 10, "r": 10, "t": 40, "b": 10}, template="plotly_white",
                          legend={"itemsizing": "constant"})
        al = r.metrics.get("alignment", {})
        ccc = al.get("heads", {})
        note = (f"heads CCC v {_f(ccc['valence']['ccc'])}, a {_f(ccc['arousal']['ccc'])}" if ccc else "")
        parts.append(f'<div class="fig wide"><p class="small">{_e(note)}</p>{_fig_html(fig)}</div>')
    return (
        f"<p>split {_e(data.heldout)}, {len(pick):,} of n = {len(held):,} faces drawn. Left: the labels; right: what "
        "each run's heads read from the face. The unit circle and the AffectNet category ellipses (centre = mean, "
        "semi-axes = std) are drawn in both; the baseline (a constant) would be one point.</p>"
        f'<div class="figrow">{"".join(parts)}</div>'
    )


def _section_fidelity(runs: list[ReportRun], data: ReportData) -> str:
    rows, strips = [], []
    for r in runs:
        fid = r.metrics.get("edit_fidelity") or {}
        if "heads" not in fid:
            rows.append([r.name, fid.get("skipped", "not computed")] + ["–"] * 10)
            continue
        h, j = fid["heads"], fid["judge"]
        cells = [_f(m[ax][c]) for m in (h, j) for c in ("ccc", "rmse") for ax in ("valence", "arousal")]
        rows.append([r.name, f"{fid['n_faces']:,} faces, {fid['n_edits']:,} edits", *cells,
                     _f(fid["zz_shift"]), _f(fid["identity_shift"])])
        if r.strip is not None:
            s = np.asarray(r.strip)
            cols = s.shape[1]
            heads = "".join(f"<th>V {t[0]:+.2f}<br>A {t[1]:+.2f}</th>" for t in np.asarray(r.strip_targets))
            strips.append(f'<h3>{_e(r.name)}</h3><table class="strip"><tr>{heads}</tr><tr><td colspan="{cols}">'
                          f'<img class="grid" alt="{_e(r.name)} edits" '
                          f'src="{png_data_uri(_grid(s.reshape(-1, *s.shape[2:]), nrow=cols, scale=2))}"></td></tr>'
                          "</table>")
    header = ["run", "n (split " + data.heldout + ")", "heads CCC v", "heads CCC a", "heads RMSE v", "heads RMSE a",
              "judge CCC v", "judge CCC a", "judge RMSE v", "judge RMSE a", "z_z shift", "identity shift"]
    return (
        f"<p>Held-out ({_e(data.heldout)}) faces edited to VA targets spread over the plane (z_v and z_a moved, z_z "
        "kept), decoded, then judged twice: by the run's own heads after re-encoding, and by an independent VA "
        "regressor (a small CNN trained on the same training split, never part of the VAE). Baseline: an edit that "
        "changes nothing scores CCC 0 in expectation, because targets are drawn independently of the faces. "
        "z_z shift: mean |Δz_z| over the std of z_z. Identity shift: pixel MSE outside the expression box between the "
        "edited face and its unedited reconstruction, over the same between two different faces (0 = only the "
        "expression moved; 1 = as different as another person).</p>"
        + _table(header, rows) + "".join(strips)
    )


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1500px;color:#222;
padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
table{border-collapse:collapse;margin:10px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f6f6f6}td:first-child,td:nth-child(2){text-align:left}table.images td,table.images th{border:none}
th.rowname{text-align:right;background:none;font-weight:600}img.grid{image-rendering:pixelated;max-width:100%}
.figrow{display:flex;flex-wrap:wrap;gap:16px}.fig{flex:1 1 640px;min-width:520px}.fig.wide{flex:1 1 900px}
.small{color:#666;font-size:12px}table.strip th{font-weight:400;font-size:11px}
"""


_IQ_ROWS = (  # (label, how to read it from metrics["image_quality"], the originals' value)
    ("sharpness: 5-16 px energy over the originals'", lambda q: q["sharpness"]["recon"], "1.000"),
    ("grid: 2-4 px energy over the originals' (above 1: artefacts)", lambda q: q["grid_ratio"]["recon"], "1.000"),
    ("judge agreement, valence (CCC)", lambda q: q["judge_agree"]["valence"], "1.000"),
    ("judge agreement, arousal (CCC)", lambda q: q["judge_agree"]["arousal"], "1.000"),
    ("Fréchet judge distance to the originals (lower is better)", lambda q: q["fjd"]["recon"],
     "two halves of the originals"),
    ("Fréchet judge distance, decoded prior samples", lambda q: q["fjd"]["prior_samples"], ""),
    ("identity top-1 by the judge's features", lambda q: q["identity_top1"]["judge"], "near copies"),
    ("identity top-1 by pixel correlation", lambda q: q["identity_top1"]["pixel"], "1.000"),
    ("edit seam ratio (1: no box edge shows)", lambda q: q["edit_seam_ratio"]["mean"], "1.000"),
)


def faces_grid(runs: list[ReportRun], data: ReportData, scale: int = 2) -> tuple[np.ndarray, list[str]]:
    """One picture of what the figures mean: the held-out originals, then per run its reconstructions and the same
    faces edited to fixed targets. Returns ((3, H, W) uint8, the row labels)."""
    rows, labels = [data.originals], ["originals"]
    for r in runs:
        if r.recon is None:
            continue
        rows.append(r.recon)
        labels.append(f"{r.name}: reconstruction")
        for name, faces in zip(r.edit_names, r.edits if r.edits is not None else []):
            rows.append(faces)
            labels.append(f"{r.name}: edited to {name}")
    k = len(data.originals)
    return _grid(np.concatenate(rows), nrow=k, scale=scale), labels


def _section_image_quality(runs: list[ReportRun], data: ReportData) -> str:
    grid, labels = faces_grid(runs, data)
    picture = (f'<p class="small">Rows, top to bottom: {_e("; ".join(labels))}.</p>'
               f'<img class="grid" alt="held-out faces, reconstructions and edits" src="{png_data_uri(grid)}">')
    qs = [(r.name, r.metrics.get("image_quality", {})) for r in runs]
    qs = [(n, q) for n, q in qs if "n" in q]
    if not qs:
        return picture + "<p>Figures not computed (they need the judge: run without --no-fidelity).</p>"
    first = qs[0][1]
    half = _f(first["fjd"]["originals_half_vs_half"], 2)
    from models.eval.image_quality import near_copies_text  # here: the report module stays free of torch

    reference = {"two halves of the originals": f"{half} (two halves)",
                 "near copies": near_copies_text(first["identity_top1"]) or "1.000"}
    rows = [[label, reference.get(orig, orig)] + [_f(get(q), 3) for _, q in qs] for label, get, orig in _IQ_ROWS]
    return (
        f"<p>split {_e(first['split'])}, n = {first['n']:,} faces per run (identity: among a pool of "
        f"{first['identity_top1']['pool']:,}, chance {first['identity_top1']['chance']:.4f}). The figures look at the "
        "decoded faces themselves: how much of the originals' detail survives, whether the decoder's stride shows as a "
        "grid, whether the independent judge reads the same expression, and whether an edit leaves the expression "
        "box's edge in the face. The originals are the ceiling; vanilla beside LeVAsa shows what alignment costs.</p>"
        + _table(["figure", "originals"] + [n for n, _ in qs], rows) + picture
    )


def build_report(runs: list[ReportRun], data: ReportData) -> str:
    """The whole report as one HTML string."""
    from plotly.offline import get_plotlyjs

    bodies = (
        _section_recon(runs, data),
        _section_alignment(runs, data),
        _section_emotion(runs, data),
        _section_regression(runs, "regression", "Does z_v hold valence and z_a arousal, beyond a linear read-out?"),
        _section_regression(runs, "inverse_regression",
                            "How much of the other axis leaks into each chunk (lower is more disentangled)."),
        section_leakage(runs, data),
        _section_tsne(runs, data),
        _section_circumplex(runs, data),
        _section_fidelity(runs, data),
        section_polar(runs, data),
        _section_image_quality(runs, data),
    )
    overview = _table(
        ["run", "kind", "label mode", "epochs", "dataset", "held-out split, n"],
        [[r.name, r.metrics.get("kind", ""), r.metrics.get("label_mode", ""), r.metrics.get("epochs", ""),
          data.dataset, f"{data.heldout}, {int(data.heldout_mask.sum()):,}"] for r in runs],
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in data.notes)
    sections = "".join(
        f'<section id="s{i + 1}"><h2>{_e(title)}</h2>{body}</section>' for i, (title, body) in enumerate(zip(SECTIONS,
                                                                                                          bodies))
    )
    toc = " · ".join(f'<a href="#s{i + 1}">{_e(t.split(". ", 1)[1])}</a>' for i, t in enumerate(SECTIONS))
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>LeVAsa evaluation: {_e(', '.join(r.name for r in runs))}</title>"
        f"<style>{CSS}</style><script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"<h1>LeVAsa evaluation: {_e(', '.join(r.name for r in runs))}</h1>"
        f"<p class=\"small\">{_e(stamp)} · {_e(data.command)}</p>{overview}"
        + (f"<ul class=\"small\">{notes}</ul>" if notes else "")
        + f"<p>{toc}</p>{sections}</body></html>\n"
    )


def write_report(path: Path, runs: list[ReportRun], data: ReportData) -> Path:
    """Build the report and write it atomically (temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(runs, data)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def write_faces_png(path: Path, runs: list[ReportRun], data: ReportData) -> Path:
    """faces_grid at 1x as a PNG beside the report (atomic), for the docs: the same faces for every run."""
    from PIL import Image

    grid, _ = faces_grid(runs, data, scale=1)
    path = Path(path)
    atomic_write(path, lambda tmp: Image.fromarray(grid.transpose(1, 2, 0)).save(tmp, format="PNG", optimize=True))
    return path
