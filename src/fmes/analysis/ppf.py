"""Paired-pulse facilitation (PPF): A1, A2, PPF = A2/A1 and the double-exponential fit.

Conventions (docs/conventions.md, "Synaptic-device metrics"):

- **Peaks from the pre-stimulus baseline**: A1 = peak1 - baseline1 and A2 = peak2 - baseline1,
  where baseline1 is the PSV read before the *first* pulse. This is the convention of the
  paper's Fig. 3c (A1 = 0.094 V, A2 = 0.115 V at 7000 ohm, dt = 10 ms); a local baseline for
  the second pulse gives a different (smaller) index, reported as ``ppf_local_baseline``.
- Δt is onset-to-onset (raw/README.md), measured from the detected edges.
- Fit: PPF(Δt) = 1 + C1 exp(-Δt/τ1) + C2 exp(-Δt/τ2) with τ2 = τ1 + δ, δ >= 0 (so the two
  terms cannot swap) and C1, C2 >= 0, and the single exponential 1 + C1 exp(-Δt/τ1). Both start
  from a variable-projection grid search over log-spaced τ (the amplitudes solved linearly for
  every τ or τ pair), so the starts follow the data across decades of τ and any interval grid.
  The double model is reported only when its two terms can be separated on the sampled
  intervals (:class:`Separation`: τ2/τ1, the slow term decaying within the intervals, enough
  intervals per term, each term above the noise, finite intervals narrower than the values);
  between separable fits the better quality status, then the lower criterion (AICc by
  default), wins. A second term that lowers the criterion but cannot be separated gives the
  one-term fit, ``flagged`` with the reason (``double_separable`` False); a slow term that
  does not decay within the intervals is, on them, a constant C∞, and the one-term fit with it
  (``single_offset``, 1 + C∞ + C1 exp(-Δt/τ1)) is reported when it describes the curve better.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lmfit
import numpy as np
import pandas as pd

from fmes.analysis._fit import (
    DEFAULT_LIMITS,
    FitOutcome,
    QualityLimits,
    _on_bound,
    fit_quality,
    run_fit,
    t_quantile,
)
from fmes.core.status import Status, join_reasons, worst

__all__ = [
    "DEFAULT_SEPARATION",
    "Separation",
    "fit_ppf",
    "ppf_double",
    "ppf_fit_curve",
    "ppf_from_pulses",
    "ppf_grid",
    "ppf_single",
    "ppf_single_offset",
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


def ppf_single_offset(x: np.ndarray, c1: float, tau1: float, c_inf: float) -> np.ndarray:
    """1 + C∞ + C1 exp(-Δt/τ1): one term plus the facilitation C∞ of a slow term that does not
    decay within the sampled intervals (the double model's limit τ2 -> ∞)."""
    return 1.0 + c_inf + c1 * np.exp(-x / tau1)


_NAMES = ["c1", "tau1", "c2", "tau2", "c_inf"]
_MODEL_PARAMS = {
    "single": ["c1", "tau1"],
    "single_offset": ["c1", "tau1", "c_inf"],
    "double": ["c1", "tau1", "c2", "tau2"],
}
_UNITS = {"tau1": "s", "tau2": "s"}
#: A component is seen while it still holds >= 5 % of its amplitude: Δt <= 3 τ (e^-3 = 0.05).
_SEEN_TAUS = 3.0


@dataclass(frozen=True)
class Separation:
    """When the two-exponential PPF fit is trusted (config ``analysis.ppf.separation``).

    Attributes
    ----------
    min_points
        Fewest finite (Δt, PPF) points for the double model (4 parameters).
    min_tau_ratio
        τ2/τ1 below this: the two terms merge into one (they cannot be told apart).
    max_tau_over_interval
        τ2 above this x the longest interval: the slow term hardly decays within the window.
    min_points_per_component
        Fewest intervals within 3 τ1 (where the fast term is seen) and beyond 3 τ1 (where the
        slow term is seen alone).
    min_component_snr
        Each term's change across the sampled intervals, C (e^(-Δt_min/τ) - e^(-Δt_max/τ)),
        must exceed this x the noise of one PPF value (when the noise is known).
    taus_per_decade
        Density of the log-spaced τ grid of the variable-projection start search.
    """

    min_points: int = 6
    min_tau_ratio: float = 2.0
    max_tau_over_interval: float = 3.0
    min_points_per_component: int = 3
    min_component_snr: float = 3.0
    taus_per_decade: int = 8


#: Default separation settings (the pipeline passes ``analysis.ppf.separation``).
DEFAULT_SEPARATION = Separation()


def _tau_grid(dt: np.ndarray, per_decade: int) -> np.ndarray:
    """Log-spaced time constants (s) from a tenth of the shortest to ten times the longest
    interval: every τ whose term can shape the sampled curve (a decade beyond either end it is
    a constant or already gone)."""
    if not dt.size:
        return np.geomspace(1e-3, 1.0, 4)
    lo = max(float(np.min(dt)), 1e-9) / 10
    hi = max(float(np.max(dt)), lo * 100) * 10
    n = max(int(np.ceil(per_decade * np.log10(hi / lo))) + 1, 4)
    return np.geomspace(lo, hi, n)


def _start_scales(
    dt: np.ndarray, y: np.ndarray, per_decade: int = DEFAULT_SEPARATION.taus_per_decade
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Starting values of the single and double fits by variable projection (Golub & Pereyra
    1973): for each τ (single) and each pair τ1 < τ2 (double) of a log-spaced grid over the
    sampled intervals, the amplitudes C >= 0 follow from a linear least-squares solve, so the
    grid's residual sum of squares maps the whole τ plane at once; the best grid points (a few
    distinct ones) start lmfit. Robust across decades of τ and any interval grid, where fixed
    starts (a few τ between the shortest and longest interval) miss one of the terms.

    Returns (single starts, double starts), best first.
    """
    taus = _tau_grid(dt, per_decade)
    z = y - 1.0
    basis = np.exp(-dt[:, None] / taus[None, :])  # (points, grid)
    gram = basis.T @ basis
    proj = basis.T @ z
    diag = np.diag(gram).copy()
    diag[diag <= 0] = np.inf
    # One term: C = <e, z>/<e, e>, clipped at 0 (C >= 0).
    c_one = np.maximum(proj / diag, 0.0)
    rss_one = z @ z - c_one * proj
    order = np.argsort(rss_one, kind="stable")
    single = [{"c1": max(float(c_one[k]), 1e-3), "tau1": float(taus[k])} for k in order[:3]]
    # Two terms: the 2x2 normal equations for every pair i < j at once.
    i, j = np.triu_indices(taus.size, k=1)
    det = gram[i, i] * gram[j, j] - gram[i, j] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = (gram[j, j] * proj[i] - gram[i, j] * proj[j]) / det
        cj = (gram[i, i] * proj[j] - gram[i, j] * proj[i]) / det
    rss_two = z @ z - ci * proj[i] - cj * proj[j]
    valid = (det > 1e-12 * gram[i, i] * gram[j, j]) & (ci > 0) & (cj > 0) & np.isfinite(rss_two)
    double: list[dict[str, float]] = []
    taken: list[tuple[int, int]] = []
    for k in np.argsort(np.where(valid, rss_two, np.inf), kind="stable"):
        if not valid[k] or len(double) == 4:
            break
        # Distinct starts: not within two grid steps of one already taken.
        if any(abs(i[k] - a) <= 2 and abs(j[k] - b) <= 2 for a, b in taken):
            continue
        taken.append((int(i[k]), int(j[k])))
        t1, t2 = float(taus[i[k]]), float(taus[j[k]])
        double.append({"c1": float(ci[k]), "tau1": t1, "c2": float(cj[k]), "delta": t2 - t1})
    # Always also start from the best single term plus a slower one (a fit the grid's
    # positivity rule may have excluded, e.g. a second term below the noise).
    t_best = single[0]["tau1"]
    double.append(
        {"c1": single[0]["c1"] / 2, "tau1": t_best, "c2": single[0]["c1"] / 2, "delta": 4 * t_best}
    )
    return single, double


def _bounds(dt: np.ndarray) -> tuple[float, float]:
    """τ bounds (s): three decades beyond the sampled intervals either way, so a bound is
    reached only by a term the data cannot describe (flagged by the separation checks)."""
    lo = max(float(np.min(dt, initial=1.0)), 1e-9)
    hi = max(float(np.max(dt, initial=1.0)), lo)
    return lo * 1e-3, hi * 1e3


def _fit_single(dt, y, max_nfev, per_decade=DEFAULT_SEPARATION.taus_per_decade) -> FitOutcome:
    model = lmfit.Model(ppf_single)
    starts, _ = _start_scales(dt, y, per_decade)
    tau_min, tau_max = _bounds(dt)

    def cfg(p: lmfit.Parameters) -> None:
        p["c1"].set(min=0.0)
        p["tau1"].set(min=tau_min, max=tau_max)

    return run_fit(model, y, dt, starts, cfg, max_nfev=max_nfev)


def _fit_double(dt, y, max_nfev, per_decade=DEFAULT_SEPARATION.taus_per_decade) -> FitOutcome:
    model = lmfit.Model(ppf_double)
    _, starts = _start_scales(dt, y, per_decade)
    tau_min, tau_max = _bounds(dt)

    def cfg(p: lmfit.Parameters) -> None:
        p["c1"].set(min=0.0)
        p["c2"].set(min=0.0)
        p["tau1"].set(min=tau_min, max=tau_max)
        p["delta"].set(min=0.0, max=tau_max)
        p.add("tau2", expr="tau1 + delta")

    return run_fit(model, y, dt, starts, cfg, max_nfev=max_nfev)


def _fit_single_offset(
    dt, y, max_nfev, per_decade=DEFAULT_SEPARATION.taus_per_decade
) -> FitOutcome:
    model = lmfit.Model(ppf_single_offset)
    single, _ = _start_scales(dt, y, per_decade)
    tau_min, tau_max = _bounds(dt)
    rest = float(np.min(y, initial=1.0) - 1.0)  # what is left at the longest intervals

    def cfg(p: lmfit.Parameters) -> None:
        p["c1"].set(min=0.0)
        p["tau1"].set(min=tau_min, max=tau_max)

    starts = [start | {"c_inf": rest} for start in single]
    return run_fit(model, y, dt, starts, cfg, max_nfev=max_nfev)


def _criterion(fit: FitOutcome, criterion: str) -> float:
    """AIC, BIC or the small-sample AICc (Hurvich & Tsai 1989) of a fit; inf without one."""
    res = fit.result
    if res is None:
        return np.inf
    if criterion != "aicc":
        return float(getattr(res, criterion))
    n, k = fit.n_points, res.nvarys
    return float(res.aic + 2 * k * (k + 1) / (n - k - 1)) if n - k - 1 > 0 else np.inf


def _separation_reasons(
    fit: FitOutcome, dt: np.ndarray, noise_sd: float, sep: Separation
) -> list[str]:
    """Why the two terms of a double fit cannot be told apart on these intervals (empty: they
    can): too few points, τ2/τ1 too close to 1, the slow term not decaying within the
    intervals, a term sampled on too few intervals, a term's change below the noise, a
    parameter on its bound or with a 95 % interval wider than its value."""
    if dt.size < sep.min_points:
        return [f"{dt.size} intervals, fewer than the {sep.min_points} the two-term model needs"]
    if not fit.converged or fit.result is None:
        return [f"the two-term fit failed ({fit.reason})"]
    v = fit.values
    c1, t1, c2, t2 = v["c1"], v["tau1"], v["c2"], v["tau2"]
    reasons = []
    if t2 < sep.min_tau_ratio * t1:
        reasons.append(
            f"tau2/tau1 = {t2 / t1:.3g} below {sep.min_tau_ratio:g}: the two terms merge into one"
        )
    dt_min, dt_max = float(dt.min()), float(dt.max())
    if t2 > sep.max_tau_over_interval * dt_max:
        reasons.append(
            f"tau2 = {t2:.3g} s is beyond {sep.max_tau_over_interval:g} x the longest interval "
            f"({dt_max:.3g} s): the slow term hardly decays within the sampled intervals"
        )
    n_fast = int(np.sum(dt <= _SEEN_TAUS * t1))
    need = sep.min_points_per_component
    if n_fast < need:
        reasons.append(
            f"{n_fast} interval(s) within 3 tau1 = {_SEEN_TAUS * t1:.3g} s (need {need}): "
            "the fast term is not sampled"
        )
    if dt.size - n_fast < need:
        reasons.append(
            f"{dt.size - n_fast} interval(s) beyond 3 tau1 = {_SEEN_TAUS * t1:.3g} s "
            f"(need {need}): the slow term is not sampled apart from the fast one"
        )
    if np.isfinite(noise_sd) and noise_sd > 0:
        for name, c, t in (("fast", c1, t1), ("slow", c2, t2)):
            change = c * (np.exp(-dt_min / t) - np.exp(-dt_max / t))
            if change < sep.min_component_snr * noise_sd:
                reasons.append(
                    f"the {name} term changes PPF by {change:.3g} across the intervals, below "
                    f"{sep.min_component_snr:g} x the noise {noise_sd:.3g}"
                )
    for name, p in fit.result.params.items():
        if p.vary and (side := _on_bound(p)):
            reasons.append(f"{name} on its {side} bound ({p.value:.4g})")
    tq = t_quantile(fit.n_points, fit.result.nvarys)
    for name in _MODEL_PARAMS["double"]:
        val, err = fit.values[name], fit.stderr.get(name, np.nan)
        if not (np.isfinite(err) and tq * err <= abs(val)):
            reasons.append(
                f"95 % interval of {name} (+-{tq * err:.3g}) wider than its value {val:.3g}"
            )
    return reasons


def fit_ppf(
    dt_s: np.ndarray,
    ppf: np.ndarray,
    *,
    model: str = "auto",
    criterion: str = "aicc",
    max_nfev: int | None = None,
    noise: float | np.ndarray = np.nan,
    limits: QualityLimits = DEFAULT_LIMITS,
    separation: Separation = DEFAULT_SEPARATION,
) -> dict[str, object]:
    """Fit PPF(Δt); never raises. Returns one flat table row.

    Both models start from a variable-projection grid search over τ (:func:`_start_scales`).
    In ``"auto"`` mode the double model is reported when its two terms can be separated on
    these intervals (:class:`Separation`) and it has the better quality status or, at equal
    status, the lower ``criterion``. When the double model lowers the criterion but its terms
    cannot be separated, the single fit is reported and the row is ``flagged`` with the reason
    (``double_separable`` False).

    Parameters
    ----------
    dt_s, ppf
        Onset-to-onset interval (s) and PPF index (A2/A1), NaNs ignored.
    model
        ``"auto"`` (choose), ``"double"`` or ``"single"``.
    criterion
        ``"aicc"`` (default; AIC corrected for few points), ``"aic"`` or ``"bic"``.
    max_nfev
        Cap on function evaluations (a fit hitting it is flagged non-converged).
    noise, limits
        Standard deviation of each PPF value from the trace noise (scalar or per point; their
        rms is used) and the :func:`~fmes.analysis._fit.fit_quality` thresholds.
    separation
        When two terms count as separable (config ``analysis.ppf.separation``).

    Returns
    -------
    dict with ``model, double_separable, converged, status, reason, n_points, aic, bic,
    redchi``, the quality numbers of :func:`~fmes.analysis._fit.fit_quality`, value, stderr
    and 95 % interval of ``c1, tau1_s, c2, tau2_s`` (C2/τ2 NaN for the single model), plus
    ``<criterion>_single, <criterion>_double`` for the record.
    """
    if criterion not in {"aic", "aicc", "bic"}:
        raise ValueError("criterion must be 'aic', 'aicc' or 'bic'")
    if model not in {"auto", "single", "double"}:
        raise ValueError("model must be 'auto', 'single' or 'double'")
    dt = np.asarray(dt_s, float)
    y = np.asarray(ppf, float)
    finite = np.isfinite(dt) & np.isfinite(y)
    dt, y = dt[finite], y[finite]
    noise_pts = np.broadcast_to(np.asarray(noise, float), finite.shape)[finite]
    noise_sd = float(np.sqrt(np.nanmean(noise_pts**2))) if np.isfinite(noise_pts).any() else np.nan
    per_decade = separation.taus_per_decade
    fits: dict[str, FitOutcome] = {}
    if model in {"auto", "single"}:
        fits["single"] = _fit_single(dt, y, max_nfev, per_decade)
    if model == "double" or (model == "auto" and dt.size >= separation.min_points):
        fits["double"] = _fit_double(dt, y, max_nfev, per_decade)
    quality = {
        k: fit_quality(f, noise_sd, checked=_MODEL_PARAMS[k], limits=limits)
        for k, f in fits.items()
    }
    sep_reasons = (
        _separation_reasons(fits["double"], dt, noise_sd, separation) if "double" in fits else []
    )
    separable = "double" in fits and not sep_reasons
    scores = {k: _criterion(f, criterion) for k, f in fits.items()}

    def pick(pool: list[str]) -> str:
        """The best quality status, then the lower criterion."""
        best = min(Status(quality[k]["status"]).severity for k in pool)
        return min(
            (k for k in pool if Status(quality[k]["status"]).severity == best),
            key=lambda k: scores[k],
        )

    note: list[str] = []
    if model != "auto":
        chosen = model
        if model == "double" and sep_reasons:
            note = ["the two terms cannot be separated: " + join_reasons(sep_reasons)]
    else:
        chosen = pick(["single"] + (["double"] if separable else []))
        double = fits.get("double")
        if (
            chosen == "single"
            and not separable
            and double is not None
            and double.converged
            and scores["double"] < scores["single"]
        ):
            # A slow term that does not decay within the intervals is, on them, a constant:
            # the one-term model with that constant describes the curve.
            if double.values["tau2"] > separation.max_tau_over_interval * float(dt.max()):
                fits["single_offset"] = _fit_single_offset(dt, y, max_nfev, per_decade)
                quality["single_offset"] = fit_quality(
                    fits["single_offset"],
                    noise_sd,
                    checked=_MODEL_PARAMS["single_offset"],
                    limits=limits,
                )
                scores["single_offset"] = _criterion(fits["single_offset"], criterion)
                chosen = pick(["single", "single_offset"])
            if not fits[chosen].converged:
                chosen = "double"  # the only fit there is, flagged below
            reported = {
                "single": "the one-term fit is reported",
                "single_offset": "the one-term fit with the slow term as a constant c_inf is "
                "reported",
                "double": "the two-term fit is reported (the one-term fit failed)",
            }[chosen]
            note = [
                f"a second exponential term lowers the {criterion.upper()} "
                f"({scores['double']:.4g} vs {scores['single']:.4g}) but cannot be separated: "
                + join_reasons(sep_reasons)
                + f"; {reported}"
            ]
    out = fits[chosen]
    row: dict[str, object] = {"model": chosen, "double_separable": bool(separable)}
    row.update(out.stats_row())
    for name in _NAMES:
        if name not in _MODEL_PARAMS[chosen]:
            out.values[name] = out.stderr[name] = np.nan
    row.update(out.row(_NAMES, units=_UNITS))
    for name in fits:
        row[f"{criterion}_{name}"] = scores[name]
    row.update(quality[chosen])
    if note:
        row["status"] = str(worst([quality[chosen]["status"], Status.FLAGGED]))
        row["reason"] = join_reasons([*note, str(quality[chosen]["reason"])])
    return row


def ppf_grid(values: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """PPF over resistance state x nominal interval (Fig 3b): the mean ``ppf`` of the
    read-outs ``values`` per ``resistance_label`` (rows, in the order of ``labels``; states
    without a read-out left out) and ``interval_s`` (columns, ascending)."""
    table = values.pivot_table(index="resistance_label", columns="interval_s", values="ppf")
    return table.reindex([x for x in labels if x in table.index])


def ppf_fit_curve(fit: Mapping[str, Any], dt_s: np.ndarray) -> np.ndarray:
    """The fitted PPF at the intervals ``dt_s`` from a row of the fit table (:func:`fit_ppf`
    columns ``model``, ``c1``, ``tau1_s`` and, for the double model, ``c2``, ``tau2_s``, for
    ``single_offset`` ``c_inf``)."""
    if fit["model"] == "double":
        return ppf_double(dt_s, fit["c1"], fit["tau1_s"], fit["c2"], fit["tau2_s"] - fit["tau1_s"])
    if fit["model"] == "single_offset":
        return ppf_single_offset(dt_s, fit["c1"], fit["tau1_s"], fit["c_inf"])
    return ppf_single(dt_s, fit["c1"], fit["tau1_s"])
