"""Autocorrelation memory metric (Fig. 3d; the paper's Supplementary Note 4 is not available).

The paper computes "the autocorrelation function of the corresponding PSV curve" of the
pulse-width series (Fig. 2d) and reports "the standard deviation of the curve" as a memory
measure that grows with resistance and stimulation time. No published definition was found
(docs/conventions.md, "Autocorrelation"), so this project defines it as follows:

1. Window: the PSV from ``pre_s`` before the pulse onset to ``window_s`` after it (a common,
   fixed window for every trace being compared, so the metric compares curves, not windows).
   By default ``pre_s = window_s``: half the record is the pre-stimulus baseline (where a trace
   starts later than ``onset - pre_s`` the window is padded with its first sample, the rest
   PSV, and ``status`` says so). With that
   symmetric window the metric is monotone in the relaxation time (checked numerically for
   τ from 1e-4 to 1e2 window lengths and in the pulse width, see tests): a retained PSV makes a
   step whose ACF falls linearly (std -> 0.435 for a lag window of half the record), a fast
   relaxation a spike whose ACF vanishes after a few lags (std -> ~0.06). With a short
   pre-stimulus segment the metric peaks at τ ~ window/3 and then falls, so it is avoided.
2. Resampling: linear interpolation onto ``n_grid`` uniform times (the sample ACF assumes
   uniform sampling; the traces are not uniformly sampled).
3. Sample ACF r_k = Σ (x_t - x̄)(x_{t+k} - x̄) / Σ (x_t - x̄)² (docs/conventions.md), so r_0 = 1.
4. Metric: standard deviation (ddof = 0) of r_k over the lag window k = 0 .. K with
   K = ``max_lag_frac`` * n_grid (default 0.5: beyond half the record too few pairs remain).

Why this measures memory: a PSV that relaxes quickly after the pulse is a short spike on a flat
record, its ACF drops to ~0 within a few lags and stays there (small spread); a retained PSV is
a step whose ACF falls slowly (large spread). The metric therefore rises with the retention
time and the stimulation time, the trend the paper reports for Fig. 3d.
"""

from __future__ import annotations

import numpy as np

from fmes.core.status import Status

__all__ = ["acf_memory_metric", "sample_acf"]


def sample_acf(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """Normalised sample ACF r_0..r_K of a uniformly sampled series (FFT, O(n log n))."""
    x = np.asarray(x, float)
    n = x.size
    d = x - x.mean()
    denom = float(d @ d)
    k_max = n - 1 if max_lag is None else min(int(max_lag), n - 1)
    if denom == 0.0:
        return np.full(k_max + 1, np.nan)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(d, nfft)
    acov = np.fft.irfft(f * np.conj(f), nfft)[: k_max + 1]
    return acov / denom


def acf_memory_metric(
    time_s: np.ndarray,
    psv_V: np.ndarray,
    onset_s: float,
    *,
    window_s: float,
    pre_s: float | None = None,
    n_grid: int = 512,
    max_lag_frac: float = 0.5,
) -> dict[str, object]:
    """Std of the normalised ACF of the PSV in [onset - pre_s, onset + window_s].

    ``pre_s`` defaults to ``window_s`` (symmetric window, see the module docstring).

    Returns ``acf_std``, the lag window ``max_lag_s``, the window actually used, ``status`` and
    ``reason`` (:mod:`fmes.core.status`) and ``window_note``. A window reaching past the trace end is
    truncated: the value is ``flagged``. A window starting before the trace is padded with the
    first sample (the device at rest, by design): still ``ok``, with the padding in
    ``window_note``. An empty window or a constant PSV has no value: ``failed``.
    """
    t = np.asarray(time_s, float)
    v = np.asarray(psv_V, float)
    if pre_s is None:
        pre_s = window_s
    t0 = onset_s - pre_s
    t1 = onset_s + window_s
    notes = []
    truncated = t1 > t[-1]
    if truncated:
        notes.append(f"window truncated at trace end ({t[-1] - onset_s:.4g} s after onset)")
        t1 = t[-1]
    if t0 < t[0]:
        # Before the trace starts the device is at rest: np.interp holds the first sample, so
        # the window is padded with the rest PSV and every trace gets the same window.
        notes.append(f"pre-onset part padded with the first sample ({t[0] - t0:.3g} s)")
    note = "; ".join(notes)
    if t1 <= t0:
        return {
            "acf_std": np.nan,
            "max_lag_s": np.nan,
            "window_used_s": 0.0,
            "status": Status.FAILED.value,
            "reason": "empty window: the trace ends before the window starts",
            "window_note": note,
        }
    grid = np.linspace(t0, t1, n_grid)
    x = np.interp(grid, t, v)
    k = int(max_lag_frac * n_grid)
    r = sample_acf(x, k)
    return {
        "acf_std": float(np.std(r)) if np.isfinite(r).all() else np.nan,
        "max_lag_s": float(k * (grid[1] - grid[0])),
        "window_used_s": float(t1 - t0),
        **_acf_status(bool(np.isfinite(r).all()), truncated, notes),
        "window_note": note,
    }


def _acf_status(defined: bool, truncated: bool, notes: list[str]) -> dict[str, str]:
    if not defined:
        return {"status": Status.FAILED.value, "reason": "constant PSV: ACF undefined"}
    if truncated:
        return {"status": Status.FLAGGED.value, "reason": notes[0]}
    return {"status": Status.OK.value, "reason": ""}
