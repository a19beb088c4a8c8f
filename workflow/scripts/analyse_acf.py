"""Rule analyse_acf: autocorrelation memory metric of the pulse-width series (Fig 3d).

Metric (fmes.analysis.acf): std of the normalised sample ACF of the PSV resampled on a uniform
grid over [onset - pre_s, onset + window_s], lags 0 .. max_lag_frac of the record."""

import matplotlib.pyplot as plt
import pandas as pd

from fmes.analysis.pipeline import (
    acf_row,
    at_most_common,
    legend_label,
    load_protocol_rows,
    map_traces,
    ordered_labels,
    placeholder_figure,
    records_or_skipped,
)
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def acf_figure(ok: pd.DataFrame, window_s: float):
    """Fig 3d: the ACF memory metric against pulse width, one line per resistance state."""
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for lab in labels:
        s = ok[ok["resistance_label"] == lab].sort_values("width_s")
        ax.plot(s["width_s"] * 1e3, s["acf_std"], "o-", color=colors[lab], label=legend_label(lab))
    ax.set_xscale("log")
    ax.set_xlabel("pulse width (ms)")
    ax.set_ylabel("std of normalised ACF (1)")
    ax.set_title(f"ACF memory metric (window {window_s:g} s)")
    ax.legend(fontsize=7)
    return fig


def main(snakemake) -> None:
    log = rule_logger("analyse_acf", snakemake.log[0])
    P = snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device)
    # The width series is the set of pulses at the most common amplitude (Fig 2d).
    rows = at_most_common(rows, ["amplitude_A"])
    log.info("acf: %d pulse-width traces", len(rows))
    acf_kw = {k: P.acf[k] for k in ("window_s", "pre_s", "n_grid", "max_lag_frac")}
    records = map_traces(
        rows, lambda row, trace: acf_row(row, trace, pulse_kw=P.pulses, acf_kw=acf_kw)
    )
    tab = records_or_skipped(
        records,
        ["trace_id", "resistance_label", "width_s", "acf_std"],
        "no 'pulse' traces in the manifest",
    )
    write_csv(tab, snakemake.output.table)
    ok = tab[tab["status"] == Status.OK]
    if ok.empty:
        fig = placeholder_figure("ACF memory metric", "no analysable 'pulse' traces")
    else:
        fig = acf_figure(ok, P.acf["window_s"])
    save_figure(fig, snakemake.output.fig3d)
    log.info("done: %d traces", len(ok))


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
