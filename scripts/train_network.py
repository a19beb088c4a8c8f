"""Rule networks_train: train one network at one resistance state (or "ideal") for one seed.

Writes the accuracy per epoch (tidy CSV, epoch 0 = as initialised) and an npz with the weights
into output ``digit`` (initial/final, 28x28 map) and all device states in volt (initial/final).
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits

from fmes.energy import PulseLog
from fmes.inference import InferenceDevice, inference_sweep, state_inference_params
from fmes.io import read_table, write_csv, write_npz
from fmes.logs import rule_logger
from fmes.mnist import load_split
from fmes.networks import DeviceMLP, DevicePerceptron, train_with_curve
from fmes.rng import child_seed
from fmes.robustness import update_parameters
from fmes.synapse import load_device_params

snakemake = globals()["snakemake"]
wc = snakemake.wildcards
log = rule_logger(f"networks_train.{wc.net}.{wc.state}.seed{wc.seed}", snakemake.log[0])
p = snakemake.params

split = load_split(snakemake.input.split)
update = {}  # the float baseline has no devices: the update scheme does not apply
if wc.state == "ideal":
    device = None
else:
    specs = load_device_params(snakemake.input.device_params[0])
    if wc.state not in specs:
        raise ValueError(
            f"{snakemake.input.device_params[0]}: no row for resistance_label {wc.state!r} "
            f"(has {sorted(specs)}); check networks.resistances in the config"
        )
    device = specs[wc.state]
    update = update_parameters(p.update_scheme, specs)
    log.info("device %s, update scheme %s", device, update)

# The same random_state for every state of a (net, seed): identical initial weights, batch
# order and noise streams, so the states differ only through their device parameters.
random_state = int(child_seed(p.seed, "networks", wc.net, wc.seed).generate_state(1)[0])
common = dict(
    device=device,
    batch_size=int(p.batch_size),
    max_iter=int(p.epochs),
    w_max=float(p.w_max),
    learning_rate=float(p.net["learning_rate"]),
    random_state=random_state,
    **update,
)
if wc.net == "mlp":
    net = DeviceMLP(
        hidden_layer_sizes=tuple(p.net["hidden_layer_sizes"]),
        activation=p.net.get("activation", "sigmoid"),
        **common,
    )
else:
    net = DevicePerceptron(**common)
log.info("%r", net)

started = time.perf_counter()


def progress(epoch, loss, train_acc, test_acc):
    log.info(
        "epoch %d/%d: loss %.4f, train %.4f, test %.4f (%.1f s)",
        epoch,
        p.epochs,
        loss,
        train_acc,
        test_acc,
        time.perf_counter() - started,
    )


with threadpool_limits(snakemake.threads):
    net, curve = train_with_curve(
        net, split.X_train, split.y_train, split.X_test, split.y_test, int(p.epochs), progress
    )
curve.insert(0, "seed", int(wc.seed))
curve.insert(0, "state", wc.state)
curve.insert(0, "net", wc.net)
write_csv(curve, snakemake.output.curve)


def digit_map(coefs):
    """The input->output-`digit` weights (perceptron) or their effective linear map (MLP)."""
    column = int(np.searchsorted(net.classes_, p.digit))
    w = coefs[-1][:, column]
    for layer in reversed(coefs[:-1]):
        w = layer @ w
    return w.reshape(28, 28) if w.size == 784 else w


arrays = {
    "digit_initial": digit_map(net.initial_coefs_),
    "digit_final": digit_map(net.coefs_),
    "weights_initial": np.concatenate([w.ravel() for w in net.initial_coefs_]).astype(np.float32),
    "weights_final": np.concatenate([w.ravel() for w in net.coefs_]).astype(np.float32),
}
if device is not None:
    for key, initial in (("states_initial_V", True), ("states_final_V", False)):
        states = net.device_states_V(initial=initial)
        arrays[key] = np.concatenate([s.ravel() for s in states]).astype(np.float32)


write_npz(arrays, snakemake.output.weights, compressed=True)
log.info("final test accuracy %.4f", curve["test_accuracy"].iloc[-1])

# ---- programming pulses per layer and epoch; the trained network at inference
keys = {"net": wc.net, "state": wc.state, "seed": int(wc.seed)}
pulses = PulseLog(len(net.coefs_)).table() if net.pulse_log_ is None else net.pulse_log_.table()
write_csv(pulses.assign(**keys), snakemake.output.pulses)
inference = None
if device is not None:
    state_params = state_inference_params(
        read_table(snakemake.input.retention_fits[0]),
        read_table(snakemake.input.ltp_ltd_fits[0]),
        p.nominal_device,
    ).set_index("resistance_label")
    row = state_params.loc[wc.state] if wc.state in state_params.index else None
    if row is None or row["status"] != "ok":
        log.warning("no inference model for %s: %s", wc.state, "no row" if row is None else row["reason"])
    else:
        inference = InferenceDevice(
            float(row["weight_tau_s"]), float(row["read_noise_V"]),
            reference_decays=p.inference["reference"] == "decaying",
        )
        log.info("inference model: %s", inference)
grid = p.inference["time_grid"]
times = np.concatenate([[0.0], np.geomspace(grid["first_s"], grid["last_s"], grid["n"])])
records = inference_sweep(
    net,
    split.X_test,
    split.y_test,
    times_s=times if inference is not None or device is None else np.array([0.0]),
    adc_bits=list(p.inference["adc_bits"]),
    device=inference,
    read_noise=bool(p.inference["read_noise"]),
    n_draws=int(p.inference["n_noise_draws"]),
    seed=int(child_seed(p.seed, "inference", wc.net, wc.state, wc.seed).generate_state(1)[0]),
)
write_csv(records.assign(**keys), snakemake.output.inference)
