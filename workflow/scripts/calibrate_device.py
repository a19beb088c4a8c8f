"""Rule calibrate_device: fit the equivalent circuit to the paper's quoted numbers."""

from fmes.core.figures import save_figure
from fmes.core.io import write_csv, write_json
from fmes.core.logs import rule_logger
from fmes.data.targets import load_targets
from fmes.device import calibration
from fmes.device.figures import calibration_figure


def main(snakemake) -> None:
    log = rule_logger("calibrate_device", snakemake.log[0])
    cfg = snakemake.params
    targets = load_targets(snakemake.input.targets)
    config = {"device": cfg.device, "calibration": cfg.calibration, "protocols": cfg.protocols}
    result = calibration.calibrate_from_config(config, targets)
    log.info("fitted %s against %d targets", result.fitted or "nothing (disabled)", len(targets))
    log.info("fit success=%s (%s)", result.success, result.message)
    if result.stderr_reason:
        log.info("no parameter uncertainty: %s", result.stderr_reason)
    for row in result.table.itertuples():
        log.info(
            "%-32s paper=%-10.4g model=%-10.4g passed=%s",
            row.target_id,
            row.paper_value,
            row.model_value,
            row.passed,
        )
    write_json(
        {
            "cell_params": {k: float(v) for k, v in result.params.as_dict().items()},
            "fitted": result.fitted,
            "success": result.success,
            "message": result.message,
            "stderr_rel": result.stderr_rel,
            "stderr_reason": result.stderr_reason,
            "chisqr": result.chisqr,
        },
        snakemake.output.params,
    )
    write_csv(result.table, snakemake.output.table)
    save_figure(
        calibration_figure(result.params, result.table, result.conditions),
        snakemake.output.figure,
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
