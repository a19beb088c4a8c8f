"""Rule validate_traces: check every trace against the contract and write the working manifest.

Raw traces in an instrument export format (config traces.export / traces.export_formats, a
manifest column export_format) are converted to contract CSVs under the converted folder, and
the working manifest points at those, so every analysis reads the contract."""

import os
from pathlib import Path

from fmes.instruments import ExportFormat, export_format_for_row
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.store import PartWriter, is_stored, iter_traces
from fmes.traces import TRACE_COLUMNS, check_trace_against_manifest, read_manifest, read_trace

snakemake = globals()["snakemake"]
log = rule_logger("validate_traces", snakemake.log[0])
manifest = read_manifest(snakemake.input.manifest)
log.info("manifest %s: %d traces", snakemake.input.manifest, len(manifest))
default_format = ExportFormat.from_config(snakemake.params.export)
named_formats = {k: ExportFormat.from_config(v) for k, v in snakemake.params.export_formats.items()}
converted_dir = Path(snakemake.output.converted)
converted_dir.mkdir(parents=True, exist_ok=True)
# stored traces are read a part at a time; a large raw campaign's LTP/LTD traces are converted
# once into the working store here, so the analyses read each of them once, fast
store = PartWriter(snakemake.output.store, snakemake.params.chunk_traces, snakemake.params.batch_traces)
Path(snakemake.output.store).mkdir(parents=True, exist_ok=True)
stored = {}


def row_format(row):
    # synthetic traces are written in the contract; only raw files may be instrument exports
    return export_format_for_row(row, default_format, named_formats) if snakemake.params.source == "raw" else None


n_samples = n_converted = 0
rows = manifest.assign(manifest_row=range(len(manifest)))
traces = iter_traces(rows, read_csv=lambda row: read_trace(row["trace_path"], row_format(row)))
for i, (row, trace) in enumerate(traces, start=1):
    path, fmt = row["trace_path"], row_format(row)
    n_samples += len(trace)
    check_trace_against_manifest(trace, row, path)  # unit slips -> warnings in this log
    if snakemake.params.convert_to_store and row["protocol"] == "ltp_ltd" and not is_stored(path):
        stored[row["trace_id"]] = str(store.add(row["trace_id"], trace).resolve())
    elif fmt is not None and not fmt.is_contract:
        target = converted_dir / f"{str(row['trace_id']).replace(os.sep, '_')}.csv"
        write_csv(trace[list(TRACE_COLUMNS)], target, float_format="%.9g")
        manifest.loc[row["manifest_row"], "trace_path"] = str(target.resolve())
        n_converted += 1
    if i % 500 == 0:
        log.info("validated %d/%d traces", i, len(manifest))
if n_converted:
    log.info("%d instrument exports converted to the contract in %s", n_converted, converted_dir)
summary = manifest.groupby(["protocol", "resistance_label"]).size()
log.info("traces per protocol and resistance:\n%s", summary.to_string())
log.info("%d samples in total", n_samples)
store.close()
if stored:
    log.info("%d LTP/LTD traces converted into %d store parts in %s", len(stored), store.n_parts, snakemake.output.store)
    manifest["trace_path"] = [stored.get(t, p) for t, p in zip(manifest["trace_id"], manifest["trace_path"], strict=True)]
# `path` relative to the working manifest's own folder, so read_manifest() reads it back
out_dir = Path(snakemake.output.manifest).resolve().parent
manifest["path"] = [os.path.relpath(p, out_dir) for p in manifest["trace_path"]]
write_csv(manifest, snakemake.output.manifest)
