"""Rule analyse_variability: c2c/d2d CVs, CDFs, endurance and array map (Supp. Figs 10-11)
from the per-trace LTP/LTD fits."""

import matplotlib.pyplot as plt
import numpy as np

from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    read_unless_skipped,
    skipped_frame,
)
from fmes.analysis.variability import (
    METRICS,
    cdf_table,
    endurance_cycles,
    endurance_table,
    fit_columns,
    heatmap_grid,
    usable_cycles,
    variability_summary,
    with_derived_metrics,
)
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def main(snakemake) -> None:
    log = rule_logger("analyse_variability", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    # only the columns the results use: an array campaign's fit table has a row per trace
    columns = fit_columns(P.variability["heatmap_metric"], *P.variability["cdf_metrics"])
    fits = read_unless_skipped(snakemake.input.fits, columns=columns)
    usable = fits is not None and bool(usable_cycles(fits).any())
    if usable:
        summary = variability_summary(fits, nominal_device=P.nominal_device)
        per_cycle = with_derived_metrics(fits[usable_cycles(fits)])
        cdf = cdf_table(per_cycle, P.variability["cdf_metrics"])
        endurance = endurance_table(per_cycle)
        log.info(
            "variability over %d usable cycles (%d poor fits left out), %d devices",
            len(per_cycle),
            int((fits["status"] == Status.POOR_FIT).sum()),
            per_cycle["device_id"].nunique(),
        )
    else:
        reason = "no usable LTP/LTD fit: none converged without a poor fit (see ltp_ltd_fits.csv)"
        summary = skipped_frame(["resistance_label", "metric", "kind", "cv"], reason)
        cdf = skipped_frame(
            ["resistance_label", "metric", "value", "cumulative_probability"], reason
        )
        endurance = skipped_frame(["resistance_label", "device_id", "cycle"], reason)
    write_csv(summary, out.summary)
    write_csv(cdf, out.cdf)
    write_csv(endurance, out.endurance)

    if not usable:
        save_figure(placeholder_figure("endurance", reason), out.figS10)
        save_figure(placeholder_figure("variability", reason), out.figS11)
    else:
        labels = ordered_labels(per_cycle["resistance_label"])
        colors = resistance_colors(labels)
        show = ["g_max_V", "g_min_V", "a_p_pulses", "a_d_pulses"]
        fig, axes = plt.subplots(2, 2, figsize=(8, 5.5), sharex=True)
        shown = endurance_cycles(per_cycle, P.nominal_device)
        for ax, m in zip(axes.ravel(), show, strict=True):
            for lab in labels:
                s = shown[shown["resistance_label"] == lab]
                ax.plot(s["cycle"], s[m], "o-", ms=3, color=colors[lab], label=legend_label(lab))
            ax.set_ylabel(METRICS[m])
            ax.set_xlabel("cycle index")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle("endurance: LTP/LTD metrics against cycle")
        save_figure(fig, out.figS10)

        hm = P.variability["heatmap_metric"]
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
        lab_map, mat = heatmap_grid(per_cycle, hm)
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
            fig.colorbar(im, ax=ax, label=METRICS[hm])
        save_figure(fig, out.figS11)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
