"""The trained networks as a system: gathering the per-run tables, holding power, the tables
and log lines of rule system_summary."""

import numpy as np
import pandas as pd
import pytest

from fmes.core.io import write_csv, write_npz
from fmes.device.energy import holding_energy_J
from fmes.networks.system import (
    HOLDING_COLUMNS,
    gather_runs,
    holding_runs,
    kept_lines,
    training_energy_lines,
)


def _curve(tmp_path, name, state, seed):
    frame = pd.DataFrame(
        {"net": "mlp", "state": state, "seed": seed, "epoch": [0, 1], "test_accuracy": [0.1, 0.9]}
    )
    return str(write_csv(frame, tmp_path / f"{name}.csv"))


def test_gather_runs_leaves_out_empty_tables(tmp_path):
    full = _curve(tmp_path, "a", "8000", 0)
    empty = str(write_csv(pd.DataFrame(columns=["net", "state"]), tmp_path / "empty.csv"))
    assert len(gather_runs([empty, full, full])) == 4
    assert gather_runs([empty]).empty and list(gather_runs([empty]).columns) == ["net", "state"]


def test_holding_runs_price_the_final_states_of_device_runs_only(tmp_path):
    volts = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    curves = [_curve(tmp_path, "ideal", "ideal", 0), _curve(tmp_path, "dev", "8000", 1)]
    weights = [
        str(write_npz({"weights_final": np.zeros(3)}, tmp_path / "ideal.npz")),
        str(write_npz({"states_final_V": volts}, tmp_path / "dev.npz")),
    ]
    runs = holding_runs(curves, weights)
    assert list(runs.columns) == HOLDING_COLUMNS and len(runs) == 1
    row = runs.iloc[0]
    assert (row["state"], row["seed"], row["n_devices"]) == ("8000", 1, 3)
    expected = holding_energy_J(volts.astype(np.float64), 8000.0, 1.0).sum()
    assert row["final_holding_power_W"] == pytest.approx(expected)
    assert holding_runs(curves[:1], weights[:1]).empty


def test_log_lines_name_each_run():
    summary = pd.DataFrame(
        {
            "net": ["mlp"],
            "state": ["8000"],
            "seed": [0],
            "final_test_accuracy": [0.9],
            "epochs": [5],
            "total_energy_J": [1e-6],
            "total_pulses": [1000],
            "epoch_reached": [3],
            "energy_to_reach_J": [5e-7],
            "n_devices": [7840],
            "holding_duration_s": [2.0],
            "holding_bound_J": [1e-9],
            "holding_bound_to_pulses": [1e-3],
        }
    )
    lines = training_energy_lines(summary, 0.01)
    assert lines == [
        "mlp 8000 seed 0: 0.9000 after 5 epochs, 1e-06 J (1000 pulses); within 0.01 of it at "
        "epoch 3: 5e-07 J",
        "mlp 8000 seed 0: holding 7840 devices for 2 s costs at most 1e-09 J (0.001 x the pulses)",
    ]
    kept = pd.DataFrame(
        {
            "net": ["mlp"],
            "state": ["open"],
            "read_noise": [False],
            "reference": ["tracked"],
            "trained_accuracy": [0.9],
            "kept_until_s": [100.0],
            "kept_whole_grid": [True],
            "kept_until_lower_s": [10.0],
            "kept_until_upper_s": [1000.0],
        }
    )
    assert kept_lines(kept, 0.01) == [
        "mlp open (read noise False, tracked reference): trained 0.9000, within 0.01 until "
        "100 s (whole grid) (leakage band 10-1e+03 s)"
    ]
