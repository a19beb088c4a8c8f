"""fmes.claims.comparison: the rows a paper target is read from come from its `select` in
config/paper_targets.yaml, not from numbers in the code."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest

from fmes.claims.comparison import (
    claim,
    claims_from_analyses,
    compare,
    network_skip_notes,
    retention_claims,
    selected_rows,
    trend_claim,
)
from fmes.data.targets import load_targets

TARGETS = load_targets("config/paper_targets.yaml")


def _tables() -> dict[str, pd.DataFrame]:
    iv = pd.DataFrame(
        {
            "resistance_label": ["500", "500", "8000", "8000"],
            "device_id": "nominal",
            "sweep_rate_V_per_s": [0.05, 0.1, 0.05, 0.05],
            "v_target_V": [0.6, 0.6, 0.6, 0.4],
            "current_at_target_A": [1.5e-3, 9.0e-3, 0.5e-3, 7.0e-3],
            "status": "ok",
        }
    )
    ppf = pd.DataFrame(
        {
            "resistance_label": ["7000", "7000", "8000"],
            "interval_s": [0.01, 0.02, 0.01],
            "a1_V": [0.09, 0.5, 0.7],
            "a2_V": [0.11, 0.6, 0.8],
            "ppf": [1.2, 1.1, 1.1],
            "status": "ok",
        }
    )
    empty = pd.DataFrame({"status": pd.Series(dtype=str)})
    return {
        "iv_current_at_target": iv,
        "ppf_values": ppf,
        "pulse_response": empty,
        "ltp_ltd_fits": empty,
        "device_params": empty,
    }


def test_claims_are_read_from_the_rows_the_targets_select():
    claims = claims_from_analyses(_tables(), "nominal", targets=TARGETS).set_index("target_id")
    assert claims.loc["iv_current_0p6V_500ohm", "reproduced_value"] == pytest.approx(1.5e-3)
    assert claims.loc["iv_current_0p6V_8000ohm", "reproduced_value"] == pytest.approx(0.5e-3)
    assert claims.loc["ppf_A1_7000ohm", "reproduced_value"] == pytest.approx(0.09)
    assert claims.loc["ppf_A2_7000ohm", "reproduced_value"] == pytest.approx(0.11)


def test_changing_a_targets_select_changes_the_rows_read():
    targets = copy.deepcopy(TARGETS)
    for target in targets:
        if target["id"] == "iv_current_0p6V_500ohm":
            target["select"]["sweep_rate_V_per_s"] = 0.1
    claims = claims_from_analyses(_tables(), "nominal", targets=targets).set_index("target_id")
    assert claims.loc["iv_current_0p6V_500ohm", "reproduced_value"] == pytest.approx(9.0e-3)


def test_selected_rows_matches_labels_and_numbers_to_rounding():
    frame = pd.DataFrame(
        {"resistance_label": ["500", "open", "1000"], "amplitude_A": [5e-4, 5e-4 + 1e-18, 1e-3]}
    )
    picked = selected_rows(frame, {"resistance_label": ["500", "open"], "amplitude_A": 0.0005})
    assert picked["resistance_label"].tolist() == ["500", "open"]
    assert selected_rows(frame, {"resistance_label": 1000})["amplitude_A"].tolist() == [1e-3]
    assert len(selected_rows(frame, {"amplitude_A": 1e-3})) == 1


def _target(target_id: str, comparison: str, value: float | None = None, **extra) -> dict:
    target = {
        "id": target_id,
        "stage": extra.pop("stage", "analysis"),
        "quantity": target_id,
        "comparison": comparison,
        "source": "Fig 0",
        **extra,
    }
    if value is not None:
        target["value"] = value
    return target


def _status(targets: list[dict], claims: list[dict], **skipped) -> dict[str, str]:
    table = compare(targets, pd.DataFrame(claims), **skipped)
    return dict(zip(table["target_id"], table["status"], strict=True))


def test_equal_passes_within_the_stated_tolerance_only():
    targets = [_target("a", "equal", 1.0, tolerance_rel=0.1)]
    assert _status(targets, [claim("a", 1.09)]) == {"a": "pass"}
    assert _status(targets, [claim("a", 0.91)]) == {"a": "pass"}
    assert _status(targets, [claim("a", 1.11)]) == {"a": "fail"}
    table = compare(targets, pd.DataFrame([claim("a", 0.8, std=0.05, n=3)])).iloc[0]
    assert table["relative_difference"] == pytest.approx(-0.2)
    assert table["reproduced_std"] == 0.05 and table["n_values"] == 3


def test_greater_and_less_are_strict_bounds():
    targets = [_target("g", "greater", 0.9), _target("l", "less", 0.5)]
    assert _status(targets, [claim("g", 0.95), claim("l", 0.4)]) == {"g": "pass", "l": "pass"}
    assert _status(targets, [claim("g", 0.9), claim("l", 0.5)]) == {"g": "fail", "l": "fail"}


def test_a_trend_passes_only_when_strictly_monotone():
    targets = [_target("up", "increasing")]
    rising = trend_claim("up", ["500", "8000", "open"], [1.0, 2.0, 3.0], increasing=True)
    flat = trend_claim("up", ["500", "8000", "open"], [1.0, 2.0, 2.0], increasing=True)
    single = trend_claim("up", ["500", "8000"], [1.0, math.nan], increasing=True)
    assert _status(targets, [rising]) == {"up": "pass"}
    assert _status(targets, [flat]) == {"up": "fail"}
    assert _status(targets, [single]) == {"up": "fail"}  # one finite value shows no trend
    assert math.isnan(compare(targets, pd.DataFrame([rising]))["relative_difference"].iloc[0])


def test_the_last_claim_of_a_target_wins_and_keeps_its_source_status():
    targets = [_target("a", "equal", 1.0, tolerance_rel=0.1)]
    claims = [claim("a", 2.0, note="model"), claim("a", 1.0, source=("flagged", "noisy fit"))]
    row = compare(targets, pd.DataFrame(claims)).iloc[0]
    assert row["status"] == "pass" and row["note"] == ""
    assert (row["source_status"], row["source_reason"]) == ("flagged", "noisy fit")


def test_a_target_without_a_claim_is_not_evaluated_with_the_most_specific_reason():
    targets = [
        _target("a", "greater", 0.9, stage="networks"),
        _target("b", "greater", 0.9, stage="networks"),
        _target("c", "greater", 0.9, stage="adaptation"),
    ]
    table = compare(
        targets,
        pd.DataFrame([], columns=["target_id"]),
        skipped_stages={"networks": "no MNIST"},
        skipped_targets={"a": "network at open skipped"},
    ).set_index("target_id")
    assert set(table["status"]) == {"not evaluated"}
    assert table.loc["a", "note"] == "network at open skipped"
    assert table.loc["b", "note"] == "no MNIST"
    assert table.loc["c", "note"] == "the data do not give this value"
    assert (table["n_values"] == 0).all() and table["reproduced_value"].isna().all()


def test_network_skip_notes_name_only_the_skipped_states_own_reason():
    accuracy = pd.DataFrame(
        {
            "net": ["mlp", "mlp"],
            "state": ["8000", "open"],
            "status": ["ok", "skipped"],
            "reason": ["", "A on its bound"],
        }
    )
    notes = network_skip_notes(accuracy, TARGETS)
    assert notes == {
        "accuracy_mlp_open": "network at open skipped: A on its bound",
        "accuracy_8000_above_open": "network at open skipped: A on its bound",
    }


def test_retention_claim_names_the_configured_time_and_is_absent_without_a_value():
    claims = retention_claims(0.95, "open", 1.0, 250.0, 500.0)
    assert claims["target_id"].tolist() == ["retention_open_100s"]
    assert claims["reproduced_value"].iloc[0] == 0.95
    assert claims["note"].iloc[0] == (
        "PSV(end+250 s)/PSV(end+1 s) of the open-state 500 Hz train trace"
    )
    # the note follows the target's state and reference read and the train's rate
    note = retention_claims(0.9, "8000", 2.0, 100.0, 250.0)["note"].iloc[0]
    assert note == "PSV(end+100 s)/PSV(end+2 s) of the 8000 ohm 250 Hz train trace"
    assert retention_claims(math.nan, "open", 1.0, 100.0, 500.0).empty


def test_the_ppf_trend_reads_the_interval_its_target_selects():
    claims = claims_from_analyses(_tables(), "nominal", targets=TARGETS)
    assert "ppf_decays_faster_at_lower_R" not in set(claims["target_id"])  # one state at 20 ms
    targets = copy.deepcopy(TARGETS)
    for target in targets:
        if target["id"] == "ppf_decays_faster_at_lower_R":
            target["select"] = {"interval_s": 0.01}
    claims = claims_from_analyses(_tables(), "nominal", targets=targets).set_index("target_id")
    trend = claims.loc["ppf_decays_faster_at_lower_R"]
    assert trend["n_values"] == 2 and trend["reproduced_value"] == 0.0  # 7000: 1.2 > 8000: 1.1
    assert trend["note"] == "7000: 1.2, 8000: 1.1"
