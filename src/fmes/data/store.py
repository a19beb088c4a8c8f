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

import contextlib
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from fmes.core.io import atomic_path, write_parquet, write_parquet_row_groups
from fmes.data.traces import TRACE_COLUMNS, TraceContractError, read_trace

# the chunks and part names are planned at DAG build (stdlib only), so they are defined there
from fmes.workflow.planning import STORE_SUFFIX, chunk_bounds, is_stored, part_name

__all__ = [
    "STORE_SUFFIX",
    "PartWriter",
    "chunk_bounds",
    "check_trace_samples",
    "is_stored",
    "iter_part",
    "iter_traces",
    "map_in_batches",
    "part_name",
    "read_part",
    "read_results",
    "write_part",
    "write_results",
]

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
    [("trace_id", pa.dictionary(pa.int32(), pa.string()))]
    + [(c, pa.float64()) for c in TRACE_COLUMNS]
)


def _batch_table(
    trace_ids: Iterable[str],
    time_s: Iterable[np.ndarray],
    current_A: Iterable[np.ndarray],
    voltage_V: Iterable[np.ndarray],
) -> pa.Table:
    ids = list(trace_ids)
    columns = [list(time_s), list(current_A), list(voltage_V)]
    if any(len(c) != len(ids) for c in columns):
        raise ValueError("trace store: one time/current/voltage array per trace id expected")
    lengths = np.array([np.asarray(t).size for t in columns[0]], dtype=np.int64)
    for name, column in zip(TRACE_COLUMNS, columns, strict=True):
        if any(np.asarray(x).size != n for x, n in zip(column, lengths, strict=True)):
            raise ValueError(
                f"trace store: column {name!r} has a trace of another length than time_s"
            )
    codes = np.repeat(np.arange(len(ids), dtype=np.int32), lengths)
    arrays = [
        pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(ids, pa.string()))
    ]
    arrays += [pa.array(np.concatenate(c) if c else np.empty(0), pa.float64()) for c in columns]
    return pa.Table.from_arrays(arrays, schema=_SCHEMA)


TraceBatch = tuple[list[str], list[np.ndarray], list[np.ndarray], list[np.ndarray]]


def write_part(batches: Iterable[TraceBatch], path: str | os.PathLike) -> Path:
    """Write one part file atomically, a row group per batch ``(ids, times, currents, voltages)``
    (one array per trace in each sample list). Batches may come from a generator: only one is
    held at a time."""
    return write_parquet_row_groups(
        (_batch_table(*batch) for batch in batches), _SCHEMA, path, **_WRITE_OPTIONS
    )


def iter_part(
    path: str | os.PathLike, trace_ids: set[str] | None = None, *, check: bool = False
) -> Iterator[tuple[str, pd.DataFrame]]:
    """(trace id, frame) of the traces of one part (all, or those in ``trace_ids``), in stored
    order, reading one row group at a time. Frames share the read buffers (read-only arrays).

    ``check``: each trace yielded passes :func:`check_trace_samples` (naming ``path [id]``),
    tested on a whole row group at once; a trace that fails raises its error when reached."""
    path = Path(path)
    if not path.is_file():
        raise TraceContractError(f"{path}: trace store part not found")
    try:
        # the ids come back dictionary-encoded (the part stores no Arrow schema that says so)
        part = pq.ParquetFile(path, read_dictionary=["trace_id"])
    except (pa.ArrowInvalid, OSError) as err:
        raise TraceContractError(f"{path}: not a readable trace store part ({err})") from None
    missing = [c for c in ("trace_id", *TRACE_COLUMNS) if c not in part.schema_arrow.names]
    if missing:
        raise TraceContractError(
            f"{path}: columns {missing}: missing; a store part needs trace_id and {list(TRACE_COLUMNS)}"
        )
    seen: set[str] = set()
    for group in range(part.num_row_groups):
        table = part.read_row_group(group, columns=["trace_id", *TRACE_COLUMNS])
        ids = table.column("trace_id")
        if not pa.types.is_dictionary(ids.type):  # a part written by another tool: plain text
            ids = ids.dictionary_encode()  # hashed, not sorted: a sort of the ids cost seconds
        ids = ids.unify_dictionaries().combine_chunks()
        codes, names = ids.indices.to_numpy(), ids.dictionary.to_pylist()
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        stops = np.r_[starts[1:], codes.size]
        samples = {c: table.column(c).to_numpy() for c in TRACE_COLUMNS}
        failing = _failing_traces(samples, starts, stops) if check else np.zeros(starts.size, bool)
        for start, stop, fails in zip(starts, stops, failing.tolist(), strict=True):
            trace_id = names[codes[start]]
            if trace_id in seen:
                raise TraceContractError(f"{path}: trace {trace_id!r} is not stored contiguously")
            seen.add(trace_id)
            if trace_ids is None or trace_id in trace_ids:
                trace = pd.DataFrame({c: samples[c][start:stop] for c in TRACE_COLUMNS}, copy=False)
                if fails:  # the per-trace check names the sample and what was expected
                    check_trace_samples(trace, f"{path} [{trace_id}]")
                yield trace_id, trace


def _failing_traces(
    samples: dict[str, np.ndarray], starts: np.ndarray, stops: np.ndarray
) -> np.ndarray:
    """Which traces ``[start, stop)`` of a row group's samples fail :func:`check_trace_samples`
    (fewer than two samples, a non-finite value, time not strictly increasing), by one pass
    over the row group instead of one per trace."""
    time_s = samples["time_s"]
    bad = np.zeros(time_s.size, bool)
    for column in TRACE_COLUMNS:
        bad |= ~np.isfinite(samples[column])
    backwards = np.zeros(time_s.size, bool)
    backwards[1:] = np.diff(time_s) <= 0
    backwards[starts] = False  # a trace's first sample has no predecessor in its trace
    bad |= backwards
    count = np.concatenate(([0], np.cumsum(bad)))
    return (stops - starts < 2) | (count[stops] > count[starts])


def read_part(
    path: str | os.PathLike, trace_ids: set[str] | None = None
) -> dict[str, pd.DataFrame]:
    """The traces of one part file (all, or those in ``trace_ids``): trace id -> frame."""
    return dict(iter_part(path, trace_ids))


def check_trace_samples(trace: pd.DataFrame, where: str) -> None:
    """The numeric part of the trace contract for already-binary samples: >= 2 samples, all
    finite, time strictly increasing. Raises :class:`TraceContractError` naming ``where``."""
    if len(trace) < 2:
        raise TraceContractError(f"{where}: rows: expected at least two samples")
    for column in TRACE_COLUMNS:
        bad = ~np.isfinite(trace[column].to_numpy())
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceContractError(
                f"{where}: sample {i + 1}, column {column!r}: expected a finite number, got {trace[column].iloc[i]!r}"
            )
    step = np.diff(trace["time_s"].to_numpy())
    if np.any(step <= 0):
        i = int(np.flatnonzero(step <= 0)[0]) + 1
        raise TraceContractError(
            f"{where}: sample {i + 1}, column 'time_s': expected time strictly increasing"
        )


def iter_traces(
    rows: pd.DataFrame, read_csv: Callable[[dict], pd.DataFrame] | None = None
) -> Iterator[tuple[dict, pd.DataFrame]]:
    """(manifest row, checked trace) for every row, reading each file once.

    ``rows`` has ``trace_id`` and ``trace_path``. A CSV trace is read by ``read_csv(row)``
    (default: the contract reader :func:`fmes.data.traces.read_trace` on ``trace_path``). Stored
    traces are read part by part, one row group at a time, so memory holds one row group
    whatever the number of rows. Order: CSV rows first (in the rows' order), then each part's
    rows in stored order; callers that need their own order back carry a position column.
    """
    if rows.empty:
        return
    stored = np.array([is_stored(p) for p in rows["trace_path"]], dtype=bool)
    for row in _records(rows[~stored]):
        yield row, read_csv(row) if read_csv is not None else read_trace(row["trace_path"])
    for path, part_rows in rows[stored].groupby("trace_path", sort=False):
        by_id = {str(r["trace_id"]): r for r in _records(part_rows)}
        for trace_id, trace in iter_part(path, set(by_id), check=True):
            yield by_id.pop(trace_id), trace
        if by_id:
            raise TraceContractError(
                f"{path}: trace {next(iter(by_id))!r} (named by the manifest) is not in this store part"
            )


def _records(rows: pd.DataFrame, block: int = 4096) -> Iterator[dict]:
    # row dicts a block at a time: a manifest of 10^5 rows as dicts alone would take ~10^2 MB
    for start in range(0, len(rows), block):
        yield from rows.iloc[start : start + block].to_dict("records")


def map_in_batches(
    work: Callable[[Any], Any],
    items: Iterable[Any],
    n_workers: int,
    batch_size: int,
    min_parallel: int = 8,
) -> list[Any]:
    """``[work(item) for item in items]``, in a pool of ``n_workers`` processes when there are
    more than one worker and more than ``min_parallel`` items (a pool costs more than it saves
    on a handful). The pool takes ``batch_size`` items at a time, since ``Executor.map`` would
    read its whole input (here: traces) into memory at once. ``work`` must pickle (a
    module-level function or a :func:`functools.partial` of one); results keep the input order.

    Each worker (and the serial loop) runs with one BLAS thread: the items are the parallelism,
    and the small matrix products of per-trace work (e.g. the fits' start grid) ran 20 times
    slower with OpenBLAS threads spinning on a loaded machine.
    """
    iterator = iter(items)
    head = list(itertools.islice(iterator, min_parallel + 1))
    if n_workers <= 1 or len(head) <= min_parallel:
        with threadpool_limits(1):
            return [work(item) for item in itertools.chain(head, iterator)]
    pending = itertools.chain(head, iterator)
    results: list[Any] = []
    with ProcessPoolExecutor(max_workers=n_workers, initializer=_one_blas_thread) as pool:
        while group := list(itertools.islice(pending, batch_size)):
            results += pool.map(work, group, chunksize=max(1, len(group) // (8 * n_workers)))
    return results


def _one_blas_thread() -> None:
    # pool initializer: the limit holds for the worker process's lifetime
    threadpool_limits(1)


class PartWriter:
    """Writes traces as they come into consecutive parts of a store folder: a row group every
    ``batch_traces`` traces, a new part every ``chunk_traces`` (memory: one batch).
    :meth:`add` returns the part file the trace goes to; call :meth:`close` at the end."""

    def __init__(self, folder: str | os.PathLike, chunk_traces: int, batch_traces: int) -> None:
        self.folder = Path(folder)
        self.chunk_traces, self.batch_traces = chunk_traces, batch_traces
        self.n_parts = 0
        self._in_part = 0
        self._pending: list[tuple[str, pd.DataFrame]] = []
        self._target: contextlib.AbstractContextManager | None = None
        self._writer: pq.ParquetWriter | None = None

    def add(self, trace_id: str, trace: pd.DataFrame) -> Path:
        if self._writer is None:
            self._target = atomic_path(self.folder / part_name(self.n_parts))
            self._writer = pq.ParquetWriter(self._target.__enter__(), _SCHEMA, **_WRITE_OPTIONS)
        path = self.folder / part_name(self.n_parts)
        self._pending.append((trace_id, trace))
        self._in_part += 1
        if len(self._pending) >= self.batch_traces:
            self._write_batch()
        if self._in_part >= self.chunk_traces:
            self._finish_part()
        return path

    def _write_batch(self) -> None:
        if self._pending:
            ids, frames = zip(*self._pending, strict=True)
            table = _batch_table(
                ids, *([f[c].to_numpy(float) for f in frames] for c in TRACE_COLUMNS)
            )
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))
            self._pending = []

    def _finish_part(self) -> None:
        self._write_batch()
        self._writer.close()
        self._target.__exit__(None, None, None)  # renames the finished part into place
        self._writer, self._target, self._in_part = None, None, 0
        self.n_parts += 1

    def close(self) -> None:
        if self._writer is not None:
            self._finish_part()


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
