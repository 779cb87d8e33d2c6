"""The report's sections on what each latent chunk holds (the leakage matrix) and on edits all round the circle (the
polar grid); models.eval.report puts them in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.eval.htmlparts import _e, _f, _fig_html, _table

if TYPE_CHECKING:
    from models.eval.report import ReportData, ReportRun

FACTORS = (("valence", "r2", "R²"), ("arousal", "r2", "R²"), ("emotion", "accuracy", "acc"), ("identity", "r2", "R²"))


def section_leakage(runs: list[ReportRun], data: ReportData) -> str:
    """Chunk x factor, per run, each cell beside its floor (what the chunk's own factor already tells)."""
    out = []
    for r in runs:
        lk = r.metrics.get("leakage") or {}
        if "cells" not in lk:
            continue
        factors = [f for f in FACTORS if f[0] in lk["cells"]["z_v"]]
        rows = []
        for chunk, cells in lk["cells"].items():
            floors = lk["floors"].get(chunk, {})
            row = [chunk]
            for name, key, _ in factors:
                value = _f(cells[name][key])
                own = {"z_v": "valence", "z_a": "arousal", "z_z": "identity"}[chunk] == name
                floor = "own factor" if own else (f"floor {_f(floors[name])}" if name in floors else "floor 0")
                row.append(f"<td>{value} <span class=small>({_e(floor)})</span></td>")
            rows.append(row)
        header = ["chunk"] + [f"{n} ({unit})" for n, _, unit in factors]
        zvza = lk["emotion_from_zv_za"]["accuracy"]
        out.append(f"<h3>{_e(r.name)}</h3>" + _table(header, rows)
                   + f"<p class=small>emotion from [z_v, z_a]: {_f(zvza)} (from the labels V, A themselves "
                   f"{_f(lk['floors']['va_emotion'])}; majority class {_f(lk['majority']['accuracy'])}). Probes fitted "
                   f"on {lk['n_fit']:,} training rows, scored on n = {lk['n']:,} {_e(data.heldout)} rows.</p>")
    if not out:
        return "<p>Not computed for these runs.</p>"
    return (
        "<p>What each chunk holds, read by fresh probes fitted on the training split after training (the better of a "
        "Ridge or logistic regression and an MLP) and scored on the held-out split. z_v should hold valence, z_a "
        "arousal, z_z what is not affect (on synthetic faces: the identity factors the generator drew). Each cell's "
        "floor is what the chunk's own factor already tells of it (valence predicts some arousal in any dataset); a "
        "value above it is leakage. Lower is better off the chunk's own factor, higher on it.</p>" + "".join(out)
    )


def section_polar(runs: list[ReportRun], data: ReportData) -> str:
    """Per-sector angular error and strength rank correlation, as a table and a polar plot per run."""
    import plotly.graph_objects as go

    rows, fig = [], go.Figure()
    for r in runs:
        pol = r.metrics.get("polar") or {}
        if "sectors" not in pol:
            continue
        sectors = pol["sectors"]
        centres = [s["from_deg"] + 22.5 for s in sectors]
        errs = [s["angle_err_deg"] for s in sectors]
        fig.add_trace(go.Barpolar(r=errs, theta=centres, width=[45] * len(sectors), name=r.name, opacity=0.55))
        rows.append([r.name, f"{pol['n_faces']} faces, {pol['n_edits']:,} edits"]
                    + [f"{s['angle_err_deg']:.1f}° / {_f(s['strength_rho'], 2)}" for s in sectors]
                    + [f"{pol['worst_sector_deg']:.1f}° ({pol['worst_sector']})", _f(pol["strength_rho_worst"], 2),
                       f"{pol['unedited_worst_sector_deg']:.1f}°"])
    if not rows:
        return "<p>Not computed (it needs the judge: run without --no-fidelity).</p>"
    first = next(r.metrics["polar"] for r in runs if "sectors" in (r.metrics.get("polar") or {}))
    sectors = [f"{s['from_deg']}-{s['to_deg']}°" for s in first["sectors"]]
    fig.update_layout(polar={"radialaxis": {"title": {"text": "mean angular error (deg)"}}, "angularaxis":
                             {"rotation": 0, "direction": "counterclockwise"}},
                      height=460, margin={"l": 30, "r": 30, "t": 30, "b": 30}, title="angular error per sector")
    return (
        f"<p>Held-out ({_e(data.heldout)}) faces edited to {first['directions']} directions x strengths "
        f"{', '.join(str(s) for s in first['strengths'])} (angle 0 = +valence, 90° = +arousal), read by the "
        "independent judge. Per 45° sector: the mean angle between the target's direction and the judged VA's, and the "
        "Spearman correlation of the judged strength |VA| with the target strength. A dead sector shows as a large "
        "error and a correlation near 0; the last column is an edit that changes nothing (the unedited "
        "reconstruction read against the same targets).</p>"
        + _table(["run", "n"] + sectors + ["worst sector", "worst strength rho", "unedited, worst"], rows)
        + _fig_html(fig)
    )

