"""Rule claims_robustness: each network claim of the paper under every update-scheme variant.

Gathers the per-variant, per-seed accuracies (rule claims_variant), evaluates every claim per
variant (mean, 95% interval over seeds, three-way verdict) with a verdict per claim
(fmes.claims.robustness), draws claims x variants coloured by verdict, and gathers the per-seed
learning-rate searches (accuracy-vs-rate curves: table and figure).
"""

import pandas as pd

from fmes.claims.figures import learning_rate_curves_figure, robustness_figure
from fmes.claims.robustness import (
    NETWORK_CLAIMS,
    claim_values,
    network_claim_replicates,
    read_correct,
    robustness_table,
)
from fmes.core.figures import save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.core.rng import child_seed_int
from fmes.data.targets import check_selects, load_targets


def main(snakemake) -> None:
    log = rule_logger("claims_robustness", snakemake.log[0])
    inp = snakemake.input

    networks = pd.concat([read_table(path) for path in inp.networks], ignore_index=True)
    adaptation = (
        pd.concat([read_table(path) for path in inp.adaptation], ignore_index=True)
        if inp.adaptation
        else None
    )
    if adaptation is not None and adaptation.empty:
        adaptation = None
    learning_rates = pd.concat([read_table(path) for path in inp.lr_search], ignore_index=True)

    targets = load_targets(inp.targets)
    check_selects(targets)
    values = claim_values(networks, adaptation, targets=targets)
    trained = sorted(set(networks["state"]))
    p = snakemake.params
    # per test image, right or wrong (rule claims_variant): the network claims' intervals and
    # p values come from the crossed bootstrap over seeds and test images
    correct = {
        variant: read_correct(path) for variant, path in zip(p.variants, inp.correct, strict=True)
    }
    replicates = network_claim_replicates(
        correct, targets, n_boot=int(p.n_boot), seed=child_seed_int(p.seed, "claims_robustness")
    )
    table = robustness_table(
        values,
        targets,
        confidence=float(p.confidence),
        multiplicity=str(p.multiplicity),
        replicates=replicates,
    )
    table["epochs"] = int(networks["epochs"].iloc[0])
    table["mnist_source"] = str(networks["mnist_source"].iloc[0])
    for claim_id, verdict in table.drop_duplicates("claim")[["claim", "verdict"]].itertuples(
        index=False
    ):
        log.info("%-30s %s", claim_id, verdict)
    for claim_id in sorted(set(NETWORK_CLAIMS) - set(table["claim"])):
        # e.g. a state the target selects is not among networks.robustness.states
        log.warning("%s: no value under any variant (trained states: %s)", claim_id, trained)
    write_csv(table, snakemake.output.table)
    write_csv(learning_rates, snakemake.output.learning_rates)
    save_figure(robustness_figure(table), snakemake.output.figure)
    save_figure(learning_rate_curves_figure(learning_rates), snakemake.output.learning_rate_figure)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
