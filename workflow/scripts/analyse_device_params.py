"""Rule device_params: assemble results/tables/device_params.csv (analysis -> networks contract,
docs/interfaces.md) from the LTP/LTD fits and the variability summary."""

import pandas as pd

from fmes.analysis.device_params import assemble_device_params
from fmes.analysis.energy import with_pulse_costs
from fmes.analysis.pipeline import read_unless_skipped
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("device_params", snakemake.log[0])
    # a 'skipped' placeholder (no such traces) stands for an empty table
    fits = read_unless_skipped(snakemake.input.fits)
    var = read_unless_skipped(snakemake.input.variability)
    if var is None or "kind" not in var:
        var = pd.read_csv(snakemake.input.variability, nrows=0, dtype=str)
    if fits is None or "converged" not in fits:
        fits = pd.read_csv(snakemake.input.fits, nrows=0, dtype=str).assign(
            converged=pd.Series(dtype=bool)
        )
    params, prov = assemble_device_params(
        fits,
        var,
        nominal_device=snakemake.params.nominal_device,
        resistance_order=list(snakemake.params.resistances),
    )
    params = with_pulse_costs(params, read_table(snakemake.input.energy))
    if params.empty:
        log.warning(
            "no resistance state has a converged LTP/LTD fit: device_params.csv is empty; see %s",
            snakemake.output.provenance,
        )
        if prov.empty:
            prov = pd.DataFrame(
                [
                    {
                        "resistance_label": "*",
                        "column": "*",
                        "source": "skipped",
                        "note": "no 'ltp_ltd' traces in the manifest",
                    }
                ]
            )
    for row in params.itertuples(index=False):
        log.info(
            "%s ohm: A_P=%.3g A_D=%.3g pulses, NL %.2f/%.2f, %d states",
            row.resistance_label,
            row.a_p_pulses,
            row.a_d_pulses,
            row.nl_ltp,
            row.nl_ltd,
            row.n_states,
        )
    write_csv(params, snakemake.output.params)
    write_csv(prov, snakemake.output.provenance)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
