"""Rule analyse_acf: autocorrelation memory metric of the pulse-width series (Fig 3d).

Metric (fmes.analysis.acf): std of the normalised sample ACF of the PSV resampled on a uniform
grid over [onset - pre_s, onset + window_s], lags 0 .. max_lag_frac of the record."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.acf import acf_memory_metric
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    protocol_rows,
    pulses_or_status,
    skipped_frame,
)
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import resistance_colors, save_figure
from fmes.traces import read_trace, read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("analyse_acf", snakemake.log[0])
P = snakemake.params
manifest = read_working_manifest(snakemake.input.manifest)
rows = protocol_rows(manifest, "pulse", P.nominal_device)
# The width series is the set of pulses at the most common amplitude (Fig 2d).
if len(rows):
    amp0 = rows["amplitude_A"].mode().iloc[0]
    rows = rows[np.isclose(rows["amplitude_A"], amp0)]
log.info("acf: %d pulse-width traces", len(rows))
records = []
for r in rows.itertuples(index=False):
    tr = read_trace(r.trace_path)
    pulses, status = pulses_or_status(tr, **P.pulses)
    rec = {
        "trace_id": r.trace_id,
        "resistance_label": r.resistance_label,
        "resistance_ohm": r.resistance_ohm,
        "amplitude_A": r.amplitude_A,
        "width_s": r.width_s,
    }
    if pulses is None:
        records.append(rec | {"status": "failed", "reason": status})
        continue
    res = acf_memory_metric(
        tr["time_s"],
        tr["voltage_V"],
        pulses["onset_s"].iloc[0],
        window_s=P.acf["window_s"],
        pre_s=P.acf["pre_s"],
        n_grid=P.acf["n_grid"],
        max_lag_frac=P.acf["max_lag_frac"],
    )
    records.append(rec | res)
if records:
    tab = pd.DataFrame(records)
else:
    tab = skipped_frame(
        ["trace_id", "resistance_label", "width_s", "acf_std"], "no 'pulse' traces in the manifest"
    )
write_csv(tab, snakemake.output.table)
ok = tab[tab["status"] == "ok"]
if ok.empty:
    save_figure(
        placeholder_figure("ACF memory metric", "no analysable 'pulse' traces"),
        snakemake.output.fig3d,
    )
else:
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for lab in labels:
        s = ok[ok["resistance_label"] == lab].sort_values("width_s")
        ax.plot(s["width_s"] * 1e3, s["acf_std"], "o-", color=colors[lab], label=legend_label(lab))
    ax.set_xscale("log")
    ax.set_xlabel("pulse width (ms)")
    ax.set_ylabel("std of normalised ACF (1)")
    ax.set_title(f"ACF memory metric (window {P.acf['window_s']:g} s)")
    ax.legend(fontsize=7)
    save_figure(fig, snakemake.output.fig3d)
log.info("done: %d traces", len(ok))
