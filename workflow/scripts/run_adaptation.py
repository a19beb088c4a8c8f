"""Rule run_adaptation: the Fig 5 adaptation experiment for one seed.

Trains the 784 -> K network on dataset1 in the configured (open) state, maps dataset2 images onto
its synapses through the regulating resistances (fmes.networks.adaptation), and evaluates the device
scheme and both baselines on the image-count grid. Writes a tidy CSV (method, n_images,
accuracy_dataset2, accuracy_dataset1) and an npz with weights and probabilities for the figures,
and the energy and time of the mapping against retraining (fmes.networks.adaptation_energy).
"""

import time

from threadpoolctl import threadpool_limits

from fmes.core.io import read_json, read_table, write_csv, write_npz
from fmes.core.logs import rule_logger
from fmes.networks.adaptation import AdaptationSettings, leakage_resistance_ohm
from fmes.networks.adaptation_energy import CostSettings, matched_cost_lines, seed_routes
from fmes.networks.mnist import load_split
from fmes.networks.training import adapt_every_seed, adaptation_random_state
from fmes.workflow.planning import require_usable_state

TABLE_COLUMNS = [
    "method",
    "n_images",
    "seed",
    "accuracy_dataset2",
    "accuracy_dataset1",
    "status",
    "reason",
]


def main(snakemake) -> None:
    seed_label = int(snakemake.wildcards.seed)
    log = rule_logger(f"run_adaptation.seed{seed_label}", snakemake.log[0])
    p = snakemake.params
    # the rule passes the adaptation sections a seed's job depends on (not the seed list)
    sections = ("dataset1", "dataset2", "train", "mapping", "finetune", "n_figure_samples")
    settings = AdaptationSettings.from_config({key: getattr(p, key) for key in sections})
    split = load_split(snakemake.input.split)
    table = read_table(snakemake.input.device_params)
    status, reason = require_usable_state(
        table,
        settings.train_state,
        allow_non_ok=bool(p.train["allow_non_ok_state"]),
        allow_key="adaptation.train.allow_non_ok_state",
        source=snakemake.input.device_params,
        warn=log.warning,
    )
    cell_params = read_json(snakemake.input.cell_params, key="cell_params")
    leakage_ohm = leakage_resistance_ohm(p.mapping["leakage_resistance_ohm"], cell_params)
    states = table["resistance_label"].tolist()
    log.info("scheme %s, leakage %.4g ohm, states %s", settings.scheme, leakage_ohm, states)
    started = time.perf_counter()
    with threadpool_limits(limits=snakemake.threads):
        result = adapt_every_seed(
            split, table, settings, leakage_ohm, p.seed, [seed_label], log=log.info
        )[seed_label]
    log.info("done in %.1f s", time.perf_counter() - started)
    frame = result.table.assign(seed=seed_label, status=status, reason=reason)
    write_csv(frame[TABLE_COLUMNS], snakemake.output.table)
    write_npz(result.arrays, snakemake.output.arrays)
    # energy and time: the mapping (and its sensitivity variants, on the seeds that list asks
    # for) against retraining the same devices on the same images
    costs = CostSettings.from_config(p.cost)
    seed = adaptation_random_state(p.seed, seed_label)
    routes = seed_routes(
        result, table, settings, leakage_ohm, p.retrain, costs, p.sensitivity, seed, seed_label
    )
    for line in matched_cost_lines(routes, costs.target_accuracy):
        log.info(line)
    write_csv(routes, snakemake.output.energy)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
