"""Rule analyse_ltp_ltd_chunk: weight per pulse and NeuroSim fit of one chunk of ltp_ltd traces
(the per-trace work of analyse_ltp_ltd, scattered; analyse_ltp_ltd gathers the chunks)."""

import itertools
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import pandas as pd

from fmes.analysis.pipeline import MANIFEST_DTYPES, analyse_ltp_ltd_trace, protocol_rows
from fmes.logs import rule_logger
from fmes.store import apply_to_trace, chunk_bounds, iter_traces, write_results
from fmes.traces import resolve_trace_paths

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
log.info("ltp_ltd chunk %d: rows %d to %d", index, start, stop)

work = partial(
    apply_to_trace,
    function=analyse_ltp_ltd_trace,
    pulse_kw=dict(P.pulses),
    fit_kw=dict(P.ltp_ltd),
    quality=dict(P.fit_quality),
)
positions = []


def items():
    """(row, trace) grouped by store part (each part read once), remembering each row's place."""
    for row, trace in iter_traces(rows):
        positions.append(row["position"])
        yield row, trace


# the pool gets batch_traces traces at a time (Executor.map takes its whole input at once)
batch = P.batch_traces
if snakemake.threads > 1 and len(rows) > 8:
    with ProcessPoolExecutor(max_workers=snakemake.threads) as pool:
        results, pending = [], items()
        while group := list(itertools.islice(pending, batch)):
            results += pool.map(work, group, chunksize=max(1, len(group) // (8 * snakemake.threads)))
else:
    results = [work(item) for item in items()]
in_row_order = [results[k] for k in np.argsort(positions, kind="stable")]
fits = pd.DataFrame([fit for fit, _ in in_row_order])
weights = [w for fit, w in in_row_order if fit["device_id"] == P.nominal_device and len(w)]
write_results(fits, snakemake.output.fits)
write_results(pd.concat(weights, ignore_index=True) if weights else pd.DataFrame(), snakemake.output.weights)
log.info("%d fits, %d converged", len(fits), int(fits["converged"].sum()) if len(fits) else 0)
