"""I-V loops of the voltage-driven sweep (Fig. 2b).

Contract (DESIGN.md): in ``iv_sweep`` the voltage runs 0 -> ``v_max_V`` -> 0 and the current is
measured. The **forward branch** is every sample up to the first maximum of the applied voltage,
the backward branch the rest. The current at a target voltage (0.6 V, the paper's quoted
1.6 mA at 500 ohm and 0.47 mA at 8000 ohm) is read on the forward branch by a local straight-line
fit of I(V) over the samples within ``half_window_V`` of the target (averages the noise and
gives a standard error); with fewer than 3 such samples it falls back to linear interpolation
(stderr NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
) -> dict[str, object]:
    """Current on the forward branch at ``v_target_V``; never raises.

    Returns ``current_at_target_A``, its ``stderr``, ``n_samples`` and ``status``.
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
            status=f"target {v_target_V} V outside the forward sweep [{vf.min():.3g}, {vf.max():.3g}] V",
        )
        return out
    sel = np.abs(vf - v_target_V) <= half_window_V
    n = int(sel.sum())
    if n >= 3 and np.ptp(vf[sel]) > 0:
        x = vf[sel] - v_target_V
        coef, cov = (
            np.polyfit(x, jf[sel], 1, cov=True) if n > 3 else (np.polyfit(x, jf[sel], 1), None)
        )
        se = float(np.sqrt(cov[1, 1])) if cov is not None else np.nan
        out.update(current_at_target_A=float(coef[1]), current_at_target_stderr_A=se)
        out.update(n_samples=n, status="ok")
    else:
        order = np.argsort(vf, kind="stable")
        out.update(
            current_at_target_A=float(np.interp(v_target_V, vf[order], jf[order])),
            current_at_target_stderr_A=np.nan,
            n_samples=n,
            status="ok (interpolated: < 3 samples in window)",
        )
    return out
