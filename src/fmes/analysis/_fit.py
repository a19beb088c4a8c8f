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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import lmfit
import numpy as np
from scipy import stats


@dataclass
class FitOutcome:
    """Result of :func:`run_fit` (``result`` is the lmfit ModelResult or None)."""

    converged: bool
    reason: str
    result: lmfit.model.ModelResult | None = None
    n_points: int = 0
    values: dict[str, float] = field(default_factory=dict)
    stderr: dict[str, float] = field(default_factory=dict)

    def row(self, names: Iterable[str], prefix: str = "", units: Mapping[str, str] | None = None):
        """Flat dict ``{name_unit, name_stderr_unit, name_ci95_lo_unit, ...}`` for a table."""
        units = units or {}
        out: dict[str, float] = {}
        dof = max(self.n_points - (self.result.nvarys if self.result is not None else 0), 1)
        tq = float(stats.t.ppf(0.975, dof))
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
    n = int(x.size)
    nvary = None
    best: lmfit.model.ModelResult | None = None
    errors: list[str] = []
    for start in starts:
        params = model.make_params(**{k: float(v) for k, v in start.items()})
        configure(params)
        nvary = sum(p.vary for p in params.values())
        if n <= nvary:
            return FitOutcome(False, f"too few points ({n}) for {nvary} free parameters", None, n)
        try:
            res = model.fit(y, params, x=x, weights=weights, max_nfev=max_nfev)
        except Exception as exc:  # a fit must never crash the run
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if not np.isfinite(res.chisqr):
            errors.append("non-finite chi-square")
            continue
        if best is None or (res.success, res.errorbars, -res.chisqr) > (
            best.success,
            best.errorbars,
            -best.chisqr,
        ):
            best = res
    if best is None:
        return FitOutcome(False, "fit failed: " + "; ".join(errors[:2]), None, n)
    values = {k: float(p.value) for k, p in best.params.items()}
    stderr = {
        k: (float(p.stderr) if p.stderr is not None else np.nan) for k, p in best.params.items()
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
    return FitOutcome(conv, reason, best, n, values, stderr)
