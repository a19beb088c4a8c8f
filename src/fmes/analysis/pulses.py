"""Pulse detection and per-pulse read-out from a current-driven trace.

In the pulse protocols of the raw-trace contract (``raw/README.md``) the current is
applied and the post-synaptic voltage (PSV) measured. Edges are found from the ``current_A``
column itself, never assumed from the manifest, so a user's measured trace with an unknown
baseline offset, timing jitter or non-uniform sampling is read the same way as a synthetic one.

Detection (all vectorised over samples):

1. **Current baseline** = *time-weighted* median of the current. Each sample is weighted by
   the time it represents (half the interval to each neighbour), so the dense sampling inside
   pulses does not outvote the long, sparsely sampled rest periods. Every protocol spends most
   of its *time* at rest (pre-stimulus, gaps, forgetting), which makes this robust to offsets.
2. **Noise scale** = 1.4826 * MAD of the first differences / sqrt(2): differences cancel the
   slow level and edges are too few to move a median.
3. Samples departing from the baseline by more than ``noise_sigmas`` noise scales are pulse
   candidates; none -> :class:`NoPulsesError`. The pulse level is the median |departure| of the
   candidates, and the edge threshold is ``threshold_frac`` (default 0.5, the usual 50 %
   crossing) of that level. Each sample gets a state -1/0/+1; runs of a non-zero state are
   pulses (a direct +/- reversal yields two adjacent pulses).
4. Onset/offset times are linearly interpolated at the threshold crossing between the two
   samples that straddle the edge (robust to jittered time stamps).

Read-out per pulse (PSV in volt):

- ``baseline_psv_V``: mean of the last ``n_read`` rest samples before the onset (within the
  rest run that precedes the pulse; NaN if the trace starts in the pulse).
- ``peak_psv_V``: polarity-signed extreme of the PSV over the samples inside the pulse.
- ``psv_after_V``: mean of the last ``n_read`` samples of the *following gap*, i.e. read just
  before the next onset (the LTP/LTD weight convention of raw/README.md). For the last pulse the
  gap is taken as the median gap of the other pulses (a lone pulse: until the trace ends).
  ``read_delay_s`` instead reads at ``offset + read_delay_s`` (capped at the next onset).

Robust read-out of measured traces (:func:`clean_voltage`, applied before every read). Each
correction is applied only when its detector finds the artifact significant against the trace's
noise, never taken below :func:`noise_floor` (``noise_floor_rel`` x the trace's scale, or its
quantisation); otherwise it leaves the voltage untouched to the last bit. The trace QC says what
was applied (``corrections_applied``, ``skew_applied``, ``glitch_max_repair_V``,
``mains_removed``, ``drift_removed``). Steps (details in docs/methods.md):

1. **Channel skew**: the delay (in samples) of the voltage channel against the current channel
   is the lag ``L`` in ``-max_skew_samples..max_skew_samples`` that maximises the *median over
   current edges* of ``s_e * dV/dt[e + L]`` (``s_e`` = +1 for a rising, -1 for a falling current
   edge, ``dV/dt`` the voltage difference quotient): the cross-correlation of the current edges with
   the voltage derivative, made robust by the median. Lags scoring within the noise (or 5 %) of
   the best are equivalent and the smallest ``|L|`` among them is taken. The voltage is then read
   on the current's time base (``V_corrected[i] = V[i + L]``). A lag on the search limit, or
   +-L equally good, flags the trace.
2. **Glitches**: a sample is a glitch if it departs from the straight line through its two
   neighbours (same rest or pulse run; time-aware) by more than ``glitch_sigmas`` times the noise
   of that difference AND by more than the neighbours differ from each other, and it lies above
   (or below) both. The *last* sample of a run (the peak and the gap-end read) is tested against
   the linear extrapolation of the two samples before it. A glitch is replaced by that line
   (width: one sample each side; nothing else is filtered). The count is reported; more than
   ``glitch_max_fraction`` of the samples flags the trace.
3. **Mains pickup** (``mains_frequency_Hz``, ``null`` = off): a sinusoid of that frequency is
   fitted by linear least squares to windows of two whole mains periods in the pre-stimulus rest
   and in the second (relaxed) half of later rest periods (each window with its own cubic
   background), and subtracted from the whole trace
   (coherent pickup). Only windows sampled at least 8 times per period are used; without any
   (e.g. log-spaced gaps) the mains amplitude is reported as NaN and nothing is subtracted.
4. **Drift**: a straight line is fitted to the pre-stimulus rest; its slope is removed from the
   whole trace when it differs from zero as significantly as ``drift_sigmas`` standard errors
   of a normal variable: a two-sided Student-t test of the slope with n - 2 degrees of freedom
   at that level (with 4 rest samples, 3 sigma would be t > 19, not t > 3: with 2 degrees of
   freedom |t| > 3 happens by chance in about 1 trace in 10, and the slope of a short rest
   extrapolated over a long trace then bends every weight read).
5. **Noise** ``noise_V`` (:func:`rest_noise`): 1.4826 MAD of the second differences of the
   voltage on uniformly sampled stretches of the rest runs, divided by sqrt(1.5): the read noise
   of one sample, never a fit residual. NaN when the rests are too sparsely or non-uniformly
   sampled to tell noise from signal (then the glitch test is off and fits skip the residual
   test, saying so).

The trace-level results (``skew_samples``, ``glitch_count``, ``noise_V``, ``mains_amplitude_V``,
``drift_V_per_s``, ``pre_stimulus_level_V``, ``status``, ``reason``) are in ``pulses.attrs["trace_qc"]``; the cleaned voltage
is returned by :func:`read_pulses`. Each pulse row carries ``status``/``reason`` (fmes.core.status):
a pulse not longer than the skew, without a rest sample before it, or whose PSV keeps rising
after the current stops (the peak lies outside the pulse: skew beyond the search range) has that
read NaN and status ``failed``; every pulse of a flagged trace is ``flagged``.

A trace that **ends mid-pulse** (documented partial result): the last pulse is returned with
``complete = False``, ``offset_s``/``width_s``/``psv_after_V`` NaN and its peak over the samples
available; ``partial="drop"`` removes it and ``partial="raise"`` raises
:class:`PartialPulseError`. A trace that *starts* inside a pulse is treated the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from fmes.core.status import Status, join_reasons

__all__ = [
    "NoPulsesError",
    "PartialPulseError",
    "PulseReadout",
    "clean_voltage",
    "current_baseline",
    "detect_pulses",
    "estimate_skew",
    "find_glitches",
    "fit_mains",
    "noise_floor",
    "noise_sigma",
    "read_pulses",
    "rest_noise",
    "time_weights",
]


class NoPulsesError(ValueError):
    """The current never departs from its baseline by more than the noise threshold."""


class PartialPulseError(ValueError):
    """A pulse is cut by the start or the end of the trace and ``partial="raise"``."""


def time_weights(time_s: np.ndarray) -> np.ndarray:
    """Duration each sample represents: half the interval to each neighbour (seconds)."""
    t = np.asarray(time_s, dtype=float)
    if t.size < 2:
        return np.ones_like(t)
    dt = np.diff(t)
    w = np.empty_like(t)
    w[0] = dt[0] / 2
    w[-1] = dt[-1] / 2
    w[1:-1] = (dt[:-1] + dt[1:]) / 2
    return w


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cw, 0.5 * cw[-1])])


def current_baseline(time_s: np.ndarray, current_A: np.ndarray) -> float:
    """Time-weighted median of the current (the rest level), in ampere."""
    return _weighted_median(np.asarray(current_A, float), time_weights(time_s))


def noise_sigma(signal: np.ndarray) -> float:
    """Robust white-noise standard deviation from the MAD of first differences."""
    d = np.diff(np.asarray(signal, dtype=float))
    if d.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def _mad_sigma(x: np.ndarray) -> float:
    """1.4826 x the median absolute deviation: the Gaussian sigma, robust to outliers."""
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else np.nan


def rest_noise(
    time_s: np.ndarray, voltage_V: np.ndarray, run_id: np.ndarray, rest: np.ndarray
) -> float:
    """Read noise (V) of one sample from the rest periods, never from a fit residual.

    Each interior rest sample is compared with the straight line through its two neighbours;
    only uniformly sampled stretches count (neighbour intervals equal within 1 %), where that
    line follows any smooth signal. Noise = 1.4826 MAD of these residuals / sqrt(1.5). NaN with
    fewer than 8 such samples (e.g. log-spaced gaps, where signal and noise cannot be told apart).
    """
    t, v = np.asarray(time_s, float), np.asarray(voltage_V, float)
    if t.size < 3:
        return np.nan
    i = np.arange(1, t.size - 1)
    dl, dr = t[i] - t[i - 1], t[i + 1] - t[i]
    use = (
        rest[i - 1]
        & rest[i]
        & rest[i + 1]
        & (run_id[i - 1] == run_id[i])
        & (run_id[i + 1] == run_id[i])
        & (np.abs(dl - dr) <= 0.01 * np.maximum(dl, dr))
    )
    if use.sum() < 8:
        return np.nan
    j = i[use]
    resid = v[j] - 0.5 * (v[j - 1] + v[j + 1])
    return _mad_sigma(resid) / np.sqrt(1.5)


def noise_floor(voltage_V: np.ndarray, rel: float) -> float:
    """The smallest voltage difference a trace can resolve (V): ``rel`` x its scale (the largest
    departure from its median) or the rms of its quantisation (smallest non-zero step / sqrt 12),
    whichever is larger. Significance tests use max(noise, floor): on a noise-free or
    very-low-noise trace the noise estimate is ~0 and every deviation would be "significant"."""
    v = np.asarray(voltage_V, float)
    if v.size < 2:
        return 0.0
    scale = float(np.max(np.abs(v - np.median(v))))
    steps = np.abs(np.diff(v))
    steps = steps[steps > 0]
    quantum = float(steps.min()) / np.sqrt(12.0) if steps.size else 0.0
    return max(rel * scale, quantum)


def _crossing_time(t0, t1, y0, y1, level):
    """Linear interpolation of the time where |y| crosses ``level`` between two samples."""
    denom = y1 - y0
    frac = np.where(denom != 0, (level - y0) / np.where(denom != 0, denom, 1.0), 0.5)
    return t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)


def skew_scores(
    voltage_V: np.ndarray,
    edge_index: np.ndarray,
    edge_sign: np.ndarray,
    max_lag: int,
    time_s: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Lags ``-max_lag..max_lag`` and their scores: median over edges of ``s_e dV/dt[e + L]``.

    ``time_s`` None means unit steps (scores in volt per sample)."""
    dv = np.diff(np.asarray(voltage_V, float))
    if time_s is not None:
        dv = dv / np.diff(np.asarray(time_s, float))
    lags = np.arange(-max_lag, max_lag + 1)
    idx = edge_index[:, None] + lags[None, :]
    valid = (idx >= 0) & (idx < dv.size)
    steps = np.where(valid, edge_sign[:, None] * dv[np.clip(idx, 0, dv.size - 1)], np.nan)
    score = _column_nanmedian(steps)
    return lags, np.where(np.isfinite(score), score, -np.inf)


def _column_nanmedian(values: np.ndarray) -> np.ndarray:
    """``np.nanmedian(values, axis=0)`` (NaN for an all-NaN column) by one sort: numpy's
    nanmedian loops over the columns in Python when any value is NaN."""
    ordered = np.sort(values, axis=0)  # NaN sort last
    count = (~np.isnan(values)).sum(axis=0)
    cols = np.arange(values.shape[1])
    lo = ordered[np.maximum((count - 1) // 2, 0), cols]
    hi = ordered[np.maximum(count // 2, 0), cols]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (lo + hi) / 2, np.nan)


def estimate_skew(
    voltage_V: np.ndarray,
    edge_index: np.ndarray,
    edge_sign: np.ndarray,
    max_lag: int,
    time_s: np.ndarray | None = None,
) -> tuple[int, float, float]:
    """Lag (samples) of the voltage behind the current edges; see the module docstring.

    ``edge_index`` are first-difference indices of the current edges (the current changes
    between sample ``e`` and ``e + 1``), ``edge_sign`` +1/-1. Returns ``(lag, best_score,
    runner_up_score)`` (medians of the signed voltage derivative, V/s; V per sample without
    ``time_s``).
    """
    if max_lag <= 0 or edge_index.size == 0:
        return 0, np.nan, np.nan
    return _best_lag(*skew_scores(voltage_V, edge_index, edge_sign, max_lag, time_s))


def _best_lag(lags: np.ndarray, score: np.ndarray) -> tuple[int, float, float]:
    """:func:`estimate_skew` from the lags' scores."""
    if not np.isfinite(score).any():
        return 0, np.nan, np.nan
    # Ties (equal to 1e-9 relative) go to the smaller |lag|.
    top = np.nanmax(score)
    tied = np.flatnonzero(score >= top - 1e-9 * abs(top))
    best = int(tied[np.argmin(np.abs(lags[tied]))])
    rest = np.delete(score, best)
    return int(lags[best]), float(score[best]), float(np.nanmax(rest)) if rest.size else np.nan


def _line_test(t, v, ia, ib, ic, sigma, glitch_sigmas):
    """Deviation of v[ia] from the line through (t[ib], v[ib]) and (t[ic], v[ic]), its noise
    scale, and the change of the line between b and c projected to a (the local step)."""
    tb, tc, ta = t[ib], t[ic], t[ia]
    w = (ta - tb) / np.where(tc != tb, tc - tb, 1.0)
    pred = v[ib] + w * (v[ic] - v[ib])
    dev = v[ia] - pred
    scale = sigma * np.sqrt(1.0 + (1.0 - w) ** 2 + w**2)
    return dev, pred, scale


def _slope(t: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Difference quotient between samples ``a`` and ``b`` (0 where they coincide)."""
    dt = t[b] - t[a]
    return np.where(dt != 0, (v[b] - v[a]) / np.where(dt != 0, dt, 1.0), 0.0)


def _interior_curvature(
    t: np.ndarray, v: np.ndarray, run_id: np.ndarray, i: np.ndarray
) -> np.ndarray:
    """Largest departure of sample ``i`` from the line through its neighbours that the smooth
    signal itself can explain (V): the slope change from (i-2, i-1) to (i+1, i+2), samples that
    exclude ``i``, times the local step. For a smooth curve this is 6x the curvature term of the
    centred test, so ordinary curvature (a fast decay, a rounded extremum at coarse sampling) is
    never a glitch, however small the noise; 0 where i +- 2 leave the run (no guard)."""
    n = v.size
    lo, hi = np.maximum(i - 2, 0), np.minimum(i + 2, n - 1)
    ok = (i >= 2) & (i <= n - 3) & (run_id[lo] == run_id[i]) & (run_id[hi] == run_id[i])
    change = np.abs(_slope(t, v, i + 1, hi) - _slope(t, v, lo, i - 1))
    return np.where(ok, change * (t[np.minimum(i + 1, n - 1)] - t[i - 1]) / 2, 0.0)


def _run_end_curvature(
    t: np.ndarray, v: np.ndarray, run_id: np.ndarray, last: np.ndarray
) -> np.ndarray:
    """The same guard for the last sample of a run, tested by extrapolation: 3x the slope change
    over the three samples before it, times the last step (an accelerating smooth rise departs
    from the extrapolation by about one such change); 0 for runs shorter than four samples."""
    lo = np.maximum(last - 3, 0)
    ok = (last >= 3) & (run_id[lo] == run_id[last])
    change = np.abs(_slope(t, v, last - 2, last - 1) - _slope(t, v, lo, last - 2))
    return np.where(ok, 3.0 * change * (t[last] - t[last - 1]), 0.0)


def find_glitches(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    run_id: np.ndarray,
    sigma_V: float,
    glitch_sigmas: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Single-sample glitches (indices) and their replacement values; see the module docstring.

    ``run_id`` labels the rest/pulse run of each sample: a sample is only compared with
    neighbours of its own run, so the PSV jump at a current edge is never taken for a glitch.
    """
    t = np.asarray(time_s, float)
    v = np.asarray(voltage_V, float)
    n = v.size
    if n < 3 or not glitch_sigmas or not np.isfinite(sigma_V) or sigma_V <= 0:
        return np.empty(0, int), np.empty(0)
    i = np.arange(1, n - 1)
    same_l = run_id[i - 1] == run_id[i]
    same_r = run_id[i + 1] == run_id[i]
    # Interior samples: centred test + same-side condition (a spike, not a step or a kink).
    dev, pred, scale = _line_test(t, v, i, i - 1, i + 1, sigma_V, glitch_sigmas)
    spread = np.abs(v[i + 1] - v[i - 1])
    spike = np.sign(v[i] - v[i - 1]) == np.sign(v[i] - v[i + 1])
    inner = same_l & same_r & spike & (np.abs(dev) > glitch_sigmas * scale) & (np.abs(dev) > spread)
    inner &= np.abs(dev) > _interior_curvature(t, v, run_id, i)
    hits = [i[inner]]
    values = [pred[inner]]
    # Last sample of a run (peak, gap-end read): extrapolate the two samples before it, after
    # the interior glitches are repaired (a glitch just before must not condemn the read).
    v = v.copy()
    v[i[inner]] = pred[inner]
    last = np.flatnonzero(run_id[1:] != run_id[:-1])  # last index of each run but the final one
    last = np.append(last, n - 1)
    last = last[last >= 2]
    last = last[(run_id[last - 1] == run_id[last]) & (run_id[last - 2] == run_id[last])]
    if last.size:
        dev2, pred2, scale2 = _line_test(t, v, last, last - 2, last - 1, sigma_V, glitch_sigmas)
        step = np.abs(pred2 - v[last - 1])
        hit2 = (np.abs(dev2) > glitch_sigmas * scale2) & (np.abs(dev2) > step)
        hit2 &= np.abs(dev2) > _run_end_curvature(t, v, run_id, last)
        hits.append(last[hit2])
        values.append(pred2[hit2])
    idx = np.concatenate(hits)
    order = np.argsort(idx)
    return idx[order], np.concatenate(values)[order]


def fit_mains(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    rest_runs: np.ndarray | list[tuple[int, int]],
    frequency_Hz: float,
    *,
    max_windows: int = 24,
) -> tuple[float, float, float]:
    """Coherent mains pickup ``a sin(2 pi f t) + b cos(2 pi f t)`` from rest windows.

    Windows of two whole periods from the pre-stimulus rest and from the second (relaxed) half
    of every later rest run ``[start, stop)``, tiled back from its end, each sampled >= 8 times
    per period, with a cubic background of their own. Returns ``(a, b, amplitude_stderr)`` in volt;
    NaN when no window qualifies. The standard error is the larger of the least-squares one and
    that of the amplitude's scatter over the windows (:func:`_window_scatter`); infinite with a
    single window after a pulse (pickup and relaxation cannot be told apart there).
    """
    t = np.asarray(time_s, float)
    v = np.asarray(voltage_V, float)
    period = 1.0 / frequency_Hz
    span = 2.0 * period
    windows = []
    runs = np.asarray(rest_runs, dtype=int).reshape(-1, 2)
    if not runs.size:
        return np.nan, np.nan, np.nan
    run_a, run_b = runs.T
    # after a pulse only the relaxed second half of the rest (all runs at once: a campaign's
    # short, sparsely sampled gaps all fail the length test below without a Python loop)
    half = (np.arange(run_a.size) > 0) | (run_a > 0)
    run_a = np.where(half, np.searchsorted(t, (t[run_a] + t[run_b - 1]) / 2), run_a)
    long_enough = (run_b - run_a >= 16) & (t[run_b - 1] - t[np.minimum(run_a, t.size - 1)] >= span)
    for a, b in zip(run_a[long_enough].tolist(), run_b[long_enough].tolist(), strict=True):
        n_win = int(max(1, min(8, (t[b - 1] - t[a]) // span)))
        for k in range(n_win):
            t_hi = t[b - 1] - k * span
            lo = int(np.searchsorted(t, t_hi - span, side="left"))
            hi = int(np.searchsorted(t, t_hi, side="right"))
            if hi - lo >= 16 and np.max(np.diff(t[lo:hi])) <= period / 8:
                windows.append((lo, hi))
    if not windows:
        return np.nan, np.nan, np.nan
    if len(windows) > max_windows:
        windows = [windows[j] for j in np.linspace(0, len(windows) - 1, max_windows).astype(int)]
    rows = np.concatenate([np.arange(lo, hi) for lo, hi in windows])
    n_col = 2 + 4 * len(windows)
    design = np.zeros((rows.size, n_col))
    tt = t[rows]
    design[:, 0] = np.sin(2 * np.pi * frequency_Hz * tt)
    design[:, 1] = np.cos(2 * np.pi * frequency_Hz * tt)
    r0 = 0
    for w, (lo, hi) in enumerate(windows):
        x = (t[lo:hi] - t[lo:hi].mean()) / span
        design[r0 : r0 + hi - lo, 2 + 4 * w : 6 + 4 * w] = np.vander(x, 4)
        r0 += hi - lo
    coef, *_ = np.linalg.lstsq(design, v[rows], rcond=None)
    resid = v[rows] - design @ coef
    dof = max(rows.size - n_col, 1)
    s2 = float(resid @ resid) / dof
    try:
        cov = s2 * np.linalg.inv(design.T @ design)[:2, :2]
        se = float(np.sqrt(max((cov[0, 0] + cov[1, 1]) / 2, 0.0)))
    except np.linalg.LinAlgError:
        se = np.nan
    scatter = _window_scatter(design, v[rows], windows, coef)
    pre_end = int(runs[0, 1]) if runs[0, 0] == 0 else 0
    if len(windows) == 1 and windows[0][1] > pre_end:
        # one window after a pulse: pickup cannot be told from relaxation (not significant)
        scatter = np.inf
    return float(coef[0]), float(coef[1]), max(se, scatter)


def _window_scatter(
    design: np.ndarray, v_rows: np.ndarray, windows: list[tuple[int, int]], coef: np.ndarray
) -> float:
    """Standard error of the mains amplitude from its scatter over the windows (V; 0 with fewer
    than 2 windows): each window fitted alone, projected on the common phase. Coherent pickup
    has the same amplitude in every window; relaxation left over by the cubic backgrounds
    (a clean trace) differs from window to window and is then not significant."""
    if len(windows) < 2 or not np.hypot(coef[0], coef[1]) > 0:
        return 0.0
    unit = coef[:2] / np.hypot(coef[0], coef[1])
    proj, r0 = [], 0
    for w, (lo, hi) in enumerate(windows):
        cols = [0, 1, *range(2 + 4 * w, 6 + 4 * w)]
        sub, *_ = np.linalg.lstsq(design[r0 : r0 + hi - lo, cols], v_rows[r0 : r0 + hi - lo], None)
        proj.append(sub[:2] @ unit)
        r0 += hi - lo
    return float(np.std(proj, ddof=1) / np.sqrt(len(proj)))


@dataclass
class PulseReadout:
    """What :func:`read_pulses` returns: the pulse table, the trace QC and the cleaned PSV.

    ``columns`` holds the pulse table as arrays (one per column, in table order); ``pulses``
    frames them on first use. Per-trace steps of a large campaign read ``columns``: framing the
    table costs more than the read-out of a short trace.
    """

    columns: dict[str, np.ndarray]
    trace_qc: dict[str, object] = field(default_factory=dict)
    voltage_clean_V: np.ndarray | None = None
    _frame: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def pulses(self) -> pd.DataFrame:
        """The pulse table (one row per pulse; see :func:`read_pulses`)."""
        if self._frame is None:
            self._frame = pd.DataFrame(self.columns)
        return self._frame


def clean_voltage(
    time_s: np.ndarray,
    voltage_V: np.ndarray,
    state: np.ndarray,
    *,
    max_skew_samples: int = 5,
    glitch_sigmas: float = 8.0,
    glitch_max_fraction: float = 0.005,
    mains_frequency_Hz: float | None = 50.0,
    drift_sigmas: float = 3.0,
    skew_sigmas: float = 3.0,
    mains_sigmas: float = 3.0,
    noise_floor_rel: float = 1e-6,
) -> tuple[np.ndarray, dict[str, object]]:
    """Skew-corrected, deglitched, mains- and drift-free PSV plus the trace QC values.

    ``state`` is the per-sample pulse state (-1/0/+1) found from the current. See the module
    docstring for each step and its documented width/threshold. Each correction is applied only
    when its detector finds the artifact significant against the trace's noise (floored by
    :func:`noise_floor`); otherwise it leaves the voltage untouched to the last bit.
    """
    t = np.asarray(time_s, float)
    v_in = np.asarray(voltage_V, float)
    v = v_in.copy()
    n = v.size
    reasons: list[str] = []
    change = np.flatnonzero(np.diff(state) != 0)
    sign = np.sign(np.diff(state)[change]).astype(float)
    run_id = np.concatenate(([0], np.cumsum(np.diff(state) != 0)))
    sigma = rest_noise(t, v, run_id, state == 0)
    floor = noise_floor(v, noise_floor_rel)
    # the noise every significance test uses: the measured one, never below the resolution
    sig = max(float(np.nan_to_num(sigma)), floor)
    lag, best = _channel_skew(
        t, v, change, sign, sig, max_skew_samples, reasons, skew_sigmas=skew_sigmas
    )
    v = _shift_samples(v, lag)
    # the glitch test stays off where the rests cannot tell noise from signal (noise NaN)
    g_idx, g_val = find_glitches(t, v, run_id, sig if np.isfinite(sigma) else np.nan, glitch_sigmas)
    repaired = np.zeros(n, bool)
    repaired[g_idx] = True
    repair_V = float(np.max(np.abs(g_val - v[g_idx]))) if g_idx.size else 0.0
    v[g_idx] = g_val
    if n and g_idx.size > glitch_max_fraction * n:
        reasons.append(
            f"{g_idx.size} glitches ({100 * g_idx.size / n:.2g} % of samples, limit "
            f"{100 * glitch_max_fraction:.2g} %)"
        )
    starts = np.concatenate(([0], change + 1))
    stops = np.concatenate((change + 1, [n]))
    # [start, stop) of each rest run, one row each (a trace of a campaign has hundreds)
    at_rest = state[starts] == 0
    rest_runs = np.column_stack((starts[at_rest], stops[at_rest]))
    v, mains_amp, mains_se, mains_removed = _remove_mains(
        t, v, rest_runs, mains_frequency_Hz, mains_sigmas, sig
    )
    v, drift, drift_se, drift_removed = _remove_drift(t, v, rest_runs, drift_sigmas, floor)
    pre = int(rest_runs[0, 1]) if len(rest_runs) and rest_runs[0, 0] == 0 else 0
    applied = {
        "skew": lag != 0,
        "glitches": bool(g_idx.size),
        "mains": mains_removed,
        "drift": drift_removed,
    }
    qc = {
        "n_samples": n,
        # Median of the cleaned pre-stimulus rest: the reference level of retention curves.
        "pre_stimulus_level_V": float(np.median(v[:pre])) if pre else np.nan,
        "skew_samples": lag,
        "skew_applied": lag != 0,
        "skew_score_V_per_s": best,
        "noise_V": float(sigma),
        "noise_floor_V": float(floor),
        "glitch_count": int(g_idx.size),
        "glitch_max_repair_V": repair_V,
        "mains_amplitude_V": mains_amp,
        "mains_amplitude_stderr_V": mains_se,
        "mains_removed": mains_removed,
        "drift_V_per_s": drift,
        "drift_stderr_V_per_s": drift_se,
        "drift_removed": drift_removed,
        "corrections_applied": ";".join(k for k, on in applied.items() if on),
        # every reason above flags the trace (the skew and glitch checks)
        "status": str(Status.FLAGGED if reasons else Status.OK),
        "reason": join_reasons(reasons),
    }
    qc["_repaired"] = repaired  # internal: samples replaced as glitches
    return v, qc


def _channel_skew(
    t: np.ndarray,
    v: np.ndarray,
    change: np.ndarray,
    sign: np.ndarray,
    sigma: float,
    max_skew_samples: int,
    reasons: list[str],
    *,
    skew_sigmas: float = 3.0,
) -> tuple[int, float]:
    """Robust read-out step 1: the lag (samples) to correct and the best score (V/s).

    Lags scoring within ``skew_sigmas`` noise scales of a median step (or 5 %) of the best are
    equivalent (a capacitive response without an ohmic jump scores alike over its ramp): the
    smallest |lag| among them is taken, so a lag is only corrected when it beats lag 0
    significantly, and only when the voltage does not respond before it (every lag from 0
    towards it scores below a quarter of the best); +-L both equivalent is ambiguous -> no correction. Either that or a
    lag on the search limit appends its reason to ``reasons`` (the trace is flagged).
    """
    if not (max_skew_samples > 0 and change.size):
        return 0, np.nan
    # the scores once: estimate_skew's choice and the equivalence test below both read them
    lags, scores = skew_scores(v, change, sign, max_skew_samples, t)
    lag, best, _runner = _best_lag(lags, scores)
    if not np.isfinite(best):
        return lag, best
    dt_edge = float(np.median(np.diff(t)[change])) if change.size else 1.0
    noise_step = skew_sigmas * np.sqrt(2.0) * 1.25 * np.nan_to_num(sigma) / np.sqrt(change.size)
    noise_step /= dt_edge
    near = lags[scores >= best - max(noise_step, 0.05 * abs(best))]
    smallest = int(np.min(np.abs(near)))
    if smallest > 0 and smallest in near and -smallest in near:
        reasons.append(f"channel skew ambiguous (+-{smallest} samples): no correction applied")
        lag = 0
    else:
        lag = int(near[np.argmin(np.abs(near))])
    # A delayed channel shows no response before its lag: a lag is only corrected when every
    # lag from 0 towards it scores below a quarter of the best. A voltage already changing at the edge
    # (a ramp without an ohmic jump, a relaxation that speeds up after the offset) is not skew.
    before = (lags * np.sign(lag) >= 0) & (np.abs(lags) < abs(lag))
    if lag and np.any(scores[before] >= 0.25 * best):
        lag = 0
    if abs(lag) == max_skew_samples:
        reasons.append(f"channel skew at the search limit ({lag} samples; raise max_skew_samples)")
    return lag, best


def _shift_samples(v: np.ndarray, lag: int) -> np.ndarray:
    """The voltage on the current's time base: ``out[i] = v[i + lag]``, the end sample repeated
    where the shift runs out of samples."""
    if lag > 0:
        return np.concatenate((v[lag:], np.full(lag, v[-1])))
    if lag < 0:
        return np.concatenate((np.full(-lag, v[0]), v[:lag]))
    return v


def _remove_mains(
    t: np.ndarray,
    v: np.ndarray,
    rest_runs: np.ndarray,
    frequency_Hz: float | None,
    mains_sigmas: float,
    sigma_V: float,
) -> tuple[np.ndarray, float, float, bool]:
    """Robust read-out step 3: the voltage minus the coherent mains pickup fitted on the rests
    when it is significant, its amplitude (V), standard error (NaN when off or no rest window is
    usable) and whether it was removed.

    Removed only when the amplitude exceeds ``mains_sigmas`` x its standard error AND x the
    single-sample noise ``sigma_V``: on a clean trace the unmodelled relaxation left in the rest
    windows projects onto the sinusoid with a small, "significant" amplitude, and a pickup below
    the read noise moves no read beyond its own noise."""
    amplitude = stderr = np.nan
    if not frequency_Hz:
        return v, amplitude, stderr, False
    a, b, stderr = fit_mains(t, v, rest_runs, frequency_Hz)
    if not np.isfinite(a):
        return v, amplitude, stderr, False
    amplitude = float(np.hypot(a, b))
    limit = mains_sigmas * max(0.0 if np.isnan(stderr) else stderr, sigma_V)
    if not amplitude > limit:
        return v, amplitude, stderr, False
    phase = 2 * np.pi * frequency_Hz * t
    return v - a * np.sin(phase) - b * np.cos(phase), amplitude, stderr, True


def _remove_drift(
    t: np.ndarray,
    v: np.ndarray,
    rest_runs: np.ndarray,
    drift_sigmas: float,
    floor_V: float,
) -> tuple[np.ndarray, float, float, bool]:
    """Robust read-out step 4: the voltage without the pre-stimulus rest's linear drift when the
    slope is significant at ``drift_sigmas`` (a Student-t test, see the module docstring) and
    the drift over the trace exceeds ``drift_sigmas`` x the resolution floor ``floor_V`` (a
    noise-free rest has a slope of ~1e-20 V/s with a standard error of ~1e-22: "significant",
    and meaningless);
    the slope (V/s), its standard error and whether it was removed."""
    drift = drift_se = np.nan
    n = v.size
    if not (
        len(rest_runs) and rest_runs[0, 0] == 0 and rest_runs[0, 1] >= 4 and n > rest_runs[0, 1]
    ):
        return v, drift, drift_se, False
    b0 = int(rest_runs[0, 1])
    tt = t[:b0] - t[:b0].mean()
    if not np.ptp(tt) > 0:
        return v, drift, drift_se, False
    (slope, _icpt), cov = np.polyfit(tt, v[:b0], 1, cov=True)
    drift, drift_se = float(slope), float(np.sqrt(cov[0, 0]))
    # the t quantile of the normal level of drift_sigmas (few rest samples: heavy tails)
    t_crit = _t_critical(drift_sigmas, b0 - 2) if drift_sigmas else np.inf
    span_s = float(t[-1] - t[0])
    if abs(drift) > t_crit * drift_se and abs(drift) * span_s > drift_sigmas * floor_V:
        return v - drift * (t - t[b0 - 1]), drift, drift_se, True
    return v, drift, drift_se, False


@lru_cache(maxsize=256)
def _t_critical(sigmas: float, dof: int) -> float:
    """The Student-t quantile (``dof`` degrees of freedom) of the normal level ``sigmas``;
    cached: scipy's distribution calls cost more than the rest of a short trace's drift test,
    and a campaign's traces share a handful of pre-stimulus lengths. scipy.stats is imported
    here, on first use: its import costs about half a CPU second, and the edge detection alone
    (validation jobs) never needs it."""
    from scipy import stats

    return stats.t.ppf(stats.norm.cdf(sigmas), dof)


def detect_pulses(
    time_s: np.ndarray,
    current_A: np.ndarray,
    psv_V: np.ndarray | None = None,
    **kwargs,
) -> pd.DataFrame:
    """The pulse table of :func:`read_pulses` (trace QC in ``.attrs["trace_qc"]``)."""
    readout = read_pulses(time_s, current_A, psv_V, **kwargs)
    readout.pulses.attrs["trace_qc"] = readout.trace_qc
    return readout.pulses


def read_pulses(
    time_s: np.ndarray,
    current_A: np.ndarray,
    psv_V: np.ndarray | None = None,
    *,
    threshold_frac: float = 0.5,
    noise_sigmas: float = 6.0,
    n_read: int = 1,
    read_delay_s: float | None = None,
    partial: str = "flag",
    max_skew_samples: int = 5,
    glitch_sigmas: float = 8.0,
    glitch_max_fraction: float = 0.005,
    mains_frequency_Hz: float | None = 50.0,
    drift_sigmas: float = 3.0,
    skew_sigmas: float = 3.0,
    mains_sigmas: float = 3.0,
    noise_floor_rel: float = 1e-6,
) -> PulseReadout:
    """Find current pulses and read the PSV around each (see the module docstring).

    Parameters
    ----------
    time_s, current_A, psv_V
        Trace columns (time strictly increasing). ``psv_V`` may be None for edges only.
    threshold_frac
        Edge threshold as a fraction of the pulse level (0.5 = half-amplitude crossing).
    noise_sigmas
        Departure from the baseline, in robust noise sigmas, that marks a pulse candidate.
    n_read
        Number of samples averaged for the baseline and the after-pulse read-out (default 1:
        gaps are often sampled log-spaced, so earlier samples lie far back in the decay).
    read_delay_s
        If given, read ``psv_after_V`` at ``offset + read_delay_s`` instead of the gap end.
    partial
        ``"flag"`` (default), ``"drop"`` or ``"raise"`` for pulses cut by the trace ends.
    max_skew_samples, glitch_sigmas, glitch_max_fraction, mains_frequency_Hz, drift_sigmas
        Robust read-out settings (:func:`clean_voltage`); 0 / None switches a step off.
    skew_sigmas, mains_sigmas, noise_floor_rel
        Significance of a skew lag against lag 0 and of the mains amplitude (in noise scales),
        and the noise floor relative to the trace's scale (:func:`noise_floor`).

    Returns
    -------
    :class:`PulseReadout`: ``pulses`` has one row per pulse: ``pulse_index, polarity, onset_s,
    offset_s, width_s, amplitude_A, current_baseline_A, baseline_psv_V, peak_psv_V,
    psv_after_V, read_time_s, complete, status, reason``.

    Raises
    ------
    NoPulsesError
        If no sample departs from the baseline by more than the threshold.
    """
    t = np.asarray(time_s, dtype=float)
    i_raw = np.asarray(current_A, dtype=float)
    n = t.size
    _check_read_arguments(n, partial)
    base_A, dev, thr, state = _pulse_state(t, i_raw, threshold_frac, noise_sigmas)
    runs = _pulse_runs(state)
    onset, offset = _edge_times(t, dev, runs, thr)
    # the columns are collected first and framed once (inserting columns one by one into a
    # DataFrame costs more than the whole read-out of a short trace)
    out = _edge_columns(i_raw, runs, onset, offset, base_A)
    qc: dict[str, object] = {"n_samples": n, "n_pulses": int(runs.i0.size)}
    v_clean = None
    status = np.full(runs.i0.size, str(Status.OK), dtype=object)
    reason = np.full(runs.i0.size, "", dtype=object)
    if psv_V is not None:
        clean_settings = {
            "max_skew_samples": max_skew_samples,
            "glitch_sigmas": glitch_sigmas,
            "glitch_max_fraction": glitch_max_fraction,
            "mains_frequency_Hz": mains_frequency_Hz,
            "drift_sigmas": drift_sigmas,
            "skew_sigmas": skew_sigmas,
            "mains_sigmas": mains_sigmas,
            "noise_floor_rel": noise_floor_rel,
        }
        v_clean, vqc, reads = _psv_columns(
            t,
            psv_V,
            state,
            runs,
            (onset, offset),
            n_read,
            read_delay_s,
            clean_settings,
            status,
            reason,
        )
        qc |= vqc
        out |= reads
    out["complete"] = runs.complete
    out["status"] = status
    out["reason"] = reason
    return PulseReadout(_handle_partial(out, runs, partial), qc, v_clean)


def _check_read_arguments(n_samples: int, partial: str) -> None:
    """A trace of fewer than 3 samples holds no pulse; ``partial`` must be a known mode."""
    if n_samples < 3:
        raise NoPulsesError(f"no pulses: trace has only {n_samples} samples")
    if partial not in {"flag", "drop", "raise"}:
        raise ValueError(f"partial must be 'flag', 'drop' or 'raise', got {partial!r}")


def _edge_columns(
    i_raw: np.ndarray, runs: _PulseRuns, onset: np.ndarray, offset: np.ndarray, base_A: float
) -> dict[str, np.ndarray]:
    """The current-only columns of the pulse table: index, polarity, edges, width, amplitude
    and the current baseline."""
    return {
        "pulse_index": np.arange(runs.i0.size),
        "polarity": runs.polarity,
        "onset_s": onset,
        "offset_s": offset,
        "width_s": offset - onset,
        "amplitude_A": _pulse_amplitude_A(i_raw, runs, base_A),
        "current_baseline_A": np.full(runs.i0.size, base_A),
    }


def _psv_columns(
    t: np.ndarray,
    psv_V: np.ndarray,
    state: np.ndarray,
    runs: _PulseRuns,
    edges: tuple[np.ndarray, np.ndarray],
    n_read: int,
    read_delay_s: float | None,
    clean_settings: dict[str, Any],
    status: np.ndarray,
    reason: np.ndarray,
) -> tuple[np.ndarray, dict[str, object], dict[str, np.ndarray]]:
    """Clean the PSV (:func:`clean_voltage` with ``clean_settings``) and read it around each
    pulse; returns (cleaned PSV, trace QC, read-out columns).

    Updates ``status``/``reason`` in place: unreliable reads are blanked and failed, and every
    other read of a flagged trace carries the trace's flag.
    """
    v_clean, vqc = clean_voltage(t, psv_V, state, **clean_settings)
    repaired = vqc.pop("_repaired")
    onset, offset = edges
    reads, baseline_start = _read_psv(t, v_clean, state, runs, onset, offset, n_read, read_delay_s)
    checks = _unreliable_reads(
        v_clean,
        runs,
        reads["peak_psv_V"],
        baseline_start,
        repaired,
        vqc,
        clean_settings["max_skew_samples"],
    )
    _fail_reads(reads, status, reason, checks)
    if vqc["status"] != Status.OK:
        # every read of a flagged trace carries the trace's flag (failed reads stay failed)
        keep = status == str(Status.OK)
        status[keep] = vqc["status"]
        reason[keep] = vqc["reason"]
    return v_clean, vqc, reads


@dataclass(frozen=True)
class _PulseRuns:
    """Where the pulses lie: sample ranges ``[i0, i1)``, polarity, the rest run before each."""

    n_samples: int
    i0: np.ndarray  # first sample of each pulse
    i1: np.ndarray  # one past its last sample
    polarity: np.ndarray  # +1 / -1
    rest_start: np.ndarray  # first sample of the rest run before the pulse (i0 if none)

    @property
    def starts_cut(self) -> np.ndarray:
        """Pulses already on at the first sample (their onset is unknown)."""
        return self.i0 == 0

    @property
    def ends_cut(self) -> np.ndarray:
        """Pulses still on at the last sample (their offset is unknown)."""
        return self.i1 == self.n_samples

    @property
    def complete(self) -> np.ndarray:
        return ~(self.starts_cut | self.ends_cut)

    @property
    def next_i0(self) -> np.ndarray:
        """First sample of the next pulse (the trace length after the last one)."""
        return np.append(self.i0[1:], self.n_samples)


def _pulse_state(
    t: np.ndarray, current_A: np.ndarray, threshold_frac: float, noise_sigmas: float
) -> tuple[float, np.ndarray, float, np.ndarray]:
    """Detection steps 1-3: the baseline (A), the departure from it (A), the edge threshold (A)
    and each sample's state -1/0/+1.

    The pulse level is taken from the candidates (samples departing by more than the noise),
    so the threshold is a fraction of the pulse height whatever the baseline offset.
    """
    base_A = current_baseline(t, current_A)
    dev = current_A - base_A
    sigma = noise_sigma(current_A)
    # Noise-free synthetic traces have sigma == 0: fall back to a tiny relative floor.
    floor = max(noise_sigmas * sigma, 1e-9 * float(np.max(np.abs(dev))), 1e-300)
    cand = np.abs(dev) > floor
    if not cand.any():
        raise NoPulsesError(
            f"no pulses: current never departs from its baseline {base_A:.4g} A by more than "
            f"{floor:.3g} A ({noise_sigmas:g} robust noise sigmas)"
        )
    level = float(np.median(np.abs(dev[cand])))
    thr = threshold_frac * level
    state = (np.sign(dev) * (np.abs(dev) > thr)).astype(np.int8)
    return base_A, dev, thr, state


def _pulse_runs(state: np.ndarray) -> _PulseRuns:
    """Runs of a non-zero state are pulses (a direct +/- reversal gives two adjacent pulses)."""
    n = state.size
    change = np.flatnonzero(np.diff(state) != 0) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [n]))
    run_state = state[starts]
    is_pulse = run_state != 0
    if not is_pulse.any():
        raise NoPulsesError("no pulses: no run of samples above the edge threshold")
    i0 = starts[is_pulse]
    # Rest run before each pulse starts where the previous run ended (0 if it is a pulse).
    run_idx = np.flatnonzero(is_pulse)
    prev_is_rest = np.zeros(run_idx.size, bool)
    prev_is_rest[run_idx > 0] = ~is_pulse[run_idx[run_idx > 0] - 1]
    return _PulseRuns(
        n_samples=n,
        i0=i0,
        i1=stops[is_pulse],
        polarity=run_state[is_pulse].astype(int),
        rest_start=np.where(prev_is_rest, starts[np.maximum(run_idx - 1, 0)], i0),
    )


def _edge_times(
    t: np.ndarray, dev: np.ndarray, runs: _PulseRuns, thr: float
) -> tuple[np.ndarray, np.ndarray]:
    """Detection step 4: onset and offset times (s), the threshold crossing of the polarity-signed
    departure interpolated between the two samples straddling each edge (robust to jittered
    time stamps). A pulse cut by the trace start has its first sample as onset; one cut by the
    end has a NaN offset."""
    n, i0, i1, pol = runs.n_samples, runs.i0, runs.i1, runs.polarity
    j = np.maximum(i0 - 1, 0)
    onset = np.where(
        runs.starts_cut, t[i0], _crossing_time(t[j], t[i0], pol * dev[j], pol * dev[i0], thr)
    )
    k_last = np.minimum(i1 - 1, n - 1)
    k_next = np.minimum(i1, n - 1)
    offset = np.where(
        runs.ends_cut,
        np.nan,
        _crossing_time(t[k_last], t[k_next], pol * dev[k_last], pol * dev[k_next], thr),
    )
    return onset, offset


def _pulse_amplitude_A(current_A: np.ndarray, runs: _PulseRuns, base_A: float) -> np.ndarray:
    """Mean current over each pulse's samples minus the baseline (A), by one cumulative sum."""
    csum_i = np.concatenate(([0.0], np.cumsum(current_A)))
    return (csum_i[runs.i1] - csum_i[runs.i0]) / (runs.i1 - runs.i0) - base_A


def _read_psv(
    t: np.ndarray,
    v: np.ndarray,
    state: np.ndarray,
    runs: _PulseRuns,
    onset: np.ndarray,
    offset: np.ndarray,
    n_read: int,
    read_delay_s: float | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The PSV read-out columns of each pulse (baseline, peak, after, read time; see the module
    docstring) and the first sample of each baseline window."""
    n, i0, i1, pol = runs.n_samples, runs.i0, runs.i1, runs.polarity
    complete = runs.complete
    csum_v = np.concatenate(([0.0], np.cumsum(v)))

    def window_mean(a, b):
        cnt = b - a
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, (csum_v[b] - csum_v[a]) / np.maximum(cnt, 1), np.nan)

    b_lo = np.maximum(runs.rest_start, i0 - n_read)
    baseline = np.where(runs.starts_cut, np.nan, window_mean(b_lo, i0))
    # Peak: reduceat over interleaved [i0, i1) boundaries (pulses never overlap).
    signed = v * state  # in-pulse samples carry their pulse's polarity
    bounds = np.column_stack((i0, i1)).ravel()
    bounds = bounds[bounds < n]
    peak = pol * np.maximum.reduceat(signed, bounds)[0::2][: i0.size]
    # After: the end of the following gap (the last pulse: the median gap of the others).
    next_on = np.append(onset[1:], np.nan)
    gaps = next_on[:-1] - offset[:-1]
    if np.isfinite(gaps).any():
        last_read = offset[-1] + np.nanmedian(gaps)
    else:
        last_read = t[-1]
    read_t = np.where(np.isnan(next_on), last_read, next_on)
    if read_delay_s is not None:
        read_t = np.minimum(read_t, offset + read_delay_s)
    j_end = np.searchsorted(t, read_t, side="right")
    j_end = np.clip(j_end, i1, runs.next_i0)
    after = window_mean(np.maximum(i1, j_end - n_read), j_end)
    columns = {
        "baseline_psv_V": baseline,
        "peak_psv_V": peak,
        "psv_after_V": np.where(complete, after, np.nan),
        "read_time_s": np.where(complete, t[np.maximum(j_end - 1, 0)], np.nan),
    }
    return columns, b_lo


def _unreliable_reads(
    v: np.ndarray,
    runs: _PulseRuns,
    peak: np.ndarray,
    baseline_start: np.ndarray,
    repaired: np.ndarray,
    trace_qc: dict[str, object],
    max_skew_samples: int,
) -> list[tuple[np.ndarray, str, str]]:
    """The reads that cannot be made reliably, as (pulse mask, reason, column to blank): a pulse
    not longer than the channel skew, one without a rest sample before it, and one whose PSV
    keeps rising after the current stops."""
    lag = abs(int(trace_qc["skew_samples"]))
    short = (runs.i1 - runs.i0) <= lag
    no_rest = ~runs.starts_cut & (runs.i0 - baseline_start < 1)
    noise_V = float(trace_qc["noise_V"])
    rising = _still_rising(
        v, runs, peak, noise_V if np.isfinite(noise_V) else 0.0, max_skew_samples
    )
    # ... unless the in-pulse extreme was a repaired glitch (then the repair is the cause).
    rising &= ~repaired[np.maximum(runs.i1 - 1, 0)]
    return [
        (short, f"pulse not longer than the channel skew ({lag} samples)", "peak_psv_V"),
        (no_rest, "no rest sample before the pulse for a baseline", "baseline_psv_V"),
        (
            rising,
            "PSV still rising after the current pulse (channel skew beyond the search "
            "range or a delayed voltage channel)",
            "peak_psv_V",
        ),
    ]


def _still_rising(
    v: np.ndarray, runs: _PulseRuns, peak: np.ndarray, noise_V: float, max_skew_samples: int
) -> np.ndarray:
    """Complete pulses whose PSV, within ``max_skew_samples`` (at least 1) samples after the
    current stops, exceeds the in-pulse peak by more than 4 noise sigmas.

    A current-driven PSV stops rising when the current stops: a PSV still rising after the
    (corrected) offset means a skew beyond the search range or a delayed channel.
    """
    n, i1, pol = runs.n_samples, runs.i1, runs.polarity
    m_post = max(int(max_skew_samples), 1)
    post = i1[:, None] + np.arange(m_post)[None, :]
    post_ok = (post < runs.next_i0[:, None]) & (post < n)
    post_v = np.where(post_ok, pol[:, None] * v[np.clip(post, 0, n - 1)], -np.inf)
    margin = 4.0 * noise_V
    return runs.complete & (post_v.max(axis=1) > pol * peak + margin + 1e-12 * np.abs(peak))


def _fail_reads(
    columns: dict[str, np.ndarray],
    status: np.ndarray,
    reason: np.ndarray,
    checks: list[tuple[np.ndarray, str, str]],
) -> None:
    """Blank the unreliable reads (NaN) and mark their pulses failed, in place: reads that
    cannot be made reliably are failed, not filled in."""
    for mask, words, column in checks:
        if mask.any():
            columns[column] = np.where(mask, np.nan, columns[column])
            status[mask] = str(Status.FAILED)
            reason[mask] = [join_reasons([r, words]) for r in reason[mask]]


def _handle_partial(
    columns: dict[str, np.ndarray], runs: _PulseRuns, partial: str
) -> dict[str, np.ndarray]:
    """Pulses cut by the trace ends: kept (``"flag"``), dropped and renumbered (``"drop"``) or
    an error (``"raise"``)."""
    complete = runs.complete
    if complete.all():
        return columns
    if partial == "raise":
        where = "starts" if runs.starts_cut.any() else "ends"
        raise PartialPulseError(f"trace {where} inside a pulse (partial='raise')")
    if partial == "drop":
        columns = {name: values[complete] for name, values in columns.items()}
        columns["pulse_index"] = np.arange(int(complete.sum()))
        if not complete.any():
            raise NoPulsesError("no complete pulses: the only pulse is cut by the trace")
    return columns
