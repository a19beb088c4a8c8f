"""The training update (SynapseArray.update_from_change, SynapseStack.update_from_changes) equals
pulse counts + apply layer by layer, and its stochastic sampler draws exactly
Binomial(BL, |x| / BL) counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fmes.device import synapse
from fmes.device.energy import PulseLog
from fmes.device.synapse import DeviceSpec, SynapseArray

SPEC = DeviceSpec(
    "8000", 0.12, 0.80, 150, 120.0, 100.0, c2c_sigma_frac=0.01, d2d_a_cv=0.1, d2d_range_cv=0.05
)


def _array(**scheme):
    return SynapseArray(SPEC, (60, 50), 1.0, np.random.default_rng(3), **scheme)


@pytest.mark.parametrize("rule", ["proportional", "sign"])
def test_candidate_path_equals_counts_then_apply(rule):
    syn = _array(pulse_rule=rule)
    rng = np.random.default_rng(0)
    state = syn.program(rng.uniform(-0.9, 0.9, syn.shape))
    gradient = rng.normal(0.0, 0.004, syn.shape)  # a few % of the devices reach half a step
    learning_rate = 0.7
    # changes exactly on the rounding and threshold boundaries (in nominal steps)
    edges = np.array([0.5, -0.5, 0.5 + 1e-12, 1.5, -2.5, 0.49999999]) / syn.pulses_per_w
    gradient.flat[:6] = -edges / learning_rate
    expected_counts = syn.pulse_counts(-learning_rate * gradient)
    assert 0 < np.count_nonzero(expected_counts) < 0.2 * expected_counts.size  # candidate path
    expected = state.copy()
    syn.apply(expected, expected_counts, np.random.default_rng(9))
    updated = state.copy()
    counts = syn.update_from_change(
        updated, gradient.copy(), -learning_rate, np.random.default_rng(9)
    )
    np.testing.assert_array_equal(updated, expected)
    np.testing.assert_array_equal(counts, expected_counts[expected_counts != 0])


def test_whole_array_path_when_most_devices_pulse(monkeypatch):
    syn = _array()
    rng = np.random.default_rng(1)
    state = syn.program(rng.uniform(-0.5, 0.5, syn.shape))
    change = rng.normal(0.0, 0.05, syn.shape)  # most devices get pulses
    counts = syn.pulse_counts(change)
    expected = state.copy()
    syn.apply(expected, counts, np.random.default_rng(2))
    updated = state.copy()
    applied = syn.update_from_change(updated, change.copy(), 1.0, np.random.default_rng(2))
    np.testing.assert_array_equal(updated, expected)
    assert applied.size == np.count_nonzero(counts)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])  # 32 or 16 raw bits per device
def test_sparse_stochastic_counts_are_binomial_with_their_sign(dtype):
    length = 10
    # per column one desired change x (nominal steps, = change x scale): tiny (rarely pulsed),
    # around one step (n <= 1 mostly), several steps (the survival table), saturated (x >= BL)
    values = np.array([0.01, 0.2, -0.7, 1.5, -4.0, 8.5, 12.0])
    scale = -2.0  # e.g. -learning_rate x pulses per unit: the count's sign follows x
    n_rows = 30000
    change = np.tile(values / scale, n_rows).astype(dtype)
    idx, n = synapse._stochastic_sparse(change, scale, length, np.random.default_rng(5))
    assert np.all(np.diff(idx) > 0) and np.all(n != 0)
    counts = np.zeros(change.size)
    counts[idx] = n
    counts = counts.reshape(n_rows, values.size)
    assert np.all(np.sign(counts) * np.sign(values) >= 0)
    for column, x in enumerate(values):
        p = min(abs(x) / length, 1.0)
        freq = np.bincount(np.abs(counts[:, column]).astype(int), minlength=length + 1)
        if p == 1.0:  # every slot fires
            assert freq[length] == n_rows
            continue
        pmf = stats.binom.pmf(np.arange(length + 1), length, p) * n_rows
        keep = pmf > 5
        # lump the rare tail into one cell so every probability mass is tested
        observed = np.append(freq[keep], freq[~keep].sum())
        expected = np.append(pmf[keep], pmf[~keep].sum())
        if expected[-1] < 5:
            observed, expected = observed[:-1], expected[:-1]
        chi2 = ((observed - expected) ** 2 / expected).sum()
        assert chi2 < stats.chi2.ppf(0.999, max(len(expected) - 1, 1)), (x, freq)
        assert abs(np.abs(counts[:, column]).mean() - abs(x)) < 5 * np.sqrt(
            p * (1 - p) * length / n_rows
        )


@pytest.mark.parametrize("rule", ["proportional", "sign", "stochastic"])
def test_row_subset_update_equals_the_update_with_zero_rows(rule):
    # the training loop passes only the gradient rows of inputs that are nonzero in the batch
    syn = _array(pulse_rule=rule)
    rng = np.random.default_rng(4)
    state = syn.program(rng.uniform(-0.9, 0.9, syn.shape))
    rows = np.array([2, 3, 17, 40, 59])
    gradient = np.zeros(syn.shape)
    gradient[rows] = rng.normal(0.0, 0.02, (rows.size, syn.shape[1]))
    whole, subset = state.copy(), state.copy()
    counts_whole = syn.update_from_change(whole, gradient.copy(), -0.7, np.random.default_rng(6))
    counts_subset = syn.update_from_change(
        subset, gradient[rows].copy(), -0.7, np.random.default_rng(6), rows=rows
    )
    changed = np.flatnonzero((subset != state).any(axis=1))
    assert changed.size > 0 and np.isin(changed, rows).all()
    if rule == "stochastic":  # the same law, another stream: compare pulse totals only
        assert (
            abs(np.abs(counts_subset).sum() - np.abs(counts_whole).sum())
            < 0.3 * np.abs(counts_whole).sum()
        )
    else:
        np.testing.assert_array_equal(subset, whole)
        np.testing.assert_array_equal(counts_subset, counts_whole)


def test_row_subset_update_takes_the_whole_array_path_too():
    syn = _array()
    rng = np.random.default_rng(8)
    state = syn.program(rng.uniform(-0.5, 0.5, syn.shape))
    rows = np.arange(0, 60, 2)
    change = np.zeros(syn.shape)
    change[rows] = rng.normal(0.0, 0.05, (rows.size, syn.shape[1]))  # most devices pulse
    whole, subset = state.copy(), state.copy()
    syn.update_from_change(whole, change.copy(), 1.0, np.random.default_rng(2))
    syn.update_from_change(subset, change[rows].copy(), 1.0, np.random.default_rng(2), rows=rows)
    np.testing.assert_array_equal(subset, whole)


@pytest.mark.parametrize("rule", ["proportional", "sign"])
@pytest.mark.parametrize(
    ("output_spread", "first_spread"),
    [(0.004, 0.004), (0.05, 0.004), (0.05, 0.05)],
    ids=["both-sparse", "output-whole", "both-whole"],
)
def test_stack_update_equals_the_layers_updated_in_turn(rule, output_spread, first_spread):
    # two layers as a training step has them: the output layer's whole change first, then the
    # first layer's nonzero input rows; one noise stream for both (the order of its draws counts)
    first, output = (
        SynapseArray(SPEC, shape, 1.0, np.random.default_rng(seed), pulse_rule=rule)
        for shape, seed in (((60, 50), 3), ((50, 10), 4))
    )
    stack = synapse.SynapseStack([first, output])
    rng = np.random.default_rng(7)
    state = np.concatenate(
        [a.program(rng.uniform(-0.9, 0.9, a.shape)).reshape(-1) for a in (first, output)]
    )
    rows = np.array([0, 4, 5, 30, 59])
    grad_first = np.zeros(first.shape)
    grad_first[rows] = rng.normal(0.0, first_spread, (rows.size, first.shape[1]))
    grad_output = rng.normal(0.0, output_spread, output.shape)
    learning_rate = 0.7

    expected = [w.copy() for w in stack.layer_views(state)]
    noise = np.random.default_rng(11)
    expected_counts = []
    for layer, grad in ((1, grad_output), (0, grad_first)):
        array = stack.arrays[layer]
        counts = array.pulse_counts(-learning_rate * grad)
        array.apply(expected[layer], counts, noise)
        expected_counts.append(counts[counts != 0])

    change = np.concatenate([grad_output.reshape(-1), grad_first[rows].reshape(-1)])
    counts, bounds = stack.update_from_changes(
        state, change, (1, 0), (None, rows), -learning_rate, np.random.default_rng(11)
    )
    for got, want in zip(stack.layer_views(state), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    for j, want in enumerate(expected_counts):
        got = counts[bounds[j] : bounds[j + 1]]
        np.testing.assert_array_equal(got[got != 0], want)


def test_stack_needs_one_update_scheme():
    arrays = [_array(pulse_rule="sign"), _array(pulse_rule="proportional")]
    with pytest.raises(ValueError, match="pulse_rule"):
        synapse.SynapseStack(arrays)


def test_pulse_log_segments_equal_one_add_per_layer():
    rng = np.random.default_rng(2)
    by_layer, by_segments = PulseLog(3), PulseLog(3)
    for epoch_updates in (4, 2):
        for _ in range(epoch_updates):
            parts = [rng.integers(-5, 6, size).astype(float) for size in (7, 0, 12)]
            for layer, part in zip((2, 1, 0), parts, strict=True):
                by_layer.add(layer, part.astype(int))
            bounds = np.cumsum([0] + [p.size for p in parts]).tolist()
            by_segments.add_segments(np.concatenate(parts), bounds, (2, 1, 0))
        by_layer.close_epoch()
        by_segments.close_epoch()
    table = by_segments.table()
    pd.testing.assert_frame_equal(table, by_layer.table())
    steps = table.set_index(["epoch", "layer"])["parallel_steps"]
    assert steps.loc[(1, 1)] == 0 and steps.loc[(1, 0)] > 4 and table["pulses_ltd"].sum() > 0


def test_training_continues_identically_after_pickling_and_after_assigning_weights():
    # the layers' weights are views of one flat device state; a pickled copy (or a weight
    # matrix assigned by hand) must be re-bound to it before training goes on
    import pickle

    from sklearn.datasets import load_digits

    from fmes.networks.estimators import DeviceMLP

    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16.0, y[:200]
    net = DeviceMLP(device=SPEC, hidden_layer_sizes=(16,), random_state=0).fit(X[:100], y[:100])
    copy = pickle.loads(pickle.dumps(net))
    net.partial_fit(X, y)
    copy.partial_fit(X, y)
    assert not np.array_equal(net.coefs_[0], net.initial_coefs_[0])
    for a, b in zip(net.coefs_, copy.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(net.pulse_log_.table(), copy.pulse_log_.table())
    copy.coefs_[1] = net.coefs_[1] * 0.5  # a new array for the output layer
    before = copy.coefs_[1].copy()
    copy.partial_fit(X, y)
    assert not np.array_equal(copy.coefs_[1], before)
    assert copy.coefs_[1].base is copy.coefs_[0].base  # bound to one flat state again
