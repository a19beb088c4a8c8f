"""Rule adaptation_energy: the mapping adaptation against retraining, per image count and at
matched dataset2 accuracy (per seed, geometric mean with its interval, verdict)."""

import pandas as pd

from fmes.core.figures import save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.networks.adaptation_energy import (
    CostSettings,
    matched_costs,
    ratio_summary,
    route_summary,
)
from fmes.networks.figures import energy_accuracy_figure


def main(snakemake) -> None:
    log = rule_logger("adaptation_energy", snakemake.log[0])
    costs = CostSettings.from_config(snakemake.params.cost)
    routes = pd.concat([read_table(path) for path in snakemake.input.routes], ignore_index=True)
    per_seed = matched_costs(routes, costs.target_accuracy)
    summary = ratio_summary(per_seed, costs.confidence)
    for row in summary.itertuples(index=False):
        log.info(
            "%s at %s (%.3f), %d/%d seeds matched: energy ratio %.3g [%.3g, %.3g] %s, "
            "time ratio %.3g [%.3g, %.3g] %s %s",
            row.variant,
            row.target,
            row.target_accuracy,
            row.n_matched,
            row.n_seeds,
            row.energy_ratio_gmean,
            row.energy_ratio_ci_low,
            row.energy_ratio_ci_high,
            row.energy_verdict,
            row.time_ratio_gmean,
            row.time_ratio_ci_low,
            row.time_ratio_ci_high,
            row.time_verdict,
            row.energy_reason or row.time_reason,
        )
    write_csv(summary, snakemake.output.table)
    write_csv(per_seed, snakemake.output.seeds)
    by_count = route_summary(routes, costs.confidence)
    write_csv(by_count, snakemake.output.routes)

    save_figure(energy_accuracy_figure(routes, costs.target_accuracy), snakemake.output.figure)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
