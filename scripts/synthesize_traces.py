"""Rule synthesize_traces: the measurement campaign from the calibrated model, in the raw contract."""

import json
from pathlib import Path

from fmes import device, synthetic
from fmes.logs import rule_logger
from fmes.traces import write_dataset

snakemake = globals()["snakemake"]
log = rule_logger("synthesize_traces", snakemake.log[0])
p = snakemake.params
cell = device.CellParams.from_mapping(json.loads(open(snakemake.input.params).read())["cell_params"])
noise = synthetic.Noise(**p.noise)
log.info("nominal device at %d resistance states", len(p.resistances))
campaign = synthetic.nominal_campaign(cell, list(p.resistances), p.protocols, noise, p.seed)
log.info("%d nominal traces; device array %dx%d x %d cycles at %s",
         len(campaign.manifest), p.variability["rows"], p.variability["cols"], p.variability["cycles"], p.variability["resistances"])
campaign.extend(synthetic.array_campaign(cell, p.variability, p.protocols["ltp_ltd"], noise, p.seed))
log.info("writing %d traces to %s", len(campaign.manifest), snakemake.output.traces)
write_dataset(campaign.manifest, campaign.traces, Path(snakemake.output.manifest).parent)
log.info("done")
