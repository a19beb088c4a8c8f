"""Rule adaptation_energy: energy and time of the mapping adaptation vs retraining, per seed."""

import matplotlib.pyplot as plt
import pandas as pd

from fmes.adaptation_energy import compare_routes_per_seed, route_means
from fmes.io import read_table, write_csv
from fmes.logs import rule_logger
from fmes.plotting import save_figure


def main(snakemake) -> None:
    log = rule_logger("adaptation_energy", snakemake.log[0])
    routes = pd.concat([read_table(path) for path in snakemake.input.routes], ignore_index=True)
    table = compare_routes_per_seed(routes)
    for row in table.itertuples(index=False):
        log.info(
            "seed %d: mapping %.3g J, %.3g s -> %.3f; retraining %s %.3f after %d epochs: %.3g J, %.3g s",
            row.seed,
            row.mapping_energy_J,
            row.mapping_time_s,
            row.mapping_accuracy_dataset2,
            "reaches" if row.retraining_reached else "does NOT reach it (total shown), ends at",
            row.retraining_accuracy_dataset2,
            row.retraining_epochs,
            row.retraining_energy_J,
            row.retraining_time_s,
        )
    write_csv(table, snakemake.output.table)
    write_csv(routes, snakemake.output.routes)

    means = route_means(routes)
    fig, ax = plt.subplots(figsize=(6, 4))
    for route, marker in (("mapping", "o"), ("retraining", "s")):
        m = means[means["route"] == route]
        ax.plot(m["energy_J"] * 1e3, m["accuracy_dataset2"] * 100, marker=marker, label=route)
    ax.set_xscale("log")
    ax.set_xlabel("cumulative programming energy (mJ)")
    ax.set_ylabel("dataset2 test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, snakemake.output.figure)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
