"""Rule networks_lr_search: the learning rate per net and state, chosen on a validation split.

For every net and state (the default update scheme), GridSearchCV over the configured grid on a
stratified hold-out of the training set (fmes.claims.robustness.search_learning_rate); the network is
then retrained on the whole training set at the chosen rate and scored on the test set. Writes a
tidy table: one row per net, state and rate (validation accuracy), the chosen rate flagged, the
test accuracy on the chosen row.
"""

import time

import pandas as pd
from threadpoolctl import threadpool_limits

from fmes.claims.robustness import (
    build_network,
    tune_learning_rate,
    update_parameters,
)
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.core.rng import child_seed_int
from fmes.device.synapse import DeviceSpec, load_device_params
from fmes.networks.mnist import MnistSplit, load_split
from fmes.workflow.planning import plan_states, trained_states

COLUMNS = [
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


def search_one(
    p, net_name: str, state: str, device: DeviceSpec | None, update: dict, split: MnistSplit
) -> pd.DataFrame:
    """The validation accuracy per rate for one net and state, the chosen rate flagged and its
    network retrained on the whole training set and scored on the test set."""
    search = p.lr_search
    seed = child_seed_int(p.seed, "networks", net_name, p.search_seed)
    net = build_network(
        net_name,
        p.net_params[net_name],
        device,
        epochs=int(search["epochs"]),
        batch_size=int(p.batch_size),
        w_max=float(p.w_max),
        random_state=seed,
        update_params=update,
    )
    frame = tune_learning_rate(
        net,
        split.X_train,
        split.y_train,
        split.X_test,
        split.y_test,
        search["grid"][net_name],
        float(search["validation_fraction"]),
        seed,
    )
    return frame.assign(
        net=net_name,
        state=state,
        epochs=int(search["epochs"]),
        mnist_source=split.source,
        n_train=len(split.y_train),
    )


def main(snakemake) -> None:
    log = rule_logger("networks_lr_search", snakemake.log[0])
    p = snakemake.params
    split = load_split(snakemake.input.split)
    device_states = [s for s in p.states if s != "ideal"]
    # the states the device_params plan allows (fmes.workflow.planning, as the networks stage plans
    # them); the others are left out with the plan's reason
    plan = plan_states(
        read_table(snakemake.input.device_params),
        read_table(snakemake.input.provenance, extra_labels=("column", "source", "note")),
        device_states,
        allow_non_ok=p.allow_non_ok,
        allow_key="networks.allow_non_ok_states",
    )
    for state, reason in plan.loc[~plan["use"], ["state", "reason"]].itertuples(index=False):
        log.warning("learning-rate search skips %s: %s", state, reason)
    states = trained_states(p.states, plan)
    # the float baseline alone (a user's data without LTP/LTD cycles) needs no device table
    specs = load_device_params(snakemake.input.device_params) if plan["use"].any() else {}
    update = update_parameters(p.update_scheme, specs) if device_states else {}
    frames = []
    started = time.perf_counter()
    with threadpool_limits(snakemake.threads):
        for net_name in p.nets:
            for state in states:
                device = None if state == "ideal" else specs[state]
                frame = search_one(p, net_name, state, device, update, split)
                log.info(
                    "%s %s: validation %s -> rate %g, test %.4f (%.0f s)",
                    net_name,
                    state,
                    dict(
                        zip(
                            frame["learning_rate"],
                            frame["validation_accuracy"].round(4),
                            strict=True,
                        )
                    ),
                    frame["chosen_learning_rate"].iloc[0],
                    frame.loc[frame["chosen"], "test_accuracy"].iloc[0],
                    time.perf_counter() - started,
                )
                frames.append(frame)
    write_csv(pd.concat(frames, ignore_index=True)[COLUMNS], snakemake.output.table)


if __name__ == "__main__":
    main(globals()["snakemake"])
