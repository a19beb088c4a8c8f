"""The raw-trace contract: every violation stops with one error naming file, row/column, expectation."""

import math
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT

from fmes.analysis.validation import check_trace_against_manifest
from fmes.data.traces import (
    SuspiciousInputWarning,
    TraceContractError,
    manifest_columns,
    parse_resistance,
    read_manifest,
    read_trace,
    write_dataset,
)
from fmes.device import circuit as dev
from fmes.device import synthetic

CELL = dev.CellParams(20.0, 12e-6, 690.0, 9.5e-3, 1e6)


@pytest.fixture
def dataset(tmp_path):
    protocols = {
        "sampling": {"samples_per_pulse": 3, "samples_per_gap": 4},
        "iv_sweep": {"v_max_V": 0.8, "sweep_rates_V_per_s": [0.05], "samples": 21},
        "pulse": {
            "amplitudes_A": [1e-3],
            "widths_s": [1e-3],
            "amplitude_A": 1e-3,
            "width_s": 1e-3,
            "delay_s": 5e-3,
            "tail_s": 0.05,
        },
        "ppf": {
            "amplitude_A": 1e-3,
            "width_s": 1e-3,
            "intervals_s": [0.01],
            "delay_s": 5e-3,
            "tail_s": 0.05,
        },
        "pulse_train": {
            "amplitude_A": 1e-3,
            "width_s": 1e-3,
            "frequency_Hz": 500.0,
            "n_pulses": 5,
            "delay_s": 0.01,
            "tail_s": 1.0,
        },
        "ltp_ltd": {
            "amplitude_A": 1e-3,
            "width_s": 1e-3,
            "frequency_Hz": 2.0,
            "n_pulses": 3,
            "delay_s": 0.01,
            "tail_s": 0.5,
        },
    }
    campaign = synthetic.nominal_campaign(
        CELL, ["500", "open"], protocols, synthetic.Noise(1e-5, 1e-7), seed=1
    )
    write_dataset(campaign.manifest, campaign.traces, tmp_path)
    return tmp_path, campaign


def test_round_trip_gives_back_the_same_arrays(dataset):
    folder, campaign = dataset
    manifest = read_manifest(folder / "manifest.csv")
    assert set(manifest["protocol"]) == {"iv_sweep", "pulse", "ppf", "pulse_train", "ltp_ltd"}
    assert set(manifest["resistance_label"]) == {"500", "open"}
    assert math.isinf(
        manifest.loc[manifest["resistance_label"] == "open", "resistance_ohm"].iloc[0]
    )
    for row in manifest.itertuples():
        loaded = read_trace(row.trace_path)
        original = campaign.traces[row.trace_id]
        for column in ("time_s", "current_A", "voltage_V"):
            np.testing.assert_allclose(loaded[column], original[column], rtol=1e-8, atol=1e-15)


def _edit_manifest(folder, edit):
    frame = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    edit(frame).to_csv(folder / "manifest.csv", index=False)
    return folder / "manifest.csv"


def _set(row, column, value):
    def edit(frame):
        frame = frame.copy()
        frame.loc[row, column] = value if not callable(value) else value(frame)
        return frame

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="protocol"), r"columns \['protocol'\]: missing"),
        (_set(2, "protocol", "triangle"), r"row 3 \(line 4\), column 'protocol': expected one of"),
        (
            _set(1, "resistance_ohm", "8k"),
            r"row 2 \(line 3\), column 'resistance_ohm': expected a resistance in ohm",
        ),
        (
            _set(1, "resistance_ohm", "0"),
            r"row 2 \(line 3\), column 'resistance_ohm': expected a resistance > 0",
        ),
        (
            _set(3, "trace_id", lambda f: f.loc[0, "trace_id"]),
            r"rows \[1, 4\], column 'trace_id': expected unique",
        ),
        (
            _set(0, "path", "traces/nope.csv"),
            r"row 1 \(line 2\), column 'path': trace file .*nope.csv not found",
        ),
        (
            _set(1, "amplitude_A", "one"),
            r"row 2 \(line 3\), column 'amplitude_A': expected a number, got 'one'",
        ),
        (
            _set(2, "width_s", ""),
            r"row 3 \(line 4\), column 'width_s': protocol 'pulse' needs a non-zero number",
        ),
        (
            _set(1, "width_s", "inf"),
            r"row 2 \(line 3\), column 'width_s': expected a finite number",
        ),
    ],
)
def test_manifest_violations_name_file_row_and_expectation(dataset, edit, message):
    folder, _ = dataset
    path = _edit_manifest(folder, edit)
    with pytest.raises(TraceContractError, match=message) as err:
        read_manifest(path)
    assert str(path) in str(err.value)


def test_missing_manifest_is_named(tmp_path):
    with pytest.raises(TraceContractError, match=r"nothing.csv: manifest file not found"):
        read_manifest(tmp_path / "nothing.csv")


def _trace_path(folder):
    return read_manifest(folder / "manifest.csv")["trace_path"].iloc[1]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns="voltage_V"), r"columns \['voltage_V'\]: missing"),
        (
            lambda f: f.assign(current_A=f["current_A"].astype(str).where(f.index != 4, "abc")),
            r"row 5 \(line 6\), column 'current_A': expected a number, got 'abc'",
        ),
        (
            lambda f: f.assign(voltage_V=f["voltage_V"].where(f.index != 2, np.nan)),
            r"row 3 \(line 4\), column 'voltage_V': expected a number, got an empty cell",
        ),
        (
            lambda f: f.assign(voltage_V=f["voltage_V"].where(f.index != 2, np.inf)),
            r"row 3 \(line 4\), column 'voltage_V': expected a finite number",
        ),
        (
            lambda f: f.assign(time_s=f["time_s"].where(f.index != 6, 0.0)),
            r"row 7 \(line 8\), column 'time_s': expected time strictly increasing",
        ),
    ],
)
def test_trace_violations_name_file_row_and_expectation(dataset, edit, message):
    folder, _ = dataset
    path = _trace_path(folder)
    frame = pd.read_csv(path)
    edit(frame).to_csv(path, index=False)
    with pytest.raises(TraceContractError, match=message) as err:
        read_trace(path)
    assert path in str(err.value)


def test_extra_columns_are_kept(dataset):
    folder, _ = dataset
    path = _trace_path(folder)
    frame = pd.read_csv(path)
    frame["temperature_K"] = 300.0
    frame.to_csv(path, index=False)
    assert "temperature_K" in read_trace(path).columns


def test_write_campaign_writes_the_csvs_it_has_and_the_manifest_of_every_row(dataset, tmp_path):
    _, campaign = dataset
    manifest = campaign.manifest.assign(operator="lab A")  # an extra column, kept at the end
    stored = manifest.iloc[:2].assign(path="store/part-0000.parquet")  # in the trace store
    on_csv = manifest.iloc[2:]
    traces = {t: campaign.traces[t] for t in on_csv["trace_id"]}
    folder = tmp_path / "out"
    path = synthetic.write_campaign(
        synthetic.Campaign(pd.concat([stored, on_csv], ignore_index=True), traces), folder
    )
    written = pd.read_csv(path, dtype=str)
    assert written["trace_id"].tolist() == manifest["trace_id"].tolist()
    assert written["path"].tolist()[:2] == ["store/part-0000.parquet"] * 2
    assert list(written.columns) == [
        *manifest_columns(manifest.drop(columns="operator")),
        "operator",
    ]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")) == sorted(
        [*on_csv["path"], "manifest.csv"]
    )
    # a campaign held whole is the plain dataset
    whole = synthetic.write_campaign(campaign, tmp_path / "whole")
    assert (
        whole.read_bytes()
        == write_dataset(campaign.manifest, campaign.traces, tmp_path / "ds").read_bytes()
    )


def test_kiloohm_values_are_flagged_as_suspicious(dataset):
    folder, _ = dataset
    path = _edit_manifest(
        folder, lambda f: f.assign(resistance_ohm=f["resistance_ohm"].replace("500", "0.5"))
    )
    ranges = yaml.safe_load((ROOT / "config/config.yaml").read_text())["traces"]["plausible"][
        "manifest"
    ]
    with pytest.warns(
        SuspiciousInputWarning,
        match=r"row \d+ \(line \d+\), column 'resistance_ohm'.*ohm, not kOhm",
    ):
        read_manifest(path, ranges=ranges)


def test_clean_manifest_raises_no_warning(dataset, tmp_path):
    folder, _ = dataset
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_manifest(copy / "manifest.csv")


@pytest.mark.parametrize(
    ("text", "ohm"),
    [("500", 500.0), (" 8000.0 ", 8000.0), ("open", math.inf), ("", math.inf), (None, math.inf)],
)
def test_parse_resistance(text, ohm):
    assert parse_resistance(text) == ohm


@pytest.mark.parametrize(
    ("protocol", "edit", "message"),
    [
        (
            "pulse_train",
            lambda t: t.assign(time_s=t["time_s"] * 1000),
            r"repeat at 0.5 Hz, manifest frequency_Hz = 500 .*time_s in ms\?",
        ),
        (
            "pulse_train",
            lambda t: t.rename(columns={"current_A": "voltage_V", "voltage_V": "current_A"}),
            r"current_A and voltage_V swapped\?",
        ),
        (
            "ppf",
            lambda t: t.assign(current_A=t["current_A"] * 1000),
            r"pulses of 1 A in the trace, manifest amplitude_A = 0.001 A .*in mA where A",
        ),
        (
            "iv_sweep",
            lambda t: t.assign(time_s=t["time_s"] * 1000),
            r"sweeps at 5e-05 V/s.*time_s in ms\?",
        ),
        (
            "iv_sweep",
            lambda t: t.rename(columns={"current_A": "voltage_V", "voltage_V": "current_A"}),
            "swapped?",
        ),
    ],
)
def test_unit_slips_against_the_manifest_are_warned(dataset, protocol, edit, message):
    folder, _ = dataset
    manifest = read_manifest(folder / "manifest.csv")
    row = manifest[manifest["protocol"] == protocol].iloc[0]
    trace = read_trace(row["trace_path"])
    assert check_trace_against_manifest(trace, row, row["trace_path"]) == []
    with pytest.warns(SuspiciousInputWarning, match=message):
        check_trace_against_manifest(edit(trace), row, row["trace_path"])
