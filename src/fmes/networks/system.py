"""The trained networks as a system: training energy per state, accuracy over time and ADC.

Gathers the networks stage's per-run tables (accuracy per epoch, programming pulses, inference
sweeps) into the system tables of rule ``system_summary``: the accuracy against cumulative
training energy (:func:`fmes.device.energy.training_energy_curves`), the energy to reach the
final accuracy with the energy of holding the trained states beside it, and the accuracy over
time since training and against the output-ADC resolution (:mod:`fmes.networks.inference`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from fmes.core.io import read_table
from fmes.device.energy import (
    energy_to_reach,
    holding_energy_J,
    pulse_costs_by_state,
    training_energy_curves,
    with_holding_energy,
)
from fmes.networks.inference import accuracy_over_time, accuracy_vs_adc_bits, time_within_tolerance
from fmes.workflow.manifest import parse_resistance

HOLDING_COLUMNS = ["net", "state", "seed", "n_devices", "final_holding_power_W"]


def gather_runs(paths: Sequence[str]) -> pd.DataFrame:
    """The per-run tables at ``paths`` as one (a float-baseline run has no pulses: empty tables
    are left out; all empty gives the first)."""
    frames = [read_table(path) for path in paths]
    filled = [frame for frame in frames if len(frame)]
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


def holding_runs(curve_paths: Sequence[str], weight_paths: Sequence[str]) -> pd.DataFrame:
    """Per (net, state, seed) of a device run: its devices and the power the trained network's
    voltages dissipate in R when held (``states_final_V`` of the run's weights file; the
    float baseline has none)."""
    rows = []
    for curve_path, weight_path in zip(curve_paths, weight_paths, strict=True):
        first = read_table(curve_path).iloc[0]
        with np.load(weight_path) as arrays:
            if "states_final_V" not in arrays:
                continue  # the ideal (floating-point) network has no devices
            volts = arrays["states_final_V"].astype(np.float64)
        power = holding_energy_J(volts, parse_resistance(first["state"]), 1.0).sum()
        rows.append(
            {
                "net": first["net"],
                "state": str(first["state"]),
                "seed": int(first["seed"]),
                "n_devices": volts.size,
                "final_holding_power_W": float(power),
            }
        )
    return pd.DataFrame(rows, columns=HOLDING_COLUMNS)


def training_energy_tables(
    curves: pd.DataFrame,
    pulses: pd.DataFrame,
    device_params: pd.DataFrame,
    tolerance: float,
    holding: pd.DataFrame,
    n_images: int,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The accuracy against cumulative training energy per (net, state, seed, epoch), its
    summary per run (:func:`fmes.device.energy.energy_to_reach` within ``tolerance``, with the
    holding energy of ``holding`` (:func:`holding_runs`) over a pass of ``n_images``), and why
    states without per-pulse energies are left out."""
    costs, missing = pulse_costs_by_state(device_params)
    training = training_energy_curves(curves, pulses, costs)
    summary = energy_to_reach(training, tolerance) if len(training) else pd.DataFrame()
    if len(summary):
        summary = with_holding_energy(summary, device_params, holding, n_images)
    return training, summary, missing


def training_energy_lines(summary: pd.DataFrame, tolerance: float) -> list[str]:
    """Two lines per run of the :func:`training_energy_tables` summary: the energy to reach the
    final accuracy, and the bound on holding the trained states."""
    lines = []
    for row in summary.itertuples(index=False):
        run = f"{row.net} {row.state} seed {row.seed}"
        lines.append(
            f"{run}: {row.final_test_accuracy:.4f} after {row.epochs} epochs, "
            f"{row.total_energy_J:.3g} J ({row.total_pulses} pulses); within {tolerance:.2g} "
            f"of it at epoch {row.epoch_reached}: {row.energy_to_reach_J:.3g} J"
        )
        lines.append(
            f"{run}: holding {row.n_devices} devices for {row.holding_duration_s:.3g} s costs "
            f"at most {row.holding_bound_J:.3g} J ({row.holding_bound_to_pulses:.3g} x the pulses)"
        )
    return lines


def inference_tables(
    inference: pd.DataFrame, tolerance: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The accuracy over time since training, how long it stays within ``tolerance`` of the
    trained accuracy (:func:`fmes.networks.inference.time_within_tolerance`), and the accuracy
    against the output-ADC resolution, from the gathered inference sweeps."""
    over_time = accuracy_over_time(inference)
    kept = time_within_tolerance(over_time, tolerance) if len(over_time) else pd.DataFrame()
    return over_time, kept, accuracy_vs_adc_bits(inference)


def kept_lines(kept: pd.DataFrame, tolerance: float) -> list[str]:
    """One line per row of the :func:`inference_tables` ``kept`` table."""
    return [
        f"{row.net} {row.state} (read noise {row.read_noise}, {row.reference} reference): "
        f"trained {row.trained_accuracy:.4f}, within {tolerance:.2g} until "
        f"{row.kept_until_s:.3g} s{' (whole grid)' if row.kept_whole_grid else ''} "
        f"(leakage band {row.kept_until_lower_s:.3g}-{row.kept_until_upper_s:.3g} s)"
        for row in kept.itertuples(index=False)
    ]
