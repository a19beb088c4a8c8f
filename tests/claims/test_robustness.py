"""Learning-rate search, claim values per variant, verdicts and the paper-table column."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fmes.claims.figures import robustness_figure
from fmes.claims.robustness import (
    add_robustness_column,
    claim_values,
    mean_interval,
    parse_variant,
    robustness_table,
    variant_adaptation,
    variant_label,
    variant_tables,
)
from fmes.data.targets import load_targets

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


def test_variant_labels_round_trip():
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


def test_learning_rate_curves_figure_has_a_panel_per_state_and_variant_and_marks_the_choice():
    from fmes.claims.figures import learning_rate_curves_figure

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


def test_variant_tables_put_the_variant_first_and_keep_every_run():
    from fmes.networks.training import StateRuns

    curves = pd.DataFrame(
        {
            "seed": [0, 0],
            "learning_rate": [0.1, 0.3],
            "validation_accuracy": [0.5, 0.6],
            "extension": [0, 0],
            "chosen": [False, True],
            "status": "ok",
            "reason": "",
            "state": "8000",
        }
    )
    runs = StateRuns(curves, [{"state": "8000", "seed": 0, "test_accuracy": 0.7}], {})
    lr, networks = variant_tables("shared-sign", runs)
    columns = "variant state seed learning_rate validation_accuracy chosen extension status reason"
    assert list(lr.columns) == columns.split()
    assert (lr["variant"] == "shared-sign").all() and len(lr) == 2
    assert networks.to_dict("records") == [
        {"variant": "shared-sign", "state": "8000", "seed": 0, "test_accuracy": 0.7}
    ]


def test_variant_adaptation_summarises_each_seed_in_the_claims_columns():
    table = pd.DataFrame(
        {
            "method": ["device", "device"],
            "n_images": [0, 40],
            "accuracy_dataset2": [0.1, 0.7],
            "accuracy_dataset1": [0.9, 0.6],
        }
    )
    result = type("R", (), {"table": table})()
    targets = load_targets("config/paper_targets.yaml")
    frame = variant_adaptation("per_state-sign", {0: result, 3: result}, targets)
    assert list(frame.columns) == [
        "variant",
        "seed",
        "dataset1",
        "dataset2_before",
        "dataset2_after",
        "n_images",
    ]
    assert frame["seed"].tolist() == [0, 3]
    assert frame.iloc[0][["dataset1", "dataset2_before", "dataset2_after"]].tolist() == [
        0.9,
        0.1,
        0.7,
    ]
    assert variant_adaptation("per_state-sign", {}, targets).empty


def test_adaptation_under_a_variant_is_skipped_with_the_plans_reason():
    from fmes.claims.robustness import adapt_under_variant

    table = pd.DataFrame({"resistance_label": ["500"], "status": ["flagged"], "reason": ["A"]})
    provenance = pd.DataFrame(columns=["resistance_label", "column", "source", "note"])
    section = {"train": {"state": "open", "allow_non_ok_state": True}}
    said = []
    out = adapt_under_variant(None, table, provenance, section, {}, 0, {}, said.append)
    assert out == {} and said == [
        "adaptation skipped: no device parameters at open: the analyses produced no LTP/LTD "
        "fit at this state"
    ]
    section = {"train": {"state": "500", "allow_non_ok_state": False}}
    assert adapt_under_variant(None, table, provenance, section, {}, 0, {}, said.append) == {}
    assert "set adaptation.train.allow_non_ok_state: true" in said[-1]
