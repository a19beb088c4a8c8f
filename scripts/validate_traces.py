"""Rule validate_traces: check every trace against the contract and write the working manifest."""

from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.traces import read_manifest, read_trace

snakemake = globals()["snakemake"]
log = rule_logger("validate_traces", snakemake.log[0])
manifest = read_manifest(snakemake.input.manifest)
log.info("manifest %s: %d traces", snakemake.input.manifest, len(manifest))
n_samples = 0
for i, path in enumerate(manifest["trace_path"], start=1):
    n_samples += len(read_trace(path))
    if i % 500 == 0:
        log.info("validated %d/%d traces", i, len(manifest))
summary = manifest.groupby(["protocol", "resistance_label"]).size()
log.info("traces per protocol and resistance:\n%s", summary.to_string())
log.info("%d samples in total", n_samples)
write_csv(manifest, snakemake.output.manifest)
