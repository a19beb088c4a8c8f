"""Paired-pulse facilitation (PPF): A1, A2, PPF = A2/A1 and the double-exponential fit.

Conventions (docs/conventions.md, "Synaptic-device metrics"):

- **Peaks from the pre-stimulus baseline**: A1 = peak1 - baseline1 and A2 = peak2 - baseline1,
  where baseline1 is the PSV read before the *first* pulse. This is the convention of the
  paper's Fig. 3c (A1 = 0.094 V, A2 = 0.115 V at 7000 ohm, dt = 10 ms); a local baseline for
  the second pulse gives a different (smaller) index, reported as ``ppf_local_baseline``.
- Δt is onset-to-onset (raw/README.md), measured from the detected edges.
- Fit: PPF(Δt) = 1 + C1 exp(-Δt/τ1) + C2 exp(-Δt/τ2) with τ2 = τ1 + δ, δ > 0 (so the two
  terms cannot swap) and C1, C2 >= 0. A single exponential 1 + C1 exp(-Δt/τ1) is also fitted;
  the model with the lower information criterion (AIC by default, or BIC) among the fits with
  the best status of :func:`~fmes.analysis._fit.fit_quality` is reported (``model`` column); the
  double model needs at least 6 points. A double fit whose slow term is unresolved (τ2 on its
  bound or wider than itself, C2 indistinguishable from 0: the single model plus a slow term
  the window cannot resolve) is ``flagged``, not ``poor_fit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lmfit
import numpy as np
import pandas as pd

from fmes.analysis._fit import DEFAULT_LIMITS, FitOutcome, QualityLimits, fit_quality, run_fit
from fmes.status import Status, join_reasons, worst

__all__ = [
    "fit_ppf",
    "ppf_double",
    "ppf_fit_curve",
    "ppf_from_pulses",
    "ppf_grid",
    "ppf_single",
]


def ppf_from_pulses(
    pulses: pd.DataFrame, noise_V: float = np.nan, n_read: int = 1
) -> dict[str, object]:
    """A1, A2 (V) and PPF from a :func:`~fmes.analysis.pulses.detect_pulses` table.

    Uses the first two complete pulses; ``status``/``reason`` carry the worst read-out status of
    the two (``failed`` without two complete pulses). ``ppf_noise`` is the standard deviation of
    the PPF index implied by the trace noise ``noise_V`` (peak: one sample, baseline: the mean
    of ``n_read`` samples, shared by A1 and A2).
    """
    done = pulses[pulses["complete"]] if "complete" in pulses else pulses
    if len(done) < 2:
        return {
            "a1_V": np.nan,
            "a2_V": np.nan,
            "ppf": np.nan,
            "ppf_local_baseline": np.nan,
            "dt_measured_s": np.nan,
            "ppf_noise": np.nan,
            "status": str(Status.FAILED),
            "reason": f"need two complete pulses, found {len(done)}",
        }
    p1, p2 = done.iloc[0], done.iloc[1]
    a1 = p1["peak_psv_V"] - p1["baseline_psv_V"]
    a2 = p2["peak_psv_V"] - p1["baseline_psv_V"]
    a2_local = p2["peak_psv_V"] - p2["baseline_psv_V"]
    ppf = float(a2 / a1) if a1 != 0 else np.nan
    var_peak, var_base = noise_V**2, noise_V**2 / n_read
    # Var(A2/A1) by the delta method with Cov(A1, A2) = Var(baseline).
    var_ppf = ((var_peak + var_base) * (1 + ppf**2) - 2 * ppf * var_base) / a1**2 if a1 else np.nan
    statuses = [p.get("status", Status.OK) for p in (p1, p2)]
    reasons = [p.get("reason", "") for p in (p1, p2)]
    if len(done) > 2:
        reasons.append(f"used first 2 of {len(done)} pulses")
    status = worst(statuses)
    if not np.isfinite(ppf) and status.has_value:
        status, reasons = Status.FAILED, [*reasons, "A1 not readable"]
    return {
        "a1_V": float(a1),
        "a2_V": float(a2),
        "ppf": ppf,
        "ppf_local_baseline": float(a2_local / a1) if a1 != 0 else np.nan,
        "dt_measured_s": float(p2["onset_s"] - p1["onset_s"]),
        "ppf_noise": float(np.sqrt(var_ppf)) if np.isfinite(var_ppf) else np.nan,
        "status": str(status),
        "reason": join_reasons(reasons) if status != Status.OK else "",
    }


def ppf_single(x: np.ndarray, c1: float, tau1: float) -> np.ndarray:
    """1 + C1 exp(-Δt/τ1)."""
    return 1.0 + c1 * np.exp(-x / tau1)


def ppf_double(x: np.ndarray, c1: float, tau1: float, c2: float, delta: float) -> np.ndarray:
    """1 + C1 exp(-Δt/τ1) + C2 exp(-Δt/(τ1 + δ))."""
    return 1.0 + c1 * np.exp(-x / tau1) + c2 * np.exp(-x / (tau1 + delta))


_NAMES = ["c1", "tau1", "c2", "tau2"]
_UNITS = {"tau1": "s", "tau2": "s"}


def _start_scales(dt: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """What both PPF models start from: the interval span (s; 1 without a spread), the initial
    facilitation amplitude and four log-spaced time constants (s) across the measured intervals.

    ``initial=`` keeps an empty series computable: run_fit flags it.
    """
    span = (float(np.ptp(dt)) if dt.size else 0.0) or 1.0
    c0 = max(float(np.max(y, initial=1.0) - 1.0), 1e-3)
    lo = max(float(np.min(dt, initial=span)), 1e-3 * span)
    taus = np.geomspace(lo, float(np.max(dt, initial=span)), 4)
    return span, c0, taus


def _fit_single(dt, y, max_nfev) -> FitOutcome:
    model = lmfit.Model(ppf_single)
    span, c0, taus = _start_scales(dt, y)

    def cfg(p: lmfit.Parameters) -> None:
        p["c1"].set(min=0.0)
        p["tau1"].set(min=1e-6 * span, max=1e3 * span)

    starts = [{"c1": c0 * 2, "tau1": tau} for tau in taus]
    return run_fit(model, y, dt, starts, cfg, max_nfev=max_nfev)


def _fit_double(dt, y, max_nfev) -> FitOutcome:
    model = lmfit.Model(ppf_double)
    span, c0, taus = _start_scales(dt, y)

    def cfg(p: lmfit.Parameters) -> None:
        p["c1"].set(min=0.0)
        p["c2"].set(min=0.0)
        p["tau1"].set(min=1e-6 * span, max=1e3 * span)
        p["delta"].set(min=1e-9 * span, max=1e4 * span)
        p.add("tau2", expr="tau1 + delta")

    starts = [
        {"c1": c0, "tau1": t1, "c2": c0, "delta": t2 - t1}
        for i, t1 in enumerate(taus)
        for t2 in taus[i + 1 :]
    ]
    return run_fit(model, y, dt, starts, cfg, max_nfev=max_nfev)


def fit_ppf(
    dt_s: np.ndarray,
    ppf: np.ndarray,
    *,
    model: str = "auto",
    criterion: str = "aic",
    max_nfev: int | None = None,
    noise: float | np.ndarray = np.nan,
    limits: QualityLimits = DEFAULT_LIMITS,
) -> dict[str, object]:
    """Fit PPF(Δt); never raises. Returns one flat table row.

    Parameters
    ----------
    dt_s, ppf
        Onset-to-onset interval (s) and PPF index (A2/A1), NaNs ignored.
    model
        ``"auto"`` (both, choose by ``criterion``), ``"double"`` or ``"single"``.
    criterion
        ``"aic"`` or ``"bic"`` for the model choice.
    max_nfev
        Cap on function evaluations (a fit hitting it is flagged non-converged).
    noise, limits
        Standard deviation of each PPF value from the trace noise (scalar or per point; their
        rms is used) and the :func:`~fmes.analysis._fit.fit_quality` thresholds.

    Returns
    -------
    dict with ``model, converged, status, reason, n_points, aic, bic, redchi``, the quality
    numbers of :func:`~fmes.analysis._fit.fit_quality` and value, stderr and 95 % interval of
    ``c1, tau1_s, c2, tau2_s`` (C2/τ2 NaN for the single model), plus ``aic_single,
    aic_double`` for the record.
    """
    if criterion not in {"aic", "bic"}:
        raise ValueError("criterion must be 'aic' or 'bic'")
    dt = np.asarray(dt_s, float)
    y = np.asarray(ppf, float)
    finite = np.isfinite(dt) & np.isfinite(y)
    dt, y = dt[finite], y[finite]
    noise_pts = np.broadcast_to(np.asarray(noise, float), finite.shape)[finite]
    noise_sd = float(np.sqrt(np.nanmean(noise_pts**2))) if np.isfinite(noise_pts).any() else np.nan
    fits: dict[str, FitOutcome] = {}
    if model in {"auto", "single"}:
        fits["single"] = _fit_single(dt, y, max_nfev)
    n_ok = int(np.sum(np.isfinite(dt) & np.isfinite(y)))
    if model == "double" or (model == "auto" and n_ok >= 6):
        fits["double"] = _fit_double(dt, y, max_nfev)
    if not fits:
        raise ValueError("model must be 'auto', 'single' or 'double'")

    def score(name: str) -> float:
        res = fits[name].result
        return float(getattr(res, criterion)) if res is not None else np.inf

    checked = {"single": ["c1", "tau1"], "double": ["c1", "tau1", "c2", "tau2"]}
    # tau2 -> large (or C2 -> 0) is the double model's limiting form: a slow facilitation the
    # window cannot resolve; such a fit is flagged (tau2 is a bound), not poor.
    limit = {"single": [], "double": ["c2", "tau2", "delta"]}
    quality = {
        k: fit_quality(f, noise_sd, checked=checked[k], limits=limits, limit_params=limit[k])
        for k, f in fits.items()
    }
    # The lower criterion among the fits with the best quality status.
    best = min(Status(q["status"]).severity for q in quality.values())
    pool = [k for k in fits if Status(quality[k]["status"]).severity == best]
    chosen = min(pool, key=score)
    out = fits[chosen]
    row: dict[str, object] = {"model": chosen}
    row.update(out.stats_row())
    if chosen == "single":
        out.values.update({"c2": np.nan, "tau2": np.nan})
        out.stderr.update({"c2": np.nan, "tau2": np.nan})
    row.update(out.row(_NAMES, units=_UNITS))
    for name, f in fits.items():
        row[f"{criterion}_{name}"] = (
            float(getattr(f.result, criterion)) if f.result is not None else np.nan
        )
    row.update(quality[chosen])
    return row


def ppf_grid(values: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """PPF over resistance state x nominal interval (Fig 3b): the mean ``ppf`` of the
    read-outs ``values`` per ``resistance_label`` (rows, in the order of ``labels``; states
    without a read-out left out) and ``interval_s`` (columns, ascending)."""
    table = values.pivot_table(index="resistance_label", columns="interval_s", values="ppf")
    return table.reindex([x for x in labels if x in table.index])


def ppf_fit_curve(fit: Mapping[str, Any], dt_s: np.ndarray) -> np.ndarray:
    """The fitted PPF at the intervals ``dt_s`` from a row of the fit table (:func:`fit_ppf`
    columns ``model``, ``c1``, ``tau1_s`` and, for the double model, ``c2``, ``tau2_s``)."""
    if fit["model"] == "double":
        return ppf_double(dt_s, fit["c1"], fit["tau1_s"], fit["c2"], fit["tau2_s"] - fit["tau1_s"])
    return ppf_single(dt_s, fit["c1"], fit["tau1_s"])
