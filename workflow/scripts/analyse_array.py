"""Rule analyse_array: array-level results of the variability campaign from the per-cycle
LTP/LTD fits: maps of every metric over rows x columns, per-cycle drift of the array's mean and
spread, and a device yield map."""

import matplotlib.pyplot as plt
import numpy as np

from fmes.analysis.array_maps import (
    array_fits,
    cycle_drift,
    device_yield,
    grid_shape,
    metric_maps,
    relative_drift,
    state_grid,
    yield_summary,
)
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    read_unless_skipped,
    skipped_frame,
)
from fmes.analysis.variability import METRICS, fit_columns
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("analyse_array", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    # only the columns the results use: an array campaign's fit table has a row per trace
    fits = read_unless_skipped(snakemake.input.fits, columns=fit_columns())
    skipped = fits is None
    array = None if skipped else array_fits(fits)
    if array is None or array.empty:
        reason = (
            "no LTP/LTD fits"
            if skipped
            else "no array devices (ids r<row>c<col>) in the LTP/LTD fits"
        )
        log.info("skipped: %s", reason)
        write_csv(
            skipped_frame(
                ["resistance_label", "row", "col", "device_id", "metric", "mean", "sd", "n"], reason
            ),
            out.maps,
        )
        write_csv(
            skipped_frame(["resistance_label", "cycle", "metric", "mean", "sd", "n"], reason),
            out.drift,
        )
        write_csv(
            skipped_frame(["resistance_label", "device_id", "works"], reason), out.yield_table
        )
        for path in (out.fig_maps, out.fig_drift, out.fig_yield):
            save_figure(placeholder_figure("array results", reason), path)
        return

    maps = metric_maps(array)
    drift = cycle_drift(array)
    yields = device_yield(array, **P.array)
    summary = yield_summary(yields)
    write_csv(maps, out.maps)
    write_csv(drift, out.drift)
    write_csv(yields, out.yield_table)
    shape = grid_shape(array)
    log.info(
        "%d x %d array, %d fits, states %s",
        *shape,
        len(array),
        ordered_labels(array["resistance_label"]),
    )
    for s in summary.itertuples(index=False):
        log.info(
            "yield %s: %d/%d devices (%.1f %%)",
            s.resistance_label,
            s.n_working,
            s.n_devices,
            100 * s.yield_frac,
        )

    labels = ordered_labels(array["resistance_label"])
    metrics = [m for m in METRICS if m in set(maps["metric"])]

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
    save_figure(fig, out.fig_maps)

    colors = resistance_colors(labels)
    n_panel_cols = 4
    n_panel_rows = int(np.ceil(len(metrics) / n_panel_cols))
    fig, axes = plt.subplots(
        n_panel_rows, n_panel_cols, figsize=(3.2 * n_panel_cols, 2.8 * n_panel_rows), squeeze=False
    )
    relative = relative_drift(drift)
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
    save_figure(fig, out.fig_drift)

    fig, axes = plt.subplots(1, len(labels), figsize=(3.0 * len(labels), 3.0), squeeze=False)
    for ax, lab in zip(axes[0], labels, strict=True):
        works = state_grid(yields, lab, "works", shape)
        ax.imshow(works, cmap="RdYlGn", vmin=0, vmax=1, origin="upper")
        ax.grid(False)
        s = summary[summary["resistance_label"] == lab].iloc[0]
        ax.set_title(f"{legend_label(lab)}: yield {s.n_working}/{s.n_devices}", fontsize=9)
        ax.set_xlabel("array column")
        ax.set_ylabel("array row")
    fig.suptitle("device yield (green: works; red: fits failed or poor, or range below threshold)")
    save_figure(fig, out.fig_yield)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
