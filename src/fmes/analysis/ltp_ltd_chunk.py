"""The per-trace LTP/LTD work of one scattered chunk: which manifest rows a chunk holds, and their
weights and NeuroSim fits, computed in groups in a process pool and returned in row order.

A chunk's memory is its fit rows plus one batch of traces: the weight tables of every device but
the nominal one (which alone is tabulated) are dropped in the pool workers, as they are made.
"""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np
import pandas as pd

from fmes.analysis.pipeline import analyse_ltp_ltd_batch, protocol_rows
from fmes.data.store import chunk_bounds, iter_traces, map_in_batches

__all__ = ["FIT_GROUP_TRACES", "chunk_rows", "fit_chunk", "fit_group"]

# Traces fitted together: their start values come from one vectorised grid (most of the gain
# is reached by a few dozen); a pool task is one such group.
FIT_GROUP_TRACES = 32


def chunk_rows(manifest: pd.DataFrame, chunk_traces: int, index: int) -> pd.DataFrame:
    """Chunk ``index`` of the ordered ltp_ltd rows (``chunk_traces`` consecutive rows), with a
    ``position`` column: the row's place among all ltp_ltd rows."""
    rows = protocol_rows(manifest, "ltp_ltd")
    start, stop = chunk_bounds(len(rows), chunk_traces)[index]
    return rows.iloc[start:stop].assign(position=range(start, stop))


def fit_group(
    items: list[tuple[dict, pd.DataFrame]],
    nominal_device: str,
    pulse_kw: dict,
    fit_kw: dict,
    quality: dict | None = None,
) -> list[tuple[dict, pd.DataFrame | None]]:
    """:func:`~fmes.analysis.pipeline.analyse_ltp_ltd_batch` of one group, keeping the weight
    table of the nominal device's traces only (None for the others and for empty tables)."""
    results = analyse_ltp_ltd_batch(
        items,
        pulse_kw,
        fit_kw,
        quality,
        keep_weights=lambda keys: keys["device_id"] == nominal_device,
    )
    return [
        (fit, weights if weights is not None and len(weights) else None) for fit, weights in results
    ]


def fit_chunk(
    rows: pd.DataFrame,
    *,
    nominal_device: str,
    pulse_kw: dict,
    fit_kw: dict,
    quality: dict | None,
    n_workers: int,
    batch_traces: int,
    group_traces: int = FIT_GROUP_TRACES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit table (one row per manifest row, in the rows' order) and the nominal device's weight
    table of ``rows`` (manifest rows with ``trace_id``, ``trace_path``, the keys and ``position``).

    Each trace file is read once (:func:`fmes.data.store.iter_traces`, which reorders by file); the
    groups of ``group_traces`` go to a pool of ``n_workers`` about ``batch_traces`` traces at a
    time. The result does not depend on the grouping order: rows are put back in their order.
    """
    positions: list[int] = []

    def groups():
        pending = iter_traces(rows)
        while group := list(itertools.islice(pending, group_traces)):
            positions.extend(int(row["position"]) for row, _ in group)
            yield group

    work = partial(
        fit_group,
        nominal_device=nominal_device,
        pulse_kw=pulse_kw,
        fit_kw=fit_kw,
        quality=quality,
    )
    results = list(
        itertools.chain.from_iterable(
            map_in_batches(
                work, groups(), n_workers, batch_size=max(1, batch_traces // group_traces)
            )
        )
    )
    in_row_order = [results[k] for k in np.argsort(positions, kind="stable")]
    fits = pd.DataFrame([fit for fit, _ in in_row_order])
    weights = [w for _, w in in_row_order if w is not None]
    return fits, pd.concat(weights, ignore_index=True) if weights else pd.DataFrame()
