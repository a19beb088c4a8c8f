"""Rule analyse_variability: c2c/d2d CVs, CDFs, endurance and array map (Supp. Figs 10-11)
from the per-trace LTP/LTD fits."""

from fmes.analysis.figures import endurance_figure, variability_figure
from fmes.analysis.pipeline import read_unless_skipped, skipped_frame
from fmes.analysis.variability import (
    cdf_table,
    endurance_table,
    fit_columns,
    usable_cycles,
    variability_summary,
    with_derived_metrics,
)
from fmes.core.figures import save_figure_or_placeholder
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

    skip = None if usable else reason
    save_figure_or_placeholder(
        out.figS10, "endurance", skip, lambda: endurance_figure(per_cycle, P.nominal_device)
    )
    save_figure_or_placeholder(
        out.figS11,
        "variability",
        skip,
        lambda: variability_figure(per_cycle, cdf, P.variability["heatmap_metric"]),
    )
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
