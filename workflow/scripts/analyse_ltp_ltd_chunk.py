"""Rule analyse_ltp_ltd_chunk: weight per pulse and NeuroSim fit of one chunk of ltp_ltd traces
(the per-trace work of analyse_ltp_ltd, scattered; analyse_ltp_ltd gathers the chunks)."""

import pandas as pd

from fmes.analysis.ltp_ltd_chunk import chunk_rows, fit_chunk
from fmes.analysis.pipeline import MANIFEST_DTYPES
from fmes.core.logs import rule_logger
from fmes.data.store import write_results
from fmes.data.traces import resolve_trace_paths

# only the columns the fits use: a large campaign's manifest is read by every chunk job
MANIFEST_COLUMNS = [
    "trace_id",
    "path",
    "device_id",
    "protocol",
    "resistance_label",
    "cycle",
    "n_pulses",
]


def main(snakemake) -> None:
    log = rule_logger("analyse_ltp_ltd_chunk", snakemake.log[0])
    p = snakemake.params
    index = int(snakemake.wildcards.chunk)
    manifest = pd.read_csv(
        snakemake.input.manifest, dtype=MANIFEST_DTYPES, usecols=MANIFEST_COLUMNS
    )
    manifest["trace_path"] = resolve_trace_paths(manifest["path"], snakemake.input.manifest)
    rows = chunk_rows(manifest, p.chunk_traces, index)
    del manifest
    log.info(
        "ltp_ltd chunk %d: rows %d to %d",
        index,
        rows["position"].iloc[0] if len(rows) else 0,
        rows["position"].iloc[-1] + 1 if len(rows) else 0,
    )
    fits, weights = fit_chunk(
        rows,
        nominal_device=p.nominal_device,
        pulse_kw=dict(p.pulses),
        fit_kw=dict(p.ltp_ltd),
        quality=dict(p.fit_quality),
        n_workers=snakemake.threads,
        batch_traces=p.batch_traces,
    )
    write_results(fits, snakemake.output.fits)
    write_results(weights, snakemake.output.weights)
    converged = int(fits["converged"].sum()) if len(fits) else 0
    log.info("%d fits, %d converged", len(fits), converged)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
