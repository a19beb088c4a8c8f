"""The network, adaptation and analysis claims read their states and rows from the targets'
`select` blocks (config/paper_targets.yaml): a copied targets file naming another state changes
the rows a claim reads, and a missing or malformed selector fails naming the target and key."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from fmes.claims.comparison import (
    claims_from_adaptation,
    claims_from_analyses,
    claims_from_networks,
    network_skip_notes,
    selected_rows,
)
from fmes.claims.robustness import adaptation_summary, claim_values, robustness_net
from fmes.data.targets import check_selects, load_targets, network_paper_accuracy
from fmes.networks.estimators import accuracy_table

TARGETS = load_targets("config/paper_targets.yaml")


def _with(target_id: str, **changes) -> list[dict]:
    """A copy of the paper targets with ``changes`` to one target (``select=...`` replaces it)."""
    targets = copy.deepcopy(TARGETS)
    for target in targets:
        if target["id"] == target_id:
            target.update(changes)
    return targets


def _accuracy() -> pd.DataFrame:
    rows = [
        ("mlp", "ideal", 0.97),
        ("mlp", "500", 0.70),
        ("mlp", "8000", 0.88),
        ("mlp", "open", 0.86),
        ("perceptron", "8000", 0.80),
        ("perceptron", "open", 0.91),
    ]
    frame = pd.DataFrame(rows, columns=["net", "state", "final_test_accuracy_mean"])
    return frame.assign(final_test_accuracy_std=0.01, n_seeds=3, epochs=5, status="ok", reason="")


def _claims(accuracy: pd.DataFrame, targets: list[dict]) -> pd.DataFrame:
    return claims_from_networks(accuracy, targets=targets).set_index("target_id")


def test_network_claims_read_the_net_and_states_their_targets_select():
    claims = _claims(_accuracy(), TARGETS)
    assert claims.loc["accuracy_mlp_8000ohm", "reproduced_value"] == 0.88  # mlp, not perceptron
    assert claims.loc["accuracy_mlp_8000ohm", "note"] == "5 epochs (paper: 100)"
    assert claims.loc["accuracy_mlp_open", "reproduced_value"] == 0.86
    order = claims.loc["accuracy_8000_above_open"]
    assert order["reproduced_value"] == 1.0 and order["note"] == "open: 0.86, 8000: 0.88"
    headline = claims.loc["accuracy_headline"]  # best device network: 'ideal' is not a device
    assert headline["reproduced_value"] == 0.91
    assert headline["note"] == "best device network: perceptron at open ohm"

    other = _claims(
        _accuracy(), _with("accuracy_mlp_8000ohm", select={"net": "mlp", "state": "500"})
    )
    assert other.loc["accuracy_mlp_8000ohm", "reproduced_value"] == 0.70
    other = _claims(
        _accuracy(),
        _with("accuracy_8000_above_open", select={"net": "perceptron", "state": ["8000", "open"]}),
    )
    assert other.loc["accuracy_8000_above_open", "note"] == "8000: 0.8, open: 0.91"
    other = _claims(
        _accuracy(), _with("accuracy_headline", select={"net": "mlp", "state": {"not": ["ideal"]}})
    )
    assert other.loc["accuracy_headline", "reproduced_value"] == 0.88


def test_a_state_without_a_value_gives_no_claim_and_its_own_skip_note():
    accuracy = _accuracy()
    accuracy.loc[accuracy["state"] == "500", ["n_seeds", "status", "reason"]] = [
        0,
        "skipped",
        "A on its bound",
    ]
    targets = _with("accuracy_mlp_open", select={"net": "mlp", "state": "500"})
    assert "accuracy_mlp_open" not in _claims(accuracy, targets).index
    assert network_skip_notes(accuracy, targets) == {
        "accuracy_mlp_open": "network at 500 skipped: A on its bound"
    }
    assert network_skip_notes(accuracy, TARGETS) == {}


def _adaptation() -> pd.DataFrame:
    rows = [
        ("device", 0, 0.95, 0.08),
        ("device", 8, 0.90, 0.50),
        ("device", 40, 0.85, 0.73),
        ("finetune", 0, 0.95, 0.08),
        ("finetune", 40, 0.60, 0.90),
    ]
    frame = pd.DataFrame(
        rows, columns=["method", "n_images", "accuracy_dataset1", "accuracy_dataset2"]
    )
    return frame


def _aggregated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(
        columns={
            "accuracy_dataset1": "accuracy_dataset1_mean",
            "accuracy_dataset2": "accuracy_dataset2_mean",
        }
    ).assign(accuracy_dataset1_std=0.01, accuracy_dataset2_std=0.02, n_seeds=2)


def test_adaptation_claims_read_the_rows_and_column_their_targets_select():
    claims = claims_from_adaptation(
        _aggregated(_adaptation()), targets=TARGETS, train_state="open"
    ).set_index("target_id")
    assert claims["reproduced_value"].to_dict() == {
        "adaptation_dataset1_accuracy": 0.95,
        "adaptation_dataset2_before": 0.08,
        "adaptation_dataset2_after": 0.73,
    }
    assert claims.loc["adaptation_dataset1_accuracy", "note"] == (
        "784->4 device network, open state, before adaptation"
    )
    assert claims.loc["adaptation_dataset2_after", "note"] == (
        "after 40 mapped images; dataset1 then 0.85"
    )
    targets = _with(
        "adaptation_dataset2_after", select={"method": "finetune", "n_images": {"at": "max"}}
    )
    claims = claims_from_adaptation(_aggregated(_adaptation()), targets=targets, train_state="open")
    assert (
        claims.set_index("target_id").loc["adaptation_dataset2_after", "reproduced_value"] == 0.90
    )


def test_the_per_seed_adaptation_summary_reads_the_same_selects():
    table = _adaptation()
    # the device rows: fewest images before mapping, most after (the paper's choice)
    assert adaptation_summary(table, TARGETS) == {
        "dataset1": 0.95,
        "dataset2_before": 0.08,
        "dataset2_after": 0.73,
        "n_images": 40,
    }
    # rows in any order; another method's better row is not read
    shuffled = pd.DataFrame(
        {
            "method": ["finetune", "device", "device", "device"],
            "n_images": [40, 40, 0, 8],
            "accuracy_dataset2": [0.99, 0.7, 0.1, 0.4],
            "accuracy_dataset1": [0.2, 0.6, 0.9, 0.8],
        }
    )
    assert adaptation_summary(shuffled, TARGETS) == {
        "dataset1": 0.9,
        "dataset2_before": 0.1,
        "dataset2_after": 0.7,
        "n_images": 40,
    }
    with pytest.raises(ValueError, match="no rows the targets"):
        adaptation_summary(shuffled[shuffled["method"] == "finetune"], TARGETS)
    targets = _with("adaptation_dataset2_after", select={"method": "device", "n_images": 8})
    summary = adaptation_summary(table, targets)
    assert (summary["dataset2_after"], summary["n_images"]) == (0.50, 8)


def test_per_variant_claim_values_follow_the_targets_select():
    accuracy = pd.DataFrame(
        [
            ("v", state, seed, acc)
            for state, accs in (("500", (0.5, 0.6)), ("8000", (0.8, 0.9)), ("open", (0.7, 0.85)))
            for seed, acc in enumerate(accs)
        ],
        columns=["variant", "state", "seed", "test_accuracy"],
    )
    values = claim_values(accuracy, targets=TARGETS)
    by_claim = values.groupby("target_id")["value"].mean().round(4).to_dict()
    assert by_claim["accuracy_mlp_8000ohm"] == 0.85
    assert by_claim["accuracy_8000_above_open"] == 0.075
    targets = _with(
        "accuracy_8000_above_open", select={"net": "mlp", "state": ["500", "open", "8000"]}
    )
    values = claim_values(accuracy, targets=targets)
    order = values[values["target_id"] == "accuracy_8000_above_open"]
    assert order["value"].round(4).tolist() == [0.1, 0.05]  # the smaller step per seed
    targets = _with("accuracy_mlp_8000ohm", select={"net": "mlp", "state": "500"})
    values = claim_values(accuracy, targets=targets)
    assert values[values["target_id"] == "accuracy_mlp_8000ohm"]["value"].tolist() == [0.5, 0.6]


def test_analysis_trends_read_the_states_their_targets_select():
    fits = pd.DataFrame(
        {
            "resistance_label": ["500", "8000", "open"],
            "device_id": "nominal",
            "w_max_over_w_min": [7.0, 8.0, 9.0],
            "mean_dw_ltp_V": [0.01, 0.02, 0.015],
            "status": "ok",
        }
    )
    empty = pd.DataFrame({"status": pd.Series(dtype=str)})
    tables = {
        "iv_current_at_target": empty,
        "ppf_values": empty,
        "pulse_response": empty,
        "ltp_ltd_fits": fits,
        "device_params": empty,
    }
    claims = claims_from_analyses(tables, "nominal", targets=TARGETS).set_index("target_id")
    assert claims.loc["dw_increases_with_R", "note"] == "500: 0.01, 8000: 0.02"  # open excluded
    assert claims.loc["dw_increases_with_R", "reproduced_value"] == 1.0
    assert (
        claims.loc["dynamic_range_min", "note"]
        == "min over 500, 1000, 8000 ohm, open (nominal device)"
    )
    targets = _with("dw_increases_with_R", select={"resistance_label": ["500", "8000", "open"]})
    claims = claims_from_analyses(tables, "nominal", targets=targets).set_index("target_id")
    assert claims.loc["dw_increases_with_R", "reproduced_value"] == 0.0  # open falls back
    targets = _with("dynamic_range_min", select={"resistance_label": ["500", "1000"]})
    claims = claims_from_analyses(tables, "nominal", targets=targets).set_index("target_id")
    assert claims.loc["dynamic_range_min", "note"] == "min over 500, 1000 ohm (nominal device)"


def test_selected_rows_not_and_at_forms():
    frame = _adaptation()
    assert selected_rows(frame, {"method": {"not": "device"}})["n_images"].tolist() == [0, 40]
    at_max = selected_rows(frame, {"method": "device", "n_images": {"at": "max"}})
    assert at_max["accuracy_dataset2"].tolist() == [0.73]
    assert selected_rows(frame, {"n_images": [8, 40]})["method"].tolist() == [
        "device",
        "device",
        "finetune",
    ]


@pytest.mark.parametrize(
    ("target_id", "changes", "message"),
    [
        ("accuracy_mlp_open", {"select": None}, r"'accuracy_mlp_open'.*'select' must be a mapping"),
        (
            "accuracy_mlp_open",
            {"select": {"net": "mlp"}},
            r"'accuracy_mlp_open'.*lacks key.*'state'",
        ),
        (
            "accuracy_mlp_open",
            {"select": {"net": "mlp", "sate": "open", "state": "open"}},
            r"'accuracy_mlp_open'.*\['sate'\] are not columns",
        ),
        (
            "accuracy_headline",
            {"select": {"state": {"at": "middle"}}},
            r"'accuracy_headline'.*select key 'state' must be",
        ),
        (
            "accuracy_8000_above_open",
            {"select": {"net": "mlp", "state": "8000"}},
            r"'accuracy_8000_above_open'.*'state' must list the states",
        ),
        (
            "accuracy_mlp_8000ohm",
            {"select": {"state": "8000"}},
            r"'accuracy_mlp_8000ohm'.*names 2 rows.*'state'",
        ),
        ("accuracy_mlp_open", {"conditions": {}}, r"'accuracy_mlp_open'.*conditions: \{epochs"),
        ("accuracy_headline", {"pick": "worst"}, r"'accuracy_headline'.*pick must be 'best'"),
    ],
)
def test_a_malformed_network_selector_names_the_target_and_key(target_id, changes, message):
    with pytest.raises(ValueError, match=message):
        claims_from_networks(_accuracy(), targets=_with(target_id, **changes))


def test_a_missing_selector_names_the_target():
    targets = [t for t in TARGETS if t["id"] != "adaptation_dataset2_before"]
    with pytest.raises(ValueError, match="no target 'adaptation_dataset2_before'"):
        claims_from_adaptation(_aggregated(_adaptation()), targets=targets, train_state="open")
    targets = _with("accuracy_mlp_open")
    del next(t for t in targets if t["id"] == "accuracy_mlp_open")["select"]
    with pytest.raises(ValueError, match=r"'accuracy_mlp_open': no 'select' block.*\['state'\]"):
        network_skip_notes(_accuracy(), targets)
    targets = _with("adaptation_dataset2_after")
    del next(t for t in targets if t["id"] == "adaptation_dataset2_after")["read"]
    with pytest.raises(ValueError, match="'adaptation_dataset2_after': no 'read' key"):
        adaptation_summary(_adaptation(), targets)
    with pytest.raises(ValueError, match="must select one net"):
        robustness_net(_with("accuracy_mlp_open", select={"net": "perceptron", "state": "open"}))


def test_every_select_is_checked_before_any_table_is_read():
    check_selects(TARGETS)  # the shipped file is well formed
    targets = _with("ppf_A1_7000ohm", select={"resistance_label": "7000", "interval_s": []})
    with pytest.raises(ValueError, match=r"'ppf_A1_7000ohm': select key 'interval_s' must be"):
        check_selects(targets)
    targets = _with(
        "dw_increases_with_R", select={"resistance_label": {"not": "open", "at": "min"}}
    )
    with pytest.raises(ValueError, match=r"'dw_increases_with_R': select key 'resistance_label'"):
        check_selects(targets)


def test_network_accuracys_paper_column_comes_from_a_copied_targets_file(tmp_path):
    text = Path("config/paper_targets.yaml").read_text()
    assert text.count("    value: 0.89\n") == 1  # accuracy_mlp_open
    copied = tmp_path / "paper_targets.yaml"
    copied.write_text(
        text.replace("    value: 0.89\n", "    value: 0.55\n").replace(
            "conditions: {epochs: 100}", "conditions: {epochs: 20}"
        )
    )
    curves = pd.DataFrame(
        [
            (net, state, 0, epoch, 0.5 + epoch / 10, 0.5 + epoch / 10)
            for net in ("mlp", "perceptron")
            for state in ("8000", "open")
            for epoch in (0, 1)
        ],
        columns=["net", "state", "seed", "epoch", "train_accuracy", "test_accuracy"],
    )
    plan = pd.DataFrame({"state": ["8000", "open"], "use": True, "status": "ok", "reason": ""})
    paper = network_paper_accuracy(load_targets(copied))
    table = accuracy_table(curves, plan, ["mlp", "perceptron"], paper).set_index(["net", "state"])
    assert table.loc[("mlp", "open"), "paper_test_accuracy"] == 0.55  # the copy's value
    assert table.loc[("mlp", "8000"), "paper_test_accuracy"] == 0.90
    assert table.loc[("mlp", "open"), "difference_vs_paper"] == pytest.approx(0.6 - 0.55)
    assert table.loc[("mlp", "open"), "paper_epochs"] == 20
    assert table.loc["perceptron", "paper_test_accuracy"].isna().all()  # the targets' net only
    targets = _with("accuracy_mlp_open", select={"net": "mlp", "state": ["open", "8000"]})
    with pytest.raises(ValueError, match=r"'accuracy_mlp_open': select key 'state' must name one"):
        network_paper_accuracy(targets)
    targets = _with("accuracy_mlp_open", select={"net": "mlp", "state": "8000"})
    with pytest.raises(ValueError, match=r"same net and state: \[\('mlp', '8000'\)\]"):
        network_paper_accuracy(targets)


def test_a_copied_targets_file_naming_another_state_changes_the_rows_read(tmp_path):
    text = Path("config/paper_targets.yaml").read_text()
    assert text.count('select: {net: mlp, state: "8000"}') == 1
    copied = tmp_path / "paper_targets.yaml"
    copied.write_text(
        text.replace('select: {net: mlp, state: "8000"}', 'select: {net: mlp, state: "500"}')
    )
    claims = _claims(_accuracy(), load_targets(copied))
    assert claims.loc["accuracy_mlp_8000ohm", "reproduced_value"] == 0.70  # the 500 ohm row
    values = claim_values(
        pd.DataFrame(
            {"variant": "v", "state": ["500", "8000"], "seed": 0, "test_accuracy": [0.6, 0.9]}
        ),
        targets=load_targets(copied),
    )
    assert values.set_index("target_id").loc["accuracy_mlp_8000ohm", "value"] == 0.6
