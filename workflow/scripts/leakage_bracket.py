"""Rule leakage_bracket: the cell's leakage resistance bracketed by the paper's retention target,
and every state's retention τ across the bracket (fmes.device.calibration.retention_leakage_bracket)."""

from fmes.core.io import read_json, write_csv
from fmes.core.logs import rule_logger
from fmes.data.targets import load_targets
from fmes.data.traces import parse_resistance
from fmes.device import calibration
from fmes.device import circuit as dev

TARGET = "retention_open_100s"


def main(snakemake) -> None:
    log = rule_logger("leakage_bracket", snakemake.log[0])
    p = snakemake.params
    params = dev.CellParams.from_mapping(read_json(snakemake.input.cell_params)["cell_params"])
    targets = load_targets(snakemake.input.targets)
    conditions = calibration.ModelConditions.from_targets(targets)
    kept_target = float(next(t for t in targets if t["id"] == TARGET)["value"])
    bracket = calibration.retention_leakage_bracket(
        params,
        conditions.retention_open_100s,
        p.pulse_train,
        kept_target,
        float(p.leakage["upper_factor"]),
        {label: parse_resistance(label) for label in p.resistances},
    )
    for row in bracket.itertuples(index=False):
        log.info(
            "%-7s leakage %.4g ohm (keeps %.4f at the target's read time): state %s tau %.4g s "
            "(x%.3g of nominal) %s",
            row.bound,
            row.leakage_resistance_ohm,
            row.kept_fraction,
            row.resistance_label,
            row.model_tau_s,
            row.tau_scale,
            row.reason,
        )
    write_csv(bracket, snakemake.output.table)


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
