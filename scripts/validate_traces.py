"""Rule validate_traces: check every trace against the contract, the plausible ranges and its
manifest row (fmes.traces.validate_dataset), and write the working manifest.

Raw traces in an instrument export format (config traces.export / traces.export_formats, a
manifest column export_format) are converted to contract CSVs under the converted folder; a large
raw campaign's LTP/LTD traces go into the Parquet store. The working manifest's paths are
relative to its own folder (relocatable results), so every analysis reads the contract."""

import os
from pathlib import Path

from fmes.instruments import ExportFormat, export_format_for_row
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.store import PartWriter, is_stored, iter_traces
from fmes.traces import TRACE_COLUMNS, read_trace, working_manifest
from fmes.validation import validate_dataset

snakemake = globals()["snakemake"]
log = rule_logger("validate_traces", snakemake.log[0])
P = snakemake.params
if P.allow_outside:
    log.warning(
        "traces.allow_paths_outside_manifest_folder is true: traces may come from outside %s",
        Path(snakemake.input.manifest).parent,
    )
default_format = ExportFormat.from_config(P.export)
named_formats = {k: ExportFormat.from_config(v) for k, v in P.export_formats.items()}
converted_dir = Path(snakemake.output.converted)
converted_dir.mkdir(parents=True, exist_ok=True)
# stored traces are read a part at a time; a large raw campaign's LTP/LTD traces are converted
# once into the working store here, so the analyses read each of them once, fast
store = PartWriter(snakemake.output.store, P.chunk_traces, P.batch_traces)
Path(snakemake.output.store).mkdir(parents=True, exist_ok=True)
moved = {}  # trace_id -> new trace file (store part or converted CSV)
counts = {"samples": 0, "converted": 0, "stored": 0}


def row_format(row):
    # synthetic traces are written in the contract; only raw files may be instrument exports
    return export_format_for_row(row, default_format, named_formats) if P.source == "raw" else None


def keep(row, trace):
    counts["samples"] += len(trace)
    fmt = row_format(row)
    if P.convert_to_store and row["protocol"] == "ltp_ltd" and not is_stored(row["trace_path"]):
        moved[row["trace_id"]] = str(store.add(row["trace_id"], trace).resolve())
        counts["stored"] += 1
    elif fmt is not None and not fmt.is_contract:
        target = converted_dir / f"{str(row['trace_id']).replace(os.sep, '_')}.csv"
        write_csv(trace[list(TRACE_COLUMNS)], target, float_format="%.9g")
        moved[row["trace_id"]] = str(target.resolve())
        counts["converted"] += 1


manifest = validate_dataset(  # manifest-range suspicions become warnings in this log
    snakemake.input.manifest,
    plausible=P.plausible,
    tolerance=P.tolerance,
    allow_outside=P.allow_outside,
    traces=lambda rows: iter_traces(
        rows, read_csv=lambda row: read_trace(row["trace_path"], row_format(row))
    ),
    on_trace=keep,
    progress=lambda done, total: (
        done % 500 == 0 and log.info("validated %d/%d traces", done, total)
    ),
)
store.close()
log.info(
    "manifest %s: %d traces, %d samples", snakemake.input.manifest, len(manifest), counts["samples"]
)
if counts["converted"]:
    log.info(
        "%d instrument exports converted to the contract in %s", counts["converted"], converted_dir
    )
if counts["stored"]:
    log.info(
        "%d LTP/LTD traces converted into %d store parts in %s",
        counts["stored"],
        store.n_parts,
        snakemake.output.store,
    )
manifest["trace_path"] = [
    moved.get(t, p) for t, p in zip(manifest["trace_id"], manifest["trace_path"], strict=True)
]
summary = manifest.groupby(["protocol", "resistance_label"]).size()
log.info("traces per protocol and resistance:\n%s", summary.to_string())
write_csv(
    working_manifest(manifest, Path(snakemake.output.manifest).parent), snakemake.output.manifest
)
