"""Rule networks_train: train one network at one resistance state (or "ideal") for every seed.

The MNIST split and the device parameters are read once and the seeds are trained one after
another in this process (a job per seed would repeat the interpreter start-up and data load,
comparable to a whole run of a small network). Each seed's outputs depend on that seed only,
so they are byte-identical to those of a job with that one seed. Per seed: the accuracy per
epoch (tidy CSV, epoch 0 = as initialised), an npz with the weights into output ``digit``
(initial/final, 28x28 map) and all device states in volt (initial/final), the programming
pulses per layer and epoch, and the accuracy at inference over time.
"""

import time

import numpy as np
from threadpoolctl import threadpool_limits

from fmes.core.io import read_table, write_csv, write_npz
from fmes.core.logs import rule_logger
from fmes.core.rng import child_seed_int
from fmes.device.energy import PulseLog
from fmes.device.synapse import load_device_params
from fmes.networks.estimators import digit_map, train_with_curve
from fmes.networks.inference import (
    inference_sweep,
    leakage_band_tau_s,
    state_inference_device,
    state_inference_params,
    time_grid_s,
)
from fmes.networks.mnist import load_split
from fmes.networks.training import build_network, network_random_state, update_parameters
from fmes.workflow.planning import require_usable_state


def _device_and_scheme(snakemake, log):
    """The state's DeviceSpec and update-scheme parameters (None, {} for the float baseline)."""
    wc, p = snakemake.wildcards, snakemake.params
    if wc.state == "ideal":  # the float baseline has no devices: the update scheme does not apply
        return None, {}
    path = snakemake.input.device_params[0]
    specs = load_device_params(path)
    if wc.state not in specs:
        raise ValueError(
            f"{path}: no row for resistance_label {wc.state!r} (has {sorted(specs)}); check "
            f"networks.resistances in the config"
        )
    device = specs[wc.state]
    update = update_parameters(p.update_scheme, specs)
    log.info("device %s, update scheme %s", device, update)
    require_usable_state(
        read_table(path),
        wc.state,
        allow_non_ok=p.allow_non_ok,
        allow_key="networks.allow_non_ok_states",
        source=path,
        warn=log.warning,
    )
    return device, update


def _inference_device(snakemake, log):
    """The state's retention/read-noise model at inference and its τ2 across the leakage
    bracket, or (None, {}) (logged why)."""
    p, state = snakemake.params, snakemake.wildcards.state
    state_params = state_inference_params(
        read_table(snakemake.input.retention_fits[0]),
        read_table(snakemake.input.ltp_ltd_fits[0]),
        p.nominal_device,
        read_table(snakemake.input.leakage_bracket[0]),
    )
    inference, why = state_inference_device(state_params, state, reference=p.inference["reference"])
    if inference is None:
        log.warning("no inference model for %s: %s", state, why)
        return None, {}
    band = leakage_band_tau_s(state_params, state)
    log.info("inference model: %s; tau2 across the leakage bracket: %s", inference, band)
    return inference, band


def _training_decay(settings, device, inference) -> dict:
    """The estimator's time-stamped decay parameters (``inference.training_decay``): none when
    off or without a retention model for the state."""
    decay = settings.get("training_decay", {})
    if not decay.get("enabled", False) or device is None or inference is None:
        return {}
    return {
        "retention_tau_s": inference.weight_tau_s,
        "update_period_s": float(decay["update_period_s"]),
        "retention_reference": inference.reference,
    }


def train_seed(snakemake, seed, split, device, update, inference, band, log):
    """Train and evaluate one seed; returns the four tables/arrays its outputs hold."""
    wc, p = snakemake.wildcards, snakemake.params
    # The same random_state for every state of a (net, seed): identical initial weights, batch
    # order and noise streams, so the states differ only through their device parameters.
    random_state = network_random_state(p.seed, wc.net, seed)
    net = build_network(
        wc.net,
        p.net,
        device,
        epochs=int(p.epochs),
        batch_size=int(p.batch_size),
        w_max=float(p.w_max),
        random_state=random_state,
        update_params={**update, **_training_decay(p.inference, device, inference)},
    )
    log.info("seed %d: %r", seed, net)
    started = time.perf_counter()

    def progress(epoch, loss, train_acc, test_acc):
        log.info(
            "seed %d epoch %d/%d: loss %.4f, train %.4f, test %.4f (%.1f s)",
            seed,
            epoch,
            p.epochs,
            loss,
            train_acc,
            test_acc,
            time.perf_counter() - started,
        )

    net, curve = train_with_curve(
        net, split.X_train, split.y_train, split.X_test, split.y_test, int(p.epochs), progress
    )
    curve.insert(0, "seed", int(seed))
    curve.insert(0, "state", wc.state)
    curve.insert(0, "net", wc.net)
    arrays = {
        "digit_initial": digit_map(net.initial_coefs_, net.classes_, p.digit),
        "digit_final": digit_map(net.coefs_, net.classes_, p.digit),
        "weights_initial": np.concatenate([w.ravel() for w in net.initial_coefs_]).astype(
            np.float32
        ),
        "weights_final": np.concatenate([w.ravel() for w in net.coefs_]).astype(np.float32),
    }
    if device is not None:
        for key, initial in (("states_initial_V", True), ("states_final_V", False)):
            states = net.device_states_V(initial=initial)
            arrays[key] = np.concatenate([s.ravel() for s in states]).astype(np.float32)
    log.info("seed %d: final test accuracy %.4f", seed, curve["test_accuracy"].iloc[-1])

    # ---- programming pulses per layer and epoch; the trained network at inference
    keys = {"net": wc.net, "state": wc.state, "seed": int(seed)}
    pulses = PulseLog(len(net.coefs_)).table() if net.pulse_log_ is None else net.pulse_log_.table()
    records = inference_sweep(  # a device network without a model: t = 0 only
        net,
        split.X_test,
        split.y_test,
        times_s=time_grid_s(**p.inference["time_grid"]),
        adc_bits=list(p.inference["adc_bits"]),
        device=inference,
        read_noise=bool(p.inference["read_noise"]),
        n_draws=int(p.inference["n_noise_draws"]),
        seed=child_seed_int(p.seed, "inference", wc.net, wc.state, seed),
        band_tau_s=band,
        # the configured reference, and the worst case (a held fixed reference) beside it
        references=list(dict.fromkeys([p.inference["reference"], "fixed"])),
    )
    return curve, arrays, pulses.assign(**keys), records.assign(**keys)


def main(snakemake) -> None:
    wc, p, out = snakemake.wildcards, snakemake.params, snakemake.output
    log = rule_logger(f"networks_train.{wc.net}.{wc.state}", snakemake.log[0])
    split = load_split(snakemake.input.split)
    device, update = _device_and_scheme(snakemake, log)
    inference, band = _inference_device(snakemake, log) if device is not None else (None, {})
    with threadpool_limits(snakemake.threads):
        for i, seed in enumerate(p.seeds):
            curve, arrays, pulses, records = train_seed(
                snakemake, int(seed), split, device, update, inference, band, log
            )
            write_csv(curve, out.curves[i])
            write_npz(arrays, out.weights[i], compressed=True)
            write_csv(pulses, out.pulses[i])
            write_csv(records, out.inference[i])


if __name__ == "__main__":
    main(globals()["snakemake"])
