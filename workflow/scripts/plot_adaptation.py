"""Rule plot_adaptation: aggregate the per-seed adaptation runs and draw the Fig 5 panels.

Writes results/tables/adaptation.csv (method x n_images: mean and std over seeds of the dataset2
and dataset1 accuracies, with the paper's values beside the device rows) and Fig 5b, 5e, 5f, 5g
and 5h/i (one seed: params.figure_seed).
"""

import numpy as np
import pandas as pd

from fmes.core.figures import save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.data.targets import load_targets
from fmes.networks.adaptation import adaptation_table
from fmes.networks.figures import (
    adaptation_accuracy_figure,
    adaptation_classification_figure,
    adaptation_probability_figure,
    adaptation_weight_maps_figure,
)


def main(snakemake) -> None:
    log = rule_logger("plot_adaptation", snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    runs = pd.concat([read_table(path) for path in snakemake.input.tables], ignore_index=True)
    log.info("%d seeds, %d rows", runs["seed"].nunique(), len(runs))
    agg = adaptation_table(runs)
    write_csv(agg, out.table)
    for method, group in agg.groupby("method", sort=False):
        first, last = group.iloc[0], group.iloc[-1]
        log.info(
            "%s: dataset2 %.3f -> %.3f +- %.3f (n=%d), dataset1 %.3f -> %.3f +- %.3f",
            method,
            first.accuracy_dataset2_mean,
            last.accuracy_dataset2_mean,
            last.accuracy_dataset2_std,
            last.n_images,
            first.accuracy_dataset1_mean,
            last.accuracy_dataset1_mean,
            last.accuracy_dataset1_std,
        )
    paper = {t["id"]: t.get("value", np.nan) for t in load_targets(snakemake.input.paper_targets)}

    seeds = list(p.seeds)
    arrays_path = snakemake.input.arrays[seeds.index(p.figure_seed)]  # validated: one of seeds
    with np.load(arrays_path) as data:
        arr = {k: data[k] for k in data.files}
    d1, d2 = arr["dataset1"].tolist(), arr["dataset2"].tolist()
    save_figure(
        adaptation_weight_maps_figure(
            arr["weights_before_V"], d1, "trained on dataset1 (open state), before adaptation"
        ),
        out.fig5b,
    )
    n_max = int(arr["n_images"][-1])
    save_figure(
        adaptation_weight_maps_figure(
            arr["weights_after_V"], d2, f"after mapping {n_max} dataset2 images"
        ),
        out.fig5e,
    )
    save_figure(adaptation_accuracy_figure(agg, paper, d1, d2), out.fig5f)
    save_figure(adaptation_classification_figure(arr, d2), out.fig5g)
    save_figure(adaptation_probability_figure(arr, d2), out.fig5hi)
    log.info("figures written")


if __name__ == "__main__":
    main(globals()["snakemake"])
