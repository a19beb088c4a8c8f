"""Rule device_landscape: accuracy over a grid of possible devices, the fitted states on it.

Trains the configured net once per grid device (fmes.networks.landscape: NL of LTP x NL of LTD, and
levels x cycle-to-cycle noise) on the same MNIST split and update scheme as the networks stage,
and writes the accuracy table and the two heat maps with the fitted resistance states as points.
"""

import time

from threadpoolctl import threadpool_limits

from fmes.core.figures import save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status
from fmes.device.synapse import load_device_params
from fmes.networks.figures import landscape_figure
from fmes.networks.landscape import grid_device, landscape_grid, state_points
from fmes.networks.mnist import load_split
from fmes.networks.training import build_network, network_random_state, update_parameters


def main(snakemake) -> None:
    log = rule_logger("device_landscape", snakemake.log[0])
    p = snakemake.params
    cfg = p.landscape

    split = load_split(snakemake.input.split)
    specs = load_device_params(snakemake.input.device_params)
    grid = landscape_grid(
        cfg["nl_labels"], cfg["n_levels"], cfg["c2c_sigma_fracs"], int(cfg["reference_levels"])
    )
    update = update_parameters(p.update_scheme, specs)  # the networks stage's scheme
    random_state = network_random_state(p.seed, cfg["net"], cfg["seed"])
    started = time.perf_counter()
    accuracy = []
    with threadpool_limits(snakemake.threads):
        for row in grid.itertuples(index=False):
            device = grid_device(row.nl_ltp, row.nl_ltd, row.n_levels, row.c2c_sigma_frac)
            net = build_network(
                cfg["net"],
                p.net_params,
                device,
                epochs=int(cfg["epochs"]),
                batch_size=int(p.batch_size),
                w_max=float(p.w_max),
                random_state=random_state,
                update_params=update,
            )
            net.fit(split.X_train, split.y_train)
            accuracy.append(float(net.score(split.X_test, split.y_test)))
            log.info("%s: %.4f (%.0f s)", device.label, accuracy[-1], time.perf_counter() - started)
    table = grid.assign(
        test_accuracy=accuracy,
        net=cfg["net"],
        epochs=int(cfg["epochs"]),
        learning_rate=float(p.net_params["learning_rate"]),
        seed=int(cfg["seed"]),
        mnist_source=split.source,
        status=str(Status.OK),
        reason="",
    )
    points = state_points(specs)
    write_csv(table, snakemake.output.table)
    write_csv(points.assign(status=str(Status.OK), reason=""), snakemake.output.points)
    title = (
        f"Device landscape: {cfg['net']} test accuracy after {cfg['epochs']} epochs "
        f"(learning rate {p.net_params['learning_rate']:g}); red: fitted FMES states"
    )
    save_figure(landscape_figure(table, points, title), snakemake.output.figure)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
