"""I-V loops of the voltage-driven sweep (Fig. 2b).

Contract (raw/README.md): in ``iv_sweep`` the voltage runs 0 -> ``v_max_V`` -> 0 and the current is
measured. The **forward branch** is every sample up to the first maximum of the applied voltage,
the backward branch the rest. The current at a target voltage (0.6 V, the paper's quoted
1.6 mA at 500 ohm and 0.47 mA at 8000 ohm) is read on the forward branch by a local straight-line
fit of I(V) over the samples within ``half_window_V`` of the target (averages the noise and
gives a standard error); with fewer than 3 such samples it falls back to linear interpolation
(stderr NaN, status ``flagged``).

Fit quality (as for every fit, :func:`fmes.analysis._fit.fit_quality`): the residual sd of the
local line is compared with the current noise measured on the forward branch itself (1.4826 MAD
of the second differences / sqrt(1.5)); more than ``residual_factor`` times it, or a 95 %
interval wider than the value, gives ``poor_fit``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from fmes.core.status import Status, join_reasons

__all__ = ["current_at_voltage", "iv_branches"]


def iv_branches(voltage_V: np.ndarray, current_A: np.ndarray) -> pd.DataFrame:
    """Tidy I-V loop: ``voltage_V, current_A, branch`` (forward/backward)."""
    v = np.asarray(voltage_V, float)
    i = np.asarray(current_A, float)
    k = int(np.argmax(v))
    branch = np.where(np.arange(v.size) <= k, "forward", "backward")
    return pd.DataFrame({"voltage_V": v, "current_A": i, "branch": branch})


def current_at_voltage(
    voltage_V: np.ndarray,
    current_A: np.ndarray,
    v_target_V: float = 0.6,
    *,
    half_window_V: float = 0.01,
    residual_factor: float = 3.0,
) -> dict[str, object]:
    """Current on the forward branch at ``v_target_V``; never raises.

    Returns ``current_at_target_A``, its ``stderr``, ``n_samples``, ``residual_sd_A``,
    ``noise_A`` and ``status``/``reason`` (fmes.core.status).
    """
    v = np.asarray(voltage_V, float)
    i = np.asarray(current_A, float)
    k = int(np.argmax(v))
    vf, jf = v[: k + 1], i[: k + 1]
    out: dict[str, object] = {"v_target_V": v_target_V, "v_max_measured_V": float(v[k])}
    if v_target_V > vf.max() or v_target_V < vf.min():
        out.update(
            current_at_target_A=np.nan,
            current_at_target_stderr_A=np.nan,
            n_samples=0,
            status=str(Status.FAILED),
            reason=f"target {v_target_V} V outside the forward sweep [{vf.min():.3g}, {vf.max():.3g}] V",
        )
        return out
    d2 = jf[2:] - 2 * jf[1:-1] + jf[:-2] if jf.size > 2 else np.empty(0)
    noise = (
        float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))
        if d2.size >= 8
        else np.nan
    )
    out["noise_A"] = noise
    sel = np.abs(vf - v_target_V) <= half_window_V
    n = int(sel.sum())
    if n >= 3 and np.ptp(vf[sel]) > 0:
        x = vf[sel] - v_target_V
        coef, cov = (
            np.polyfit(x, jf[sel], 1, cov=True) if n > 3 else (np.polyfit(x, jf[sel], 1), None)
        )
        se = float(np.sqrt(cov[1, 1])) if cov is not None else np.nan
        resid = jf[sel] - np.polyval(coef, x)
        sd = float(np.sqrt(np.sum(resid**2) / max(n - 2, 1)))
        out.update(current_at_target_A=float(coef[1]), current_at_target_stderr_A=se)
        out.update(n_samples=n, residual_sd_A=sd)
        reasons = []
        if np.isfinite(noise) and noise > 0 and sd > residual_factor * noise:
            reasons.append(
                f"residual sd {sd:.3g} A is {sd / noise:.3g} x the current noise {noise:.3g} A"
            )
        if np.isfinite(se) and stats.t.ppf(0.975, max(n - 2, 1)) * se > abs(coef[1]):
            reasons.append("95 % interval of the current wider than its value")
        out.update(
            status=str(Status.POOR_FIT if reasons else Status.OK), reason=join_reasons(reasons)
        )
    else:
        order = np.argsort(vf, kind="stable")
        out.update(
            current_at_target_A=float(np.interp(v_target_V, vf[order], jf[order])),
            current_at_target_stderr_A=np.nan,
            n_samples=n,
            status=str(Status.FLAGGED),
            reason="interpolated: < 3 samples in the window (no standard error)",
        )
    return out
