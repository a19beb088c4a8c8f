"""Whole-data-set checks: each trace against its manifest row, and every check in order.

Kept apart from :mod:`fmes.data.traces` (the contract reader, imported by every stage) because the
manifest/trace cross-checks use the analyses' own pulse detection, which the network stages
must not depend on.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmes.analysis.pulses import NoPulsesError, read_pulses
from fmes.core.io import write_csv
from fmes.data.instruments import ExportFormat
from fmes.data.store import PartWriter, iter_traces
from fmes.data.traces import (
    TRACE_COLUMNS,
    SuspiciousInputWarning,
    TraceContractError,
    check_trace_plausibility,
    read_manifest,
    read_trace,
    slip_hint,
)
from fmes.workflow.planning import is_stored

__all__ = [
    "CHECKED_COLUMNS",
    "TraceKeeper",
    "check_stored_part",
    "check_trace",
    "check_trace_against_manifest",
    "manifest_disagreements",
    "validate_dataset",
]

# One row per trace checked by check_stored_part (a scattered validation job): its manifest row,
# its id (so a stale chunk result is caught), its sample count and its disagreements.
CHECKED_COLUMNS = ("manifest_row", "trace_id", "n_samples", "disagreements")


def _differs(measured: float, declared: float, tolerance: float, slack: float = 0.0) -> bool:
    """Whether ``measured`` is off ``declared`` by more than relative ``tolerance`` plus ``slack``
    (NaN differs)."""
    return not abs(measured - declared) <= tolerance * abs(declared) + slack


def _sweep_disagreements(
    t: np.ndarray,
    current: np.ndarray,
    voltage: np.ndarray,
    row: Mapping[str, Any],
    tolerance: float,
) -> list[str]:
    """An I-V sweep's disagreements: its peak voltage (or swapped columns) and its sweep rate."""
    found: list[str] = []
    v_max = float(row["v_max_V"])
    peak_v = float(np.max(np.abs(voltage)))
    if _differs(peak_v, v_max, tolerance):
        hint = f"trace/manifest {slip_hint(peak_v / v_max, 'V')}"
        if abs(float(np.max(np.abs(current))) - v_max) <= tolerance * v_max:
            return [
                f"voltage_V peaks at {peak_v:.4g} V, manifest v_max_V = {v_max:g} V, but current_A "
                "peaks at v_max_V: current_A and voltage_V swapped?"
            ]
        found.append(f"voltage_V peaks at {peak_v:.4g} V, manifest v_max_V = {v_max:g} V ({hint})")
    rate = float(np.median(np.abs(np.diff(voltage)) / np.diff(t)))
    declared = float(row["sweep_rate_V_per_s"])
    if _differs(rate, declared, tolerance):
        found.append(
            f"the voltage sweeps at {rate:.4g} V/s, manifest sweep_rate_V_per_s = {declared:g} "
            f"(trace/manifest {slip_hint(rate / declared, 'V/s')})"
        )
    return found


def _pulse_count_disagreement(n: int, row: Mapping[str, Any]) -> list[str]:
    """The detected pulse count ``n`` against the count the protocol and ``n_pulses`` imply."""
    protocol = row["protocol"]
    expected_n = {
        "pulse": 1,
        "ppf": 2,
        "pulse_train": row["n_pulses"],
        "ltp_ltd": 2 * row["n_pulses"],
    }[protocol]
    if n == int(expected_n):
        return []
    return [
        f"the trace holds {n} current pulses, the manifest declares {int(expected_n)}"
        + (
            f" (n_pulses = {int(row['n_pulses'])})"
            if protocol in ("pulse_train", "ltp_ltd")
            else ""
        )
    ]


def _amplitude_disagreement(
    pulses: Mapping[str, np.ndarray], voltage: np.ndarray, amplitude: float, tolerance: float
) -> list[str]:
    """The median detected pulse level against ``amplitude_A``, hinting at swapped columns when
    the voltage peaks at the declared amplitude."""
    level = float(np.median(np.abs(pulses["amplitude_A"])))
    if not _differs(level, amplitude, tolerance):
        return []
    if abs(float(np.max(np.abs(voltage))) - amplitude) <= tolerance * amplitude:
        hint = "voltage_V peaks at the manifest amplitude: current_A and voltage_V swapped?"
    else:
        hint = f"trace/manifest {slip_hint(level / amplitude, 'A')}"
    return [
        f"current pulses of {level:.4g} A in the trace, manifest amplitude_A = {amplitude:g} A ({hint})"
    ]


def _width_disagreement(
    t: np.ndarray, pulses: Mapping[str, np.ndarray], row: Mapping[str, Any], tolerance: float
) -> list[str]:
    """The median width of the complete pulses against ``width_s``, with two sampling steps
    (at the onsets) of slack since an edge is only known to within a sample."""
    complete = pulses["complete"]
    if not complete.any():
        return []
    width = float(np.median(pulses["width_s"][complete]))
    declared = float(row["width_s"])
    onsets = pulses["onset_s"][complete]
    slack = 2 * float(np.max(np.diff(t)[np.searchsorted(t, onsets) - 1]))
    if not _differs(width, declared, tolerance, slack):
        return []
    return [
        f"current pulses last {width:.4g} s, manifest width_s = {declared:g} s "
        f"(trace/manifest {slip_hint(width / declared, 's')})"
    ]


def _timing_disagreements(
    t: np.ndarray, pulses: Mapping[str, np.ndarray], row: Mapping[str, Any], tolerance: float
) -> list[str]:
    """The PPF pair's interval against ``interval_s``, or a train's repetition rate against
    ``frequency_Hz`` (when the pulse count lets them be measured)."""
    protocol = row["protocol"]
    onsets = pulses["onset_s"]
    n = onsets.size
    found: list[str] = []
    if protocol == "ppf" and n == 2:
        step = float(np.median(np.diff(t)))
        interval = float(onsets[1] - onsets[0])
        declared = float(row["interval_s"])
        if _differs(interval, declared, tolerance, 2 * step):
            found.append(
                f"the two pulses start {interval:.4g} s apart, manifest interval_s = {declared:g} s "
                f"(trace/manifest {slip_hint(interval / declared, 's')})"
            )
    if protocol in ("pulse_train", "ltp_ltd") and n >= 3:
        period = float(np.median(np.diff(onsets)))
        declared = float(row["frequency_Hz"])
        if _differs(1.0 / period, declared, tolerance):
            found.append(
                f"pulses repeat at {1.0 / period:.4g} Hz, manifest frequency_Hz = {declared:g} "
                f"(trace/manifest {slip_hint(1.0 / (declared * period), 'Hz')})"
            )
    return found


def _pulse_disagreements(
    t: np.ndarray,
    current: np.ndarray,
    voltage: np.ndarray,
    row: Mapping[str, Any],
    tolerance: float,
) -> list[str]:
    """A pulse protocol's disagreements: no pulses at all (with a swapped-columns hint), else
    count, amplitude, width and timing in that order."""
    amplitude = abs(float(row["amplitude_A"]))
    try:
        # the pulse table's columns (arrays): framing a table per trace costs more than the checks
        pulses = read_pulses(t, current).columns
    except NoPulsesError as err:
        peak = float(np.max(np.abs(current)))
        hint = ""
        if abs(float(np.max(np.abs(voltage))) - amplitude) <= tolerance * amplitude:
            hint = "; voltage_V peaks at the manifest amplitude: current_A and voltage_V swapped?"
        return [f"current_A holds no pulses (peak |current_A| {peak:.4g} A; {err}){hint}"]
    return (
        _pulse_count_disagreement(pulses["onset_s"].size, row)
        + _amplitude_disagreement(pulses, voltage, amplitude, tolerance)
        + _width_disagreement(t, pulses, row, tolerance)
        + _timing_disagreements(t, pulses, row, tolerance)
    )


def manifest_disagreements(
    trace: pd.DataFrame | Mapping[str, np.ndarray], row: Mapping[str, Any], tolerance: float
) -> list[str]:
    """What the trace measures that its manifest row contradicts, in words (empty if none).

    Every parameter the trace can confirm is compared: pulse count, amplitude, width, PPF
    interval and train frequency (pulse protocols, from the same edge detection the analyses
    use), peak voltage and sweep rate (I-V sweeps). Relative ``tolerance``; widths and times
    also allow two sampling steps, since an edge is only known to within a sample. ``trace``
    may be the columns as arrays.
    """
    t = np.asarray(trace["time_s"], dtype=float)
    current = np.asarray(trace["current_A"], dtype=float)
    voltage = np.asarray(trace["voltage_V"], dtype=float)
    if row["protocol"] == "iv_sweep":
        return _sweep_disagreements(t, current, voltage, row, tolerance)
    return _pulse_disagreements(t, current, voltage, row, tolerance)


def check_trace(
    row: Mapping[str, Any], trace: pd.DataFrame, plausible: Mapping[str, Any], tolerance: float
) -> list[str]:
    """One trace's checks: plausibility (raises :class:`TraceContractError` naming the file),
    then its :func:`manifest_disagreements` with its manifest ``row``, returned."""
    drive = row["v_max_V"] if row["protocol"] == "iv_sweep" else row["amplitude_A"]
    # each column taken from the frame once (a column look-up costs more than some checks)
    columns = {c: trace[c].to_numpy(dtype=float) for c in TRACE_COLUMNS}
    check_trace_plausibility(
        columns,
        row["protocol"],
        plausible,
        row["trace_path"],
        drive,
        lines=trace.attrs.get("lines"),
    )
    return manifest_disagreements(columns, row, tolerance)


def check_stored_part(
    manifest: pd.DataFrame,
    part_path: str | os.PathLike,
    *,
    plausible: Mapping[str, Any],
    tolerance: float,
) -> pd.DataFrame:
    """:func:`check_trace` on every trace of one store part: the work of one scattered
    validation job. ``manifest`` is the whole manifest as :func:`fmes.data.traces.read_manifest`
    returns it; the rows whose ``trace_path`` is ``part_path`` are checked, reading the part
    one row group at a time. Returns one row per trace (:data:`CHECKED_COLUMNS`, in manifest
    order), which :func:`validate_dataset` takes as ``checked``."""
    # trace_path is resolved (symlinks followed) by read_manifest, so is the part's path here
    in_part = (manifest["trace_path"] == str(Path(part_path).resolve())).to_numpy()
    rows = manifest.assign(manifest_row=np.arange(len(manifest), dtype=np.int64))[in_part]
    records = [
        (
            int(row["manifest_row"]),
            str(row["trace_id"]),
            len(trace),
            check_trace(row, trace, plausible, tolerance),
        )
        for row, trace in iter_traces(rows)
    ]
    checked = pd.DataFrame.from_records(records, columns=list(CHECKED_COLUMNS))
    checked = checked.astype({"manifest_row": np.int64, "trace_id": str, "n_samples": np.int64})
    return checked.sort_values("manifest_row", ignore_index=True)


def validate_dataset(
    manifest_path: str | os.PathLike,
    *,
    plausible: Mapping[str, Any],
    tolerance: float,
    allow_outside: bool = False,
    traces: Callable[[pd.DataFrame], Iterable[tuple[Mapping[str, Any], pd.DataFrame]]]
    | None = None,
    on_trace: Callable[[Mapping[str, Any], pd.DataFrame], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    checked: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every check of a data set, in order: the manifest (contract, paths, duplicates; parameter
    ranges as warnings), then each trace (contract, plausibility), then each trace against its
    manifest row. Returns the manifest; raises :class:`TraceContractError` at the first broken
    file, or with every manifest/trace disagreement listed (row and trace named).

    ``traces(rows)`` yields ``(row, trace)`` for the manifest rows (which carry a
    ``manifest_row`` position); default: :func:`read_trace` on each ``trace_path`` (the
    workflow passes :func:`fmes.data.store.iter_traces` with the instrument-export formats).
    ``on_trace(row, trace)`` is called for each trace checked here (conversion, storage).
    ``checked``: rows already checked by scattered jobs (:func:`check_stored_part`, gathered);
    their traces are not read again and their disagreements are reported as if found here, so
    the result (or the error) is the single-job one.
    """
    manifest = read_manifest(
        manifest_path, allow_outside=allow_outside, ranges=plausible["manifest"]
    )
    lines = manifest.attrs.get("lines")
    rows = manifest.assign(manifest_row=range(len(manifest)))
    if traces is None:

        def traces(frame: pd.DataFrame) -> Iterable[tuple[Mapping[str, Any], pd.DataFrame]]:
            return ((row, read_trace(row["trace_path"])) for row in frame.to_dict("records"))

    found: list[tuple[int, list[str]]] = []
    n_checked = 0
    if checked is not None and len(checked):
        positions = checked["manifest_row"].to_numpy(dtype=np.int64)
        known = (positions >= 0) & (positions < len(manifest))
        if (
            not known.all()
            or len(np.unique(positions)) != len(positions)
            or not np.array_equal(
                manifest["trace_id"].to_numpy()[positions].astype(str),
                checked["trace_id"].to_numpy().astype(str),
            )
        ):
            raise TraceContractError(
                f"{manifest_path}: the scattered validation results do not match this manifest "
                "(rerun the validation chunks)"
            )
        found += [
            (int(i), list(m)) for i, m in zip(positions, checked["disagreements"], strict=True)
        ]
        rows = rows.drop(index=rows.index[positions])
        n_checked = len(positions)
    for done, (row, trace) in enumerate(traces(rows), start=n_checked + 1):
        found.append((int(row["manifest_row"]), check_trace(row, trace, plausible, tolerance)))
        if on_trace is not None:
            on_trace(row, trace)
        if progress is not None:
            progress(done, len(manifest))
    disagreements = []
    for i, messages in sorted(found, key=lambda item: item[0]):
        line = int(lines[i]) if lines is not None and i < len(lines) else i + 2
        path = manifest["trace_path"].iloc[i]
        disagreements += [f"row {i + 1} (line {line}), trace {path}: {m}" for m in sorted(messages)]
    if disagreements:
        shown = "\n  ".join(disagreements[:20])
        more = f"\n  ... and {len(disagreements) - 20} more" if len(disagreements) > 20 else ""
        raise TraceContractError(
            f"{manifest_path}: {len(disagreements)} manifest/trace disagreement(s) beyond "
            f"traces.manifest_tolerance = {tolerance:g}; fix the manifest or the trace:\n  {shown}{more}"
        )
    return manifest


def check_trace_against_manifest(
    trace: pd.DataFrame, row: pd.Series, path: str | os.PathLike, tolerance: float = 0.1
) -> list[str]:
    """:func:`manifest_disagreements`, each also raised as a :class:`SuspiciousInputWarning`
    naming the trace (the workflow turns them into one error; see ``workflow/scripts/validate_traces.py``)."""
    messages = manifest_disagreements(trace, row, tolerance)
    for message in messages:
        warnings.warn(f"{path}: {message}", SuspiciousInputWarning, stacklevel=2)
    return messages


class TraceKeeper:
    """What validation does with each checked trace: a large raw campaign's LTP/LTD traces go
    into the working store (converted once, so the analyses read each of them once, fast); an
    instrument export becomes a contract CSV. Remembers where each moved trace went."""

    def __init__(
        self,
        row_format: Callable[[Mapping], ExportFormat | None],
        store: PartWriter,
        converted_dir: Path,
        convert_to_store: bool,
    ) -> None:
        self.row_format, self.store, self.converted_dir = row_format, store, converted_dir
        self.convert_to_store = convert_to_store
        self.moved: dict[str, str] = {}  # trace_id -> new trace file (store part or CSV)
        self.counts = {"samples": 0, "converted": 0, "stored": 0}

    def __call__(self, row: Mapping, trace: pd.DataFrame) -> None:
        self.counts["samples"] += len(trace)
        fmt = self.row_format(row)
        if (
            self.convert_to_store
            and row["protocol"] == "ltp_ltd"
            and not is_stored(row["trace_path"])
        ):
            self.moved[row["trace_id"]] = str(self.store.add(row["trace_id"], trace).resolve())
            self.counts["stored"] += 1
        elif fmt is not None and not fmt.is_contract:
            target = self.converted_dir / f"{str(row['trace_id']).replace(os.sep, '_')}.csv"
            write_csv(trace[list(TRACE_COLUMNS)], target, float_format="%.9g")
            self.moved[row["trace_id"]] = str(target.resolve())
            self.counts["converted"] += 1

    def paths(self, manifest: pd.DataFrame) -> list[str]:
        """Each manifest row's trace file after validation."""
        return [
            self.moved.get(t, p)
            for t, p in zip(manifest["trace_id"], manifest["trace_path"], strict=True)
        ]
