"""Energy and time of device updates: the circuit model's pulse energy, and pulse bookkeeping.

:func:`model_pulse_energies` integrates the exact circuit response of :mod:`fmes.device` on a
dense grid, the reference against which the trace-based read-out
(:mod:`fmes.analysis.energy`) is checked. :class:`PulseLog` counts the programming pulses a
network applies (per layer and epoch, potentiating and depressing apart) and
:func:`pulse_log_energy` turns counts into energy and programming time with a state's
per-pulse figures from ``device_params.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.integrate import trapezoid

from fmes import device as dev
from fmes.contracts import DEVICE_PARAMS_ENERGY_COLUMNS

__all__ = [
    "ENERGY_PARAM_COLUMNS",
    "PulseCost",
    "PulseLog",
    "model_pulse_energies",
    "energy_to_reach",
    "holding_energy_J",
    "holding_power_bound_W",
    "pulse_log_energy",
    "training_holding_bound_J",
    "training_duration_s",
    "training_energy_curves",
]

#: columns the energy analysis adds to device_params.csv (per resistance state)
ENERGY_PARAM_COLUMNS = DEVICE_PARAMS_ENERGY_COLUMNS


def model_pulse_energies(
    params: dev.CellParams,
    resistance_ohm: float,
    stimulus: dev.Stimulus,
    points_per_pulse: int = 400,
    points_per_gap: int = 400,
) -> pd.DataFrame:
    """Per pulse of a current-driven ``stimulus``: delivered energy and heat in R (model).

    The energy is the midpoint rule of I u on ``points_per_pulse`` points (the drive is
    constant over a pulse, u smooth); the heat in the regulating resistor is the trapezoid of
    u²/R from the onset to the next onset (to the end of the stimulus times for the last) on a
    log-spaced grid, NaN in the open state.
    """
    if stimulus.driven != "current":
        raise ValueError("model_pulse_energies needs a current-driven (pulse) stimulus")
    drive = stimulus.drive
    on = drive.level != 0
    onsets = drive.start_s[on]
    idx = np.flatnonzero(on)
    widths = drive.start_s[idx + 1] - onsets
    amps = drive.level[on]
    circuit = dev.current_driven_circuit(params, resistance_ohm)
    mid = (np.arange(points_per_pulse) + 0.5) / points_per_pulse
    t_in = onsets[:, None] + widths[:, None] * mid[None, :]
    u_in = dev.simulate(circuit, drive, t_in.ravel()).reshape(t_in.shape)
    energy = amps * u_in.mean(axis=1) * widths
    ends = np.append(onsets[1:], stimulus.time_s[-1])
    if math.isinf(resistance_ohm):
        heat = np.full(onsets.size, np.nan)
    else:
        frac = np.concatenate([[0.0], np.geomspace(1e-6, 1.0, points_per_gap - 1)])
        t_w = onsets[:, None] + (ends - onsets)[:, None] * frac[None, :]
        u_w = dev.simulate(circuit, drive, t_w.ravel()).reshape(t_w.shape)
        heat = trapezoid(u_w**2 / resistance_ohm, t_w, axis=1)
    return pd.DataFrame(
        {
            "pulse_index": np.arange(onsets.size),
            "onset_s": onsets,
            "width_s": widths,
            "amplitude_A": amps,
            "energy_J": energy,
            "dissipated_in_r_J": heat,
        }
    )


def holding_energy_J(
    voltage_V: ArrayLike, resistance_ohm: ArrayLike, duration_s: ArrayLike
) -> np.ndarray:
    """Heat in the regulating resistor while a cell holds ``voltage_V``: V² / R x duration.

    Between programming pulses the cell's voltage stays across its regulating resistor R, which
    dissipates V²/R (Joule's law) for as long as the state is held; this is outside the pulses'
    own energy (:func:`model_pulse_energies` stops at the next onset). Vectorised: the three
    arguments broadcast; R = inf (open state) holds for free (0 J). The voltage decays while
    it is held (the cell discharges through R), so at a constant ``voltage_V`` equal to the
    largest voltage held this is an upper bound.

    Parameters
    ----------
    voltage_V : array_like
        Voltage held across R (V).
    resistance_ohm : array_like
        Regulating resistance (ohm, > 0, inf for the open state).
    duration_s : array_like
        How long the voltage is held (s, >= 0).

    Returns
    -------
    numpy.ndarray
        Energy dissipated in R (J), the broadcast shape of the arguments.
    """
    v = np.asarray(voltage_V, dtype=float)
    t = np.asarray(duration_s, dtype=float)
    if np.any(t < 0):
        raise ValueError(f"holding duration_s must be >= 0 s, got {t}")
    return v**2 * dev.regulating_conductance_S(resistance_ohm) * t


def holding_power_bound_W(
    g_min_V: ArrayLike, g_max_V: ArrayLike, resistance_ohm: ArrayLike
) -> np.ndarray:
    """Largest power one device of a state can dissipate in R while holding a weight.

    A weight lies in the state's window [``g_min_V``, ``g_max_V``] (``device_params.csv``), so
    the held voltage is at most max(|g_min|, |g_max|) and the power at most that squared over R.
    """
    v_max = np.maximum(np.abs(np.asarray(g_min_V, float)), np.abs(np.asarray(g_max_V, float)))
    return holding_energy_J(v_max, resistance_ohm, 1.0)


def training_holding_bound_J(
    g_min_V: ArrayLike,
    g_max_V: ArrayLike,
    resistance_ohm: ArrayLike,
    n_devices: ArrayLike,
    duration_s: ArrayLike,
) -> np.ndarray:
    """Upper bound of the holding energy of ``n_devices`` cells of a state over ``duration_s``.

    Every device held at the window's largest |voltage| for the whole duration
    (:func:`holding_power_bound_W` x ``n_devices`` x ``duration_s``). For a training run the
    duration is :func:`training_duration_s` (epochs x images x pulse period); for an adaptation,
    the images mapped x the pulse period. 0 J in the open state.
    """
    power = holding_power_bound_W(g_min_V, g_max_V, resistance_ohm)
    return power * np.asarray(n_devices, dtype=float) * np.asarray(duration_s, dtype=float)


def training_duration_s(
    epochs: ArrayLike, n_images: ArrayLike, pulse_period_s: ArrayLike
) -> np.ndarray:
    """Time a training run holds its states: one pulse period per image presented.

    epochs x images x pulse period: every image followed by one programming slot at the
    LTP/LTD protocol's period. Forward passes, reads and batching add time, so this is the
    shortest such run; the holding energy grows in proportion to the real duration.
    """
    return (
        np.asarray(epochs, dtype=float)
        * np.asarray(n_images, dtype=float)
        * np.asarray(pulse_period_s, dtype=float)
    )


@dataclass(frozen=True)
class PulseCost:
    """Per-pulse energy (J, magnitude) and time (s) of one resistance state."""

    energy_ltp_J: float
    energy_ltd_J: float
    pulse_width_s: float
    pulse_period_s: float

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> PulseCost:
        """From a ``device_params.csv`` row; a missing or NaN value is a clear error."""
        bad = [c for c in ENERGY_PARAM_COLUMNS if c not in row or not np.isfinite(float(row[c]))]
        if bad:
            raise ValueError(
                f"device_params row {row.get('resistance_label')!r}: no finite {bad} "
                "(the energy analysis needs ltp_ltd traces of this state)"
            )
        return cls(**{c: float(row[c]) for c in ENERGY_PARAM_COLUMNS})


class PulseLog:
    """Counts the pulses applied to each layer's devices, per epoch.

    ``add(layer, counts)`` takes the signed pulse counts of one update (``add_segments`` those
    of several layers at once); ``close_epoch()`` ends an epoch. ``parallel_steps`` is the
    largest |count| in the layer per update summed over updates: the pulse slots a crossbar
    needs when every device of a layer is pulsed at once.
    """

    def __init__(self, n_layers: int) -> None:
        self.n_layers = int(n_layers)
        self._rows: list[dict] = []
        self._epoch = 1
        self._reset()

    def _reset(self) -> None:
        # Per layer, summed over the epoch's updates: sum |n|, sum n and max |n| (floats of
        # whole numbers, exact below 2**53). The LTP and LTD pulses follow at the epoch's end
        # as (sum |n| +- sum n) / 2, so an update costs three reductions and no Python ints.
        self._sums = np.zeros((self.n_layers, 3))

    def add(self, layer: int, counts: np.ndarray) -> None:
        c = np.asarray(counts, dtype=np.float64).reshape(-1)
        self.add_segments(c, (0, c.size), (layer,))

    def add_segments(
        self, counts: np.ndarray, bounds: Sequence[int], layers: Sequence[int]
    ) -> None:
        """One update of several layers: ``counts[bounds[j]:bounds[j + 1]]`` (flat float) are
        the signed counts of layer ``layers[j]``, as
        :meth:`fmes.synapse.SynapseStack.update_from_changes` returns them."""
        magnitude = np.abs(counts)
        sums = self._sums
        for j, layer in enumerate(layers):
            start, stop = bounds[j], bounds[j + 1]
            if start == stop:
                continue
            row = sums[layer]
            row[0] += np.add.reduce(magnitude[start:stop])
            row[1] += np.add.reduce(counts[start:stop])
            row[2] += np.maximum.reduce(magnitude[start:stop])

    def close_epoch(self) -> None:
        for layer, (total, net, steps) in enumerate(self._sums.tolist()):
            self._rows.append(
                {
                    "epoch": self._epoch,
                    "layer": layer,
                    "pulses_ltp": round(total + net) // 2,
                    "pulses_ltd": round(total - net) // 2,
                    "parallel_steps": round(steps),
                }
            )
        self._epoch += 1
        self._reset()

    def table(self) -> pd.DataFrame:
        """Tidy counts: one row per (epoch, layer)."""
        return pd.DataFrame(
            self._rows, columns=["epoch", "layer", "pulses_ltp", "pulses_ltd", "parallel_steps"]
        )


def pulse_log_energy(counts: pd.DataFrame, cost: PulseCost) -> pd.DataFrame:
    """Add energy (J) and programming time (s) to a :meth:`PulseLog.table` frame.

    ``energy_J`` = LTP pulses x E_LTP + LTD pulses x E_LTD. ``time_serial_s`` = all pulses one
    after another at the protocol's pulse period; ``time_parallel_s`` = the layer's parallel
    pulse slots at that period (every device of a layer programmed at once).
    """
    out = counts.copy()
    out["energy_J"] = out["pulses_ltp"] * cost.energy_ltp_J + out["pulses_ltd"] * cost.energy_ltd_J
    out["time_serial_s"] = (out["pulses_ltp"] + out["pulses_ltd"]) * cost.pulse_period_s
    out["time_parallel_s"] = out["parallel_steps"] * cost.pulse_period_s
    return out


def training_energy_curves(
    curves: pd.DataFrame, pulses: pd.DataFrame, costs: Mapping[str, PulseCost]
) -> pd.DataFrame:
    """Accuracy per epoch beside the cumulative pulses, energy and programming time.

    ``curves``: accuracy per (net, state, seed, epoch) (epoch 0 = as initialised);
    ``pulses``: :meth:`PulseLog.table` rows with net/state/seed; ``costs``: per state. States
    without a cost (e.g. "ideal") are left out. Time: serial and layer-parallel (the layers of
    one update are programmed one after another).
    """
    keys = ["net", "state", "seed"]
    frames = []
    for state, cost in costs.items():
        p = pulses[pulses["state"].astype(str) == state]
        if p.empty:
            continue
        per_layer = pulse_log_energy(p, cost)
        per_epoch = per_layer.groupby([*keys, "epoch"], as_index=False)[
            ["pulses_ltp", "pulses_ltd", "energy_J", "time_serial_s", "time_parallel_s"]
        ].sum()
        frames.append(per_epoch)
    if not frames:
        return pd.DataFrame()
    per_epoch = pd.concat(frames, ignore_index=True)
    c = curves.assign(state=curves["state"].astype(str))
    out = c.merge(per_epoch, on=[*keys, "epoch"], how="inner")
    # epoch 0 (as programmed) costs nothing in this account: initial programming is not training
    zero = c[c["epoch"] == 0].merge(per_epoch[keys].drop_duplicates(), on=keys)
    out = pd.concat(
        [
            zero.assign(
                pulses_ltp=0, pulses_ltd=0, energy_J=0.0, time_serial_s=0.0, time_parallel_s=0.0
            ),
            out,
        ]
    )
    out = out.sort_values([*keys, "epoch"]).reset_index(drop=True)
    for col in ("pulses_ltp", "pulses_ltd", "energy_J", "time_serial_s", "time_parallel_s"):
        out[f"cumulative_{col}"] = out.groupby(keys)[col].cumsum()
    return out


def energy_to_reach(curves: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Per (net, state, seed): final test accuracy, total training energy/time, and the
    cumulative energy/time at the first epoch whose test accuracy is within ``tolerance`` of
    the final (reported) one."""
    rows = []
    for (net, state, seed), g in curves.groupby(["net", "state", "seed"], sort=False):
        g = g.sort_values("epoch")
        final = float(g["test_accuracy"].iloc[-1])
        reached = g[g["test_accuracy"] >= final - tolerance].iloc[0]
        rows.append(
            {
                "net": net,
                "state": state,
                "seed": seed,
                "epochs": int(g["epoch"].max()),
                "final_test_accuracy": final,
                "total_energy_J": float(g["cumulative_energy_J"].iloc[-1]),
                "total_pulses": int(
                    g["cumulative_pulses_ltp"].iloc[-1] + g["cumulative_pulses_ltd"].iloc[-1]
                ),
                "total_time_parallel_s": float(g["cumulative_time_parallel_s"].iloc[-1]),
                "total_time_serial_s": float(g["cumulative_time_serial_s"].iloc[-1]),
                "epoch_reached": int(reached["epoch"]),
                "energy_to_reach_J": float(reached["cumulative_energy_J"]),
                "time_parallel_to_reach_s": float(reached["cumulative_time_parallel_s"]),
            }
        )
    return pd.DataFrame(rows)


def pulse_costs_by_state(device_params: pd.DataFrame) -> tuple[dict[str, PulseCost], list[str]]:
    """The :class:`PulseCost` of every state of a ``device_params.csv`` table that has one.

    Returns the costs by ``resistance_label`` (as text) and, for each state without finite
    per-pulse figures, the reason :meth:`PulseCost.from_row` gives (such a state has no
    training energy; it is left out rather than failing the whole summary).
    """
    costs: dict[str, PulseCost] = {}
    missing: list[str] = []
    for row in device_params.to_dict("records"):
        try:
            costs[str(row["resistance_label"])] = PulseCost.from_row(row)
        except ValueError as err:
            missing.append(str(err))
    return costs, missing
