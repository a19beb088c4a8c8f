"""The analysis scripts' shared reader (load_protocol_rows, map_traces) and the per-trace result
rows they compute (fmes.analysis.pipeline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from messy import PPFTruth, RetentionTruth, ppf_pair, pulse_response, retention_trace

from fmes.analysis._fit import QualityLimits
from fmes.analysis.pipeline import (
    ENERGY_KEYS,
    LEARNING_COLUMNS,
    acf_row,
    at_most_common,
    energy_rows,
    energy_tables,
    iv_row,
    load_protocol_rows,
    map_traces,
    ppf_example,
    ppf_row,
    protocol_rows,
    pulse_response_row,
    records_or_skipped,
    retention_row,
)
from fmes.core.io import write_csv
from fmes.core.status import Status
from fmes.data.traces import parse_resistance, read_manifest, working_manifest

ROOT = Path(__file__).resolve().parents[2]
PULSE_KW = {"threshold_frac": 0.5, "noise_sigmas": 6.0, "n_read": 1}
ACF_KW = {"window_s": 0.05, "pre_s": None, "n_grid": 256, "max_lag_frac": 0.5}


@pytest.fixture(scope="module")
def working(tmp_path_factory) -> Path:
    """The example raw/ data set as a working manifest (what validate_traces writes)."""
    folder = tmp_path_factory.mktemp("results") / "traces"
    return write_csv(
        working_manifest(read_manifest(ROOT / "raw" / "manifest.csv"), folder),
        folder / "manifest.csv",
    )


def _flat(trace: pd.DataFrame) -> pd.DataFrame:
    return trace.assign(current_A=0.0)  # no pulse to find


def test_load_protocol_rows_selects_protocols_in_state_order(working):
    rows = load_protocol_rows(working, "ppf", "nominal")
    assert len(rows) and set(rows["protocol"]) == {"ppf"}
    ohm = rows["resistance_label"].map(parse_resistance).to_numpy()
    assert (ohm[:-1] <= ohm[1:]).all() and rows["trace_path"].map(lambda p: Path(p).is_file()).all()
    everything = load_protocol_rows(working, None, by_state=False)
    manifest = pd.read_csv(working)
    assert list(everything["trace_id"]) == list(manifest["trace_id"])  # the manifest's order
    two = load_protocol_rows(working, ["ppf", "pulse"], by_state=False)
    assert set(two["protocol"]) == {"ppf", "pulse"}
    assert list(two["trace_id"]) == [t for t in manifest["trace_id"] if t in set(two["trace_id"])]


def test_protocol_rows_keep_the_nominal_device_or_every_device_without_it():
    manifest = pd.DataFrame(
        {
            "trace_id": ["a", "b", "c"],
            "protocol": ["pulse"] * 3,
            "device_id": ["r0c0", "nominal", "r0c1"],
            "resistance_label": ["open", "500", "8000"],
        }
    )
    assert list(protocol_rows(manifest, "pulse", "nominal")["trace_id"]) == ["b"]
    assert list(protocol_rows(manifest, "pulse", "other")["trace_id"]) == ["b", "c", "a"]
    assert protocol_rows(manifest, "ppf").empty


def test_map_traces_returns_results_in_the_rows_order(working):
    rows = load_protocol_rows(working, "pulse").iloc[::-1]  # not the files' order
    seen = map_traces(rows, lambda row, trace: (row["trace_id"], len(trace), "_position" in row))
    assert [s[0] for s in seen] == list(rows["trace_id"])
    lengths = [len(pd.read_csv(p)) for p in rows["trace_path"]]
    assert [s[1] for s in seen] == lengths and not any(s[2] for s in seen)
    assert map_traces(rows.iloc[0:0], lambda row, trace: 1) == []


def test_at_most_common_takes_each_mode_over_all_rows():
    rows = pd.DataFrame(
        {"amplitude_A": [1e-3, 1e-3, 1e-3, 5e-4, 5e-4], "width_s": [1e-3, 5e-3, 5e-3, 1e-3, 1e-3]}
    )
    # width mode over all rows is 1e-3 (3 of 5), not 5e-3 (the mode among 1 mA rows)
    assert list(at_most_common(rows, ["amplitude_A", "width_s"]).index) == [0]
    assert list(at_most_common(rows, ["amplitude_A"]).index) == [0, 1, 2]
    assert at_most_common(rows.iloc[0:0], ["width_s"]).empty


def test_records_or_skipped_says_why_a_table_is_empty():
    assert records_or_skipped([{"a": 1}], ["a"], "none").to_dict("records") == [{"a": 1}]
    skipped = records_or_skipped([], ["a", "b"], "no traces")
    assert list(skipped.columns) == ["a", "b", "status", "reason"]
    assert skipped["status"].iloc[0] == Status.SKIPPED and skipped["reason"].iloc[0] == "no traces"


def _row(protocol: str, **extra) -> dict:
    return {
        "trace_id": "t1",
        "protocol": protocol,
        "resistance_label": "500",
        "resistance_ohm": 500.0,
        "device_id": "nominal",
        "amplitude_A": 1e-3,
        "width_s": 1e-3,
    } | extra


def test_ppf_row_reads_the_facilitation_or_fails_with_the_reason():
    truth = PPFTruth()
    trace = ppf_pair(0.01, truth, seed=2)
    record, pulses = ppf_row(_row("ppf", interval_s=0.01), trace, pulse_kw=PULSE_KW)
    assert record["status"] == Status.OK, record["reason"]
    assert record["ppf"] == pytest.approx(float(truth.ppf(0.01)), rel=0.05)
    assert record["interval_s"] == 0.01 and len(pulses) == 2 and "noise_V" in record
    failed, none = ppf_row(_row("ppf", interval_s=0.01), _flat(trace), pulse_kw=PULSE_KW)
    assert none is None and failed["status"] == Status.FAILED and "no pulses" in failed["reason"]


def test_ppf_example_prefers_the_configured_state_and_nearest_interval():
    values = pd.DataFrame(
        {"trace_id": ["a", "b", "c"], "resistance_label": ["500", "500", "open"]}
        | {"interval_s": [0.01, 0.1, 0.05]}
    )
    assert ppf_example(values, "500", 0.05)["trace_id"] == "a"
    assert ppf_example(values, "8000", 0.05)["trace_id"] == "c"  # no such state: any state
    assert ppf_example(values.iloc[0:0], "500", 0.05) is None


def test_pulse_response_and_acf_rows_keep_the_manifest_keys():
    trace = pulse_response(0.08, seed=3)
    record = pulse_response_row(_row("pulse"), trace, pulse_kw=PULSE_KW)
    assert record["status"] == Status.OK, record["reason"]
    assert record["psv_change_V"] == pytest.approx(0.08, rel=0.15)
    assert record["device_id"] == "nominal" and record["width_s"] == 1e-3
    failed = pulse_response_row(_row("pulse"), _flat(trace), pulse_kw=PULSE_KW)
    assert failed["status"] == Status.FAILED and "onset_s" not in failed
    acf = acf_row(_row("pulse"), trace, pulse_kw=PULSE_KW, acf_kw=ACF_KW)
    assert np.isfinite(acf["acf_std"]) and acf["amplitude_A"] == 1e-3
    assert acf_row(_row("pulse"), _flat(trace), pulse_kw=PULSE_KW, acf_kw=ACF_KW)["status"] == (
        Status.FAILED
    )


def test_iv_row_reads_the_current_and_keys_the_loop(working):
    rows = load_protocol_rows(working, "iv_sweep")
    row = rows.to_dict("records")[0]
    trace = pd.read_csv(row["trace_path"])
    record, loop = iv_row(row, trace, v_target_V=0.6, half_window_V=0.02, residual_factor=3.0)
    assert record["trace_id"] == row["trace_id"] and np.isfinite(record["current_at_target_A"])
    assert list(loop.columns[:2]) == ["resistance_label", "sweep_rate_V_per_s"]
    assert (loop["sweep_rate_V_per_s"] == row["sweep_rate_V_per_s"]).all()


def test_retention_row_gives_a_learning_table_for_trains_only():
    truth = RetentionTruth()
    trace = retention_trace(truth, seed=4)
    kw = {"pulse_kw": PULSE_KW, "n_points": 40, "t_ret_s": 10.0, "u_inf_free": False}
    kw["limits"] = QualityLimits()
    record, result, learning = retention_row(_row("pulse_train"), trace, **kw)
    assert record["n_pulses"] == 5 and record["protocol"] == "pulse_train"
    assert record["kww_tau_s"] == pytest.approx(truth.tau_s, rel=0.2)
    assert list(learning.columns) == LEARNING_COLUMNS and len(learning) == 5
    assert result.time_after_s.size == result.psv_after_V.size
    assert retention_row(_row("pulse"), trace, **kw)[2] is None
    failed, none, no_table = retention_row(_row("pulse_train"), _flat(trace), **kw)
    assert failed["status"] == Status.FAILED and none is None and no_table is None


def test_energy_rows_and_tables_summarise_per_state():
    frames = []
    for label, ohm, seed in (("500", 500.0, 1), ("open", np.inf, 2)):
        row = _row("pulse", trace_id=f"t{seed}", resistance_label=label, resistance_ohm=ohm)
        frame, why = energy_rows(
            row, pulse_response(seed=seed), pulse_kw=PULSE_KW, edge_resolution=0.25
        )
        assert why == "" and (frame["trace_id"] == f"t{seed}").all()
        frames.append(frame)
    table, costs, per_pulse = energy_tables(frames, "nominal")
    assert list(table["resistance_label"]) == ["500", "open"]  # first-seen order
    assert {*ENERGY_KEYS[:-1], "width_s", "status", "reason"} <= set(table.columns)
    assert len(per_pulse) == 2 and costs.empty  # no ltp_ltd pulse: no pulse costs
    none, why = energy_rows(
        _row("pulse"), _flat(pulse_response()), pulse_kw=PULSE_KW, edge_resolution=0.25
    )
    assert none is None and why.startswith("t1: ")
    skipped, no_costs, empty = energy_tables([], "nominal")
    assert skipped["status"].iloc[0] == Status.SKIPPED and empty.empty and no_costs.empty


def test_ltp_ltd_tables_keep_gathered_tables_or_say_why_they_are_empty():
    from fmes.analysis.pipeline import ltp_ltd_tables

    fits = pd.DataFrame({"trace_id": ["a", "b"], "converged": [True, False]}, index=[3, 7])
    weights = pd.DataFrame({"trace_id": ["a"], "weight_V": [0.1]}, index=[5])
    kept_fits, kept_weights = ltp_ltd_tables(fits, weights)
    assert kept_fits is fits  # gathered in row order: written as they are
    assert kept_weights.index.tolist() == [0] and kept_weights["weight_V"].tolist() == [0.1]
    no_fits, no_weights = ltp_ltd_tables(fits.iloc[0:0], weights.iloc[0:0])
    assert no_fits["status"].tolist() == ["skipped"] and "converged" in no_fits
    assert no_fits["reason"].iloc[0] == "no 'ltp_ltd' traces in the manifest"
    assert list(no_weights.columns)[:4] == ["trace_id", "phase", "pulse_number", "weight_V"]
    assert no_weights["status"].tolist() == ["skipped"]


def test_frames_or_skipped_joins_the_frames_or_says_why_there_are_none():
    from fmes.analysis.pipeline import frames_or_skipped

    a = pd.DataFrame({"x": [1, 2]}, index=[4, 5])
    joined = frames_or_skipped([a, a.iloc[:1]], ["x"], "none")
    assert joined["x"].tolist() == [1, 2, 1] and joined.index.tolist() == [0, 1, 2]
    none = frames_or_skipped([], ["x", "y"], "no traces")
    assert list(none.columns) == ["x", "y", "status", "reason"]
    assert none["status"].tolist() == ["skipped"] and none["reason"].tolist() == ["no traces"]
