"""Rule analyse_ltp_ltd_chunk: weight per pulse and NeuroSim fit of one chunk of ltp_ltd traces
(the per-trace work of analyse_ltp_ltd, scattered; analyse_ltp_ltd gathers the chunks)."""

import itertools
from functools import partial

import numpy as np
import pandas as pd

from fmes.analysis.pipeline import MANIFEST_DTYPES, analyse_ltp_ltd_batch, protocol_rows
from fmes.logs import rule_logger
from fmes.store import chunk_bounds, iter_traces, map_in_batches, write_results
from fmes.traces import resolve_trace_paths

# Traces fitted together: their start values come from one vectorised grid (most of the gain
# is reached by a few dozen); a pool task is one such group.
FIT_GROUP_TRACES = 32

snakemake = globals()["snakemake"]
log = rule_logger("analyse_ltp_ltd_chunk", snakemake.log[0])
P = snakemake.params
index = int(snakemake.wildcards.chunk)
# only the columns the fits use: a large campaign's manifest is read by every chunk job
columns = ["trace_id", "path", "device_id", "protocol", "resistance_label", "cycle", "n_pulses"]
manifest = pd.read_csv(snakemake.input.manifest, dtype=MANIFEST_DTYPES, usecols=columns)
manifest["trace_path"] = resolve_trace_paths(manifest["path"], snakemake.input.manifest)
rows = protocol_rows(manifest, "ltp_ltd")
start, stop = chunk_bounds(len(rows), P.chunk_traces)[index]
rows = rows.iloc[start:stop].assign(position=range(start, stop))
del manifest
log.info("ltp_ltd chunk %d: rows %d to %d", index, start, stop)

positions = []


def groups():
    """Lists of (row, trace), each store part read once, remembering each row's place."""
    pending = iter_traces(rows)
    while group := list(itertools.islice(pending, FIT_GROUP_TRACES)):
        positions.extend(row["position"] for row, _ in group)
        yield group


work = partial(
    analyse_ltp_ltd_batch,
    pulse_kw=dict(P.pulses),
    fit_kw=dict(P.ltp_ltd),
    quality=dict(P.fit_quality),
)
# the pool holds about batch_traces traces at a time
results = list(
    itertools.chain.from_iterable(
        map_in_batches(
            work, groups(), snakemake.threads, batch_size=max(1, P.batch_traces // FIT_GROUP_TRACES)
        )
    )
)
in_row_order = [results[k] for k in np.argsort(positions, kind="stable")]
fits = pd.DataFrame([fit for fit, _ in in_row_order])
weights = [w for fit, w in in_row_order if fit["device_id"] == P.nominal_device and len(w)]
write_results(fits, snakemake.output.fits)
write_results(
    pd.concat(weights, ignore_index=True) if weights else pd.DataFrame(), snakemake.output.weights
)
log.info("%d fits, %d converged", len(fits), int(fits["converged"].sum()) if len(fits) else 0)
