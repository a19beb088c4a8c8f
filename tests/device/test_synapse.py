"""The NeuroSim-style device synapse: curve shape, pulse counting, noise, spread, parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import fmes.device.synapse as synapse
from fmes.core.contracts import DEVICE_PARAMS_COLUMNS
from fmes.device.synapse import (
    DeviceSpec,
    SynapseArray,
    apply_pulses,
    load_device_params,
)

# A small hand-written device_params table (the analysis stage writes the real one).
PARAMS = pd.DataFrame(
    {
        "resistance_label": ["500", "1000", "8000", "open"],
        "resistance_ohm": [500.0, 1000.0, 8000.0, math.inf],
        "g_min_V": [0.05, 0.08, 0.12, 0.15],
        "g_max_V": [0.35, 0.45, 0.80, 0.95],
        "n_pulses": [150, 150, 150, 150],
        "a_p_pulses": [15.0, 30.0, 120.0, 60.0],
        "a_d_pulses": [12.0, 25.0, 100.0, 50.0],
        "a_p_stderr_pulses": [1.0, 1.0, 3.0, 2.0],
        "a_d_stderr_pulses": [1.0, 1.0, 3.0, 2.0],
        "nl_ltp": [5.0, 3.5, 1.0, 2.0],
        "nl_ltd": [5.5, 4.0, 1.2, 2.3],
        "n_states": [40, 60, 140, 100],
        "c2c_sigma_frac": [0.01, 0.01, 0.005, 0.008],
        "d2d_a_cv": [0.05, 0.05, 0.05, 0.05],
        "d2d_range_cv": [0.03, 0.03, 0.03, 0.03],
        "status": ["ok"] * 4,
        "reason": [""] * 4,
    }
)


def test_load_device_params(tmp_path):
    assert tuple(PARAMS.columns) == DEVICE_PARAMS_COLUMNS
    path = tmp_path / "device_params.csv"
    PARAMS.to_csv(path, index=False)
    specs = load_device_params(path)
    assert list(specs) == ["500", "1000", "8000", "open"]
    s = specs["8000"]
    assert (s.g_min_V, s.g_max_V, s.n_pulses, s.a_p_pulses, s.a_d_pulses) == (
        0.12,
        0.80,
        150,
        120.0,
        100.0,
    )
    assert s.range_V == pytest.approx(0.68) and s.n_states == 140
    assert specs["open"].resistance_ohm == math.inf


def test_load_device_params_errors(tmp_path):
    path = tmp_path / "bad.csv"
    PARAMS.drop(columns=["a_p_pulses"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="a_p_pulses"):
        load_device_params(path)
    PARAMS.assign(a_d_pulses=-1.0).to_csv(path, index=False)
    with pytest.raises(ValueError, match="row 0.*a_d_pulses > 0"):
        load_device_params(path)


def test_ltp_and_ltd_follow_the_fitted_curves():
    g_min, g_max, n, a_p, a_d = 0.1, 0.7, 50, 12.0, 20.0
    p = np.arange(n + 1)
    b_p = (g_max - g_min) / (1 - np.exp(-n / a_p))
    b_d = (g_max - g_min) / (1 - np.exp(-n / a_d))
    ltp_curve = b_p * (1 - np.exp(-p / a_p)) + g_min
    ltd_curve = g_max - b_d * (1 - np.exp(-p / a_d))
    # one application of p pulses from the bound == the closed form at p
    from_bottom = apply_pulses(np.full(n + 1, g_min), p, g_min, g_max, a_p, a_d, n)
    from_top = apply_pulses(np.full(n + 1, g_max), -p, g_min, g_max, a_p, a_d, n)
    np.testing.assert_allclose(from_bottom, ltp_curve, atol=1e-12)
    np.testing.assert_allclose(from_top, ltd_curve, atol=1e-12)
    assert from_bottom[-1] == pytest.approx(g_max) and from_top[-1] == pytest.approx(g_min)
    # the step depends on the state: early LTP steps are larger than late ones
    steps = np.diff(from_bottom)
    assert steps[0] > 3 * steps[-1]


def test_pulses_compose_and_clip():
    args = (0.0, 1.0, 8.0, 8.0, 40)
    state = np.array([0.2, 0.5, 0.9])
    once = apply_pulses(state, np.array([7, -7, 7]), *args)
    stepwise = state
    for _ in range(7):
        stepwise = apply_pulses(stepwise, np.array([1, -1, 1]), *args)
    np.testing.assert_allclose(once, stepwise, atol=1e-12)
    # far past the bound: clipped, never beyond
    big = apply_pulses(state, np.array([400, -400, 400]), *args)
    np.testing.assert_array_equal(big, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(apply_pulses(state, np.zeros(3, int), *args), state)
    with pytest.raises(TypeError, match="integers"):
        apply_pulses(state, np.array([0.5, 1.0, 2.0]), *args)


def test_per_element_parameters_broadcast():
    a_p = np.array([5.0, 50.0, 500.0])
    out = apply_pulses(np.zeros(3), np.full(3, 3), 0.0, 1.0, a_p, 10.0, 30)
    assert out[0] > out[1] > out[2] > 0  # stronger non-linearity = bigger first steps


def test_pulse_count_rounding_is_neurosim():
    spec = DeviceSpec("t", 0.0, 1.0, n_pulses=100, a_p_pulses=1e6, a_d_pulses=1e6)
    syn = SynapseArray(spec, (5,), w_max=1.0, rng=np.random.default_rng(0))
    step = 2.0 / 100  # (W_max - W_min) / levels
    counts = syn.pulse_counts(np.array([0.49, 0.51, -1.6, 3.0, 1e3]) * step)
    np.testing.assert_array_equal(counts, [0, 1, -2, 3, 100])  # clipped at +-N


@pytest.mark.parametrize("dense", [False, True])
def test_sparse_and_dense_paths_agree(monkeypatch, dense):
    spec = DeviceSpec("t", 0.0, 1.0, 60, 20.0, 30.0, d2d_a_cv=0.1, d2d_range_cv=0.1)
    rng = np.random.default_rng(1)
    syn = SynapseArray(spec, (40, 30), w_max=1.0, rng=rng)
    w0 = syn.program(rng.uniform(-1, 1, (40, 30)))
    pulses = rng.integers(-5, 6, size=(40, 30)) * (rng.random((40, 30)) < 0.5)
    expected = w0.copy()
    hi = syn.curves.hi
    for i, j in np.ndindex(*w0.shape):  # reference: element by element, closed form
        k, cur = pulses[i, j], w0[i, j]
        if k == 0:
            continue
        asym = syn.curves.ltp_asym[i, j] if k > 0 else syn.curves.ltd_asym[i, j]
        inv_a = syn.curves.inv_a_p[i, j] if k > 0 else syn.curves.inv_a_d[i, j]
        expected[i, j] = min(max(asym + (cur - asym) * math.exp(-abs(k) * inv_a), -1.0), hi[i, j])
    monkeypatch.setattr(synapse, "_DENSE_FRACTION", 0.0 if dense else 2.0)
    w = w0.copy()
    syn.apply(w, pulses, None)
    np.testing.assert_allclose(w, expected, atol=1e-12)


@pytest.mark.parametrize("dense", [False, True])
def test_cycle_to_cycle_noise_grows_as_sqrt_pulses(monkeypatch, dense):
    monkeypatch.setattr(synapse, "_DENSE_FRACTION", 0.0 if dense else 2.0)
    spec = DeviceSpec("t", 0.0, 1.0, 10_000, 1e9, 1e9, c2c_sigma_frac=0.002)
    syn = SynapseArray(spec, (20_000,), w_max=1.0, rng=np.random.default_rng(0))
    rng = np.random.default_rng(2)
    sigma_w = 0.002 * 2.0
    for n in (1, 16):
        w = np.zeros(20_000)
        pulses = np.full(20_000, n)
        pulses[:2] = 0  # untouched devices get no noise
        syn.apply(w, pulses, rng)
        assert np.all(w[:2] == 0)
        step = 2.0 / 10_000 * n
        assert np.std(w[2:]) == pytest.approx(sigma_w * np.sqrt(n), rel=0.05)
        assert np.mean(w[2:]) == pytest.approx(step, abs=3 * sigma_w * np.sqrt(n) / 100)


def test_device_to_device_spread():
    spec = DeviceSpec("t", 0.2, 0.6, 100, 40.0, 40.0, d2d_a_cv=0.2, d2d_range_cv=0.1)
    syn = SynapseArray(spec, (200, 100), w_max=1.0, rng=np.random.default_rng(0))
    a_p = 1.0 / syn.curves.inv_a_p
    span = syn.curves.hi - syn.curves.lo
    assert np.std(a_p) / np.mean(a_p) == pytest.approx(0.2, rel=0.05)
    assert np.mean(a_p) == pytest.approx(40.0, rel=0.01)
    assert np.std(span) / np.mean(span) == pytest.approx(0.1, rel=0.05)
    assert np.all(a_p > 0)
    # a state held in weight units maps back onto the PSV range
    np.testing.assert_allclose(syn.to_volts(np.array([-1.0, 0.0, 1.0])), [0.2, 0.4, 0.6])
    programmed = syn.program(np.full((200, 100), 5.0))
    np.testing.assert_array_equal(programmed, syn.curves.hi)


def test_ideal_like_is_linear_and_fine():
    spec = DeviceSpec.ideal_like()
    syn = SynapseArray(spec, (3,), w_max=1.0, rng=np.random.default_rng(0))
    w = np.array([-0.9, 0.0, 0.9])
    delta = np.array([0.0123, -0.0456, 0.0789])
    syn.update_inplace(w, delta.copy(), None)
    np.testing.assert_allclose(w, [-0.9 + 0.0123, -0.0456, 0.9 + 0.0789], atol=2e-5)


def test_spec_validation_and_replace():
    with pytest.raises(ValueError, match="g_max_V > g_min_V"):
        DeviceSpec("x", 0.5, 0.5, 10, 1.0, 1.0)
    spec = DeviceSpec.from_row(PARAMS.iloc[0])
    harsher = spec.replace(a_p_pulses=2.0)
    assert harsher.a_p_pulses == 2.0 and spec.a_p_pulses == 15.0
