"""fmes.comparison: the rows a paper target is read from come from its `select` in
config/paper_targets.yaml, not from numbers in the code."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from fmes.calibration import load_targets
from fmes.comparison import claims_from_analyses, selected_rows

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
