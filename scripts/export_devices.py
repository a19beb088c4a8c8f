"""Rule export_devices: per-state device parameters for MLP+NeuroSim and aihwkit, round-tripped."""

import numpy as np
import pandas as pd

from fmes.export import aihwkit_softbounds, neurosim_block, roundtrip_error
from fmes.io import read_table, write_csv, write_json, write_text
from fmes.logs import rule_logger

snakemake = globals()["snakemake"]
log = rule_logger("export_devices", snakemake.log[0])
params = read_table(snakemake.input.device_params)
tolerance = float(snakemake.params.tolerance)
blocks, devices, rows = [], {}, []
for row in params.to_dict("records"):
    label = str(row["resistance_label"])
    blocks.append(neurosim_block(row))
    devices[label] = aihwkit_softbounds(row)
    for tool in ("neurosim", "aihwkit"):
        error = roundtrip_error(row, tool)
        ok = bool(np.isfinite(error) and error <= tolerance)
        rows.append(
            {
                "resistance_label": label,
                "tool": tool,
                "max_curve_error_frac": error,
                "tolerance_frac": tolerance,
                "status": "ok" if ok else "flagged",
                "reason": "" if ok else f"exported curve deviates by {error:.3g} of the range (> {tolerance:g})",
            }
        )
        log.info("%s %s: largest curve deviation %.2e of the range", label, tool, error)
header = (
    "// MLP+NeuroSim V3.0 RealDevice parameters (Cell.cpp), one block per FMES resistance state.\n"
    "// Paste one block into RealDevice::RealDevice(); mapping and caveats: docs/exports.md.\n\n"
)
write_text(header + "\n".join(blocks), snakemake.output.neurosim)
write_json({"source": "fmes-repro results/tables/device_params.csv", "devices": devices}, snakemake.output.aihwkit)
write_csv(pd.DataFrame(rows), snakemake.output.roundtrip)
