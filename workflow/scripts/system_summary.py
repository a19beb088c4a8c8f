"""Rule system_summary: training energy/time per state and the trained networks over time.

The tables are built by fmes.networks.system from the networks stage's per-run tables.
"""

import matplotlib.pyplot as plt
import pandas as pd

from fmes.analysis.pipeline import legend_label, placeholder_figure
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.networks.estimators import curves_over_seeds
from fmes.networks.inference import (
    accuracy_over_seeds,
    adc_accuracy_over_seeds,
    with_read_noise_if_any,
)
from fmes.networks.mnist import load_split
from fmes.networks.system import (
    gather_runs,
    holding_runs,
    inference_tables,
    kept_lines,
    training_energy_lines,
    training_energy_tables,
)


def net_panels(nets: list[str]) -> tuple[plt.Figure, list[plt.Axes]]:
    """One accuracy panel per network, side by side (one empty panel without a network)."""
    n = max(1, len(nets))
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4), squeeze=False)
    return fig, list(axes[0])


def label_panel(ax: plt.Axes, xlabel: str, title: str, log_x: bool = False) -> None:
    """The axis labels, title and legend every accuracy panel of this rule carries."""
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)


def training_energy_figure(training: pd.DataFrame, states: list[str], warn) -> plt.Figure:
    """Test accuracy against cumulative training energy per net, one line per state (mean +- sd
    over seeds); ``warn`` hears of a state without a programming pulse."""
    colors = resistance_colors(states)
    if training.empty:
        fig = placeholder_figure("Accuracy vs training energy", "no state has per-pulse energies")
    else:
        nets = list(dict.fromkeys(training["net"]))
        means = curves_over_seeds(training, ["cumulative_energy_J", "test_accuracy"])
        fig, axes = net_panels(nets)
        for ax, net in zip(axes, nets, strict=True):
            for state in states:
                m = means[(means["net"] == net) & (means["state"] == state)]
                if m.empty:
                    continue
                x = m["cumulative_energy_J_mean"].to_numpy() * 1e3
                shown = x > 0  # log axis: epochs after the first pulse
                if not shown.any():
                    warn(f"{net} {state}: no programming pulse during training")
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
            label_panel(ax, "cumulative training energy (mJ)", net, log_x=True)
        fig.tight_layout()
    return fig


def accuracy_over_time_figure(over_time: pd.DataFrame, states: list[str]) -> plt.Figure:
    """Test accuracy against time since training per net and state, the leakage band shaded;
    the configured reference solid, the worst case dashed."""
    colors = resistance_colors(states)
    if over_time.empty:
        fig = placeholder_figure(
            "Accuracy vs time since training", "no state has a retention model"
        )
    else:
        nets = list(dict.fromkeys(over_time["net"]))
        fig, axes = net_panels(nets)
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
            label_panel(ax, "time since training (s)", title, log_x=True)
        fig.tight_layout()
    return fig


def adc_figure(adc: pd.DataFrame, states: list[str]) -> plt.Figure:
    """Test accuracy against the output-ADC resolution per net and state (dotted: no ADC)."""
    nets = list(dict.fromkeys(adc["net"]))
    means = adc_accuracy_over_seeds(adc)
    fig, axes = net_panels(nets)
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
        label_panel(ax, "output ADC resolution (bits)", f"{net} (dotted: no ADC)")
    fig.tight_layout()
    return fig


def main(snakemake) -> None:
    log = rule_logger("system_summary", snakemake.log[0])
    inp, out, P = snakemake.input, snakemake.output, snakemake.params
    curves, pulses = gather_runs(inp.curves), gather_runs(inp.pulses)
    holding = holding_runs(inp.curves, inp.weights)
    n_images = int(load_split(inp.split).y_train.size)
    training, summary, missing = training_energy_tables(
        curves, pulses, read_table(inp.device_params), P.tolerance, holding, n_images
    )
    for reason in missing:
        log.warning("no training energy: %s", reason)
    write_csv(training, out.training)
    write_csv(summary, out.training_summary)
    for line in training_energy_lines(summary, P.tolerance):
        log.info(line)
    states = [s for s in dict.fromkeys(curves["state"]) if s != "ideal"]
    save_figure(training_energy_figure(training, states, log.warning), out.fig_training)

    over_time, kept, adc = inference_tables(gather_runs(inp.inference), P.tolerance)
    write_csv(over_time, out.over_time)
    write_csv(kept, out.kept)
    for line in kept_lines(kept, P.tolerance):
        log.info(line)
    save_figure(accuracy_over_time_figure(over_time, states), out.fig_time)
    write_csv(adc, out.adc)
    save_figure(adc_figure(adc, states), out.fig_adc)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
