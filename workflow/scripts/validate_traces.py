"""Rule validate_traces: check every trace against the contract, the plausible ranges and its
manifest row (fmes.analysis.validation.validate_dataset), and write the working manifest.

Raw traces in an instrument export format (config traces.export / traces.export_formats, a
manifest column export_format) are converted to contract CSVs under the converted folder; a large
raw campaign's LTP/LTD traces go into the Parquet store. A large synthetic campaign's stored
traces were checked by validate_store_part jobs (scattered); their results are gathered here.
The working manifest's paths are relative to its own folder (relocatable results), so every
analysis reads the contract."""

from collections.abc import Mapping
from pathlib import Path

from fmes.analysis.validation import TraceKeeper, validate_dataset
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.data.instruments import ExportFormat, export_format_for_row
from fmes.data.store import PartWriter, iter_traces, read_results
from fmes.data.traces import read_trace, working_manifest


def main(snakemake) -> None:
    log = rule_logger("validate_traces", snakemake.log[0])
    p = snakemake.params
    if p.allow_outside:
        log.warning(
            "traces.allow_paths_outside_manifest_folder is true: traces may come from outside %s",
            Path(snakemake.input.manifest).parent,
        )
    default_format = ExportFormat.from_config(p.export)
    named_formats = {k: ExportFormat.from_config(v) for k, v in p.export_formats.items()}

    def row_format(row: Mapping) -> ExportFormat | None:
        # synthetic traces are written in the contract; only raw files may be instrument exports
        if p.source != "raw":
            return None
        return export_format_for_row(row, default_format, named_formats)

    converted_dir = Path(snakemake.output.converted)
    converted_dir.mkdir(parents=True, exist_ok=True)
    Path(snakemake.output.store).mkdir(parents=True, exist_ok=True)
    store = PartWriter(snakemake.output.store, p.chunk_traces, p.batch_traces)
    keep = TraceKeeper(row_format, store, converted_dir, p.convert_to_store)
    checked = read_results(snakemake.input.checked) if snakemake.input.checked else None
    if checked is not None:
        log.info(
            "%d stored traces checked by %d scattered jobs",
            len(checked),
            len(snakemake.input.checked),
        )
    manifest = validate_dataset(  # manifest-range suspicions become warnings in this log
        snakemake.input.manifest,
        plausible=p.plausible,
        tolerance=p.tolerance,
        allow_outside=p.allow_outside,
        traces=lambda rows: iter_traces(
            rows, read_csv=lambda row: read_trace(row["trace_path"], row_format(row))
        ),
        on_trace=keep,
        progress=lambda done, total: (
            done % 500 == 0 and log.info("validated %d/%d traces", done, total)
        ),
        checked=checked,
    )
    store.close()
    n_samples = keep.counts["samples"] + (0 if checked is None else int(checked["n_samples"].sum()))
    log.info(
        "manifest %s: %d traces, %d samples", snakemake.input.manifest, len(manifest), n_samples
    )
    if keep.counts["converted"]:
        log.info(
            "%d instrument exports converted to the contract in %s",
            keep.counts["converted"],
            converted_dir,
        )
    if keep.counts["stored"]:
        log.info(
            "%d LTP/LTD traces converted into %d store parts in %s",
            keep.counts["stored"],
            store.n_parts,
            snakemake.output.store,
        )
    manifest["trace_path"] = keep.paths(manifest)
    summary = manifest.groupby(["protocol", "resistance_label"]).size()
    log.info("traces per protocol and resistance:\n%s", summary.to_string())
    write_csv(
        working_manifest(manifest, Path(snakemake.output.manifest).parent),
        snakemake.output.manifest,
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
