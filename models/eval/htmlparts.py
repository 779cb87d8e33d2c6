"""The small HTML helpers every report section uses (models.eval.report, models.eval.report_chunks)."""

from __future__ import annotations

import html

import numpy as np


def _e(s) -> str:
    return html.escape(str(s))


def _f(x, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, int | np.integer):
        return f"{x:,}"
    return f"{round(float(x), nd) + 0.0:.{nd}f}" if np.isfinite(x) else "–"  # + 0.0: no "-0.000"


def _table(header: list[str], rows: list[list], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(c if isinstance(c, str) and c.startswith("<td") else f"<td>{_e(c)}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fig_html(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
