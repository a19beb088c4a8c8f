"""Rule run_adaptation: the Fig 5 adaptation experiment for one seed.

Trains the 784 -> K network on dataset1 in the configured (open) state, maps dataset2 images onto
its synapses through the regulating resistances (fmes.networks.adaptation), and evaluates the device
scheme and both baselines on the image-count grid. Writes a tidy CSV (method, n_images,
accuracy_dataset2, accuracy_dataset1) and an npz with weights and probabilities for the figures.
"""

import time

from threadpoolctl import threadpool_limits

from fmes.core.io import read_json, read_table, write_csv, write_npz
from fmes.core.logs import rule_logger
from fmes.core.rng import child_seed_int
from fmes.networks.adaptation import AdaptationSettings, leakage_resistance_ohm, run_adaptation
from fmes.networks.adaptation_energy import (
    CostSettings,
    adaptation_vs_retraining,
    matched_costs,
    sensitivity_schemes,
)
from fmes.networks.mnist import load_split
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
    section = {
        "dataset1": p.dataset1,
        "dataset2": p.dataset2,
        "train": p.train,
        "mapping": p.mapping,
        "finetune": p.finetune,
        "n_figure_samples": p.n_figure_samples,
    }
    settings = AdaptationSettings.from_config(section)

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
    log.info(
        "scheme %s, leakage %.4g ohm, states %s",
        settings.scheme,
        leakage_ohm,
        table["resistance_label"].tolist(),
    )

    seed = child_seed_int(p.seed, "adaptation", seed_label)
    started = time.perf_counter()
    with threadpool_limits(limits=snakemake.threads):
        result = run_adaptation(
            split.X_train,
            split.y_train,
            split.X_test,
            split.y_test,
            table,
            settings,
            leakage_resistance_ohm=leakage_ohm,
            seed=seed,
            log=log.info,
        )
    log.info("done in %.1f s", time.perf_counter() - started)

    frame = result.table.assign(seed=seed_label, status=status, reason=reason)
    write_csv(frame[TABLE_COLUMNS], snakemake.output.table)
    write_npz(result.arrays, snakemake.output.arrays)

    # energy and time: the mapping (and its sensitivity variants, on the seeds that list asks
    # for) against retraining the same devices on the same images
    costs = CostSettings.from_config(p.cost)
    sensitivity = p.sensitivity
    schemes = sensitivity_schemes(settings.scheme, sensitivity)
    if seed_label not in sensitivity["seeds"]:
        schemes = {"default": settings.scheme}
    routes = adaptation_vs_retraining(
        result,
        table,
        settings.train_state,
        schemes,
        leakage_ohm,
        int(p.retrain["epochs"]),
        float(p.retrain["learning_rate"]),
        costs,
        seed=seed,
        sensitivity_grid=sensitivity["n_images"],
    ).assign(seed=seed_label)
    for row in matched_costs(routes, costs.target_accuracy).itertuples(index=False):
        log.info(
            "%s, target %s (%.3f): mapping %s after %s images, retraining %s after %s "
            "presentations; energy ratio %.3g, time ratio %.3g",
            row.variant,
            row.target,
            row.target_accuracy,
            "reaches it" if row.mapping_reached else "never reaches it",
            row.mapping_n_images,
            "reaches it" if row.retraining_reached else "never reaches it",
            row.retraining_images_seen,
            row.energy_ratio,
            row.time_ratio,
        )
    write_csv(routes, snakemake.output.energy)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
