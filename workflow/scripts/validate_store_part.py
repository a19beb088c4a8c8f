"""Rule validate_store_part: the trace checks of one part of a large campaign's trace store
(scattered; validate_traces gathers the parts' results with the checks of the other traces)."""

from pathlib import Path

from fmes.analysis.validation import check_stored_part
from fmes.core.logs import rule_logger
from fmes.data.store import write_results
from fmes.data.traces import read_manifest


def main(snakemake) -> None:
    log = rule_logger("validate_store_part", snakemake.log[0])
    p = snakemake.params
    # the manifest's own checks (and its range warnings) are validate_traces' work: here it only
    # names the rows this part holds
    manifest = read_manifest(
        snakemake.input.manifest, check_files=False, allow_outside=p.allow_outside
    )
    checked = check_stored_part(
        manifest, snakemake.input.part, plausible=p.plausible, tolerance=p.tolerance
    )
    write_results(checked, snakemake.output.checked)
    log.info(
        "%s: %d traces, %d samples, %d with manifest disagreements",
        Path(snakemake.input.part).name,
        len(checked),
        int(checked["n_samples"].sum()),
        int(checked["disagreements"].map(len).astype(bool).sum()),
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
