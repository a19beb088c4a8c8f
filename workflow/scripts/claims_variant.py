"""Rule claims_variant: the paper's network claims under one update scheme (mapping x pulse rule).

Per robustness state and seed: the learning rate is searched on that seed's own validation split
of the training set, on a log grid extended while the best rate is at an edge, then the network
is trained at that rate and scored on the test set (fmes.claims.robustness.nested_learning_rate_runs);
the per-image outcomes are kept for the claims' paired bootstrap. With adaptation enabled, the
Fig 5 experiment is rerun per adaptation seed with its dataset1 training under the same scheme.
Writes tidy per-seed tables.
"""

import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from fmes.claims.robustness import (
    adaptation_summary,
    build_network,
    nested_learning_rate_runs,
    parse_variant,
    robustness_net,
    update_parameters,
)
from fmes.core.io import read_json, read_table, write_csv, write_npz
from fmes.core.logs import rule_logger
from fmes.core.rng import child_seed_int
from fmes.data.targets import check_selects, load_targets
from fmes.device.synapse import load_device_params
from fmes.networks.adaptation import AdaptationSettings, leakage_resistance_ohm, run_adaptation
from fmes.networks.mnist import load_split
from fmes.workflow.planning import plan_states


def main(snakemake) -> None:
    variant = snakemake.wildcards.variant
    log = rule_logger(f"claims_variant.{variant}", snakemake.log[0])
    p = snakemake.params

    split = load_split(snakemake.input.split)
    specs = load_device_params(snakemake.input.device_params)
    table = read_table(snakemake.input.device_params)
    provenance = read_table(snakemake.input.provenance, extra_labels=("column", "source", "note"))
    robust = p.robustness
    targets = load_targets(snakemake.input.targets)
    check_selects(targets)
    # the net the paper's network claims select (config/paper_targets.yaml)
    net_name = robustness_net(targets)
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
        raise ValueError(
            f"{snakemake.input.device_params}: networks.robustness.states not usable: "
            + "; ".join(plan.loc[~plan["use"], "reason"])
        )
    mapping, pulse_rule = parse_variant(variant)
    update = update_parameters(
        {**p.update_scheme, "mapping": mapping, "pulse_rule": pulse_rule}, specs
    )
    log.info("variant %s: %s", variant, update)
    started = time.perf_counter()
    searches, runs, correct = [], [], {}
    search = p.lr_search
    with threadpool_limits(snakemake.threads):
        for state in robust["states"]:
            # the same random_state per (net, seed) as the networks stage: states and variants
            # differ only through their devices and update scheme
            seeds = {s: child_seed_int(p.seed, "networks", net_name, s) for s in robust["seeds"]}

            def make_net(rate: float, epochs: int, random_state: int, state: str = state):
                return build_network(
                    net_name,
                    p.net_params[net_name],
                    specs[state],
                    epochs=epochs,
                    batch_size=int(p.batch_size),
                    w_max=float(p.w_max),
                    random_state=random_state,
                    update_params=update,
                    learning_rate=rate,
                )

            nested = nested_learning_rate_runs(
                make_net,
                split.X_train,
                split.y_train,
                split.X_test,
                split.y_test,
                seeds,
                search["grid"][net_name],
                validation_fraction=float(search["validation_fraction"]),
                max_extensions=int(search["max_extensions"]),
                search_epochs=int(search["epochs"]),
                epochs=int(robust["epochs"]),
                grid_key=f"networks.lr_search.grid.{net_name}",
            )
            searches.append(nested.curves.assign(variant=variant, state=state))
            correct[f"correct_{state}"] = nested.correct
            for run in nested.runs.to_dict("records"):
                runs.append(
                    {
                        "variant": variant,
                        "state": state,
                        **run,
                        "epochs": int(robust["epochs"]),
                        "mnist_source": split.source,
                    }
                )
                log.info(
                    "%s seed %d: rate %g%s (validation %.4f), test %.4f (%.0f s)",
                    state,
                    run["seed"],
                    run["learning_rate"],
                    " at the grid edge" if run["at_grid_edge"] else "",
                    run["validation_accuracy"],
                    run["test_accuracy"],
                    time.perf_counter() - started,
                )

        adaptation_rows = []
        ad = p.adaptation
        train_plan = plan_states(
            table,
            provenance,
            [str(ad["train"]["state"])],
            allow_non_ok=ad["train"]["allow_non_ok_state"],
            allow_key="adaptation.train.allow_non_ok_state",
        )
        if p.adaptation_enabled and not train_plan["use"].iloc[0]:
            log.warning("adaptation under %s skipped: %s", variant, train_plan["reason"].iloc[0])
        if p.adaptation_enabled and train_plan["use"].iloc[0]:
            leakage_ohm = leakage_resistance_ohm(  # as rule run_adaptation
                ad["mapping"]["leakage_resistance_ohm"],
                read_json(snakemake.input.cell_params, key="cell_params"),
            )
            for seed in ad["seeds"]:
                result = run_adaptation(
                    split.X_train,
                    split.y_train,
                    split.X_test,
                    split.y_test,
                    table,
                    AdaptationSettings.from_config(ad),
                    leakage_resistance_ohm=float(leakage_ohm),
                    seed=child_seed_int(p.seed, "adaptation", seed),
                    update=update,
                )
                adaptation_rows.append(
                    {"variant": variant, "seed": seed, **adaptation_summary(result.table, targets)}
                )
                log.info(
                    "adaptation seed %d: %s (%.0f s)",
                    seed,
                    adaptation_rows[-1],
                    time.perf_counter() - started,
                )

    lr = pd.concat(searches, ignore_index=True)
    first = ["variant", "state", "seed", "learning_rate", "validation_accuracy", "chosen"]
    write_csv(lr[first + [c for c in lr if c not in first]], snakemake.output.lr_search)
    write_csv(pd.DataFrame(runs), snakemake.output.networks)
    # per test image, right or wrong, per state and seed: the claims' paired bootstrap
    write_npz(
        {**correct, "seeds": np.asarray(robust["seeds"], dtype=int)},
        snakemake.output.correct,
        compressed=True,
    )
    write_csv(
        pd.DataFrame(
            adaptation_rows,
            columns=[
                "variant",
                "seed",
                "dataset1",
                "dataset2_before",
                "dataset2_after",
                "n_images",
            ],
        ),
        snakemake.output.adaptation,
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
