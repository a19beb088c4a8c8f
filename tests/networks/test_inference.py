"""The trained network at inference: retention drift, read noise, output ADC."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from fmes.device.synapse import DeviceSpec
from fmes.networks.estimators import DeviceMLP
from fmes.networks.inference import (
    InferenceDevice,
    drifted_coefs,
    inference_sweep,
    quantise,
    state_inference_params,
    time_grid_s,
    time_within_tolerance,
)

SPEC = DeviceSpec("t", g_min_V=-0.2, g_max_V=1.0, n_pulses=200, a_p_pulses=300.0, a_d_pulses=300.0)


@pytest.fixture(scope="module")
def trained():
    X, y = make_classification(
        n_samples=300, n_features=20, n_informative=8, n_classes=3, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    net = DeviceMLP(
        device=SPEC, hidden_layer_sizes=(16,), learning_rate=2.0, max_iter=20, random_state=0
    )
    return net.fit(X, y), X, y


def test_drift_moves_every_weight_towards_the_weight_of_zero_volts(trained):
    net, _, _ = trained
    slow = InferenceDevice(1e6, 0.0, reference="fixed")
    fast = InferenceDevice(1.0, 0.0, reference="fixed")
    np.testing.assert_allclose(drifted_coefs(net, 0.0, slow)[0], net.coefs_[0])
    w_zero_volts = (0 - SPEC.g_min_V) / SPEC.range_V * 2 - 1  # -0.667 with w_max = 1
    far = drifted_coefs(net, 100.0, fast)[0]
    np.testing.assert_allclose(
        far, np.clip(w_zero_volts, net.synapses_[0].lo, net.synapses_[0].hi), atol=1e-6
    )
    half = drifted_coefs(net, np.log(2), fast)[0]  # V halves
    v0, v_half = net.synapses_[0].to_volts(net.coefs_[0]), net.synapses_[0].to_volts(half)
    np.testing.assert_allclose(v_half, np.clip(v0 / 2, SPEC.g_min_V, None), atol=1e-9)


@pytest.mark.parametrize("reference", ["decaying", "differential"])
def test_a_decaying_reference_or_a_pair_only_shrinks_the_weights(trained, reference):
    net, X, y = trained
    shrink = drifted_coefs(net, np.log(2), InferenceDevice(1.0, 0.0, reference=reference))
    np.testing.assert_allclose(
        shrink[0], np.clip(net.coefs_[0] / 2, net.synapses_[0].lo, net.synapses_[0].hi)
    )


def test_slow_retention_keeps_accuracy_longer_and_no_noise_no_adc_is_the_plain_score(trained):
    net, X, y = trained
    assert net.evaluate_at(X, y) == pytest.approx(net.score(X, y))
    slow, fast = InferenceDevice(1e7, 0.0), InferenceDevice(10.0, 0.0)
    assert net.evaluate_at(X, y, 1000.0, inference=slow) == pytest.approx(net.score(X, y), abs=0.01)
    assert net.evaluate_at(X, y, 1000.0, inference=fast) < net.score(X, y) - 0.1
    with pytest.raises(ValueError, match="InferenceDevice"):
        net.evaluate_at(X, y, 10.0)


def test_read_noise_and_coarse_adc_cost_accuracy_fine_adc_does_not(trained):
    net, X, y = trained
    clean = net.score(X, y)
    loud = InferenceDevice(1e7, read_noise_V=2.0 * SPEC.range_V)
    assert net.evaluate_at(X, y, inference=loud, read_noise=True, random_state=0) < clean - 0.1
    assert net.evaluate_at(X, y, adc_bits=12) == pytest.approx(clean, abs=0.01)
    assert net.evaluate_at(X, y, adc_bits=1) < clean - 0.1


def test_quantise_levels_and_clipping():
    z = np.array([-2.0, -0.49, 0.0, 0.26, 0.9, 3.0])
    q = quantise(z, 2, 1.0)  # 3 levels of step 2/3 over [-1, 1]: -2/3, 0, 2/3
    np.testing.assert_allclose(q, [-1.0, -2 / 3, 0.0, 0.0, 2 / 3, 1.0])
    with pytest.raises(ValueError, match="adc_bits"):
        quantise(z, 0, 1.0)


def test_sweep_and_time_within_tolerance(trained):
    net, X, y = trained
    rows = inference_sweep(
        net,
        X,
        y,
        np.array([0.0, 1.0, 1e4]),
        [2, 8],
        InferenceDevice(100.0, 1e-3),
        read_noise=True,
        n_draws=2,
        seed=0,
    )
    assert set(rows["kind"]) == {"time", "adc"}
    assert len(rows[rows["kind"] == "time"]) == 6 and len(rows[rows["kind"] == "adc"]) == 3
    over = rows[rows["kind"] == "time"].assign(net="mlp", state="t", seed=0)
    kept = time_within_tolerance(over, 0.01).set_index("read_noise")
    assert kept.loc[False, "kept_until_s"] == 1.0 and not kept.loc[False, "kept_whole_grid"]


def test_time_grid_starts_at_zero_then_log_spaced():
    grid = time_grid_s(first_s=1.0, last_s=1e4, n=5)
    np.testing.assert_allclose(grid, [0.0, 1.0, 10.0, 100.0, 1e3, 1e4])


def test_a_device_network_without_a_model_is_evaluated_at_t0_only(trained):
    net, X, y = trained
    rows = inference_sweep(net, X, y, time_grid_s(1.0, 1e4, 3), [4], None, True, 2, seed=0)
    times = rows[rows["kind"] == "time"]
    assert times["time_s"].tolist() == [0.0] and not rows["read_noise"].any()


def test_state_inference_params_take_the_slow_time_constant_and_skip_unfitted_states():
    retention = pd.DataFrame(
        {
            "protocol": ["pulse_train", "pulse_train", "pulse"],
            "resistance_label": ["500", "open", "500"],
            "exp2_tau2_s": [11.0, 9000.0, 5.0],
            "exp2_converged": [True, False, True],
        }
    )
    ltp = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "device_id": ["nominal"] * 2,
            "read_noise_V": [1e-5, 2e-5],
        }
    )
    out = state_inference_params(retention, ltp, "nominal").set_index("resistance_label")
    assert out.loc["500", "weight_tau_s"] == 11.0 and out.loc["500", "status"] == "ok"
    assert out.loc["open", "status"] == "skipped" and "two-exponential" in out.loc["open", "reason"]
