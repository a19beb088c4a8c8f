"""Equivalent-circuit model of an FMES synapse with its parallel regulating resistor.

Circuit (all linear)::

        I(t) ──┬──────────────┬── u (terminal = post-synaptic voltage, PSV)
               │              │
               R            R_s   series (electrode + electrolyte) resistance
          (regulating,        │
           may be open)       ├────────┬──────────┐  internal node, voltage v_f
               │             C_f      r_d       R_leak
               │      (double layer)   │    (self-discharge)
               │              │       C_s  (bulk / diffusion branch:
               │              │        │    long-term charge, voltage v_s)
        ground ┴──────────────┴────────┴──────────┘

This is the two-time-constant supercapacitor model (fast double-layer branch in parallel with a
slow diffusion branch and a leakage; Zubieta & Bonert, IEEE Trans. Ind. Appl. 36, 2000;
Cabrane & Lee, Energies 15, 693, 2022) with the study's regulating resistor R across the
terminals (Zhao et al., Natl Sci Rev 2022, Fig 2a).

States x = (v_f, v_s) obey ``C x' = -G x + b w(t)`` and the measured quantity is
``y = c . x + d w``, where the drive ``w`` is either the applied current (pulse protocols; y = PSV)
or the applied voltage (I-V sweep; y = current). ``C^-1/2 G C^-1/2`` is symmetric positive
definite, so the system is diagonalised exactly with ``numpy.linalg.eigh`` and solved in closed
form for piecewise-linear drive: the matrix exponential evaluated in the eigenbasis, at any set of
sample times, vectorised over devices / resistance states (the batch axis). No time stepping.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class CellParams:
    """Parameters of the FMES cell (scalars or arrays broadcastable to one batch shape)."""

    series_resistance_ohm: ArrayLike
    fast_capacitance_F: ArrayLike
    diffusion_resistance_ohm: ArrayLike
    slow_capacitance_F: ArrayLike
    leakage_resistance_ohm: ArrayLike

    @classmethod
    def from_mapping(cls, values: dict) -> CellParams:
        """Build from a mapping with exactly the field names (e.g. a config or calibration row)."""
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in values]
        if missing:
            raise KeyError(f"device parameters missing: {missing}")
        return cls(**{n: values[n] for n in names})

    def as_dict(self) -> dict[str, ArrayLike]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def scaled(self, factors: dict[str, ArrayLike]) -> CellParams:
        """Multiply named parameters by factors (used for device and cycle spreads)."""
        values = self.as_dict()
        for name, factor in factors.items():
            values[name] = np.asarray(values[name], dtype=float) * np.asarray(factor, dtype=float)
        return CellParams(**values)


@dataclass(frozen=True)
class LinearCircuit:
    """``C x' = -G x + b w``, ``y = c . x + d w`` with a leading batch shape."""

    conductance_S: Array  # (..., 2, 2)
    capacitance_F: Array  # (..., 2)
    input_vector: Array  # (..., 2)
    output_vector: Array  # (..., 2)
    feedthrough: Array  # (...)


@dataclass(frozen=True)
class PiecewiseDrive:
    """Drive ``w(t) = level_k + slope_k (t - start_k)`` on ``[start_k, start_{k+1})``.

    The last segment extends to +inf. Before ``start_0`` the circuit is at rest (x = 0).
    """

    start_s: Array
    level: Array
    slope_per_s: Array

    def __post_init__(self) -> None:
        start = np.asarray(self.start_s, dtype=float)
        if start.ndim != 1 or start.size == 0 or np.any(np.diff(start) <= 0):
            raise ValueError(
                "PiecewiseDrive.start_s must be a non-empty, strictly increasing 1-D array"
            )

    def value(self, time_s: ArrayLike) -> Array:
        """Drive value at ``time_s`` (right-continuous at breakpoints)."""
        t = np.asarray(time_s, dtype=float)
        k = np.clip(np.searchsorted(self.start_s, t, side="right") - 1, 0, None)
        return self.level[k] + self.slope_per_s[k] * (t - self.start_s[k])


def _conductances(params: CellParams) -> tuple[Array, Array, Array]:
    """Series, diffusion and leakage conductances (S) of the cell."""
    g_s = 1.0 / np.asarray(params.series_resistance_ohm, dtype=float)
    g_d = 1.0 / np.asarray(params.diffusion_resistance_ohm, dtype=float)
    g_l = 1.0 / np.asarray(params.leakage_resistance_ohm, dtype=float)
    return g_s, g_d, g_l


def regulating_conductance_S(resistance_ohm: ArrayLike) -> Array:
    """1/R, with R = inf (open state) giving 0 S. R must be > 0."""
    r = np.asarray(resistance_ohm, dtype=float)
    if np.any(~(r > 0)):
        raise ValueError(f"regulating resistance must be > 0 ohm (inf for open), got {r}")
    return 1.0 / r


def _assemble(
    g_node: Array, g_d: Array, caps: tuple[Array, Array], b0: Array, c0: Array, d: Array
) -> LinearCircuit:
    shape = np.broadcast_shapes(
        g_node.shape, g_d.shape, caps[0].shape, caps[1].shape, b0.shape, c0.shape, d.shape
    )
    g_node, g_d, b0, c0, d = (np.broadcast_to(a, shape) for a in (g_node, g_d, b0, c0, d))
    conductance = np.empty(shape + (2, 2))
    conductance[..., 0, 0] = g_node + g_d
    conductance[..., 0, 1] = -g_d
    conductance[..., 1, 0] = -g_d
    conductance[..., 1, 1] = g_d
    capacitance = np.stack(np.broadcast_arrays(caps[0], caps[1], subok=False), axis=-1)
    capacitance = np.broadcast_to(capacitance, shape + (2,))
    zeros = np.zeros(shape)
    return LinearCircuit(
        conductance_S=conductance,
        capacitance_F=np.array(capacitance, dtype=float),
        input_vector=np.stack([b0, zeros], axis=-1),
        output_vector=np.stack([c0, zeros], axis=-1),
        feedthrough=np.array(d, dtype=float),
    )


def current_driven_circuit(params: CellParams, resistance_ohm: ArrayLike) -> LinearCircuit:
    """Circuit driven by the applied current; output is the PSV ``u``.

    Eliminating the terminal node: ``u = (I + g_s v_f) / (g_s + g_R)``, so the internal node sees
    a source ``I g_s/(g_s+g_R)`` and a conductance ``g_s g_R/(g_s+g_R)`` (R_s in series with R).
    """
    g_s, g_d, g_l = _conductances(params)
    g_r = regulating_conductance_S(resistance_ohm)
    share = g_s / (g_s + g_r)
    g_series = g_s * g_r / (g_s + g_r)
    caps = (
        np.asarray(params.fast_capacitance_F, float),
        np.asarray(params.slow_capacitance_F, float),
    )
    return _assemble(g_series + g_l, g_d, caps, share, share, 1.0 / (g_s + g_r))


def voltage_driven_circuit(params: CellParams, resistance_ohm: ArrayLike) -> LinearCircuit:
    """Circuit driven by the applied terminal voltage; output is the total current (I-V sweep)."""
    g_s, g_d, g_l = _conductances(params)
    g_r = regulating_conductance_S(resistance_ohm)
    caps = (
        np.asarray(params.fast_capacitance_F, float),
        np.asarray(params.slow_capacitance_F, float),
    )
    return _assemble(g_s + g_l, g_d, caps, g_s, -g_s, g_s + g_r)


def _phi1(rate: Array, tau: Array) -> Array:
    """(1 - exp(-rate tau)) / rate, stable for small rate*tau."""
    return -np.expm1(-rate * tau) / rate


def _phi2(rate: Array, tau: Array) -> Array:
    """(rate tau - 1 + exp(-rate tau)) / rate^2: response to a unit ramp, stable series near 0."""
    x = rate * tau
    small = x < 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = (x + np.expm1(-x)) / rate**2
    series = tau**2 * (0.5 - x / 6.0 + x**2 / 24.0)
    return np.where(small, series, direct)


def simulate(
    circuit: LinearCircuit, drive: PiecewiseDrive, time_s: ArrayLike, side: str = "right"
) -> Array:
    """Exact output ``y(t)`` of ``circuit`` under ``drive`` at ``time_s``.

    Returns shape ``batch_shape + (n_times,)``. ``side="left"`` returns left limits at drive
    breakpoints (e.g. the PSV at the very end of a pulse, before the current switches off).
    """
    t = np.asarray(time_s, dtype=float)
    cap = circuit.capacitance_F
    inv_sqrt_c = 1.0 / np.sqrt(cap)
    sym = circuit.conductance_S * inv_sqrt_c[..., :, None] * inv_sqrt_c[..., None, :]
    rates, basis = np.linalg.eigh(sym)  # rates > 0 (decay rates, 1/s)
    # modal input/output weights: z = Q^T C^{1/2} x
    beta = np.einsum("...ji,...j->...i", basis, inv_sqrt_c * circuit.input_vector)
    gamma = np.einsum("...ji,...j->...i", basis, inv_sqrt_c * circuit.output_vector)

    start = np.asarray(drive.start_s, float)
    level = np.asarray(drive.level, float)
    slope = np.asarray(drive.slope_per_s, float)
    # modal state at each breakpoint (loop over drive segments only, vectorised over the batch)
    z_at_start = np.zeros(rates.shape[:-1] + (start.size, rates.shape[-1]))
    durations = np.diff(start)
    decay = np.exp(-rates[..., None, :] * durations[:, None])
    forced = beta[..., None, :] * (
        level[:-1, None] * _phi1(rates[..., None, :], durations[:, None])
        + slope[:-1, None] * _phi2(rates[..., None, :], durations[:, None])
    )
    for k in range(start.size - 1):
        z_at_start[..., k + 1, :] = decay[..., k, :] * z_at_start[..., k, :] + forced[..., k, :]

    seg = np.clip(np.searchsorted(start, t, side=side) - 1, 0, None)
    tau = np.clip(t - start[seg], 0.0, None)[:, None]
    r = rates[..., None, :]
    z = np.exp(-r * tau) * z_at_start[..., seg, :] + beta[..., None, :] * (
        level[seg, None] * _phi1(r, tau) + slope[seg, None] * _phi2(r, tau)
    )
    before = t < start[0]
    z[..., before, :] = 0.0
    w = level[seg] + slope[seg] * tau[:, 0]
    w = np.where(before, 0.0, w)
    return np.einsum("...ni,...i->...n", z, gamma) + circuit.feedthrough[..., None] * w


# ---------------------------------------------------------------------------------------------
# Stimulus protocols: the drive and the sample times of each protocol of the raw contract.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stimulus:
    """One protocol instance: its drive, the sample times, and which quantity is driven."""

    drive: PiecewiseDrive
    time_s: Array
    driven: str  # "current" (PSV measured) or "voltage" (current measured)


def pulse_drive(onsets_s: ArrayLike, width_s: float, amplitudes_A: ArrayLike) -> PiecewiseDrive:
    """Rectangular current pulses (piecewise constant) starting at 0 A at t = 0."""
    onsets = np.asarray(onsets_s, float)
    amps = np.broadcast_to(np.asarray(amplitudes_A, float), onsets.shape)
    if np.any(np.diff(onsets) <= width_s):
        raise ValueError("pulses overlap: the gap between onsets must exceed width_s")
    edges = np.empty(2 * onsets.size)
    edges[0::2] = onsets
    edges[1::2] = onsets + width_s
    levels = np.zeros_like(edges)
    levels[0::2] = amps
    if onsets[0] > 0:
        edges = np.concatenate([[0.0], edges])
        levels = np.concatenate([[0.0], levels])
    return PiecewiseDrive(edges, levels, np.zeros_like(levels))


def _segment_samples(start: Array, stop: Array, fractions: Array) -> Array:
    return (start[:, None] + (stop - start)[:, None] * fractions[None, :]).ravel()


def pulse_sample_times(
    drive: PiecewiseDrive,
    tail_s: float,
    samples_per_pulse: int = 10,
    samples_per_gap: int = 12,
    gap_first_fraction: float = 1e-3,
    samples_in_tail: int = 60,
    tail_first_s: float = 1e-5,
) -> Array:
    """Sample times for a pulse protocol: uniform inside pulses, log-spaced in gaps.

    Inside a pulse the last sample sits at 99.9% of the width so that the peak PSV is read
    just before the current switches off. Gaps between pulses are log-spaced from
    ``gap_first_fraction`` of the gap; the forgetting tail after the last pulse is log-spaced in
    absolute time from ``tail_first_s`` to its end with ``samples_in_tail`` points, so every
    decade of a retention curve (ms double-layer relaxation to 100 s self-discharge) is seen.
    """
    start = drive.start_s
    stop = np.append(start[1:], start[-1] + tail_s)
    on = drive.level != 0
    gap = ~on
    gap[-1] = False
    on_frac = np.append(np.arange(samples_per_pulse) / samples_per_pulse, 0.999)
    off_frac = np.concatenate([[0.0], np.geomspace(gap_first_fraction, 0.999, samples_per_gap - 1)])
    parts = [
        _segment_samples(start[on], stop[on], on_frac),
        _segment_samples(start[gap], stop[gap], off_frac),
    ]
    if not on[-1]:
        first = min(tail_first_s, 0.1 * tail_s)
        parts.append(
            start[-1] + np.concatenate([[0.0], np.geomspace(first, tail_s, samples_in_tail - 1)])
        )
    return np.unique(np.concatenate(parts))


def iv_sweep_stimulus(v_max_V: float, sweep_rate_V_per_s: float, samples: int = 401) -> Stimulus:
    """Triangular voltage sweep 0 -> v_max -> 0 (one cycle from rest)."""
    half = v_max_V / sweep_rate_V_per_s
    drive = PiecewiseDrive(
        np.array([0.0, half, 2 * half]),
        np.array([0.0, v_max_V, 0.0]),
        np.array([sweep_rate_V_per_s, -sweep_rate_V_per_s, 0.0]),
    )
    time_s = np.linspace(0.0, 2 * half, samples)
    return Stimulus(drive, time_s, "voltage")


def pulse_stimulus(
    amplitude_A: float, width_s: float, delay_s: float, tail_s: float, **sampling
) -> Stimulus:
    """A single rectangular current pulse after a baseline ``delay_s``."""
    drive = pulse_drive([delay_s], width_s, [amplitude_A])
    return Stimulus(drive, pulse_sample_times(drive, tail_s, **sampling), "current")


def ppf_stimulus(
    amplitude_A: float, width_s: float, interval_s: float, delay_s: float, tail_s: float, **sampling
) -> Stimulus:
    """Two identical pulses, ``interval_s`` from onset to onset (paired-pulse facilitation)."""
    drive = pulse_drive([delay_s, delay_s + interval_s], width_s, [amplitude_A, amplitude_A])
    return Stimulus(drive, pulse_sample_times(drive, tail_s, **sampling), "current")


def train_stimulus(
    amplitudes_A: ArrayLike,
    width_s: float,
    frequency_Hz: float,
    delay_s: float,
    tail_s: float,
    **sampling,
) -> Stimulus:
    """Pulses every 1/frequency with the given signed amplitudes (pulse_train and ltp_ltd)."""
    amps = np.asarray(amplitudes_A, float)
    onsets = delay_s + np.arange(amps.size) / frequency_Hz
    drive = pulse_drive(onsets, width_s, amps)
    return Stimulus(drive, pulse_sample_times(drive, tail_s, **sampling), "current")


def ltp_ltd_amplitudes(amplitude_A: float, n_pulses: int) -> Array:
    """``n_pulses`` potentiating (+amplitude) then ``n_pulses`` depressing (-amplitude) pulses."""
    return np.concatenate([np.full(n_pulses, amplitude_A), np.full(n_pulses, -amplitude_A)])


def respond(
    params: CellParams, resistance_ohm: ArrayLike, stimulus: Stimulus, side: str = "right"
) -> Array:
    """Measured response (PSV for current drive, current for voltage drive), batch x time."""
    build = current_driven_circuit if stimulus.driven == "current" else voltage_driven_circuit
    return simulate(build(params, resistance_ohm), stimulus.drive, stimulus.time_s, side=side)


def simulate_ode(
    circuit: LinearCircuit,
    drive: PiecewiseDrive,
    time_s: ArrayLike,
    rtol: float = 1e-10,
    atol: float = 1e-14,
) -> Array:
    """Reference solution with ``scipy.integrate.solve_ivp`` (Radau), for one unbatched circuit.

    The naive way: integrate each smooth drive segment separately (restarting at every
    breakpoint, where the forcing is discontinuous). Used to validate :func:`simulate` and as the
    baseline of ``benchmarks/bench_traces.py``; far slower, never used by the pipeline.
    """
    from scipy.integrate import solve_ivp

    if circuit.feedthrough.ndim != 0:
        raise ValueError("simulate_ode takes a single (unbatched) circuit")
    a = -circuit.conductance_S / circuit.capacitance_F[:, None]
    b = circuit.input_vector / circuit.capacitance_F
    t = np.asarray(time_s, dtype=float)
    bounds = np.append(drive.start_s, max(t[-1], drive.start_s[-1]) + 1.0)
    x0 = np.zeros(2)
    out = []
    for k in range(drive.start_s.size):
        lo, hi = bounds[k], bounds[k + 1]
        mask = (t >= lo) & (t < hi)
        level, slope = drive.level[k], drive.slope_per_s[k]
        sol = solve_ivp(
            lambda tt, x, level=level, slope=slope, lo=lo: a @ x + b * (level + slope * (tt - lo)),
            (lo, hi),
            x0,
            method="Radau",
            t_eval=t[mask],
            rtol=rtol,
            atol=atol,
            dense_output=True,
        )
        out.append(
            sol.y.T @ circuit.output_vector + circuit.feedthrough * (level + slope * (t[mask] - lo))
        )
        x0 = sol.sol(hi)
    return np.concatenate(out)
