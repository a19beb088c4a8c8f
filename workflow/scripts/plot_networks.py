"""Rule networks_figures: Fig 4c (weights into digit 3), 4d (accuracy), 4e/4f (device states)."""

from pathlib import Path

import numpy as np

from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import read_table
from fmes.core.logs import rule_logger
from fmes.networks.figures import (
    device_states_figure,
    network_accuracy_figure,
    network_weights_figure,
)


def read_weights(paths: list[str]) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """(net, state) -> the arrays of its figure seed (paths end in ``<net>/<state>/<file>``)."""
    weights = {}
    for path in paths:
        net, state = Path(path).parts[-3:-1]
        with np.load(path) as data:
            weights[(net, state)] = {k: data[k] for k in data.files}
    return weights


def main(snakemake) -> None:
    log = rule_logger("networks_figures", snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    nets = list(p.nets)
    # the states trained are the ones planned after the device_params checkpoint: read them off
    # the weight files (ordered as planned), never from the config
    paths = list(snakemake.input.weights)
    states = list(dict.fromkeys(Path(path).parts[-2] for path in paths))
    # every state refused (network_accuracy.csv says why) and no ideal baseline
    skip = None if states else "no network state was trained; see network_accuracy.csv"
    weights = read_weights(paths)
    inp = snakemake.input
    for path, draw in (
        (out.fig4c, lambda: network_weights_figure(weights, nets, states, p.digit, p.seed)),
        (
            out.fig4d,
            lambda: network_accuracy_figure(
                read_table(inp.table), read_table(inp.curves), nets, states
            ),
        ),
        (out.fig4ef, lambda: device_states_figure(weights, nets, states)),
    ):
        save_figure_or_placeholder(path, "Fig 4", skip, draw)
    log.info("figures written for nets %s, states %s", nets, states)


if __name__ == "__main__":
    main(globals()["snakemake"])
