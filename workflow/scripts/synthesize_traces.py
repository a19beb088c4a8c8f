"""Rule synthesize_traces: the measurement campaign from the calibrated model, in the raw contract.

A large array campaign was already written to the trace store by synthesize_array_chunk (one
job per part); then this rule writes the nominal device's CSVs and the manifest of everything.
"""

from pathlib import Path

from fmes.core.io import read_json
from fmes.core.logs import rule_logger
from fmes.device import circuit as device
from fmes.device import synthetic


def main(snakemake) -> None:
    log = rule_logger("synthesize_traces", snakemake.log[0])
    p = snakemake.params
    cell = device.CellParams.from_mapping(read_json(snakemake.input.params, key="cell_params"))
    noise = synthetic.Noise(**p.noise)
    log.info("nominal device at %d resistance states", len(p.resistances))
    campaign = synthetic.nominal_campaign(cell, list(p.resistances), p.protocols, noise, p.seed)
    log.info(
        "%d nominal traces; device array %dx%d x %d cycles at %s",
        len(campaign.manifest),
        p.variability["rows"],
        p.variability["cols"],
        p.variability["cycles"],
        p.variability["resistances"],
    )
    if snakemake.input.store_parts:
        stored = synthetic.array_store_manifest(
            p.variability, p.protocols["ltp_ltd"], p.chunk_traces
        )
        log.info(
            "%d array traces in %d trace-store parts", len(stored), len(snakemake.input.store_parts)
        )
        campaign.extend(synthetic.Campaign(stored, {}))
    else:
        campaign.extend(
            synthetic.array_campaign(cell, p.variability, p.protocols["ltp_ltd"], noise, p.seed)
        )
    log.info(
        "writing %d manifest rows (%d trace CSVs) to %s",
        len(campaign.manifest),
        len(campaign.traces),
        snakemake.output.traces,
    )
    synthetic.write_campaign(campaign, Path(snakemake.output.manifest).parent)
    Path(snakemake.output.traces).mkdir(parents=True, exist_ok=True)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
