"""Rule networks_mnist: load MNIST from the configured source once, store the split as npz."""

import numpy as np

from fmes.core.logs import rule_logger
from fmes.networks.mnist import load_mnist, save_split


def main(snakemake) -> None:
    log = rule_logger("networks_mnist", snakemake.log[0])
    cfg = dict(snakemake.params.mnist)
    split = load_mnist(
        source=cfg["source"],
        idx_dir=cfg["idx_dir"],
        test_fraction=float(cfg["test_fraction"]),
        seed=int(snakemake.params.seed),
        n_train=cfg["n_train"],
        n_test=cfg["n_test"],
    )
    log.info(
        "MNIST (%s): %d train / %d test images, %d features; train counts per digit %s",
        split.source,
        len(split.y_train),
        len(split.y_test),
        split.n_features,
        np.bincount(split.y_train).tolist(),
    )
    save_split(split, snakemake.output.split)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
