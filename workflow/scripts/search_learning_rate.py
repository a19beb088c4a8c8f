"""Rule networks_lr_search: the learning rate per net and state, chosen on a validation split.

For every net and state (the default update scheme), GridSearchCV over the configured grid on a
stratified hold-out of the training set (fmes.networks.training.tune_every_state); the network is
then retrained on the whole training set at the chosen rate and scored on the test set. Writes a
tidy table: one row per net, state and rate (validation accuracy), the chosen rate flagged, the
test accuracy on the chosen row.
"""

from threadpoolctl import threadpool_limits

from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.device.synapse import load_device_params
from fmes.networks.mnist import load_split
from fmes.networks.training import (
    LearningRateSearch,
    NetworkSettings,
    network_random_state,
    tune_every_state,
    update_parameters,
)
from fmes.workflow.planning import plan_states, trained_states


def main(snakemake) -> None:
    log = rule_logger("networks_lr_search", snakemake.log[0])
    p = snakemake.params
    split = load_split(snakemake.input.split)
    device_states = [s for s in p.states if s != "ideal"]
    # the states the device_params plan allows (fmes.workflow.planning, as the networks stage
    # plans them); the others are left out with the plan's reason
    plan = plan_states(
        read_table(snakemake.input.device_params),
        read_table(snakemake.input.provenance, extra_labels=("column", "source", "note")),
        device_states,
        allow_non_ok=p.allow_non_ok,
        allow_key="networks.allow_non_ok_states",
    )
    for state, reason in plan.loc[~plan["use"], ["state", "reason"]].itertuples(index=False):
        log.warning("learning-rate search skips %s: %s", state, reason)
    # the float baseline alone (a user's data without LTP/LTD cycles) needs no device table
    specs = load_device_params(snakemake.input.device_params) if plan["use"].any() else {}
    update = update_parameters(p.update_scheme, specs) if device_states else {}
    settings = NetworkSettings(p.net_params, int(p.batch_size), float(p.w_max), update)
    devices = {s: None if s == "ideal" else specs[s] for s in trained_states(p.states, plan)}
    random_states = {net: network_random_state(p.seed, net, p.search_seed) for net in p.nets}
    search = LearningRateSearch.from_config(p.lr_search)
    with threadpool_limits(snakemake.threads):
        table = tune_every_state(settings, search, p.nets, devices, split, random_states, log.info)
    write_csv(table, snakemake.output.table)


if __name__ == "__main__":
    main(globals()["snakemake"])
