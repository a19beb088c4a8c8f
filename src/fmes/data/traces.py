"""The raw-trace contract (raw/README.md): reading, validating and writing traces.

A measured data set and the synthetic one have exactly the same form: ``manifest.csv`` (one row
per trace) plus one CSV per trace with ``time_s``, ``current_A``, ``voltage_V``. Anything that
breaks the contract raises :class:`TraceContractError` naming the file, the row or column, and
what was expected. Valid CSV that is wrong is caught too: foreign dialects (``;``, decimal
commas, latin-1), a file cut inside its last row, paths leaving the manifest's folder, duplicate
paths, measured values no device of this kind gives (:func:`check_trace_plausibility`) and
trace/manifest disagreements (:func:`manifest_disagreements`). Manifest parameters outside
their plausible range raise a :class:`SuspiciousInputWarning`. Row numbers count data rows;
line numbers are the ones an editor shows (blank lines included).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmes.core.io import write_csv
from fmes.data.instruments import ExportFormat, read_export

# the manifest's columns, protocols, labels and path rule: defined once, with the standard library
from fmes.workflow.manifest import (
    MANIFEST_COLUMNS,
    MANIFEST_REQUIRED,
    PARAMETER_COLUMNS,
    PROTOCOL_PARAMETERS,
    PROTOCOLS,
    TRACE_COLUMNS,
    TraceContractError,
    parse_resistance,
    resistance_label,
    row_where,
    trace_paths,
)
from fmes.workflow.manifest import fail as _fail
from fmes.workflow.planning import is_stored


class SuspiciousInputWarning(UserWarning):
    """Valid by the contract but probably a unit mistake (kOhm for ohm, ms for s, ...)."""


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


def _where(frame: pd.DataFrame, i: int, column: str | None = None) -> str:
    """``row N (line L)[, column 'c']``: L is the line an editor shows (blank lines counted)."""
    lines = frame.attrs.get("lines")
    line = int(lines[i]) if lines is not None and i < len(lines) else i + 2
    return row_where(i, line, column)


def _numeric_column(
    frame: pd.DataFrame, column: str, file: str | os.PathLike, allow_empty: bool
) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    bad = values.isna() & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        text = str(raw.iloc[i])
        hint = ""
        if re.fullmatch(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?", text.strip()):
            hint = f" (a decimal comma? {_EXPORT_HINT})"
        raise _fail(file, _where(frame, i, column), f"expected a number, got {raw.iloc[i]!r}{hint}")
    if not allow_empty and empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise _fail(file, _where(frame, i, column), "expected a number, got an empty cell")
    finite = np.isfinite(values.to_numpy(dtype=float))
    nonfinite = ~finite & ~empty.to_numpy()
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise _fail(
            file, _where(frame, i, column), f"expected a finite number, got {raw.iloc[i]!r}"
        )
    return values.astype(float)


#: Where a user whose instrument writes another CSV dialect is sent (see raw/README.md).
_EXPORT_HINT = (
    "the contract is UTF-8, ',' between columns and '.' as decimal mark; convert the file, or "
    "declare the instrument's export format (separator, decimal, encoding, header_line, columns "
    "and units) in config traces.export, or per manifest row via traces.export_formats and an "
    "export_format column (raw/README.md, 'Instrument exports')"
)
_DECIMAL_COMMA = re.compile(r"(?:^|[;\t])\s*[+-]?\d+,\d+")


def _dialect_problem(lines: list[str], header_line: int) -> str | None:
    """What a non-contract dialect looks like, in words (``;``/tab separator, decimal commas)."""
    header = lines[header_line - 1]
    data = [
        (n, line)
        for n, line in enumerate(lines[header_line:], start=header_line + 1)
        if line.strip()
    ][:50]
    for separator, name in ((";", "';'"), ("\t", "a tab")):
        if separator in header and "," not in header:
            found = f"the header (line {header_line}) separates columns with {name}, not ','"
            comma = next((n for n, line in data if _DECIMAL_COMMA.search(line)), None)
            if comma is not None:
                found += f", and numbers use a decimal comma (line {comma})"
            return found
    n_header = len(next(csv.reader([header])))
    for n, line in data:
        n_fields = len(next(csv.reader([line])))
        if n_fields > n_header and re.search(r"\d,\d", line):
            return (
                f"line {n} has {n_fields} comma-separated fields but the header has "
                f"{n_header}: decimal commas inside comma-separated columns?"
            )
    return None


def _refuse_truncated(path: Path, n_lines: int | None = None, last_line: str | None = None) -> None:
    """Refuse a file whose last row has no line end: a file cut short inside its last number
    still parses, with a wrong last value."""
    if n_lines is None:
        data = path.read_bytes()
        if not data or data.endswith((b"\n", b"\r")):
            return
        lines = data.decode("utf-8", errors="replace").splitlines()
        n_lines, last_line = len(lines), lines[-1]
    raise TraceContractError(
        f"{path}: line {n_lines} (the last) has no line end: the file looks truncated "
        f"(cut inside its last row, which reads {str(last_line)[-40:]!r}); if the file is complete, "
        "end it with a newline"
    )


class LineNumbers(tuple):
    """The editor line of each row of a table read from text (``frame.attrs["lines"]``).

    A tuple, since pandas compares attrs on concat; immutable, so pandas' deep copy of attrs
    after every operation can share it (a manifest of 10^5 rows would otherwise copy 10^5
    numbers per operation, seconds per read)."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict) -> LineNumbers:
        return self


def _read_csv(path: Path, what: str, require_final_newline: bool = False) -> pd.DataFrame:
    """Read a contract CSV as text; ``frame.attrs["lines"]`` maps each row to its editor line.

    Bytes are checked before pandas sees them, so that the usual foreign dialects (latin-1
    text, ``;`` separators, decimal commas) get a message that says what was found, and a file
    cut short inside its last row (no line end after it) is refused instead of read with a
    wrong last value.
    """
    if not path.is_file():
        raise TraceContractError(f"{path}: {what} file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start]
        raise TraceContractError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{byte:02x}, which latin-1 reads as "
            f"{bytes([byte]).decode('latin-1')!r}); {_EXPORT_HINT}"
        ) from None
    lines = text.splitlines()
    nonblank = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if nonblank:
        problem = _dialect_problem(lines, nonblank[0])
        if problem:
            raise TraceContractError(f"{path}: {problem}; {_EXPORT_HINT}")
    if require_final_newline and nonblank and not text.endswith(("\n", "\r")):
        _refuse_truncated(path, len(lines), lines[-1])
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise TraceContractError(f"{path}: not a readable CSV {what} ({err})") from None
    frame.attrs["lines"] = LineNumbers(nonblank[1:])
    return frame


def read_manifest(
    path: str | os.PathLike,
    check_files: bool = True,
    *,
    allow_outside: bool = False,
    ranges: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """Read and validate a manifest; add ``resistance_label``, ``resistance_ohm`` (float, inf for
    open) and ``trace_path`` (absolute path of each trace CSV).

    ``path`` must resolve (symlinks included) inside the manifest's folder, so the traces travel
    with the manifest; ``allow_outside`` lifts that (config key
    ``traces.allow_paths_outside_manifest_folder``). Two rows may name the same file only if
    each says why in a ``duplicate_reason`` column. ``ranges`` (config ``traces.plausible.manifest``)
    maps parameter columns to ``[low, high]``; values outside raise a
    :class:`SuspiciousInputWarning` naming the row and the likely unit slip.
    """
    path = Path(path)
    raw = _read_csv(path, "manifest")
    raw.columns = [str(c).strip() for c in raw.columns]
    _refuse_missing_columns(raw, path)
    out = _identity_columns(raw, path)
    ohms = _resistances_ohm(raw, path)
    out["resistance_ohm"] = ohms
    out["resistance_label"] = [resistance_label(r) for r in ohms]
    out["cycle"] = _cycle_column(raw, path)
    for column in PARAMETER_COLUMNS:
        out[column] = (
            _numeric_column(raw, column, path, allow_empty=True)
            if column in raw.columns
            else np.nan
        )
    _refuse_missing_parameters(raw, out, path)
    if ranges is not None:
        warn_manifest_ranges(out, ranges, path, raw.attrs.get("lines"))
    out["trace_path"] = trace_paths(
        list(out["path"]), path, allow_outside, lambda i: _where(raw, i, "path")
    )
    if check_files:
        _refuse_missing_files(raw, out["trace_path"], path)
    _refuse_duplicate_paths(raw, out["trace_path"], path)
    # extra columns are kept and ignored; the derived ones are always recomputed
    for column in (c for c in raw.columns if c not in MANIFEST_COLUMNS and c not in out.columns):
        out[column] = raw[column]
    out = out.reset_index(drop=True)
    out.attrs["lines"] = raw.attrs.get("lines")
    return out


def _refuse_missing_columns(raw: pd.DataFrame, path: Path) -> None:
    """A manifest lacking a required column, or without any row, is an error."""
    missing = [c for c in MANIFEST_REQUIRED if c not in raw.columns]
    if missing:
        raise _fail(
            path, f"columns {missing}", f"missing; the manifest needs {list(MANIFEST_REQUIRED)}"
        )
    if raw.empty:
        raise _fail(path, "rows", "expected at least one trace")


def _identity_columns(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The stripped text columns ``trace_id, path, device_id, protocol``: each non-empty, the
    ids unique, the protocols known (the first offending row named otherwise)."""
    out = pd.DataFrame(index=raw.index)
    for column in ("trace_id", "path", "device_id", "protocol"):
        text = raw[column].astype(str).str.strip()
        empty = text == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise _fail(path, _where(raw, i, column), "expected a non-empty value")
        out[column] = text
    dup = out["trace_id"].duplicated(keep=False)
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy()) + 1).tolist()
        raise _fail(
            path,
            f"rows {rows}, column 'trace_id'",
            f"expected unique ids, {out['trace_id'][dup].iloc[0]!r} repeats",
        )
    unknown = ~out["protocol"].isin(PROTOCOLS)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise _fail(
            path,
            _where(raw, i, "protocol"),
            f"expected one of {list(PROTOCOLS)}, got {out['protocol'].iloc[i]!r}",
        )
    return out


def _resistances_ohm(raw: pd.DataFrame, path: Path) -> list[float]:
    """The parsed ``resistance_ohm`` column (inf for open), naming the first unreadable row."""
    ohms = []
    for i, value in enumerate(raw["resistance_ohm"]):
        try:
            ohms.append(parse_resistance(value))
        except ValueError as err:
            raise _fail(path, _where(raw, i, "resistance_ohm"), str(err)) from None
    return ohms


def _cycle_column(raw: pd.DataFrame, path: Path) -> pd.Series | int:
    """The optional ``cycle`` column as non-negative integers (empty -> 0; 0 if absent)."""
    if "cycle" not in raw.columns:
        return 0
    cycle = _numeric_column(raw, "cycle", path, allow_empty=True).fillna(0.0)
    if not np.all(cycle == np.round(cycle)) or (cycle < 0).any():
        i = int(np.flatnonzero(((cycle != np.round(cycle)) | (cycle < 0)).to_numpy())[0])
        raise _fail(path, _where(raw, i, "cycle"), "expected a non-negative integer")
    return cycle.astype(int)


def _refuse_missing_parameters(raw: pd.DataFrame, out: pd.DataFrame, path: Path) -> None:
    """Every row must give the non-zero parameters its protocol needs (PROTOCOL_PARAMETERS)."""
    for protocol, needed in PROTOCOL_PARAMETERS.items():
        rows = out["protocol"] == protocol
        for column in needed:
            bad = rows & ~(out[column].abs() > 0)
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise _fail(
                    path, _where(raw, i, column), f"protocol {protocol!r} needs a non-zero number"
                )


def _refuse_missing_files(raw: pd.DataFrame, trace_paths: pd.Series, path: Path) -> None:
    """Every trace file the manifest names must exist (the first missing one is named)."""
    exists = np.array([os.path.isfile(p) for p in trace_paths])
    if not exists.all():
        i = int(np.flatnonzero(~exists)[0])
        raise _fail(path, _where(raw, i, "path"), f"trace file {trace_paths.iloc[i]} not found")


def _refuse_duplicate_paths(raw: pd.DataFrame, trace_paths: pd.Series, manifest: Path) -> None:
    """Two rows naming one file are an error unless every such row says why (``duplicate_reason``)."""
    # a Parquet store part holds many traces, so its rows share the path by design
    dup = (trace_paths.duplicated(keep=False) & ~trace_paths.map(is_stored)).to_numpy()
    if not dup.any():
        return
    reason = (
        raw["duplicate_reason"].astype(str).str.strip()
        if "duplicate_reason" in raw.columns
        else None
    )
    unexplained = dup & (reason.eq("").to_numpy() if reason is not None else True)
    if unexplained.any():
        i = int(np.flatnonzero(unexplained)[0])
        same = (np.flatnonzero(trace_paths.eq(trace_paths.iloc[i]).to_numpy()) + 1).tolist()
        raise _fail(
            manifest,
            _where(raw, i, "path"),
            f"rows {same} name the same file {trace_paths.iloc[i]}; each trace needs its own file, or "
            "every such row a non-empty 'duplicate_reason' saying why one file serves several rows",
        )


def slip_hint(ratio: float, unit: str = "") -> str:
    """Name the unit slip that a ratio ``trace / manifest`` (or ``found / plausible``) of about a
    thousand most likely is; anything else is reported as the factor seen."""
    if not math.isfinite(ratio) or ratio <= 0:
        return "check the column's unit"
    near = {f: abs(math.log10(ratio / f)) < 0.6 for f in (1e3, 1e6, 1e-3, 1e-6)}
    if unit in ("Hz", "V/s"):  # per-time quantities: time stamps written in ms shrink them 1000x
        if near[1e-3]:
            return "x0.001: time_s in ms?"
        if near[1e3]:
            return f"x1000: the manifest's {unit} per millisecond, or time_s in ks?"
    elif unit:
        if near[1e3]:
            return f"x1000: the trace in m{unit} where {unit} is expected?"
        if near[1e6]:
            return f"x1e6: the trace in µ{unit} where {unit} is expected?"
        if near[1e-3]:
            return f"x0.001: the manifest value in m{unit} (1 for 1 m{unit})?"
        if near[1e-6]:
            return f"x1e-6: the manifest value in µ{unit}?"
    return f"off by x{ratio:.3g}: check the column's unit"


def _range_hint(value: float, low: float, high: float, unit: str) -> str:
    """The unit slip that would bring ``value`` (a magnitude outside ``[low, high]``) into range."""
    if value > high:
        for factor, prefix in ((1e3, "m"), (1e6, "µ")):
            if low <= value / factor <= high:
                return f"{prefix}{unit} written as {unit}? ({value:g} {prefix}{unit} = {value / factor:g} {unit})"
    elif value > 0:
        for factor, prefix in ((1e3, "k"), (1e6, "M")):
            if low <= value * factor <= high:
                return f"converted to {unit} once too often, or written in {prefix}{unit}?"
    return f"check the unit ({unit})"


def _unit(column: str) -> str:
    return {"resistance_ohm": "ohm", "sweep_rate_V_per_s": "V/s"}.get(
        column, column.rsplit("_", 1)[-1]
    )


def warn_manifest_ranges(
    manifest: pd.DataFrame,
    ranges: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    lines: Sequence[int] | None = None,
) -> list[str]:
    """Warn for each manifest parameter outside its plausible ``[low, high]`` (inclusive bounds).

    ``ranges`` comes from config ``traces.plausible.manifest``; the bounds are deliberate (e.g. a
    1 A pulse amplitude is outside ``[1e-9, 0.1]`` and reported, where a strict ``> 1`` let it
    through). Returns the messages.
    """
    messages = []
    for column, (low, high) in ranges.items():
        values = manifest[column].to_numpy(dtype=float)
        magnitude = np.abs(values) if column != "resistance_ohm" else values
        bad = np.isfinite(magnitude) & ((magnitude < low) | (magnitude > high))
        for i in np.flatnonzero(bad)[:5]:
            value = float(values[i])
            line = int(lines[i]) if lines is not None and i < len(lines) else i + 2
            if column == "resistance_ohm" and value < low:
                hint = "resistances are in ohm, not kOhm"
            else:
                hint = _range_hint(abs(value), low, high, _unit(column))
            messages.append(
                f"{path}: row {i + 1} (line {line}), column {column!r}: {value:g} is outside the plausible "
                f"range [{low:g}, {high:g}] (config traces.plausible.manifest): {hint}"
            )
    for message in messages:
        warnings.warn(message, SuspiciousInputWarning, stacklevel=3)
    return messages


def read_trace(path: str | os.PathLike, export_format: ExportFormat | None = None) -> pd.DataFrame:
    """Read and validate one trace CSV (``time_s``, ``current_A``, ``voltage_V`` numeric, finite,
    time strictly increasing, a line end after the last row). Extra columns are kept.

    With an ``export_format`` (:class:`fmes.data.instruments.ExportFormat`) that is not the contract,
    the file is an instrument export: it is read and converted by
    :func:`fmes.data.instruments.read_export` and then validated the same way.
    """
    path = Path(path)
    if export_format is not None and not export_format.is_contract:
        _refuse_truncated(path)
        raw = read_export(path, export_format)
        first = export_format.first_data_line  # the export reader drops blank lines
        raw.attrs["lines"] = LineNumbers(range(first, first + len(raw)))
    else:
        raw = _read_csv(path, "trace", require_final_newline=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in TRACE_COLUMNS if c not in raw.columns]
    if missing:
        raise _fail(path, f"columns {missing}", f"missing; a trace needs {list(TRACE_COLUMNS)}")
    if len(raw) < 2:
        raise _fail(path, "rows", "expected at least two samples")
    out = raw.copy()
    for column in TRACE_COLUMNS:
        out[column] = _numeric_column(raw, column, path, allow_empty=False)
    step = np.diff(out["time_s"].to_numpy())
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise _fail(
            path,
            _where(raw, i, "time_s"),
            f"expected time strictly increasing, got {out['time_s'].iloc[i]!r} after {out['time_s'].iloc[i - 1]!r}",
        )
    return out


def check_trace_plausibility(
    trace: pd.DataFrame | Mapping[str, np.ndarray],
    protocol: str,
    ranges: Mapping[str, Any],
    path: str | os.PathLike,
    drive: float | None = None,
    *,
    lines: Sequence[int] | None = None,
) -> None:
    """Refuse a trace whose measured values no device of this kind gives (a unit slip).

    ``ranges`` is config ``traces.plausible``: ``pulse`` (every current-driven protocol) and
    ``iv_sweep`` give ``[low, high]`` of the peak ``|current_A|`` and ``|voltage_V|``;
    ``duration_s`` bounds the trace's length. Every measured column of every protocol is
    checked; the error names the file, the row and line of the peak, and the likely slip.
    ``drive`` (the manifest's ``v_max_V`` or ``amplitude_A``) lets it recognise swapped columns.
    ``trace`` may be the columns as arrays; ``lines`` is the file line of each row (default: a
    frame's ``attrs["lines"]``, as :func:`read_trace` sets it; else the row + 2).
    """
    family = "iv_sweep" if protocol == "iv_sweep" else "pulse"
    if lines is None:
        lines = getattr(trace, "attrs", {}).get("lines")
    magnitudes = {
        column: np.abs(np.asarray(trace[column], dtype=float))
        for column in ("current_A", "voltage_V")
    }
    checks = [(column, magnitudes[column], *ranges[family][column]) for column in magnitudes]
    t = np.asarray(trace["time_s"], dtype=float)
    checks.append(("time_s", np.array([0.0, t[-1] - t[0]]), *ranges["duration_s"]))
    # the measured column peaking at the manifest's drive level (v_max_V of a sweep, amplitude_A
    # of a pulse) means the columns are swapped, not a unit slip
    measured = "current_A" if family == "iv_sweep" else "voltage_V"
    peak_measured = float(np.max(magnitudes[measured]))
    swapped = drive is not None and abs(peak_measured - abs(drive)) <= 0.1 * abs(drive)
    for column, magnitude, low, high in checks:
        i = int(np.argmax(magnitude))
        peak = float(magnitude[i])
        if low <= peak <= high:
            continue
        if swapped and column != "time_s":
            hint = f"current_A and voltage_V swapped? ({measured} peaks at the manifest's drive level {drive:g})"
        else:
            hint = (
                _range_hint(peak, low, high, _unit(column))
                if peak > 0
                else "the column is all zero"
            )
        what = "the trace lasts" if column == "time_s" else f"peak |{column}| is"
        row = len(t) - 1 if column == "time_s" else i
        line = int(lines[row]) if lines is not None and row < len(lines) else row + 2
        raise _fail(
            path,
            f"row {row + 1} (line {line}), column {column!r}",
            f"{what} {peak:.4g} {_unit(column)}, outside the plausible range [{low:g}, {high:g}] for protocol {protocol!r} "
            f"(config traces.plausible): {hint}",
        )


def write_dataset(
    manifest: pd.DataFrame, traces: dict[str, pd.DataFrame], folder: str | os.PathLike
) -> Path:
    """Write a manifest and its trace CSVs in the raw contract; returns the manifest path.

    ``manifest`` holds the contract columns; its ``path`` column is relative to ``folder``.
    """
    folder = Path(folder)
    for trace_id, path in zip(manifest["trace_id"], manifest["path"], strict=True):
        write_csv(traces[trace_id][list(TRACE_COLUMNS)], folder / path, float_format="%.9g")
    return write_csv(manifest[manifest_columns(manifest)], folder / "manifest.csv")


def manifest_columns(manifest: pd.DataFrame) -> list[str]:
    """The order a manifest is written in: its contract columns in :data:`MANIFEST_COLUMNS`
    order, then its extra columns (kept) in their own."""
    columns = [c for c in MANIFEST_COLUMNS if c in manifest.columns]
    return columns + [c for c in manifest.columns if c not in MANIFEST_COLUMNS]


def working_manifest(manifest: pd.DataFrame, folder: str | os.PathLike) -> pd.DataFrame:
    """The manifest to store in ``folder``: ``path`` relative to it, no absolute ``trace_path``.

    Relative paths keep a results folder relocatable (two clean runs in two folders give the
    same bytes); :func:`read_working_manifest` resolves them again at read time.
    """
    folder = Path(folder).resolve()
    out = manifest.drop(columns=["trace_path"])
    out["path"] = [Path(os.path.relpath(p, folder)).as_posix() for p in manifest["trace_path"]]
    return out


def resolve_trace_paths(paths: Iterable[str], manifest_path: str | os.PathLike) -> list[str]:
    """Absolute trace paths from a working manifest's relative ``path`` column (each distinct
    path resolved once: a store part is named by many rows)."""
    base = Path(manifest_path).parent.resolve()
    paths = list(paths)
    resolved = {p: str((base / p).resolve()) for p in dict.fromkeys(paths)}
    return [resolved[p] for p in paths]


def read_working_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read a manifest written by :func:`working_manifest` (already validated, so no warnings
    and its paths may leave its folder); ``trace_path`` is resolved from ``path`` again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SuspiciousInputWarning)
        manifest = read_manifest(path, check_files=False, allow_outside=True)
    manifest.attrs.clear()  # line numbers of the file are of no use downstream
    return manifest
