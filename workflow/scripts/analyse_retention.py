"""Rule analyse_retention: learning during the 500 Hz train and forgetting after it (and after
single pulses): Kohlrausch and two-term exponential fits (Fig 3e, 3f, 3g)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.pipeline import (
    at_most_common,
    legend_label,
    load_protocol_rows,
    map_traces,
    ordered_labels,
    placeholder_figure,
    records_or_skipped,
    retention_row,
    skipped_frame,
)
from fmes.analysis.retention import forgetting_curves, trains_with_value
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger


def train_figure(trains: pd.DataFrame, curves: dict, colors: dict):
    """Fig 3e: the PSV under each prolonged pulse train."""
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for row in trains.itertuples(index=False):
        tr, result = curves[row.trace_id]
        t0, t_end = result.pulses["onset_s"].iloc[0], result.t_end_s
        m = (tr["time_s"] >= t0 - 1e-3) & (tr["time_s"] <= t_end + 0.05 * (t_end - t0))
        ax.plot(
            tr["time_s"][m] - t0,
            tr["voltage_V"][m],
            color=colors[row.resistance_label],
            lw=0.6,
            label=legend_label(row.resistance_label),
        )
    ax.set_xlabel("time from first pulse (s)")
    ax.set_ylabel("PSV (V)")
    ax.set_title("PSV under a prolonged pulse train")
    ax.legend(fontsize=7)
    return fig


def learning_figure(learn: pd.DataFrame, labels: list[str], colors: dict):
    """Fig 3f: the weight (PSV read after each pulse) against pulse number."""
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for lab in labels:
        s = learn[learn["resistance_label"] == lab]
        ax.plot(
            s["pulse_number"],
            s["psv_after_V"],
            ".",
            ms=2,
            color=colors[lab],
            label=legend_label(lab),
        )
    ax.set_xlabel("pulse number")
    ax.set_ylabel("PSV read after pulse (V)")
    ax.set_title("learning (weight after each pulse)")
    ax.legend(fontsize=7)
    return fig


def forgetting_figure(
    trains: pd.DataFrame, curves: dict, colors: dict, t_ret_s: float, u_inf_free: bool
):
    """Fig 3g: the PSV after each train with its two-exponential and Kohlrausch fits."""
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for row in trains.itertuples(index=False):
        result = curves[row.trace_id][1]
        t_after, u_after = result.time_after_s, result.psv_after_V
        c = colors[row.resistance_label]
        ax.plot(t_after, u_after, ".", ms=2, color=c, label=legend_label(row.resistance_label))
        x = np.geomspace(t_after[0], t_after[-1], 200)
        # two time scales (double-layer relaxation, then self-discharge) and the stretched one
        fitted = forgetting_curves(row._asdict(), x, u_inf_free)
        if "two_exponential" in fitted:
            ax.plot(x, fitted["two_exponential"], "-", color=c, lw=0.9)
        if "kohlrausch" in fitted:
            ax.plot(x, fitted["kohlrausch"], "--", color=c, lw=0.7)
    ax.axvline(t_ret_s, color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("time after the train (s)")
    ax.set_ylabel("PSV (V)")
    ax.set_title("forgetting: two-exponential (solid), Kohlrausch (dashed)")
    ax.legend(fontsize=7)
    return fig


def main(snakemake) -> None:
    log = rule_logger("analyse_retention", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    R = P.retention
    train_rows = load_protocol_rows(snakemake.input.manifest, "pulse_train", P.nominal_device)
    # forgetting after the nominal single pulse (most common amplitude and width)
    pulse_rows = at_most_common(
        load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device),
        ["amplitude_A", "width_s"],
    )
    log.info(
        "retention: %d pulse_train and %d single-pulse traces", len(train_rows), len(pulse_rows)
    )
    limits = QualityLimits(**P.fit_quality)
    curves = {}

    def analyse(row, trace):
        record, result, learning = retention_row(
            row,
            trace,
            pulse_kw=P.pulses,
            n_points=R["n_points"],
            t_ret_s=R["t_ret_s"],
            u_inf_free=R["u_inf_free"],
            limits=limits,
        )
        if result is not None:
            curves[row["trace_id"]] = (trace, result)
            log.info(
                "%s: kww tau=%.4g s beta=%.3g (%s)",
                row["trace_id"],
                record.get("kww_tau_s", np.nan),
                record.get("kww_beta", np.nan),
                record.get("kww_reason"),
            )
        return record, learning

    results = map_traces(pd.concat([train_rows, pulse_rows]), analyse)
    tab = records_or_skipped(
        [record for record, _ in results],
        ["trace_id", "protocol", "resistance_label", "kww_tau_s", "kww_beta"],
        "no 'pulse_train' or 'pulse' traces in the manifest",
    )
    write_csv(tab, out.table)
    learning = [table for _, table in results if table is not None]
    learn = (
        pd.concat(learning, ignore_index=True)
        if learning
        else skipped_frame(
            ["trace_id", "resistance_label", "pulse_number", "psv_after_V"],
            "no analysable 'pulse_train' traces",
        )
    )
    write_csv(learn, out.learning)

    # Every row with a value is drawn (a poor Kohlrausch fit is still a measured forgetting curve).
    trains = trains_with_value(tab) if results else tab[0:0]
    if trains.empty:
        for path, title in (
            (out.fig3e, "LTP under prolonged stimulation"),
            (out.fig3f, "learning"),
            (out.fig3g, "forgetting"),
        ):
            save_figure(placeholder_figure(title, "no analysable 'pulse_train' traces"), path)
    else:
        labels = ordered_labels(trains["resistance_label"])
        colors = resistance_colors(labels)
        save_figure(train_figure(trains, curves, colors), out.fig3e)
        save_figure(learning_figure(learn, labels, colors), out.fig3f)
        save_figure(
            forgetting_figure(trains, curves, colors, R["t_ret_s"], R["u_inf_free"]), out.fig3g
        )
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
