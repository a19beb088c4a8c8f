"""The manifest half of the raw-trace contract (raw/README.md), in the Python standard library.

The columns, protocols, resistance labels and trace-path rule of ``manifest.csv`` are defined
here once. :func:`fmes.data.traces.read_manifest` (the full validation, with pandas) builds on them,
and :func:`manifest_rows` reads the few columns the workflow plans from (protocol, resistance
state, trace file) with the ``csv`` module: Snakemake builds its job graph from a raw manifest
without numpy or pandas (``snakemake --sdm conda`` starts from an environment holding Snakemake
alone). The trace files and every other column are checked by the validate_traces rule.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

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


class ManifestRow(NamedTuple):
    """What the workflow plans from one manifest row."""

    protocol: str
    resistance_label: str
    trace_path: str


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


def resistance_label(ohm: float) -> str:
    """Canonical label of a resistance state: integer ohm as text, or ``open``."""
    if math.isinf(ohm):
        return "open"
    return f"{ohm:.0f}" if float(ohm).is_integer() else f"{ohm:g}"


def fail(file: str | os.PathLike, where: str, expected: str) -> TraceContractError:
    """The contract error: ``<file>: <where>: <what was expected>``."""
    return TraceContractError(f"{file}: {where}: {expected}")


def row_where(i: int, line: int, column: str | None = None) -> str:
    """``row N (line L)[, column 'c']`` for data row ``i`` (0-based) on editor line ``line``."""
    return f"row {i + 1} (line {line})" + (f", column {column!r}" if column else "")


def trace_paths(
    paths: Sequence[str],
    manifest: str | os.PathLike,
    allow_outside: bool,
    where: Callable[[int], str],
) -> list[str]:
    """Absolute, resolved trace paths; refuse any outside the manifest's folder unless allowed
    (``where(i)`` names row ``i`` in the error)."""
    base = Path(manifest).parent.resolve()
    # each distinct path once: the rows of a trace-store part all name that part
    distinct = {text: (base / text).resolve() for text in dict.fromkeys(paths)}
    resolved = [distinct[text] for text in paths]
    if not allow_outside:
        for text, target in distinct.items():
            if os.path.isabs(text) or not target.is_relative_to(base):
                i = list(paths).index(text)
                kind = "is an absolute path" if os.path.isabs(text) else f"resolves to {target}"
                raise fail(
                    manifest,
                    where(i),
                    f"{text!r} {kind}, outside the manifest's folder {base} (symlinks followed); "
                    "give the trace's path relative to the manifest's folder, with the file inside it, so "
                    "the data travel together (or set traces.allow_paths_outside_manifest_folder: true)",
                )
    return [str(p) for p in resolved]


def manifest_rows(path: str | os.PathLike, *, allow_outside: bool = False) -> list[ManifestRow]:
    """Protocol, resistance label and resolved trace path of every row of the manifest ``path``.

    Checks what it reads (required columns, at least one row, a known protocol, a resistance,
    trace paths inside the manifest's folder unless ``allow_outside``) and raises
    :class:`TraceContractError` naming the file and row; the full contract is
    :func:`fmes.data.traces.read_manifest`'s.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceContractError(f"{path}: manifest file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise TraceContractError(f"{path}: not UTF-8 text ({err})") from None
    reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
    reader.fieldnames = [str(c).strip() for c in reader.fieldnames or []]
    missing = [c for c in MANIFEST_REQUIRED if c not in reader.fieldnames]
    if missing:
        raise fail(
            path, f"columns {missing}", f"missing; the manifest needs {list(MANIFEST_REQUIRED)}"
        )
    rows, lines = [], []
    for record in reader:  # blank lines are skipped, as pandas does
        rows.append(record)
        lines.append(reader.line_num)
    if not rows:
        raise fail(path, "rows", "expected at least one trace")
    planned = []
    for i, record in enumerate(rows):
        protocol = (record["protocol"] or "").strip()
        if protocol not in PROTOCOLS:
            raise fail(
                path,
                row_where(i, lines[i], "protocol"),
                f"expected one of {list(PROTOCOLS)}, got {protocol!r}",
            )
        try:
            label = resistance_label(parse_resistance(record["resistance_ohm"]))
        except ValueError as err:
            raise fail(path, row_where(i, lines[i], "resistance_ohm"), str(err)) from None
        planned.append((protocol, label))
    resolved = trace_paths(
        [(r["path"] or "").strip() for r in rows],
        path,
        allow_outside,
        lambda i: row_where(i, lines[i], "path"),
    )
    return [ManifestRow(p, label, t) for (p, label), t in zip(planned, resolved, strict=True)]
