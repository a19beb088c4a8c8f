"""Update schemes: weight mappings and pulse rules (their defining behaviour)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

from fmes.device.synapse import DeviceSpec, SynapseArray, apply_pulses, stochastic_pulse_counts
from fmes.networks.estimators import DeviceMLP, DevicePerceptron

# Two states shaped like the fitted ones: the open state has the wider range (Fig 1e).
STATE_8000 = DeviceSpec("8000", 0.12, 0.80, 150, 120.0, 100.0)
STATE_OPEN = DeviceSpec("open", 0.15, 0.95, 150, 60.0, 50.0)
STATE_500 = DeviceSpec("500", 0.05, 0.35, 150, 15.0, 12.0)


def _array(spec, shape=(40, 30), **scheme):
    return SynapseArray(spec, shape, 1.0, np.random.default_rng(0), **scheme)


def test_sign_rule_moves_each_device_by_at_most_one_pulse():
    syn = _array(STATE_8000, pulse_rule="sign", sign_threshold_pulses=0.5)
    rng = np.random.default_rng(1)
    state = syn.program(rng.uniform(-0.8, 0.8, syn.shape))
    delta = rng.normal(0.0, 0.2, syn.shape)  # up to ~30 nominal steps
    delta[0, :] = 0.1 / syn.pulses_per_w  # below the threshold: no pulse
    counts = syn.pulse_counts(delta)
    assert set(np.unique(counts)) == {-1, 0, 1}
    assert not counts[0].any()
    big = np.abs(delta) * syn.pulses_per_w >= 0.5
    np.testing.assert_array_equal(counts, np.sign(delta) * big)
    after = state.copy()
    syn.update_inplace(after, delta.copy(), None)
    one_pulse = apply_pulses(state, counts, syn.lo, syn.hi, 120.0, 100.0, 150)
    np.testing.assert_allclose(after, one_pulse)
    # one LTP pulse is the largest upward move any device can make in one update
    assert np.all(
        after - state <= apply_pulses(state, 1, syn.lo, syn.hi, 120.0, 100.0, 150) - state + 1e-12
    )


def test_shared_mapping_gives_the_open_state_the_largest_weight_step():
    reference = STATE_OPEN.range_V
    steps, ranges = {}, {}
    for spec in (STATE_500, STATE_8000, STATE_OPEN):
        syn = _array(spec, shape=(1,), mapping="shared", reference_range_V=reference)
        # the mean weight change per pulse of a full LTP sweep (N pulses from G_min to G_max)
        swept = apply_pulses(
            np.array([syn.lo]),
            spec.n_pulses,
            syn.lo,
            syn.hi,
            spec.a_p_pulses,
            spec.a_d_pulses,
            spec.n_pulses,
        )
        steps[spec.label] = float(swept[0] - syn.lo) / spec.n_pulses
        assert steps[spec.label] == pytest.approx(1.0 / syn.pulses_per_w)
        ranges[spec.label] = syn.hi - syn.lo
    assert max(steps, key=steps.get) == "open"
    assert steps["open"] > steps["8000"] > steps["500"]
    # the weight range scales with the state's range in volts; the reference keeps +-w_max
    assert ranges["open"] == pytest.approx(2.0)
    assert ranges["8000"] == pytest.approx(2.0 * STATE_8000.range_V / reference)
    # per_state: every state's nominal step is the same 2 w_max / N
    for spec in (STATE_500, STATE_OPEN):
        assert _array(spec).pulses_per_w == pytest.approx(150 / 2.0)
    # the PSV read-out is the same device state under both mappings
    shared = _array(STATE_8000, mapping="shared", reference_range_V=reference)
    assert shared.to_volts(np.array([shared.lo, shared.hi])) == pytest.approx([0.12, 0.80])


def test_stochastic_counts_are_binomial_with_the_proportional_mean():
    length = 10
    x = np.array([0.05, 0.4, 1.0, 2.6, 7.0, -3.3, 25.0])
    draws = np.tile(x, (20000, 1))
    counts = stochastic_pulse_counts(draws.copy(), length, np.random.default_rng(2))
    assert np.all(counts == np.rint(counts)) and np.all(np.sign(counts) * np.sign(x) >= 0)
    mean = np.abs(counts).mean(axis=0)
    expected = np.minimum(np.abs(x), length)  # E[n] = |x| until every slot fires
    se = np.sqrt(np.abs(counts).var(axis=0) / len(counts)) + 1e-12
    assert np.all(np.abs(mean - expected) < 5 * se + 1e-9)
    # the whole distribution is Binomial(BL, |x| / BL), not only its mean
    for col, value in enumerate(x[:6]):
        p = abs(value) / length
        freq = np.bincount(np.abs(counts[:, col]).astype(int), minlength=length + 1)
        pmf = stats.binom.pmf(np.arange(length + 1), length, p) * len(counts)
        keep = pmf > 5
        chi2 = ((freq[keep] - pmf[keep]) ** 2 / pmf[keep]).sum()
        assert chi2 < stats.chi2.ppf(0.999, max(keep.sum() - 1, 1)) + 1e-9 or keep.sum() == 1


def test_stochastic_update_matches_proportional_in_expectation():
    spec = DeviceSpec.ideal_like(n_pulses=100, label="linear")
    rng = np.random.default_rng(1000)  # not one of the draws' seeds below
    delta = rng.uniform(-0.2, 0.2, size=(200, 100))  # -10..10 nominal steps
    prop = _array(spec, shape=delta.shape)
    stoch = _array(spec, shape=delta.shape, pulse_rule="stochastic", stochastic_length=16)
    state0 = np.zeros(delta.shape)
    runs = []
    for seed in range(40):
        s = state0.copy()
        stoch.update_inplace(s, delta.copy(), np.random.default_rng(seed))
        runs.append(s)
    s_prop = state0.copy()
    prop.update_inplace(s_prop, delta.copy(), None)
    mean_change = np.mean(runs, axis=0)
    # averaged over draws and devices, stochastic equals the requested change (as proportional
    # does up to its rounding); single draws scatter
    assert np.mean(mean_change - delta) == pytest.approx(0.0, abs=2e-4)
    assert np.mean(np.abs(s_prop - delta)) <= 0.5 / prop.pulses_per_w
    assert np.corrcoef(mean_change.ravel(), s_prop.ravel())[0, 1] > 0.99
    assert np.std(runs[0] - delta) > np.std(s_prop - delta)


def test_update_scheme_parameters_are_validated_and_clonable():
    with pytest.raises(ValueError, match="reference_range_V"):
        _array(STATE_8000, mapping="shared")
    with pytest.raises(ValueError, match="pulse_rule"):
        _array(STATE_8000, pulse_rule="manhattan")
    with pytest.raises(ValueError, match="stochastic_length"):
        _array(STATE_8000, pulse_rule="stochastic", stochastic_length=0)
    net = DeviceMLP(
        device=STATE_OPEN,
        mapping="shared",
        reference_range_V=0.8,
        pulse_rule="stochastic",
        stochastic_length=4,
    )
    params = clone(net).get_params()
    assert (params["mapping"], params["pulse_rule"], params["stochastic_length"]) == (
        "shared",
        "stochastic",
        4,
    )
    X = np.random.default_rng(0).random((20, 6))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="mapping"):
        DevicePerceptron(device=STATE_OPEN, mapping="global", max_iter=1).fit(X, y)


@pytest.mark.parametrize("rule", ["proportional", "sign", "stochastic"])
def test_each_pulse_rule_learns(rule):
    rng = np.random.default_rng(4)
    y = np.arange(400) % 2
    X = rng.normal(0, 0.5, (400, 20)) + (2 * y[:, None] - 1) * np.linspace(-1, 1, 20)
    net = DevicePerceptron(
        device=STATE_8000, pulse_rule=rule, learning_rate=0.2, max_iter=5, random_state=0
    ).fit(X, y)
    assert net.score_initial(X, y) < 0.5 and net.score(X, y) > 0.95
