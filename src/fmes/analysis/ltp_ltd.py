"""LTP/LTD: weight per pulse, NeuroSim non-linearity fit, NL labels, states, dynamic range.

Conventions (docs/conventions.md, "The NeuroSim conventions"; MLP+NeuroSim V3.0):

- The weight after each pulse is the PSV read at the end of the gap that follows it
  (raw/README.md, ``ltp_ltd``), i.e. ``psv_after_V`` of :func:`~fmes.analysis.pulses.detect_pulses`.
  Potentiating pulses have polarity +1, depressing pulses -1.
- Model (N = pulses per half-cycle), with shared bounds (``bounds="shared"``) or each branch
  with its own start/end (``bounds="separate"``, the default, see :func:`fit_ltp_ltd`):
  LTP after n pulses   G_P(n) = B_P (1 - exp(-n/A_P)) + G_min,
  LTD after k pulses   G_D(k) = G_max - B_D (1 - exp(-k/A_D)),
  B_X = (G_max - G_min) / (1 - exp(-N/A_X)) ("B fixed by the bounds"), so G_P(N) = G_max and
  G_D(N) = G_min. The LTD form is NeuroSim's G_D(P) = -B(1 - exp((P - N)/A_D)) + G_max with
  the state index P = N - k; A_D is the constant of that mirrored curve and is > 0.
- NL label: with a = A/N and g(x) = (1 - exp(-x/a))/(1 - exp(-1/a)), NL = max_x |g(x) - x| /
  0.099. The maximum is at x* = -a ln(a (1 - exp(-1/a))) (where g'(x) = 1), so no grid is
  needed. It reproduces NeuroSim's published table (:data:`NEUROSIM_NL_TABLE`) to < 1e-3.
- Symmetric non-linearity = max_P |G_P(P) - G_D(P)| / (G_max - G_min) over the state index
  P = 0..N (fit-based; ``symmetric_nl_data`` uses the measured weights at equal P).
- Signed non-linearity (``signed_nl``): A may be negative, an accelerating (convex) branch whose
  step grows pulse after pulse; its NL label is -label(|A|/N). The curve with A < 0 is the point
  reflection of the one with |A| (g_{-a}(x) = 1 - g_a(1 - x)), so |label| keeps its meaning.
  A branch is convex when the best A < 0 beats the best A > 0 on the variable-projection grid
  by a 99 % likelihood-ratio margin (a straight line stays on the A > 0 side); only then, and
  only with ``signed_nl``, is it fitted with A < 0. Without ``signed_nl`` a convex branch is
  flagged. ``ltp_shape``/``ltd_shape`` say ``saturating`` or ``accelerating`` (docs/ltp_ltd.md).
- Read noise σ_read: given, or the residual standard deviation of the fit (used for the
  cycle-to-cycle sigma below). ``n_states`` is NOT derived from it: the levels a branch holds
  are 1 + #{pulses whose measured mean step exceeds k σ_step}, with σ_step the pulse-to-pulse
  noise of a step around its local mean (:func:`step_resolution`; model-free, so a model error
  in the residual cannot collapse it); ``n_states`` is the smaller of the two branches.
- Cycle-to-cycle step sigma (NeuroSim's σ, a fraction of the range): standard deviation of
  the step residuals Δw_obs - ΔG_fit within each branch, minus 2 σ_read² in quadrature when the
  read noise is given separately (otherwise it is an upper bound that includes read noise).
- W_max/W_min (dynamic range, Supplementary Fig 15): the largest weight over the weight after
  the first potentiating pulse, i.e. the smallest programmed state of a cycle that starts from a
  discharged device (the same definition as ``fmes.device.calibration.dynamic_range``). The smallest
  weight of the whole cycle is no denominator: a current-driven capacitor is driven below 0 V by
  the depressing pulses, where a ratio means nothing. NaN if the first weight is <= 0 V.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import lmfit
import numpy as np
import pandas as pd
from scipy import stats

from fmes.analysis._fit import (
    DEFAULT_LIMITS,
    FitOutcome,
    QualityLimits,
    fit_quality,
    least_squares_outcome,
    run_curve_fit,
    run_fit,
)
from fmes.core.status import Status, join_reasons, worst
from fmes.device.synapse import a_norm_from_nl, nl_label_from_a

__all__ = [
    "NEUROSIM_NL_TABLE",
    "a_norm_from_nl",
    "cycle_pulse_index",
    "fit_ltp_ltd",
    "fit_ltp_ltd_batch",
    "fitted_branch",
    "ltp_ltd_curve",
    "ltp_ltd_weights",
    "nl_label_from_a",
    "nominal_ok_fits",
    "relaxation_curve",
    "state_summary",
    "step_resolution",
    "weight_columns",
]

#: NeuroSim V3.0 published table: NL label -> normalised A = A/P_max.
NEUROSIM_NL_TABLE: dict[int, float] = {1: 1.2517, 2: 0.6090, 3: 0.3868, 5: 0.1924, 6: 0.1356}


def ltp_ltd_curve(
    x: np.ndarray, g_min: float, g_max: float, a_p: float, a_d: float, n_total: float
) -> np.ndarray:
    """Joint model: x > 0 is the LTP pulse count n, x < 0 the LTD pulse count k = -x."""
    x = np.asarray(x, float)
    rng = g_max - g_min
    n = np.maximum(x, 0.0)
    k = np.maximum(-x, 0.0)
    g_p = rng * np.expm1(-n / a_p) / np.expm1(-n_total / a_p) + g_min
    g_d = g_max - rng * np.expm1(-k / a_d) / np.expm1(-n_total / a_d)
    return np.where(x >= 0, g_p, g_d)


def ltp_ltd_weights(pulses: pd.DataFrame | Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Weight per pulse from a pulse table: ``phase`` (ltp/ltd), ``pulse_number`` (1..),
    ``weight_V`` (= ``psv_after_V``) and ``onset_s``. Incomplete pulses are dropped.

    The LTP phase is the leading run of positive pulses, the LTD phase the run of negative
    pulses that follows it. :func:`weight_columns` gives the same table as arrays.
    """
    return pd.DataFrame(weight_columns(pulses))


def weight_columns(pulses: pd.DataFrame | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of :func:`ltp_ltd_weights` as arrays, from a pulse table or its columns
    (:attr:`fmes.analysis.pulses.PulseReadout.columns`): what the fits of a campaign's traces
    take, without framing a table per trace."""
    pol = np.asarray(pulses["polarity"])
    if "complete" in pulses:
        keep = np.asarray(pulses["complete"], dtype=bool)
    else:
        keep = np.ones(pol.size, bool)
    pol = pol[keep]
    onset = np.asarray(pulses["onset_s"], dtype=float)[keep]
    weight = np.asarray(pulses["psv_after_V"], dtype=float)[keep]
    first_neg = int(np.argmax(pol < 0)) if (pol < 0).any() else pol.size
    ltp = np.flatnonzero(pol[:first_neg] > 0)
    ltd = first_neg + np.flatnonzero(pol[first_neg:] < 0)
    return {
        "phase": np.repeat(["ltp", "ltd"], [ltp.size, ltd.size]),
        "pulse_number": np.concatenate([np.arange(1, ltp.size + 1), np.arange(1, ltd.size + 1)]),
        "onset_s": np.concatenate([onset[ltp], onset[ltd]]),
        "weight_V": np.concatenate([weight[ltp], weight[ltd]]),
    }


#: MAD of a standard normal variable (scipy.stats.median_abs_deviation's scale="normal"),
#: computed once: scipy's function costs more per call than the median of a short branch.
_MAD_NORMAL = float(stats.norm.ppf(0.75))


def _centred_nanmean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving mean along axis 1 over the finite values of each window (pandas'
    ``rolling(window, center=True, min_periods=1).mean()`` per row), by cumulative sums."""
    finite = np.isfinite(values)
    n = values.shape[1]
    csum = np.concatenate(
        [np.zeros((values.shape[0], 1)), np.cumsum(np.where(finite, values, 0.0), 1)], 1
    )
    ccount = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(finite, 1)], 1)
    index = np.arange(n)
    offset = (window - 1) // 2
    lo = np.clip(index - window + 1 + offset, 0, n)
    hi = np.clip(index + 1 + offset, 0, n)
    count = ccount[:, hi] - ccount[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (csum[:, hi] - csum[:, lo]) / count, np.nan)


def step_resolution(
    weights: np.ndarray, *, window: int = 9, n_sigma: float = 1.0
) -> dict[str, object]:
    """Distinguishable levels of one branch from its measured steps (no model).

    ``weights`` is runs x pulses (weight after each pulse; NaN pads shorter runs). The steps
    Δw of each run are split into a local mean (centred moving average over ``window`` pulses)
    and the pulse-to-pulse noise around it, whose scale σ is the MAD of those deviations
    (x 1.4826, corrected for the point's own share of the window), pooled over all runs. The
    mean step into level n is the local mean averaged over the runs; a level is distinguishable
    if it exceeds ``n_sigma`` σ, and ``n_states`` = 1 + the number of such levels (the start
    state counts). Returns ``n_states``, ``step_noise`` (σ) and ``mean_step`` (per pulse).
    """
    w = np.atleast_2d(np.asarray(weights, float))
    steps = np.diff(w, axis=1)
    if steps.shape[1] < 2 or np.isfinite(steps).sum() < 3:
        return {"n_states": 1, "step_noise": np.nan, "mean_step": np.full(steps.shape[1], np.nan)}
    local = _centred_nanmean(steps, window)
    dev = (steps - local)[np.isfinite(steps)]
    width = min(window, steps.shape[1])
    mad = np.median(np.abs(dev - np.median(dev))) / _MAD_NORMAL  # scipy's MAD, scale="normal"
    sigma = float(mad / np.sqrt(max(1.0 - 1.0 / width, 1e-12)))
    reached = np.isfinite(steps)
    mean_step = np.where(reached, local, 0.0).sum(axis=0) / np.maximum(reached.sum(axis=0), 1)
    mean_step[~reached.any(axis=0)] = np.nan  # pulses no run reached
    resolved = np.abs(mean_step) > n_sigma * sigma
    return {"n_states": int(1 + np.sum(resolved)), "step_noise": sigma, "mean_step": mean_step}


def relaxation_curve(
    x: np.ndarray, start: float, end: float, a: float, n_total: float
) -> np.ndarray:
    """One branch after ``x`` pulses: from ``start`` (x = 0) to ``end`` (x = N), constant A.

    start + (end - start) (1 - exp(-x/A)) / (1 - exp(-N/A)); the LTP branch is
    (start, end) = (G_min, G_max), the LTD branch (G_max, G_min). A > 0 saturates (the step
    shrinks pulse after pulse), A < 0 accelerates (the step grows; a convex LTP branch).
    """
    x = np.asarray(x, float)
    if a > 0:
        return start + (end - start) * np.expm1(-x / a) / np.expm1(-n_total / a)
    # A = -b < 0: (e^{x/b} - 1)/(e^{N/b} - 1) written without overflow for small b
    b = -a
    return start + (end - start) * np.exp((x - n_total) / b) * np.expm1(-x / b) / np.expm1(
        -n_total / b
    )


_SHARED_MODEL = lmfit.Model(ltp_ltd_curve)


#: Likelihood-ratio threshold (chi-square, 1 dof, 99 %) above which an accelerating curve
#: describes a branch better than every saturating one: the branch is convex.
CONVEX_LR_THRESHOLD = float(stats.chi2.ppf(0.99, 1))
CONVEX_UNFITTED = (
    "the branch accelerates (convex): the saturating model cannot describe it "
    "(analysis.ltp_ltd.signed_nl fits it with a negative NL label)"
)


#: The variable-projection grid of A / N (each sign): 121 points, about 10 % apart.
_A_GRID_NORM = np.geomspace(2e-3, 5e2, 121)


def _grid_basis(m: np.ndarray, n_total: float) -> np.ndarray:
    """g(m; A) of :func:`relaxation_curve` (the weight of ``end``) for the grid of A > 0 and its
    mirror A = -b < 0 (accelerating), grid rows x points."""
    a_pos = n_total * _A_GRID_NORM[:, None]
    phi = np.expm1(-m[None, :] / a_pos) / np.expm1(-n_total / a_pos)
    phi_neg = (
        np.exp((m[None, :] - n_total) / a_pos)
        * np.expm1(-m[None, :] / a_pos)
        / np.expm1(-n_total / a_pos)
    )
    return np.concatenate([phi, phi_neg])


def _grid_sse(wc, ok, start, end, x0, x1, k) -> np.ndarray:
    """Sum of squares of each branch at its grid point ``k``, summed directly: the
    normal-equation form loses digits on a near-perfect fit, where the convexity test divides
    by it."""
    rows = np.arange(wc.shape[0])
    resid = wc - start[rows, k][:, None] * x0[k] - end[rows, k][:, None] * x1[k]
    return (np.where(ok, resid, 0.0) ** 2).sum(1)


@dataclass(frozen=True)
class _GridStart:
    """Start of one branch fit from the variable-projection grid (see :func:`_profile_starts`)."""

    start: float
    end: float
    a: float
    convex: bool


def _profile_starts(
    branches: list[tuple[np.ndarray, np.ndarray, int]], signed: bool = False
) -> list[_GridStart]:
    """Start values of many branches ``(m, w, n_total)`` at once, by variable projection: for
    fixed A a branch is linear in (start, end), so the best (start, end) and the residual are
    closed-form for the whole grid of A and for all branches together (matrix products over
    branches x grid; branches of one pulse numbering share the basis); the best grid point
    seeds lmfit, which then needs only a few iterations.

    The grid spans A > 0 and its mirror A < 0. A branch is convex if the best A < 0 beats the
    best A > 0 by more than :data:`CONVEX_LR_THRESHOLD` (ΔSSE / σ², σ² from the better one).
    Each start is the best A < 0 if ``signed`` and convex, else the best A > 0.
    """
    out: list[_GridStart | None] = [None] * len(branches)
    groups: dict[tuple, list[int]] = {}
    for i, (m, _w, n_total) in enumerate(branches):
        groups.setdefault((float(n_total), np.asarray(m, float).tobytes()), []).append(i)
    n_pos = _A_GRID_NORM.size
    a_grid_norm = np.concatenate([_A_GRID_NORM, -_A_GRID_NORM])
    for (n_total, _), members in groups.items():
        m = np.asarray(branches[members[0]][0], float)
        w = np.array([branches[i][1] for i in members], dtype=float).reshape(len(members), m.size)
        ok = np.isfinite(w) & np.isfinite(m)[None, :]
        # centred per branch: the model holds a constant offset exactly (start and end shift
        # with it), and the normal equations then lose no digits to a large offset
        offset = np.array([np.mean(r[k]) if k.any() else 0.0 for r, k in zip(w, ok, strict=True)])
        wc = np.where(ok, w - offset[:, None], 0.0)
        mask = ok.astype(float)
        phi = _grid_basis(np.where(np.isfinite(m), m, 0.0), n_total)  # grid x points
        x0, x1 = 1.0 - phi, phi
        # Normal equations of w ~ s (1 - phi) + e phi, per branch and grid row (branches x grid).
        s00, s01, s11 = mask @ (x0 * x0).T, mask @ (x0 * x1).T, mask @ (x1 * x1).T
        b0, b1 = wc @ x0.T, wc @ x1.T
        det = s00 * s11 - s01**2
        det = np.where(np.abs(det) > 0, det, np.nan)
        start = (s11 * b0 - s01 * b1) / det
        end = (s00 * b1 - s01 * b0) / det
        sse = (wc**2).sum(1)[:, None] - start * b0 - end * b1  # residual of the normal equations
        n_points = ok.sum(1)
        sse_pos, sse_neg = sse[:, :n_pos], sse[:, n_pos:]
        has_pos, has_neg = np.isfinite(sse_pos).any(1), np.isfinite(sse_neg).any(1)
        k_pos = np.where(
            has_pos, np.argmin(np.where(np.isfinite(sse_pos), sse_pos, np.inf), 1), n_pos // 2
        )
        k_neg = n_pos + np.argmin(np.where(np.isfinite(sse_neg), sse_neg, np.inf), 1)

        best_pos = _grid_sse(wc, ok, start, end, x0, x1, k_pos)
        best_neg = _grid_sse(wc, ok, start, end, x0, x1, k_neg)
        var = np.minimum(best_pos, best_neg) / np.maximum(n_points - 3, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            convex = (
                has_pos & has_neg & (var > 0) & ((best_pos - best_neg) / var > CONVEX_LR_THRESHOLD)
            )
        # A < 0 only for a convex branch: a straight line stays on the saturating side
        k = np.where(signed & convex, k_neg, k_pos)
        for j, i in enumerate(members):
            out[i] = _GridStart(
                float(start[j, k[j]] + offset[j]),
                float(end[j, k[j]] + offset[j]),
                float(a_grid_norm[k[j]] * n_total),
                bool(convex[j]),
            )
    return out


def _branch_fit(m, w, n_total, start0, end0, max_nfev, grid: _GridStart):
    """One branch from its grid start (:func:`_profile_starts`); the sign of A is the grid's
    and the fit stays on that side (A = +-inf, a straight line, is the common limit of both).
    If that fit does not converge, a multi-start from ``start0``/``end0`` and four values of A."""
    w_ok = w[np.isfinite(w)]
    span = max(float(np.ptp(w_ok)), 1e-12)
    lo, hi = float(np.min(w_ok)), float(np.max(w_ok))
    sign = -1.0 if grid.a < 0 else 1.0

    def cfg(p: lmfit.Parameters) -> None:
        p["n_total"].set(value=n_total, vary=False)
        a_lim = sorted((sign * 1e-3 * n_total, sign * 1e3 * n_total))
        p["a"].set(min=a_lim[0], max=a_lim[1])
        p["start"].set(min=lo - 2 * span, max=hi + 2 * span)
        p["end"].set(min=lo - 2 * span, max=hi + 2 * span)

    if np.isfinite(grid.start) and np.isfinite(grid.end):
        s0 = float(np.clip(grid.start, lo - 2 * span, hi + 2 * span))
        e0 = float(np.clip(grid.end, lo - 2 * span, hi + 2 * span))
        first = run_curve_fit(
            relaxation_curve,
            w,
            m,
            [{"start": s0, "end": e0, "a": grid.a, "n_total": n_total}],
            cfg,
            max_nfev=max_nfev,
        )
        if first.converged:
            return first
    starts = [
        {"start": start0, "end": end0, "a": sign * f * n_total, "n_total": n_total}
        for f in (0.1, 0.3, 1.0, 3.0)
    ]
    return run_curve_fit(relaxation_curve, w, m, starts, cfg, max_nfev=max_nfev)


def _relaxation_basis(x: np.ndarray, a: np.ndarray, n_total: np.ndarray) -> np.ndarray:
    """g(x; A) of :func:`relaxation_curve` (weight of ``end``) for one A and N per row of
    ``x`` (rows x points), either sign of A, written without overflow as there."""
    a, n_total = a[:, None], n_total[:, None]
    b = np.abs(a)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = np.expm1(-x / b) / np.expm1(-n_total / b)
        return np.where(a > 0, g, np.exp((x - n_total) / b) * g)


#: Batched Levenberg-Marquardt of the branch fits: iterations, and when a branch has
#: converged: its Gauss-Newton step below _LM_XTOL (tighter than MINPACK's default xtol, so the
#: optimum is lmfit's to within lmfit's own tolerance) or its predicted decrease below _LM_FTOL.
_LM_MAX_ITER = 60
_LM_XTOL = 1e-9  # of the branch's span for start and end, of |A| for A
_LM_FTOL = 1e-13  # a step that lowers the sum of squares by less is rounding
#: A batched optimum this close (relative) to a bound of lmfit's fit is refitted by lmfit,
#: which then says whether the parameter sits on it.
_LM_BOUND_MARGIN = 1e-3


def _batch_branch_fits(
    branches: list[tuple[np.ndarray, np.ndarray, int]], grids: list[_GridStart]
) -> list[FitOutcome | None]:
    """The fits of :func:`_branch_fit` for many branches ``(m, w, n_total)`` at once: one
    Levenberg-Marquardt problem per branch, solved together as stacked arrays (3 x 3 normal
    equations per branch and iteration, analytic derivatives in start and end, a central
    difference in A) from each branch's grid start. Standard errors from the Jacobian at the
    optimum scaled by the reduced chi-square (lmfit's covariance), the same verdict and
    statistics (:func:`~fmes.analysis._fit.least_squares_outcome`).

    None for a branch this does not settle, which then goes to lmfit (:func:`_branch_fit`): a
    non-finite grid start, too few points, no convergence, a singular curvature matrix, A
    changing sign, or an optimum at or near one of lmfit's bounds (lmfit's fit is the
    reference for what a bound means).
    """
    out: list[FitOutcome | None] = [None] * len(branches)
    if not branches:
        return out
    n_b = len(branches)
    width = max(len(m) for m, _w, _n in branches)
    x = np.zeros((n_b, width))
    y = np.zeros((n_b, width))
    ok = np.zeros((n_b, width), dtype=bool)
    for i, (m, w, _n) in enumerate(branches):
        m, w = np.asarray(m, float), np.asarray(w, float)
        good = np.isfinite(m) & np.isfinite(w)
        x[i, : m.size] = np.where(good, m, 0.0)
        y[i, : m.size] = np.where(good, w, 0.0)
        ok[i, : m.size] = good
    n_total = np.array([float(n) for _m, _w, n in branches])
    p = np.array([[g.start, g.end, g.a] for g in grids], dtype=float)
    n_points = ok.sum(1)
    live = np.isfinite(p).all(1) & (n_points > 3)
    p[~live] = [0.0, 1.0, 1.0]  # placeholders; these branches go to lmfit
    sign = np.where(p[:, 2] < 0, -1.0, 1.0)

    def model_and_jacobian(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        start, end, a = p[:, :1], p[:, 1:2], p[:, 2]
        g = _relaxation_basis(x, a, n_total)
        h = 1e-6 * np.abs(a)
        dg = (_relaxation_basis(x, a + h, n_total) - _relaxation_basis(x, a - h, n_total)) / (
            2 * h[:, None]
        )
        f = start + (end - start) * g
        jac = np.stack([1.0 - g, g, (end - start) * dg], axis=-1) * ok[..., None]
        return np.where(ok, f, 0.0), jac

    def sse(p: np.ndarray) -> np.ndarray:
        g = _relaxation_basis(x, p[:, 2], n_total)
        f = p[:, :1] + (p[:, 1:2] - p[:, :1]) * g
        return np.where(ok, (y - f) ** 2, 0.0).sum(1)

    y_lo = np.where(ok, y, np.inf).min(1)
    span = np.maximum(np.where(ok, y, -np.inf).max(1) - y_lo, 1e-12)
    lam = np.full(n_b, 1e-3)
    done = ~live
    current = sse(p)
    eye = np.eye(3)
    for _ in range(_LM_MAX_ITER):
        f, jac = model_and_jacobian(p)
        jtj = np.einsum("bni,bnj->bij", jac, jac)
        jtr = np.einsum("bni,bn->bi", jac, np.where(ok, y - f, 0.0))
        diag = np.einsum("bii->bi", jtj)[:, :, None] * eye
        with np.errstate(all="ignore"):
            # converged: the undamped (Gauss-Newton) step is below the tolerance (1e-300: a
            # zero column, e.g. start = end, must not make the stacked solve raise)
            gauss_newton = np.linalg.solve(
                np.where(done[:, None, None], eye, jtj + 1e-300 * eye), jtr[..., None]
            )[..., 0]
            # or it would lower the sum of squares by no more than rounding
            scale = np.column_stack([span, span, np.abs(p[:, 2])])
            done |= np.all(np.abs(gauss_newton) <= _LM_XTOL * scale, axis=1) | (
                np.einsum("bi,bi->b", jtr, gauss_newton) <= _LM_FTOL * current
            )
            damped = np.where(
                done[:, None, None], eye, jtj + lam[:, None, None] * diag + 1e-300 * eye
            )
            trial = p + np.where(
                done[:, None], 0.0, np.linalg.solve(damped, jtr[..., None])[..., 0]
            )
            trial_sse = sse(trial)
        better = (
            ~done & np.isfinite(trial_sse) & (trial_sse <= current) & (np.sign(trial[:, 2]) == sign)
        )
        p = np.where(better[:, None], trial, p)
        current = np.where(better, trial_sse, current)
        lam = np.where(better, lam / 10, np.where(done, lam, lam * 10))
        done |= lam > 1e12  # stuck: lmfit decides
        if done.all():
            break
    converged = live & done & (lam <= 1e12)
    f, jac = model_and_jacobian(p)
    jtj = np.einsum("bni,bnj->bij", jac, jac)
    with np.errstate(all="ignore"):
        # only a converged branch with a well-conditioned JᵀJ is inverted (the others go to
        # lmfit): a stacked inverse raises if any one matrix in it is singular
        cond = np.linalg.cond(np.where(converged[:, None, None], jtj, eye))
        settled = converged & np.isfinite(cond) & (cond < 1e12)
        try:
            cov = np.linalg.inv(np.where(settled[:, None, None], jtj, eye))
        except np.linalg.LinAlgError:  # rounding beat the condition test: lmfit fits them all
            return out
    redchi = current / np.maximum(n_points - 3, 1)
    stderr = np.sqrt(np.abs(np.einsum("bii->bi", cov)) * redchi[:, None])
    for i in np.flatnonzero(settled & np.isfinite(stderr).all(1)):
        _m, w, n = branches[i]
        w_ok = np.asarray(w, float)[np.isfinite(w)]
        span = max(float(np.ptp(w_ok)), 1e-12)
        lo, hi = float(np.min(w_ok)) - 2 * span, float(np.max(w_ok)) + 2 * span
        a_lim = sorted((sign[i] * 1e-3 * n, sign[i] * 1e3 * n))
        bounds = {"start": (lo, hi), "end": (lo, hi), "a": (a_lim[0], a_lim[1])}
        start, end, a = p[i]
        margin = _LM_BOUND_MARGIN * (hi - lo)
        inside = all(lo + margin < v < hi - margin for v in (start, end)) and 1e-3 * n * (
            1 + _LM_BOUND_MARGIN
        ) < abs(a) < 1e3 * n / (1 + _LM_BOUND_MARGIN)
        if not inside:
            continue
        values = {"start": start, "end": end, "a": a}
        row = ok[i]
        out[i] = least_squares_outcome(
            values,
            dict(zip(("start", "end", "a"), stderr[i], strict=True)),
            bounds,
            {"n_total": float(n)},
            x[i, row],
            y[i, row],
            f[i, row],
        )
    return out


@dataclass(frozen=True)
class _Branch:
    """One fitted branch: from ``start`` (x = 0) to ``end`` (x = N) with constant A (pulses)."""

    start: float
    end: float
    a: float
    a_stderr: float
    n_total: int

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return relaxation_curve(x, self.start, self.end, self.a, self.n_total)


_NAMES = ["g_min", "g_max", "a_p", "a_d"]
_UNITS = {"g_min": "V", "g_max": "V", "a_p": "pulses", "a_d": "pulses"}


def _fit_shared(row, m_p, w_p, m_d, w_d, n_total, lo, hi, max_nfev, noise_V, limits):
    """One joint fit with one pair of bounds (4 parameters); fills ``row``; the two branches
    as curves, or None when the fit failed."""
    span = max(hi - lo, 1e-12)

    def cfg(p: lmfit.Parameters) -> None:
        p["n_total"].set(value=n_total, vary=False)
        for k in ("a_p", "a_d"):
            p[k].set(min=1e-3 * n_total, max=1e3 * n_total)
        p["g_min"].set(min=lo - span, max=hi)
        p["g_max"].set(min=lo, max=hi + span)

    starts = [
        {"g_min": lo, "g_max": hi, "a_p": f * n_total, "a_d": f * n_total, "n_total": n_total}
        for f in (0.1, 0.3, 1.0, 3.0)
    ]
    fit = run_fit(
        _SHARED_MODEL,
        np.concatenate([w_p, w_d]),
        np.concatenate([m_p, -m_d]),
        starts,
        cfg,
        max_nfev=max_nfev,
    )
    row.update(fit.row(_NAMES, units=_UNITS))
    row.update(fit.stats_row())
    row.update(
        fit_quality(
            fit, noise_V, checked=["a_p", "a_d"], limits=limits, limit_params=["a_p", "a_d"]
        )
    )
    if fit.result is None:
        return None
    v, se = fit.values, fit.stderr
    ltp = _Branch(v["g_min"], v["g_max"], v["a_p"], se["a_p"], n_total)
    ltd = _Branch(v["g_max"], v["g_min"], v["a_d"], se["a_d"], n_total)
    return ltp, ltd, v["g_min"], v["g_max"]


def _fit_separate(
    row,
    m_p,
    w_p,
    m_d,
    w_d,
    n_total,
    n_total_d,
    lo,
    hi,
    max_nfev,
    noise_V,
    limits,
    signed_nl,
    grid_p,
    grid_d,
    batched_p=None,
    batched_d=None,
):
    """Each branch with its own bounds (3 parameters each) from its grid start; fills ``row``
    (status the worst of the two branches); the two branches as curves, or None when a branch
    fit failed. ``batched_p``/``batched_d``: a branch's fit already made by
    :func:`_batch_branch_fits` (None: lmfit fits it here)."""
    fp = batched_p or _branch_fit(m_p, w_p, n_total, lo, hi, max_nfev, grid_p)
    fd = batched_d or _branch_fit(m_d, w_d, n_total_d, hi, lo, max_nfev, grid_d)
    convex_p, convex_d = grid_p.convex, grid_d.convex
    # the shape the data show; fitted with A < 0 only if signed_nl, otherwise flagged
    row["ltp_shape"] = "accelerating" if convex_p else "saturating"
    row["ltd_shape"] = "accelerating" if convex_d else "saturating"
    unfitted = [b for b, c in (("ltp", convex_p), ("ltd", convex_d)) if c and not signed_nl]
    row["n_pulses_ltd"] = n_total_d
    row["converged"] = bool(fp.converged and fd.converged)
    qualities = {
        b: fit_quality(f, noise_V, checked=["a"], limits=limits, limit_params=["a"])
        for b, f in (("ltp", fp), ("ltd", fd))
    }
    for b, q in qualities.items():
        row.update({f"{b}_{k}": v for k, v in q.items() if k not in ("noise_sd",)})
    row["noise_sd"] = float(noise_V)
    row["status"] = str(worst(q["status"] for q in qualities.values()))
    row["reason"] = join_reasons(f"{b}: {q['reason']}" for b, q in qualities.items() if q["reason"])
    if unfitted:  # a convex branch under the saturating model: never ok
        row["status"] = str(worst([row["status"], Status.POOR_FIT]))
        row["reason"] = join_reasons(
            [row["reason"], *(f"{b}: {CONVEX_UNFITTED}" for b in unfitted)]
        )
    row["n_points"] = fp.n_points + fd.n_points
    for key in ("aic", "bic"):
        row[key] = sum(
            float(getattr(f.result, key)) if f.result is not None else np.nan for f in (fp, fd)
        )
    row.update(fp.row(["a"], units={"a": "pulses"}, prefix="ltp_"))
    row.update(fd.row(["a"], units={"a": "pulses"}, prefix="ltd_"))
    row.update(fp.row(["start", "end"], units={"start": "V", "end": "V"}, prefix="ltp_"))
    row.update(fd.row(["start", "end"], units={"start": "V", "end": "V"}, prefix="ltd_"))
    # Contract names: A_P, A_D and the union of the branch bounds.
    for br, src in (("p", "ltp_"), ("d", "ltd_")):
        for suffix in ("", "_stderr", "_ci95_lo", "_ci95_hi"):
            row[f"a_{br}{suffix}_pulses"] = row.pop(f"{src}a{suffix}_pulses")
    if fp.result is None or fd.result is None:
        return None
    vp, vd = fp.values, fd.values
    cand_min = [(vp["start"], fp.stderr["start"]), (vd["end"], fd.stderr["end"])]
    cand_max = [(vp["end"], fp.stderr["end"]), (vd["start"], fd.stderr["start"])]
    g_min, g_min_se = min(cand_min)
    g_max, g_max_se = max(cand_max)
    row.update(
        {"g_min_V": g_min, "g_min_stderr_V": g_min_se, "g_max_V": g_max, "g_max_stderr_V": g_max_se}
    )
    ltp = _Branch(vp["start"], vp["end"], vp["a"], fp.stderr["a"], n_total)
    ltd = _Branch(vd["start"], vd["end"], vd["a"], fd.stderr["a"], n_total_d)
    return ltp, ltd, g_min, g_max


def _nl_labels(
    row: dict, ltp: _Branch, ltd: _Branch, rng: float, w_p: np.ndarray, w_d: np.ndarray
) -> None:
    """Signed NL labels with delta-method errors, and the symmetric NL of curves and data."""
    # dNL/da by central difference. Signed labels: |label| from |A|/N, the sign of A (a
    # convex, accelerating branch is < 0).
    for key, branch in (("nl_ltp", ltp), ("nl_ltd", ltd)):
        a = abs(branch.a) / branch.n_total
        h = 1e-5 * a
        slope = (nl_label_from_a(a + h) - nl_label_from_a(a - h)) / (2 * h)
        row[key] = float(np.sign(branch.a)) * nl_label_from_a(a)
        row[f"{key}_stderr"] = abs(slope) * branch.a_stderr / branch.n_total
    # Symmetric NL on the state index P = 0..N (LTD after k pulses sits at P = N - k),
    # each branch normalised to the bounds it spans.
    n_total = ltp.n_total
    P = np.arange(n_total + 1, dtype=float)
    g_p = ltp(P)
    g_d = ltd(ltd.n_total * (1.0 - P / n_total))  # the same fraction of each branch
    row["symmetric_nl"] = float(np.max(np.abs(g_p - g_d)) / rng) if rng else np.nan
    n_idx = np.arange(1, min(len(w_p), n_total))
    k_idx = n_total - n_idx
    okk = (k_idx >= 1) & (k_idx <= len(w_d))
    diffs = np.abs(w_p[n_idx[okk] - 1] - w_d[k_idx[okk] - 1])
    row["symmetric_nl_data"] = (
        float(np.nanmax(diffs)) / rng if okk.any() and rng and np.isfinite(diffs).any() else np.nan
    )


def _levels_and_noise(
    row,
    ltp,
    ltd,
    rng,
    m_p,
    w_p,
    m_d,
    w_d,
    n_par,
    read_noise_V,
    start_V,
    step_window_pulses,
    n_sigma_states,
):
    """Read noise, distinguishable levels per branch and the cycle-to-cycle step sigma."""
    resid = np.concatenate([w_p - ltp(m_p), w_d - ltd(m_d)])
    n_fin = int(np.isfinite(resid).sum())
    sigma_fit = float(np.sqrt(np.nansum(resid**2) / max(n_fin - n_par, 1)))
    sigma_read = float(read_noise_V) if read_noise_V is not None else sigma_fit
    row["residual_sd_V"] = sigma_fit
    row["read_noise_V"] = sigma_read
    # Levels the device holds: measured mean step against the pulse-to-pulse step noise (no
    # fitted curve enters, so a model that misdescribes the branch cannot collapse the count).
    # The level before a branch's first pulse counts when known: the LTD branch starts from the
    # last LTP weight, the LTP branch from ``start_V`` (the read before the first pulse).
    ltp_levels = np.concatenate([[np.nan if start_V is None else start_V], w_p])
    ltd_levels = np.concatenate([w_p[-1:], w_d])
    for branch, w in (("ltp", ltp_levels), ("ltd", ltd_levels)):
        w = w[np.flatnonzero(np.isfinite(w))[0] :] if np.isfinite(w).any() else w
        res = step_resolution(w[None, :], window=step_window_pulses, n_sigma=n_sigma_states)
        row[f"n_states_{branch}"] = res["n_states"]
        row[f"step_noise_{branch}_V"] = res["step_noise"]
    row["n_states"] = min(row["n_states_ltp"], row["n_states_ltd"])
    # Cycle-to-cycle step sigma from step residuals within each branch.
    sr = np.concatenate([np.diff(w_p) - np.diff(ltp(m_p)), np.diff(w_d) - np.diff(ltd(m_d))])
    var = float(np.nanvar(sr, ddof=1)) if np.isfinite(sr).sum() > 1 else np.nan
    if read_noise_V is not None and np.isfinite(var):
        var = max(var - 2 * read_noise_V**2, 0.0)
    row["c2c_step_sigma_V"] = float(np.sqrt(var))
    row["c2c_sigma_frac"] = float(np.sqrt(var) / rng) if rng else np.nan


def fit_ltp_ltd(
    weights: pd.DataFrame,
    n_pulses: int | None = None,
    *,
    bounds: str = "separate",
    read_noise_V: float | None = None,
    n_sigma_states: float = 1.0,
    max_nfev: int | None = None,
    noise_V: float = np.nan,
    limits: QualityLimits = DEFAULT_LIMITS,
    signed_nl: bool = False,
    n_pulses_ltd: int | None = None,
    step_window_pulses: int = 9,
    start_V: float | None = None,
) -> dict[str, object]:
    """Fit the NeuroSim model to one LTP/LTD cycle; one table row.

    Bad data never raise: too few weights or a failed fit give a row with ``status`` failed
    and the reason. Only an invalid ``bounds`` (a programming error) raises ValueError.

    Parameters
    ----------
    weights
        Output of :func:`ltp_ltd_weights` (``phase``, ``pulse_number``, ``weight_V``).
    n_pulses
        N, pulses per half-cycle (default: the number of LTP pulses found).
    bounds
        ``"separate"`` (default): each branch has its own bounds (3 parameters each), so A_P
        and A_D stay unbiased when LTD does not return to the LTP start (a current-driven
        capacitor driven by -I relaxes towards a negative PSV); ``g_min_V``/``g_max_V`` are then
        the union of the branch bounds. ``"shared"``: one joint fit, one pair of bounds
        (NeuroSim's literal form, 4 parameters).
    read_noise_V
        Read noise of one weight read; default: the fit's residual standard deviation.
    n_sigma_states, step_window_pulses
        A level counts as distinguishable if the mean step into it exceeds ``n_sigma_states``
        times the pulse-to-pulse noise of a step (:func:`step_resolution`, local means over
        ``step_window_pulses`` pulses).
    signed_nl
        Let each branch of ``bounds="separate"`` be accelerating (A < 0, negative NL label) as
        well as saturating; if False, A > 0 only and a convex branch ends on its bound.
    n_pulses_ltd
        Pulses of the LTD branch when it differs from ``n_pulses`` (``bounds="separate"``).
    start_V
        Weight before the first LTP pulse, if read (adds the first step to the level count).
    noise_V, limits
        Noise of one weight read measured on the trace, and the thresholds of
        :func:`~fmes.analysis._fit.fit_quality`: ``status``/``reason`` of the row (the worst of
        the two branches with ``bounds="separate"``).
    """
    return fit_ltp_ltd_batch(
        [weights],
        [n_pulses],
        bounds=bounds,
        read_noise_V=read_noise_V,
        n_sigma_states=n_sigma_states,
        max_nfev=max_nfev,
        noise_V=[noise_V],
        limits=limits,
        signed_nl=signed_nl,
        n_pulses_ltd=n_pulses_ltd,
        step_window_pulses=step_window_pulses,
        start_V=[start_V],
    )[0]


@dataclass
class _Cycle:
    """One LTP/LTD cycle prepared for fitting: its row so far and its branch arrays."""

    row: dict
    m_p: np.ndarray
    w_p: np.ndarray
    m_d: np.ndarray
    w_d: np.ndarray
    n_total: int
    n_total_d: int
    lo: float
    hi: float


def _prepare_cycle(
    weights: pd.DataFrame | Mapping[str, np.ndarray],
    n_pulses: int | None,
    bounds: str,
    n_pulses_ltd: int | None,
) -> _Cycle | dict:
    """The branch arrays of one cycle, or its finished (failed) row when it is too short."""
    phase = np.asarray(weights["phase"])
    number = np.asarray(weights["pulse_number"], dtype=float)
    weight = np.asarray(weights["weight_V"], dtype=float)
    is_ltp, is_ltd = phase == "ltp", phase == "ltd"
    n_ltp, n_ltd = int(is_ltp.sum()), int(is_ltd.sum())
    n_total = int(n_pulses if n_pulses is not None else n_ltp)
    n_total_d = int(n_pulses_ltd) if n_pulses_ltd is not None and bounds == "separate" else n_total
    row: dict[str, object] = {
        "bounds_mode": bounds,
        "n_pulses": n_total,
        "n_ltp": n_ltp,
        "n_ltd": n_ltd,
    }
    m_p, w_p, m_d, w_d = number[is_ltp], weight[is_ltp], number[is_ltd], weight[is_ltd]
    if np.isfinite(w_p).sum() < 4 or np.isfinite(w_d).sum() < 4 or n_total < 2:
        row.update({f"{k}_{_UNITS[k]}": np.nan for k in _NAMES})
        row.update(
            {
                "converged": False,
                "status": str(Status.FAILED),
                "reason": "need >= 4 LTP and >= 4 LTD weights",
            }
        )
        return row
    y_all = np.concatenate([w_p, w_d])
    y_ok = y_all[np.isfinite(y_all)]
    return _Cycle(
        row, m_p, w_p, m_d, w_d, n_total, n_total_d, float(np.min(y_ok)), float(np.max(y_ok))
    )


def fit_ltp_ltd_batch(
    weights: Sequence[pd.DataFrame | Mapping[str, np.ndarray]],
    n_pulses: Sequence[int | None] | None = None,
    *,
    bounds: str = "separate",
    read_noise_V: float | None = None,
    n_sigma_states: float = 1.0,
    max_nfev: int | None = None,
    noise_V: Sequence[float] | None = None,
    limits: QualityLimits = DEFAULT_LIMITS,
    signed_nl: bool = False,
    n_pulses_ltd: int | None = None,
    step_window_pulses: int = 9,
    start_V: Sequence[float | None] | None = None,
    batched: bool = True,
) -> list[dict[str, object]]:
    """:func:`fit_ltp_ltd` of many cycles at once: one row per cycle, the same rows as one call
    per cycle (within the optimizer's tolerance). ``n_pulses``, ``noise_V`` and ``start_V`` are
    per cycle (None: the defaults of :func:`fit_ltp_ltd`), the other arguments shared.

    With ``bounds="separate"`` the start values of all branches come from one vectorised
    variable-projection grid (:func:`_profile_starts`), so each branch's lmfit fit starts next to
    its optimum. With ``batched`` (and no ``max_nfev``) the branch fits themselves are then
    solved together as stacked arrays (:func:`_batch_branch_fits`: Levenberg-Marquardt, one
    3-parameter problem per branch), each branch keeping its own convergence verdict, standard
    errors and quality status; a branch that does not settle there (no convergence, near a
    bound) is fitted by lmfit, as every branch is with ``batched=False`` (the reference).
    """
    if bounds not in {"separate", "shared"}:
        raise ValueError("bounds must be 'separate' or 'shared'")
    n_pulses, noise_V, start_V = _per_cycle_arguments(len(weights), n_pulses, noise_V, start_V)
    cycles = [
        _prepare_cycle(w, n, bounds, n_pulses_ltd) for w, n in zip(weights, n_pulses, strict=True)
    ]
    fitted = [c for c in cycles if isinstance(c, _Cycle)]
    # the batched engine reaches the optimum; with an evaluation limit lmfit's stop is the rule
    batched = batched and max_nfev is None
    starts = _separate_starts(fitted, signed_nl, batched) if bounds == "separate" else {}
    rows = []
    for cycle, noise, start in zip(cycles, noise_V, start_V, strict=True):
        if not isinstance(cycle, _Cycle):
            rows.append(cycle)
            continue
        result = _fit_cycle(
            cycle, bounds, noise, limits, max_nfev, signed_nl, starts.get(id(cycle))
        )
        if result is not None:
            _finish_row(
                cycle, result, bounds, read_noise_V, start, step_window_pulses, n_sigma_states
            )
        rows.append(cycle.row)
    return rows


def _per_cycle_arguments(
    n_cycles: int,
    n_pulses: Sequence[int | None] | None,
    noise_V: Sequence[float] | None,
    start_V: Sequence[float | None] | None,
) -> tuple[list, list, list]:
    """The per-cycle arguments of :func:`fit_ltp_ltd_batch` as lists of one value per cycle
    (None: each cycle's default), checked for length."""
    n_pulses = [None] * n_cycles if n_pulses is None else list(n_pulses)
    noise_V = [np.nan] * n_cycles if noise_V is None else list(noise_V)
    start_V = [None] * n_cycles if start_V is None else list(start_V)
    if not len(n_pulses) == len(noise_V) == len(start_V) == n_cycles:
        raise ValueError(
            "fit_ltp_ltd_batch: n_pulses, noise_V and start_V need one value per cycle"
        )
    return n_pulses, noise_V, start_V


def _separate_starts(fitted: list[_Cycle], signed_nl: bool, batched: bool) -> dict[int, tuple]:
    """The (LTP, LTD) start values of every cycle's branches, keyed by ``id(cycle)``, from one
    vectorised variable-projection grid over all branches (:func:`_profile_starts`), then, if
    ``batched``, the branch fits that :func:`_batch_branch_fits` settles (else None)."""
    branches = [(c.m_p, c.w_p, c.n_total) for c in fitted] + [
        (c.m_d, c.w_d, c.n_total_d) for c in fitted
    ]
    grid = _profile_starts(branches, signed_nl)
    done = _batch_branch_fits(branches, grid) if batched else [None] * len(branches)
    n = len(fitted)
    return dict(
        zip(
            map(id, fitted),
            zip(grid[:n], grid[n:], done[:n], done[n:], strict=True),
            strict=True,
        )
    )


def _fit_cycle(
    c: _Cycle,
    bounds: str,
    noise_V: float,
    limits: QualityLimits,
    max_nfev: int | None,
    signed_nl: bool,
    starts: tuple | None,
) -> tuple | None:
    """The branch fits of one cycle, shared or separate bounds (None if they failed; the row
    then already says why)."""
    if bounds == "shared":
        return _fit_shared(
            c.row, c.m_p, c.w_p, c.m_d, c.w_d, c.n_total, c.lo, c.hi, max_nfev, noise_V, limits
        )
    return _fit_separate(
        c.row,
        c.m_p,
        c.w_p,
        c.m_d,
        c.w_d,
        c.n_total,
        c.n_total_d,
        c.lo,
        c.hi,
        max_nfev,
        noise_V,
        limits,
        signed_nl,
        *starts,
    )


def _finish_row(
    c: _Cycle, fitted, bounds, read_noise_V, start_V, step_window_pulses, n_sigma_states
) -> None:
    """NL labels, dynamic range, levels and noise of a fitted cycle (into ``c.row``)."""
    row, w_p, w_d = c.row, c.w_p, c.w_d
    ltp_curve, ltd_curve, g_min, g_max = fitted
    rng = g_max - g_min
    row["range_V"] = rng
    _nl_labels(row, ltp_curve, ltd_curve, rng, w_p, w_d)
    row["mean_dw_ltp_V"] = float(np.nanmean(np.diff(w_p)))
    row["mean_dw_ltd_V"] = float(np.nanmean(np.diff(w_d)))
    row["w_max_V"] = c.hi
    row["w_min_V"] = c.lo
    first = float(w_p[0]) if len(w_p) else np.nan
    row["w_max_over_w_min"] = float(np.nanmax(w_p)) / first if first > 0 else np.nan
    _levels_and_noise(
        row,
        ltp_curve,
        ltd_curve,
        rng,
        c.m_p,
        w_p,
        c.m_d,
        w_d,
        4 if bounds == "shared" else 6,
        read_noise_V,
        start_V,
        step_window_pulses,
        n_sigma_states,
    )


def nominal_ok_fits(fits: pd.DataFrame, nominal_device: str) -> pd.DataFrame:
    """The ``ok`` cycle fits of the nominal device, or every ``ok`` fit when it has none (a
    data set of array devices only): the fits the LTP/LTD figures summarise."""
    ok = fits["status"] == Status.OK.value
    nominal = fits[(fits["device_id"] == nominal_device) & ok]
    return nominal if len(nominal) else fits[ok]


#: Fit column -> its per-state mean in :func:`state_summary`.
_STATE_MEANS = {
    "nl_ltp": "nl_ltp",
    "nl_ltd": "nl_ltd",
    "mean_dw_ltp_V": "dw_ltp",
    "mean_dw_ltd_V": "dw_ltd",
    "nl_ltp_stderr": "nl_ltp_se",
    "nl_ltd_stderr": "nl_ltd_se",
    "g_min_V": "g_min",
    "g_max_V": "g_max",
    "w_max_over_w_min": "ratio",
}


def state_summary(fits: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Per resistance state (rows in the order of ``labels``; NaN for a state without fits): the
    mean and sample std of the NL labels, the mean Δw per pulse, the mean stderr of the NL
    labels, the weight bounds and W_max/W_min over the cycle fits ``fits``; ``nl_ltp_err`` and
    ``nl_ltd_err`` are the error bars of Fig 3h/3i: the spread over cycles where a state has
    several, else the fit's own stderr."""
    grouped = fits.groupby("resistance_label")
    means = grouped[list(_STATE_MEANS)].mean().rename(columns=_STATE_MEANS)
    spreads = grouped[["nl_ltp", "nl_ltd"]].std().add_suffix("_sd")
    summary = means.join(spreads).reindex(labels)
    for key in ("ltp", "ltd"):
        summary[f"nl_{key}_err"] = summary[f"nl_{key}_sd"].fillna(summary[f"nl_{key}_se"])
    return summary


def fitted_branch(
    fit: Mapping[str, Any], phase: str, n_pulses: int, unit: str = "V"
) -> tuple[np.ndarray, np.ndarray]:
    """Pulse numbers 0 .. ``n_pulses`` and the fitted :func:`relaxation_curve` of one branch of
    a cycle fit row: ``phase`` "ltp" (``ltp_start_<unit>`` to ``ltp_end_<unit>``, A =
    ``a_p_pulses``) or "ltd" (``ltd_*``, A = ``a_d_pulses``)."""
    pulses = np.arange(0, n_pulses + 1)
    a = fit["a_p_pulses"] if phase == "ltp" else fit["a_d_pulses"]
    start, end = fit[f"{phase}_start_{unit}"], fit[f"{phase}_end_{unit}"]
    return pulses, relaxation_curve(pulses, start, end, a, n_pulses)


def cycle_pulse_index(weights: pd.DataFrame, n_pulses: int) -> np.ndarray:
    """Each weight's pulse index through its cycle (:func:`ltp_ltd_weights` rows): an LTP weight
    at its ``pulse_number``, an LTD weight after the cycle's ``n_pulses`` LTP pulses."""
    return np.where(
        weights["phase"] == "ltp", weights["pulse_number"], n_pulses + weights["pulse_number"]
    )
