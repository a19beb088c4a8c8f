"""Rule analyse_ltp_ltd: weight per pulse and NeuroSim fit of every ltp_ltd trace (nominal device
and variability array); Fig 1e, Fig 3h/3i (NL and Δw vs resistance), Supp. Fig 15 (range)."""

from fmes.analysis.figures import dynamic_range_figure, ltp_ltd_figure, nl_dw_figure
from fmes.analysis.ltp_ltd import nominal_ok_fits
from fmes.analysis.pipeline import ltp_ltd_tables
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.data.store import read_results


def main(snakemake) -> None:
    log = rule_logger("analyse_ltp_ltd", snakemake.log[0])
    out = snakemake.output
    # the per-trace fits come from analyse_ltp_ltd_chunk (scattered), gathered here in row order
    gathered = read_results(snakemake.input.fit_chunks)
    log.info("ltp_ltd: %d fits from %d chunks", len(gathered), len(snakemake.input.fit_chunks))
    if len(gathered):
        log.info(
            "%d/%d fits converged; statuses: %s",
            int(gathered["converged"].sum()),
            len(gathered),
            gathered["status"].value_counts().to_dict(),
        )
    fits, weights = ltp_ltd_tables(gathered, read_results(snakemake.input.weight_chunks))
    write_csv(fits, out.fits)
    write_csv(weights, out.weights)

    nominal = nominal_ok_fits(fits, snakemake.params.nominal_device) if len(gathered) else fits[0:0]
    skip = "no converged LTP/LTD fit" if nominal.empty else None
    for path, title, draw in (
        (out.fig1e, "LTP/LTD", lambda: ltp_ltd_figure(nominal, weights)),
        (out.fig3h, "LTP NL and Δw", lambda: nl_dw_figure(nominal, "ltp", "LTP")),
        (out.fig3i, "LTD NL and Δw", lambda: nl_dw_figure(nominal, "ltd", "LTD")),
        (out.figS15, "dynamic range", lambda: dynamic_range_figure(nominal)),
    ):
        save_figure_or_placeholder(path, title, skip, draw)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
