"""Rule analyse_pulse_response: single-pulse PSV read-out (Fig 2c-e) and I-V loops (Fig 2b)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.pipeline import (
    at_most_common,
    iv_row,
    legend_label,
    load_protocol_rows,
    map_traces,
    most_common,
    nearest_value,
    ordered_labels,
    placeholder_figure,
    pulse_response_row,
    records_or_skipped,
    skipped_frame,
)
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def series_figure(ok: pd.DataFrame, x_col: str, fixed_col: str, xlabel: str, title: str):
    """Fig 2c/2d: PSV change against ``x_col`` at the most common ``fixed_col``, per state."""
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    fixed = most_common(ok[fixed_col])
    sub = at_most_common(ok, [fixed_col])
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
    return fig


def resistance_figure(ok: pd.DataFrame, traces: dict):
    """Fig 2e: PSV transients of the nominal pulse at every resistance and the peak change."""
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    sub = at_most_common(ok, ["amplitude_A", "width_s"])
    amp0, w0 = most_common(ok["amplitude_A"]), most_common(ok["width_s"])
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
    s = sub.assign(_o=sub["resistance_label"].map(labels.index)).sort_values("_o")
    ax2.bar(np.arange(len(s)), s["psv_change_V"], color=[colors[v] for v in s["resistance_label"]])
    ax2.set_xticks(np.arange(len(s)), s["resistance_label"])
    ax2.set_xlabel("regulating resistance (Ω)")
    ax2.set_ylabel("PSV change (V)")
    return fig


def iv_figure(iv_tab: pd.DataFrame, loops_tab: pd.DataFrame, v_target_V: float, rate_V_per_s):
    """Fig 2b: I-V loops at the sweep rate nearest ``rate_V_per_s`` and the current at
    ``v_target_V`` against sweep rate."""
    ivl = ordered_labels(iv_tab["resistance_label"])
    ivc = resistance_colors(ivl)
    rate = nearest_value(iv_tab["sweep_rate_V_per_s"], rate_V_per_s)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    for lab in ivl:
        lp = loops_tab[
            (loops_tab["resistance_label"] == lab)
            & np.isclose(loops_tab["sweep_rate_V_per_s"], rate)
        ]
        ax1.plot(lp["voltage_V"], lp["current_A"] * 1e3, color=ivc[lab], label=legend_label(lab))
    ax1.axvline(v_target_V, color="0.5", ls=":", lw=1)
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
    ax2.set_ylabel(f"current at {v_target_V:g} V (mA)")
    return fig


def single_pulses(snakemake, log) -> None:
    """Fig 2c-e and the single-pulse table."""
    out, P = snakemake.output, snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device)
    log.info("pulse protocol: %d traces", len(rows))
    traces = {}

    def analyse(row, trace):
        record = pulse_response_row(row, trace, pulse_kw=P.pulses)
        if "onset_s" in record:  # read out: kept for the transients of Fig 2e
            traces[row["trace_id"]] = (trace, record["onset_s"])
        return record

    records = map_traces(rows, analyse)
    pulse_tab = records_or_skipped(
        records,
        [
            "trace_id",
            "resistance_label",
            "resistance_ohm",
            "device_id",
            "amplitude_A",
            "width_s",
            "psv_change_V",
        ],
        "no 'pulse' traces in the manifest",
    )
    write_csv(pulse_tab, out.pulse_table)
    ok = pulse_tab[pulse_tab["status"] == Status.OK] if records else pulse_tab.iloc[0:0]
    for x_col, fixed_col, xlabel, title, path in (
        ("amplitude_A", "width_s", "pulse amplitude (mA)", "PSV vs amplitude", out.fig2c),
        ("width_s", "amplitude_A", "pulse width (ms)", "PSV vs width", out.fig2d),
    ):
        if ok.empty:
            fig = placeholder_figure(title, "no analysable 'pulse' traces")
        else:
            fig = series_figure(ok, x_col, fixed_col, xlabel, title)
        save_figure(fig, path)
    if ok.empty:
        fig = placeholder_figure("PSV vs resistance", "no analysable 'pulse' traces")
    else:
        fig = resistance_figure(ok, traces)
    save_figure(fig, out.fig2e)


def iv_sweeps(snakemake, log) -> None:
    """Fig 2b, the I-V table and the loops."""
    out, P = snakemake.output, snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "iv_sweep", P.nominal_device)
    log.info("iv_sweep protocol: %d traces", len(rows))
    results = map_traces(
        rows,
        lambda row, trace: iv_row(
            row,
            trace,
            v_target_V=P.iv["v_target_V"],
            half_window_V=P.iv["half_window_V"],
            residual_factor=P.fit_quality["residual_factor"],
        ),
    )
    if results:
        iv_tab = pd.DataFrame([record for record, _ in results])
        loops_tab = pd.concat([loop for _, loop in results], ignore_index=True)
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
    if results:
        fig = iv_figure(iv_tab, loops_tab, P.iv["v_target_V"], P.iv["figure_sweep_rate_V_per_s"])
    else:
        fig = placeholder_figure("I-V loops", "no 'iv_sweep' traces")
    save_figure(fig, out.fig2b)


def main(snakemake) -> None:
    log = rule_logger("analyse_pulse_response", snakemake.log[0])
    single_pulses(snakemake, log)
    iv_sweeps(snakemake, log)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
