"""Rule analyse_energy: energy and time per pulse from every current-driven trace."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.energy import reference_single_pulses, with_trace_split
from fmes.analysis.pipeline import (
    at_most_common,
    energy_rows,
    energy_tables,
    legend_label,
    load_protocol_rows,
    map_traces,
    most_common,
    ordered_labels,
    placeholder_figure,
)
from fmes.core.figures import resistance_colors, save_figure
from fmes.core.io import read_json, write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status
from fmes.device import circuit as device
from fmes.device.energy import state_energy_split
from fmes.device.synthetic import ltp_ltd_stimulus


def energy_figure(table: pd.DataFrame):
    """Energy per pulse against resistance state (LTP, LTD and single pulses), and of the
    single pulses against amplitude and against width."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ok = table[table["status"] != Status.SKIPPED]
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    ax = axes[0]
    for proto, pol, marker in (("ltp_ltd", 1, "o"), ("ltp_ltd", -1, "v"), ("pulse", 1, "s")):
        sel = ok[(ok["protocol"] == proto) & (ok["polarity"] == pol)]
        if proto == "pulse":
            sel = reference_single_pulses(sel)
        sel = (
            sel.set_index("resistance_label").reindex(labels).dropna(subset=["energy_abs_median_J"])
        )
        if sel.empty:
            continue
        x = np.arange(len(labels))[[labels.index(lab) for lab in sel.index]]
        y = sel["energy_abs_median_J"].to_numpy() * 1e9
        err = np.vstack([y - sel["energy_abs_q25_J"] * 1e9, sel["energy_abs_q75_J"] * 1e9 - y])
        name = {
            ("ltp_ltd", 1): "LTP pulses",
            ("ltp_ltd", -1): "LTD pulses",
            ("pulse", 1): "single pulse",
        }[(proto, pol)]
        ax.errorbar(x, y, yerr=err, marker=marker, ls="-", capsize=3, label=name)
    ax.set_xticks(range(len(labels)), [legend_label(lab) for lab in labels], rotation=30)
    ax.set_xlabel("regulating resistance")
    ax.set_ylabel("energy per pulse |∫ I·V dt| (nJ)")
    ax.legend(fontsize=8)
    single = ok[ok["protocol"] == "pulse"]
    for ax, vary, fixed, xlabel, scale in (
        (axes[1], "amplitude_A", "width_s", "pulse amplitude (mA)", 1e3),
        (axes[2], "width_s", "amplitude_A", "pulse width (ms)", 1e3),
    ):
        if single.empty:
            ax.axis("off")
            continue
        ref = most_common(single[fixed])
        series = at_most_common(single, [fixed])
        for lab in labels:
            sel = series[series["resistance_label"] == lab].sort_values(vary)
            if len(sel):
                ax.plot(
                    sel[vary] * scale,
                    sel["energy_abs_median_J"] * 1e9,
                    "o-",
                    color=colors[lab],
                    label=legend_label(lab),
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("energy per pulse (nJ)")
        fixed_text = f"{ref * 1e3:g} ms" if fixed == "width_s" else f"{ref * 1e3:g} mA"
        ax.set_title(f"single pulses at {fixed_text}", fontsize=9)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    if per_pulse.empty:
        fig = placeholder_figure("Energy per pulse", "no current-driven pulse traces")
    else:
        fig = energy_figure(table)
    save_figure(fig, out.figure)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
