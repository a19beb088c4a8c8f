"""PPF fit recovery against an independent closed-form law, across decades of τ and interval
grids: clean data give every truth inside its 95 % interval with status ``ok``; two terms that
cannot be separated give the one-term fit, ``flagged`` with the reason."""

from __future__ import annotations

import numpy as np
import pytest
from messy import CLEAN, PPFTruth, ppf_series

from fmes.analysis.ppf import fit_ppf, ppf_from_pulses
from fmes.analysis.pulses import read_pulses
from fmes.core.status import Status


def law(dt_s, c1, tau1_s, c2, tau2_s):
    """The closed-form double-exponential facilitation, written here, not imported."""
    dt = np.asarray(dt_s, float)
    return 1.0 + c1 * np.exp(-dt / tau1_s) + c2 * np.exp(-dt / tau2_s)


def grid(kind: str, tau1_s: float, tau2_s: float) -> np.ndarray:
    if kind == "log16":
        return np.geomspace(tau1_s / 3, tau2_s * 5, 16)
    if kind == "log8":
        return np.geomspace(tau1_s / 2, tau2_s * 3, 8)
    # linear grid, dense enough to sample the fast term on a few points
    return np.linspace(tau1_s / 4, tau2_s * 4, 120)


def assert_inside(row, truth):
    for name, unit, value in zip(
        ("c1", "tau1", "c2", "tau2"), ("", "_s", "", "_s"), truth, strict=True
    ):
        lo, hi = row[f"{name}_ci95_lo{unit}"], row[f"{name}_ci95_hi{unit}"]
        assert lo <= value <= hi, (name, value, lo, hi, row["reason"])


# tau1 from 1 ms to 1 s; tau2 = 20 tau1 up to 20 s
TAU1_S = [1e-3, 1e-2, 1e-1, 0.5, 1.0]


@pytest.mark.parametrize("kind", ["log16", "log8", "lin120"])
@pytest.mark.parametrize("tau1_s", TAU1_S)
def test_clean_two_terms_recovered_across_decades(tau1_s, kind):
    truth = (0.30, tau1_s, 0.20, 20 * tau1_s)
    dt = grid(kind, tau1_s, truth[3])
    row = fit_ppf(dt, law(dt, *truth))
    assert row["status"] == Status.OK, row["reason"]
    assert row["model"] == "double" and row["double_separable"]
    assert_inside(row, truth)


@pytest.mark.parametrize("tau1_s", [2e-3, 3e-2, 0.4])
def test_noisy_two_terms_inside_intervals_or_not_ok(tau1_s):
    truth = (0.30, tau1_s, 0.20, 25 * tau1_s)
    dt = grid("log16", tau1_s, truth[3])
    rng = np.random.default_rng(int(tau1_s * 1e4))
    noise = 2e-3
    row = fit_ppf(dt, law(dt, *truth) + rng.normal(0, noise, dt.size), noise=noise)
    assert row["status"] == Status.OK, row["reason"]
    assert row["model"] == "double"
    assert_inside(row, truth)


def test_close_time_constants_flagged_with_one_term():
    truth = (0.30, 0.05, 0.20, 0.065)  # tau2/tau1 = 1.3
    dt = grid("log16", 0.05, 0.065)
    row = fit_ppf(dt, law(dt, *truth))  # clean: the second term is there, but merges
    assert row["model"] == "single" and not row["double_separable"]
    assert row["status"] != Status.OK and "tau2/tau1" in row["reason"]
    assert np.isnan(row["c2"]) and np.isnan(row["tau2_s"])
    assert 0.05 < row["tau1_s"] < 0.065


def test_fast_term_not_sampled_flagged_with_one_term():
    truth = (0.30, 0.012, 0.20, 0.6)
    dt = np.linspace(0.004, 2.4, 12)  # one interval within 3 tau1
    row = fit_ppf(dt, law(dt, *truth))
    assert row["status"] != Status.OK and not row["double_separable"]
    assert row["model"] == "single"
    assert "fast term is not sampled" in row["reason"]


def test_slow_term_beyond_intervals_flagged_with_constant():
    truth = (0.30, 0.01, 0.05, 500.0)  # tau2 = 500 x the longest interval
    dt = np.geomspace(2e-3, 1.0, 14)
    rng = np.random.default_rng(7)
    row = fit_ppf(dt, law(dt, *truth) + rng.normal(0, 2e-4, dt.size), noise=2e-4)
    assert row["status"] == Status.FLAGGED, row["reason"]
    assert row["model"] == "single_offset"
    assert "hardly decays" in row["reason"]
    assert row["tau1_s"] == pytest.approx(0.01, rel=0.1)
    assert row["c_inf"] == pytest.approx(0.05, rel=0.1)


def test_small_second_term_against_noise_is_not_ok_as_double():
    truth = (0.30, 0.01, 0.002, 0.3)  # C2 at the noise level
    dt = np.geomspace(2e-3, 1.0, 14)
    rng = np.random.default_rng(11)
    row = fit_ppf(dt, law(dt, *truth) + rng.normal(0, 2e-3, dt.size), noise=2e-3)
    assert row["model"] == "single"
    assert row["tau1_s"] == pytest.approx(0.01, rel=0.2)


@pytest.mark.parametrize("fs_Hz", [10_000.0, 50_000.0])
def test_end_to_end_raw_traces_at_two_sampling_rates(fs_Hz):
    truth = PPFTruth(c1=0.30, tau1_s=0.012, c2=0.20, tau2_s=0.6)
    # on the sample grid of both rates: the truth is at the interval the read-out measures
    intervals = np.round(np.geomspace(3e-3, 2.0, 14), 4)
    rows = []
    for trace in ppf_series(intervals, truth, CLEAN, seed=3, fs_Hz=fs_Hz, tail_s=0.02):
        r = read_pulses(
            trace["time_s"].to_numpy(), trace["current_A"].to_numpy(), trace["voltage_V"].to_numpy()
        )
        rows.append(ppf_from_pulses(r.pulses, r.trace_qc["noise_V"]))
    assert all(x["status"] == Status.OK for x in rows), [x["reason"] for x in rows]
    fit = fit_ppf(
        [x["dt_measured_s"] for x in rows],
        [x["ppf"] for x in rows],
        noise=[x["ppf_noise"] for x in rows],
    )
    assert fit["status"] == Status.OK, fit["reason"]
    assert fit["model"] == "double"
    assert_inside(fit, (truth.c1, truth.tau1_s, truth.c2, truth.tau2_s))
