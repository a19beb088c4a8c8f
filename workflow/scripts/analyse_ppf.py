"""Rule analyse_ppf: A1, A2, PPF per trace; double/single exponential fit per resistance
(Fig 3a), heat map over resistance x interval (Fig 3b), two-pulse traces (Fig 3c)."""

from fmes.analysis._fit import QualityLimits
from fmes.analysis.figures import ppf_example_figure, ppf_fits_figure, ppf_heat_map_figure
from fmes.analysis.pipeline import (
    fit_ppf_per_state,
    load_protocol_rows,
    map_traces,
    ordered_labels,
    ppf_example,
    ppf_row,
    records_or_skipped,
    skipped_frame,
)
from fmes.analysis.ppf import Separation
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def main(snakemake) -> None:
    log = rule_logger("analyse_ppf", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "ppf", P.nominal_device)
    log.info("ppf protocol: %d traces", len(rows))
    examples = {}

    def analyse(row, trace):
        record, pulses = ppf_row(row, trace, pulse_kw=P.pulses)
        if pulses is not None:
            examples[row["trace_id"]] = (trace, pulses)
        return record

    records = map_traces(rows, analyse)
    reason = "no 'ppf' traces in the manifest"
    values = records_or_skipped(
        records, ["trace_id", "resistance_label", "interval_s", "a1_V", "a2_V", "ppf"], reason
    )
    if records:
        fits = fit_ppf_per_state(
            values,
            model=P.ppf["model"],
            criterion=P.ppf["criterion"],
            limits=QualityLimits(**P.fit_quality),
            separation=Separation(**P.ppf["separation"]),
        )
        for fit in fits.itertuples(index=False):
            log.info("PPF fit %s ohm: %s, %s", fit.resistance_label, fit.model, fit.reason)
    else:
        fits = skipped_frame(["resistance_label", "model", "c1", "tau1_s", "c2", "tau2_s"], reason)
    write_csv(values, out.values)
    write_csv(fits, out.fits)

    skip = None if records else "no 'ppf' traces"
    good = values[values["status"] == Status.OK]
    labels = ordered_labels(values["resistance_label"]) if records else []
    save_figure_or_placeholder(
        out.fig3a, "PPF fits", skip, lambda: ppf_fits_figure(good, fits, labels)
    )
    save_figure_or_placeholder(
        out.fig3b, "PPF heat map", skip, lambda: ppf_heat_map_figure(good, labels)
    )
    # Fig 3c: the configured example (resistance, interval) or the nearest available one.
    ex = ppf_example(good, str(P.ppf["example_resistance"]), P.ppf["example_interval_s"])
    save_figure_or_placeholder(
        out.fig3c,
        "two-pulse traces",
        skip or ("no analysable ppf trace" if ex is None else None),
        lambda: ppf_example_figure(ex, *examples[ex["trace_id"]]),
    )
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
