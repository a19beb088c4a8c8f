"""Rule analyse_ppf: A1, A2, PPF per trace; double/single exponential fit per resistance
(Fig 3a), heat map over resistance x interval (Fig 3b), two-pulse traces (Fig 3c)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.pipeline import (
    fit_ppf_per_state,
    legend_label,
    ordered_labels,
    placeholder_figure,
    protocol_rows,
    readout_or_reason,
    skipped_frame,
    trace_qc_columns,
)
from fmes.analysis.ppf import ppf_double, ppf_from_pulses, ppf_single
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import resistance_colors, save_figure
from fmes.status import Status
from fmes.traces import read_trace, read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("analyse_ppf", snakemake.log[0])
out = snakemake.output
P = snakemake.params
manifest = read_working_manifest(snakemake.input.manifest)
rows = protocol_rows(manifest, "ppf", P.nominal_device)
log.info("ppf protocol: %d traces", len(rows))

records, examples = [], {}
for k, r in enumerate(rows.itertuples(index=False), start=1):
    tr = read_trace(r.trace_path)
    readout, why = readout_or_reason(tr, **P.pulses)
    rec = {
        "trace_id": r.trace_id,
        "resistance_label": r.resistance_label,
        "resistance_ohm": r.resistance_ohm,
        "interval_s": r.interval_s,
    }
    if readout is None:
        records.append(rec | {"status": Status.FAILED, "reason": why})
        continue
    pulses = readout.pulses
    v = ppf_from_pulses(pulses, readout.trace_qc["noise_V"], P.pulses["n_read"])
    records.append(rec | v | trace_qc_columns(readout))
    examples[r.trace_id] = (tr, pulses)
    if k % 25 == 0:
        log.info("ppf traces: %d/%d", k, len(rows))

if records:
    values = pd.DataFrame(records)
    good = values[values["status"] == Status.OK]
    labels = ordered_labels(values["resistance_label"])
    fits = fit_ppf_per_state(
        values,
        model=P.ppf["model"],
        criterion=P.ppf["criterion"],
        limits=QualityLimits(**P.fit_quality),
    )
    for fit in fits.itertuples(index=False):
        log.info("PPF fit %s ohm: %s, %s", fit.resistance_label, fit.model, fit.reason)
else:
    reason = "no 'ppf' traces in the manifest"
    values = skipped_frame(
        ["trace_id", "resistance_label", "interval_s", "a1_V", "a2_V", "ppf"], reason
    )
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
else:
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
            if f["model"] == "double":
                y = ppf_double(x, f["c1"], f["tau1_s"], f["c2"], f["tau2_s"] - f["tau1_s"])
            else:
                y = ppf_single(x, f["c1"], f["tau1_s"])
            ax.plot(
                x * 1e3, y * 100, "-", color=colors[lab], lw=1, alpha=1.0 if f["converged"] else 0.4
            )
    ax.set_xscale("log")
    ax.set_xlabel("Δt (ms)")
    ax.set_ylabel("PPF index A2/A1 (%)")
    ax.set_title("PPF with exponential fits (faint: not converged)")
    ax.legend(fontsize=7)
    save_figure(fig, out.fig3a)

    table = good.pivot_table(index="resistance_label", columns="interval_s", values="ppf")
    table = table.reindex([x for x in labels if x in table.index])
    fig, ax = plt.subplots(figsize=(6, 3.4))
    im = ax.imshow(table.to_numpy() * 100, aspect="auto", cmap="magma", origin="lower")
    ax.set_xticks(np.arange(table.shape[1]), [f"{c * 1e3:g}" for c in table.columns], rotation=60)
    ax.set_yticks(np.arange(table.shape[0]), table.index)
    ax.set_xlabel("Δt (ms)")
    ax.set_ylabel("regulating resistance (Ω)")
    fig.colorbar(im, ax=ax, label="PPF index (%)")
    save_figure(fig, out.fig3b)

    # Fig 3c: the configured example (resistance, interval) or the nearest available one.
    sel = good.copy()
    want = str(P.ppf["example_resistance"])
    if (sel["resistance_label"] == want).any():
        sel = sel[sel["resistance_label"] == want]
    if sel.empty:
        save_figure(placeholder_figure("two-pulse traces", "no analysable ppf trace"), out.fig3c)
    else:
        ex = sel.iloc[np.argmin(np.abs(sel["interval_s"] - P.ppf["example_interval_s"]))]
        tr, pulses = examples[ex["trace_id"]]
        t0 = pulses["onset_s"].iloc[0]
        m = (tr["time_s"] >= t0 - 2e-3) & (tr["time_s"] <= t0 + ex["interval_s"] + 0.05)
        fig, ax = plt.subplots(figsize=(4.8, 3.4))
        ax.plot((tr["time_s"][m] - t0) * 1e3, tr["voltage_V"][m], "k-", lw=1)
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
        save_figure(fig, out.fig3c)
log.info("done")
