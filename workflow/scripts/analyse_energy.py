"""Rule analyse_energy: energy and time per pulse from every current-driven trace."""

from fmes.analysis.energy import with_trace_split
from fmes.analysis.figures import energy_figure
from fmes.analysis.pipeline import (
    energy_rows,
    energy_tables,
    load_protocol_rows,
    map_traces,
)
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import read_json, write_csv
from fmes.core.logs import rule_logger
from fmes.device import circuit as device
from fmes.device.energy import state_energy_split
from fmes.device.synthetic import ltp_ltd_stimulus


def main(snakemake) -> None:
    log = rule_logger("analyse_energy", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    # every device's traces, in the manifest's order (the summary keeps first-seen order)
    rows = load_protocol_rows(snakemake.input.manifest, P.energy["protocols"], by_state=False)
    if not P.energy["array_devices"]:
        rows = rows[rows["device_id"] == P.nominal_device]
    log.info("energy: %d traces of protocols %s", len(rows), P.energy["protocols"])
    results = map_traces(
        rows,
        lambda row, trace: energy_rows(
            row, trace, pulse_kw=P.pulses, edge_resolution=P.energy["edge_resolution"]
        ),
    )
    for _, failure in results:
        if failure:
            log.warning("no pulses: %s", failure)
    table, costs, per_pulse = energy_tables(
        [frame for frame, _ in results if frame is not None], P.nominal_device
    )
    for c in costs.itertuples(index=False):
        log.info(
            "%s ohm: %.3g J per LTP pulse, %.3g J per LTD pulse, width %.3g s, period %.3g s",
            c.resistance_label,
            c.energy_ltp_J,
            c.energy_ltd_J,
            c.pulse_width_s,
            c.pulse_period_s,
        )
    write_csv(table, out.table)
    write_csv(costs, out.costs)

    # the circuit model's energy balance of the LTP/LTD pulses at every state with such traces
    cell = device.CellParams.from_mapping(read_json(snakemake.input.cell_params, key="cell_params"))
    ltp = rows[(rows["protocol"] == "ltp_ltd") & (rows["device_id"] == P.nominal_device)]
    states = dict(zip(ltp["resistance_label"].astype(str), ltp["resistance_ohm"], strict=True))
    stimulus = ltp_ltd_stimulus(P.ltp_ltd, {"samples_per_pulse": 2, "samples_per_gap": 2})
    split = with_trace_split(
        state_energy_split(cell, states, stimulus), per_pulse, P.nominal_device
    )
    for r in split[split["interval"] == "window"].itertuples(index=False):
        log.info(
            "%s ohm %+d: source %.3g J = R_s %.3g + R %.3g + internal %.3g + stored %.3g J",
            r.resistance_label,
            r.polarity,
            r.source_J,
            r.loss_rs_J,
            r.loss_r_J,
            r.loss_internal_J,
            r.stored_change_J,
        )
    write_csv(split, out.split)
    save_figure_or_placeholder(
        out.figure,
        "Energy per pulse",
        "no current-driven pulse traces" if per_pulse.empty else None,
        lambda: energy_figure(table),
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
