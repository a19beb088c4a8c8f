"""Rule analyse_weight_tables: LTP/LTD from weight-per-pulse tables (SET and RESET files, one
column per run, or step-size lookup tables sampled into runs): NeuroSim fits per run with signed
NL, levels per device over all runs, cycle-to-cycle / device-to-device variability, a summary per
branch (NL, n_states, c2c, status), and a figure of the runs with their fits."""

import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.figures import weight_tables_figure
from fmes.analysis.weight_tables import (
    analyse_weight_tables,
    branch_summary,
    load_weight_tables,
    weight_table_results,
)
from fmes.core.figures import save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def main(snakemake) -> None:
    log = rule_logger("analyse_weight_tables", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    fit_kw = dict(P.ltp_ltd)

    fits, weights, states, variability, summary = [], [], [], [], []
    for spec in P.tables:
        # CSV runs, or pulse trains sampled (seeded) from step lookup tables
        set_table, reset_table = load_weight_tables(spec, seed=P.seed)
        log.info(
            "%s: %d SET runs (%d-%d pulses), %d RESET runs (%d-%d pulses), %s in %s",
            spec["name"],
            set_table.shape[1],
            set_table.count().min(),
            set_table.count().max(),
            reset_table.shape[1],
            reset_table.count().min(),
            reset_table.count().max(),
            spec["quantity"],
            spec["unit"],
        )
        table_fits, table_weights = analyse_weight_tables(
            set_table, reset_table, spec, fit_kw, QualityLimits(**P.fit_quality)
        )
        # variability over the cycles (runs: cycles) or devices (runs: devices) of this table
        result = weight_table_results(
            table_fits, table_weights, spec, fit_kw, nominal_device=P.nominal_device
        )
        fits.append(result.fits)
        weights.append(result.weights)
        states.append(result.states)
        variability.append(result.variability)
        summary.append(branch_summary(result, spec))
        for shape, n in result.fits.groupby(["ltp_shape", "ltd_shape"]).size().items():
            log.info("%s: %d run(s) with LTP %s, LTD %s", spec["name"], n, *shape)

    fit_table = pd.concat(fits, ignore_index=True)
    not_ok = (
        fit_table[fit_table["status"] != Status.OK] if "status" in fit_table else fit_table[0:0]
    )
    log.info("%d run fits, %d not ok", len(fit_table), len(not_ok))
    write_csv(fit_table, out.fits)
    write_csv(pd.concat(weights, ignore_index=True), out.weights)
    write_csv(pd.concat(states, ignore_index=True), out.states)
    write_csv(pd.concat(variability, ignore_index=True), out.variability)
    summary_table = pd.concat(summary, ignore_index=True)
    write_csv(summary_table, out.summary)
    for row in summary_table.itertuples():
        log.info(
            "%s %s: NL %+.3f, n_states %s, c2c step sigma %.4g of the range, %s %s",
            row.table,
            row.branch,
            getattr(row, "nl", float("nan")),
            getattr(row, "n_states", "-"),
            getattr(row, "c2c_step_sigma_frac", float("nan")),
            row.status,
            row.reason,
        )

    save_figure(weight_tables_figure(P.tables, fits, weights), out.figure)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
