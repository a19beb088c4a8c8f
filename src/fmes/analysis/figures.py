"""The analysis stage's figures (Figs 1e, 2, 3, Supp. Figs 10, 11, 15, the array maps, the
energy per pulse, the weight tables and the per-trace QC figures), drawn from the analysis
tables and read-outs; the rule scripts save them with :func:`fmes.core.figures.save_figure` or,
when the data do not allow one, :func:`fmes.core.figures.save_figure_or_placeholder`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.analysis.array_maps import relative_drift, state_grid, yield_summary
from fmes.analysis.energy import reference_single_pulses
from fmes.analysis.ltp_ltd import cycle_pulse_index, fitted_branch, state_summary
from fmes.analysis.pipeline import (
    ArrayResults,
    at_most_common,
    legend_label,
    most_common,
    nearest_value,
    ordered_labels,
)
from fmes.analysis.ppf import ppf_fit_curve, ppf_grid
from fmes.analysis.pulses import PulseReadout
from fmes.analysis.retention import forgetting_curves
from fmes.analysis.variability import METRICS, endurance_cycles, heatmap_grid
from fmes.core.figures import plt, resistance_colors
from fmes.core.status import Status


def _state_lines(
    ax: plt.Axes,
    table: pd.DataFrame,
    labels: list[str],
    colors: dict,
    x: str,
    y: str,
    fmt: str,
    *,
    sort_by: str | None = None,
    x_scale: float | None = None,
    **style,
) -> None:
    # one line per state of ``table`` (``y`` against ``x``, times ``x_scale``), in the state's
    # colour with its legend label, in the order of ``labels``
    for lab in labels:
        s = table[table["resistance_label"] == lab]
        if sort_by is not None:
            s = s.sort_values(sort_by)
        xs = s[x] if x_scale is None else s[x] * x_scale
        ax.plot(xs, s[y], fmt, color=colors[lab], label=legend_label(lab), **style)


def _label_axes(ax: plt.Axes, xlabel: str, ylabel: str, title: str, log_x: bool = False) -> None:
    # the labels, title and small legend of a one-panel figure (a log x axis if asked)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)


def psv_series_figure(
    ok: pd.DataFrame, x_col: str, fixed_col: str, xlabel: str, title: str
) -> plt.Figure:
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


def psv_resistance_figure(ok: pd.DataFrame, traces: dict) -> plt.Figure:
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


def iv_figure(
    iv_tab: pd.DataFrame, loops_tab: pd.DataFrame, v_target_V: float, rate_V_per_s
) -> plt.Figure:
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


def acf_figure(ok: pd.DataFrame, window_s: float) -> plt.Figure:
    """Fig 3d: the ACF memory metric against pulse width, one line per resistance state."""
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    _state_lines(ax, ok, labels, colors, "width_s", "acf_std", "o-", sort_by="width_s", x_scale=1e3)
    _label_axes(
        ax,
        "pulse width (ms)",
        "std of normalised ACF (1)",
        f"ACF memory metric (window {window_s:g} s)",
        log_x=True,
    )
    return fig


def ppf_fits_figure(good: pd.DataFrame, fits: pd.DataFrame, labels: list[str]) -> plt.Figure:
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
    _label_axes(
        ax,
        "Δt (ms)",
        "PPF index A2/A1 (%)",
        "PPF with exponential fits (faint: not converged)",
        log_x=True,
    )
    return fig


def ppf_heat_map_figure(good: pd.DataFrame, labels: list[str]) -> plt.Figure:
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


def ppf_example_figure(ex: pd.Series, trace: pd.DataFrame, pulses: pd.DataFrame) -> plt.Figure:
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


def pulse_train_figure(trains: pd.DataFrame, curves: dict, colors: dict) -> plt.Figure:
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
    _label_axes(ax, "time from first pulse (s)", "PSV (V)", "PSV under a prolonged pulse train")
    return fig


def learning_figure(learn: pd.DataFrame, labels: list[str], colors: dict) -> plt.Figure:
    """Fig 3f: the weight (PSV read after each pulse) against pulse number."""
    fig, ax = plt.subplots(figsize=(4.8, 3.5))
    _state_lines(ax, learn, labels, colors, "pulse_number", "psv_after_V", ".", ms=2)
    _label_axes(
        ax, "pulse number", "PSV read after pulse (V)", "learning (weight after each pulse)"
    )
    return fig


def forgetting_figure(
    trains: pd.DataFrame, curves: dict, colors: dict, t_ret_s: float, u_inf_free: bool
) -> plt.Figure:
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
    _label_axes(
        ax,
        "time after the train (s)",
        "PSV (V)",
        "forgetting: two-exponential (solid), Kohlrausch (dashed)",
        log_x=True,
    )
    return fig


def energy_figure(table: pd.DataFrame) -> plt.Figure:
    """Energy per pulse against resistance state (LTP, LTD and single pulses), and of the
    single pulses against amplitude and against width."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ok = table[table["status"] != Status.SKIPPED]
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    ax = axes[0]
    for proto, pol, marker in (("ltp_ltd", 1, "o"), ("ltp_ltd", -1, "v"), ("pulse", 1, "s")):
        sel = ok[(ok["protocol"] == proto) & (ok["polarity"] == pol)]
        if proto == "pulse":
            sel = reference_single_pulses(sel)
        sel = (
            sel.set_index("resistance_label").reindex(labels).dropna(subset=["energy_abs_median_J"])
        )
        if sel.empty:
            continue
        x = np.arange(len(labels))[[labels.index(lab) for lab in sel.index]]
        y = sel["energy_abs_median_J"].to_numpy() * 1e9
        err = np.vstack([y - sel["energy_abs_q25_J"] * 1e9, sel["energy_abs_q75_J"] * 1e9 - y])
        name = {
            ("ltp_ltd", 1): "LTP pulses",
            ("ltp_ltd", -1): "LTD pulses",
            ("pulse", 1): "single pulse",
        }[(proto, pol)]
        ax.errorbar(x, y, yerr=err, marker=marker, ls="-", capsize=3, label=name)
    ax.set_xticks(range(len(labels)), [legend_label(lab) for lab in labels], rotation=30)
    ax.set_xlabel("regulating resistance")
    ax.set_ylabel("energy per pulse |∫ I·V dt| (nJ)")
    ax.legend(fontsize=8)
    single = ok[ok["protocol"] == "pulse"]
    for ax, vary, fixed, xlabel, scale in (
        (axes[1], "amplitude_A", "width_s", "pulse amplitude (mA)", 1e3),
        (axes[2], "width_s", "amplitude_A", "pulse width (ms)", 1e3),
    ):
        if single.empty:
            ax.axis("off")
            continue
        ref = most_common(single[fixed])
        series = at_most_common(single, [fixed])
        for lab in labels:
            sel = series[series["resistance_label"] == lab].sort_values(vary)
            if len(sel):
                ax.plot(
                    sel[vary] * scale,
                    sel["energy_abs_median_J"] * 1e9,
                    "o-",
                    color=colors[lab],
                    label=legend_label(lab),
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("energy per pulse (nJ)")
        fixed_text = f"{ref * 1e3:g} ms" if fixed == "width_s" else f"{ref * 1e3:g} mA"
        ax.set_title(f"single pulses at {fixed_text}", fontsize=9)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def array_maps_figure(result: ArrayResults) -> plt.Figure:
    """Every metric's mean over usable cycles per device as a map over the array (one row of
    panels per resistance state)."""
    labels, metrics, shape, maps = result.labels, result.metrics, result.shape, result.maps
    fig, axes = plt.subplots(
        len(labels), len(metrics), figsize=(2.3 * len(metrics), 2.1 * len(labels)), squeeze=False
    )
    for i, lab in enumerate(labels):
        for j, m in enumerate(metrics):
            ax = axes[i, j]
            im = ax.imshow(
                state_grid(maps[maps["metric"] == m], lab, "mean", shape),
                cmap="viridis",
                origin="upper",
            )
            ax.grid(False)
            ax.set_xlabel("array column")
            ax.set_ylabel(f"{legend_label(lab)}\narray row" if j == 0 else "array row")
            if i == 0:
                ax.set_title(METRICS[m], fontsize=8)
            fig.colorbar(im, ax=ax, fraction=0.046).ax.tick_params(labelsize=6)
    fig.suptitle(
        "mean over usable cycles (converged, not poor fits) of every metric per device (row: state)"
    )
    return fig


def array_drift_figure(result: ArrayResults) -> plt.Figure:
    """Per-cycle drift of the array: every metric's array mean (line) ± sd across devices (band)
    per state, relative to the metric's size in the state (:func:`relative_drift`)."""
    labels, metrics = result.labels, result.metrics
    colors = resistance_colors(labels)
    n_panel_cols = 4
    n_panel_rows = int(np.ceil(len(metrics) / n_panel_cols))
    fig, axes = plt.subplots(
        n_panel_rows, n_panel_cols, figsize=(3.2 * n_panel_cols, 2.8 * n_panel_rows), squeeze=False
    )
    relative = relative_drift(result.drift)
    for ax, m in zip(axes.ravel(), metrics, strict=False):
        d = relative[relative["metric"] == m]
        for lab in labels:
            s = d[d["resistance_label"] == lab].sort_values("cycle")
            ax.plot(
                s["cycle"],
                s["relative_mean"],
                "o-",
                ms=2,
                color=colors[lab],
                label=legend_label(lab),
            )
            ax.fill_between(
                s["cycle"],
                s["relative_lower"],
                s["relative_upper"],
                color=colors[lab],
                alpha=0.15,
            )
        ax.set_title(METRICS[m], fontsize=8)
        ax.set_xlabel("cycle index")
        ax.set_ylabel("array mean / |its mean over cycles| (1)", fontsize=7)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("per-cycle drift of the array: mean (line) ± sd across devices (band)")
    return fig


def array_yield_figure(result: ArrayResults) -> plt.Figure:
    """The device yield map of every state (green: works)."""
    labels, summary = result.labels, yield_summary(result.yields)
    fig, axes = plt.subplots(1, len(labels), figsize=(3.0 * len(labels), 3.0), squeeze=False)
    for ax, lab in zip(axes[0], labels, strict=True):
        works = state_grid(result.yields, lab, "works", result.shape)
        ax.imshow(works, cmap="RdYlGn", vmin=0, vmax=1, origin="upper")
        ax.grid(False)
        s = summary[summary["resistance_label"] == lab].iloc[0]
        ax.set_title(f"{legend_label(lab)}: yield {s.n_working}/{s.n_devices}", fontsize=9)
        ax.set_xlabel("array column")
        ax.set_ylabel("array row")
    fig.suptitle("device yield (green: works; red: fits failed or poor, or range below threshold)")
    return fig


def _first_cycles(nominal: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    # the first converged cycle of every state, and the states in resistance order
    first = nominal.drop_duplicates("resistance_label")
    return first, ordered_labels(first["resistance_label"])


def ltp_ltd_figure(nominal: pd.DataFrame, weights: pd.DataFrame) -> plt.Figure:
    """Fig 1e: the weight per pulse of one cycle per state (the first converged one) with its
    NeuroSim fit, states one after the other. ``nominal``: the fits of
    :func:`~fmes.analysis.ltp_ltd.nominal_ok_fits`; ``weights``: the weight table."""
    first, labels = _first_cycles(nominal)
    colors = resistance_colors(labels)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    offset = 0
    for lab in labels:
        f = first[first["resistance_label"] == lab].iloc[0]
        w = weights[weights["trace_id"] == f["trace_id"]] if "trace_id" in weights else weights[0:0]
        n = int(f["n_pulses"])
        x = cycle_pulse_index(w, n) + offset
        ax.plot(x, w["weight_V"], ".", ms=2, color=colors[lab], label=legend_label(lab))
        if "ltp_start_V" in f and np.isfinite(f["ltp_start_V"]):
            m, ltp = fitted_branch(f, "ltp", n)
            ax.plot(m + offset, ltp, "k-", lw=0.6)
            m, ltd = fitted_branch(f, "ltd", n)
            ax.plot(n + m + offset, ltd, "k-", lw=0.6)
        offset += 2 * n
    ax.set_xlabel("pulse number (cycles of consecutive states)")
    ax.set_ylabel("weight: PSV read after pulse (V)")
    ax.set_title("LTP/LTD per resistance state (black: NeuroSim fit)")
    ax.legend(fontsize=7, ncol=2)
    return fig


def nl_dw_figure(nominal: pd.DataFrame, phase: str, title: str) -> plt.Figure:
    """Fig 3h/3i: the NeuroSim non-linearity label and the mean |Δw| per pulse of one branch
    (``phase``: ``ltp`` or ``ltd``) against the resistance state, over all ``nominal`` fits."""
    labels = _first_cycles(nominal)[1]
    summ = state_summary(nominal, labels)
    fig, ax1 = plt.subplots(figsize=(4.8, 3.5))
    xs = np.arange(len(labels))
    ax1.errorbar(xs, summ[f"nl_{phase}"], yerr=summ[f"nl_{phase}_err"], fmt="o-", color="C0")
    ax1.set_ylabel("non-linearity label (NeuroSim)", color="C0")
    ax1.set_xticks(xs, labels)
    ax1.set_xlabel("regulating resistance (Ω)")
    ax2 = ax1.twinx()
    ax2.plot(xs, np.abs(summ[f"dw_{phase}"]) * 1e3, "s--", color="C3")
    ax2.set_ylabel("mean |Δw| per pulse (mV)", color="C3")
    ax2.grid(False)
    ax1.set_title(f"{title}: non-linearity and Δw")
    return fig


def dynamic_range_figure(nominal: pd.DataFrame) -> plt.Figure:
    """Supp. Fig 15: the weight bounds and W_max/W_min per resistance state over all
    ``nominal`` fits."""
    labels = _first_cycles(nominal)[1]
    summ = state_summary(nominal, labels)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    xs = np.arange(len(labels))
    ax1.bar(xs - 0.2, summ["g_max"], 0.4, label="G_max")
    ax1.bar(xs + 0.2, summ["g_min"], 0.4, label="G_min")
    ax1.set_xticks(xs, labels)
    ax1.set_xlabel("regulating resistance (Ω)")
    ax1.set_ylabel("weight bound (V)")
    ax1.legend(fontsize=7)
    ax2.bar(xs, summ["ratio"].fillna(0), color="C2")
    ax2.axhline(6, color="k", ls=":", lw=1, label="6 (paper's minimum)")
    for x, v in zip(xs, summ["ratio"], strict=True):
        if not np.isfinite(v):
            ax2.text(x, 0.2, "n/a\n(W_min ≤ 0)", ha="center", fontsize=6)
    ax2.set_xticks(xs, labels)
    ax2.set_xlabel("regulating resistance (Ω)")
    ax2.set_ylabel("W_max / W_min (1)")
    ax2.legend(fontsize=7)
    return fig


def endurance_figure(per_cycle: pd.DataFrame, nominal_device: str) -> plt.Figure:
    """Supp. Fig 10: the weight bounds and non-linearities against cycle, per state
    (``per_cycle``: the usable cycle fits with derived metrics)."""
    labels = ordered_labels(per_cycle["resistance_label"])
    colors = resistance_colors(labels)
    show = ["g_max_V", "g_min_V", "a_p_pulses", "a_d_pulses"]
    fig, axes = plt.subplots(2, 2, figsize=(8, 5.5), sharex=True)
    shown = endurance_cycles(per_cycle, nominal_device)
    for ax, m in zip(axes.ravel(), show, strict=True):
        _state_lines(ax, shown, labels, colors, "cycle", m, "o-", ms=3)
        ax.set_ylabel(METRICS[m])
        ax.set_xlabel("cycle index")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("endurance: LTP/LTD metrics against cycle")
    return fig


def variability_figure(
    per_cycle: pd.DataFrame, cdf: pd.DataFrame, heatmap_metric: str
) -> plt.Figure:
    """Supp. Fig 11: the cumulative distributions of the dynamic range and of A_p per state, and
    the array map of ``heatmap_metric`` (mean over cycles)."""
    labels = ordered_labels(per_cycle["resistance_label"])
    colors = resistance_colors(labels)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for m, ax in zip(["range_V", "a_p_pulses"], axes[:2], strict=True):
        s = cdf[cdf["metric"] == m]
        for lab in labels:
            c = s[s["resistance_label"] == lab]
            ax.step(
                c["value"],
                c["cumulative_probability"],
                where="post",
                color=colors[lab],
                label=legend_label(lab),
            )
        ax.set_xlabel(METRICS[m])
        ax.set_ylabel("cumulative probability (1)")
        if m.startswith("a_"):  # A spans decades between states (open: nearly linear)
            ax.set_xscale("log")
    axes[0].legend(fontsize=7)
    lab_map, mat = heatmap_grid(per_cycle, heatmap_metric)
    ax = axes[2]
    if lab_map is None:
        ax.axis("off")
        ax.text(0.5, 0.5, "no array devices (ids r<row>c<col>)", ha="center")
    else:
        im = ax.imshow(mat.to_numpy(), cmap="viridis", origin="upper")
        ax.grid(False)
        ax.set_xticks(np.arange(mat.shape[1]), mat.columns)
        ax.set_yticks(np.arange(mat.shape[0]), mat.index)
        ax.set_xlabel("array column")
        ax.set_ylabel("array row")
        ax.set_title(f"{lab_map} Ω: mean over cycles")
        fig.colorbar(im, ax=ax, label=METRICS[heatmap_metric])
    return fig


def weight_tables_figure(
    specs: list[dict], fits: list[pd.DataFrame], weights: list[pd.DataFrame]
) -> plt.Figure:
    """The runs of every weight table (SET and RESET, grey) with the first converged run's
    NeuroSim fit; one row of panels per table ``specs[i]`` with its ``fits[i]`` and
    ``weights[i]``."""
    fig, axes = plt.subplots(len(specs), 2, figsize=(9, 3.2 * len(specs)), squeeze=False)
    for (ax_set, ax_reset), spec, table_fits, table_weights in zip(
        axes, specs, fits, weights, strict=True
    ):
        unit = spec["unit"]
        for ax, phase, n_col in ((ax_set, "ltp", "n_pulses"), (ax_reset, "ltd", "n_pulses_ltd")):
            w = table_weights[table_weights["phase"] == phase]
            for _, run in w.groupby("run"):
                ax.plot(run["pulse_number"], run["weight"], "-", color="0.7", lw=0.5)
            fitted = table_fits[table_fits["converged"].astype(bool)]
            if len(fitted):
                f = fitted.iloc[0]
                ax.plot(
                    *fitted_branch(f, phase, int(f[n_col]), unit),
                    "k-",
                    lw=1,
                    label=f"fit of run {f['run']}: NL {f['nl_' + phase]:+.2f} ({f[phase + '_shape']})",
                )
                ax.legend(fontsize=7)
            ax.set_xlabel("pulse number (1)")
            ax.set_ylabel(f"{spec['quantity']} ({unit})")
            ax.set_title(
                f"{spec['name']}: {'SET (potentiation)' if phase == 'ltp' else 'RESET (depression)'}, all runs"
            )
    return fig


def qc_figure(
    trace: pd.DataFrame, readout: PulseReadout | None, title: str, max_pulses: int = 3
) -> plt.Figure:
    """Raw PSV and current of one trace with the detected onsets/offsets, peaks, baselines and
    reads; left: the whole trace, right: the first ``max_pulses`` pulses."""
    t = trace["time_s"].to_numpy()
    v = trace["voltage_V"].to_numpy()
    i = trace["current_A"].to_numpy()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    pulses = readout.pulses if readout is not None else pd.DataFrame()
    windows = [(t[0], t[-1])]
    if len(pulses):
        last = pulses.iloc[min(max_pulses, len(pulses)) - 1]
        first_on = pulses["onset_s"].iloc[0]
        end = (
            last["read_time_s"]
            if np.isfinite(last.get("read_time_s", np.nan))
            else last["offset_s"]
        )
        pad = 0.2 * max(end - first_on, 1e-6)
        windows.append((first_on - pad, end + pad))
    else:
        windows.append((t[0], t[-1]))
    for ax, (lo, hi) in zip(axes, windows, strict=True):
        m = (t >= lo) & (t <= hi)
        ax.plot(t[m], v[m], color="k", lw=0.8, label="raw PSV")
        if readout is not None and readout.voltage_clean_V is not None:
            ax.plot(
                t[m], readout.voltage_clean_V[m], color="C2", lw=0.6, alpha=0.8, label="cleaned PSV"
            )
        cur = ax.twinx()
        cur.plot(t[m], i[m] * 1e3, color="C0", lw=0.6, alpha=0.5)
        cur.set_ylabel("current (mA)", color="C0")
        if len(pulses):
            p = pulses[(pulses["onset_s"] <= hi) & (pulses["onset_s"] >= lo)]
            for x in p["onset_s"]:
                ax.axvline(x, color="C0", lw=0.5, ls=":")
            for x in p["offset_s"].dropna():
                ax.axvline(x, color="C3", lw=0.5, ls=":")
            bad = p["status"] != Status.OK
            ax.plot(p["offset_s"], p["peak_psv_V"], "^", color="C3", ms=4, label="peak")
            ax.plot(p["onset_s"], p["baseline_psv_V"], "s", color="C1", ms=3, label="baseline")
            ax.plot(p["read_time_s"], p["psv_after_V"], "o", color="C4", ms=3, label="read")
            if bad.any():
                ax.plot(
                    p["onset_s"][bad],
                    p["baseline_psv_V"][bad],
                    "x",
                    color="r",
                    ms=8,
                    label="not ok",
                )
        ax.set_xlabel("time (s)")
        ax.set_ylabel("PSV (V)")
    axes[0].legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig
