"""Rule export_devices: per-state device parameters for MLP+NeuroSim and aihwkit, round-tripped."""

import pandas as pd

from fmes.claims.export import aihwkit_devices, neurosim_file, roundtrip_row
from fmes.core.io import read_table, write_csv, write_json, write_text
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("export_devices", snakemake.log[0])
    params = read_table(snakemake.input.device_params)
    tolerance = float(snakemake.params.tolerance)
    rows = [
        roundtrip_row(row, tool, tolerance)
        for row in params.to_dict("records")
        for tool in ("neurosim", "aihwkit")
    ]
    for row in rows:
        log.info(
            "%s %s: largest curve deviation %.2e of the range",
            row["resistance_label"],
            row["tool"],
            row["max_curve_error_frac"],
        )
    write_text(neurosim_file(params), snakemake.output.neurosim)
    write_json(
        aihwkit_devices(params, "fmes-repro results/tables/device_params.csv"),
        snakemake.output.aihwkit,
    )
    write_csv(pd.DataFrame(rows), snakemake.output.roundtrip)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
