"""Rule export_devices: per-state device parameters for MLP+NeuroSim and aihwkit, round-tripped."""

import pandas as pd

from fmes.export import aihwkit_softbounds, neurosim_block, roundtrip_row
from fmes.io import read_table, write_csv, write_json, write_text
from fmes.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("export_devices", snakemake.log[0])
    params = read_table(snakemake.input.device_params)
    tolerance = float(snakemake.params.tolerance)
    blocks, devices, rows = [], {}, []
    for row in params.to_dict("records"):
        label = str(row["resistance_label"])
        blocks.append(neurosim_block(row))
        devices[label] = aihwkit_softbounds(row)
        for tool in ("neurosim", "aihwkit"):
            rows.append(roundtrip_row(row, tool, tolerance))
            log.info("%s %s: largest curve deviation %.2e of the range", label, tool, rows[-1]["max_curve_error_frac"])
    header = (
        "// MLP+NeuroSim V3.0 RealDevice parameters (Cell.cpp), one block per FMES resistance state.\n"
        "// Paste one block into RealDevice::RealDevice(); mapping and caveats: docs/exports.md.\n\n"
    )
    write_text(header + "\n".join(blocks), snakemake.output.neurosim)
    write_json({"source": "fmes-repro results/tables/device_params.csv", "devices": devices}, snakemake.output.aihwkit)
    write_csv(pd.DataFrame(rows), snakemake.output.roundtrip)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
