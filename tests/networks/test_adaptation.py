"""Adaptation experiment (Fig 5): scheme effect, no-op at zero images, determinism, config errors,
and the closed-form update against a step-by-step reference."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fmes.networks.adaptation import (
    AdaptationSettings,
    DeviceInterpolator,
    MappingScheme,
    SgdSettings,
    check_digit_sets,
    compose_updates,
    effective_resistance_ohm,
    mapping_order,
    pixel_to_effective_resistance_ohm,
    pixel_to_resistance_ohm,
    run_adaptation,
)
from fmes.networks.mnist import load_mnist

# A small hand-written device_params table shaped like the analysis stage's fit of the
# calibrated circuit (low R: small range, fast relaxation; open: wide and nearly linear).
PARAMS = pd.DataFrame(
    {
        "resistance_label": ["500", "1000", "8000", "open"],
        "resistance_ohm": [500.0, 1000.0, 8000.0, math.inf],
        "g_min_V": [-0.0004, -0.0011, -0.0052, -0.0001],
        "g_max_V": [0.0004, 0.0011, 0.0087, 0.0157],
        "n_pulses": [150, 150, 150, 150],
        "a_p_pulses": [23.0, 32.0, 164.0, 23000.0],
        "a_d_pulses": [23.0, 32.0, 165.0, 21000.0],
        "c2c_sigma_frac": [0.017, 0.006, 0.001, 0.0009],
        "d2d_a_cv": [0.05, 0.05, 0.05, 0.05],
        "d2d_range_cv": [0.03, 0.03, 0.03, 0.03],
    }
)
LEAK_OHM = 1e6
TRAIN = SgdSettings(epochs=8, learning_rate=0.1, batch_size=32)
FINETUNE = SgdSettings(learning_rate=0.1, epochs=1, batch_size=4)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(seed=20221)


def _run(mnist, seed=0, n_images=(0, 8, 80), d1=(8, 6, 2, 4), d2=(9, 5, 7, 1), **mapping):
    settings = AdaptationSettings(
        dataset1=d1,
        dataset2=d2,
        train_state="open",
        train=TRAIN,
        w_max=1.0,
        scheme=MappingScheme(**{"pulses_per_image": 2, **mapping}),
        n_images=n_images,
        finetune=FINETUNE,
        n_figure_samples=40,
    )
    return run_adaptation(
        mnist.X_train,
        mnist.y_train,
        mnist.X_test,
        mnist.y_test,
        PARAMS,
        settings,
        LEAK_OHM,
        seed=seed,
    )


def test_settings_from_the_default_config():
    config_path = Path(__file__).resolve().parents[2] / "config" / "config.yaml"
    section = yaml.safe_load(config_path.read_text())["adaptation"]
    settings = AdaptationSettings.from_config(section)
    assert settings.train == SgdSettings(
        epochs=section["train"]["epochs"],
        learning_rate=section["train"]["learning_rate"],
        batch_size=section["train"]["batch_size"],
    )
    assert settings.scheme.pulses_per_image == section["mapping"]["pulses_per_image"]
    assert settings.n_images == tuple(sorted(set(section["mapping"]["n_images"])))
    with pytest.raises(ValueError, match="adaptation.mapping.n_images"):
        AdaptationSettings.from_config(
            {**section, "mapping": {**section["mapping"], "n_images": [-1]}}
        )


@pytest.fixture(scope="module")
def result(mnist):
    return _run(mnist)


def _acc(table, method, n, col="accuracy_dataset2"):
    return float(table[(table["method"] == method) & (table["n_images"] == n)][col].iloc[0])


@pytest.mark.parametrize("ltd_pulses", [0, 1])
def test_scheme_raises_dataset2_accuracy(mnist, result, ltd_pulses):
    # the module fixture runs the default (one LTD pulse on the other rows)
    t = result.table if ltd_pulses == 1 else _run(mnist, other_rows_ltd_pulses=ltd_pulses).table
    before, after = _acc(t, "device", 0), _acc(t, "device", 80)
    assert before < 0.4  # the dataset1 network does not read dataset2
    assert after > before + 0.3 and after > 0.6
    # learning the new task is paid for on the old one (all rows are remapped)
    assert _acc(t, "device", 80, "accuracy_dataset1") < _acc(t, "device", 0, "accuracy_dataset1")
    # weight maps: the mapped rows now correlate with the dataset2 class means
    a = result.arrays
    assert a["weights_after_V"].shape == a["weights_before_V"].shape == (4, 784)
    assert a["proba_after"].shape == (40, 4)
    np.testing.assert_allclose(a["proba_after"].sum(axis=1), 1.0)


def test_remapping_reproduces_the_run_and_passive_dark_changes_only_dark_pixels(result):
    # the sensitivity rows re-run the mapping on the trained network: the run's own scheme
    # gives the run's device accuracies back
    ctx = result.context
    device = result.table[result.table["method"] == "device"].reset_index(drop=True)
    again = ctx.device_accuracies(MappingScheme(pulses_per_image=2), device["n_images"].tolist())
    pd.testing.assert_frame_equal(
        again, device[["n_images", "accuracy_dataset2", "accuracy_dataset1"]], check_dtype=False
    )
    passive = MappingScheme(pulses_per_image=2, passive_dark=True)
    assert passive.pulsed(np.array([0.0, 0.01, 1.0])).tolist() == [False, True, True]
    moved = ctx.device_accuracies(passive, [80])
    assert moved["accuracy_dataset2"].iloc[0] != device["accuracy_dataset2"].iloc[-1]


def test_zero_images_changes_nothing(mnist, result):
    t = result.table
    zero = t[t["n_images"] == 0]
    assert zero["accuracy_dataset2"].nunique() == 1 and zero["accuracy_dataset1"].nunique() == 1
    only_zero = _run(mnist, n_images=(0,))
    a = only_zero.arrays
    np.testing.assert_array_equal(a["weights_after_V"], a["weights_before_V"])
    np.testing.assert_array_equal(a["proba_after"], a["proba_before"])
    state0 = np.random.default_rng(0).uniform(0.2, 0.8, (4, 784))
    lf = -np.ones((5, 4, 784))
    out = compose_updates(state0, lf, np.zeros_like(lf), np.zeros_like(lf), [0])
    np.testing.assert_array_equal(out[0], state0)


def test_deterministic_with_seed(mnist, result):
    again = _run(mnist, seed=0)
    pd.testing.assert_frame_equal(again.table, result.table)
    for key, value in result.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value)
    other = _run(mnist, seed=1)
    assert not np.array_equal(other.arrays["weights_after_V"], result.arrays["weights_after_V"])


@pytest.mark.parametrize(
    ("d1", "d2", "key"),
    [
        ((8, 6, 2, 4), (9, 5, 7, 4), "overlap"),
        ((8, 6, 2), (9, 5, 7, 1), "equal size"),
        ((), (9, 5), "adaptation.dataset1: empty"),
        ((8, 6), (), "adaptation.dataset2: empty"),
        ((8, 8), (1, 2), "adaptation.dataset1: repeated"),
        ((8, 12), (1, 2), "adaptation.dataset1: digits must be in 0-9"),
    ],
)
def test_bad_digit_sets(d1, d2, key):
    with pytest.raises(ValueError, match=key) as info:
        check_digit_sets(d1, d2)
    assert "adaptation.dataset" in str(info.value)


def test_bad_digit_sets_stop_the_run(mnist):
    with pytest.raises(ValueError, match="adaptation.dataset1 and adaptation.dataset2 overlap"):
        _run(mnist, d1=(1, 2), d2=(2, 3))


def test_bad_mapping_config_names_key():
    with pytest.raises(ValueError, match="adaptation.mapping.r_bright"):
        MappingScheme(r_dark_ohm=8000.0, r_bright_ohm=500.0)
    with pytest.raises(ValueError, match="adaptation.mapping.pulses_per_image"):
        MappingScheme(pulses_per_image=0)


def test_closed_form_matches_step_by_step():
    """Closed form and clipped prefix scan equal the relaxation applied image after image."""
    rng = np.random.default_rng(3)
    T, K, P = 30, 3, 50
    state0 = rng.uniform(0.1, 0.9, (K, P))
    log_f = -rng.uniform(0.0, 0.5, (T, K, P))
    log_f[rng.uniform(size=(T, K, P)) < 0.3] = 0.0  # rows that hold
    target = rng.uniform(0.0, 1.0, (T, K, P))
    noise = rng.normal(0, 0.01, (T, K, P))
    grid = [0, 1, 7, 30]
    got = compose_updates(state0, log_f, target, noise, grid)
    v = state0.copy()
    ref = {0: v.copy()}
    for t in range(T):
        f = np.exp(log_f[t])
        v = f * v + (1 - f) * target[t] + noise[t]
        ref[t + 1] = v.copy()
    for i, n in enumerate(grid):
        np.testing.assert_allclose(got[i], ref[n], rtol=1e-12, atol=1e-12)
    clipped = compose_updates(state0, log_f, target, noise, grid, bounds=(0.3, 0.7))
    v = state0.copy()
    ref = {0: v.copy()}
    for t in range(T):
        f = np.exp(log_f[t])
        v = np.clip(f * v + (1 - f) * target[t] + noise[t], 0.3, 0.7)
        ref[t + 1] = v.copy()
    for i, n in enumerate(grid):
        np.testing.assert_allclose(clipped[i], ref[n], rtol=1e-12, atol=1e-12)
    lin = compose_updates(state0, log_f, target, noise, [30], linear_at=0.5)
    np.testing.assert_allclose(lin[0], state0 + ((1 - np.exp(log_f)) * (target - 0.5)).sum(0))


def test_pixel_map_and_interpolation():
    scheme = MappingScheme(r_dark_ohm=500.0, r_bright_ohm=math.inf)
    x = np.linspace(0, 1, 11)
    r_eff = pixel_to_effective_resistance_ohm(x, scheme, LEAK_OHM)
    assert np.all(np.diff(r_eff) > 0)  # monotone: brighter -> higher resistance
    r = pixel_to_resistance_ohm(x, scheme, LEAK_OHM)
    assert r[0] == pytest.approx(500.0) and math.isinf(r[-1])
    device = DeviceInterpolator.from_table(PARAMS, LEAK_OHM)
    at = device.at(effective_resistance_ohm(PARAMS["resistance_ohm"].to_numpy(), LEAK_OHM))
    np.testing.assert_allclose(at["a_p_pulses"], PARAMS["a_p_pulses"])
    np.testing.assert_allclose(at["g_max_V"], PARAMS["g_max_V"])
    # open (white) pixels end nearer the top than 500-ohm (black) ones: LTP asymptotes ordered
    assert at["ltp_asym_V"][-1] > at["ltp_asym_V"][0]


def test_mapping_order_is_balanced_and_nested():
    labels = np.repeat(np.arange(4), 25)
    a = mapping_order(labels, 4, 40, np.random.default_rng(1))
    b = mapping_order(labels, 4, 8, np.random.default_rng(1))
    assert np.bincount(labels[a], minlength=4).tolist() == [10] * 4
    np.testing.assert_array_equal(labels[a[:8]], [0, 1, 2, 3, 0, 1, 2, 3])
    assert len(np.unique(a)) == 40 and len(b) == 8
