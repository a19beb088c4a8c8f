"""I-V read-out, ACF memory metric, variability, device_params and a full-trace LTP/LTD check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_analysis_pulses import _rc_trace

from fmes.analysis.acf import acf_memory_metric
from fmes.analysis.device_params import DEVICE_PARAMS_COLUMNS, assemble_device_params
from fmes.analysis.iv import current_at_voltage
from fmes.analysis.ltp_ltd import fit_ltp_ltd, ltp_ltd_weights
from fmes.analysis.pulses import detect_pulses
from fmes.analysis.variability import (
    coefficient_of_variation,
    ecdf,
    grid_position,
    variability_summary,
)


def test_current_at_0p6V_forward_branch():
    v = np.r_[np.linspace(0, 0.8, 801), np.linspace(0.8, 0, 801)[1:]]
    hyst = np.r_[np.ones(801), -np.ones(800)] * 1e-4
    rng = np.random.default_rng(0)
    i = 2e-3 * v + hyst + rng.normal(0, 1e-6, v.size)
    out = current_at_voltage(v, i, 0.6)
    assert out["status"] == "ok"
    assert out["current_at_target_A"] == pytest.approx(1.2e-3 + 1e-4, rel=1e-3)
    far = current_at_voltage(v, i, 0.9)
    assert far["status"] == "failed" and far["reason"].startswith("target")


def test_acf_metric_monotone_in_relaxation_time():
    t = np.linspace(0, 2, 8000)
    vals = [
        acf_memory_metric(
            t, np.where(t < 1, 0, np.exp(-np.maximum(t - 1, 0) / tau)), 1.0, window_s=1.0
        )["acf_std"]
        for tau in (1e-3, 1e-2, 0.1, 1.0, 10.0)
    ]
    assert np.all(np.diff(vals) > 0), vals
    out = acf_memory_metric(t, np.ones_like(t), 1.0, window_s=0.5)
    assert np.isnan(out["acf_std"]) and out["status"] == "failed" and "constant" in out["reason"]
    truncated = acf_memory_metric(t, t, 1.5, window_s=1.0)
    assert truncated["status"] == "flagged" and "truncated" in truncated["reason"]
    padded = acf_memory_metric(t, t, 0.2, window_s=0.5)  # starts before the trace: by design
    assert padded["status"] == "ok" and padded["reason"] == "" and "padded" in padded["window_note"]
    empty = acf_memory_metric(t, t, 3.0, window_s=0.1, pre_s=0.5)
    assert empty["status"] == "failed" and "empty window" in empty["reason"]


def test_full_rc_trace_ltp_ltd_recovers_tau_over_period():
    """RC cell, period T, time constant tau: weights relax by exp(-T/tau) -> A = tau/T."""
    n, period, tau = 20, 2e-3, 2e-2
    onsets = 1e-3 + period * np.arange(2 * n)
    pol = np.r_[np.ones(n), -np.ones(n)]
    t, i, v = _rc_trace(
        onsets, width_s=5e-4, tau_s=tau, polarities=pol, t_end_s=0.085, noise_V=1e-6, jitter=0.3
    )
    w = ltp_ltd_weights(detect_pulses(t, i, v))
    assert (w.groupby("phase").size() == n).all()
    row = fit_ltp_ltd(w, n)
    assert row["converged"], row["reason"]
    assert row["a_p_pulses"] == pytest.approx(tau / period, rel=0.1)
    assert row["a_d_pulses"] == pytest.approx(tau / period, rel=0.1)


def _fits_table():
    rng = np.random.default_rng(1)
    rows = []
    for label in ("500", "8000"):
        for dev in ["nominal"] + [f"r{r}c{c}" for r in range(2) for c in range(3)]:
            for cyc in range(3):
                rows.append(
                    {
                        "resistance_label": label,
                        "device_id": dev,
                        "cycle": cyc,
                        "converged": not (dev == "r0c0" and cyc == 2),
                        "reason": "ok",
                        "g_min_V": 0.1 * rng.normal(1, 0.05),
                        "g_max_V": 0.8 * rng.normal(1, 0.05),
                        "a_p_pulses": 40 * rng.normal(1, 0.1),
                        "a_d_pulses": 25 * rng.normal(1, 0.1),
                        "a_p_stderr_pulses": 1.0,
                        "a_d_stderr_pulses": 1.0,
                        "mean_dw_ltp_V": 0.005,
                        "nl_ltp": 2.0,
                        "nl_ltd": 3.0,
                        "n_states": 60,
                        "n_pulses": 150,
                        "c2c_sigma_frac": 0.01,
                    }
                )
    return pd.DataFrame(rows)


def test_variability_and_device_params_contract():
    fits = _fits_table()
    var = variability_summary(fits)
    d2d = var[(var["kind"] == "d2d") & (var["metric"] == "a_p_pulses")]
    assert (d2d["n_groups"] == 6).all()  # nominal excluded from the array sample
    assert d2d["cv"].between(0.01, 0.3).all()
    assert (var[var["metric"] == "a_p_pulses"]["n_excluded"] == 1).all()
    params, prov = assemble_device_params(fits, var, resistance_order=["8000", "500"])
    assert tuple(params.columns) == DEVICE_PARAMS_COLUMNS
    assert list(params["resistance_label"]) == ["8000", "500"]
    assert params[list(DEVICE_PARAMS_COLUMNS[1:])].notna().all().all()
    # A state without array data borrows the pooled spread and says so.
    only_500 = var[var["resistance_label"] == "500"]
    params2, prov2 = assemble_device_params(fits, only_500)
    assert params2["d2d_a_cv"].notna().all()
    assert prov2["note"].str.contains("pooled").any()


def test_small_helpers():
    assert np.isnan(coefficient_of_variation([1.0]))
    assert coefficient_of_variation([1.0, 3.0]) == pytest.approx(np.sqrt(2) / 2)
    e = ecdf(np.array([3.0, np.nan, 1.0, 2.0]))
    assert list(e["value"]) == [1, 2, 3] and e["cumulative_probability"].iloc[-1] == 1
    assert grid_position("r2c3") == (2, 3) and grid_position("nominal") is None
