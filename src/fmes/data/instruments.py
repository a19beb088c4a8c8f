"""Instrument exports into the raw-trace contract: column mapping, units, separators, decimal mark.

Source-measure units, potentiostats and DAQs write CSV-like files that differ from the contract
(``time_s``, ``current_A``, ``voltage_V`` in SI, comma-separated, one header line) in a few
predictable ways: metadata lines above the header, ``;`` or tab separators, a decimal comma,
other column names and order, extra columns, and scaled units (mA, ms, mV). An
:class:`ExportFormat` says how one family of files is laid out; :func:`read_export` reads such a
file with :func:`pandas.read_csv`'s own options (``skiprows``/``header``, ``sep``, ``decimal``,
``encoding``, ``usecols``) and returns the contract columns in SI units. Cells that are not
numbers raise :class:`~fmes.data.traces.TraceContractError` naming the file, the line and the column.

The format comes from the config (``traces.export`` for every raw trace; ``traces.export_formats``
holds named alternatives that a manifest row picks in its ``export_format`` column). The defaults
describe the contract itself, for which :attr:`ExportFormat.is_contract` is true and the contract
reader is used unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmes.workflow.manifest import TRACE_COLUMNS, TraceContractError

__all__ = [
    "CHANNELS",
    "UNIT_SCALES",
    "ExportFormat",
    "export_format_for_row",
    "read_export",
]

#: Contract column of each channel.
CHANNELS: dict[str, str] = {"time": "time_s", "current": "current_A", "voltage": "voltage_V"}

#: Unit -> factor to the SI unit of the channel (``µ`` and ``u`` both mean micro).
UNIT_SCALES: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0, "h": 3600.0},
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "nA": 1e-9},
    "voltage": {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6},
}


@dataclass(frozen=True)
class ExportFormat:
    """Layout of one family of trace files.

    ``columns`` maps each channel (``time``, ``current``, ``voltage``) to its column: a header
    name (str) or, for files without a header (``header_line = 0``), a 1-based column number.
    ``units`` maps each channel to a unit of :data:`UNIT_SCALES`. ``header_line`` is the 1-based
    line that holds the column names; every line above it (instrument metadata) is skipped.
    """

    columns: Mapping[str, str | int]
    units: Mapping[str, str]
    header_line: int = 1
    separator: str = ","
    decimal: str = "."
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        for channel in CHANNELS:
            if channel not in self.columns:
                raise ValueError(f"export format: no column given for channel {channel!r}")
            unit = self.units.get(channel)
            if unit not in UNIT_SCALES[channel]:
                raise ValueError(
                    f"export format: unit of {channel!r} is {unit!r}; expected one of {list(UNIT_SCALES[channel])}"
                )
            column = self.columns[channel]
            if self.header_line == 0 and not (isinstance(column, int) and column >= 1):
                raise ValueError(
                    f"export format: without a header line (header_line 0), column of {channel!r} must be a 1-based number, got {column!r}"
                )
        if self.header_line < 0:
            raise ValueError(f"export format: header_line must be >= 0, got {self.header_line}")
        if self.separator == self.decimal:
            raise ValueError(
                f"export format: separator and decimal mark are both {self.separator!r}"
            )

    @classmethod
    def from_config(cls, section: Mapping[str, object]) -> ExportFormat:
        """From a validated config section (``traces.export`` or an entry of
        ``traces.export_formats``): ``{time: {column, unit}, current: ..., voltage: ...,
        header_line, separator, decimal, encoding}``."""
        return cls(
            columns={ch: section[ch]["column"] for ch in CHANNELS},
            units={ch: section[ch]["unit"] for ch in CHANNELS},
            header_line=int(section["header_line"]),
            separator=str(section["separator"]),
            decimal=str(section["decimal"]),
            encoding=str(section["encoding"]),
        )

    @property
    def is_contract(self) -> bool:
        """True when the files are already in the contract (read by :func:`fmes.data.traces.read_trace`)."""
        return (
            dict(self.columns) == CHANNELS
            and all(
                self.units[ch] == unit
                for ch, unit in (("time", "s"), ("current", "A"), ("voltage", "V"))
            )
            and (self.header_line, self.separator, self.decimal, self.encoding)
            == (1, ",", ".", "utf-8")
        )

    @property
    def first_data_line(self) -> int:
        """1-based line number of the first data row (error messages count from it)."""
        return self.header_line + 1


def export_format_for_row(
    row: Mapping[str, object], default: ExportFormat, named: Mapping[str, ExportFormat]
) -> ExportFormat:
    """The format of one manifest row: its ``export_format`` column if set, else ``default``."""
    name = str(row.get("export_format", "") or "").strip()
    if not name or name.lower() == "nan":
        return default
    if name not in named:
        raise TraceContractError(
            f"manifest row {row.get('trace_id')!r}, column 'export_format': unknown format {name!r}; "
            f"expected one of {sorted(named)} (config key traces.export_formats)"
        )
    return named[name]


def _available_columns(path: Path, fmt: ExportFormat) -> list[str]:
    try:
        header = pd.read_csv(
            path, sep=fmt.separator, skiprows=fmt.header_line - 1, nrows=0, encoding=fmt.encoding
        )
        return [str(c) for c in header.columns]
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        return []


def read_export(path: str | os.PathLike, fmt: ExportFormat) -> pd.DataFrame:
    """Read one exported trace; return ``time_s``, ``current_A``, ``voltage_V`` in SI units.

    Empty cells come back as NaN (the contract reader rejects them, naming the line); a cell that
    is not a number in the declared decimal convention raises here, naming file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceContractError(f"{path}: trace file not found")
    if fmt.header_line == 0:
        usecols = [int(fmt.columns[ch]) - 1 for ch in CHANNELS]
        header: int | None = None
        skiprows = 0
    else:
        usecols = [str(fmt.columns[ch]) for ch in CHANNELS]
        header = 0
        skiprows = fmt.header_line - 1
    try:
        frame = pd.read_csv(
            path,
            sep=fmt.separator,
            decimal=fmt.decimal,
            skiprows=skiprows,
            header=header,
            usecols=usecols,
            encoding=fmt.encoding,
            index_col=False,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except UnicodeDecodeError as err:
        raise TraceContractError(
            f"{path}: not readable as {fmt.encoding!r} text ({err}); set the export encoding"
        ) from None
    except ValueError as err:  # usecols not found, or a parser error (ParserError is a ValueError)
        if isinstance(err, pd.errors.ParserError | pd.errors.EmptyDataError):
            raise TraceContractError(
                f"{path}: not readable with separator {fmt.separator!r} from header line {fmt.header_line} ({err})"
            ) from None
        if fmt.header_line == 0:
            raise TraceContractError(
                f"{path}: expected at least {max(usecols) + 1} columns ({err})"
            ) from None
        missing = [c for c in usecols if c not in _available_columns(path, fmt)]
        raise TraceContractError(
            f"{path}: line {fmt.header_line} (header), columns {missing}: not found; the header has "
            f"{_available_columns(path, fmt)} (separator {fmt.separator!r}; check traces.export)"
        ) from None
    out = pd.DataFrame(index=frame.index)
    for channel, source in zip(CHANNELS, usecols, strict=True):
        values = frame[source]
        if not pd.api.types.is_numeric_dtype(values):  # a cell pandas could not read as a number
            text = values.astype(str).str.strip()
            numbers = pd.to_numeric(
                text.str.replace(fmt.decimal, ".", regex=False), errors="coerce"
            )
            # with a decimal comma, a '.' may be a thousands separator: never guess
            foreign = text.str.contains(".", regex=False) if fmt.decimal != "." else False
            bad = (numbers.isna() | foreign) & values.notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                name = fmt.columns[channel]
                raise TraceContractError(
                    f"{path}: row {i + 1} (line {i + fmt.first_data_line}), column {name!r}: expected a number "
                    f"with decimal mark {fmt.decimal!r}, got {values.iloc[i]!r}"
                )
            values = numbers
        out[CHANNELS[channel]] = values.astype(float) * UNIT_SCALES[channel][fmt.units[channel]]
    return out[list(TRACE_COLUMNS)]
