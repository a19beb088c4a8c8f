"""Rule validate_traces: check every trace against the contract and write the working manifest."""

import os
from pathlib import Path

from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.traces import check_trace_against_manifest, read_manifest, read_trace

snakemake = globals()["snakemake"]
log = rule_logger("validate_traces", snakemake.log[0])
manifest = read_manifest(snakemake.input.manifest)
log.info("manifest %s: %d traces", snakemake.input.manifest, len(manifest))
n_samples = 0
for i, (path, row) in enumerate(zip(manifest["trace_path"], manifest.to_dict("records"), strict=True), start=1):
    trace = read_trace(path)
    n_samples += len(trace)
    check_trace_against_manifest(trace, row, path)  # unit slips -> warnings in this log
    if i % 500 == 0:
        log.info("validated %d/%d traces", i, len(manifest))
summary = manifest.groupby(["protocol", "resistance_label"]).size()
log.info("traces per protocol and resistance:\n%s", summary.to_string())
log.info("%d samples in total", n_samples)
# `path` relative to the working manifest's own folder, so read_manifest() reads it back
out_dir = Path(snakemake.output.manifest).resolve().parent
manifest["path"] = [os.path.relpath(p, out_dir) for p in manifest["trace_path"]]
write_csv(manifest, snakemake.output.manifest)
