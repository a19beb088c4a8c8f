"""Rule synthesize_array_chunk: one chunk of a large array campaign, written as a store part
(a row group per batch of devices, so memory holds one batch)."""

from collections.abc import Iterable, Iterator

from fmes.core.io import read_json
from fmes.core.logs import rule_logger
from fmes.data.store import write_part
from fmes.device import circuit as device
from fmes.device import synthetic


def store_batches(batches: Iterable, counter: list[int]) -> Iterator:
    """The chunk's batches as store rows (one shared time axis per trace); adds the number of
    traces to ``counter[0]`` as they pass."""
    for ids, time_s, current_A, voltage_V in batches:
        counter[0] += len(ids)
        yield ids, [time_s] * len(ids), current_A, voltage_V


def main(snakemake) -> None:
    log = rule_logger("synthesize_array_chunk", snakemake.log[0])
    p = snakemake.params
    cell = device.CellParams.from_mapping(read_json(snakemake.input.params, key="cell_params"))
    index = int(snakemake.wildcards.chunk)
    batches = synthetic.iter_array_chunk(
        cell,
        p.variability,
        p.ltp_ltd,
        synthetic.Noise(**p.noise),
        p.seed,
        p.chunk_traces,
        index,
        p.batch_traces,
    )
    n_traces = [0]
    write_part(store_batches(batches, n_traces), snakemake.output.part)
    log.info("chunk %d: %d traces written to %s", index, n_traces[0], snakemake.output.part)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
