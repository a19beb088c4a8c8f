"""Messy-trace generator: closed-form responses with known parameters plus instrument artifacts.

The responses here are written down in closed form (piecewise ramps and exponentials), NOT taken
from the project's device model, so a read-out or fit that recovers them is checked against an
independent truth. Every trace follows the raw-trace contract (``time_s``, ``current_A``,
``voltage_V``, uniformly sampled like a DAQ or source-measure unit).

Closed-form responses (PSV in volt, current pulses of ``amplitude_A`` and ``width_s``):

- inside a pulse the PSV jumps by ``jump_V`` (the ohmic drop of the cell) and then ramps
  linearly so that the *last in-pulse sample* is exactly the prescribed peak; after the pulse it
  drops by ``jump_V`` and relaxes exponentially (``decay_s``) towards its rest value.
- :func:`ppf_pair`: A1 = ``a1_V``, A2 = A1 (1 + C1 exp(-Δt/τ1) + C2 exp(-Δt/τ2)), both measured
  from the pre-stimulus baseline (the analysis convention).
- :func:`pulse_response`: one pulse with peak change ``a_V``.
- :func:`ltp_ltd_cycle`: N potentiating then N depressing pulses; the weight read at the end of
  the gap after pulse n is the NeuroSim curve G_P(n) = G0 + B (1 - exp(-n/A_P)) / (1 - exp(-N/A_P))
  and symmetrically for LTD with A_D.
- :func:`retention_trace`: a short train followed by u(t) = u0 exp(-(t/τ)^β) from the offset of
  the last pulse.

Shapes (keywords of every generator, defaults = the shapes above): ``rise_s`` > 0 makes the
in-pulse PSV a saturating exponential of that time constant (an RC-like charge) instead of the
ramp, still ending exactly on the peak; ``decay_beta`` != 1 makes the post-pulse relaxation a
stretched exponential exp(-(t/decay_s)^beta). :func:`ppf_series` gives one PPF trace per interval
(what a paired-pulse campaign records), for the PPF-law recovery tests.

Artifacts (:class:`Artifacts`, each switchable by setting it to 0): channel skew in samples
(voltage delayed by ``skew_samples``; negative = leads), single-sample glitches (a fraction of
samples hit by +-``glitch_V``), offset, linear drift, mains pickup (sinusoid of ``mains_Hz``),
voltage noise, current-source offset and noise, finite rise time (first-order low-pass of both
channels: the response of a linear cell to the slowed drive), ADC quantisation of the voltage
(``quantum_V``, rounding to that step; applied last).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Artifacts:
    """Instrument artifacts added to a clean trace (defaults: the default messy levels)."""

    skew_samples: int = 1
    glitch_fraction: float = 5e-4
    glitch_V: float = 15e-3
    offset_V: float = 13e-3
    drift_V_per_s: float = 10e-6
    mains_V: float = 1e-3
    mains_Hz: float = 50.0
    noise_V: float = 2e-4
    current_offset_A: float = 2e-6
    current_noise_A: float = 1e-6
    rise_time_s: float = 0.0
    quantum_V: float = 0.0


DEFAULT = Artifacts()
CLEAN = Artifacts(
    skew_samples=0,
    glitch_fraction=0.0,
    offset_V=0.0,
    drift_V_per_s=0.0,
    mains_V=0.0,
    noise_V=0.0,
    current_offset_A=0.0,
    current_noise_A=0.0,
)


def with_levels(base: Artifacts = DEFAULT, **levels) -> Artifacts:
    """``base`` with some artifact levels changed (e.g. ``with_levels(skew_samples=-3)``)."""
    return replace(base, **levels)


def _first_order(x: np.ndarray, dt_s: float, tau_s: float) -> np.ndarray:
    """First-order low-pass (exact for a piecewise-constant input on a uniform grid)."""
    if tau_s <= 0:
        return x
    from scipy.signal import lfilter

    a = np.exp(-dt_s / tau_s)
    return lfilter([1 - a], [1, -a], x, zi=[a * x[0]])[0]


def apply_artifacts(
    time_s: np.ndarray, current_A: np.ndarray, voltage_V: np.ndarray, art: Artifacts, seed: int = 0
) -> pd.DataFrame:
    """A contract trace (time_s, current_A, voltage_V) with ``art`` added to the clean channels."""
    rng = np.random.default_rng(seed)
    t = np.asarray(time_s, float)
    dt = float(t[1] - t[0])
    i = _first_order(np.asarray(current_A, float), dt, art.rise_time_s)
    v = _first_order(np.asarray(voltage_V, float), dt, art.rise_time_s)
    k = int(art.skew_samples)
    if k > 0:  # the voltage channel is sampled k samples late
        v = np.concatenate((np.full(k, v[0]), v[:-k]))
    elif k < 0:
        v = np.concatenate((v[-k:], np.full(-k, v[-1])))
    v = v + art.offset_V + art.drift_V_per_s * t
    if art.mains_V:
        v = v + art.mains_V * np.sin(2 * np.pi * art.mains_Hz * t + rng.uniform(0, 2 * np.pi))
    if art.noise_V:
        v = v + rng.normal(0.0, art.noise_V, t.size)
    n_glitch = rng.binomial(t.size, art.glitch_fraction) if art.glitch_fraction else 0
    if n_glitch:
        where = rng.choice(t.size, n_glitch, replace=False)
        v[where] += art.glitch_V * rng.choice([-1.0, 1.0], n_glitch)
    if art.quantum_V:
        v = np.round(v / art.quantum_V) * art.quantum_V
    i = i + art.current_offset_A
    if art.current_noise_A:
        i = i + rng.normal(0.0, art.current_noise_A, t.size)
    return pd.DataFrame({"time_s": t, "current_A": i, "voltage_V": v})


def _grid(duration_s: float, fs_Hz: float) -> np.ndarray:
    return np.arange(int(round(duration_s * fs_Hz))) / fs_Hz


def _pulse_train_psv(
    t,
    onsets_s,
    width_s,
    polarities,
    peaks_V,
    rests_V,
    jump_V,
    decay_s,
    dt,
    rise_s=0.0,
    decay_beta=1.0,
    rest0_V=0.0,
):
    """PSV for pulses at ``onsets_s``: ramp from the running value (+ jump) to ``peaks_V[k]`` at
    the last in-pulse sample; after the offset relax from ``peaks_V[k] - jump`` to ``rests_V[k]``.
    ``rise_s`` > 0: a saturating exponential instead of the ramp (same end points);
    ``decay_beta``: stretched-exponential relaxation; ``rest0_V``: the level before the first pulse.
    """
    v = np.full(t.size, float(rest0_V))
    prev_rest = float(rest0_V)
    m = int(round(width_s / dt))
    for k, on in enumerate(onsets_s):
        k0 = int(round(on / dt))
        pol = polarities[k]
        nxt = int(round(onsets_s[k + 1] / dt)) if k + 1 < len(onsets_s) else t.size
        start = v[k0 - 1] if k0 > 0 else prev_rest
        j = np.arange(1, m + 1)
        top = peaks_V[k] - pol * jump_V
        if rise_s <= 0:
            v[k0 : k0 + m] = start + pol * jump_V + (top - start) * j / m
        else:
            frac = np.expm1(-j * dt / rise_s) / np.expm1(-m * dt / rise_s)
            v[k0 : k0 + m] = start + pol * jump_V + (top - start) * frac
        after = np.arange(k0 + m, nxt)
        rel = peaks_V[k] - pol * jump_V
        age = (t[after] - t[k0 + m - 1]) / decay_s
        shape = np.exp(-age) if decay_beta == 1.0 else np.exp(-(age**decay_beta))
        v[after] = rests_V[k] + (rel - rests_V[k]) * shape
        prev_rest = rests_V[k]
    return v


def _current(t, onsets_s, width_s, polarities, amplitude_A, dt):
    i = np.zeros(t.size)
    m = int(round(width_s / dt))
    for on, pol in zip(onsets_s, polarities, strict=True):
        k0 = int(round(on / dt))
        i[k0 : k0 + m] = pol * amplitude_A
    return i


@dataclass(frozen=True)
class PPFTruth:
    """Known double-exponential facilitation."""

    c1: float = 0.30
    tau1_s: float = 0.008
    c2: float = 0.15
    tau2_s: float = 0.15
    a1_V: float = 0.10

    def ppf(self, dt_s):
        dt = np.asarray(dt_s, float)
        return 1 + self.c1 * np.exp(-dt / self.tau1_s) + self.c2 * np.exp(-dt / self.tau2_s)


def _positive_pulses(
    onsets_s: list[float],
    peaks_V: list[float],
    art: Artifacts,
    seed: int,
    *,
    fs_Hz: float = 10_000.0,
    width_s: float = 1e-3,
    amplitude_A: float = 1e-3,
    tail_s: float = 0.1,
    jump_V: float = 0.02,
    decay_s: float = 0.004,
    rise_s: float = 0.0,
    decay_beta: float = 1.0,
) -> pd.DataFrame:
    """Positive current pulses at ``onsets_s``, each lifting the PSV from a rest of 0 V to its
    ``peaks_V`` (measured from the pre-stimulus baseline), sampled to ``tail_s`` after the last."""
    dt = 1 / fs_Hz
    t = _grid(onsets_s[-1] + width_s + tail_s, fs_Hz)
    on = np.asarray(onsets_s, float)
    ones = [1] * on.size
    rests = [0.0] * on.size
    shape = {"rise_s": rise_s, "decay_beta": decay_beta}
    v = _pulse_train_psv(t, on, width_s, ones, peaks_V, rests, jump_V, decay_s, dt, **shape)
    i = _current(t, on, width_s, ones, amplitude_A, dt)
    return apply_artifacts(t, i, v, art, seed)


def ppf_pair(
    interval_s: float,
    truth: PPFTruth = PPFTruth(),
    art: Artifacts = DEFAULT,
    *,
    seed: int = 0,
    delay_s: float = 0.05,
    **shape: float,
) -> pd.DataFrame:
    """Two pulses ``interval_s`` apart (onset to onset); A1, A2 from the pre-stimulus baseline.
    ``shape``: the sampling and pulse keywords of :func:`_positive_pulses` (``width_s``, ...)."""
    a1 = truth.a1_V
    a2 = a1 * float(truth.ppf(interval_s))
    return _positive_pulses([delay_s, delay_s + interval_s], [a1, a2], art, seed, **shape)


def ppf_series(
    intervals_s,
    truth: PPFTruth = PPFTruth(),
    art: Artifacts = DEFAULT,
    *,
    seed: int = 0,
    **shape: float,
) -> list[pd.DataFrame]:
    """One :func:`ppf_pair` trace per interval (seeds ``seed``, ``seed + 1``, ...): a paired-pulse
    campaign at one state. ``shape``: ``delay_s``, ``fs_Hz``, ``width_s``, ``rise_s``, ..."""
    return [
        ppf_pair(float(dt), truth, art, seed=seed + k, **shape) for k, dt in enumerate(intervals_s)
    ]


def pulse_response(
    a_V: float = 0.08, art: Artifacts = DEFAULT, *, seed: int = 0, delay_s: float = 0.05, **shape
) -> pd.DataFrame:
    """One pulse whose PSV change (peak minus pre-pulse baseline) is ``a_V``.
    ``shape``: the sampling and pulse keywords of :func:`_positive_pulses` (``width_s``, ...)."""
    return _positive_pulses([delay_s], [a_V], art, seed, **shape)


@dataclass(frozen=True)
class LTPLTDTruth:
    """Known NeuroSim branches (pulses per half-cycle ``n_pulses``)."""

    a_p: float = 15.0
    a_d: float = 10.0
    g_min_V: float = 0.20
    g_max_V: float = 0.50
    n_pulses: int = 50

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Weight after each LTP pulse n = 1..N and each LTD pulse k = 1..N."""
        n = np.arange(1, self.n_pulses + 1)
        span = self.g_max_V - self.g_min_V
        frac_p = np.expm1(-n / self.a_p) / np.expm1(-self.n_pulses / self.a_p)
        frac_d = np.expm1(-n / self.a_d) / np.expm1(-self.n_pulses / self.a_d)
        return self.g_min_V + span * frac_p, self.g_max_V - span * frac_d


def ltp_ltd_cycle(
    truth: LTPLTDTruth = LTPLTDTruth(),
    art: Artifacts = DEFAULT,
    *,
    seed: int = 0,
    fs_Hz: float = 10_000.0,
    width_s: float = 1e-3,
    frequency_Hz: float = 100.0,
    amplitude_A: float = 1e-3,
    delay_s: float = 0.05,
    tail_s: float = 0.05,
    overshoot_V: float = 0.005,
    decay_s: float = 0.001,
    jump_V: float = 0.02,
    rise_s: float = 0.0,
    decay_beta: float = 1.0,
    weights: tuple[np.ndarray, np.ndarray] | None = None,
    weight_jitter_V: float = 0.0,
) -> pd.DataFrame:
    """N positive then N negative pulses; the gap-end read after each pulse is the known weight.

    ``weights`` replaces the NeuroSim branches (e.g. a convex branch the model cannot describe);
    ``weight_jitter_V`` adds pulse-to-pulse scatter of the weight itself (not read noise)."""
    dt = 1 / fs_Hz
    n = truth.n_pulses
    on = delay_s + np.arange(2 * n) / frequency_Hz
    t = _grid(on[-1] + 1 / frequency_Hz + tail_s, fs_Hz)
    pol = np.r_[np.ones(n), -np.ones(n)]
    w_p, w_d = truth.weights() if weights is None else weights
    if weight_jitter_V:
        jitter = np.random.default_rng(seed + 1).normal(0.0, weight_jitter_V, 2 * n)
        w_p, w_d = w_p + jitter[:n], w_d + jitter[n:]
    rests = np.r_[w_p, w_d]
    peaks = rests + pol * overshoot_V
    shape = {"rise_s": rise_s, "decay_beta": decay_beta, "rest0_V": truth.g_min_V}
    v = _pulse_train_psv(t, on, width_s, pol, peaks, rests, jump_V, decay_s, dt, **shape)
    i = _current(t, on, width_s, pol, amplitude_A, dt)
    return apply_artifacts(t, i, v, art, seed)


@dataclass(frozen=True)
class RetentionTruth:
    """Known Kohlrausch forgetting after the last pulse."""

    u0_V: float = 0.5
    tau_s: float = 5.0
    beta: float = 0.7

    def u(self, t_s):
        return self.u0_V * np.exp(-((np.asarray(t_s, float) / self.tau_s) ** self.beta))


def retention_trace(
    truth: RetentionTruth = RetentionTruth(),
    art: Artifacts = DEFAULT,
    *,
    seed: int = 0,
    fs_Hz: float = 2_000.0,
    n_pulses: int = 5,
    frequency_Hz: float = 100.0,
    width_s: float = 2e-3,
    amplitude_A: float = 1e-3,
    delay_s: float = 5.0,
    tail_s: float = 30.0,
    jump_V: float = 0.02,
) -> pd.DataFrame:
    """A short train charging to ``u0_V`` then u(t) = u0 exp(-(t/τ)^β) after the last offset."""
    dt = 1 / fs_Hz
    on = delay_s + np.arange(n_pulses) / frequency_Hz
    t_off = on[-1] + width_s
    t = _grid(t_off + tail_s, fs_Hz)
    steps = truth.u0_V * np.arange(1, n_pulses + 1) / n_pulses
    v = _pulse_train_psv(t, on, width_s, np.ones(n_pulses), steps, steps, jump_V, 1e-3, dt)
    k_off = int(round(t_off / dt))
    # Time since the falling edge of the last pulse (its 50 % crossing, half a sample early).
    v[k_off:] = truth.u(t[k_off:] - (t[k_off] - dt / 2))
    i = _current(t, on, width_s, np.ones(n_pulses), amplitude_A, dt)
    return apply_artifacts(t, i, v, art, seed)
