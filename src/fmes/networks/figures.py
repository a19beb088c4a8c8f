"""The network stage's figures: trained networks (Fig 4), the resistance-mapping adaptation
(Fig 5) and its energy against retraining, and the accuracy landscape over possible devices
(drawn from tables and arrays; the rule scripts save them with
:func:`fmes.core.figures.save_figure`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.core.figures import plt, resistance_colors
from fmes.data.traces import legend_label
from fmes.networks.adaptation import prediction_outcome, true_class_probability
from fmes.networks.estimators import curves_over_seeds
from fmes.networks.inference import (
    accuracy_over_seeds,
    adc_accuracy_over_seeds,
    with_read_noise_if_any,
)
from fmes.networks.landscape import PLANES

#: Panel titles of the networks.
TITLES = {"perceptron": "perceptron 784-10", "mlp": "MLP 784-100-10"}

#: Legend names of the adaptation methods.
METHOD_NAMES = {
    "device": "FMES resistance mapping (device)",
    "ideal_linear": "same mapping, ideal linear weights",
    "finetune": "ideal gradient fine-tuning",
}


def network_weights_figure(
    weights: dict, nets: list[str], states: list[str], digit: int, seed: int
) -> plt.Figure:
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


def network_accuracy_figure(
    table: pd.DataFrame, curves: pd.DataFrame, nets: list[str], states: list[str]
) -> plt.Figure:
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


def device_states_figure(weights: dict, nets: list[str], states: list[str]) -> plt.Figure:
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


def adaptation_weight_maps_figure(
    states_V: np.ndarray, digits: list[int], title: str
) -> plt.Figure:
    """One 28x28 map of device states per output (Fig 5b/5e)."""
    n_out = len(digits)
    # robust limits per figure: the device window is far wider than either set of states
    vmin_mV, vmax_mV = np.percentile(states_V * 1e3, [0.5, 99.5])
    fig, axes = plt.subplots(
        1,
        n_out + 1,
        figsize=(2.0 * n_out + 0.8, 2.5),
        gridspec_kw={"width_ratios": [1] * n_out + [0.07]},
    )
    for k, ax in enumerate(axes[:n_out]):
        im = ax.imshow(
            states_V[k].reshape(28, 28) * 1e3, cmap="viridis", vmin=vmin_mV, vmax=vmax_mV
        )
        ax.set(title=f"output {k}: '{digits[k]}'", xticks=[], yticks=[])
        ax.grid(False)
    fig.colorbar(im, cax=axes[n_out], label="device state, PSV (mV)")
    fig.suptitle(title)
    return fig


def adaptation_accuracy_figure(
    agg: pd.DataFrame, paper: dict, d1: list[int], d2: list[int]
) -> plt.Figure:
    """Fig 5f: both accuracies against the number of mapped dataset2 images."""
    fig, (ax2, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    for method, group in agg.groupby("method", sort=False):
        x = group["n_images"].to_numpy()
        xs = np.where(x == 0, 0.5, x)  # 0 images drawn at 0.5 on the log axis
        for ax, col in ((ax2, "accuracy_dataset2"), (ax1, "accuracy_dataset1")):
            m, s = group[f"{col}_mean"].to_numpy() * 100, group[f"{col}_std"].to_numpy() * 100
            ax.plot(xs, m, "o-", ms=3, label=METHOD_NAMES.get(method, method))
            ax.fill_between(xs, m - s, m + s, alpha=0.2)
    ax2.plot(
        [0.5],
        [paper.get("adaptation_dataset2_before", np.nan) * 100],
        "k*",
        ms=10,
        label="paper, before",
    )
    for ax, target, ls, label in (
        (ax2, "adaptation_dataset2_after", "--", "paper, after (Fig 5f)"),
        (ax1, "adaptation_dataset1_accuracy", ":", "paper, dataset1 before"),
    ):
        ax.axhline(paper.get(target, np.nan) * 100, color="k", ls=ls, lw=1, label=label)
    for ax, dataset, title in (
        (ax2, "dataset2", f"dataset2 {d2} (mean ± std, {agg['n_seeds'].max()} seeds)"),
        (ax1, "dataset1", f"dataset1 {d1}: forgetting"),
    ):
        ax.set(
            xscale="log",
            xlabel="mapped dataset2 images (count; 0 drawn at 0.5)",
            ylabel=f"{dataset} test accuracy (%)",
            ylim=(0, 100),
            title=title,
        )
    ax2.legend(loc="lower right")
    ax1.legend(loc="upper right")
    return fig


def adaptation_classification_figure(arr: dict, d2: list[int]) -> plt.Figure:
    """Fig 5g: the class predicted for each figure sample, before and after adaptation."""
    labels = arr["figure_labels"]
    n_s = len(labels)
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.2), sharex=True)
    for ax, proba, name in (
        (axes[0], arr["proba_before"], "before"),
        (axes[1], arr["proba_after"], "after"),
    ):
        pred, ok = prediction_outcome(proba, labels)
        idx = np.arange(n_s)
        ax.step(idx, labels, where="mid", color="0.6", lw=1, label="true class")
        ax.plot(idx[ok], pred[ok], "o", ms=3, color="tab:green", label="predicted, correct")
        ax.plot(idx[~ok], pred[~ok], "x", ms=4, color="tab:red", label="predicted, wrong")
        ax.set(
            yticks=range(len(d2)),
            yticklabels=[f"'{d}'" for d in d2],
            ylabel="class (dataset2 digit)",
            title=f"{name} adaptation: {ok.mean() * 100:.1f}% of {n_s} samples correct",
        )
    axes[1].set_xlabel("sample index (sorted by true class)")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def adaptation_probability_figure(arr: dict, d2: list[int]) -> plt.Figure:
    """Fig 5h/5i: per-sample class probabilities before and after adaptation."""
    labels = arr["figure_labels"]
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8), gridspec_kw={"width_ratios": [1, 1, 0.04]})
    for ax, proba, name in (
        (axes[0], arr["proba_before"], "(h) before"),
        (axes[1], arr["proba_after"], "(i) after"),
    ):
        im = ax.imshow(
            proba.T, aspect="auto", cmap="magma", vmin=0, vmax=1, interpolation="nearest"
        )
        for b in np.flatnonzero(np.diff(labels)) + 0.5:
            ax.axvline(b, color="w", lw=0.8)
        correct = true_class_probability(proba, labels)
        ax.set(
            title=f"{name} adaptation: mean p(true class) = {correct:.2f}",
            xlabel="sample index (sorted by true class)",
            yticks=range(len(d2)),
            yticklabels=[f"'{d}'" for d in d2],
        )
        ax.grid(False)
    axes[0].set_ylabel("output class (dataset2 digit)")
    fig.colorbar(im, cax=axes[2], label="softmax probability (1)")
    return fig


def energy_accuracy_figure(routes: pd.DataFrame, target_accuracy: float) -> plt.Figure:
    """Dataset2 accuracy against the cumulative energy in scope, mean over seeds of every
    route's update (mapping and retraining; a dotted line per mapping variant), with the
    matched accuracy ``target_accuracy`` as a grey line."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    means = (
        routes[routes["energy_J"] > 0]
        .groupby(["variant", "route", "images_seen"], as_index=False)[
            ["energy_J", "accuracy_dataset2"]
        ]
        .mean()
    )
    for (variant, route), m in means.groupby(["variant", "route"], sort=True):
        default = variant == "default"
        ax.plot(
            m["energy_J"] * 1e3,
            m["accuracy_dataset2"] * 100,
            marker=("o" if route == "mapping" else None) if default else ".",
            linestyle="-" if default else ":",
            label=route if default else f"mapping, {variant}",
            alpha=1.0 if default else 0.7,
        )
    ax.axhline(target_accuracy * 100, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("cumulative energy in scope (mJ)")
    ax.set_ylabel("dataset2 test accuracy (%)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _net_panels(nets: list[str]) -> tuple[plt.Figure, list[plt.Axes]]:
    # one accuracy panel per network, side by side (one empty panel without a network)
    n = max(1, len(nets))
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4), squeeze=False)
    return fig, list(axes[0])


def _label_panel(ax: plt.Axes, xlabel: str, title: str, log_x: bool = False) -> None:
    # the axis labels, title and legend every accuracy panel of the system summary carries
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)


def training_energy_figure(
    training: pd.DataFrame, states: list[str]
) -> tuple[plt.Figure, list[str]]:
    """Test accuracy against the cumulative training energy (mean ± std over seeds), one panel
    per network, one line per device state of ``states``; and the "<net> <state>" runs left out
    because no programming pulse was applied during training (nothing to draw on a log axis).

    ``training``: the curves of :func:`fmes.device.energy.training_energy_curves`."""
    colors = resistance_colors(states)
    unpulsed: list[str] = []
    nets = list(dict.fromkeys(training["net"]))
    means = curves_over_seeds(training, ["cumulative_energy_J", "test_accuracy"])
    fig, axes = _net_panels(nets)
    for ax, net in zip(axes, nets, strict=True):
        for state in states:
            m = means[(means["net"] == net) & (means["state"] == state)]
            if m.empty:
                continue
            x = m["cumulative_energy_J_mean"].to_numpy() * 1e3
            shown = x > 0  # log axis: epochs after the first pulse
            if not shown.any():
                unpulsed.append(f"{net} {state}")
                continue
            ax.errorbar(
                x[shown],
                m["test_accuracy_mean"].to_numpy()[shown] * 100,
                yerr=m["test_accuracy_std"].to_numpy()[shown] * 100,
                marker="o",
                ms=3,
                color=colors[state],
                label=legend_label(state),
            )
        _label_panel(ax, "cumulative training energy (mJ)", net, log_x=True)
    fig.tight_layout()
    return fig, unpulsed


def accuracy_over_time_figure(over_time: pd.DataFrame, states: list[str]) -> plt.Figure:
    """Test accuracy against the time since training (with read noise when the runs have any),
    one panel per network: per state and weight reference the nominal leakage (line) within the
    leakage bracket (band); the configured reference first (solid), the worst case dashed.

    ``over_time``: :func:`fmes.networks.inference.accuracy_over_time`."""
    colors = resistance_colors(states)
    nets = list(dict.fromkeys(over_time["net"]))
    fig, axes = _net_panels(nets)
    shown = with_read_noise_if_any(over_time)
    shown = shown[shown["time_s"] > 0]  # log axis
    means = accuracy_over_seeds(shown)
    # the configured reference first (solid, band shaded), the worst case dashed
    references = list(dict.fromkeys(shown["reference"]))
    for ax, net in zip(axes, nets, strict=True):
        for state in states:
            for k, reference in enumerate(references):
                m = means[
                    (means["net"] == net)
                    & (means["state"] == state)
                    & (means["reference"] == reference)
                ]
                if m.empty:
                    continue
                band = m.pivot_table(index="time_s", columns="leakage_bound", values="accuracy")
                if {"lower", "upper"} <= set(band.columns):
                    ax.fill_between(
                        band.index,
                        band["lower"] * 100,
                        band["upper"] * 100,
                        color=colors[state],
                        alpha=0.2 if k == 0 else 0.07,
                        lw=0,
                    )
                ax.plot(
                    band.index,
                    band["nominal"] * 100,
                    "o-" if k == 0 else "--",
                    ms=3,
                    lw=1.2 if k == 0 else 0.9,
                    color=colors[state],
                    label=f"{legend_label(state)}, {reference} reference",
                )
        title = f"{net}{' (with read noise)' if over_time['read_noise'].any() else ''}"
        _label_panel(ax, "time since training (s)", title, log_x=True)
    fig.tight_layout()
    return fig


def adc_figure(adc: pd.DataFrame, states: list[str]) -> plt.Figure:
    """Test accuracy against the output ADC resolution (mean ± std over seeds), one panel per
    network, one line per state of ``states`` and the ideal network, the accuracy without an
    ADC dotted. ``adc``: :func:`fmes.networks.inference.accuracy_vs_adc_bits`."""
    nets = list(dict.fromkeys(adc["net"]))
    means = adc_accuracy_over_seeds(adc)
    fig, axes = _net_panels(nets)
    all_colors = resistance_colors(states) | {"ideal": "black"}
    for ax, net in zip(axes, nets, strict=True):
        for state in dict.fromkeys(adc["state"]):
            g = means[(means["net"] == net) & (means["state"] == state)]
            bits = g[g["adc_bits"].notna()]
            if bits.empty:
                continue
            ax.errorbar(
                bits["adc_bits"],
                bits["accuracy_mean"] * 100,
                yerr=bits["accuracy_std"] * 100,
                marker="o",
                ms=3,
                color=all_colors[state],
                label=legend_label(state) if state != "ideal" else "ideal",
            )
            full = g.loc[g["adc_bits"].isna(), "accuracy_mean"].mean()  # no ADC: one row
            ax.axhline(full * 100, color=all_colors[state], ls=":", lw=0.8)
        _label_panel(ax, "output ADC resolution (bits)", f"{net} (dotted: no ADC)")
    fig.tight_layout()
    return fig


def landscape_figure(table: pd.DataFrame, points: pd.DataFrame, title: str) -> plt.Figure:
    """One heat map per plane (test accuracy), the fitted states as labelled points."""
    fig, all_axes = plt.subplots(
        1,
        len(PLANES) + 1,
        figsize=(5.2 * len(PLANES) + 0.6, 4.4),
        gridspec_kw={"width_ratios": [1] * len(PLANES) + [0.05]},
    )
    axes, colorbar_ax = all_axes[:-1], all_axes[-1]
    labels = {
        "nl_ltp": "NL label, LTP",
        "nl_ltd": "NL label, LTD",
        "n_levels": "levels N (pulses per full sweep)",
        "c2c_sigma_frac": "cycle-to-cycle sigma (fraction of range)",
    }
    image = None
    for ax, (plane, (x_key, y_key)) in zip(axes, PLANES.items(), strict=True):
        ax.grid(False)
        grid = table[table["plane"] == plane].pivot_table(
            index=y_key, columns=x_key, values="test_accuracy"
        )
        xs, ys = grid.columns.to_numpy(float), grid.index.to_numpy(float)
        # cells on index positions (grids need not be evenly spaced); points interpolated onto them
        image = ax.imshow(
            grid.to_numpy(), origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto"
        )
        for i, j in np.ndindex(grid.shape):
            ax.text(
                j,
                i,
                f"{grid.iat[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if grid.iat[i, j] < 0.6 else "black",
            )
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        px = np.interp(points[x_key], xs, np.arange(len(xs)))
        py = np.interp(points[y_key], ys, np.arange(len(ys)))
        ax.scatter(px, py, marker="o", facecolor="none", edgecolor="red", s=60, zorder=3)
        off = ~(
            points[x_key].between(xs.min(), xs.max()) & points[y_key].between(ys.min(), ys.max())
        )
        for x, y, name, outside in zip(px, py, points["state"], off, strict=True):
            # a state beyond the grid sits on its edge, said in its label
            ax.annotate(
                f"{name} (off grid)" if outside else str(name),
                (x, y),
                textcoords="offset points",
                xytext=(4, 4),
                color="red",
                fontsize=8,
            )
        ax.set_xlabel(labels[x_key])
        ax.set_ylabel(labels[y_key])
        ax.set_title(plane.replace("_", " "))
    fig.colorbar(image, cax=colorbar_ax, label="test accuracy (1)")
    fig.suptitle(title)
    return fig
