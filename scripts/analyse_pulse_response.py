"""Rule analyse_pulse_response: single-pulse PSV read-out (Fig 2c-e) and I-V loops (Fig 2b)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.iv import current_at_voltage, iv_branches
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    protocol_rows,
    readout_or_reason,
    single_pulse_row,
    skipped_frame,
)
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import resistance_colors, save_figure
from fmes.status import Status
from fmes.traces import read_trace, read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("analyse_pulse_response", snakemake.log[0])
out = snakemake.output
P = snakemake.params
manifest = read_working_manifest(snakemake.input.manifest)
nominal = P.nominal_device


# ---------------------------------------------------------------- single pulses
rows = protocol_rows(manifest, "pulse", nominal)
log.info("pulse protocol: %d traces", len(rows))
records, traces = [], {}
for k, r in enumerate(rows.itertuples(index=False), start=1):
    tr = read_trace(r.trace_path)
    readout, why = readout_or_reason(tr, **P.pulses)
    rec = {
        "trace_id": r.trace_id,
        "resistance_label": r.resistance_label,
        "resistance_ohm": r.resistance_ohm,
        "device_id": r.device_id,
        "amplitude_A": r.amplitude_A,
        "width_s": r.width_s,
    }
    if readout is None:
        records.append(rec | {"status": Status.FAILED, "reason": why})
        continue
    rec |= single_pulse_row(readout)
    records.append(rec)
    traces[r.trace_id] = (tr, rec["onset_s"])
    if k % 20 == 0:
        log.info("pulse traces: %d/%d", k, len(rows))
cols = [
    "trace_id",
    "resistance_label",
    "resistance_ohm",
    "device_id",
    "amplitude_A",
    "width_s",
    "psv_change_V",
]
pulse_tab = (
    pd.DataFrame(records) if records else skipped_frame(cols, "no 'pulse' traces in the manifest")
)
write_csv(pulse_tab, out.pulse_table)

ok = pulse_tab[pulse_tab["status"] == "ok"] if len(records) else pulse_tab.iloc[0:0]
labels = ordered_labels(ok["resistance_label"]) if len(ok) else []
colors = resistance_colors(labels)


def series_plot(x_col, fixed_col, xlabel, title, path):
    if ok.empty:
        save_figure(placeholder_figure(title, "no analysable 'pulse' traces"), path)
        return
    fixed = ok[fixed_col].mode().iloc[0]
    sub = ok[np.isclose(ok[fixed_col], fixed)]
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for lab in labels:
        s = sub[sub["resistance_label"] == lab].sort_values(x_col)
        if len(s):
            ax.plot(
                s[x_col] * 1e3, s["psv_change_V"], "o-", color=colors[lab], label=legend_label(lab)
            )
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("PSV change (V)")
    unit = "ms" if fixed_col == "width_s" else "mA"
    ax.set_title(f"{title} ({fixed_col.split('_')[0]} {fixed * 1e3:g} {unit})")
    ax.legend(title="R", fontsize=7)
    save_figure(fig, path)


series_plot("amplitude_A", "width_s", "pulse amplitude (mA)", "PSV vs amplitude", out.fig2c)
series_plot("width_s", "amplitude_A", "pulse width (ms)", "PSV vs width", out.fig2d)

# Fig 2e: PSV transients of the nominal pulse at every resistance + peak vs resistance.
if ok.empty:
    save_figure(placeholder_figure("PSV vs resistance", "no analysable 'pulse' traces"), out.fig2e)
else:
    amp0 = ok["amplitude_A"].mode().iloc[0]
    w0 = ok["width_s"].mode().iloc[0]
    sub = ok[np.isclose(ok["amplitude_A"], amp0) & np.isclose(ok["width_s"], w0)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    for lab in labels:
        for tid in sub[sub["resistance_label"] == lab]["trace_id"]:
            tr, on = traces[tid]
            m = (tr["time_s"] >= on - 2e-3) & (tr["time_s"] <= on + 0.1)
            ax1.plot(
                (tr["time_s"][m] - on) * 1e3,
                tr["voltage_V"][m],
                color=colors[lab],
                label=legend_label(lab),
            )
    ax1.set_xlabel("time from pulse onset (ms)")
    ax1.set_ylabel("PSV (V)")
    ax1.set_title(f"{amp0 * 1e3:g} mA, {w0 * 1e3:g} ms pulse")
    ax1.legend(fontsize=7)
    x = np.arange(len(sub))
    s = sub.assign(_o=sub["resistance_label"].map(labels.index)).sort_values("_o")
    ax2.bar(np.arange(len(s)), s["psv_change_V"], color=[colors[v] for v in s["resistance_label"]])
    ax2.set_xticks(np.arange(len(s)), s["resistance_label"])
    ax2.set_xlabel("regulating resistance (Ω)")
    ax2.set_ylabel("PSV change (V)")
    save_figure(fig, out.fig2e)

# ---------------------------------------------------------------- I-V sweeps
rows = protocol_rows(manifest, "iv_sweep", nominal)
log.info("iv_sweep protocol: %d traces", len(rows))
iv_records, loops = [], []
for r in rows.itertuples(index=False):
    tr = read_trace(r.trace_path)
    res = current_at_voltage(
        tr["voltage_V"],
        tr["current_A"],
        P.iv["v_target_V"],
        half_window_V=P.iv["half_window_V"],
        residual_factor=P.fit_quality["residual_factor"],
    )
    iv_records.append(
        {
            "trace_id": r.trace_id,
            "resistance_label": r.resistance_label,
            "resistance_ohm": r.resistance_ohm,
            "device_id": r.device_id,
            "sweep_rate_V_per_s": r.sweep_rate_V_per_s,
            "v_max_V": r.v_max_V,
        }
        | res
    )
    loop = iv_branches(tr["voltage_V"], tr["current_A"])
    loop.insert(0, "sweep_rate_V_per_s", r.sweep_rate_V_per_s)
    loop.insert(0, "resistance_label", r.resistance_label)
    loops.append(loop)
if iv_records:
    iv_tab = pd.DataFrame(iv_records)
    loops_tab = pd.concat(loops, ignore_index=True)
else:
    reason = "no 'iv_sweep' traces in the manifest"
    iv_tab = skipped_frame(
        ["trace_id", "resistance_label", "sweep_rate_V_per_s", "current_at_target_A"], reason
    )
    loops_tab = skipped_frame(
        ["resistance_label", "sweep_rate_V_per_s", "voltage_V", "current_A", "branch"], reason
    )
write_csv(iv_tab, out.iv_table)
write_csv(loops_tab, out.iv_loops)

if not iv_records:
    save_figure(placeholder_figure("I-V loops", "no 'iv_sweep' traces"), out.fig2b)
else:
    ivl = ordered_labels(iv_tab["resistance_label"])
    ivc = resistance_colors(ivl)
    rates = np.sort(iv_tab["sweep_rate_V_per_s"].unique())
    rate = rates[np.argmin(np.abs(rates - P.iv["figure_sweep_rate_V_per_s"]))]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    for lab in ivl:
        lp = loops_tab[
            (loops_tab["resistance_label"] == lab)
            & np.isclose(loops_tab["sweep_rate_V_per_s"], rate)
        ]
        ax1.plot(lp["voltage_V"], lp["current_A"] * 1e3, color=ivc[lab], label=legend_label(lab))
    ax1.axvline(P.iv["v_target_V"], color="0.5", ls=":", lw=1)
    ax1.set_xlabel("voltage (V)")
    ax1.set_ylabel("current (mA)")
    ax1.set_title(f"I-V at {rate * 1e3:g} mV/s")
    ax1.legend(fontsize=7)
    for lab in ivl:
        s = iv_tab[iv_tab["resistance_label"] == lab].sort_values("sweep_rate_V_per_s")
        ax2.errorbar(
            s["sweep_rate_V_per_s"] * 1e3,
            s["current_at_target_A"] * 1e3,
            yerr=s["current_at_target_stderr_A"].fillna(0) * 1e3,
            fmt="o-",
            color=ivc[lab],
            label=legend_label(lab),
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("sweep rate (mV/s)")
    ax2.set_ylabel(f"current at {P.iv['v_target_V']:g} V (mA)")
    save_figure(fig, out.fig2b)
log.info("done")
