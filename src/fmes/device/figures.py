"""The device stage's figure: the calibrated model against the paper's numbers (drawn from the
calibration's parameters, table and conditions; the rule script saves it with
:func:`fmes.core.figures.save_figure`)."""

from __future__ import annotations

import pandas as pd

from fmes.core.figures import plt
from fmes.data.traces import legend_label
from fmes.device import circuit as dev
from fmes.device.calibration import ModelConditions


def calibration_figure(
    params: dev.CellParams, table: pd.DataFrame, conditions: ModelConditions
) -> plt.Figure:
    """Model against the paper's numbers, under the conditions their targets state
    (:class:`~fmes.device.calibration.ModelConditions`): I-V loops (Fig 2b), the two-pulse trace (Fig 3c) and
    the relative error of every numeric calibration target."""
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
