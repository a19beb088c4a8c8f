"""Rule analyse_array: array-level results of the variability campaign from the per-cycle
LTP/LTD fits: maps of every metric over rows x columns, per-cycle drift of the array's mean and
spread, and a device yield map."""

from functools import partial

from fmes.analysis.array_maps import yield_summary
from fmes.analysis.figures import array_drift_figure, array_maps_figure, array_yield_figure
from fmes.analysis.pipeline import array_results, read_unless_skipped
from fmes.analysis.variability import fit_columns
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("analyse_array", snakemake.log[0])
    out = snakemake.output
    # only the columns the results use: an array campaign's fit table has a row per trace
    fits = read_unless_skipped(snakemake.input.fits, columns=fit_columns())
    result = array_results(fits, **snakemake.params.array)
    write_csv(result.maps, out.maps)
    write_csv(result.drift, out.drift)
    write_csv(result.yields, out.yield_table)
    if result.skipped:
        log.info("skipped: %s", result.skipped)
    else:
        log.info(
            "%d x %d array, %d fits, states %s", *result.shape, len(result.array), result.labels
        )
        for s in yield_summary(result.yields).itertuples(index=False):
            log.info(
                "yield %s: %d/%d devices (%.1f %%)",
                s.resistance_label,
                s.n_working,
                s.n_devices,
                100 * s.yield_frac,
            )
    for path, draw in (
        (out.fig_maps, array_maps_figure),
        (out.fig_drift, array_drift_figure),
        (out.fig_yield, array_yield_figure),
    ):
        save_figure_or_placeholder(path, "array results", result.skipped, partial(draw, result))
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
