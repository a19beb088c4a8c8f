"""Rule synthesize_array_chunk: one chunk of a large array campaign, written as a store part."""

import json
import re

from fmes import device, synthetic
from fmes.logs import rule_logger
from fmes.store import write_part

snakemake = globals()["snakemake"]
log = rule_logger("synthesize_array_chunk", snakemake.log[0])
p = snakemake.params
cell = device.CellParams.from_mapping(json.loads(open(snakemake.input.params).read())["cell_params"])
index = int(re.fullmatch(r"\d+", snakemake.wildcards.chunk).group())
ids, time_s, current_A, voltage_V = synthetic.array_chunk(
    cell, p.variability, p.ltp_ltd, synthetic.Noise(**p.noise), p.seed, p.chunk_traces, index
)
log.info("chunk %d: %d traces x %d samples", index, len(ids), time_s.size)
write_part(ids, [time_s] * len(ids), current_A, voltage_V, snakemake.output.part)
log.info("done")
