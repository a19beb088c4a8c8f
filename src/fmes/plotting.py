"""Figure helpers: one style, PNG + PDF written atomically with no run-dependent metadata."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from fmes.io import _atomic  # noqa: E402

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
