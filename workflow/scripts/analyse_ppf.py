"""Rule analyse_ppf: A1, A2, PPF per trace; double/single exponential fit per resistance
(Fig 3a), heat map over resistance x interval (Fig 3b), two-pulse traces (Fig 3c)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.pipeline import (
    fit_ppf_per_state,
    legend_label,
    load_protocol_rows,
    map_traces,
    ordered_labels,
    placeholder_figure,
    ppf_example,
    ppf_row,
    records_or_skipped,
    skipped_frame,
)
from fmes.analysis.ppf import Separation, ppf_fit_curve, ppf_grid
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def fits_figure(good: pd.DataFrame, fits: pd.DataFrame, labels: list[str]):
    """Fig 3a: PPF against the measured interval with each state's exponential fit."""
    colors = resistance_colors(labels)
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    for lab in labels:
        s = good[good["resistance_label"] == lab].sort_values("dt_measured_s")
        ax.plot(
            s["dt_measured_s"] * 1e3,
            s["ppf"] * 100,
            "o",
            color=colors[lab],
            label=legend_label(lab),
        )
        f = fits[fits["resistance_label"] == lab].iloc[0]
        if len(s) and np.isfinite(f["c1"]):
            x = np.geomspace(s["dt_measured_s"].min(), s["dt_measured_s"].max(), 200)
            y = ppf_fit_curve(f, x)
            ax.plot(
                x * 1e3, y * 100, "-", color=colors[lab], lw=1, alpha=1.0 if f["converged"] else 0.4
            )
    ax.set_xscale("log")
    ax.set_xlabel("Δt (ms)")
    ax.set_ylabel("PPF index A2/A1 (%)")
    ax.set_title("PPF with exponential fits (faint: not converged)")
    ax.legend(fontsize=7)
    return fig


def heat_map_figure(good: pd.DataFrame, labels: list[str]):
    """Fig 3b: PPF over resistance state x nominal interval."""
    table = ppf_grid(good, labels)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    im = ax.imshow(table.to_numpy() * 100, aspect="auto", cmap="magma", origin="lower")
    ax.set_xticks(np.arange(table.shape[1]), [f"{c * 1e3:g}" for c in table.columns], rotation=60)
    ax.set_yticks(np.arange(table.shape[0]), table.index)
    ax.set_xlabel("Δt (ms)")
    ax.set_ylabel("regulating resistance (Ω)")
    fig.colorbar(im, ax=ax, label="PPF index (%)")
    return fig


def example_figure(ex: pd.Series, trace: pd.DataFrame, pulses: pd.DataFrame):
    """Fig 3c: one two-pulse trace with its A1 and A2 levels."""
    t0 = pulses["onset_s"].iloc[0]
    m = (trace["time_s"] >= t0 - 2e-3) & (trace["time_s"] <= t0 + ex["interval_s"] + 0.05)
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.plot((trace["time_s"][m] - t0) * 1e3, trace["voltage_V"][m], "k-", lw=1)
    base = pulses["baseline_psv_V"].iloc[0]
    ax.axhline(base, color="0.6", ls=":", lw=1)
    for name, val in (("A1", ex["a1_V"]), ("A2", ex["a2_V"])):
        ax.axhline(
            base + val,
            ls="--",
            lw=0.8,
            color="C0" if name == "A1" else "C3",
            label=f"{name} = {val:.3f} V",
        )
    ax.set_xlabel("time from first onset (ms)")
    ax.set_ylabel("PSV (V)")
    ax.set_title(
        f"{ex['resistance_label']} Ω, Δt = {ex['interval_s'] * 1e3:g} ms, PPF = {ex['ppf']:.3f}"
    )
    ax.legend(fontsize=7)
    return fig


def main(snakemake) -> None:
    log = rule_logger("analyse_ppf", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "ppf", P.nominal_device)
    log.info("ppf protocol: %d traces", len(rows))
    examples = {}

    def analyse(row, trace):
        record, pulses = ppf_row(row, trace, pulse_kw=P.pulses)
        if pulses is not None:
            examples[row["trace_id"]] = (trace, pulses)
        return record

    records = map_traces(rows, analyse)
    reason = "no 'ppf' traces in the manifest"
    values = records_or_skipped(
        records, ["trace_id", "resistance_label", "interval_s", "a1_V", "a2_V", "ppf"], reason
    )
    if records:
        fits = fit_ppf_per_state(
            values,
            model=P.ppf["model"],
            criterion=P.ppf["criterion"],
            limits=QualityLimits(**P.fit_quality),
            separation=Separation(**P.ppf["separation"]),
        )
        for fit in fits.itertuples(index=False):
            log.info("PPF fit %s ohm: %s, %s", fit.resistance_label, fit.model, fit.reason)
    else:
        fits = skipped_frame(["resistance_label", "model", "c1", "tau1_s", "c2", "tau2_s"], reason)
    write_csv(values, out.values)
    write_csv(fits, out.fits)

    if not records:
        for path, title in (
            (out.fig3a, "PPF fits"),
            (out.fig3b, "PPF heat map"),
            (out.fig3c, "two-pulse traces"),
        ):
            save_figure(placeholder_figure(title, "no 'ppf' traces"), path)
        log.info("done")
        return
    good = values[values["status"] == Status.OK]
    labels = ordered_labels(values["resistance_label"])
    save_figure(fits_figure(good, fits, labels), out.fig3a)
    save_figure(heat_map_figure(good, labels), out.fig3b)
    # Fig 3c: the configured example (resistance, interval) or the nearest available one.
    ex = ppf_example(good, str(P.ppf["example_resistance"]), P.ppf["example_interval_s"])
    if ex is None:
        fig = placeholder_figure("two-pulse traces", "no analysable ppf trace")
    else:
        fig = example_figure(ex, *examples[ex["trace_id"]])
    save_figure(fig, out.fig3c)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
