"""Output helpers: atomic and byte-reproducible."""

import json

import numpy as np
import pytest

from fmes.core.io import read_json, read_table, write_csv, write_json, write_npz


def test_npz_is_byte_identical_across_writes_and_loads_back(tmp_path):
    arrays = {
        "weights": np.linspace(0, 1, 12).reshape(3, 4),
        "labels": np.arange(3),
        "source": np.array("mlxtend"),
    }
    for compressed in (False, True):
        first, second = tmp_path / f"a{compressed}.npz", tmp_path / f"b{compressed}.npz"
        write_npz(arrays, first, compressed=compressed)
        write_npz(arrays, second, compressed=compressed)
        assert first.read_bytes() == second.read_bytes()
        loaded = np.load(first)
        np.testing.assert_array_equal(loaded["weights"], arrays["weights"])
        assert str(loaded["source"]) == "mlxtend"


def test_writes_leave_no_temporary_files(tmp_path):
    import pandas as pd

    write_csv(pd.DataFrame({"x_V": [0.1, 0.2]}), tmp_path / "t.csv")
    write_npz({"x": np.zeros(2)}, tmp_path / "t.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.npz"]


def test_read_table_reads_only_the_columns_asked_for_with_their_dtypes(tmp_path):
    import pandas as pd

    from fmes.core.io import read_table

    table = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "g_max_V": [0.25, float("nan")],
            "converged": [True, False],
            "status": ["ok", "failed"],
            "reason": ["", "fit: no convergence"],
        }
    )
    write_csv(table, tmp_path / "fits.csv")
    subset = read_table(tmp_path / "fits.csv", columns=["converged", "resistance_label", "absent"])
    assert list(subset.columns) == ["resistance_label", "converged"]  # the file's order
    assert subset["resistance_label"].tolist() == ["500", "open"]  # labels stay text
    assert subset["converged"].tolist() == [True, False]
    whole = read_table(tmp_path / "fits.csv")
    pd.testing.assert_frame_equal(whole[["resistance_label", "converged"]], subset)


def test_read_table_leaves_booleans_missing_only_on_skipped_placeholder_rows(tmp_path):
    placeholder = tmp_path / "fits.csv"
    placeholder.write_text("resistance_label,converged,status,reason\n,,skipped,no traces\n")
    frame = read_table(placeholder)
    assert frame["converged"].isna().all() and frame["status"].tolist() == ["skipped"]

    mixed = tmp_path / "mixed.csv"
    mixed.write_text("resistance_label,converged,status,reason\n500,True,ok,\n,,skipped,none\n")
    assert read_table(mixed)["converged"].tolist() == [True, None]

    empty_on_a_result_row = tmp_path / "bad.csv"
    empty_on_a_result_row.write_text("resistance_label,converged,status,reason\n500,,ok,\n")
    with pytest.raises(ValueError, match="column 'converged', row 1: expected True or False"):
        read_table(empty_on_a_result_row)
    with pytest.raises(ValueError, match="expected True or False"):  # no status: cannot tell
        read_table(placeholder, columns=["converged"])


def test_json_is_strict_with_missing_values_as_null_and_reads_back(tmp_path):
    path = tmp_path / "params.json"
    write_json(
        {
            "stderr_rel": {"a": float("nan"), "b": np.float32(0.5)},
            "r": [np.inf, 1],
            "n": np.int64(3),
        },
        path,
    )
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"n": 3, "r": [None, 1], "stderr_rel": {"a": None, "b": 0.5}}
    assert read_json(path, key="stderr_rel") == {"a": None, "b": 0.5}


def test_read_json_names_the_file_and_the_missing_key(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text('{"other": 1}\n')
    with pytest.raises(ValueError, match=r"cell\.json.*'cell_params'"):
        read_json(path, key="cell_params")
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"cell\.json: not valid JSON"):
        read_json(path)
