"""Rule networks_aggregate: accuracy per net and state (mean +- std over seeds) beside the paper."""

import numpy as np
import pandas as pd

from fmes.io import read_table, write_csv
from fmes.logs import rule_logger
from fmes.networks import aggregate_accuracy


def main(snakemake) -> None:
    log = rule_logger("networks_aggregate", snakemake.log[0])
    p = snakemake.params
    curves = pd.concat([read_table(path) for path in snakemake.input.curves], ignore_index=True)
    write_csv(curves, snakemake.output.curves)
    # the paper's Fig 4d values concern the 784-100-10 network after paper_epochs epochs
    table = aggregate_accuracy(curves, dict(p.paper_accuracy), p.paper_net, int(p.paper_epochs))
    for row in table.itertuples(index=False):
        log.info(
            "%s %s: %.4f +- %.4f after %d epochs (initial %.4f)%s",
            row.net,
            row.state,
            row.final_test_accuracy_mean,
            row.final_test_accuracy_std,
            row.epochs,
            row.initial_test_accuracy_mean,
            "" if np.isnan(row.paper_test_accuracy) else f"; paper {row.paper_test_accuracy:.2f}",
        )
    write_csv(table, snakemake.output.table)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
