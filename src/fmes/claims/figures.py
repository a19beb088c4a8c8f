"""The claims stage's figures: paper versus reproduction, the claims under every update scheme
and the learning-rate searches behind them (drawn from their tables; the rule scripts save them
with :func:`fmes.core.figures.save_figure`)."""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from fmes.core.figures import plt
from fmes.core.status import Status


def comparison_figure(table: pd.DataFrame) -> plt.Figure:
    """The paper-versus-reproduction table at a glance: relative difference of every numeric
    value (bar, with the target's tolerance as a grey band) and the verdict on every claim."""
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


def robustness_figure(table: pd.DataFrame) -> plt.Figure:
    """Claims x variants (a row per state for a claim judged per state), coloured by the cell's
    verdict (green holds, grey inconclusive, red fails), value +- interval."""
    states = table["state"].fillna("").astype(str) if "state" in table else ""
    labels = table["claim"].where(states == "", table["claim"] + " [" + states + "]")
    claims = list(dict.fromkeys(labels))
    variants = list(dict.fromkeys(table["variant"]))
    grid = np.full((len(claims), len(variants)), np.nan)
    fig, ax = plt.subplots(figsize=(1.9 * len(variants) + 3.5, 0.7 * len(claims) + 1.8))
    for label, row in zip(labels, table.itertuples(index=False), strict=True):
        i, j = claims.index(label), variants.index(row.variant)
        grid[i, j] = {"fails": 0.0, "inconclusive": 1.0, "holds": 2.0}[row.cell_verdict]
        half = (row.value_ci95_high - row.value_ci95_low) / 2
        text = f"{row.value_mean:.3f}" + (f"\n± {half:.3f}" if np.isfinite(half) else "")
        text += " *" if row.status == str(Status.FLAGGED) else ""
        ax.text(j, i, text, ha="center", va="center", fontsize=8)
    colours = ListedColormap(["#f4a6a6", "#e6e6e6", "#a6dba0"])  # fails, inconclusive, holds
    ax.imshow(grid, cmap=colours, vmin=0, vmax=2, aspect="auto")
    ax.grid(False)
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right")
    verdict = dict(zip(labels, table["n_variants_holding"], strict=True))
    ax.set_yticks(range(len(claims)), [f"{c} ({verdict[c]})" for c in claims])
    ax.set_xlabel("update scheme (weight mapping - pulse rule), learning rate searched per seed")
    ax.set_ylabel("paper claim (variants where it holds)")
    ax.set_title(
        "Claims per variant: green holds, grey inconclusive, red fails (corrected one-sided "
        "tests; value ± 95% interval; * flagged)"
    )
    fig.tight_layout()
    return fig


def learning_rate_curves_figure(curves: pd.DataFrame) -> plt.Figure:
    """Validation accuracy against learning rate, one panel per state (rows) and variant
    (columns), one line per seed, the seed's chosen rate marked; a hollow marker where the
    chosen rate is still at the edge of the (extended) grid.

    ``curves``: ``variant, state, seed, learning_rate, validation_accuracy, chosen, status``
    (the per-seed searches of :func:`fmes.networks.training.nested_learning_rate_runs`,
    gathered over variants)."""
    variants = list(dict.fromkeys(curves["variant"]))
    states = list(dict.fromkeys(curves["state"]))
    seeds = sorted(set(curves["seed"]))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.85, max(len(seeds), 1)))
    fig, axes = plt.subplots(
        len(states),
        len(variants),
        figsize=(2.3 * len(variants) + 1.2, 2.2 * len(states) + 1.2),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for (i, state), (j, variant) in product(enumerate(states), enumerate(variants)):
        ax = axes[i, j]
        panel = curves[(curves["state"] == state) & (curves["variant"] == variant)]
        for k, seed in enumerate(seeds):
            curve = panel[panel["seed"] == seed].sort_values("learning_rate")
            if curve.empty:
                continue
            ax.plot(
                curve["learning_rate"],
                curve["validation_accuracy"],
                "-",
                color=colors[k],
                lw=1,
                label=f"seed {seed}",
            )
            chosen = curve[curve["chosen"].astype(bool)]
            at_edge = (chosen["status"] == str(Status.FLAGGED)).any()
            ax.plot(
                chosen["learning_rate"],
                chosen["validation_accuracy"],
                "o",
                color=colors[k],
                mfc="none" if at_edge else colors[k],
                ms=5,
            )
        ax.set_xscale("log")
        if i == 0:
            ax.set_title(variant, fontsize=9)
        if j == 0:
            ax.set_ylabel(f"state {state}\nvalidation accuracy")
        if i == len(states) - 1:
            ax.set_xlabel("learning rate")
    axes[0, -1].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        "Learning-rate search inside each seed (validation split of the training set): "
        "dots = chosen rate (hollow: still at a grid edge)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
