"""Rule claims_variant: the paper's network claims under one update scheme (mapping x pulse rule).

Per robustness state and seed: the learning rate is searched on that seed's own validation split
of the training set, on a log grid extended while the best rate is at an edge, then the network
is trained at that rate and scored on the test set (fmes.networks.training.fit_every_seed); the
per-image outcomes are kept for the claims' paired bootstrap. With adaptation enabled, the Fig 5
experiment is rerun per adaptation seed with its dataset1 training under the same scheme.
Writes tidy per-seed tables.
"""

import numpy as np
from threadpoolctl import threadpool_limits

from fmes.claims.robustness import (
    adapt_under_variant,
    parse_variant,
    robustness_net,
    variant_adaptation,
    variant_tables,
)
from fmes.core.io import read_json, read_table, write_csv, write_npz
from fmes.core.logs import rule_logger
from fmes.data.targets import check_selects, load_targets
from fmes.device.synapse import load_device_params
from fmes.networks.mnist import load_split
from fmes.networks.training import (
    LearningRateSearch,
    NetworkSettings,
    fit_every_seed,
    network_random_state,
    update_parameters,
)
from fmes.workflow.planning import plan_states


def main(snakemake) -> None:
    variant = snakemake.wildcards.variant
    log = rule_logger(f"claims_variant.{variant}", snakemake.log[0])
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    robust, ad = p.robustness, p.adaptation
    split, table = load_split(inp.split), read_table(inp.device_params)
    specs = load_device_params(inp.device_params)
    provenance = read_table(inp.provenance, extra_labels=("column", "source", "note"))
    targets = load_targets(inp.targets)
    check_selects(targets)
    net = robustness_net(targets)  # the net the paper's network claims select
    # the workflow requests this job only when every robustness state is usable (claims.smk);
    # a direct request for an unusable one fails here with the plan's reason
    plan = plan_states(
        table,
        provenance,
        robust["states"],
        allow_non_ok=p.allow_non_ok,
        allow_key="networks.allow_non_ok_states",
    )
    if not plan["use"].all():
        reasons = "; ".join(plan.loc[~plan["use"], "reason"])
        raise ValueError(f"{inp.device_params}: networks.robustness.states not usable: {reasons}")
    mapping, pulse_rule = parse_variant(variant)
    scheme = {**p.update_scheme, "mapping": mapping, "pulse_rule": pulse_rule}
    update = update_parameters(scheme, specs)
    log.info("variant %s: %s", variant, update)
    settings = NetworkSettings(p.net_params, int(p.batch_size), float(p.w_max), update)
    seeds = {s: network_random_state(p.seed, net, s) for s in robust["seeds"]}
    devices = {state: specs[state] for state in robust["states"]}
    adaptation = {}
    with threadpool_limits(snakemake.threads):
        search = LearningRateSearch.from_config(p.lr_search)
        runs = fit_every_seed(
            settings, search, net, devices, split, seeds, robust["epochs"], log.info
        )
        if p.adaptation_enabled:
            cell_params = read_json(inp.cell_params, key="cell_params")
            adaptation = adapt_under_variant(
                split, table, provenance, ad, cell_params, p.seed, update, log.warning
            )
    lr_search, networks = variant_tables(variant, runs)
    write_csv(lr_search, out.lr_search)
    write_csv(networks, out.networks)
    # per test image, right or wrong, per state and seed: the claims' paired bootstrap
    correct = {f"correct_{state}": hits for state, hits in runs.correct.items()}
    seed_labels = np.asarray(robust["seeds"], dtype=int)
    write_npz({**correct, "seeds": seed_labels}, out.correct, compressed=True)
    write_csv(variant_adaptation(variant, adaptation, targets), out.adaptation)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
