"""Valid-looking but wrong input: every case with its expected outcome class.

Each case edits a fresh copy of ``raw/`` (a few dozen small files) and is run through the same
library entry points the workflow uses (:func:`fmes.analysis.validation.validate_dataset`, the manifest
reader, the device-parameter assembly and the network/adaptation planning). Outcome classes:

- ``error``: :class:`TraceContractError` whose message names the file, the row or line, and
  matches the case's pattern (what was found, what to do);
- ``warning``: the run goes on, with a :class:`SuspiciousInputWarning` naming the file/row;
- ``clean``: neither (a control, or an explicitly allowed case);
- ``flagged`` / ``skip``: result rows whose status and reason say what is wrong
  (tested with the table-level cases further down).

Two cases go through Snakemake (a failing rule's log holds its exception; an unusable LTP/LTD
state is skipped with its reason down to the accuracy and paper tables).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, SMALL_NETWORKS, run_snakemake

from fmes.analysis.device_params import assemble_device_params
from fmes.analysis.validation import validate_dataset
from fmes.core.io import remove_stale_temporaries, write_csv
from fmes.data.traces import (
    SuspiciousInputWarning,
    TraceContractError,
    read_manifest,
    read_working_manifest,
    working_manifest,
)
from fmes.workflow.planning import plan_states

CONFIG = yaml.safe_load((ROOT / "config/config.yaml").read_text())
PLAUSIBLE = CONFIG["traces"]["plausible"]
TOLERANCE = CONFIG["traces"]["manifest_tolerance"]

# trace files of raw/ used by the cases (ids = file stems)
PULSE = "pulse_amp1mA_w1ms_R500"
WEAK_PULSE = "pulse_amp0.5mA_w1ms_R500"
PPF = "ppf_dt10ms_R500"
TRAIN = "pulse_train_500Hz_R500"
LTP = "ltp_ltd_cycle_R500"
IV = "iv_sweep_50mVps_R500"


@pytest.fixture
def data(tmp_path) -> Path:
    """A private copy of raw/ (manifest + traces) for one case to break."""
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "raw", folder)
    return folder


# --- editing helpers ---------------------------------------------------------------------------


def trace_file(folder: Path, trace_id: str) -> Path:
    return folder / "traces" / f"{trace_id}.csv"


def edit_trace(
    trace_id: str, edit: Callable[[pd.DataFrame], pd.DataFrame]
) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = trace_file(folder, trace_id)
        edit(pd.read_csv(path)).to_csv(path, index=False, float_format="%.9g")

    return apply


def edit_text(
    trace_id: str, edit: Callable[[str], str], encoding: str = "utf-8"
) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = trace_file(folder, trace_id)
        path.write_bytes(edit(path.read_text()).encode(encoding))

    return apply


def edit_manifest(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / "manifest.csv"
        edit(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)

    return apply


def set_cell(trace_id: str, column: str, value: str) -> Callable[[Path], None]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["trace_id"] == trace_id, column] = value
        return frame

    return edit_manifest(edit)


def scale(column: str, factor: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.assign(**{column: f[column] * factor})


def swap_columns(f: pd.DataFrame) -> pd.DataFrame:
    return f.rename(columns={"current_A": "voltage_V", "voltage_V": "current_A"})


def first_rows(n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.iloc[:n]


def set_value(row: int, column: str, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        f = f.astype({column: object})
        f.loc[row, column] = value
        return f

    return edit


def insert_blank_line_and_bad_value(text: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[5] = "x," + lines[5].split(",", 1)[1]  # data row 5 = line 6 before the blank line
    return "".join(lines[:3] + ["\n"] + lines[3:])  # a blank line 4: the bad row is now on line 7


def duplicate_row(trace_id: str, new_id: str, reason: str | None) -> Callable[[Path], None]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        row = frame[frame["trace_id"] == trace_id].assign(trace_id=new_id, resistance_ohm="8000")
        out = pd.concat([frame, row], ignore_index=True)
        if reason is not None:
            out["duplicate_reason"] = np.where(out["path"] == f"traces/{trace_id}.csv", reason, "")
        return out

    return edit_manifest(edit)


def path_outside(kind: str) -> Callable[[Path], None]:
    """Point PULSE's manifest row at a valid trace outside the data folder."""

    def apply(folder: Path) -> None:
        outside = folder.parent / "elsewhere.csv"
        shutil.copy(trace_file(folder, PULSE), outside)
        if kind == "symlink":
            os.symlink(outside, folder / "traces" / "link.csv")
            path = "traces/link.csv"
        else:
            path = str(outside) if kind == "absolute" else "../elsewhere.csv"
        set_cell(PULSE, "path", path)(folder)

    return apply


def then(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        for step in steps:
            step(folder)

    return apply


@dataclass(frozen=True)
class Case:
    name: str
    edit: Callable[[Path], None]
    outcome: str  # error | warning | clean
    pattern: str = ""  # regex the message must match
    names: str = ""  # file name the message must contain ("manifest.csv" or a trace file)
    allow_outside: bool = False


CASES = [
    # -- defect 1: unit slips in every measured column of every protocol (plausibility) --
    Case(
        "pulse voltage in mV",
        edit_trace(WEAK_PULSE, scale("voltage_V", 1000)),
        "error",
        r"row \d+ \(line \d+\), column 'voltage_V': peak \|voltage_V\| is 4\d\.\d+ V, outside .* mV written as V",
        WEAK_PULSE,
    ),
    Case(
        "ppf voltage in mV",
        edit_trace(PPF, scale("voltage_V", 1000)),
        "error",
        r"mV written as V",
        PPF,
    ),
    Case(
        "train voltage in mV",
        edit_trace(TRAIN, scale("voltage_V", 1000)),
        "error",
        r"mV written as V",
        TRAIN,
    ),
    Case(
        "ltp_ltd voltage in mV",
        edit_trace(LTP, scale("voltage_V", 1000)),
        "error",
        r"mV written as V",
        LTP,
    ),
    Case(
        "iv current in mA",
        edit_trace(IV, scale("current_A", 1000)),
        "error",
        r"column 'current_A': peak \|current_A\| is 2\.03\d* A.*mA written as A",
        IV,
    ),
    Case(
        "iv current in uA", edit_trace(IV, scale("current_A", 1e6)), "error", r"µA written as A", IV
    ),
    Case(
        "iv voltage in mV",
        edit_trace(IV, scale("voltage_V", 1000)),
        "error",
        r"column 'voltage_V'.*mV written as V",
        IV,
    ),
    Case(
        "pulse current in mA",
        edit_trace(PULSE, scale("current_A", 1000)),
        "error",
        r"column 'current_A'.*mA written as A",
        PULSE,
    ),
    Case(
        "dead voltage channel",
        edit_trace(PULSE, scale("voltage_V", 0.0)),
        "error",
        r"voltage_V.*the column is all zero",
        PULSE,
    ),
    Case(
        "train time in ms",
        edit_trace(TRAIN, scale("time_s", 1000)),
        "error",
        r"column 'time_s': the trace lasts 1\.1\d*e\+05 s.*ms written as s",
        TRAIN,
    ),
    Case(
        "pulse voltage 1000x too small",
        edit_trace(PULSE, scale("voltage_V", 1e-3)),
        "error",
        r"once too often, or written in kV",
        PULSE,
    ),
    # -- defect 2: truncation --
    Case(
        "last 5 bytes cut",
        edit_text(LTP, lambda t: t[:-5]),
        "error",
        r"line 667 \(the last\) has no line end: the file looks truncated",
        LTP,
    ),
    Case(
        "cut inside the last row",
        edit_text(PULSE, lambda t: t[:-20]),
        "error",
        r"looks truncated",
        PULSE,
    ),
    Case(
        "missing final newline only",
        edit_text(PPF, lambda t: t.rstrip("\n")),
        "error",
        r"if the file is complete, end it with a newline",
        PPF,
    ),
    Case(
        "ltp_ltd cut at a line end",
        edit_trace(LTP, first_rows(333)),
        "error",
        r"trace holds 3\d current pulses, the manifest declares 60 \(n_pulses = 30\)",
        "manifest.csv",
    ),
    # -- defect 3: manifest/trace disagreements --
    Case(
        "n_pulses 50 for 30",
        set_cell(LTP, "n_pulses", "50"),
        "error",
        r"row 40 \(line 41\), trace .*ltp_ltd_cycle_R500.csv: the trace holds 60 current pulses, the manifest declares 100",
        "manifest.csv",
    ),
    Case(
        "train n_pulses 50 for 100",
        set_cell(TRAIN, "n_pulses", "50"),
        "error",
        r"holds 100 current pulses, the manifest declares 50",
    ),
    Case(
        "width 5 ms for 1 ms",
        set_cell(PULSE, "width_s", "0.005"),
        "error",
        r"current pulses last 0\.00\d+ s, manifest width_s = 0\.005 s",
    ),
    Case(
        "amplitude in mA in the manifest",
        set_cell(PPF, "amplitude_A", "1"),
        "error",
        r"manifest amplitude_A = 1 A \(trace/manifest x0\.001: the manifest value in mA \(1 for 1 mA\)\?\)",
    ),
    Case(
        "interval in ms",
        set_cell(PPF, "interval_s", "10"),
        "error",
        r"the two pulses start 0\.0\d+ s apart, manifest interval_s = 10 s \(trace/manifest x0\.001: the manifest value in ms",
    ),
    Case(
        "frequency wrong",
        set_cell(LTP, "frequency_Hz", "500"),
        "error",
        r"pulses repeat at 2 Hz, manifest frequency_Hz = 500",
    ),
    Case(
        "sweep rate in mV/s",
        set_cell(IV, "sweep_rate_V_per_s", "50"),
        "error",
        r"the voltage sweeps at 0\.05 V/s, manifest sweep_rate_V_per_s = 50",
    ),
    Case(
        "v_max wrong",
        set_cell(IV, "v_max_V", "1.6"),
        "error",
        r"voltage_V peaks at 0\.8 V, manifest v_max_V = 1\.6 V",
    ),
    Case(
        "pulse columns swapped",
        edit_trace(PULSE, swap_columns),
        "error",
        r"current_A and voltage_V swapped\?",
    ),
    Case(
        "iv columns swapped",
        edit_trace(IV, swap_columns),
        "error",
        r"current_A and voltage_V swapped\?",
    ),
    Case(
        "trace without pulses",
        edit_trace(PULSE, lambda f: f.assign(current_A=1e-6 + 0 * f["current_A"])),
        "error",
        r"current_A holds no pulses \(peak \|current_A\| 1e-06 A",
    ),
    Case(
        "duplicate path",
        duplicate_row(PULSE, "copy", None),
        "error",
        r"row 10 \(line 11\), column 'path': rows \[10, 43\] name the same file .*duplicate_reason",
        "manifest.csv",
    ),
    Case(
        "duplicate path with a reason",
        duplicate_row(PULSE, "copy", "same trace read as a second state for a test"),
        "clean",
    ),
    # -- defect 5: paths out of the data folder --
    Case(
        "path with ..",
        path_outside("dotdot"),
        "error",
        r"row 10 \(line 11\), column 'path': '\.\./elsewhere\.csv' resolves to .*outside the manifest's folder",
        "manifest.csv",
    ),
    Case(
        "absolute path",
        path_outside("absolute"),
        "error",
        r"row 10 \(line 11\), column 'path': .* is an absolute path",
        "manifest.csv",
    ),
    Case(
        "symlink out of the folder",
        path_outside("symlink"),
        "error",
        r"'traces/link\.csv' resolves to .*elsewhere\.csv, outside .*symlinks followed",
        "manifest.csv",
    ),
    Case("outside path allowed by config", path_outside("dotdot"), "clean", allow_outside=True),
    # -- smaller ones: dialects, line numbers, deliberate bounds --
    Case(
        "semicolon separator",
        edit_text(PULSE, lambda t: t.replace(",", ";")),
        "error",
        r"the header \(line 1\) separates columns with ';', not ','.*config traces\.export",
        PULSE,
    ),
    Case(
        "semicolon and decimal comma",
        edit_text(PULSE, lambda t: t.replace(",", ";").replace(".", ",")),
        "error",
        r"';', not ',', and numbers use a decimal comma \(line 2\)",
        PULSE,
    ),
    Case(
        "decimal comma between commas",
        edit_text(PULSE, lambda t: t.replace("e-05,", "e-05;").replace(".", ",")),
        "error",
        r"comma-separated fields but the header has 3: decimal commas",
        PULSE,
    ),
    Case(
        "tab separator",
        edit_text(PULSE, lambda t: t.replace(",", "\t")),
        "error",
        r"separates columns with a tab",
        PULSE,
    ),
    Case(
        "latin-1 file",
        edit_text(PULSE, lambda t: t.replace("voltage_V", "voltage_V (µV)", 1), "latin-1"),
        "error",
        r"line 1: not UTF-8 text \(byte 0xb5, which latin-1 reads as 'µ'\)",
        PULSE,
    ),
    Case(
        "bad number after a blank line",
        edit_text(PULSE, insert_blank_line_and_bad_value),
        "error",
        r"row 5 \(line 7\), column 'time_s': expected a number, got 'x'",
        PULSE,
    ),
    Case(
        "manifest error after a blank line",
        then(
            lambda d: (d / "manifest.csv").write_text(
                (d / "manifest.csv").read_text().replace("\n", "\n\n", 1)
            ),
            lambda d: (d / "manifest.csv").write_text(
                (d / "manifest.csv").read_text().replace(",ppf,500,", ",pff,500,", 1)
            ),
        ),
        "error",
        r"row 16 \(line 18\), column 'protocol': expected one of",
        "manifest.csv",
    ),
    Case(
        "amplitude exactly 1 A",
        set_cell(PULSE, "amplitude_A", "1"),
        "error",
        r"manifest amplitude_A = 1 A",
    ),
    Case(
        "resistance in kOhm",
        set_cell(PULSE, "resistance_ohm", "0.5"),
        "warning",
        r"row 10 \(line 11\), column 'resistance_ohm': 0\.5 is outside .* ohm, not kOhm",
        "manifest.csv",
    ),
    # -- already handled (no regression) --
    Case(
        "missing trace column",
        edit_trace(PULSE, lambda f: f.drop(columns="voltage_V")),
        "error",
        r"columns \['voltage_V'\]: missing",
        PULSE,
    ),
    Case(
        "text in a number",
        edit_trace(PULSE, set_value(4, "current_A", "abc")),
        "error",
        r"row 5 \(line 6\), column 'current_A': expected a number",
        PULSE,
    ),
    Case(
        "empty cell",
        edit_trace(PULSE, set_value(2, "voltage_V", "")),
        "error",
        r"row 3 \(line 4\), column 'voltage_V'.*empty cell",
        PULSE,
    ),
    Case(
        "infinite value",
        edit_trace(PULSE, set_value(2, "voltage_V", "inf")),
        "error",
        r"expected a finite number",
        PULSE,
    ),
    Case(
        "time not increasing",
        edit_trace(PULSE, set_value(6, "time_s", 0.0)),
        "error",
        r"row 7 \(line 8\), column 'time_s': expected time strictly increasing",
        PULSE,
    ),
    Case(
        "unknown protocol",
        set_cell(PULSE, "protocol", "triangle"),
        "error",
        r"row 10 \(line 11\), column 'protocol'",
        "manifest.csv",
    ),
    Case(
        "duplicate trace id",
        set_cell(PULSE, "trace_id", PPF),
        "error",
        r"column 'trace_id': expected unique ids",
        "manifest.csv",
    ),
    Case(
        "missing trace file",
        set_cell(PULSE, "path", "traces/nope.csv"),
        "error",
        r"row 10 \(line 11\), column 'path': trace file .*nope\.csv not found",
        "manifest.csv",
    ),
    Case(
        "resistance 8k",
        set_cell(PULSE, "resistance_ohm", "8k"),
        "error",
        r"column 'resistance_ohm': expected a resistance in ohm",
        "manifest.csv",
    ),
    Case(
        "missing parameter",
        set_cell(PULSE, "width_s", ""),
        "error",
        r"column 'width_s': protocol 'pulse' needs a non-zero number",
        "manifest.csv",
    ),
    Case("untouched copy of raw/", lambda folder: None, "clean"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(data, case):
    case.edit(data)
    manifest = data / "manifest.csv"

    def run():
        return validate_dataset(
            manifest, plausible=PLAUSIBLE, tolerance=TOLERANCE, allow_outside=case.allow_outside
        )

    if case.outcome == "error":
        with pytest.raises(TraceContractError, match=case.pattern) as err:
            run()
        assert case.names in str(err.value)
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    found = [str(w.message) for w in caught if issubclass(w.category, SuspiciousInputWarning)]
    if case.outcome == "clean":
        assert found == []
    else:
        assert any(
            case.names in m and pd.Series([m]).str.contains(case.pattern).iloc[0] for m in found
        ), found


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert {c.outcome for c in CASES} == {"error", "warning", "clean"}


# --- manifest parameters alone: deliberate bounds (warnings before any trace is read) -------------


@pytest.mark.parametrize(
    ("column", "value", "pattern"),
    [
        (
            "amplitude_A",
            "1",
            r"column 'amplitude_A': 1 is outside the plausible range \[1e-07, 0\.1\].*mA written as A",
        ),
        ("width_s", "1", r"column 'width_s': 1 is outside .*ms written as s"),
        ("width_s", "0.5", None),  # the upper bound itself is plausible (inclusive)
    ],
)
def test_manifest_parameter_bounds_are_inclusive_and_deliberate(data, column, value, pattern):
    set_cell(PULSE, column, value)(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_manifest(data / "manifest.csv", ranges=PLAUSIBLE["manifest"])
    messages = [str(w.message) for w in caught]
    if pattern is None:
        assert messages == []
    else:
        assert len(messages) == 1 and pd.Series(messages).str.contains(pattern).iloc[0]


# --- flagged rows and clean skips (device parameters -> networks / adaptation) ----------------


def _fit_rows(statuses: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    for label, per_cycle in statuses.items():
        for cycle, status in enumerate(per_cycle):
            rows.append(
                {
                    "resistance_label": label,
                    "device_id": "nominal",
                    "cycle": cycle,
                    "converged": True,
                    "status": status,
                    "reason": "" if status == "ok" else f"{status} on cycle {cycle}",
                    "g_min_V": 0.0,
                    "g_max_V": 0.1,
                    "n_pulses": 30,
                    "a_p_pulses": 20.0,
                    "a_d_pulses": 20.0,
                    "a_p_stderr_pulses": 1.0,
                    "a_d_stderr_pulses": 1.0,
                    "nl_ltp": 1.0,
                    "nl_ltd": 1.0,
                    "n_states": 20,
                    "c2c_sigma_frac": 0.01,
                }
            )
    return pd.DataFrame(rows)


def test_device_params_take_the_worst_status_of_the_fits_used():
    fits = _fit_rows({"500": ["ok", "ok"], "8000": ["ok", "poor_fit"], "open": ["flagged", "ok"]})
    params, _ = assemble_device_params(fits, pd.DataFrame(columns=["kind"]))
    by_state = params.set_index("resistance_label")
    assert list(by_state["status"]) == ["ok", "poor_fit", "flagged"]
    assert by_state.loc["500", "reason"] == ""
    assert by_state.loc["8000", "reason"] == "poor_fit on cycle 1"
    assert by_state.loc["open", "reason"] == "flagged on cycle 0"


def _plan(allow: bool) -> pd.DataFrame:
    fits = _fit_rows({"500": ["ok"], "8000": ["poor_fit"]})
    fits.loc[len(fits)] = {
        **fits.iloc[0].to_dict(),
        "resistance_label": "open",
        "converged": False,
        "status": "failed",
        "reason": "fit did not converge",
    }
    params, provenance = assemble_device_params(fits, pd.DataFrame(columns=["kind"]))
    return plan_states(
        params,
        provenance,
        ["500", "8000", "open", "1000"],
        allow_non_ok=allow,
        allow_key="networks.allow_non_ok_states",
    ).set_index("state")


def test_non_ok_and_missing_states_are_skipped_with_their_own_reason():
    plan = _plan(allow=False)
    assert list(plan["use"]) == [True, False, False, False]
    assert list(plan["status"]) == ["ok", "skipped", "skipped", "skipped"]
    assert (
        "are poor_fit (poor_fit on cycle 0); set networks.allow_non_ok_states: true"
        in plan.loc["8000", "reason"]
    )
    assert "fit did not converge" in plan.loc["open", "reason"]
    assert "no device parameters at 1000" in plan.loc["1000", "reason"]


def test_an_allowed_non_ok_state_is_used_and_keeps_its_status():
    plan = _plan(allow=True)
    assert plan.loc["8000", "use"] and plan.loc["8000", "status"] == "poor_fit"
    assert "used because networks.allow_non_ok_states is true" in plan.loc["8000", "reason"]
    assert not plan.loc["open", "use"]  # no value at all: nothing to allow


def test_no_network_to_train_is_refused_in_validation():
    from snakemake.exceptions import WorkflowError

    from fmes.workflow.config import validate_config

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["networks"].update(resistances=[], ideal_baseline=False)
    with pytest.raises(
        WorkflowError, match=r"networks\.resistances is empty and networks\.ideal_baseline is false"
    ):
        validate_config(config, ROOT / "workflow/schemas/config.schema.yaml")


# --- relocatable results, litter, logs ------------------------------------------------------------


def test_working_manifest_is_relative_and_survives_a_move(data, tmp_path):
    manifest = read_manifest(data / "manifest.csv")
    results = tmp_path / "run" / "results" / "traces"
    write_csv(working_manifest(manifest, results), results / "manifest.csv")
    text = (results / "manifest.csv").read_text()
    assert str(tmp_path) not in text and "trace_path" not in text.splitlines()[0]
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "run", moved / "run")
    shutil.move(data, moved / "data")
    again = read_working_manifest(moved / "run" / "results" / "traces" / "manifest.csv")
    assert again["trace_path"].map(lambda p: Path(p).is_file()).all()
    assert str(moved) in again["trace_path"].iloc[0]


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    target = tmp_path / "table.csv"
    litter = [tmp_path / ".table.csv.ab12cd34.tmp", tmp_path / ".table.csv.zz_99xyz.tmp"]
    keep = [tmp_path / ".other.csv.ab12cd34.tmp", tmp_path / ".table.csv.notrandom-suffix.tmp"]
    for path in litter + keep:
        path.write_text("half")
    write_csv(pd.DataFrame({"a": [1]}), target)
    assert not any(p.exists() for p in litter) and all(p.exists() for p in keep)
    assert remove_stale_temporaries(target) == []


def test_an_exception_in_a_rule_script_lands_in_its_log(tmp_path):
    log = tmp_path / "rule.log"
    script = f"from fmes.core.logs import rule_logger\nrule_logger('demo', {str(log)!r})\nraise ValueError('bad input in row 3')\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode != 0
    text = log.read_text()
    assert "rule failed: ValueError: bad input in row 3" in text and "Traceback" in text


# --- through Snakemake (slow: two cases only) ----------------------------------------------------


def _raw_workdir(tmp_path: Path) -> Path:
    work = tmp_path / "run"
    shutil.copytree(ROOT / "raw", work / "raw")
    (work / "raw.yaml").write_text("traces: {source: raw}\n")
    return work


@pytest.mark.slow
def test_failing_validation_writes_the_error_into_its_log(tmp_path):
    work = _raw_workdir(tmp_path)
    edit_trace(PPF, scale("voltage_V", 1000))(work / "raw")
    proc = run_snakemake(
        work,
        "results/traces/manifest.csv",
        "--configfile",
        str(work / "raw.yaml"),
        "--show-failed-logs",
        check=False,
    )
    assert proc.returncode != 0
    log = (work / "results/logs/validate_traces.log").read_text()
    assert "TraceContractError" in log and f"{PPF}.csv" in log and "mV written as V" in log
    assert "mV written as V" in proc.stdout + proc.stderr  # --show-failed-logs prints it


@pytest.mark.slow
def test_unusable_ltp_state_is_skipped_down_to_the_paper_table(tmp_path):
    work = _raw_workdir(tmp_path)
    # 8000 ohm: valid by the contract and its manifest, but the PSV never moves: no LTP/LTD fit
    edit_trace("ltp_ltd_cycle_R8000", lambda f: f.assign(voltage_V=0.01 + 0 * f["voltage_V"]))(
        work / "raw"
    )
    (work / "small.yaml").write_text(SMALL_NETWORKS)
    (work / "strict.yaml").write_text(
        "networks: {allow_non_ok_states: false}\n"
    )  # tiny allows them
    run_snakemake(
        work,
        "results/tables/paper_vs_reproduced.csv",
        "--configfile",
        str(ROOT / ".test/config/tiny.yaml"),
        str(work / "raw.yaml"),
        str(work / "small.yaml"),
        str(work / "strict.yaml"),
    )
    tables = work / "results/tables"
    params = pd.read_csv(tables / "device_params.csv", dtype=str, keep_default_na=False).set_index(
        "resistance_label"
    )
    assert "8000" not in params.index or params.loc["8000", "status"] != "ok"
    accuracy = pd.read_csv(
        tables / "network_accuracy.csv", dtype={"state": str}, keep_default_na=False
    )
    accuracy = accuracy.set_index("state")
    for state in ("500", "8000", "open"):  # trained exactly where the device parameters are ok
        usable = state in params.index and params.loc[state, "status"] == "ok"
        assert accuracy.loc[state, "status"] == ("ok" if usable else "skipped"), state
        if not usable:
            assert f"at {state}" in accuracy.loc[state, "reason"]
    paper = pd.read_csv(tables / "paper_vs_reproduced.csv", keep_default_na=False).set_index(
        "target_id"
    )
    assert "network at 8000 skipped" in paper.loc["accuracy_mlp_8000ohm", "note"]
    assert "8000" not in paper.loc["accuracy_mlp_open", "note"]  # never another state's reason
