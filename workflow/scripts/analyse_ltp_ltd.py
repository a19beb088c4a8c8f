"""Rule analyse_ltp_ltd: weight per pulse and NeuroSim fit of every ltp_ltd trace (nominal device
and variability array); Fig 1e, Fig 3h/3i (NL and Δw vs resistance), Supp. Fig 15 (range)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.ltp_ltd import (
    cycle_pulse_index,
    fitted_branch,
    nominal_ok_fits,
    state_summary,
)
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    skipped_frame,
)
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.data.store import read_results


def main(snakemake) -> None:
    log = rule_logger("analyse_ltp_ltd", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    # the per-trace fits come from analyse_ltp_ltd_chunk (scattered), gathered here in row order
    gathered = read_results(snakemake.input.fit_chunks)
    records = len(gathered) > 0
    weights = [read_results(snakemake.input.weight_chunks)]
    log.info("ltp_ltd: %d fits from %d chunks", len(gathered), len(snakemake.input.fit_chunks))

    if records:
        fits = gathered
        log.info(
            "%d/%d fits converged; statuses: %s",
            int(fits["converged"].sum()),
            len(fits),
            fits["status"].value_counts().to_dict(),
        )
    else:
        fits = skipped_frame(
            [
                "trace_id",
                "resistance_label",
                "device_id",
                "cycle",
                "a_p_pulses",
                "a_d_pulses",
                "converged",
            ],
            "no 'ltp_ltd' traces in the manifest",
        )
    write_csv(fits, out.fits)
    w_tab = (
        pd.concat([w for w in weights if len(w)], ignore_index=True)
        if any(len(w) for w in weights)
        else skipped_frame(
            ["trace_id", "phase", "pulse_number", "weight_V"],
            "no analysable 'ltp_ltd' trace of the nominal device",
        )
    )
    write_csv(w_tab, out.weights)

    nom = nominal_ok_fits(fits, P.nominal_device) if records else fits[0:0]
    titles = {
        out.fig1e: "LTP/LTD",
        out.fig3h: "LTP NL and Δw",
        out.fig3i: "LTD NL and Δw",
        out.figS15: "dynamic range",
    }
    if nom.empty:
        for path, title in titles.items():
            save_figure(placeholder_figure(title, "no converged LTP/LTD fit"), path)
    else:
        # One cycle per state for Fig 1e (the first converged one), all of them for the summaries.
        first = nom.drop_duplicates("resistance_label")
        labels = ordered_labels(first["resistance_label"])
        colors = resistance_colors(labels)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        offset = 0
        for lab in labels:
            f = first[first["resistance_label"] == lab].iloc[0]
            w = w_tab[w_tab["trace_id"] == f["trace_id"]] if "trace_id" in w_tab else w_tab[0:0]
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
        save_figure(fig, out.fig1e)

        summ = state_summary(nom, labels)
        for key, path, title in (("ltp", out.fig3h, "LTP"), ("ltd", out.fig3i, "LTD")):
            fig, ax1 = plt.subplots(figsize=(4.8, 3.5))
            xs = np.arange(len(labels))
            ax1.errorbar(xs, summ[f"nl_{key}"], yerr=summ[f"nl_{key}_err"], fmt="o-", color="C0")
            ax1.set_ylabel("non-linearity label (NeuroSim)", color="C0")
            ax1.set_xticks(xs, labels)
            ax1.set_xlabel("regulating resistance (Ω)")
            ax2 = ax1.twinx()
            ax2.plot(xs, np.abs(summ[f"dw_{key}"]) * 1e3, "s--", color="C3")
            ax2.set_ylabel("mean |Δw| per pulse (mV)", color="C3")
            ax2.grid(False)
            ax1.set_title(f"{title}: non-linearity and Δw")
            save_figure(fig, path)

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
        save_figure(fig, out.figS15)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
