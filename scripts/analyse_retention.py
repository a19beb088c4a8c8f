"""Rule analyse_retention: learning during the 500 Hz train and forgetting after it (and after
single pulses): Kohlrausch and two-term exponential fits (Fig 3e, 3f, 3g)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    protocol_rows,
    readout_or_reason,
    retention_from_readout,
    skipped_frame,
)
from fmes.analysis.retention import kohlrausch, two_exponential
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import resistance_colors, save_figure
from fmes.status import Status
from fmes.traces import read_trace, read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("analyse_retention", snakemake.log[0])
out = snakemake.output
P = snakemake.params
R = P.retention
manifest = read_working_manifest(snakemake.input.manifest)
nominal = P.nominal_device


train_rows = protocol_rows(manifest, "pulse_train", nominal)
pulse_rows = protocol_rows(manifest, "pulse", nominal)
if len(pulse_rows):  # forgetting after the nominal single pulse (most common amplitude/width)
    a0, w0 = pulse_rows["amplitude_A"].mode().iloc[0], pulse_rows["width_s"].mode().iloc[0]
    pulse_rows = pulse_rows[
        np.isclose(pulse_rows["amplitude_A"], a0) & np.isclose(pulse_rows["width_s"], w0)
    ]
log.info("retention: %d pulse_train and %d single-pulse traces", len(train_rows), len(pulse_rows))

records, learning, curves = [], [], {}
for r in pd.concat([train_rows, pulse_rows]).itertuples(index=False):
    tr = read_trace(r.trace_path)
    readout, why = readout_or_reason(tr, **P.pulses)
    pulses = readout.pulses if readout is not None else None
    rec = {
        "trace_id": r.trace_id,
        "protocol": r.protocol,
        "resistance_label": r.resistance_label,
        "resistance_ohm": r.resistance_ohm,
    }
    result = (
        None
        if readout is None
        else retention_from_readout(
            tr["time_s"].to_numpy(),
            readout,
            n_points=R["n_points"],
            t_ret_s=R["t_ret_s"],
            u_inf_free=R["u_inf_free"],
            limits=QualityLimits(**P.fit_quality),
        )
    )
    if result is None:
        records.append(rec | {"status": Status.FAILED, "reason": why or "no complete pulse"})
        continue
    fit = result.row
    records.append(rec | result.row)
    curves[r.trace_id] = (tr, pulses, result.t_end_s, result.time_after_s, result.psv_after_V)
    if r.protocol == "pulse_train":
        learning.append(
            result.learning().assign(trace_id=r.trace_id, resistance_label=r.resistance_label)[
                [
                    "trace_id",
                    "resistance_label",
                    "pulse_number",
                    "onset_s",
                    "peak_psv_V",
                    "psv_after_V",
                ]
            ]
        )
    log.info(
        "%s: kww tau=%.4g s beta=%.3g (%s)",
        r.trace_id,
        fit.get("kww_tau_s", np.nan),
        fit.get("kww_beta", np.nan),
        fit.get("kww_reason"),
    )

if records:
    tab = pd.DataFrame(records)
else:
    tab = skipped_frame(
        ["trace_id", "protocol", "resistance_label", "kww_tau_s", "kww_beta"],
        "no 'pulse_train' or 'pulse' traces in the manifest",
    )
write_csv(tab, out.table)
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
has_value = tab["status"].map(lambda x: Status(x).has_value) if records else None
trains = tab[(tab["protocol"] == "pulse_train") & has_value] if records else tab[0:0]
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
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for row in trains.itertuples(index=False):
        tr, pulses, t_end, *_ = curves[row.trace_id]
        t0 = pulses["onset_s"].iloc[0]
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
    save_figure(fig, out.fig3e)

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
    save_figure(fig, out.fig3f)

    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    for row in trains.itertuples(index=False):
        *_, t_after, u_after = curves[row.trace_id]
        c = colors[row.resistance_label]
        ax.plot(t_after, u_after, ".", ms=2, color=c, label=legend_label(row.resistance_label))
        x = np.geomspace(t_after[0], t_after[-1], 200)
        u_inf = 0.0 if not R["u_inf_free"] else np.nan
        if row.exp2_converged:  # two time scales: double-layer relaxation, then self-discharge
            delta = row.exp2_tau2_s - row.exp2_tau1_s
            ax.plot(
                x,
                two_exponential(x, row.exp2_a1_V, row.exp2_tau1_s, row.exp2_a2_V, delta, u_inf),
                "-",
                color=c,
                lw=0.9,
            )
        if row.kww_converged or np.isfinite(row.kww_tau_s):
            ax.plot(
                x,
                kohlrausch(x, row.kww_u0_V, u_inf, row.kww_tau_s, row.kww_beta),
                "--",
                color=c,
                lw=0.7,
            )
    ax.axvline(R["t_ret_s"], color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("time after the train (s)")
    ax.set_ylabel("PSV (V)")
    ax.set_title("forgetting: two-exponential (solid), Kohlrausch (dashed)")
    ax.legend(fontsize=7)
    save_figure(fig, out.fig3g)
log.info("done")
