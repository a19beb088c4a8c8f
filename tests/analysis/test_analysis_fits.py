"""Parameter recovery (< 10 % at low noise) and interval coverage of the PPF, retention and
LTP/LTD fits; failed convergence is flagged, not raised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmes.analysis.ltp_ltd import (
    NEUROSIM_NL_TABLE,
    a_norm_from_nl,
    fit_ltp_ltd,
    ltp_ltd_curve,
    nl_label_from_a,
    relaxation_curve,
)
from fmes.analysis.ppf import fit_ppf, ppf_double, ppf_single
from fmes.analysis.retention import fit_retention, kohlrausch

DT_S = np.geomspace(2e-3, 1.0, 14)


def _coverage_ok(hits: np.ndarray) -> bool:
    # Nominal 95 %; with 100-200 draws the binomial sd is ~1.5-2.2 %.
    return 0.85 <= float(np.mean(hits)) <= 0.995


# --------------------------------------------------------------------------- PPF
def test_ppf_double_recovery_low_noise():
    rng = np.random.default_rng(1)
    y = ppf_double(DT_S, 0.4, 0.01, 0.2, 0.19) + rng.normal(0, 1e-3, DT_S.size)
    row = fit_ppf(DT_S, y)
    assert row["converged"] and row["model"] == "double"
    for key, true in (("c1", 0.4), ("tau1_s", 0.01), ("c2", 0.2), ("tau2_s", 0.2)):
        assert row[key] == pytest.approx(true, rel=0.1), key
        assert np.isfinite(row[key.replace("_s", "") + "_stderr" + ("_s" if "tau" in key else "")])


def test_ppf_single_chosen_for_single_exponential_data():
    rng = np.random.default_rng(2)
    y = ppf_single(DT_S, 0.3, 0.05) + rng.normal(0, 2e-3, DT_S.size)
    row = fit_ppf(DT_S, y, criterion="bic")
    assert row["model"] == "single"
    assert row["tau1_s"] == pytest.approx(0.05, rel=0.1)


def test_ppf_single_ci95_coverage():
    rng = np.random.default_rng(3)
    hits = []
    for _ in range(200):
        y = ppf_single(DT_S, 0.3, 0.05) + rng.normal(0, 0.01, DT_S.size)
        row = fit_ppf(DT_S, y, model="single")
        hits.append(row["tau1_ci95_lo_s"] <= 0.05 <= row["tau1_ci95_hi_s"])
    assert _coverage_ok(np.array(hits)), np.mean(hits)


def test_ppf_failed_convergence_is_flagged():
    row = fit_ppf(DT_S, ppf_double(DT_S, 0.4, 0.01, 0.2, 0.19), max_nfev=3)
    assert row["converged"] is False and row["reason"] != "ok"
    row = fit_ppf(DT_S[:2], [1.2, 1.1])
    assert row["converged"] is False and "too few points" in row["reason"]
    row = fit_ppf(DT_S, np.full(DT_S.size, np.nan))
    assert row["converged"] is False


# --------------------------------------------------------------------------- retention
T_S = np.geomspace(1e-3, 150.0, 300)


def test_retention_recovery_low_noise():
    rng = np.random.default_rng(4)
    u = kohlrausch(T_S, 0.8, 0.0, 20.0, 0.6) + rng.normal(0, 1e-3, T_S.size)
    row = fit_retention(T_S, u)
    assert row["kww_converged"] and row["exp2_converged"]
    assert row["kww_tau_s"] == pytest.approx(20.0, rel=0.1)
    assert row["kww_beta"] == pytest.approx(0.6, rel=0.1)
    true_frac = float(np.exp(-((100 / 20) ** 0.6)))
    assert row["kww_frac_retained"] == pytest.approx(true_frac, rel=0.1)
    assert row["exp2_frac_retained"] == pytest.approx(true_frac, abs=0.05)


def test_retention_ci95_coverage():
    rng = np.random.default_rng(5)
    hits_tau, hits_beta = [], []
    for _ in range(100):
        u = kohlrausch(T_S, 0.8, 0.0, 20.0, 0.6) + rng.normal(0, 0.01, T_S.size)
        row = fit_retention(T_S, u, n_points=40, models=("kww",))
        hits_tau.append(row["kww_tau_ci95_lo_s"] <= 20.0 <= row["kww_tau_ci95_hi_s"])
        hits_beta.append(row["kww_beta_ci95_lo"] <= 0.6 <= row["kww_beta_ci95_hi"])
    assert _coverage_ok(np.array(hits_tau)), np.mean(hits_tau)
    assert _coverage_ok(np.array(hits_beta)), np.mean(hits_beta)


def test_retention_failure_flagged():
    row = fit_retention(T_S[:4], np.ones(4))
    assert row["kww_converged"] is False and "too few" in row["kww_reason"]
    row = fit_retention(T_S, kohlrausch(T_S, 0.8, 0.0, 20.0, 0.6), max_nfev=2)
    assert row["kww_converged"] is False and row["kww_reason"] != "ok"


# --------------------------------------------------------------------------- LTP/LTD
def _weights(n, w_p, w_d):
    return pd.DataFrame(
        {
            "phase": ["ltp"] * n + ["ltd"] * n,
            "pulse_number": np.r_[np.arange(1, n + 1), np.arange(1, n + 1)],
            "weight_V": np.r_[w_p, w_d],
        }
    )


@pytest.mark.parametrize("bounds", ["separate", "shared"])
def test_ltp_ltd_recovery_low_noise(bounds):
    n = 150
    m = np.arange(1, n + 1)
    rng = np.random.default_rng(6)
    w_p = ltp_ltd_curve(m, 0.1, 0.8, 40.0, 25.0, n) + rng.normal(0, 2e-3, n)
    w_d = ltp_ltd_curve(-m, 0.1, 0.8, 40.0, 25.0, n) + rng.normal(0, 2e-3, n)
    row = fit_ltp_ltd(_weights(n, w_p, w_d), bounds=bounds)
    assert row["converged"], row["reason"]
    for key, true in (("a_p_pulses", 40), ("a_d_pulses", 25), ("g_min_V", 0.1), ("g_max_V", 0.8)):
        assert row[key] == pytest.approx(true, rel=0.1), key
    assert row["nl_ltp"] == pytest.approx(nl_label_from_a(40 / n), rel=0.1)
    assert 1 < row["n_states"] <= n + 1
    # dynamic range: largest weight over the weight after the first potentiating pulse
    first = ltp_ltd_curve(np.array([1]), 0.1, 0.8, 40.0, 25.0, n)[0]
    assert row["w_max_over_w_min"] == pytest.approx(0.8 / first, rel=0.1)


def test_ltp_ltd_asymmetric_device_separate_bounds():
    """An RC driven by -I relaxes below the LTP start; separate bounds keep A unbiased."""
    n = 100
    m = np.arange(1, n + 1)
    w_p = relaxation_curve(m, 0.0, 0.5, 30.0, n)
    w_d = relaxation_curve(m, 0.5, -0.4, 30.0, n)
    row = fit_ltp_ltd(_weights(n, w_p, w_d), bounds="separate")
    assert row["a_p_pulses"] == pytest.approx(30, rel=0.01)
    assert row["a_d_pulses"] == pytest.approx(30, rel=0.01)
    assert row["g_min_V"] == pytest.approx(-0.4, abs=1e-3)


def test_ltp_ltd_ci95_coverage():
    n = 60
    m = np.arange(1, n + 1)
    rng = np.random.default_rng(7)
    hits = []
    for _ in range(200):
        w_p = ltp_ltd_curve(m, 0.1, 0.8, 20.0, 12.0, n) + rng.normal(0, 0.01, n)
        w_d = ltp_ltd_curve(-m, 0.1, 0.8, 20.0, 12.0, n) + rng.normal(0, 0.01, n)
        row = fit_ltp_ltd(_weights(n, w_p, w_d), bounds="shared")
        hits.append(
            (row["a_p_ci95_lo_pulses"] <= 20.0 <= row["a_p_ci95_hi_pulses"])
            & (row["a_d_ci95_lo_pulses"] <= 12.0 <= row["a_d_ci95_hi_pulses"])
        )
    # Joint coverage of two nearly independent 95 % intervals: ~90 %.
    assert 0.80 <= np.mean(hits) <= 0.97, np.mean(hits)


def test_ltp_ltd_failure_flagged():
    n = 50
    row = fit_ltp_ltd(_weights(n, np.full(n, np.nan), np.full(n, np.nan)))
    assert row["converged"] is False
    m = np.arange(1, n + 1)
    w = _weights(n, ltp_ltd_curve(m, 0, 1, 10, 10, n), ltp_ltd_curve(-m, 0, 1, 10, 10, n))
    row = fit_ltp_ltd(w, max_nfev=2)
    assert row["converged"] is False and row["reason"] != "ok"


def test_nl_label_matches_published_table():
    for label, a in NEUROSIM_NL_TABLE.items():
        assert nl_label_from_a(a) == pytest.approx(label, abs=2e-3)
        assert a_norm_from_nl(label) == pytest.approx(a, rel=1e-3)
    assert nl_label_from_a(1e6) < 1e-4  # linear device
