"""Benchmark: generating the default synthetic trace set, against a naive solve_ivp loop.

    python benchmarks/bench_traces.py [--naive-devices 2]

Prints seconds and peak memory (tracemalloc) of (1) the nominal + device-array campaign of
config/config.yaml with the exact vectorised solver (no file writing) and (2) the same LTP/LTD
protocol solved device by device with scipy's solve_ivp (restarting at every pulse edge), on a
subset of devices, extrapolated per device. Writes benchmarks/out/traces.csv.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fmes.data.targets import load_targets
from fmes.device import calibration, synthetic
from fmes.device import circuit as device

ROOT = Path(__file__).resolve().parents[1]


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return value, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--naive-devices", type=int, default=2)
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    targets = load_targets(ROOT / "config/paper_targets.yaml")
    cell = calibration.calibrate_from_config(config, targets).params
    noise = synthetic.Noise(**config["device"]["noise"])

    def full():
        campaign = synthetic.nominal_campaign(
            cell, config["resistances"], config["protocols"], noise, config["seed"]
        )
        campaign.extend(
            synthetic.array_campaign(
                cell, config["variability"], config["protocols"]["ltp_ltd"], noise, config["seed"]
            )
        )
        return campaign

    campaign, full_s, full_mb = measure(full)
    n_traces = len(campaign.manifest)

    var = config["variability"]
    stim = synthetic.ltp_ltd_stimulus(config["protocols"]["ltp_ltd"], var["sampling"])
    rng = np.random.default_rng(0)
    n = args.naive_devices
    factors = {k: rng.lognormal(0, var["device_to_device_cv"], n) for k in cell.as_dict()}
    batch = cell.scaled(factors)
    exact, exact_s, exact_mb = measure(lambda: device.respond(batch, 1000.0, stim))

    def naive():
        out = []
        for i in range(n):
            one = device.CellParams(
                **{k: float(np.asarray(v)[i]) for k, v in batch.as_dict().items()}
            )
            out.append(
                device.simulate_ode(
                    device.current_driven_circuit(one, 1000.0),
                    stim.drive,
                    stim.time_s,
                    rtol=1e-6,
                    atol=1e-10,
                )
            )
        return np.array(out)

    ode, naive_s, naive_mb = measure(naive)
    max_dev = float(np.max(np.abs(ode - exact)))
    rows = [
        {
            "case": "default campaign, exact vectorised (no I/O)",
            "traces": n_traces,
            "seconds": full_s,
            "peak_MiB": full_mb,
        },
        {
            "case": f"ltp_ltd x {n} devices, exact vectorised",
            "traces": n,
            "seconds": exact_s,
            "peak_MiB": exact_mb,
        },
        {
            "case": f"ltp_ltd x {n} devices, solve_ivp loop",
            "traces": n,
            "seconds": naive_s,
            "peak_MiB": naive_mb,
        },
    ]
    table = pd.DataFrame(rows)
    table["seconds_per_trace"] = table["seconds"] / table["traces"]
    out = ROOT / "benchmarks/out"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "traces.csv", index=False)
    print(table.to_string(index=False))
    print(
        f"speed-up per trace (solve_ivp / exact): {naive_s / exact_s:.0f}x; max |difference| {max_dev:.2e} V"
    )
    print(
        f"solve_ivp for the whole default campaign would take ~{naive_s / n * n_traces / 60:.0f} min "
        f"(vs {full_s:.1f} s)"
    )


if __name__ == "__main__":
    main()
