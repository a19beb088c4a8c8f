"""Recovery on messy traces: closed-form truths (tests/messy.py) plus instrument artifacts.

At the default artifact levels the read-outs and fits return the known parameters within 10 %
with status ``ok``; an artifact strong enough to break a read-out gives a flagged/failed row,
never a silently wrong ``ok`` one; over repeated messy draws the 95 % intervals contain the truth
at about the nominal rate (or the row is not ``ok``).
"""

from __future__ import annotations

import numpy as np
import pytest
from messy import (
    CLEAN,
    DEFAULT,
    LTPLTDTruth,
    PPFTruth,
    RetentionTruth,
    ltp_ltd_cycle,
    ppf_pair,
    pulse_response,
    retention_trace,
    with_levels,
)

from fmes.analysis.ltp_ltd import fit_ltp_ltd, ltp_ltd_weights
from fmes.analysis.ppf import fit_ppf, ppf_from_pulses
from fmes.analysis.pulses import read_pulses
from fmes.analysis.retention import fit_retention
from fmes.core.status import Status

INTERVALS_S = [
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.2,
    0.5,
    1.0,
]


def _read(trace, **kw):
    return read_pulses(
        trace["time_s"].to_numpy(),
        trace["current_A"].to_numpy(),
        trace["voltage_V"].to_numpy(),
        **kw,
    )


#: read_pulses settings that switch every robust step off (the read-out before this work).
CORRECTIONS_OFF = {
    "max_skew_samples": 0,
    "glitch_sigmas": 0.0,
    "mains_frequency_Hz": None,
    "drift_sigmas": 0.0,
}


def ppf_fit(truth, art, seed=0, read_kw=None):
    rows = []
    for k, dt in enumerate(INTERVALS_S):
        r = _read(ppf_pair(dt, truth, art, seed=1000 * seed + k, tail_s=0.05), **(read_kw or {}))
        rows.append(ppf_from_pulses(r.pulses, r.trace_qc["noise_V"]) | {"interval_s": dt})
    fit = fit_ppf(
        [x["dt_measured_s"] for x in rows],
        [x["ppf"] for x in rows],
        noise=[x["ppf_noise"] for x in rows],
    )
    return rows, fit


def ltp_fit(truth, art, seed=0, read_kw=None, **kw):
    r = _read(ltp_ltd_cycle(truth, art, seed=seed, **kw), **(read_kw or {}))
    return r, fit_ltp_ltd(ltp_ltd_weights(r.pulses), truth.n_pulses, noise_V=r.trace_qc["noise_V"])


def retention_fit(truth, art, seed=0, read_kw=None):
    r = _read(retention_trace(truth, art, seed=seed), **(read_kw or {}))
    t = r.pulses["offset_s"].iloc[-1]
    time_s = np.arange(r.voltage_clean_V.size) / 2000.0
    after = time_s > t
    u = r.voltage_clean_V[after] - r.trace_qc["pre_stimulus_level_V"]
    return r, fit_retention(time_s[after] - t, u, noise_V=r.trace_qc["noise_V"], models=("kww",))


@pytest.mark.parametrize("art", [CLEAN, DEFAULT], ids=["clean", "messy"])
def test_ppf_parameters_and_amplitudes_within_10_percent(art):
    truth = PPFTruth()
    rows, fit = ppf_fit(truth, art)
    assert fit["status"] == Status.OK, fit["reason"]
    assert fit["model"] == "double"
    for name, value in (
        ("c1", truth.c1),
        ("tau1_s", truth.tau1_s),
        ("c2", truth.c2),
        ("tau2_s", truth.tau2_s),
    ):
        assert fit[name] == pytest.approx(value, rel=0.10), name
    at10 = rows[INTERVALS_S.index(0.01)]
    assert at10["status"] == Status.OK
    assert at10["a1_V"] == pytest.approx(truth.a1_V, rel=0.10)
    assert at10["a2_V"] == pytest.approx(truth.a1_V * truth.ppf(0.01), rel=0.10)


@pytest.mark.parametrize("skew", [-3, -2, -1, 0, 1, 2, 3])
def test_channel_skew_estimated_and_does_not_bias_the_read(skew):
    art = with_levels(skew_samples=skew)
    r = _read(pulse_response(0.08, art, seed=skew + 10))
    assert r.trace_qc["skew_samples"] == skew
    change = r.pulses["peak_psv_V"].iloc[0] - r.pulses["baseline_psv_V"].iloc[0]
    # within the noise of two single-sample reads (4 sigma)
    assert abs(change - 0.08) < 4 * np.sqrt(2) * r.trace_qc["noise_V"]
    assert r.pulses["status"].iloc[0] == Status.OK


def test_glitch_on_the_peak_sample_is_repaired_and_counted():
    tr = pulse_response(0.08, with_levels(glitch_fraction=0.0, skew_samples=0), seed=3)
    k_peak = int(round((0.05 + 1e-3) * 10_000)) - 1  # last in-pulse sample
    tr.loc[k_peak, "voltage_V"] += 0.015
    r = _read(tr)
    assert r.trace_qc["glitch_count"] >= 1
    change = r.pulses["peak_psv_V"].iloc[0] - r.pulses["baseline_psv_V"].iloc[0]
    assert change == pytest.approx(0.08, abs=0.002)  # a fake +15 mV would be 19 %


@pytest.mark.parametrize("art", [CLEAN, DEFAULT], ids=["clean", "messy"])
def test_ltp_ltd_a_p_a_d_within_10_percent(art):
    truth = LTPLTDTruth()
    r, fit = ltp_fit(truth, art, seed=5)
    assert fit["status"] == Status.OK, fit["reason"]
    assert fit["a_p_pulses"] == pytest.approx(truth.a_p, rel=0.10)
    assert fit["a_d_pulses"] == pytest.approx(truth.a_d, rel=0.10)


@pytest.mark.parametrize("art", [CLEAN, DEFAULT], ids=["clean", "messy"])
def test_retention_tau_beta_within_10_percent(art):
    truth = RetentionTruth()
    r, fit = retention_fit(truth, art, seed=7)
    assert fit["kww_status"] == Status.OK, fit["kww_reason"]
    assert fit["kww_tau_s"] == pytest.approx(truth.tau_s, rel=0.10)
    assert fit["kww_beta"] == pytest.approx(truth.beta, rel=0.10)


def test_strong_drift_is_measured_and_removed():
    truth = PPFTruth()
    r = _read(ppf_pair(0.01, truth, with_levels(drift_V_per_s=0.05), seed=2))
    assert r.trace_qc["drift_removed"] and r.trace_qc["drift_V_per_s"] == pytest.approx(
        0.05, rel=0.2
    )
    v = ppf_from_pulses(r.pulses, r.trace_qc["noise_V"])
    assert v["ppf"] == pytest.approx(truth.ppf(0.01), rel=0.02)


# ------------------------------------------------------------ artifacts that break a read-out
@pytest.mark.parametrize("skew", [3, 6])
def test_skew_at_or_beyond_the_search_range_is_not_ok(skew):
    r = _read(pulse_response(0.08, with_levels(skew_samples=skew), seed=1), max_skew_samples=3)
    assert r.pulses["status"].iloc[0] != Status.OK, r.trace_qc
    if skew == 6:  # the peak is outside the pulse: not read at all
        assert np.isnan(r.pulses["peak_psv_V"].iloc[0])


def test_pulse_not_longer_than_the_skew_is_failed_not_filled():
    r = _read(
        pulse_response(
            0.08,
            with_levels(skew_samples=3, noise_V=0.0, glitch_fraction=0.0),
            width_s=3e-4,
            seed=1,
        )
    )
    assert r.pulses["status"].iloc[0] == Status.FAILED
    assert np.isnan(r.pulses["peak_psv_V"].iloc[0])


def test_glitch_storm_flags_the_trace():
    r = _read(pulse_response(0.08, with_levels(glitch_fraction=0.03), seed=4))
    assert r.trace_qc["status"] == Status.FLAGGED and "glitches" in r.trace_qc["reason"]


def test_weight_scatter_far_above_the_read_noise_is_poor_fit():
    r, fit = ltp_fit(LTPLTDTruth(), DEFAULT, seed=2, weight_jitter_V=4e-3)
    assert fit["status"] == Status.POOR_FIT and "trace noise" in fit["reason"]


def test_convex_branch_the_model_cannot_describe_is_not_ok():
    truth = LTPLTDTruth()
    n = np.arange(1, truth.n_pulses + 1) / truth.n_pulses
    convex = truth.g_min_V + (truth.g_max_V - truth.g_min_V) * n**3
    _, fit = ltp_fit(truth, DEFAULT, seed=2, weights=(convex, truth.weights()[1]))
    assert fit["status"] != Status.OK
    assert "ltp" in fit["reason"]


def test_two_time_scale_forgetting_is_poor_for_kohlrausch():
    r = _read(retention_trace(RetentionTruth(beta=1.0), DEFAULT, seed=1))
    t = r.pulses["offset_s"].iloc[-1]
    time_s = np.arange(r.voltage_clean_V.size) / 2000.0
    after = time_s > t
    u = r.voltage_clean_V[after] - r.trace_qc["pre_stimulus_level_V"]
    u = u + 0.3 * np.exp(-(time_s[after] - t) / 0.05)  # a fast second process
    fit = fit_retention(time_s[after] - t, u, noise_V=r.trace_qc["noise_V"], models=("kww",))
    assert fit["kww_status"] == Status.POOR_FIT


# ------------------------------------------------------------ coverage over messy draws
def test_ltp_ltd_intervals_cover_the_truth_or_the_row_is_flagged():
    truth = LTPLTDTruth()
    covered = []
    for seed in range(30):
        _, fit = ltp_fit(truth, DEFAULT, seed=100 + seed)
        for name, value in (("a_p", truth.a_p), ("a_d", truth.a_d)):
            inside = fit[f"{name}_ci95_lo_pulses"] <= value <= fit[f"{name}_ci95_hi_pulses"]
            covered.append(inside or fit["status"] != Status.OK)
    assert np.mean(covered) >= 0.85  # nominal 0.95; 60 intervals


def test_ppf_and_retention_intervals_cover_the_truth_or_the_row_is_flagged():
    truth = PPFTruth()
    covered = []
    for seed in range(4):
        _, fit = ppf_fit(truth, DEFAULT, seed=seed + 1)
        for name, value in (
            ("c1", truth.c1),
            ("tau1_s", truth.tau1_s),
            ("c2", truth.c2),
            ("tau2_s", truth.tau2_s),
        ):
            lo, hi = (
                fit[name.replace("_s", "") + "_ci95_lo" + ("_s" if name.endswith("_s") else "")],
                fit[name.replace("_s", "") + "_ci95_hi" + ("_s" if name.endswith("_s") else "")],
            )
            covered.append(lo <= value <= hi or fit["status"] != Status.OK)
    rt = RetentionTruth()
    for seed in range(4):
        _, fit = retention_fit(rt, DEFAULT, seed=200 + seed)
        for name, value in (("tau_s", rt.tau_s), ("beta", rt.beta)):
            key = "kww_" + name.replace("_s", "")
            unit = "_s" if name.endswith("_s") else ""
            covered.append(
                fit[f"{key}_ci95_lo{unit}"] <= value <= fit[f"{key}_ci95_hi{unit}"]
                or fit["kww_status"] != Status.OK
            )
    assert np.mean(covered) >= 0.8  # 24 intervals, nominal 0.95


def test_cycle_to_cycle_cv_of_a_p_a_d_within_10_percent_on_messy_cycles():
    from fmes.analysis.variability import coefficient_of_variation

    rng = np.random.default_rng(11)
    a_p = 15.0 * rng.lognormal(0.0, 0.1, 20)
    a_d = 10.0 * rng.lognormal(0.0, 0.1, 20)
    fits = [
        ltp_fit(LTPLTDTruth(a_p=p, a_d=d), DEFAULT, seed=300 + k)[1]
        for k, (p, d) in enumerate(zip(a_p, a_d, strict=True))
    ]
    assert all(f["status"] == Status.OK for f in fits)
    for name, truth in (("a_p_pulses", a_p), ("a_d_pulses", a_d)):
        recovered = coefficient_of_variation(np.array([f[name] for f in fits]))
        assert recovered == pytest.approx(coefficient_of_variation(truth), rel=0.10), name
