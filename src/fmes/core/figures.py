"""Figure helpers: one style, PNG + PDF written atomically with no run-dependent metadata."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fmes.core.io import _atomic  # noqa: E402

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "font.size": 9,
        "axes.titlesize": 10,
        "legend.fontsize": 8,
        "svg.hashsalt": "fmes",
    }
)

# Matplotlib stamps PNG/PDF files with creation dates unless told not to; these keys keep
# figures byte-identical between runs.
_NO_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}


def save_figure(fig: plt.Figure, path_png: str | os.PathLike) -> tuple[Path, Path]:
    """Save ``fig`` as ``path_png`` and the same name with ``.pdf``; close the figure."""
    png = Path(path_png)
    pdf = png.with_suffix(".pdf")
    fig.tight_layout()
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        _atomic(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, metadata=_NO_METADATA[fmt]))
    plt.close(fig)
    return png, pdf


def resistance_colors(labels: list[str]) -> dict[str, tuple]:
    """A stable colour per resistance label (ordered low R -> open)."""
    cmap = plt.get_cmap("viridis")
    n = max(len(labels) - 1, 1)
    return {label: cmap(i / n) for i, label in enumerate(labels)}


def comparison_figure(table) -> plt.Figure:
    """The paper-versus-reproduction table at a glance: relative difference of every numeric
    value (bar, with the target's tolerance as a grey band) and the verdict on every claim."""
    import numpy as np

    status_color = {
        "pass": "tab:green",
        "fail": "tab:red",
        "inconclusive": "tab:orange",
        "not evaluated": "tab:gray",
    }
    n = len(table)
    fig, ax = plt.subplots(figsize=(9, 0.32 * n + 1.2))
    y = np.arange(n)[::-1]
    rel = table["relative_difference"].to_numpy(dtype=float) * 100
    tol = table["tolerance_rel"].to_numpy(dtype=float) * 100
    for yi, r, t, status, comparison in zip(
        y, rel, tol, table["status"], table["comparison"], strict=True
    ):
        color = status_color.get(status, "k")
        if np.isfinite(t):
            ax.barh(yi, 2 * t, left=-t, color="0.9", height=0.8)
        if np.isfinite(r):
            ax.barh(yi, np.clip(r, -150, 150), color=color, height=0.5)
        else:
            marker = {"pass": "o", "inconclusive": "s"}.get(status, "X")
            ax.plot(0, yi, marker=marker, color=color, ms=8)
        if comparison in ("greater", "less") and np.isfinite(r):
            ax.text(np.clip(r, -150, 150), yi, f"  ({comparison})", va="center", fontsize=7)
    ax.set_yticks(
        y, [f"{tid} [{st}]" for tid, st in zip(table["target_id"], table["stage"], strict=True)]
    )
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlim(-155, 155)
    ax.set_xlabel(
        "reproduced − paper (% of the paper's value; grey: tolerance; dots: trends/claims)"
    )
    ax.set_title(
        "Paper vs reproduction (green: pass, red: fail, orange: inconclusive, grey: not evaluated)"
    )
    return fig
