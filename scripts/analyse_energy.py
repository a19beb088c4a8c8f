"""Rule analyse_energy: energy and time per pulse from every current-driven trace."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmes.analysis.energy import (
    energies_of_trace,
    state_pulse_costs,
    summarise_energies,
    with_edge_status,
)
from fmes.analysis.pipeline import (
    legend_label,
    ordered_labels,
    placeholder_figure,
    pulses_or_status,
    skipped_frame,
)
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import resistance_colors, save_figure
from fmes.store import iter_traces
from fmes.traces import read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("analyse_energy", snakemake.log[0])
out = snakemake.output
P = snakemake.params
manifest = read_working_manifest(snakemake.input.manifest)
rows = manifest[manifest["protocol"].isin(P.energy["protocols"])]
if not P.energy["array_devices"]:
    rows = rows[rows["device_id"] == P.nominal_device]
log.info("energy: %d traces of protocols %s", len(rows), P.energy["protocols"])

META = ["protocol", "resistance_label", "resistance_ohm", "device_id"]
frames, failures = [], []
for row, trace in iter_traces(rows):  # CSV or trace-store rows, each file read once
    r = pd.Series(row)
    pulses, status = pulses_or_status(trace, **P.pulses)
    if pulses is None:
        failures.append(f"{r.trace_id}: {status}")
        continue
    e = energies_of_trace(trace, pulses, row, P.energy["edge_resolution"])
    frames.append(e.assign(trace_id=r.trace_id, **{k: getattr(r, k) for k in META}))
for msg in failures:
    log.warning("no pulses: %s", msg)

KEYS = [
    "protocol",
    "resistance_label",
    "resistance_ohm",
    "polarity",
    "amplitude_A",
    "nominal_width_s",
]
if frames:
    per_pulse = pd.concat(frames, ignore_index=True)
    table = with_edge_status(
        summarise_energies(per_pulse, KEYS).rename(columns={"nominal_width_s": "width_s"})
    )
    costs = state_pulse_costs(per_pulse, P.nominal_device)
else:
    table = skipped_frame(KEYS, "no current-driven pulse traces in the manifest")
    costs = state_pulse_costs(pd.DataFrame(columns=["protocol", "device_id"]), P.nominal_device)
    per_pulse = pd.DataFrame()
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

# ------------------------------------------------------------------ figure
if per_pulse.empty:
    fig = placeholder_figure("Energy per pulse", "no current-driven pulse traces")
else:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ok = table[table["status"] != "skipped"]
    labels = ordered_labels(ok["resistance_label"])
    colors = resistance_colors(labels)
    ax = axes[0]
    for proto, pol, marker in (("ltp_ltd", 1, "o"), ("ltp_ltd", -1, "v"), ("pulse", 1, "s")):
        sel = ok[(ok["protocol"] == proto) & (ok["polarity"] == pol)]
        if proto == "pulse":
            sel = sel[
                np.isclose(sel["amplitude_A"], sel["amplitude_A"].max())
                & np.isclose(sel["width_s"], sel["width_s"].min())
            ]
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
    widths = single["width_s"]
    amps = single["amplitude_A"]
    for ax, vary, fixed, col, xlabel, scale in (
        (axes[1], "amplitude_A", "width_s", widths, "pulse amplitude (mA)", 1e3),
        (axes[2], "width_s", "amplitude_A", amps, "pulse width (ms)", 1e3),
    ):
        if single.empty:
            ax.axis("off")
            continue
        ref = col.mode().iloc[0]
        for lab in labels:
            sel = single[
                (single["resistance_label"] == lab) & np.isclose(single[fixed], ref)
            ].sort_values(vary)
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
save_figure(fig, out.figure)
