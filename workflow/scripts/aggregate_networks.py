"""Rule networks_aggregate: accuracy per net and state (mean +- std over seeds) beside the paper."""

import numpy as np
import pandas as pd

from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status
from fmes.data.targets import load_targets, network_paper_accuracy
from fmes.networks.estimators import accuracy_table
from fmes.workflow.planning import plan_states

CURVE_COLUMNS = ["net", "state", "seed", "epoch", "train_accuracy", "test_accuracy"]


def read_curves(paths: list[str]) -> pd.DataFrame:
    """All seeds' accuracy curves in one table (empty, with its columns, when nothing trained)."""
    frames = [read_table(path) for path in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CURVE_COLUMNS)


def main(snakemake) -> None:
    log = rule_logger("networks_aggregate", snakemake.log[0])
    p = snakemake.params
    plan = plan_states(
        read_table(snakemake.input.device_params),
        read_table(snakemake.input.provenance, extra_labels=("column", "source", "note")),
        p.resistances,
        allow_non_ok=p.allow_non_ok,
        allow_key="networks.allow_non_ok_states",
    )
    for row in plan.itertuples(index=False):
        if row.status != Status.OK:
            (log.warning if row.use else log.info)(
                "device networks at %s: %s: %s",
                row.state,
                "trained" if row.use else "skipped",
                row.reason,
            )
    curves = read_curves(list(snakemake.input.curves))
    write_csv(curves, snakemake.output.curves)
    # the paper's Fig 4d values (net, state, accuracy, epochs) are those its targets state; every
    # requested state has a row: trained ones with their device status (ok, or a non-ok status
    # the config allowed), refused ones as `skipped` with the reason and no accuracy
    paper = network_paper_accuracy(load_targets(snakemake.input.targets))
    table = accuracy_table(curves, plan, p.nets, paper)
    for row in table[table["n_seeds"] > 0].itertuples(index=False):
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
    main(globals()["snakemake"])
