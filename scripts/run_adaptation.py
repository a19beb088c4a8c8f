"""Rule run_adaptation: the Fig 5 adaptation experiment for one seed.

Trains the 784 -> K network on dataset1 in the configured (open) state, maps dataset2 images onto
its synapses through the regulating resistances (fmes.adaptation), and evaluates the device
scheme and both baselines on the image-count grid. Writes a tidy CSV (method, n_images,
accuracy_dataset2, accuracy_dataset1) and an npz with weights and probabilities for the figures.
"""

import json
import time

from threadpoolctl import threadpool_limits

from fmes.adaptation import MappingScheme, run_adaptation
from fmes.adaptation_energy import adaptation_vs_retraining, compare_routes
from fmes.io import read_table, write_csv, write_npz
from fmes.logs import rule_logger
from fmes.mnist import load_split
from fmes.rng import child_seed
from fmes.status import Status

snakemake = globals()["snakemake"]
wc = snakemake.wildcards
log = rule_logger(f"run_adaptation.seed{wc.seed}", snakemake.log[0])
p = snakemake.params

split = load_split(snakemake.input.split)
table = read_table(snakemake.input.device_params)
state = str(p.train["state"])
device_status, device_reason = Status.OK.value, ""
if state in set(table["resistance_label"]):
    row = table.set_index("resistance_label").loc[state]
    device_status, device_reason = str(row["status"]), str(row["reason"])
if device_status != Status.OK:
    if not p.train["allow_non_ok_state"]:
        raise ValueError(
            f"{snakemake.input.device_params}: the device parameters at adaptation.train.state {state!r} are "
            f"{device_status} ({device_reason}); set adaptation.train.allow_non_ok_state: true to run anyway"
        )
    log.warning(
        "adaptation at %s although its device parameters are %s (%s): "
        "adaptation.train.allow_non_ok_state is true",
        state,
        device_status,
        device_reason,
    )
leakage_ohm = p.mapping.get("leakage_resistance_ohm")
if leakage_ohm is None:
    # the open state's point on the log R_eff axis is the calibrated cell's leakage resistance
    with open(snakemake.input.cell_params) as handle:
        leakage_ohm = json.load(handle)["cell_params"]["leakage_resistance_ohm"]
leakage_ohm = float(leakage_ohm)
scheme = MappingScheme.from_config(p.mapping)
log.info(
    "scheme %s, leakage %.4g ohm, states %s",
    scheme,
    leakage_ohm,
    table["resistance_label"].tolist(),
)

seed = int(child_seed(p.seed, "adaptation", wc.seed).generate_state(1)[0])
started = time.perf_counter()
with threadpool_limits(limits=snakemake.threads):
    result = run_adaptation(
        split.X_train,
        split.y_train,
        split.X_test,
        split.y_test,
        table,
        p.dataset1,
        p.dataset2,
        train_state=str(p.train["state"]),
        train=p.train,
        scheme=scheme,
        n_images=p.mapping["n_images"],
        finetune=p.finetune,
        leakage_resistance_ohm=leakage_ohm,
        seed=seed,
        n_figure_samples=int(p.n_figure_samples),
        log=log.info,
    )
log.info("done in %.1f s", time.perf_counter() - started)

frame = result.table.assign(seed=int(wc.seed), status=device_status, reason=device_reason)
write_csv(
    frame[
        ["method", "n_images", "seed", "accuracy_dataset2", "accuracy_dataset1", "status", "reason"]
    ],
    snakemake.output.table,
)


write_npz(result.arrays, snakemake.output.arrays)

# energy and time: the mapping against retraining the same devices on the same images
routes = adaptation_vs_retraining(
    result,
    table,
    str(p.train["state"]),
    scheme,
    leakage_ohm,
    int(p.retrain["epochs"]),
    float(p.retrain["learning_rate"]),
)
summary = compare_routes(routes)
log.info("mapping vs retraining: %s", summary)
write_csv(routes.assign(seed=int(wc.seed)), snakemake.output.energy)
