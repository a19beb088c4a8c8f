"""The leakage bracket the paper's retention allows, and the weight references at inference."""

import math

import numpy as np
import pytest

from fmes.device import calibration
from fmes.device import circuit as dev
from fmes.device.synapse import DeviceSpec, SynapseArray
from fmes.networks.inference import InferenceDevice, inference_sweep, weight_read_noise

# the config's initial cell (no calibration needed to test the bracket's algebra)
CELL = dev.CellParams(20.0, 1.2e-5, 600.0, 1.0e-2, 1.0e6)
TRAIN = {"amplitude_A": 1e-3, "width_s": 1e-3, "frequency_Hz": 500.0, "n_pulses": 500}
RETENTION = calibration.TrainRetention(resistance_label=("open",), t_ref_s=1.0, t_ret_s=100.0)
STATES = {"500": 500.0, "8000": 8000.0, "open": math.inf}


@pytest.fixture(scope="module")
def bracket():
    return calibration.retention_leakage_bracket(CELL, RETENTION, TRAIN, 0.9, 10.0, STATES)


def test_the_lower_leakage_keeps_exactly_the_papers_fraction_at_100_s(bracket):
    lower = bracket[bracket["bound"] == "lower"].iloc[0]
    params = dev.CellParams(
        **{**CELL.as_dict(), "leakage_resistance_ohm": lower["leakage_resistance_ohm"]}
    )
    kept = calibration.train_retention(params, RETENTION, TRAIN).item()
    assert kept == pytest.approx(0.9, abs=1e-9) and lower["kept_fraction"] == pytest.approx(
        0.9, abs=1e-9
    )
    # the smallest such leakage: 1 % less keeps less than the target
    less = dev.CellParams(
        **{**params.as_dict(), "leakage_resistance_ohm": 0.99 * lower["leakage_resistance_ohm"]}
    )
    assert calibration.train_retention(less, RETENTION, TRAIN).item() < 0.9


def test_the_bracket_is_ordered_and_the_nominal_and_upper_as_configured(bracket):
    by = bracket.set_index(["bound", "resistance_label"])
    leak = bracket.groupby("bound")["leakage_resistance_ohm"].first()
    assert leak["lower"] < leak["nominal"] == 1e6 and leak["upper"] == pytest.approx(1e7)
    tau = by["model_tau_s"].unstack("bound")
    assert (tau["lower"] < tau["nominal"]).all() and (tau["nominal"] < tau["upper"]).all()
    # the open state's τ scales with the leakage; a 500 ohm state's barely moves
    assert by.loc[("lower", "open"), "tau_scale"] < 0.2
    assert by.loc[("lower", "500"), "tau_scale"] > 0.99
    assert (bracket["status"] == "ok").all()


def test_slow_time_constant_of_the_open_cell_is_total_capacitance_times_leakage():
    tau = calibration.slow_time_constant_s(CELL, np.array([math.inf]))[0]
    assert tau == pytest.approx((1.2e-5 + 1.0e-2) * 1.0e6, rel=1e-3)


def test_a_nominal_leakage_below_the_target_is_flagged():
    leaky = dev.CellParams(**{**CELL.as_dict(), "leakage_resistance_ohm": 1e4})
    out = calibration.retention_leakage_bracket(leaky, RETENTION, TRAIN, 0.9, 10.0, STATES)
    assert (out["status"] == "flagged").all() and "below the paper" in out["reason"].iloc[0]
    with pytest.raises(ValueError, match="upper_factor"):
        calibration.retention_leakage_bracket(CELL, RETENTION, TRAIN, 0.9, 0.5, STATES)


SPEC = DeviceSpec("t", g_min_V=0.2, g_max_V=1.0, n_pulses=100, a_p_pulses=1e9, a_d_pulses=1e9)


def test_the_references_on_hand_made_weights():
    syn = SynapseArray(SPEC, (3,), 1.0, np.random.default_rng(0))
    w = np.array([-1.0, 0.0, 1.0])
    # 0 V reads as w = -1 - 0.2 x 2 / 0.8 = -1.5: below the device's range, clipped to -1
    assert syn.zero_volt_w == pytest.approx(-1.5)
    assert syn.to_volts(np.array([syn.zero_volt_w]))[0] == pytest.approx(0.0)
    np.testing.assert_allclose(syn.relax(w, 0.5, "differential"), [-0.5, 0.0, 0.5])
    np.testing.assert_allclose(syn.relax(w, 0.5, "decaying"), [-0.5, 0.0, 0.5])
    # fixed: the PSV halves (0.2, 0.6, 1.0 V -> 0.1, 0.3, 0.5 V), read from the held reference
    fixed = syn.relax(w, 0.5, "fixed")
    np.testing.assert_allclose(syn.to_volts(fixed), [0.2, 0.3, 0.5])  # 0.1 V clips at G_min
    with pytest.raises(ValueError, match="inference.reference"):
        syn.relax(w, 0.5, "floating")
    with pytest.raises(ValueError, match="inference.reference"):
        InferenceDevice(1.0, 0.0, reference="floating")


def test_a_differential_pair_reads_both_devices_noise():
    class Net:  # the two attributes weight_read_noise reads
        device = SPEC
        synapses_ = [SynapseArray(SPEC, (1,), 1.0, np.random.default_rng(0))]

    one = weight_read_noise(Net, InferenceDevice(1.0, 1e-3, reference="fixed"))
    pair = weight_read_noise(Net, InferenceDevice(1.0, 1e-3, reference="differential"))
    assert one == pytest.approx(1e-3 * 2 / 0.8) and pair == pytest.approx(one * math.sqrt(2))


def test_the_band_is_ordered_lower_leakage_forgets_first():
    from sklearn.datasets import make_classification

    from fmes.networks.estimators import DeviceMLP

    X, y = make_classification(
        n_samples=300, n_features=20, n_informative=8, n_classes=3, random_state=0
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    spec = DeviceSpec(
        "t", g_min_V=-0.2, g_max_V=1.0, n_pulses=200, a_p_pulses=300.0, a_d_pulses=300.0
    )
    net = DeviceMLP(
        device=spec, hidden_layer_sizes=(16,), learning_rate=2.0, max_iter=20, random_state=0
    )
    net.fit(X, y)
    rows = inference_sweep(
        net,
        X,
        y,
        np.array([0.0, 3.0, 10.0, 30.0]),
        [],
        InferenceDevice(10.0, 0.0, reference="fixed"),
        read_noise=False,
        n_draws=1,
        seed=0,
        band_tau_s={"lower": 1.0, "nominal": 10.0, "upper": 100.0},
        references=["fixed", "differential"],
    )
    time = rows[rows["kind"] == "time"]
    assert set(time["reference"]) == {"fixed", "differential"}
    for _, g in time.groupby("reference"):
        acc = g.pivot_table(index="time_s", columns="leakage_bound", values="accuracy")
        assert (acc["lower"] <= acc["nominal"]).all() and (acc["nominal"] <= acc["upper"]).all()
        assert acc.loc[10.0, "lower"] < acc.loc[10.0, "upper"] - 0.1
    adc = rows[rows["kind"] == "adc"]
    assert (adc["reference"] == "fixed").all() and (adc["leakage_bound"] == "nominal").all()


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_training_decay_off_is_bit_identical_and_on_costs_accuracy_for_a_fast_state():
    from fmes.networks.estimators import DevicePerceptron

    X, y = _digits()
    spec = DeviceSpec("t", 0.1, 0.7, n_pulses=150, a_p_pulses=120.0, a_d_pulses=100.0)
    kw = dict(device=spec, max_iter=3, random_state=0)
    before = DevicePerceptron(**kw).fit(X, y)  # the parameters' defaults: no decay
    off = DevicePerceptron(**kw, retention_tau_s=None, update_period_s=0.5).fit(X, y)
    for a, b in zip(before.coefs_, off.coefs_, strict=True):
        assert np.array_equal(a, b)
    # a state whose τ is a few update periods: the weights keep relaxing between updates
    fast = DevicePerceptron(**kw, retention_tau_s=2.0, update_period_s=0.5).fit(X, y)
    slow = DevicePerceptron(**kw, retention_tau_s=1e9, update_period_s=0.5).fit(X, y)
    assert fast.score(X, y) < before.score(X, y) - 0.05
    assert slow.score(X, y) == pytest.approx(before.score(X, y), abs=0.02)
    assert np.abs(fast.coefs_[0]).mean() < np.abs(before.coefs_[0]).mean()
