"""Learning-rate search, claim values per variant, verdicts and the paper-table column."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fmes.claims.robustness import (
    add_robustness_column,
    claim_values,
    mean_interval,
    parse_variant,
    robustness_figure,
    robustness_table,
    search_learning_rate,
    tune_learning_rate,
    update_parameters,
    variant_label,
)
from fmes.data.targets import load_targets
from fmes.device.synapse import DeviceSpec
from fmes.networks.estimators import DevicePerceptron

TARGETS = [
    {"id": "accuracy_8000_above_open", "comparison": "increasing", "quantity": "order"},
    {"id": "accuracy_mlp_8000ohm", "comparison": "equal", "value": 0.90, "tolerance_rel": 0.05},
    {"id": "accuracy_mlp_open", "comparison": "equal", "value": 0.89, "tolerance_rel": 0.05},
    {"id": "accuracy_headline", "comparison": "equal", "value": 0.95, "tolerance_rel": 0.05},
    {
        "id": "adaptation_dataset1_accuracy",
        "comparison": "equal",
        "value": 0.95,
        "tolerance_rel": 0.05,
    },
    {
        "id": "adaptation_dataset2_before",
        "comparison": "equal",
        "value": 0.08,
        "tolerance_rel": 1.0,
    },
    {
        "id": "adaptation_dataset2_after",
        "comparison": "equal",
        "value": 0.73,
        "tolerance_rel": 0.15,
    },
]


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
    assert parse_variant(variant_label("shared", "stochastic")) == ("shared", "stochastic")
    with pytest.raises(ValueError):
        parse_variant("global-sign")


def test_mean_interval_is_student_t():
    mean, low, high = mean_interval([0.9, 0.92, 0.91])
    assert mean == pytest.approx(0.91)
    assert high - mean == pytest.approx(4.302653 * 0.01 / math.sqrt(3), rel=1e-5)
    assert math.isnan(mean_interval([0.5])[1])


def _accuracy(variant, acc_8000, acc_open):
    rows = [(variant, "8000", s, a) for s, a in enumerate(acc_8000)]
    rows += [(variant, "open", s, a) for s, a in enumerate(acc_open)]
    return pd.DataFrame(rows, columns=["variant", "state", "seed", "test_accuracy"])


def test_claims_and_verdicts_per_variant():
    accuracy = pd.concat(
        [
            _accuracy("per_state-proportional", [0.90, 0.91, 0.90], [0.91, 0.92, 0.915]),
            _accuracy("shared-sign", [0.92, 0.93, 0.925], [0.90, 0.89, 0.90]),
        ]
    )
    adaptation = pd.DataFrame(
        {
            "variant": ["per_state-proportional"] * 2 + ["shared-sign"] * 2,
            "seed": [0, 1, 0, 1],
            "dataset1": [0.96, 0.95, 0.5, 0.6],
            "dataset2_before": [0.1, 0.12, 0.1, 0.1],
            "dataset2_after": [0.7, 0.74, 0.7, 0.72],
        }
    )
    values = claim_values(accuracy, adaptation, targets=load_targets("config/paper_targets.yaml"))
    order = values[values["target_id"] == "accuracy_8000_above_open"]
    assert order.groupby("variant")["value"].mean().round(4).to_dict() == {
        "per_state-proportional": -0.0117,
        "shared-sign": 0.0283,
    }
    headline = values[values["target_id"] == "accuracy_headline"]
    # the headline is judged per state (each a cell), not on the best state
    assert set(headline["state"]) == {"8000", "open"} and len(headline) == 12
    assert set(values.loc[values["target_id"] != "accuracy_headline", "state"]) == {""}
    per_state = robustness_table(values, TARGETS)
    assert len(per_state) == 16 and set(per_state["interval_method"]) == {"Student t over seeds"}
    assert (
        "judged per state: 8000, open"
        in per_state.loc[per_state["claim"] == "accuracy_headline", "verdict"].iloc[0]
    )
    table = per_state[per_state["claim"] != "accuracy_headline"].set_index(["claim", "variant"])
    order_up = table.loc[("accuracy_8000_above_open", "shared-sign")]
    order_down = table.loc[("accuracy_8000_above_open", "per_state-proportional")]
    # three seeds: a raw one-sided t test would call these, Holm over the 16 cells does not
    assert order_up["p_holds"] < 0.025 < order_up["p_holds_adjusted"]
    assert order_down["p_fails"] < 0.025 < order_down["p_fails_adjusted"]
    assert set(table["cell_verdict"]) == {"inconclusive"} and not table["holds"].any()
    assert table.loc[("accuracy_8000_above_open", "shared-sign"), "verdict"] == (
        "holds under 0 of 2 variants; fails under 0; inconclusive under 2"
    )
    assert table.loc[("adaptation_dataset1_accuracy", "shared-sign"), "n_variants_holding"] == "0/2"
    lenient = robustness_table(values, TARGETS, multiplicity="none")
    lenient = lenient[lenient["claim"] != "accuracy_headline"].set_index(["claim", "variant"])
    assert lenient.loc[("accuracy_8000_above_open", "shared-sign"), "cell_verdict"] == "holds"
    assert lenient.loc[("accuracy_8000_above_open", "per_state-proportional"), "cell_verdict"] == (
        "fails"
    )
    assert table["status"].isin(["ok", "flagged"]).all()
    row = table.loc[("accuracy_mlp_open", "per_state-proportional")]
    assert row["value_ci95_low"] < row["value_mean"] < row["value_ci95_high"]
    fig = robustness_figure(table.reset_index())
    assert fig.axes[0].get_xlabel() and len(fig.axes[0].texts) == len(table)
    # colour by the cell's verdict: all inconclusive here (grey, the middle colour)
    assert set(np.unique(fig.axes[0].images[0].get_array())) == {1.0}
    starred = sum(t.get_text().endswith(" *") for t in fig.axes[0].texts)
    assert starred == (table["status"] == "flagged").sum()

    paper = pd.DataFrame({"target_id": ["accuracy_mlp_8000ohm", "iv_current_0p6V_500ohm"]})
    out = add_robustness_column(paper, table.reset_index())
    assert out["holds_under_variants"].tolist() == ["0/2", ""]
    assert out["robustness_verdict"].tolist() == [
        "holds under 0 of 2 variants; fails under 0; inconclusive under 2",
        "",
    ]
    assert add_robustness_column(paper, None)["holds_under_variants"].tolist() == ["", ""]


def test_none_verdict_and_single_seed_flag():
    values = pd.DataFrame(
        {
            "variant": ["a-b", "c-d"],
            "target_id": ["accuracy_headline"] * 2,
            "seed": [0, 0],
            "value": [0.5, 0.6],
            "note": ["", ""],
        }
    )
    table = robustness_table(values, TARGETS)
    assert set(table["verdict"]) == {
        "holds under 0 of 2 variants; fails under 0; inconclusive under 2"
    }
    assert set(table["status"]) == {"flagged"} and "no interval" in table["reason"].iloc[0]


def test_extended_search_picks_an_interior_optimum_and_extends_at_an_edge():
    from fmes.claims.robustness import extend_learning_rate_search

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
    from fmes.claims.robustness import nested_learning_rate_runs

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


def test_learning_rate_curves_figure_has_a_panel_per_state_and_variant_and_marks_the_choice():
    from fmes.claims.robustness import learning_rate_curves_figure

    rows = []
    for variant in ("per_state-sign", "shared-sign"):
        for state in ("8000", "open"):
            for seed in (0, 1):
                for rate, acc in ((0.3, 0.5), (1.0, 0.8 + 0.01 * seed), (3.0, 0.6)):
                    rows.append((variant, state, seed, rate, acc, rate == 1.0, "ok"))
    curves = pd.DataFrame(
        rows,
        columns=[
            "variant",
            "state",
            "seed",
            "learning_rate",
            "validation_accuracy",
            "chosen",
            "status",
        ],
    )
    fig = learning_rate_curves_figure(curves)
    axes = fig.get_axes()
    assert len(axes) == 4
    assert axes[0].get_xscale() == "log" and axes[0].get_title() == "per_state-sign"
    # per seed: the curve and the chosen rate's dot
    dots = [line for line in axes[0].get_lines() if line.get_marker() == "o"]
    assert [list(d.get_xdata()) for d in dots] == [[1.0], [1.0]]
    assert "learning rate" in axes[-1].get_xlabel()


def test_network_claims_use_the_crossed_bootstrap_over_seeds_and_test_images(tmp_path):
    from fmes.claims.robustness import network_claim_replicates, read_correct
    from fmes.core.io import write_npz

    targets = load_targets("config/paper_targets.yaml")
    rng = np.random.default_rng(3)
    n_seeds, n_images = 5, 1000

    def outcomes(p):  # bool (seeds, images): right with probability p
        return rng.random((n_seeds, n_images)) < p

    # a true difference (8000 above open by 4 points) and a null (both at 0.88)
    correct = {
        "per_state-sign": {"8000": outcomes(0.90), "open": outcomes(0.86)},
        "shared-sign": {"8000": outcomes(0.88), "open": outcomes(0.88)},
    }
    path = tmp_path / "correct.npz"
    write_npz({f"correct_{k}": v for k, v in correct["shared-sign"].items()}, path)
    assert {k: v.tolist() for k, v in read_correct(path).items()} == {
        k: v.tolist() for k, v in correct["shared-sign"].items()
    }
    accuracy = pd.DataFrame(
        [
            (variant, state, seed, float(hits[seed].mean()))
            for variant, by_state in correct.items()
            for state, hits in by_state.items()
            for seed in range(n_seeds)
        ],
        columns=["variant", "state", "seed", "test_accuracy"],
    )
    values = claim_values(accuracy, targets=targets)
    replicates = network_claim_replicates(correct, targets, n_boot=999, seed=0)
    assert set(replicates) == {
        (v, c, s)
        for v in correct
        for c, s in [
            ("accuracy_8000_above_open", ""),
            ("accuracy_mlp_8000ohm", ""),
            ("accuracy_mlp_open", ""),
            ("accuracy_headline", "8000"),
            ("accuracy_headline", "open"),
        ]
    }
    table = robustness_table(values, targets, replicates=replicates)
    assert set(table["interval_method"]) == {"crossed bootstrap (seeds x test images)"}
    cells = table.set_index(["claim", "variant", "state"])
    # the bootstrap estimate is the mean over seeds, as the per-seed values give it
    t_table = robustness_table(values, targets).set_index(["claim", "variant", "state"])
    assert cells["value_mean"].to_numpy() == pytest.approx(t_table["value_mean"].to_numpy())
    assert cells.loc[("accuracy_8000_above_open", "per_state-sign", ""), "cell_verdict"] == "holds"
    assert (
        cells.loc[("accuracy_8000_above_open", "shared-sign", ""), "cell_verdict"] == "inconclusive"
    )
    low, high = cells.loc[
        ("accuracy_8000_above_open", "shared-sign", ""), ["value_ci95_low", "value_ci95_high"]
    ]
    assert low < 0 < high
    # an equivalence (0.90 within 0.90 +- 5%) and a per-state headline: open fails ~0.95
    assert cells.loc[("accuracy_mlp_8000ohm", "per_state-sign", ""), "cell_verdict"] == "holds"
    assert cells.loc[("accuracy_headline", "per_state-sign", "open"), "cell_verdict"] == "fails"
    # the paper table's status of each claim is its verdict under the default scheme (one
    # source), in the paper table's words; the headline per state: holds if any state holds
    paper = pd.DataFrame(
        {
            "target_id": [
                "accuracy_8000_above_open",
                "accuracy_headline",
                "accuracy_mlp_open",
                "iv_current_0p6V_500ohm",
            ],
            "status": ["fail", "pass", "pass", "pass"],
            "note": ["", "best state 8000", "", "fitted target"],
        }
    )
    headline_8000 = cells.loc[("accuracy_headline", "per_state-sign", "8000"), "cell_verdict"]
    out = add_robustness_column(paper, table, default_variant="per_state-sign")
    out = out.set_index("target_id")
    assert out.loc["accuracy_8000_above_open", "status"] == "pass"
    assert out.loc["accuracy_headline", "status"] == (
        "pass" if headline_8000 == "holds" else "inconclusive"
    )
    assert "state open: fails" in out.loc["accuracy_headline", "note"]
    assert out.loc["accuracy_headline", "note"].startswith("best state 8000; status: verdict")
    assert out.loc["iv_current_0p6V_500ohm", ["status", "note"]].tolist() == [
        "pass",
        "fitted target",
    ]
