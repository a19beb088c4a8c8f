"""Rule training_decay_effect: the perceptron at each trained state with and without decay
between updates (inference.training_decay's model at its update period), figure seed."""

import pandas as pd

from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.device.synapse import load_device_params
from fmes.networks.estimators import DevicePerceptron
from fmes.networks.inference import state_inference_params
from fmes.networks.mnist import load_split
from fmes.networks.training import network_random_state


def main(snakemake) -> None:
    log = rule_logger("training_decay_effect", snakemake.log[0])
    p, inp = snakemake.params, snakemake.input
    split = load_split(inp.split)
    specs = load_device_params(inp.device_params)
    taus = state_inference_params(
        read_table(inp.retention_fits), read_table(inp.ltp_ltd_fits), p.nominal_device
    ).set_index("resistance_label")
    rows = []
    for state in p.resistances:
        if state not in specs or state not in taus.index or taus.loc[state, "status"] != "ok":
            log.warning("state %s: no device parameters or retention model, skipped", state)
            continue
        tau = float(taus.loc[state, "weight_tau_s"])
        for on in (False, True):
            net = DevicePerceptron(
                device=specs[state],
                max_iter=int(p.epochs),
                batch_size=int(p.batch_size),
                learning_rate=float(p.learning_rate),
                w_max=float(p.w_max),
                random_state=network_random_state(p.seed, "perceptron", p.figure_seed),
                retention_tau_s=tau if on else None,
                update_period_s=float(p.training_decay["update_period_s"]),
                retention_reference=p.reference,
            ).fit(split.X_train, split.y_train)
            rows.append(
                {
                    "net": "perceptron",
                    "state": state,
                    "seed": int(p.figure_seed),
                    "weight_tau_s": tau,
                    "update_period_s": float(p.training_decay["update_period_s"]),
                    "reference": p.reference,
                    "training_decay": on,
                    "test_accuracy": float(net.score(split.X_test, split.y_test)),
                }
            )
            log.info("%s", rows[-1])
    write_csv(pd.DataFrame(rows), snakemake.output.table)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
