"""Retention / forgetting after a pulse train or a single pulse.

Convention (docs/conventions.md, "Synaptic-device metrics"): the forgetting curve after the last
pulse is fitted on **log-spaced time points** - the samples nearest to ``n_points``
log-spaced times between the first sample after the end of stimulation and the end of the
trace (duplicates removed) - so the long sparse tail and the dense early part weigh alike.

Models (time t measured from the end of the last pulse):

- Kohlrausch (stretched exponential): u(t) = u_inf + (u0 - u_inf) exp(-(t/τ)^β), 0 < β <= 1.
- Two-term exponential: u(t) = u_inf + a1 exp(-t/τ1) + a2 exp(-t/τ2), τ2 = τ1 + δ, δ > 0.

``u_inf`` is fixed at 0 V by default: the cell discharges through the regulating resistor and
its own leakage towards 0 V, and when τ is much longer than the observation window (open state:
hours) a free ``u_inf`` is degenerate with τ. Set ``u_inf_free=True`` to fit it.

Fraction retained at ``t_ret`` (default 100 s, the paper's ">100 s" forgetting, Fig. 3g) is
u(t_ret)/u(0) from the fitted curve, with a delta-method standard error from the covariance;
the model-free ratio of the data, u(t_ret) (interpolated) over the first sample after the
stimulus, is reported as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lmfit
import numpy as np
import pandas as pd

from fmes.analysis._fit import DEFAULT_LIMITS, FitOutcome, QualityLimits, fit_quality, run_fit
from fmes.core.status import Status

__all__ = [
    "fit_retention",
    "forgetting_curves",
    "trains_with_value",
    "kohlrausch",
    "log_spaced_points",
    "two_exponential",
]


def kohlrausch(x: np.ndarray, u0: float, u_inf: float, tau: float, beta: float) -> np.ndarray:
    """Stretched exponential u_inf + (u0 - u_inf) exp(-(t/τ)^β)."""
    return u_inf + (u0 - u_inf) * np.exp(-((np.maximum(x, 0.0) / tau) ** beta))


def two_exponential(
    x: np.ndarray, a1: float, tau1: float, a2: float, delta: float, u_inf: float
) -> np.ndarray:
    """u_inf + a1 exp(-t/τ1) + a2 exp(-t/(τ1 + δ))."""
    return u_inf + a1 * np.exp(-x / tau1) + a2 * np.exp(-x / (tau1 + delta))


def log_spaced_points(t_s: np.ndarray, n_points: int = 60) -> np.ndarray:
    """Indices of the samples nearest to ``n_points`` log-spaced times in (t[0], t[-1]].

    ``t_s`` must be increasing and > 0 (time since the end of stimulation).
    """
    t = np.asarray(t_s, float)
    grid = np.geomspace(t[0], t[-1], n_points)
    idx = np.clip(np.searchsorted(t, grid), 1, t.size - 1)
    nearer_left = (grid - t[idx - 1]) < (t[idx] - grid)
    idx = np.where(nearer_left, idx - 1, idx)
    return np.unique(idx)


def _delta_se(fun, res: lmfit.model.ModelResult) -> float:
    """Delta-method standard error of a scalar function of the fitted parameters."""
    if res is None or res.covar is None:
        return np.nan
    names = res.var_names
    p0 = np.array([res.params[k].value for k in names])
    base = fun(dict(zip(names, p0, strict=True)) | _fixed(res))
    grad = np.empty(p0.size)
    for i in range(p0.size):
        h = 1e-6 * max(abs(p0[i]), 1e-12)
        p = p0.copy()
        p[i] += h
        grad[i] = (fun(dict(zip(names, p, strict=True)) | _fixed(res)) - base) / h
    var = float(grad @ res.covar @ grad)
    return float(np.sqrt(var)) if var >= 0 else np.nan


def _fixed(res: lmfit.model.ModelResult) -> dict[str, float]:
    return {k: p.value for k, p in res.params.items() if not p.vary and p.expr is None}


def fit_retention(
    t_s: np.ndarray,
    psv_V: np.ndarray,
    *,
    n_points: int = 60,
    t_ret_s: float = 100.0,
    u_inf_free: bool = False,
    models: tuple[str, ...] = ("kww", "exp2"),
    max_nfev: int | None = None,
    noise_V: float = np.nan,
    limits: QualityLimits = DEFAULT_LIMITS,
) -> dict[str, object]:
    """Fit both forgetting models to ``psv_V(t_s)``; never raises; returns one table row.

    ``t_s`` is time since the end of the last pulse (> 0, increasing). Columns are prefixed
    ``kww_`` (Kohlrausch: ``tau_s, beta, u0_V, frac_retained``) and ``exp2_`` (two-term:
    ``tau1_s, tau2_s, a1_V, a2_V, frac_retained``), each with stderr, 95 % interval,
    ``converged`` and ``reason``; ``frac_retained_data`` is the model-free ratio.
    ``models`` selects which of the two fits to run. ``noise_V`` (the trace's read noise) and
    ``limits`` set each fit's ``status``/``reason`` (:func:`~fmes.analysis._fit.fit_quality`,
    prefixed ``kww_``/``exp2_``).
    """
    t = np.asarray(t_s, float)
    u = np.asarray(psv_V, float)
    keep = np.isfinite(t) & np.isfinite(u) & (t > 0)
    t, u = t[keep], u[keep]
    row: dict[str, object] = {"t_ret_s": t_ret_s}
    if t.size < 6:
        for pre in ("kww_", "exp2_"):
            row[f"{pre}converged"] = False
            row[f"{pre}status"] = str(Status.FAILED)
            row[f"{pre}reason"] = f"too few samples after the stimulus ({t.size})"
        row["frac_retained_data"] = np.nan
        return row
    idx = log_spaced_points(t, n_points)
    tx, ux = t[idx], u[idx]
    row["n_points"] = int(tx.size)
    # u(0): the first sample after the stimulus (after the ohmic drop at the falling edge).
    u_first = float(u[0])
    row["frac_retained_data"] = (
        float(np.interp(t_ret_s, t, u) / u_first) if t[-1] >= t_ret_s and u_first else np.nan
    )

    u_end = float(ux[-1])
    if "kww" in models:
        kfit = _fit_kww(row, tx, ux, t, u_first, u_end, t_ret_s, u_inf_free, max_nfev)
        q = fit_quality(
            kfit, noise_V, checked=["tau", "beta"], limits=limits, limit_params=["beta"]
        )
        row.update({f"kww_{k}": v for k, v in q.items()})
    if "exp2" in models:
        efit = _fit_exp2(row, tx, ux, t, u_first, u_end, t_ret_s, u_inf_free, max_nfev)
        # tau2 -> large / a2 -> 0: a slow term the record cannot resolve (limiting form).
        q = fit_quality(
            efit,
            noise_V,
            checked=["tau1", "tau2", "a1", "a2"],
            limits=limits,
            limit_params=["tau2", "delta", "a2"],
        )
        row.update({f"exp2_{k}": v for k, v in q.items()})
    return row


def _fit_kww(row, tx, ux, t, u_first, u_end, t_ret_s, u_inf_free, max_nfev) -> FitOutcome:
    # --- Kohlrausch
    km = lmfit.Model(kohlrausch)

    def kcfg(p: lmfit.Parameters) -> None:
        p["tau"].set(min=1e-6 * t[0], max=1e6 * t[-1])
        p["beta"].set(min=0.05, max=1.0)
        p["u_inf"].set(value=0.0 if not u_inf_free else p["u_inf"].value, vary=u_inf_free)

    kstarts = [
        {"u0": u_first, "u_inf": u_end if u_inf_free else 0.0, "tau": tau, "beta": beta}
        for tau in np.geomspace(t[0] * 10, t[-1] * 100, 4)
        for beta in (0.5, 0.9)
    ]
    kfit = run_fit(km, ux, tx, kstarts, kcfg, max_nfev=max_nfev)
    row.update(
        kfit.row(
            ["tau", "beta", "u0", "u_inf"],
            prefix="kww_",
            units={"tau": "s", "u0": "V", "u_inf": "V"},
        )
    )
    row.update(_frac(kfit, "kww_", lambda p: kohlrausch(t_ret_s, **p) / kohlrausch(0.0, **p)))
    row.update(kfit.stats_row(prefix="kww_"))
    return kfit


def _fit_exp2(row, tx, ux, t, u_first, u_end, t_ret_s, u_inf_free, max_nfev) -> FitOutcome:
    # --- two-term exponential
    em = lmfit.Model(two_exponential)

    def ecfg(p: lmfit.Parameters) -> None:
        p["tau1"].set(min=1e-6 * t[0], max=1e6 * t[-1])
        p["delta"].set(min=1e-9 * t[-1], max=1e7 * t[-1])
        p["u_inf"].set(value=0.0 if not u_inf_free else p["u_inf"].value, vary=u_inf_free)
        p.add("tau2", expr="tau1 + delta")

    taus = np.geomspace(t[0] * 3, t[-1] * 100, 4)
    estarts = [
        {
            "a1": 0.5 * u_first,
            "tau1": t1,
            "a2": 0.5 * u_first,
            "delta": t2 - t1,
            "u_inf": u_end if u_inf_free else 0.0,
        }
        for i, t1 in enumerate(taus)
        for t2 in taus[i + 1 :]
    ]
    efit = run_fit(em, ux, tx, estarts, ecfg, max_nfev=max_nfev)
    row.update(
        efit.row(
            ["tau1", "tau2", "a1", "a2"],
            prefix="exp2_",
            units={"tau1": "s", "tau2": "s", "a1": "V", "a2": "V"},
        )
    )
    row.update(
        _frac(
            efit,
            "exp2_",
            lambda p: two_exponential(t_ret_s, **_e(p)) / two_exponential(0.0, **_e(p)),
        )
    )
    row.update(efit.stats_row(prefix="exp2_"))
    return efit


def _e(p: dict[str, float]) -> dict[str, float]:
    return {k: p[k] for k in ("a1", "tau1", "a2", "delta", "u_inf")}


def _frac(fit: FitOutcome, prefix: str, fun) -> dict[str, float]:
    if fit.result is None:
        return {f"{prefix}frac_retained": np.nan, f"{prefix}frac_retained_stderr": np.nan}
    vals = {k: p.value for k, p in fit.result.params.items()}
    return {
        f"{prefix}frac_retained": float(fun(vals)),
        f"{prefix}frac_retained_stderr": _delta_se(fun, fit.result),
    }


def forgetting_curves(
    fit: Mapping[str, Any], t_s: np.ndarray, u_inf_free: bool
) -> dict[str, np.ndarray]:
    """The fitted forgetting curves at the times ``t_s`` after a train, from a row of the
    retention table: ``two_exponential`` if that fit converged, ``kohlrausch`` if it converged
    or has a finite τ (a poor fit is still drawn). The asymptote is the fits' fixed 0 V; with
    ``u_inf_free`` it is NaN, so no curve is drawn (the table keeps the Kohlrausch asymptote,
    ``kww_u_inf_V``, but not the two-exponential's)."""
    u_inf = 0.0 if not u_inf_free else np.nan
    curves = {}
    if fit["exp2_converged"]:
        delta = fit["exp2_tau2_s"] - fit["exp2_tau1_s"]
        curves["two_exponential"] = two_exponential(
            t_s, fit["exp2_a1_V"], fit["exp2_tau1_s"], fit["exp2_a2_V"], delta, u_inf
        )
    if fit["kww_converged"] or np.isfinite(fit["kww_tau_s"]):
        curves["kohlrausch"] = kohlrausch(
            t_s, fit["kww_u0_V"], u_inf, fit["kww_tau_s"], fit["kww_beta"]
        )
    return curves


def trains_with_value(table: pd.DataFrame) -> pd.DataFrame:
    """The ``pulse_train`` rows of a retention table whose status carries a value (a poor
    Kohlrausch fit is still a measured forgetting curve)."""
    has_value = table["status"].map(lambda status: Status(status).has_value)
    return table[(table["protocol"] == "pulse_train") & has_value]
