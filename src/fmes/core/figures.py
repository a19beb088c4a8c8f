"""Figure helpers: one style, PNG + PDF written atomically with no run-dependent metadata, and
the one way to say why a figure is empty (:func:`placeholder_figure`,
:func:`save_figure_or_placeholder`). The figures themselves are drawn in one module per stage
(``fmes.<stage>.figures``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fmes.core.io import atomic_path  # noqa: E402

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
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, metadata=_NO_METADATA[fmt])
    plt.close(fig)
    return png, pdf


def resistance_colors(labels: list[str]) -> dict[str, tuple]:
    """A stable colour per resistance label (ordered low R -> open)."""
    cmap = plt.get_cmap("viridis")
    n = max(len(labels) - 1, 1)
    return {label: cmap(i / n) for i, label in enumerate(labels)}


def placeholder_figure(title: str, reason: str) -> plt.Figure:
    """A figure that states what was skipped and why (so no figure is silently missing)."""
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, f"skipped: {reason}", ha="center", va="center", wrap=True, fontsize=9)
    return fig


def save_figure_or_placeholder(
    path_png: str | os.PathLike, title: str, reason: str | None, draw: Callable[[], plt.Figure]
) -> tuple[Path, Path]:
    """:func:`save_figure` of ``draw()``, or, when ``reason`` is given (the data do not allow the
    figure), of the :func:`placeholder_figure` titled ``title`` that states it; ``draw`` is
    then not called."""
    fig = placeholder_figure(title, reason) if reason else draw()
    return save_figure(fig, path_png)
