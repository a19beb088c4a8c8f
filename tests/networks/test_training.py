"""Training the networks: building from the config, the learning-rate searches, every seed fitted."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fmes.device.synapse import DeviceSpec
from fmes.networks.estimators import DeviceMLP, DevicePerceptron
from fmes.networks.mnist import MnistSplit
from fmes.networks.training import (
    LEARNING_RATE_COLUMNS,
    LearningRateSearch,
    NetworkSettings,
    adaptation_random_state,
    build_network,
    extend_learning_rate_search,
    fit_every_seed,
    learning_rate_status,
    nested_learning_rate_runs,
    network_random_state,
    search_learning_rate,
    tune_every_state,
    tune_learning_rate,
    update_parameters,
)


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(0, 0.6, (n, 8)) + np.eye(3, 8)[y] * 2.0
    return X, y


class _RecordingPerceptron(DevicePerceptron):
    """Records the rows it is trained and scored on (to prove the split's provenance)."""

    seen: list = []

    def fit(self, X, y):
        type(self).seen.append(("fit", X[:, -1].copy()))
        return super().fit(X[:, :-1], y)

    def score(self, X, y, sample_weight=None):
        type(self).seen.append(("score", X[:, -1].copy()))
        return super().score(X[:, :-1], y)


def test_search_uses_a_validation_split_of_the_training_set_and_picks_the_best_rate():
    X, y = _blobs()
    row_id = np.arange(len(y), dtype=float)[:, None]
    _RecordingPerceptron.seen = []
    frame = search_learning_rate(
        _RecordingPerceptron(max_iter=3, random_state=0),
        np.hstack([X, row_id]),
        y,
        [1e-4, 0.3],
        0.25,
        seed=1,
    )
    assert list(frame["learning_rate"]) == [1e-4, 0.3]
    assert frame["chosen"].sum() == 1
    assert frame.loc[frame["chosen"], "learning_rate"].item() == 0.3  # 1e-4 barely moves
    assert frame["validation_accuracy"].iloc[1] > frame["validation_accuracy"].iloc[0] + 0.2
    fits = [ids for kind, ids in _RecordingPerceptron.seen if kind == "fit"]
    scores = [ids for kind, ids in _RecordingPerceptron.seen if kind == "score"]
    # each candidate trains on 75% and is scored on the disjoint 25%, all from the rows given
    assert len(fits) == 2 and len(scores) >= 2
    assert len(scores[0]) == 75 and not set(fits[0]) & set(scores[0])
    with pytest.raises(ValueError, match="validation_fraction"):
        search_learning_rate(DevicePerceptron(), X, y, [0.1], 1.0, seed=0)
    with pytest.raises(ValueError, match="grid"):
        search_learning_rate(DevicePerceptron(), X, y, [], 0.2, seed=0)


def test_tune_learning_rate_retrains_at_the_chosen_rate_and_scores_the_test_set():
    X, y = _blobs()
    X_test, y_test = _blobs(n=90, seed=5)
    net = DevicePerceptron(max_iter=3, random_state=0)
    frame = tune_learning_rate(net, X, y, X_test, y_test, [1e-4, 0.3, 3.0], 0.25, seed=1)
    chosen = frame.loc[frame["chosen"], "learning_rate"].item()
    assert chosen == 0.3  # inside the grid: 1e-4 barely moves, 3.0 overshoots
    assert (frame["chosen_learning_rate"] == chosen).all() and net.learning_rate == chosen
    # the chosen row carries the retrained network's test score, the others nothing
    assert frame.loc[frame["chosen"], "test_accuracy"].item() == net.score(X_test, y_test)
    assert frame.loc[~frame["chosen"], "test_accuracy"].isna().all()
    assert set(frame["status"]) == {"ok"} and (frame["reason"] == "").all()
    flagged = tune_learning_rate(
        DevicePerceptron(max_iter=3, random_state=0), X, y, X_test, y_test, [1e-4, 0.3], 0.25, 1
    )
    assert set(flagged["status"]) == {"flagged"}  # 0.3 wins (see above): the grid's edge
    assert (flagged["reason"] == "the chosen rate is at the edge of networks.lr_search.grid").all()


def test_search_over_update_schemes_with_device_estimators():
    X, y = _blobs(seed=2)
    spec = DeviceSpec("8000", 0.12, 0.80, 150, 120.0, 100.0)
    net = DevicePerceptron(device=spec, pulse_rule="sign", max_iter=2, random_state=0)
    frame = search_learning_rate(net, X, y, [0.05, 0.5], 0.2, seed=0)
    assert frame["validation_accuracy"].between(0, 1).all()


def test_update_parameters_from_config():
    specs = {"open": DeviceSpec("open", 0.0, 0.8, 150, 1e4, 1e4)}
    block = {
        "mapping": "shared",
        "reference_state": "open",
        "pulse_rule": "sign",
        "sign_threshold_pulses": 0.5,
        "stochastic_length": 10,
    }
    assert update_parameters(block, specs)["reference_range_V"] == pytest.approx(0.8)
    assert update_parameters({**block, "mapping": "per_state"}, {})["reference_range_V"] is None
    with pytest.raises(ValueError, match="networks.update.reference_state '8000'"):
        update_parameters({**block, "reference_state": "8000"}, specs)


def test_learning_rate_status_flags_the_grid_edges():
    assert learning_rate_status(0.3, [0.1, 0.3, 1.0]) == ("ok", "")
    for edge in (0.1, 1.0):
        status, reason = learning_rate_status(edge, [0.1, 0.3, 1.0])
        assert status == "flagged" and "edge" in reason
    assert learning_rate_status(0.1, [0.1]) == ("ok", "")  # a single rate has no edge


def test_extended_search_picks_an_interior_optimum_and_extends_at_an_edge():
    calls = []

    def peaked(at):  # a cheap fake scorer: validation accuracy peaks at rate `at`
        def score(rate):
            calls.append(rate)
            return 0.9 - 0.1 * abs(math.log10(rate / at))

        return score

    grid = [0.25, 0.5, 1.0, 2.0, 4.0]
    interior = extend_learning_rate_search(peaked(1.0), grid, max_extensions=3)
    assert interior.loc[interior["chosen"], "learning_rate"].item() == 1.0
    assert len(interior) == 5 and (interior["extension"] == 0).all()
    assert set(interior["status"]) == {"ok"}
    edge = extend_learning_rate_search(peaked(16.0), grid, max_extensions=3)
    assert edge["learning_rate"].tolist() == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert edge.loc[edge["chosen"], "learning_rate"].item() == 16.0  # interior after 3 steps
    assert edge["extension"].tolist()[-3:] == [1, 2, 3] and set(edge["status"]) == {"ok"}
    capped = extend_learning_rate_search(peaked(0.001), grid, max_extensions=2)
    assert capped["learning_rate"].min() == pytest.approx(0.0625)
    assert set(capped["status"]) == {"flagged"} and "edge" in capped["reason"].iloc[0]
    with pytest.raises(ValueError, match="log-spaced"):
        extend_learning_rate_search(peaked(1.0), [0.1, 0.2, 0.5], 1)


class _FakeNet:
    """A fake estimator for the nested search: its validation accuracy peaks at a rate that
    depends on its random_state; it records every array it is fitted or scored on."""

    seen: list[tuple[str, int, np.ndarray]] = []

    def __init__(self, rate, epochs, random_state):
        self.rate, self.epochs, self.random_state = rate, epochs, random_state

    def fit(self, X, y):
        _FakeNet.seen.append(("fit", self.random_state, X))
        return self

    def score(self, X, y):
        _FakeNet.seen.append(("score", self.random_state, X))
        best = {11: 0.1, 22: 1.0, 33: 10.0}[self.random_state]
        return 0.9 - 0.1 * abs(math.log10(self.rate / best))

    def predict(self, X):
        _FakeNet.seen.append(("predict", self.random_state, X))
        # right on the first test images, more of them the more epochs: a known outcome
        out = np.full(len(X), -1)
        out[: self.epochs] = 0
        return out


def test_nested_search_picks_each_seeds_own_rate_and_never_uses_the_test_set():
    _FakeNet.seen = []
    X_train = np.arange(40 * 3, dtype=float).reshape(40, 3)  # all >= 0
    y_train = np.repeat([0, 1], 20)
    X_test = np.full((6, 3), -1.0)  # marked: no training row is negative
    y_test = np.zeros(6, dtype=int)
    runs = nested_learning_rate_runs(
        _FakeNet,
        X_train,
        y_train,
        X_test,
        y_test,
        {0: 11, 1: 22, 2: 33},
        [0.3162, 1.0, 3.162],
        validation_fraction=0.25,
        max_extensions=2,
        search_epochs=2,
        epochs=4,
    )
    # each seed's best rate differs: 0.1 (grid extended downwards), 1 (interior), 10 (upwards)
    assert runs.runs["learning_rate"].tolist() == pytest.approx([0.1, 1.0, 10.0], rel=1e-3)
    assert not runs.runs["at_grid_edge"].any()
    assert runs.runs["n_rates_tried"].tolist() == [5, 3, 5]
    assert set(runs.curves["seed"]) == {0, 1, 2}
    assert runs.curves.groupby("seed")["chosen"].sum().tolist() == [1, 1, 1]
    assert runs.curves.loc[runs.curves["seed"] == 0, "extension"].max() == 2
    # the search fitted and scored on the training set only; the test set was only predicted
    for what, _, X in _FakeNet.seen:
        assert (X < 0).all() if what == "predict" else (X >= 0).all()
    assert sum(what == "predict" for what, _, _ in _FakeNet.seen) == 3
    # each seed scores on its own validation split (drawn with its random_state), 25% of the
    # training set, disjoint from the rows its candidates are fitted on
    validation = {}
    for what, state, X in _FakeNet.seen:
        rows = frozenset(X[:, 0])
        if what == "score":
            assert len(rows) == 10 and validation.setdefault(state, rows) == rows
    for what, state, X in _FakeNet.seen:
        if what == "fit" and len(X) < len(X_train):
            assert not frozenset(X[:, 0]) & validation[state]
    assert len(set(validation.values())) == 3
    # per-image outcomes of the final fit (4 epochs: the first 4 test images right)
    assert runs.correct.shape == (3, 6)
    assert runs.correct[:, :4].all() and not runs.correct[:, 4:].any()
    assert runs.runs["test_accuracy"].tolist() == pytest.approx([4 / 6] * 3)
    with pytest.raises(ValueError, match="networks.lr_search.grid.mlp"):
        nested_learning_rate_runs(
            _FakeNet,
            X_train,
            y_train,
            X_test,
            y_test,
            {0: 11},
            [0.3, 1.0, 3.0],
            validation_fraction=0.25,
            max_extensions=1,
            search_epochs=1,
            epochs=1,
            grid_key="networks.lr_search.grid.mlp",
        )


NET_PARAMS = {
    "perceptron": {"learning_rate": 0.3, "dtype": "float64"},
    "mlp": {
        "learning_rate": 1.0,
        "dtype": "float64",
        "hidden_layer_sizes": [6],
        "activation": "relu",
    },
}
SPEC = DeviceSpec("8000", 0.12, 0.80, 150, 120.0, 100.0)


def _split(seed=0):
    X, y = _blobs(seed=seed)
    X_test, y_test = _blobs(n=90, seed=seed + 5)
    return MnistSplit(X, y, X_test, y_test, source="blobs")


def test_build_network_from_the_config_blocks():
    settings = NetworkSettings(NET_PARAMS, 16, 1.0, {"pulse_rule": "sign"})
    mlp = settings.build("mlp", SPEC, epochs=3, random_state=7)
    assert isinstance(mlp, DeviceMLP) and mlp.hidden_layer_sizes == (6,)
    assert (mlp.max_iter, mlp.batch_size, mlp.random_state) == (3, 16, 7)
    assert mlp.learning_rate == 1.0 and mlp.pulse_rule == "sign" and mlp.device is SPEC
    net = settings.build("perceptron", None, epochs=2, random_state=1, learning_rate=0.05)
    assert isinstance(net, DevicePerceptron) and net.learning_rate == 0.05
    with pytest.raises(ValueError, match="'perceptron' or 'mlp'"):
        build_network(
            "cnn", NET_PARAMS["mlp"], None, epochs=1, batch_size=1, w_max=1.0, random_state=0
        )


def test_random_states_are_shared_across_states_and_differ_across_seeds():
    assert network_random_state(42, "mlp", 0) == network_random_state(42, "mlp", 0)
    assert network_random_state(42, "mlp", 0) != network_random_state(42, "mlp", 1)
    assert network_random_state(42, "mlp", 0) != network_random_state(42, "perceptron", 0)
    assert adaptation_random_state(42, 0) != network_random_state(42, "mlp", 0)


def test_learning_rate_search_from_config():
    search = LearningRateSearch.from_config(
        {
            "enabled": True,
            "grid": {"mlp": [1, 3.0]},
            "validation_fraction": 0.2,
            "epochs": 2,
            "max_extensions": 1,
        }
    )
    assert search.grid == {"mlp": [1.0, 3.0]} and search.epochs == 2
    assert (search.validation_fraction, search.max_extensions) == (0.2, 1)


def test_tune_every_state_searches_each_net_and_state_as_tune_learning_rate_does():
    split = _split()
    settings = NetworkSettings(NET_PARAMS, 32, 1.0)
    search = LearningRateSearch({"perceptron": [1e-4, 0.3, 3.0]}, 0.25, 3, 0)
    lines = []
    table = tune_every_state(
        settings,
        search,
        ["perceptron"],
        {"ideal": None, "8000": SPEC},
        split,
        {"perceptron": 1},
        lines.append,
    )
    assert list(table.columns) == LEARNING_RATE_COLUMNS
    assert table["state"].tolist() == ["ideal"] * 3 + ["8000"] * 3
    assert (table["mnist_source"] == "blobs").all() and (table["n_train"] == 300).all()
    assert (
        (table["epochs"] == 3).all() and len(lines) == 2 and lines[0].startswith("perceptron ideal")
    )
    # the float baseline's rows are those of tune_learning_rate with the same estimator and seed
    direct = tune_learning_rate(
        settings.build("perceptron", None, epochs=3, random_state=1),
        split.X_train,
        split.y_train,
        split.X_test,
        split.y_test,
        [1e-4, 0.3, 3.0],
        0.25,
        1,
    )
    ideal = table[table["state"] == "ideal"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ideal[direct.columns], direct)


class _Settings:
    """NetworkSettings stand-in building a _FakeNet (the device is recorded)."""

    def __init__(self):
        self.built = []

    def build(self, net, device, *, epochs, random_state, learning_rate=None):
        self.built.append((net, device, epochs))
        return _FakeNet(learning_rate, epochs, random_state)


def test_fit_every_seed_runs_the_nested_search_per_state_and_labels_every_row():
    _FakeNet.seen = []
    X_train = np.arange(40 * 3, dtype=float).reshape(40, 3)
    y_train = np.repeat([0, 1], 20)
    split = MnistSplit(X_train, y_train, np.full((6, 3), -1.0), np.zeros(6, int), source="fake")
    settings = _Settings()
    search = LearningRateSearch({"mlp": [0.3162, 1.0, 3.162]}, 0.25, 2, 2)
    lines = []
    runs = fit_every_seed(
        settings,
        search,
        "mlp",
        {"8000": "dev8000", "open": "devopen"},
        split,
        {0: 11, 1: 22},
        4,
        lines.append,
    )
    direct = nested_learning_rate_runs(
        _FakeNet,
        X_train,
        y_train,
        split.X_test,
        split.y_test,
        {0: 11, 1: 22},
        [0.3162, 1.0, 3.162],
        validation_fraction=0.25,
        max_extensions=2,
        search_epochs=2,
        epochs=4,
    )
    assert {device for _, device, _ in settings.built} == {"dev8000", "devopen"}
    assert runs.curves["state"].tolist() == ["8000"] * len(direct.curves) + ["open"] * len(
        direct.curves
    )
    assert [r["state"] for r in runs.runs] == ["8000", "8000", "open", "open"]
    assert [r["learning_rate"] for r in runs.runs[:2]] == direct.runs["learning_rate"].tolist()
    assert all(r["epochs"] == 4 and r["mnist_source"] == "fake" for r in runs.runs)
    assert set(runs.correct) == {"8000", "open"}
    np.testing.assert_array_equal(runs.correct["open"], direct.correct)
    assert len(lines) == 4 and lines[0].startswith("8000 seed 0: rate 0.09998")
