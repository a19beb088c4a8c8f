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


def calibration_figure(params, table, conditions) -> plt.Figure:
    """Model against the paper's numbers, under the conditions their targets state
    (``fmes.calibration.ModelConditions``): I-V loops (Fig 2b), the two-pulse trace (Fig 3c) and
    the relative error of every numeric calibration target."""
    from fmes import device as dev
    from fmes.traces import legend_label

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    paper = table.set_index("target_id")["paper_value"]
    reads = {
        target_id: getattr(conditions, target_id)
        for target_id in ("iv_current_0p6V_500ohm", "iv_current_0p6V_8000ohm")
    }
    for read in reads.values():
        iv = dev.iv_sweep_stimulus(read.v_max_V, read.sweep_rate_V_per_s, 401)
        current = dev.respond(params, read.resistance_ohm, iv)[0]
        label = legend_label(read.resistance_label[0])
        axes[0].plot(iv.drive.value(iv.time_s), current * 1e3, label=f"model, {label}")
    axes[0].plot(
        [read.v_target_V for read in reads.values()],
        [paper[target_id] * 1e3 for target_id in reads],
        "k*",
        ms=10,
        label="paper (Fig 2b)",
    )
    rates = sorted({f"{read.sweep_rate_V_per_s * 1e3:g}" for read in reads.values()})
    axes[0].set(xlabel="voltage (V)", ylabel="current (mA)", title=f"I–V, {', '.join(rates)} mV/s")
    axes[0].legend()
    pair = conditions.ppf_A1_7000ohm  # A2 is read from the same two pulses
    # drawn from 2 ms before the first pulse to 30 ms after the second, finely sampled
    ppf = dev.ppf_stimulus(
        pair.amplitude_A,
        pair.width_s,
        pair.interval_s,
        0.002,
        0.03,
        samples_per_pulse=40,
        samples_per_gap=60,
    )
    u = dev.respond(params, pair.resistance_ohm, ppf)[0]
    axes[1].plot(ppf.time_s * 1e3, u, label=f"model, {legend_label(pair.resistance_label[0])}")
    axes[1].axhline(paper["ppf_A1_7000ohm"], color="k", ls=":", label="paper A1")
    axes[1].axhline(paper["ppf_A2_7000ohm"], color="k", ls="--", label="paper A2")
    axes[1].set(
        xlabel="time (ms)",
        ylabel="PSV (V)",
        title=f"two {pair.amplitude_A * 1e3:g} mA, {pair.width_s * 1e3:g} ms pulses, "
        f"Δt = {pair.interval_s * 1e3:g} ms",
    )
    axes[1].legend()
    numeric = table[table["comparison"] == "equal"]
    colors = ["tab:green" if ok else "tab:red" for ok in numeric["passed"]]
    axes[2].barh(numeric["target_id"], numeric["relative_error"] * 100, color=colors)
    axes[2].axvline(0, color="k", lw=0.8)
    axes[2].set(
        xlabel="model − paper (% of paper)", title="numeric targets (red: outside tolerance)"
    )
    return fig


def comparison_figure(table) -> plt.Figure:
    """The paper-versus-reproduction table at a glance: relative difference of every numeric
    value (bar, with the target's tolerance as a grey band) and the verdict on every claim."""
    import numpy as np

    status_color = {"pass": "tab:green", "fail": "tab:red", "not evaluated": "tab:gray"}
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
            ax.plot(0, yi, marker="o" if status == "pass" else "X", color=color, ms=8)
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
    ax.set_title("Paper vs reproduction (green: pass, red: fail, grey: not evaluated)")
    return fig
