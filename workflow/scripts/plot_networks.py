"""Rule networks_figures: Fig 4c (weights into digit 3), 4d (accuracy), 4e/4f (device states)."""

from pathlib import Path

import numpy as np
import pandas as pd

from fmes.analysis.pipeline import placeholder_figure
from fmes.core.figures import plt, resistance_colors, save_figure
from fmes.core.io import read_table
from fmes.core.logs import rule_logger
from fmes.data.traces import legend_label
from fmes.networks.estimators import curves_over_seeds

TITLES = {"perceptron": "perceptron 784-10", "mlp": "MLP 784-100-10"}


def read_weights(paths: list[str]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(net, state) -> the arrays of its figure seed (paths end in ``<net>/<state>/<file>``)."""
    weights = {}
    for path in paths:
        net, state = Path(path).parts[-3:-1]
        with np.load(path) as data:
            weights[(net, state)] = {k: data[k] for k in data.files}
    return weights


def weights_figure(weights: dict, nets: list[str], states: list[str], digit: int, seed: int):
    """Fig 4c: the weights into the output digit, as 28x28 maps (initial, then each state)."""
    fig, axes = plt.subplots(
        len(nets),
        len(states) + 1,
        figsize=(1.7 * (len(states) + 1), 1.9 * len(nets)),
        squeeze=False,
    )
    for r, net in enumerate(nets):
        panels = [("initial", weights[(net, states[0])]["digit_initial"])]
        panels += [(legend_label(s), weights[(net, s)]["digit_final"]) for s in states]
        for c, (title, image) in enumerate(panels):
            ax = axes[r, c]
            lim = float(np.max(np.abs(image))) or 1.0
            ax.imshow(image, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(title if r == 0 else "", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        axes[r, 0].set_ylabel(TITLES.get(net, net), fontsize=8)
    fig.suptitle(f"Weights into output '{digit}' (seed {seed}; MLP: effective W1·W2)", fontsize=9)
    return fig


def accuracy_figure(table: pd.DataFrame, curves: pd.DataFrame, nets: list[str], states: list[str]):
    """Fig 4d: accuracy per state, initial vs trained (top); accuracy against epoch (bottom)."""
    colors = resistance_colors(states)
    fig, axes = plt.subplots(2, len(nets), figsize=(4.2 * len(nets), 6.4), squeeze=False)
    x = np.arange(len(states))
    means = curves_over_seeds(curves, ["test_accuracy"])
    for c, net in enumerate(nets):
        sub = table[table["net"] == net].set_index("state").reindex(states)
        ax = axes[0, c]
        ax.bar(x - 0.2, 100 * sub["initial_test_accuracy_mean"], 0.4, label="initial", color="0.7")
        ax.bar(
            x + 0.2,
            100 * sub["final_test_accuracy_mean"],
            0.4,
            yerr=100 * sub["final_test_accuracy_std"].fillna(0),
            label=f"trained ({int(sub['epochs'].max())} epochs)",
            color=[colors[s] for s in states],
        )
        paper = sub["paper_test_accuracy"]
        if paper.notna().any():
            ax.scatter(
                x[paper.notna()] + 0.2,
                100 * paper[paper.notna()],
                marker="*",
                s=90,
                color="crimson",
                zorder=3,
                label="paper (100 epochs)",
            )
        ax.set_xticks(x, [legend_label(s) for s in states])
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(TITLES.get(net, net))
        ax.legend(loc="lower right")
        ax = axes[1, c]
        for s in states:
            m = means[(means["net"] == net) & (means["state"] == s)]
            if len(m):
                ax.plot(
                    m["epoch"],
                    100 * m["test_accuracy_mean"],
                    color=colors[s],
                    label=legend_label(s),
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(50, 100)
        ax.legend(loc="lower right")
    return fig


def device_states_figure(weights: dict, nets: list[str], states: list[str]):
    """Fig 4e/4f: device-state distributions before / after training (the MLP if trained)."""
    colors = resistance_colors(states)
    net = "mlp" if "mlp" in nets else nets[0]
    device_states = [s for s in states if "states_initial_V" in weights[(net, s)]]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), sharey=True)
    for ax, key, title in zip(
        axes,
        ("states_initial_V", "states_final_V"),
        ("(e) before training", "(f) after training"),
        strict=True,
    ):
        for s in device_states:
            ax.hist(
                weights[(net, s)][key],
                bins=60,
                histtype="step",
                density=True,
                color=colors[s],
                label=legend_label(s),
            )
        ax.set_xlabel("device state, PSV (V)")
        ax.set_title(f"{title}, {TITLES.get(net, net)}")
        ax.set_yscale("log")
    axes[0].set_ylabel("probability density (1/V)")
    if device_states:
        axes[1].legend()
    return fig


def main(snakemake) -> None:
    log = rule_logger("networks_figures", snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    nets = list(p.nets)
    # the states trained are the ones planned after the device_params checkpoint: read them off
    # the weight files (ordered as planned), never from the config
    paths = list(snakemake.input.weights)
    states = list(dict.fromkeys(Path(path).parts[-2] for path in paths))
    if not states:  # every state refused (network_accuracy.csv says why) and no ideal baseline
        for path in (out.fig4c, out.fig4d, out.fig4ef):
            save_figure(
                placeholder_figure(
                    "Fig 4", "no network state was trained; see network_accuracy.csv"
                ),
                path,
            )
        return
    weights = read_weights(paths)
    save_figure(weights_figure(weights, nets, states, p.digit, p.seed), out.fig4c)
    table = read_table(snakemake.input.table)
    curves = read_table(snakemake.input.curves)
    save_figure(accuracy_figure(table, curves, nets, states), out.fig4d)
    save_figure(device_states_figure(weights, nets, states), out.fig4ef)
    log.info("figures written for nets %s, states %s", nets, states)


if __name__ == "__main__":
    main(globals()["snakemake"])
