"""Hostile inputs: property-based tests of the trace readers and the config schema.

Whatever bytes a user's manifest, trace or config holds, the outcome is either a valid result or
the documented error naming the file/row/key (TraceContractError for data, WorkflowError for the
config); never an exception from deep inside pandas or numpy.
"""

from __future__ import annotations

import copy
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snakemake.exceptions import WorkflowError

from fmes.data.traces import (
    MANIFEST_COLUMNS,
    PROTOCOLS,
    TRACE_COLUMNS,
    SuspiciousInputWarning,
    TraceContractError,
    read_manifest,
    read_trace,
)
from fmes.workflow.config import validate_config

SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# cells a careless export or a hostile file might hold
CELL = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1",
            "1e-3",
            "8000",
            "8k",
            "open",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e400",
            "None",
            "null",
            "True",
            '"',
            "'",
            ",",
            ";",
            "\t",
            "1,5",
            "0x10",
            "١٢",
            "1_000",
            "--",
            "#",
        ]
    ),
    st.sampled_from(PROTOCOLS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 10**6).map(str),
    st.text(max_size=8),
)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    def quote(cell: str) -> str:
        # sometimes quoted properly, sometimes not: both kinds of broken file occur in practice
        return (
            '"' + cell.replace('"', '""') + '"'
            if any(c in cell for c in ',"\n\r') and len(cell) % 2
            else cell
        )

    return "\n".join(",".join(quote(c) for c in line) for line in [header, *rows]) + "\n"


@st.composite
def manifest_texts(draw) -> str:
    header = draw(
        st.lists(
            st.sampled_from([*MANIFEST_COLUMNS, "note", ""]), min_size=0, max_size=14, unique=True
        )
    )
    rows = draw(
        st.lists(st.lists(CELL, min_size=len(header), max_size=len(header) + 1), max_size=5)
    )
    return _csv_text(header, rows)


@st.composite
def trace_texts(draw) -> str:
    header = draw(
        st.permutations([*TRACE_COLUMNS, "extra"]).map(lambda cols: cols[: draw(st.integers(0, 4))])
    )
    rows = draw(st.lists(st.lists(CELL, min_size=len(header), max_size=len(header)), max_size=6))
    return _csv_text(list(header), rows)


def _write(folder: str, text: str | bytes, name: str, with_trace: bool = False) -> Path:
    # hypothesis runs many examples per test call: a TemporaryDirectory each, not tmp_path
    path = Path(folder) / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    if with_trace:  # let a few manifests pass the file check: path "t.csv" exists
        (Path(folder) / "t.csv").write_text("time_s,current_A,voltage_V\n0,0,0\n1,0,0\n")
    return path


def _assert_names_file(err: TraceContractError, path: Path) -> None:
    assert str(err).startswith(f"{path}: "), str(err)


@SETTINGS
@given(text=manifest_texts())
def test_any_manifest_is_valid_or_a_named_contract_error(text):
    with tempfile.TemporaryDirectory() as folder:
        _check_manifest(_write(folder, text, "manifest.csv", with_trace=True))


def _check_manifest(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SuspiciousInputWarning)
        try:
            manifest = read_manifest(path)
        except TraceContractError as err:
            _assert_names_file(err, path)
            return
    # accepted: then it truly satisfies the contract
    assert len(manifest) > 0 and manifest["trace_id"].is_unique
    assert manifest["protocol"].isin(PROTOCOLS).all()
    assert (manifest["resistance_ohm"] > 0).all()
    assert all(Path(p).is_file() for p in manifest["trace_path"])


@SETTINGS
@given(data=st.binary(max_size=200))
def test_binary_garbage_is_a_named_contract_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, data, "manifest.csv")
        for reader in (read_manifest, read_trace):
            try:
                reader(path)
            except TraceContractError as err:
                _assert_names_file(err, path)


@SETTINGS
@given(text=trace_texts())
def test_any_trace_is_valid_or_a_named_contract_error(text):
    with tempfile.TemporaryDirectory() as folder:
        _check_trace(_write(folder, text, "trace.csv"))


def _check_trace(path: Path) -> None:
    try:
        trace = read_trace(path)
    except TraceContractError as err:
        _assert_names_file(err, path)
        return
    values = trace[list(TRACE_COLUMNS)].to_numpy(dtype=float)
    assert len(trace) >= 2 and np.isfinite(values).all()
    assert (np.diff(trace["time_s"].to_numpy()) > 0).all()


# --- suspicious but valid: warned about --------------------------------------------------------

ROW = {
    "trace_id": "a",
    "path": "t.csv",
    "device_id": "d",
    "protocol": "pulse",
    "resistance_ohm": "8000",
    "cycle": "0",
    "amplitude_A": "0.001",
    "width_s": "0.001",
}


MANIFEST_RANGES = yaml.safe_load((ROOT / "config/config.yaml").read_text())["traces"]["plausible"][
    "manifest"
]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("resistance_ohm", "8", "not kOhm"),  # 8 kOhm typed as 8
        (
            "width_s",
            "0.5",
            None,
        ),  # the bound itself is plausible (config traces.plausible.manifest)
        ("width_s", "1", "ms written as s"),  # 1 ms typed as 1: bounds are inclusive, not "> 1"
        ("width_s", "5", "ms written as s"),  # 5 ms typed as 5
        ("amplitude_A", "2", "mA written as A"),  # 2 mA typed as 2
    ],
)
def test_unit_mistakes_in_the_manifest_are_warned_about(tmp_path, column, value, message):
    (tmp_path / "t.csv").write_text("time_s,current_A,voltage_V\n0,0,0\n1,0,0\n")
    pd.DataFrame([{**ROW, column: value}]).to_csv(tmp_path / "manifest.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_manifest(tmp_path / "manifest.csv", ranges=MANIFEST_RANGES)
    texts = [str(w.message) for w in caught if issubclass(w.category, SuspiciousInputWarning)]
    if message is None:
        assert texts == []
    else:
        assert any(message in t and column in t for t in texts), texts


def test_zero_ohm_is_a_clear_error(tmp_path):
    (tmp_path / "t.csv").write_text("time_s,current_A,voltage_V\n0,0,0\n1,0,0\n")
    pd.DataFrame([{**ROW, "resistance_ohm": "0"}]).to_csv(tmp_path / "manifest.csv", index=False)
    with pytest.raises(
        TraceContractError,
        match=r"row 1 \(line 2\), column 'resistance_ohm': expected a resistance > 0",
    ):
        read_manifest(tmp_path / "manifest.csv")


def test_time_going_backwards_names_the_row(tmp_path):
    # ms written into a seconds column still parses; a reset clock (or swapped rows) does not
    (tmp_path / "t.csv").write_text("time_s,current_A,voltage_V\n0,0,0\n2,0,0\n1,0,0\n")
    with pytest.raises(
        TraceContractError,
        match=r"row 3 \(line 4\), column 'time_s': expected time strictly increasing",
    ):
        read_trace(tmp_path / "t.csv")


# --- the config schema -------------------------------------------------------------------------

BASE = yaml.safe_load((ROOT / "config/config.yaml").read_text())


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _paths(v, (*prefix, k))] or [prefix]
    return [prefix]


LEAVES = [p for p in _paths(BASE) if p]
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(-1, 2), max_size=3),
    st.just({}),
    st.just({"x": 1}),
)


def _set(config: dict, path: tuple, value: object) -> dict:
    out = copy.deepcopy(config)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def test_the_shipped_configs_are_valid():
    validate_config(copy.deepcopy(BASE), SCHEMA)
    tiny = yaml.safe_load((ROOT / ".test/config/tiny.yaml").read_text())
    merged = copy.deepcopy(BASE)
    for key, value in tiny.items():  # one level deep is how tiny.yaml overrides
        merged[key] = (
            {**merged[key], **value}
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    validate_config(merged, SCHEMA)


@SETTINGS
@given(path=st.sampled_from(LEAVES), value=HOSTILE)
def test_any_config_value_is_valid_or_a_workflow_error_naming_the_key(path, value):
    config = _set(BASE, path, value)
    try:
        validate_config(config, SCHEMA)
    except WorkflowError as err:
        assert f"On instance{''.join(f'[{k!r}]' for k in path[:1])}" in str(err), str(err)
        return

    # accepted: numbers where the model needs them stay usable (no NaN/inf slips through)
    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, float):
            assert math.isfinite(node), (path, value)

    walk(config)


@pytest.mark.parametrize("value", [math.inf, math.nan])
@pytest.mark.parametrize(
    "path", [("device", "series_resistance_ohm"), ("protocols", "ppf", "width_s")]
)
def test_non_finite_numbers_are_rejected(path, value):
    with pytest.raises(WorkflowError):
        validate_config(_set(BASE, path, value), SCHEMA)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("resistances",), ["0"]),
        (("resistances",), ["8k"]),
        (("variability", "cycles"), 0),
        (("protocols", "ppf", "intervals_s"), []),
        (("networks", "seeds"), []),
        (("seed",), -1),
        (("unknown_key",), 1),
    ],
)
def test_bad_config_values_are_rejected(path, value):
    config = copy.deepcopy(BASE)
    if path == ("unknown_key",):
        config["unknown_key"] = value
    else:
        config = _set(config, path, value)
    with pytest.raises(WorkflowError):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("section", ["networks", "adaptation"])
def test_a_figure_seed_outside_the_trained_seeds_is_refused_naming_both_keys(section):
    config = _set(BASE, (section, "seeds"), [1, 2])
    with pytest.raises(
        WorkflowError, match=rf"{section}\.figure_seed = 0 is not one of {section}\.seeds \[1, 2\]"
    ):
        validate_config(config, SCHEMA)
    validate_config(_set(config, (section, "figure_seed"), 2), SCHEMA)
