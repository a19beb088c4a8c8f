"""Rule device_params: assemble results/tables/device_params.csv (analysis -> networks contract,
docs/interfaces.md) from the LTP/LTD fits and the variability summary."""

import pandas as pd

from fmes.analysis import assemble_device_params
from fmes.analysis.energy import with_pulse_costs
from fmes.io import write_csv
from fmes.logs import rule_logger

snakemake = globals()["snakemake"]
log = rule_logger("device_params", snakemake.log[0])
fits = pd.read_csv(snakemake.input.fits, dtype={"resistance_label": str, "device_id": str})
var = pd.read_csv(snakemake.input.variability, dtype={"resistance_label": str})
if "converged" in fits:
    fits["converged"] = fits["converged"].astype(str).str.lower().eq("true")
if "kind" not in var or (var.get("status") == "skipped").all():
    var = var.iloc[0:0]
if "converged" not in fits or fits.get("status", pd.Series(dtype=str)).eq("skipped").all():
    fits = fits.iloc[0:0].assign(converged=pd.Series(dtype=bool))
params, prov = assemble_device_params(
    fits,
    var,
    nominal_device=snakemake.params.nominal_device,
    resistance_order=list(snakemake.params.resistances),
)
params = with_pulse_costs(params, pd.read_csv(snakemake.input.energy, dtype={"resistance_label": str}))
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
