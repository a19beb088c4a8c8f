"""Binary trace store: traces of large campaigns in Parquet part files, read chunk by chunk.

A store is a folder of ``part-NNNNN.parquet`` files. Each part holds whole traces in long form,
columns ``trace_id`` (dictionary-encoded text), ``time_s``, ``current_A``, ``voltage_V``
(float64, the samples of one trace contiguous and in time order). A manifest row of a stored
trace keeps the trace contract's columns; its ``path`` names the part file that holds it, so the
manifest checks (file exists, relative to the manifest) hold unchanged, and the trace is found
in the part by its ``trace_id``. Measured CSV stays the interchange contract; the store is the
pipeline's own working format (docs/trace_store.md says why Parquet).

Writes are atomic and byte-reproducible: fixed writer settings, no timestamps or pandas
metadata, samples written as given. Reading never holds more than one part in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fmes.io import write_parquet
from fmes.traces import TRACE_COLUMNS, TraceContractError, read_trace

__all__ = [
    "STORE_SUFFIX",
    "PartWriter",
    "apply_to_trace",
    "chunk_bounds",
    "check_trace_samples",
    "is_stored",
    "iter_traces",
    "part_name",
    "read_part",
    "read_results",
    "write_part",
    "write_results",
]

STORE_SUFFIX = ".parquet"

# Fixed writer settings: the bytes of a part depend on the samples only. Byte-stream-split
# encoding lays out the bytes of each float by significance, which zstd compresses far better
# than plain doubles (noisy measurements defeat dictionary encoding, so it is off for them).
_WRITE_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=["trace_id"],
    use_byte_stream_split=list(TRACE_COLUMNS),
    write_statistics=["trace_id"],
    store_schema=False,
    version="2.6",
    data_page_version="1.0",
)
_SCHEMA = pa.schema(
    [("trace_id", pa.dictionary(pa.int32(), pa.string()))] + [(c, pa.float64()) for c in TRACE_COLUMNS]
)


def part_name(index: int) -> str:
    """File name of part ``index`` of a store."""
    return f"part-{index:05d}{STORE_SUFFIX}"


def is_stored(path: str | os.PathLike) -> bool:
    """True if a manifest ``path`` points into a trace store (a Parquet part), not a CSV."""
    return str(path).endswith(STORE_SUFFIX)


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive chunks of at most ``chunk_size`` items (>= 1 chunk)."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    n_chunks = max(1, math.ceil(n_items / chunk_size))
    return [(k * chunk_size, min(n_items, (k + 1) * chunk_size)) for k in range(n_chunks)]


def write_part(
    trace_ids: Iterable[str],
    time_s: Iterable[np.ndarray],
    current_A: Iterable[np.ndarray],
    voltage_V: Iterable[np.ndarray],
    path: str | os.PathLike,
) -> Path:
    """Write traces (one array per trace in each sample column) as one part file, atomically."""
    ids = list(trace_ids)
    columns = [list(time_s), list(current_A), list(voltage_V)]
    lengths = np.array([np.asarray(t).size for t in columns[0]], dtype=np.int64)
    if any(len(c) != len(ids) for c in columns):
        raise ValueError("write_part: one time/current/voltage array per trace id expected")
    for name, column in zip(TRACE_COLUMNS, columns, strict=True):
        if any(np.asarray(x).size != n for x, n in zip(column, lengths, strict=True)):
            raise ValueError(f"write_part: column {name!r} has a trace of another length than time_s")
    codes = np.repeat(np.arange(len(ids), dtype=np.int32), lengths)
    arrays = [pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(ids, pa.string()))]
    arrays += [pa.array(np.concatenate(c) if c else np.empty(0), pa.float64()) for c in columns]
    table = pa.Table.from_arrays(arrays, schema=_SCHEMA)
    return write_parquet(table, path, row_group_size=max(1, len(codes)), **_WRITE_OPTIONS)


def read_part(path: str | os.PathLike, trace_ids: set[str] | None = None) -> dict[str, pd.DataFrame]:
    """The traces of one part file (all, or those in ``trace_ids``): trace id -> frame with the
    contract's columns."""
    path = Path(path)
    if not path.is_file():
        raise TraceContractError(f"{path}: trace store part not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise TraceContractError(f"{path}: not a readable trace store part ({err})") from None
    missing = [c for c in ("trace_id", *TRACE_COLUMNS) if c not in table.column_names]
    if missing:
        raise TraceContractError(f"{path}: columns {missing}: missing; a store part needs trace_id and {list(TRACE_COLUMNS)}")
    ids = table.column("trace_id").combine_chunks()
    if isinstance(ids, pa.DictionaryArray):
        codes, names = ids.indices.to_numpy(), ids.dictionary.to_pylist()
    else:  # a part written by another tool: plain text ids
        names, codes = np.unique(ids.to_numpy(zero_copy_only=False), return_inverse=True)
        names = list(names)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], codes.size]
    samples = {c: table.column(c).to_numpy() for c in TRACE_COLUMNS}
    traces: dict[str, pd.DataFrame] = {}
    for start, stop in zip(starts, stops, strict=True):
        trace_id = names[codes[start]]
        if trace_ids is not None and trace_id not in trace_ids:
            continue
        if trace_id in traces:
            raise TraceContractError(f"{path}: trace {trace_id!r} is not stored contiguously")
        traces[trace_id] = pd.DataFrame({c: samples[c][start:stop] for c in TRACE_COLUMNS})
    return traces


def check_trace_samples(trace: pd.DataFrame, where: str) -> None:
    """The numeric part of the trace contract for already-binary samples: >= 2 samples, all
    finite, time strictly increasing. Raises :class:`TraceContractError` naming ``where``."""
    if len(trace) < 2:
        raise TraceContractError(f"{where}: rows: expected at least two samples")
    for column in TRACE_COLUMNS:
        bad = ~np.isfinite(trace[column].to_numpy())
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceContractError(f"{where}: sample {i + 1}, column {column!r}: expected a finite number, got {trace[column].iloc[i]!r}")
    step = np.diff(trace["time_s"].to_numpy())
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise TraceContractError(f"{where}: sample {i + 1}, column 'time_s': expected time strictly increasing")


def iter_traces(
    rows: pd.DataFrame, read_csv: Callable[[dict], pd.DataFrame] | None = None
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """(manifest row, checked trace) for every row, reading each file once.

    ``rows`` has ``trace_id`` and ``trace_path``. A CSV trace is read by ``read_csv(row)``
    (default: the contract reader :func:`fmes.traces.read_trace` on ``trace_path``); stored traces are read one part at a time: rows are visited grouped by
    file (in order of first appearance, the rows' order within a file kept), so at most one part
    is in memory whatever order the caller's rows are in. Callers that need their own order back
    carry a position column in ``rows``.
    """
    if rows.empty:
        return
    group = pd.factorize(rows["trace_path"])[0]
    ordered = rows.iloc[np.argsort(group, kind="stable")]
    stored = ordered[[is_stored(p) for p in ordered["trace_path"]]]
    wanted = {path: set(ids.astype(str)) for path, ids in stored.groupby("trace_path", sort=False)["trace_id"]}
    part_path, part = None, {}
    for row in _records(ordered):
        path = row["trace_path"]
        if not is_stored(path):
            yield row, read_csv(row) if read_csv is not None else read_trace(path)
            continue
        if path != part_path:
            part_path, part = None, {}  # release the previous part before reading the next
            part_path, part = path, read_part(path, wanted[path])
        trace = part.get(str(row["trace_id"]))
        if trace is None:
            raise TraceContractError(f"{path}: trace {row['trace_id']!r} (named by the manifest) is not in this store part")
        check_trace_samples(trace, f"{path} [{row['trace_id']}]")
        yield row, trace


def _records(rows: pd.DataFrame, block: int = 4096) -> Iterator[dict]:
    # row dicts a block at a time: a manifest of 10^5 rows as dicts alone would take ~10^2 MB
    for start in range(0, len(rows), block):
        yield from rows.iloc[start : start + block].to_dict("records")


def apply_to_trace(item: tuple[dict, pd.DataFrame], function: Callable[..., Any], **kwargs: Any) -> Any:
    """``function(row, load=..., **kwargs)`` for a (row, trace) pair from :func:`iter_traces`:
    lets the per-trace analyses (which take a loader) run on traces already read, also in a
    process pool (this is a module-level function, so it pickles)."""
    row, trace = item
    return function(row, load=lambda _path: trace, **kwargs)


class PartWriter:
    """Collects traces and writes a store part every ``chunk_traces`` traces (memory stays
    bounded by one chunk); :meth:`add` returns the part file the trace will be in."""

    def __init__(self, folder: str | os.PathLike, chunk_traces: int) -> None:
        self.folder = Path(folder)
        self.chunk_traces = chunk_traces
        self.n_parts = 0
        self._pending: list[tuple[str, pd.DataFrame]] = []

    def add(self, trace_id: str, trace: pd.DataFrame) -> Path:
        self._pending.append((trace_id, trace))
        path = self.folder / part_name(self.n_parts)
        if len(self._pending) >= self.chunk_traces:
            self.flush()
        return path

    def flush(self) -> None:
        if not self._pending:
            return
        ids, frames = zip(*self._pending, strict=True)
        write_part(ids, *([f[c].to_numpy(float) for f in frames] for c in TRACE_COLUMNS), self.folder / part_name(self.n_parts))
        self.n_parts += 1
        self._pending = []


def write_results(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """An intermediate result table (one chunk of a scattered rule) as Parquet: dtypes kept
    exactly, so gathering chunks gives the table a single job would have built."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return write_parquet(table, path, compression="zstd", store_schema=True)


def read_results(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Gather chunk tables written by :func:`write_results`, in the order given."""
    frames = [pq.read_table(p).to_pandas() for p in paths]
    frames = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
