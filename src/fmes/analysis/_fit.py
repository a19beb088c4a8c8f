"""Shared lmfit plumbing: never-raising fits with uncertainty and a convergence verdict.

Every fit in :mod:`fmes.analysis` goes through :func:`run_fit`, which

- catches any exception and turns it into ``converged = False`` with the reason,
- tries several starting points (multi-start) and keeps the lowest chi-square,
- declares convergence only if the optimizer reports success **and** the covariance was
  estimated (``result.errorbars``) with finite standard errors; otherwise the reason says which,
- reports, per parameter, value, 1-sigma stderr (lmfit's covariance scaled by the reduced
  chi-square, i.e. errors estimated from the residual scatter) and a 95 % interval
  ``value +- t_{0.975, n - k} * stderr`` (Student t because the noise level is estimated from
  the same residuals; this is what gives nominal coverage on short curves).

:func:`fit_quality` then says whether the converged fit may be trusted (``status``/``reason`` in
the :mod:`fmes.core.status` vocabulary). It compares the fit with the noise measured on the traces
themselves (never with its own residual): ``poor_fit`` when

- the residual standard deviation exceeds ``residual_factor`` x the trace noise,
- the residuals, ordered by x, are autocorrelated: lag-1 autocorrelation r1 = 1 - d/2 above
  ``max_autocorr``, with d the Durbin-Watson statistic (Durbin & Watson 1950), on at least
  ``min_points_autocorr`` points (a systematic misfit: the model does not describe the curve);
  not tested when the residual sd is below half the trace noise (then the misfit is within it)
  or at rounding level (a perfect fit),
- a free parameter sits on one of its bounds,
- the 95 % interval of a checked parameter is wider than the parameter itself.

A fit that did not converge is ``failed``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import lmfit
import numpy as np
from scipy import stats

from fmes.core.status import Status, join_reasons

#: MINPACK's (scipy.optimize.leastsq, lmfit's default) relative parameter tolerance.
_XTOL = 1.49012e-08


@dataclass
class FitOutcome:
    """Result of :func:`run_fit` (``result`` is the lmfit ModelResult or None)."""

    converged: bool
    reason: str
    result: lmfit.model.ModelResult | None = None
    n_points: int = 0
    values: dict[str, float] = field(default_factory=dict)
    stderr: dict[str, float] = field(default_factory=dict)
    #: the fitted points (finite ones only) and their weights, for :func:`fit_quality`
    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))
    weights: np.ndarray | None = None

    def row(self, names: Iterable[str], prefix: str = "", units: Mapping[str, str] | None = None):
        """Flat dict ``{name_unit, name_stderr_unit, name_ci95_lo_unit, ...}`` for a table."""
        units = units or {}
        out: dict[str, float] = {}
        tq = t_quantile(self.n_points, self.result.nvarys if self.result is not None else 0)
        for name in names:
            u = units.get(name, "")
            sfx = f"_{u}" if u else ""
            val = self.values.get(name, np.nan)
            err = self.stderr.get(name, np.nan)
            out[f"{prefix}{name}{sfx}"] = val
            out[f"{prefix}{name}_stderr{sfx}"] = err
            out[f"{prefix}{name}_ci95_lo{sfx}"] = val - tq * err
            out[f"{prefix}{name}_ci95_hi{sfx}"] = val + tq * err
        return out

    def stats_row(self, prefix: str = "") -> dict[str, object]:
        r = self.result
        return {
            f"{prefix}converged": bool(self.converged),
            f"{prefix}reason": self.reason,
            f"{prefix}n_points": int(self.n_points),
            f"{prefix}aic": float(r.aic) if r is not None else np.nan,
            f"{prefix}bic": float(r.bic) if r is not None else np.nan,
            f"{prefix}redchi": float(r.redchi) if r is not None else np.nan,
        }


@functools.lru_cache(maxsize=4096)  # called per fitted parameter; scipy's ppf is slow per call
def t_quantile(n_points: int, n_params: int, q: float = 0.975) -> float:
    """Student-t quantile with ``n_points - n_params`` degrees of freedom (at least 1)."""
    return float(stats.t.ppf(q, max(n_points - n_params, 1)))


def run_fit(
    model: lmfit.Model,
    y: np.ndarray,
    x: np.ndarray,
    starts: list[Mapping[str, float]],
    configure: Callable[[lmfit.Parameters], None],
    *,
    weights: np.ndarray | None = None,
    max_nfev: int | None = None,
) -> FitOutcome:
    """Fit ``model`` to ``y(x)`` from each start; keep the best; never raise."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if weights is not None:
        weights = np.asarray(weights, float)
        ok &= np.isfinite(weights)
        weights = weights[ok]
    x, y = x[ok], y[ok]

    def make_params(start: Mapping[str, float]) -> lmfit.Parameters:
        return model.make_params(**{k: float(v) for k, v in start.items()})

    def fit(params: lmfit.Parameters):
        return model.fit(y, params, x=x, weights=weights, max_nfev=max_nfev)

    return _best_of_starts(starts, make_params, configure, fit, x, y, weights)


def _outcome(
    best, errors: list[str], x: np.ndarray, y: np.ndarray, weights: np.ndarray | None
) -> FitOutcome:
    """The convergence verdict of the best fit of a multi-start (a ModelResult or MinimizerResult)."""
    n = int(x.size)
    if best is None:
        return FitOutcome(
            False, "fit failed: " + "; ".join(errors[:2]), None, n, x=x, y=y, weights=weights
        )
    values = {k: float(p.value) for k, p in best.params.items()}
    # A standard error below the optimizer's relative parameter tolerance (MINPACK's default
    # xtol) is not resolved: on noise-free data the residuals, hence the covariance, are at
    # rounding level while the parameters are only converged to that tolerance.
    stderr = {
        k: (max(float(p.stderr), _XTOL * abs(float(p.value))) if p.stderr is not None else np.nan)
        for k, p in best.params.items()
    }
    if not best.success:
        reason = f"optimizer did not converge: {best.message}"
        conv = False
    elif not best.errorbars or any(
        not np.isfinite(stderr[k]) for k, p in best.params.items() if p.vary
    ):
        reason = "covariance not estimated (parameter at a bound or degenerate model)"
        conv = False
    else:
        reason = "ok"
        conv = True
    return FitOutcome(conv, reason, best, n, values, stderr, x=x, y=y, weights=weights)


def _better(res, best) -> bool:
    return best is None or (res.success, res.errorbars, -res.chisqr) > (
        best.success,
        best.errorbars,
        -best.chisqr,
    )


def _best_of_starts(
    starts: list[Mapping[str, float]],
    make_params: Callable[[Mapping[str, float]], lmfit.Parameters],
    configure: Callable[[lmfit.Parameters], None],
    fit: Callable[[lmfit.Parameters], Any],
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
) -> FitOutcome:
    """The multi-start loop of both engines: ``fit`` from each start's parameters, keep the
    best (:func:`_better`); a failing or non-finite fit is recorded, never raised."""
    best = None
    errors: list[str] = []
    for start in starts:
        params = make_params(start)
        configure(params)
        nvary = sum(p.vary for p in params.values())
        if x.size <= nvary:
            return FitOutcome(
                False,
                f"too few points ({x.size}) for {nvary} free parameters",
                None,
                int(x.size),
                x=x,
                y=y,
                weights=weights,
            )
        try:
            res = fit(params)
        except Exception as exc:  # a fit must never crash the run
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if not np.isfinite(res.chisqr):
            errors.append("non-finite chi-square")
            continue
        if _better(res, best):
            best = res
    return _outcome(best, errors, x, y, weights)


def _curve_residual(
    params: lmfit.Parameters, function: Callable[..., np.ndarray], x: np.ndarray, y: np.ndarray
):
    return function(x, **params.valuesdict()) - y


def run_curve_fit(
    function: Callable[..., np.ndarray],
    y: np.ndarray,
    x: np.ndarray,
    starts: list[Mapping[str, float]],
    configure: Callable[[lmfit.Parameters], None],
    *,
    max_nfev: int | None = None,
) -> FitOutcome:
    """:func:`run_fit` for a plain ``function(x, **params)`` (unweighted), fitted by lmfit's
    Minimizer (Levenberg-Marquardt, as ``Model.fit``) without a Model: the same optimum,
    standard errors and verdict, without Model's per-fit bookkeeping, which costs more than
    the fit itself for the many short curves of an array campaign. Never raises."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]

    def make_params(start: Mapping[str, float]) -> lmfit.Parameters:
        params = lmfit.Parameters()
        for name, value in start.items():
            params.add(name, value=float(value))
        return params

    def fit(params: lmfit.Parameters):
        minimizer = lmfit.Minimizer(
            _curve_residual, params, fcn_args=(function, x, y), max_nfev=max_nfev
        )
        return minimizer.leastsq()

    return _best_of_starts(starts, make_params, configure, fit, x, y, None)


@dataclass(frozen=True)
class FittedParameter:
    """A fitted parameter as :func:`fit_quality` reads it (lmfit's ``Parameter`` interface:
    ``value``, ``min``, ``max``, ``vary``, ``stderr``), for fits made without lmfit."""

    value: float
    min: float = -np.inf
    max: float = np.inf
    vary: bool = True
    stderr: float | None = None


@dataclass
class LeastSquaresResult:
    """The parts of an lmfit ``MinimizerResult`` that :class:`FitOutcome` and
    :func:`fit_quality` read, for a least-squares fit made by a batched solver: the same
    statistics as lmfit's (``residual`` = model - data, chi-square, reduced chi-square, AIC and
    BIC by lmfit's formulas)."""

    params: dict[str, FittedParameter]
    residual: np.ndarray
    success: bool = True
    errorbars: bool = True
    message: str = "converged"

    def __post_init__(self) -> None:
        self.nvarys = sum(p.vary for p in self.params.values())
        self.ndata = int(self.residual.size)
        self.nfree = self.ndata - self.nvarys
        chisqr = float(np.sum(self.residual**2))
        self.redchi = chisqr / max(1, self.nfree)
        # lmfit's -2 log-likelihood, with its floor for a perfect fit
        self.chisqr = max(chisqr, 1.0e-250 * self.ndata)
        neg2_log_likel = self.ndata * np.log(self.chisqr / self.ndata)
        self.aic = neg2_log_likel + 2 * self.nvarys
        self.bic = neg2_log_likel + np.log(self.ndata) * self.nvarys


def least_squares_outcome(
    values: Mapping[str, float],
    stderr: Mapping[str, float],
    bounds: Mapping[str, tuple[float, float]],
    fixed: Mapping[str, float],
    x: np.ndarray,
    y: np.ndarray,
    model_y: np.ndarray,
) -> FitOutcome:
    """The :class:`FitOutcome` of a converged least-squares fit made without lmfit (finite
    points ``x``, ``y`` and the model at them), with the same standard-error floor and verdict
    as :func:`run_fit`: ``values``/``stderr`` of the free parameters, their ``bounds``, and the
    ``fixed`` parameters."""
    params = {
        k: FittedParameter(float(v), *bounds[k], True, float(stderr[k])) for k, v in values.items()
    }
    params |= {k: FittedParameter(float(v), vary=False) for k, v in fixed.items()}
    result = LeastSquaresResult(params, np.asarray(model_y, float) - np.asarray(y, float))
    return _outcome(result, [], np.asarray(x, float), np.asarray(y, float), None)


@dataclass(frozen=True)
class QualityLimits:
    """Thresholds of :func:`fit_quality` (config ``analysis.fit_quality``)."""

    residual_factor: float = 3.0
    max_autocorr: float = 0.6
    min_points_autocorr: int = 10


#: Default thresholds (the pipeline passes ``analysis.fit_quality`` from the config).
DEFAULT_LIMITS = QualityLimits()


def _on_bound(p: lmfit.Parameter) -> str | None:
    for side, bound in (("lower", p.min), ("upper", p.max)):
        if np.isfinite(bound) and abs(p.value - bound) <= 1e-6 * max(abs(bound), 1e-300):
            return side
    return None


def _sorted_residuals(fit: FitOutcome) -> np.ndarray:
    """The unweighted residuals (data - model) of a converged fit, in order of x."""
    res = fit.result
    resid = -np.asarray(res.residual, float)
    if fit.weights is not None:
        resid = resid / fit.weights
    return resid[np.argsort(fit.x, kind="stable")]


def _residual_sd(resid: np.ndarray, n_varys: int, y: np.ndarray) -> float:
    """The residual standard deviation (per degree of freedom); 0 at the optimizer's numerical
    precision (a perfect fit)."""
    dof = max(resid.size - n_varys, 1)
    sd = float(np.sqrt(np.sum(resid**2) / dof))
    y_rms = float(np.sqrt(np.mean(y**2))) if y.size else 0.0
    return 0.0 if sd <= 1e-7 * y_rms else sd


def _noise_check(sd: float, noise_sd: float, limits: QualityLimits) -> tuple[float, list[str]]:
    """(residual/noise ratio, reasons): a residual sd beyond ``residual_factor`` times the
    trace noise is a poor fit; NaN and no reason without a noise estimate."""
    if not (np.isfinite(noise_sd) and noise_sd > 0):
        return np.nan, []
    ratio = sd / noise_sd
    if ratio <= limits.residual_factor:
        return ratio, []
    return ratio, [
        f"residual sd {sd:.3g} is {ratio:.3g} x the trace noise {noise_sd:.3g} "
        f"(limit {limits.residual_factor:g})"
    ]


def _autocorrelation_check(
    resid: np.ndarray, sd: float, noise_sd: float, limits: QualityLimits
) -> tuple[float, list[str]]:
    """(Durbin-Watson statistic, reasons): residuals that follow each other (lag-1 correlation
    above ``max_autocorr``) mean the model does not follow the curve. NaN for fewer than 3
    points or zero residuals."""
    ss = float(np.sum(resid**2))
    if not (resid.size >= 3 and ss > 0):
        return np.nan, []
    dw = float(np.sum(np.diff(resid) ** 2) / ss)
    # Residuals far below the trace noise are within it, whatever their pattern; residuals at
    # rounding level (sd 0, a perfect fit) have no pattern to speak of.
    above_noise = sd > 0 and not (np.isfinite(noise_sd) and sd < 0.5 * noise_sd)
    if (
        above_noise
        and resid.size >= limits.min_points_autocorr
        and 1.0 - dw / 2.0 > limits.max_autocorr
    ):
        return dw, [
            f"residuals autocorrelated (Durbin-Watson {dw:.2f}, lag-1 r {1 - dw / 2:.2f} > "
            f"{limits.max_autocorr:g}): the model does not follow the curve"
        ]
    return dw, []


def _parameter_checks(
    fit: FitOutcome, checked: Iterable[str], limit_params: Iterable[str]
) -> tuple[list[str], list[str]]:
    """(reasons, limit reasons): varied parameters on a bound, and ``checked`` parameters whose
    95 % interval is wider than their value; those of ``limit_params`` go to the second list."""
    res = fit.result
    limit_params = set(limit_params)
    reasons: list[str] = []
    limit_reasons: list[str] = []
    for name, p in res.params.items():
        if p.vary and (side := _on_bound(p)):
            where = limit_reasons if name in limit_params else reasons
            where.append(f"{name} on its {side} bound ({p.value:.4g})")
    tq = t_quantile(fit.n_points, res.nvarys)
    for name in checked:
        val, err = fit.values.get(name, np.nan), fit.stderr.get(name, np.nan)
        if np.isfinite(val) and np.isfinite(err) and tq * err > abs(val):
            where = limit_reasons if name in limit_params else reasons
            where.append(
                f"95 % interval of {name} (+-{tq * err:.3g}) wider than its value {val:.3g}"
            )
    return reasons, limit_reasons


def fit_quality(
    fit: FitOutcome,
    noise_sd: float,
    *,
    checked: Iterable[str] = (),
    limits: QualityLimits = DEFAULT_LIMITS,
    limit_params: Iterable[str] = (),
) -> dict[str, object]:
    """Status, reason and the quality numbers of one fit; see the module docstring.

    ``noise_sd`` is the noise of one fitted point estimated from the traces (NaN: the residual
    test is skipped); ``checked`` names the parameters whose 95 % interval must be narrower than
    their value. ``limit_params`` are parameters whose bound is a limiting form of the model
    (NeuroSim A -> large: a linear branch; Kohlrausch beta = 1: a simple exponential): on their
    bound, or unresolved, the curve is still described, so the row is ``flagged`` (the value is
    a bound, not an estimate) rather than ``poor_fit``.
    """
    out: dict[str, object] = {
        "residual_sd": np.nan,
        "noise_sd": float(noise_sd),
        "residual_over_noise": np.nan,
        "durbin_watson": np.nan,
        "lag1_autocorr": np.nan,
    }
    if not fit.converged or fit.result is None:
        return out | {"status": str(Status.FAILED), "reason": fit.reason}
    resid = _sorted_residuals(fit)
    sd = _residual_sd(resid, fit.result.nvarys, fit.y)
    out["residual_sd"] = sd
    out["residual_over_noise"], noise_reasons = _noise_check(sd, noise_sd, limits)
    dw, autocorr_reasons = _autocorrelation_check(resid, sd, noise_sd, limits)
    if np.isfinite(dw):
        out["durbin_watson"] = dw
        out["lag1_autocorr"] = 1.0 - dw / 2.0
    param_reasons, limit_reasons = _parameter_checks(fit, checked, limit_params)
    reasons = noise_reasons + autocorr_reasons + param_reasons
    if reasons:
        status = Status.POOR_FIT
    elif limit_reasons:
        status = Status.FLAGGED
        limit_reasons.append("the data are in the model's limiting form; the value is a bound")
    else:
        status = Status.OK
    return out | {"status": str(status), "reason": join_reasons(reasons + limit_reasons)}
