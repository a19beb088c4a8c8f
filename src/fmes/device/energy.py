"""Energy and time of device updates: the circuit model's pulse energy, and pulse bookkeeping.

:func:`model_pulse_energies` integrates the exact circuit response of :mod:`fmes.device.circuit` on a
dense grid, the reference against which the trace-based read-out
(:mod:`fmes.analysis.energy`) is checked. :class:`PulseLog` counts the programming pulses a
network applies (per layer and epoch, potentiating and depressing apart) and
:func:`pulse_log_energy` turns counts into energy and programming time with a state's
per-pulse figures from ``device_params.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fmes.core.contracts import DEVICE_PARAMS_ENERGY_COLUMNS
from fmes.device import circuit as dev

__all__ = [
    "ENERGY_PARAM_COLUMNS",
    "ENERGY_SCOPE",
    "PulseCost",
    "PulseLog",
    "SPLIT_TERMS",
    "model_energy_split",
    "model_pulse_energies",
    "energy_to_reach",
    "holding_energy_J",
    "holding_power_bound_W",
    "pulse_log_energy",
    "state_energy_split",
    "training_holding_bound_J",
    "training_duration_s",
    "training_energy_curves",
    "with_holding_energy",
]

#: columns the energy analysis adds to device_params.csv (per resistance state)
ENERGY_PARAM_COLUMNS = DEVICE_PARAMS_ENERGY_COLUMNS


#: the terms of a pulse's energy balance (J): source = losses + change in stored energy
SPLIT_TERMS = (
    "source_J",
    "loss_rs_J",
    "loss_r_J",
    "loss_diffusion_J",
    "loss_leakage_J",
    "loss_internal_J",
    "stored_change_J",
    "balance_residual_J",
)


def _gauss_nodes(
    start_s: np.ndarray, stop_s: np.ndarray, n_sub: int, order: int
) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [start, stop] (one row per interval).

    The sub-intervals are geometric from ``start`` (the first 1e-9 of the interval long): the
    response after a drive step is a sum of exponentials whose fastest mode may be many
    decades shorter than the interval, and Gauss-Legendre on each piece integrates the smooth
    products exactly to rounding once the pieces resolve every mode.
    """
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.concatenate([[0.0], np.geomspace(1e-9, 1.0, n_sub)])
    lo, hi = edges[:-1], edges[1:]
    frac = (lo[:, None] + (hi - lo)[:, None] * (x[None, :] + 1) / 2).ravel()
    wfrac = ((hi - lo)[:, None] * w[None, :] / 2).ravel()
    length = (stop_s - start_s)[:, None]
    return start_s[:, None] + length * frac[None, :], length * wfrac[None, :]


def _circuit_states(
    circuit: dev.LinearCircuit, drive: dev.PiecewiseDrive, time_s: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """(v_f, v_s) at ``time_s``: the circuit's own states, read through unit output vectors."""
    out = []
    for k in range(2):
        unit = np.zeros_like(circuit.output_vector)
        unit[..., k] = 1.0
        probe = replace(circuit, output_vector=unit, feedthrough=np.zeros_like(circuit.feedthrough))
        out.append(dev.simulate(probe, drive, time_s, side=side))
    return out[0], out[1]


def _split_interval(
    params: dev.CellParams,
    resistance_ohm: float,
    drive: dev.PiecewiseDrive,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    n_sub: int,
    order: int,
) -> dict[str, np.ndarray]:
    """The energy balance of each interval [start, stop] (drive constant or piecewise inside
    only at the interval's own ends): every branch's loss, the source energy and the stored
    energy at both ends."""
    circuit = dev.current_driven_circuit(params, resistance_ohm)
    g_s, g_d, g_l = (
        1.0 / float(r)
        for r in (
            params.series_resistance_ohm,
            params.diffusion_resistance_ohm,
            params.leakage_resistance_ohm,
        )
    )
    g_r = float(dev.regulating_conductance_S(resistance_ohm))
    c_f, c_s = float(params.fast_capacitance_F), float(params.slow_capacitance_F)
    t, w = _gauss_nodes(start_s, stop_s, n_sub, order)
    shape = t.shape
    v_f, v_s = (a.reshape(shape) for a in _circuit_states(circuit, drive, t.ravel(), "right"))
    current = drive.value(t.ravel()).reshape(shape)
    # terminal node: (I - g_R u) flows through R_s into the internal node, u - v_f = that / g_s
    u = (current + g_s * v_f) / (g_s + g_r)
    i_series = current - g_r * u

    def integral(power: np.ndarray) -> np.ndarray:
        return (power * w).sum(axis=1)

    def stored(time_s: np.ndarray, side: str) -> np.ndarray:
        a, b = _circuit_states(circuit, drive, time_s, side)
        return 0.5 * c_f * a**2 + 0.5 * c_s * b**2

    out = {
        "source_J": integral(current * u),
        "loss_rs_J": integral(i_series**2 / g_s),
        "loss_r_J": integral(g_r * u**2),
        "loss_diffusion_J": integral(g_d * (v_f - v_s) ** 2),
        "loss_leakage_J": integral(g_l * v_f**2),
        "stored_change_J": stored(stop_s, "left") - stored(start_s, "right"),
    }
    out["loss_internal_J"] = out["loss_diffusion_J"] + out["loss_leakage_J"]
    out["balance_residual_J"] = out["source_J"] - (
        out["loss_rs_J"] + out["loss_r_J"] + out["loss_internal_J"] + out["stored_change_J"]
    )
    return out


def model_energy_split(
    params: dev.CellParams,
    resistance_ohm: float,
    stimulus: dev.Stimulus,
    n_sub: int = 40,
    order: int = 8,
) -> pd.DataFrame:
    """Where each pulse's source energy goes, from the exact circuit response (model).

    For every pulse of a current-driven ``stimulus`` and two intervals, ``pulse`` (onset to
    the end of the pulse) and ``window`` (onset to the next onset, to the end of the stimulus
    times for the last pulse; the source delivers nothing between pulses, so it is the same
    source energy with the relaxation added), the balance of the circuit of :mod:`fmes.device.circuit`:

    ``source_J`` (∫ I u dt) = ``loss_rs_J`` (∫ i_s² R_s dt, the current into the cell through
    the series resistance) + ``loss_r_J`` (∫ u²/R dt, 0 in the open state) +
    ``loss_internal_J`` (``loss_diffusion_J`` ∫ (v_f - v_s)²/r_d dt in the diffusion branch +
    ``loss_leakage_J`` ∫ v_f²/R_leak dt) + ``stored_change_J`` (Δ of ½ C_f v_f² + ½ C_s v_s²).

    The states come from the closed-form solution (:func:`fmes.device.circuit.simulate`); the power
    integrals use composite Gauss-Legendre quadrature on geometric sub-intervals, so
    ``balance_residual_J`` (source minus the rest) is at rounding level. A depressing pulse on a
    charged cell has a negative ``source_J`` where the cell returns energy to the source, and
    a negative ``stored_change_J``. This is Tellegen's power balance for a lumped circuit (e.g.
    Desoer & Kuh, Basic Circuit Theory, 1969, ch. 9) applied to the two-branch supercapacitor
    model (Conway, Electrochemical Supercapacitors, 1999, ch. 16: ½CV² stored, I²R losses).
    """
    if stimulus.driven != "current":
        raise ValueError("model_energy_split needs a current-driven (pulse) stimulus")
    drive = stimulus.drive
    on = drive.level != 0
    idx = np.flatnonzero(on)
    onsets = drive.start_s[on]
    ends = drive.start_s[idx + 1]
    next_onsets = np.append(onsets[1:], max(float(stimulus.time_s[-1]), ends[-1]))
    in_pulse = _split_interval(params, resistance_ohm, drive, onsets, ends, n_sub, order)
    # the relaxation is integrated from the pulse's end, so no quadrature piece straddles the
    # drive step (where u jumps by R_s||R x I)
    after = _split_interval(params, resistance_ohm, drive, ends, next_onsets, n_sub, order)
    window = {k: in_pulse[k] + after[k] for k in SPLIT_TERMS}
    frames = []
    for interval, stop, terms in (("pulse", ends, in_pulse), ("window", next_onsets, window)):
        frames.append(
            pd.DataFrame(
                {
                    "pulse_index": np.arange(onsets.size),
                    "interval": interval,
                    "onset_s": onsets,
                    "width_s": ends - onsets,
                    "duration_s": stop - onsets,
                    "amplitude_A": drive.level[on],
                    **{k: terms[k] for k in SPLIT_TERMS},
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def model_pulse_energies(
    params: dev.CellParams, resistance_ohm: float, stimulus: dev.Stimulus
) -> pd.DataFrame:
    """Per pulse of a current-driven ``stimulus``: the energy the source delivers over the
    pulse (``energy_J``) and the heat in the regulating resistor from the onset to the next
    onset (``dissipated_in_r_J``, 0 J in the open state): the reference for the trace read-out
    of :func:`fmes.analysis.energy.pulse_energies` (:func:`model_energy_split` for the rest
    of the balance)."""
    split = model_energy_split(params, resistance_ohm, stimulus)
    pulse = split[split["interval"] == "pulse"].reset_index(drop=True)
    window = split[split["interval"] == "window"].reset_index(drop=True)
    return pd.DataFrame(
        {
            "pulse_index": pulse["pulse_index"],
            "onset_s": pulse["onset_s"],
            "width_s": pulse["width_s"],
            "amplitude_A": pulse["amplitude_A"],
            "energy_J": pulse["source_J"],
            "dissipated_in_r_J": window["loss_r_J"],
        }
    )


#: what the per-pulse energies count and what they leave out (tables and docs state it)
ENERGY_SCOPE = (
    "counted: the cell (series resistance, diffusion branch, leakage, stored energy) and its "
    "regulating resistor R, from a pulse's onset to the next onset; not counted: the pulse "
    "driver, reads, ADC, digital compute, peripheral circuits, and the holding current through "
    "R while a state is held longer (fmes.device.energy.holding_energy_J)"
)


def state_energy_split(
    params: dev.CellParams, states: Mapping[str, float], stimulus: dev.Stimulus
) -> pd.DataFrame:
    """Mean energy balance of the potentiating and of the depressing pulses, per state.

    ``states``: resistance label -> regulating resistance (ohm, inf = open); ``stimulus``: the
    LTP/LTD protocol (current-driven). Per (state, polarity, interval) the mean over the pulses
    of every :data:`SPLIT_TERMS` column of :func:`model_energy_split` (means, so the table's
    balance closes as the pulses' does), with ``n_pulses`` and the :data:`ENERGY_SCOPE`.
    """
    frames = []
    for label, resistance_ohm in states.items():
        split = model_energy_split(params, float(resistance_ohm), stimulus)
        frames.append(
            split.assign(
                resistance_label=str(label),
                resistance_ohm=float(resistance_ohm),
                polarity=np.sign(split["amplitude_A"]).astype(int),
            )
        )
    keys = ["resistance_label", "resistance_ohm", "polarity", "interval"]
    if not frames:
        return pd.DataFrame(columns=[*keys, "n_pulses", *SPLIT_TERMS, "scope"])
    allp = pd.concat(frames, ignore_index=True)
    grouped = allp.groupby(keys, sort=False)
    out = grouped[list(SPLIT_TERMS)].mean()
    out.insert(0, "n_pulses", grouped.size())
    return out.reset_index().assign(scope=ENERGY_SCOPE)


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


def with_holding_energy(
    summary: pd.DataFrame,
    device_params: pd.DataFrame,
    runs: pd.DataFrame,
    n_images: int,
) -> pd.DataFrame:
    """The training energy summary (:func:`energy_to_reach`) with the holding energy beside it.

    ``runs``: per (net, state, seed) ``n_devices`` (weights on devices) and
    ``final_holding_power_W`` (Σ V²/R over the trained network's device voltages);
    ``device_params``: per ``resistance_label`` its ``resistance_ohm``, weight window
    (``g_min_V``, ``g_max_V``) and ``pulse_period_s``; ``n_images``: training images per epoch.
    Adds ``holding_duration_s`` (:func:`training_duration_s`), ``holding_bound_J``
    (:func:`training_holding_bound_J`: every device at the window's largest |V| throughout),
    ``holding_final_J`` (the trained network's voltages held throughout: an estimate, as the
    weights move during training) and ``holding_bound_to_pulses`` (bound over the pulses'
    ``total_energy_J``). The open state holds for free (0 J).
    """
    keys = ["net", "state", "seed"]
    params = device_params.assign(state=device_params["resistance_label"].astype(str))[
        ["state", "resistance_ohm", "g_min_V", "g_max_V", "pulse_period_s"]
    ]
    out = summary.assign(state=summary["state"].astype(str)).merge(params, on="state", how="left")
    out = out.merge(
        runs.assign(state=runs["state"].astype(str))[[*keys, "n_devices", "final_holding_power_W"]],
        on=keys,
        how="left",
    )
    duration = training_duration_s(out["epochs"], n_images, out["pulse_period_s"])
    out["holding_duration_s"] = duration
    out["holding_bound_J"] = training_holding_bound_J(
        out["g_min_V"], out["g_max_V"], out["resistance_ohm"], out["n_devices"], duration
    )
    out["holding_final_J"] = out["final_holding_power_W"] * duration
    with np.errstate(divide="ignore", invalid="ignore"):
        out["holding_bound_to_pulses"] = out["holding_bound_J"] / out["total_energy_J"]
    return out.drop(
        columns=["resistance_ohm", "g_min_V", "g_max_V", "pulse_period_s", "final_holding_power_W"]
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
        :meth:`fmes.device.synapse.SynapseStack.update_from_changes` returns them."""
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
