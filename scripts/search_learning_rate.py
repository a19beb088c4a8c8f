"""Rule networks_lr_search: the learning rate per net and state, chosen on a validation split.

For every net and state (the default update scheme), GridSearchCV over the configured grid on a
stratified hold-out of the training set (fmes.robustness.search_learning_rate); the network is
then retrained on the whole training set at the chosen rate and scored on the test set. Writes a
tidy table: one row per net, state and rate (validation accuracy), the chosen rate flagged, the
test accuracy on the chosen row.
"""

import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fmes.io import read_table, write_csv
from fmes.logs import rule_logger
from fmes.mnist import load_split
from fmes.planning import plan_states
from fmes.rng import child_seed
from fmes.robustness import build_network, search_learning_rate, update_parameters
from fmes.status import Status
from fmes.synapse import load_device_params

snakemake = globals()["snakemake"]
log = rule_logger("networks_lr_search", snakemake.log[0])
p = snakemake.params

split = load_split(snakemake.input.split)
device_states = [s for s in p.states if s != "ideal"]
# the states the device_params plan allows (fmes.planning, as the networks stage plans them); the
# others are left out with the plan's reason
plan = plan_states(
    read_table(snakemake.input.device_params),
    read_table(snakemake.input.provenance, extra_labels=("column", "source", "note")),
    device_states,
    allow_non_ok=p.allow_non_ok,
    allow_key="networks.allow_non_ok_states",
)
for state, reason in plan.loc[~plan["use"], ["state", "reason"]].itertuples(index=False):
    log.warning("learning-rate search skips %s: %s", state, reason)
usable = set(plan.loc[plan["use"], "state"])
# the float baseline alone (a user's data without LTP/LTD cycles) needs no device table
specs = load_device_params(snakemake.input.device_params) if usable else {}
states = [s for s in p.states if s == "ideal" or s in usable]
update = update_parameters(p.update_scheme, specs) if device_states else {}
search = p.lr_search
frames = []
started = time.perf_counter()
with threadpool_limits(snakemake.threads):
    for net_name in p.nets:
        seed = int(child_seed(p.seed, "networks", net_name, p.search_seed).generate_state(1)[0])
        for state in states:
            net = build_network(
                net_name,
                p.net_params[net_name],
                None if state == "ideal" else specs[state],
                epochs=int(search["epochs"]),
                batch_size=int(p.batch_size),
                w_max=float(p.w_max),
                random_state=seed,
                update_params=update,
            )
            grid = search["grid"][net_name]
            frame = search_learning_rate(
                net, split.X_train, split.y_train, grid, float(search["validation_fraction"]), seed
            )
            chosen = float(frame.loc[frame["chosen"], "learning_rate"].iloc[0])
            net.set_params(learning_rate=chosen).fit(split.X_train, split.y_train)
            test = float(net.score(split.X_test, split.y_test))
            edge = chosen in (min(grid), max(grid)) and len(grid) > 1
            frame = frame.assign(
                net=net_name,
                state=state,
                epochs=int(search["epochs"]),
                mnist_source=split.source,
                n_train=len(split.y_train),
                chosen_learning_rate=chosen,
                test_accuracy=np.where(frame["chosen"], test, np.nan),
                status=str(Status.FLAGGED if edge else Status.OK),
                reason=(
                    "the chosen rate is at the edge of networks.lr_search.grid" if edge else ""
                ),
            )
            log.info(
                "%s %s: validation %s -> rate %g, test %.4f (%.0f s)",
                net_name,
                state,
                dict(
                    zip(frame["learning_rate"], frame["validation_accuracy"].round(4), strict=True)
                ),
                chosen,
                test,
                time.perf_counter() - started,
            )
            frames.append(frame)

columns = [
    "net",
    "state",
    "learning_rate",
    "validation_accuracy",
    "chosen",
    "chosen_learning_rate",
    "test_accuracy",
    "epochs",
    "mnist_source",
    "n_train",
    "status",
    "reason",
]
write_csv(pd.concat(frames, ignore_index=True)[columns], snakemake.output.table)
