"""The status vocabulary and the one reader of the pipeline's own tables."""

import pandas as pd
import pytest

from fmes.core.io import read_table, write_csv
from fmes.core.status import STATUS_VALUES, Status, join_reasons, worst


def test_worst_orders_by_severity():
    assert worst([]) is Status.OK
    assert worst(["ok", "flagged"]) is Status.FLAGGED
    assert worst([Status.POOR_FIT, "flagged", "ok"]) is Status.POOR_FIT
    assert worst(["failed", "poor_fit"]) is Status.FAILED
    assert STATUS_VALUES[0] == "ok" and len(set(STATUS_VALUES)) == len(STATUS_VALUES)


def test_has_value():
    assert Status.POOR_FIT.has_value and not Status.FAILED.has_value


def test_join_reasons_dedups_and_drops_empty():
    assert join_reasons(["a", "", "b", "a", float("nan")]) == "a; b"


def test_read_table_keeps_labels_and_parses_booleans(tmp_path):
    frame = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "converged": [True, False],
            "status": ["ok", "poor_fit"],
            "reason": ["", "residual 20x noise"],
            "value_V": [0.1, float("nan")],
        }
    )
    path = write_csv(frame, tmp_path / "t.csv")
    back = read_table(path)
    assert back["resistance_label"].tolist() == ["500", "open"]
    assert back["converged"].dtype == bool and back["converged"].tolist() == [True, False]
    assert back["reason"].tolist() == ["", "residual 20x noise"]
    assert back["value_V"].isna().tolist() == [False, True]


def test_read_table_refuses_unknown_status_and_bad_boolean(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("status,reason\nok,\nfine,\n")
    with pytest.raises(ValueError, match=r"t.csv.*row 2.*'fine'.*expected one of ok"):
        read_table(path)
    path.write_text("converged\nTrue\nmaybe\n")
    with pytest.raises(ValueError, match=r"'converged', row 2: expected True or False"):
        read_table(path)
