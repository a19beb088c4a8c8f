"""Pulse detection and per-pulse read-out from a current-driven trace.

In the pulse protocols of the raw-trace contract (``/work/shared/DESIGN.md``) the current is
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
  before the next onset (the LTP/LTD weight convention of DESIGN.md). For the last pulse the
  gap is taken as the median gap of the other pulses (a lone pulse: until the trace ends).
  ``read_delay_s`` instead reads at ``offset + read_delay_s`` (capped at the next onset).

A trace that **ends mid-pulse** (documented partial result): the last pulse is returned with
``complete = False``, ``offset_s``/``width_s``/``psv_after_V`` NaN and its peak over the samples
available; ``partial="drop"`` removes it and ``partial="raise"`` raises
:class:`PartialPulseError`. A trace that *starts* inside a pulse is treated the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "NoPulsesError",
    "PartialPulseError",
    "current_baseline",
    "detect_pulses",
    "noise_sigma",
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


def _crossing_time(t0, t1, y0, y1, level):
    """Linear interpolation of the time where |y| crosses ``level`` between two samples."""
    denom = y1 - y0
    frac = np.where(denom != 0, (level - y0) / np.where(denom != 0, denom, 1.0), 0.5)
    return t0 + np.clip(frac, 0.0, 1.0) * (t1 - t0)


def detect_pulses(
    time_s: np.ndarray,
    current_A: np.ndarray,
    psv_V: np.ndarray | None = None,
    *,
    threshold_frac: float = 0.5,
    noise_sigmas: float = 6.0,
    n_read: int = 1,
    read_delay_s: float | None = None,
    partial: str = "flag",
) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame, one row per pulse: ``pulse_index, polarity, onset_s, offset_s, width_s,
    amplitude_A, current_baseline_A, baseline_psv_V, peak_psv_V, psv_after_V, read_time_s,
    complete``.

    Raises
    ------
    NoPulsesError
        If no sample departs from the baseline by more than the threshold.
    """
    t = np.asarray(time_s, dtype=float)
    i_raw = np.asarray(current_A, dtype=float)
    n = t.size
    if n < 3:
        raise NoPulsesError(f"no pulses: trace has only {n} samples")
    if partial not in {"flag", "drop", "raise"}:
        raise ValueError(f"partial must be 'flag', 'drop' or 'raise', got {partial!r}")
    base_A = current_baseline(t, i_raw)
    dev = i_raw - base_A
    sigma = noise_sigma(i_raw)
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

    change = np.flatnonzero(np.diff(state) != 0) + 1
    starts = np.concatenate(([0], change))
    stops = np.concatenate((change, [n]))
    run_state = state[starts]
    is_pulse = run_state != 0
    if not is_pulse.any():
        raise NoPulsesError("no pulses: no run of samples above the edge threshold")
    i0 = starts[is_pulse]
    i1 = stops[is_pulse]  # exclusive
    pol = run_state[is_pulse].astype(int)
    # Rest run before each pulse starts where the previous run ended (0 if it is a pulse).
    run_idx = np.flatnonzero(is_pulse)
    prev_is_rest = np.zeros(run_idx.size, bool)
    prev_is_rest[run_idx > 0] = ~is_pulse[run_idx[run_idx > 0] - 1]
    rest_start = np.where(prev_is_rest, starts[np.maximum(run_idx - 1, 0)], i0)

    starts_cut = i0 == 0
    ends_cut = i1 == n
    complete = ~(starts_cut | ends_cut)

    # Onset/offset: interpolate |dev| (signed by polarity) at the threshold.
    sdev = dev * 1.0
    j = np.maximum(i0 - 1, 0)
    onset = np.where(
        starts_cut, t[i0], _crossing_time(t[j], t[i0], pol * sdev[j], pol * sdev[i0], thr)
    )
    k_last = np.minimum(i1 - 1, n - 1)
    k_next = np.minimum(i1, n - 1)
    offset = np.where(
        ends_cut,
        np.nan,
        _crossing_time(t[k_last], t[k_next], pol * sdev[k_last], pol * sdev[k_next], thr),
    )
    csum_i = np.concatenate(([0.0], np.cumsum(i_raw)))
    amp = (csum_i[i1] - csum_i[i0]) / (i1 - i0) - base_A

    out = pd.DataFrame(
        {
            "pulse_index": np.arange(i0.size),
            "polarity": pol,
            "onset_s": onset,
            "offset_s": offset,
            "width_s": offset - onset,
            "amplitude_A": amp,
            "current_baseline_A": base_A,
        }
    )

    if psv_V is not None:
        v = np.asarray(psv_V, dtype=float)
        csum_v = np.concatenate(([0.0], np.cumsum(v)))

        def window_mean(a, b):
            cnt = b - a
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(cnt > 0, (csum_v[b] - csum_v[a]) / np.maximum(cnt, 1), np.nan)

        b_lo = np.maximum(rest_start, i0 - n_read)
        baseline = np.where(starts_cut, np.nan, window_mean(b_lo, i0))
        # Peak: reduceat over interleaved [i0, i1) boundaries (pulses never overlap).
        signed = v * state  # in-pulse samples carry their pulse's polarity
        bounds = np.column_stack((i0, i1)).ravel()
        bounds = bounds[bounds < n]
        peak = pol * np.maximum.reduceat(signed, bounds)[0::2][: i0.size]

        next_on = np.append(onset[1:], np.nan)
        next_i0 = np.append(i0[1:], n)
        gaps = next_on[:-1] - offset[:-1]
        if np.isfinite(gaps).any():
            last_read = offset[-1] + np.nanmedian(gaps)
        else:
            last_read = t[-1]
        read_t = np.where(np.isnan(next_on), last_read, next_on)
        if read_delay_s is not None:
            read_t = np.minimum(read_t, offset + read_delay_s)
        j_end = np.searchsorted(t, read_t, side="right")
        j_end = np.clip(j_end, i1, next_i0)
        after = window_mean(np.maximum(i1, j_end - n_read), j_end)
        after = np.where(complete, after, np.nan)
        out["baseline_psv_V"] = baseline
        out["peak_psv_V"] = peak
        out["psv_after_V"] = after
        out["read_time_s"] = np.where(complete, t[np.maximum(j_end - 1, 0)], np.nan)
    out["complete"] = complete

    if not complete.all():
        if partial == "raise":
            where = "starts" if starts_cut.any() else "ends"
            raise PartialPulseError(f"trace {where} inside a pulse (partial='raise')")
        if partial == "drop":
            out = out[complete].reset_index(drop=True)
            out["pulse_index"] = np.arange(len(out))
            if out.empty:
                raise NoPulsesError("no complete pulses: the only pulse is cut by the trace")
    return out
