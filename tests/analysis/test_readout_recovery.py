"""Recovery on the independent closed-form generator (tests/messy.py) at sampling rates and pulse
timings unlike the default campaign: clean traces give the truth within the 95 % interval (PPF
A1/A2 to rounding), traces with the default artifacts give it or a row that is not ``ok``."""

from __future__ import annotations

import numpy as np
import pytest
from messy import CLEAN, DEFAULT, LTPLTDTruth, PPFTruth, RetentionTruth, ppf_pair, retention_trace
from test_messy_recovery import _read, ltp_fit

from fmes.analysis.ppf import ppf_from_pulses
from fmes.analysis.retention import fit_retention
from fmes.core.status import Status

TIMINGS = [  # (fs_Hz, width_s): coarse to fine sampling, short to long pulses
    (1_000.0, 5e-3),
    (5_000.0, 2e-3),
    (20_000.0, 5e-4),
]


@pytest.mark.parametrize(("fs_Hz", "width_s"), TIMINGS)
@pytest.mark.parametrize("interval_s", [0.02, 0.3])
def test_ppf_amplitudes_clean_exact_messy_within_noise_or_not_ok(fs_Hz, width_s, interval_s):
    truth = PPFTruth(a1_V=0.07)
    shape = {"fs_Hz": fs_Hz, "width_s": width_s, "decay_s": 4 * width_s, "tail_s": 0.1}
    clean = _read(ppf_pair(interval_s, truth, CLEAN, **shape))
    v = ppf_from_pulses(clean.pulses, clean.trace_qc["noise_V"])
    assert v["status"] == Status.OK, v["reason"]
    assert v["a1_V"] == pytest.approx(truth.a1_V, rel=1e-9)
    assert v["a2_V"] == pytest.approx(truth.a1_V * truth.ppf(interval_s), rel=1e-9)
    messy = _read(ppf_pair(interval_s, truth, DEFAULT, seed=3, **shape))
    m = ppf_from_pulses(messy.pulses, messy.trace_qc["noise_V"])
    tol = 4 * np.sqrt(2) * messy.trace_qc["noise_V"]  # two single-sample reads, 4 sigma
    recovered = (
        abs(m["a1_V"] - truth.a1_V) < tol
        and abs(m["a2_V"] - truth.a1_V * truth.ppf(interval_s)) < tol
    )
    assert recovered or m["status"] != Status.OK, m


def _inside(fit, name, value):
    return fit[f"{name}_ci95_lo_pulses"] <= value <= fit[f"{name}_ci95_hi_pulses"]


@pytest.mark.parametrize(
    ("fs_Hz", "width_s", "frequency_Hz"), [(2_000.0, 2e-3, 50.0), (20_000.0, 5e-4, 200.0)]
)
def test_ltp_ltd_clean_inside_interval_messy_or_not_ok(fs_Hz, width_s, frequency_Hz):
    truth = LTPLTDTruth(a_p=8.0, a_d=20.0, n_pulses=40)
    kw = {"fs_Hz": fs_Hz, "width_s": width_s, "frequency_Hz": frequency_Hz}
    _, clean = ltp_fit(truth, CLEAN, **kw)
    assert clean["status"] == Status.OK, clean["reason"]
    assert clean["a_p_pulses"] == pytest.approx(truth.a_p, rel=1e-3)
    assert clean["a_d_pulses"] == pytest.approx(truth.a_d, rel=1e-3)
    _, messy = ltp_fit(truth, DEFAULT, seed=9, **kw)
    ok = _inside(messy, "a_p", truth.a_p) and _inside(messy, "a_d", truth.a_d)
    assert ok or messy["status"] != Status.OK, messy


@pytest.mark.parametrize("fs_Hz", [500.0, 2_000.0])
@pytest.mark.parametrize("art", [CLEAN, DEFAULT], ids=["clean", "messy"])
def test_retention_inside_interval_or_not_ok(fs_Hz, art):
    truth = RetentionTruth(tau_s=2.0, beta=0.6)
    r = _read(retention_trace(truth, art, seed=5, fs_Hz=fs_Hz, tail_s=15.0, width_s=4e-3))
    t_off = r.pulses["offset_s"].iloc[-1]
    time_s = np.arange(r.voltage_clean_V.size) / fs_Hz
    after = time_s > t_off
    u = r.voltage_clean_V[after] - r.trace_qc["pre_stimulus_level_V"]
    fit = fit_retention(time_s[after] - t_off, u, noise_V=r.trace_qc["noise_V"], models=("kww",))
    inside = all(
        fit[f"kww_{k}_ci95_lo{unit}"] <= value <= fit[f"kww_{k}_ci95_hi{unit}"]
        for k, unit, value in (("tau", "_s", truth.tau_s), ("beta", "", truth.beta))
    )
    if art is CLEAN:
        assert fit["kww_tau_s"] == pytest.approx(truth.tau_s, rel=1e-3)
        assert fit["kww_beta"] == pytest.approx(truth.beta, rel=1e-3)
    else:
        assert inside or fit["kww_status"] != Status.OK, fit
