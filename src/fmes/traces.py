"""The raw-trace contract (raw/README.md): reading, validating and writing traces.

A measured data set and the synthetic one have exactly the same form: ``manifest.csv`` (one row
per trace) plus one CSV per trace with ``time_s``, ``current_A``, ``voltage_V``. Anything that
breaks the contract raises :class:`TraceContractError` naming the file, the row or column, and
what was expected. Suspicious-but-valid inputs (resistances that look like kOhm, times that look
like ms) raise a :class:`SuspiciousInputWarning`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fmes.io import write_csv

if TYPE_CHECKING:
    from fmes.instruments import ExportFormat

PROTOCOLS = ("iv_sweep", "pulse", "ppf", "pulse_train", "ltp_ltd")
MANIFEST_REQUIRED = ("trace_id", "path", "device_id", "protocol", "resistance_ohm")
PARAMETER_COLUMNS = (
    "amplitude_A",
    "width_s",
    "interval_s",
    "n_pulses",
    "frequency_Hz",
    "sweep_rate_V_per_s",
    "v_max_V",
)
# Protocol parameters that must be present (and > 0) for each protocol.
PROTOCOL_PARAMETERS: dict[str, tuple[str, ...]] = {
    "iv_sweep": ("sweep_rate_V_per_s", "v_max_V"),
    "pulse": ("amplitude_A", "width_s"),
    "ppf": ("amplitude_A", "width_s", "interval_s"),
    "pulse_train": ("amplitude_A", "width_s", "n_pulses", "frequency_Hz"),
    "ltp_ltd": ("amplitude_A", "width_s", "n_pulses", "frequency_Hz"),
}
TRACE_COLUMNS = ("time_s", "current_A", "voltage_V")
MANIFEST_COLUMNS = MANIFEST_REQUIRED + ("cycle",) + PARAMETER_COLUMNS


class TraceContractError(ValueError):
    """A manifest or trace file breaks the raw-trace contract."""


class SuspiciousInputWarning(UserWarning):
    """Valid by the contract but probably a unit mistake (kOhm for ohm, ms for s, ...)."""


def parse_resistance(value: object) -> float:
    """Regulating resistance in ohm: a positive number, or ``open``/empty for no resistor (inf)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.inf
    text = str(value).strip()
    if text.lower() in ("", "open", "inf", "none"):
        return math.inf
    try:
        ohm = float(text)
    except ValueError:
        raise ValueError(f"expected a resistance in ohm (number) or 'open', got {text!r}") from None
    if not math.isfinite(ohm) or ohm <= 0:
        raise ValueError(f"expected a resistance > 0 ohm or 'open', got {text!r}")
    return ohm


def ordered_labels(labels: Iterable[object]) -> list[str]:
    """Unique resistance labels ordered by resistance (open last)."""
    return sorted({str(x) for x in labels}, key=parse_resistance)


def legend_label(label: object) -> str:
    """Legend text of a state: "500 Ω" for a resistance in ohm; "open", "ideal" (any label that
    is not a number) as it is."""
    text = str(label)
    try:
        float(text)
    except ValueError:
        return text
    return f"{text} Ω"


def resistance_label(ohm: float) -> str:
    """Canonical label of a resistance state: integer ohm as text, or ``open``."""
    if math.isinf(ohm):
        return "open"
    return f"{ohm:.0f}" if float(ohm).is_integer() else f"{ohm:g}"


def _fail(file: str | os.PathLike, where: str, expected: str) -> TraceContractError:
    return TraceContractError(f"{file}: {where}: {expected}")


def _numeric_column(frame: pd.DataFrame, column: str, file: str | os.PathLike, allow_empty: bool, line_offset: int = 2) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    bad = values.isna() & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(file, f"row {i + 1} (line {i + line_offset}), column {column!r}", f"expected a number, got {raw.iloc[i]!r}")
    if not allow_empty and empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise _fail(file, f"row {i + 1} (line {i + line_offset}), column {column!r}", "expected a number, got an empty cell")
    finite = np.isfinite(values.to_numpy(dtype=float))
    nonfinite = ~finite & ~empty.to_numpy()
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise _fail(file, f"row {i + 1} (line {i + line_offset}), column {column!r}", f"expected a finite number, got {raw.iloc[i]!r}")
    return values.astype(float)


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise TraceContractError(f"{path}: {what} file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise TraceContractError(f"{path}: not a readable CSV {what} ({err})") from None


def read_manifest(path: str | os.PathLike, check_files: bool = True) -> pd.DataFrame:
    """Read and validate a manifest; add ``resistance_label``, ``resistance_ohm`` (float, inf for
    open) and ``trace_path`` (absolute path of each trace CSV)."""
    path = Path(path)
    raw = _read_csv(path, "manifest")
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in MANIFEST_REQUIRED if c not in raw.columns]
    if missing:
        raise _fail(path, f"columns {missing}", f"missing; the manifest needs {list(MANIFEST_REQUIRED)}")
    if raw.empty:
        raise _fail(path, "rows", "expected at least one trace")
    out = pd.DataFrame(index=raw.index)
    for column in ("trace_id", "path", "device_id", "protocol"):
        text = raw[column].astype(str).str.strip()
        empty = text == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise _fail(path, f"row {i + 1} (line {i + 2}), column {column!r}", "expected a non-empty value")
        out[column] = text
    dup = out["trace_id"].duplicated(keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy()) + 1).tolist()
        raise _fail(path, f"rows {rows}, column 'trace_id'", f"expected unique ids, {out['trace_id'][dup].iloc[0]!r} repeats")
    unknown = ~out["protocol"].isin(PROTOCOLS)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise _fail(path, f"row {i + 1} (line {i + 2}), column 'protocol'", f"expected one of {list(PROTOCOLS)}, got {out['protocol'].iloc[i]!r}")
    ohms = []
    for i, value in enumerate(raw["resistance_ohm"]):
        try:
            ohms.append(parse_resistance(value))
        except ValueError as err:
            raise _fail(path, f"row {i + 1} (line {i + 2}), column 'resistance_ohm'", str(err)) from None
    out["resistance_ohm"] = ohms
    out["resistance_label"] = [resistance_label(r) for r in ohms]
    if "cycle" in raw.columns:
        cycle = _numeric_column(raw, "cycle", path, allow_empty=True).fillna(0.0)
        if not np.all(cycle == np.round(cycle)) or (cycle < 0).any():
            i = int(np.flatnonzero(((cycle != np.round(cycle)) | (cycle < 0)).to_numpy())[0])
            raise _fail(path, f"row {i + 1} (line {i + 2}), column 'cycle'", "expected a non-negative integer")
        out["cycle"] = cycle.astype(int)
    else:
        out["cycle"] = 0
    for column in PARAMETER_COLUMNS:
        out[column] = _numeric_column(raw, column, path, allow_empty=True) if column in raw.columns else np.nan
    for protocol, needed in PROTOCOL_PARAMETERS.items():
        rows = out["protocol"] == protocol
        for column in needed:
            bad = rows & ~(out[column].abs() > 0)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise _fail(path, f"row {i + 1} (line {i + 2}), column {column!r}", f"protocol {protocol!r} needs a non-zero number")
    _warn_suspicious_manifest(out, path)
    base = path.parent
    out["trace_path"] = [str((base / p).resolve()) for p in out["path"]]
    if check_files:
        exists = np.array([os.path.isfile(p) for p in out["trace_path"]])
        if not exists.all():
            i = int(np.flatnonzero(~exists)[0])
            raise _fail(path, f"row {i + 1} (line {i + 2}), column 'path'", f"trace file {out['trace_path'].iloc[i]} not found")
    extra = [c for c in raw.columns if c not in MANIFEST_COLUMNS]
    for column in extra:  # extra columns are kept and ignored
        out[column] = raw[column]
    return out.reset_index(drop=True)


def _warn_suspicious_manifest(manifest: pd.DataFrame, path: Path) -> None:
    finite = manifest["resistance_ohm"][np.isfinite(manifest["resistance_ohm"])]
    if (finite < 50).any():
        warnings.warn(
            f"{path}: column 'resistance_ohm' has values below 50 ({sorted(set(finite[finite < 50]))}): "
            "resistances are in ohm, not kOhm",
            SuspiciousInputWarning,
            stacklevel=3,
        )
    width = manifest["width_s"].dropna()
    if (width > 1.0).any():
        warnings.warn(f"{path}: column 'width_s' has pulses longer than 1 s: widths are in seconds, not ms", SuspiciousInputWarning, stacklevel=3)
    amplitude = manifest["amplitude_A"].dropna().abs()
    if (amplitude > 1.0).any():
        warnings.warn(f"{path}: column 'amplitude_A' exceeds 1 A: amplitudes are in ampere, not mA", SuspiciousInputWarning, stacklevel=3)


def read_trace(path: str | os.PathLike, export_format: ExportFormat | None = None) -> pd.DataFrame:
    """Read and validate one trace CSV (``time_s``, ``current_A``, ``voltage_V`` numeric, finite,
    time strictly increasing). Extra columns are kept.

    With an ``export_format`` (:class:`fmes.instruments.ExportFormat`) that is not the contract,
    the file is an instrument export: it is read and converted by
    :func:`fmes.instruments.read_export` and then validated the same way.
    """
    path = Path(path)
    line_offset = 2
    if export_format is not None and not export_format.is_contract:
        from fmes.instruments import read_export  # imports this module

        raw = read_export(path, export_format)
        line_offset = export_format.first_data_line
    else:
        raw = _read_csv(path, "trace")
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in TRACE_COLUMNS if c not in raw.columns]
    if missing:
        raise _fail(path, f"columns {missing}", f"missing; a trace needs {list(TRACE_COLUMNS)}")
    if len(raw) < 2:
        raise _fail(path, "rows", "expected at least two samples")
    out = raw.copy()
    for column in TRACE_COLUMNS:
        out[column] = _numeric_column(raw, column, path, allow_empty=False, line_offset=line_offset)
    step = np.diff(out["time_s"].to_numpy())
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise _fail(path, f"row {i + 1} (line {i + line_offset}), column 'time_s'", f"expected time strictly increasing, got {out['time_s'].iloc[i]!r} after {out['time_s'].iloc[i - 1]!r}")
    return out


def write_dataset(manifest: pd.DataFrame, traces: dict[str, pd.DataFrame], folder: str | os.PathLike) -> Path:
    """Write a manifest and its trace CSVs in the raw contract; returns the manifest path.

    ``manifest`` holds the contract columns; its ``path`` column is relative to ``folder``.
    """
    folder = Path(folder)
    for trace_id, path in zip(manifest["trace_id"], manifest["path"], strict=True):
        write_csv(traces[trace_id][list(TRACE_COLUMNS)], folder / path, float_format="%.9g")
    columns = [c for c in MANIFEST_COLUMNS if c in manifest.columns]
    columns += [c for c in manifest.columns if c not in MANIFEST_COLUMNS]  # extra columns are kept
    return write_csv(manifest[columns], folder / "manifest.csv")


def check_trace_against_manifest(trace: pd.DataFrame, row: pd.Series, path: str | os.PathLike, factor: float = 20.0) -> list[str]:
    """Unit slips only the manifest row can reveal: columns swapped, mA for A, ms for s.

    Compares the trace with its protocol parameters (peak drive, total on-time of the pulses,
    sweep duration); anything off by more than ``factor`` is returned as a message and raised as
    a :class:`SuspiciousInputWarning`. Valid data are never rejected here.
    """
    t = trace["time_s"].to_numpy()
    current = trace["current_A"].to_numpy()
    voltage = trace["voltage_V"].to_numpy()
    messages: list[str] = []

    def off(ratio: float) -> bool:
        return not (1.0 / factor < ratio < factor)

    if row["protocol"] == "iv_sweep":
        v_max = float(row["v_max_V"])
        peak_v = float(np.max(np.abs(voltage)))
        if off(peak_v / v_max):
            if not off(float(np.max(np.abs(current))) / v_max):
                messages.append(f"voltage_V peaks at {peak_v:.3g} but current_A near v_max_V={v_max:g}: columns swapped?")
            else:
                messages.append(f"voltage_V peaks at {peak_v:.3g} V, manifest v_max_V={v_max:g} V: units?")
        expected_s = 2 * v_max / float(row["sweep_rate_V_per_s"])
        if off((t[-1] - t[0]) / expected_s):
            messages.append(f"trace lasts {t[-1] - t[0]:.3g} s, a 0->v_max->0 sweep {expected_s:.3g} s: time in ms?")
    else:
        amplitude = abs(float(row["amplitude_A"]))
        peak_i = float(np.max(np.abs(current)))
        if off(peak_i / amplitude):
            if not off(float(np.max(np.abs(voltage))) / amplitude):
                messages.append(f"current_A peaks at {peak_i:.3g} but voltage_V near amplitude_A={amplitude:g}: columns swapped?")
            else:
                messages.append(f"current_A peaks at {peak_i:.3g} A, manifest amplitude_A={amplitude:g} A: mA for A?")
        else:
            # total time spent inside pulses (left Riemann sum over samples above half amplitude)
            on = np.abs(current[:-1]) > 0.5 * amplitude
            on_time_s = float(np.sum(np.diff(t)[on]))
            pulses = {"pulse": 1, "ppf": 2, "pulse_train": float(row["n_pulses"]), "ltp_ltd": 2 * float(row["n_pulses"])}[row["protocol"]]
            expected_s = pulses * float(row["width_s"])
            if on_time_s > 0 and off(on_time_s / expected_s):
                messages.append(f"pulses last {on_time_s:.3g} s in total, manifest expects {expected_s:.3g} s: time in ms?")
    for message in messages:
        warnings.warn(f"{path}: {message}", SuspiciousInputWarning, stacklevel=2)
    return messages
