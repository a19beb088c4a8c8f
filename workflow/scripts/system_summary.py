"""Rule system_summary: training energy/time per state and the trained networks over time."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.pipeline import legend_label, placeholder_figure
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.device.energy import (
    energy_to_reach,
    holding_energy_J,
    pulse_costs_by_state,
    training_energy_curves,
    with_holding_energy,
)
from fmes.networks.estimators import curves_over_seeds
from fmes.networks.inference import (
    accuracy_over_seeds,
    accuracy_over_time,
    accuracy_vs_adc_bits,
    adc_accuracy_over_seeds,
    time_within_tolerance,
    with_read_noise_if_any,
)
from fmes.networks.mnist import load_split
from fmes.workflow.manifest import parse_resistance


def concat(paths: list[str]) -> pd.DataFrame:
    """The per-run tables as one (ideal runs have no pulses: empty tables are left out)."""
    frames = [read_table(path) for path in paths]
    filled = [frame for frame in frames if len(frame)]
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


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


def holding_runs(curve_paths: list[str], weight_paths: list[str]) -> pd.DataFrame:
    """Per (net, state, seed) of a device run: its devices and the power the trained network's
    voltages dissipate in R when held (``states_final_V`` of the run's weights file)."""
    rows = []
    for curve_path, weight_path in zip(curve_paths, weight_paths, strict=True):
        first = read_table(curve_path).iloc[0]
        with np.load(weight_path) as arrays:
            if "states_final_V" not in arrays:
                continue  # the ideal (floating-point) network has no devices
            volts = arrays["states_final_V"].astype(np.float64)
        power = holding_energy_J(volts, parse_resistance(first["state"]), 1.0).sum()
        rows.append(
            {
                "net": first["net"],
                "state": str(first["state"]),
                "seed": int(first["seed"]),
                "n_devices": volts.size,
                "final_holding_power_W": float(power),
            }
        )
    return pd.DataFrame(
        rows, columns=["net", "state", "seed", "n_devices", "final_holding_power_W"]
    )


def main(snakemake) -> None:
    log = rule_logger("system_summary", snakemake.log[0])
    inp, out, P = snakemake.input, snakemake.output, snakemake.params

    curves, pulses, inference = concat(inp.curves), concat(inp.pulses), concat(inp.inference)
    params = read_table(inp.device_params)
    costs, missing = pulse_costs_by_state(params)
    for reason in missing:
        log.warning("no training energy: %s", reason)

    # ---------------------------------------------------------------- training energy
    training = training_energy_curves(curves, pulses, costs)
    summary = energy_to_reach(training, P.tolerance) if len(training) else pd.DataFrame()
    if len(summary):
        n_images = int(load_split(inp.split).y_train.size)
        runs = holding_runs(inp.curves, inp.weights)
        summary = with_holding_energy(summary, params, runs, n_images)
    write_csv(training, out.training)
    write_csv(summary, out.training_summary)
    for row in summary.itertuples(index=False):
        log.info(
            "%s %s seed %s: %.4f after %d epochs, %.3g J (%d pulses); within %.2g of it at epoch %d: %.3g J",
            row.net,
            row.state,
            row.seed,
            row.final_test_accuracy,
            row.epochs,
            row.total_energy_J,
            row.total_pulses,
            P.tolerance,
            row.epoch_reached,
            row.energy_to_reach_J,
        )
        log.info(
            "%s %s seed %s: holding %d devices for %.3g s costs at most %.3g J (%.3g x the pulses)",
            row.net,
            row.state,
            row.seed,
            row.n_devices,
            row.holding_duration_s,
            row.holding_bound_J,
            row.holding_bound_to_pulses,
        )
    states = [s for s in dict.fromkeys(curves["state"]) if s != "ideal"]
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
                    log.warning("%s %s: no programming pulse during training", net, state)
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
    save_figure(fig, out.fig_training)

    # ---------------------------------------------------------------- over time and ADC
    over_time = accuracy_over_time(inference)
    kept = time_within_tolerance(over_time, P.tolerance) if len(over_time) else pd.DataFrame()
    write_csv(over_time, out.over_time)
    write_csv(kept, out.kept)
    for row in kept.itertuples(index=False):
        log.info(
            "%s %s (read noise %s, %s reference): trained %.4f, within %.2g until %.3g s%s "
            "(leakage band %.3g-%.3g s)",
            row.net,
            row.state,
            row.read_noise,
            row.reference,
            row.trained_accuracy,
            P.tolerance,
            row.kept_until_s,
            " (whole grid)" if row.kept_whole_grid else "",
            row.kept_until_lower_s,
            row.kept_until_upper_s,
        )
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
    save_figure(fig, out.fig_time)

    adc = accuracy_vs_adc_bits(inference)
    write_csv(adc, out.adc)
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
    save_figure(fig, out.fig_adc)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
