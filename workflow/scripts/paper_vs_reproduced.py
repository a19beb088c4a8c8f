"""Rule paper_vs_reproduced: every quoted value and claim of the paper beside the reproduction."""

import math
from pathlib import Path

import pandas as pd

from fmes.claims import comparison
from fmes.claims.figures import comparison_figure
from fmes.claims.robustness import add_robustness_column
from fmes.core.figures import save_figure
from fmes.core.io import read_table, write_csv
from fmes.core.logs import rule_logger
from fmes.data.targets import check_selects, load_targets, target_by_id, targets_by_id
from fmes.data.traces import read_trace, read_working_manifest
from fmes.device.calibration import TrainRetention, read_conditions
from fmes.workflow.planning import plan_states


def train_retention_at(
    manifest_path: str,
    nominal_device: str,
    state: str,
    pulse_settings: dict,
    t_ref_s: float,
    t_ret_s: float,
) -> float:
    """Retention of the nominal device's pulse train at ``state`` (Fig 3g), read from its trace
    with the run's pulse settings; NaN when the data hold no such train."""
    manifest = read_working_manifest(manifest_path)
    train = manifest[
        (manifest["protocol"] == "pulse_train")
        & (manifest["resistance_label"] == state)
        & (manifest["device_id"] == nominal_device)
    ]
    if train.empty:
        return math.nan
    return comparison.train_retention(
        read_trace(train["trace_path"].iloc[0]),
        dict(pulse_settings),
        float(t_ret_s),
        t_ref_s=t_ref_s,
    )


def adaptation_skip_reason(inp, params) -> str:
    """Why the adaptation stage has no tables: the reason of the same plan that scheduled it
    after the device_params checkpoint."""
    plan = plan_states(
        read_table(inp.device_params),
        read_table(inp.provenance, extra_labels=("column", "source", "note")),
        [params.adaptation_state],
        allow_non_ok=params.adaptation_allow_non_ok,
        allow_key="adaptation.train.allow_non_ok_state",
    )
    return f"adaptation (Fig 5) skipped: {plan['reason'].iloc[0]}"


def main(snakemake) -> None:
    log = rule_logger("paper_vs_reproduced", snakemake.log[0])
    inp, p = snakemake.input, snakemake.params
    targets = load_targets(inp.targets)
    check_selects(targets)
    tables = {Path(path).stem: read_table(path) for path in inp.analysis}
    # the state and reference read of the retention target (Fig 3g: open, 1 s after the train),
    # as the calibration's model reads them; the late read is the run's analysis.retention.t_ret_s
    reads = read_conditions(
        target_by_id(targets_by_id(targets), "retention_open_100s"), TrainRetention
    )
    (state,) = reads.resistance_label
    retention = train_retention_at(
        inp.manifest, p.nominal_device, state, p.pulses, reads.t_ref_s, p.t_ret_s
    )
    networks = read_table(inp.networks)
    claims = pd.concat(
        [
            # model values first ...
            *(comparison.claims_from_calibration(read_table(path)) for path in inp.calibration),
            # ... measured ones win
            comparison.claims_from_analyses(tables, p.nominal_device, targets=targets),
            comparison.retention_claims(
                retention, state, reads.t_ref_s, p.t_ret_s, p.train_frequency_Hz
            ),
            comparison.claims_from_networks(networks, targets=targets),
            *(
                comparison.claims_from_adaptation(
                    read_table(path), targets=targets, train_state=p.adaptation_state
                )
                for path in inp.adaptation
            ),
            *(
                comparison.claims_from_adaptation_energy(read_table(path))
                for path in inp.adaptation_energy
            ),
        ],
        ignore_index=True,
    )
    # why a stage or target has no value, from what the analyses produced
    skipped_stages = dict(p.skipped_stages)
    if not inp.adaptation:
        skipped_stages["adaptation"] = adaptation_skip_reason(inp, p)
    table = comparison.compare(
        targets, claims, skipped_stages, comparison.network_skip_notes(networks, targets)
    )
    # under how many update-scheme variants each network claim holds ("" when not evaluated)
    # and, for those claims, the status from their verdict under the default update scheme
    table = add_robustness_column(
        table,
        read_table(inp.robustness[0]) if inp.robustness else None,
        default_variant=p.default_variant,
    )
    for row in table.itertuples():
        log.info(
            "%-32s paper=%-8.4g reproduced=%-10.4g %s",
            row.target_id,
            row.paper_value,
            row.reproduced_value,
            row.status,
        )
    log.info(
        "%d pass, %d fail, %d inconclusive, %d not evaluated",
        *(
            int((table["status"] == s).sum())
            for s in ("pass", "fail", "inconclusive", "not evaluated")
        ),
    )
    write_csv(table, snakemake.output.table)
    save_figure(comparison_figure(table), snakemake.output.figure)


if __name__ == "__main__":
    main(globals()["snakemake"])
