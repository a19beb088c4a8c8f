"""Rule networks_aggregate: accuracy per net and state (mean +- std over seeds) beside the paper."""

import numpy as np
import pandas as pd

from fmes.io import read_table, write_csv
from fmes.logs import rule_logger
from fmes.planning import plan_states
from fmes.status import Status

snakemake = globals()["snakemake"]
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
curve_frames = [pd.read_csv(path, dtype={"state": str}) for path in snakemake.input.curves]
curves = (
    pd.concat(curve_frames, ignore_index=True)
    if curve_frames
    else pd.DataFrame(columns=["net", "state", "seed", "epoch", "train_accuracy", "test_accuracy"])
)
write_csv(curves, snakemake.output.curves)

last_epoch = curves.groupby(["net", "state", "seed"])["epoch"].transform("max")
final = curves[curves["epoch"] == last_epoch]
initial = curves[curves["epoch"] == 0]
keys = ["net", "state"]
table = (
    final.groupby(keys, sort=False)
    .agg(
        n_seeds=("seed", "nunique"),
        epochs=("epoch", "max"),
        final_test_accuracy_mean=("test_accuracy", "mean"),
        final_test_accuracy_std=("test_accuracy", "std"),
        final_train_accuracy_mean=("train_accuracy", "mean"),
    )
    .join(
        initial.groupby(keys, sort=False).agg(
            initial_test_accuracy_mean=("test_accuracy", "mean"),
            initial_test_accuracy_std=("test_accuracy", "std"),
        )
    )
    .reset_index()
)
# the paper's Fig 4d values concern the 784-100-10 network after paper_epochs epochs
paper = {str(k): float(v) for k, v in dict(p.paper_accuracy).items()}
is_paper_net = table["net"] == p.paper_net
table["paper_test_accuracy"] = np.where(is_paper_net, table["state"].map(paper), np.nan)
table["paper_epochs"] = np.where(table["paper_test_accuracy"].notna(), int(p.paper_epochs), np.nan)
table["difference_vs_paper"] = table["final_test_accuracy_mean"] - table["paper_test_accuracy"]
# every requested state has a row: trained ones with their device status (ok, or a non-ok status
# the config allowed), refused ones as `skipped` with the reason and no accuracy
status = {
    "ideal": (Status.OK.value, ""),
    **{r.state: (r.status, r.reason) for r in plan.itertuples()},
}
table["status"] = [status[s][0] for s in table["state"]]
table["reason"] = [status[s][1] for s in table["state"]]
skipped = plan[~plan["use"]]
table = pd.concat(
    [
        table,
        pd.DataFrame(
            [
                {"net": net, "state": r.state, "n_seeds": 0, "status": r.status, "reason": r.reason}
                for net in p.nets
                for r in skipped.itertuples()
            ]
        ),
    ],
    ignore_index=True,
)
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
