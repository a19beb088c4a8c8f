"""Rule synthesize_array_chunk: one chunk of a large array campaign, written as a store part
(a row group per batch of devices, so memory holds one batch)."""

import json

from fmes import device, synthetic
from fmes.logs import rule_logger
from fmes.store import write_part

snakemake = globals()["snakemake"]
log = rule_logger("synthesize_array_chunk", snakemake.log[0])
p = snakemake.params
cell = device.CellParams.from_mapping(json.loads(open(snakemake.input.params).read())["cell_params"])
index = int(snakemake.wildcards.chunk)
batches = synthetic.iter_array_chunk(
    cell, p.variability, p.ltp_ltd, synthetic.Noise(**p.noise), p.seed, p.chunk_traces, index, p.batch_traces
)
n_traces = 0


def counted():
    global n_traces
    for ids, time_s, current_A, voltage_V in batches:
        n_traces += len(ids)
        yield ids, [time_s] * len(ids), current_A, voltage_V


write_part(counted(), snakemake.output.part)
log.info("chunk %d: %d traces written to %s", index, n_traces, snakemake.output.part)
