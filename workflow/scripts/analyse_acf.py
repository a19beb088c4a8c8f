"""Rule analyse_acf: autocorrelation memory metric of the pulse-width series (Fig 3d).

Metric (fmes.analysis.acf): std of the normalised sample ACF of the PSV resampled on a uniform
grid over [onset - pre_s, onset + window_s], lags 0 .. max_lag_frac of the record."""

from fmes.analysis.figures import acf_figure
from fmes.analysis.pipeline import (
    acf_row,
    at_most_common,
    load_protocol_rows,
    map_traces,
    records_or_skipped,
)
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def main(snakemake) -> None:
    log = rule_logger("analyse_acf", snakemake.log[0])
    P = snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device)
    # The width series is the set of pulses at the most common amplitude (Fig 2d).
    rows = at_most_common(rows, ["amplitude_A"])
    log.info("acf: %d pulse-width traces", len(rows))
    acf_kw = {k: P.acf[k] for k in ("window_s", "pre_s", "n_grid", "max_lag_frac")}
    records = map_traces(
        rows, lambda row, trace: acf_row(row, trace, pulse_kw=P.pulses, acf_kw=acf_kw)
    )
    tab = records_or_skipped(
        records,
        ["trace_id", "resistance_label", "width_s", "acf_std"],
        "no 'pulse' traces in the manifest",
    )
    write_csv(tab, snakemake.output.table)
    ok = tab[tab["status"] == Status.OK]
    save_figure_or_placeholder(
        snakemake.output.fig3d,
        "ACF memory metric",
        "no analysable 'pulse' traces" if ok.empty else None,
        lambda: acf_figure(ok, P.acf["window_s"]),
    )
    log.info("done: %d traces", len(ok))


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
