"""Rule paper_vs_reproduced: every quoted value and claim of the paper beside the reproduction."""

from pathlib import Path

import pandas as pd

from fmes import comparison
from fmes.analysis.pulses import detect_pulses
from fmes.calibration import load_targets
from fmes.io import read_table, write_csv
from fmes.logs import rule_logger
from fmes.planning import plan_states
from fmes.plotting import comparison_figure, save_figure
from fmes.robustness import add_robustness_column
from fmes.traces import read_trace, read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("paper_vs_reproduced", snakemake.log[0])
inp = snakemake.input
targets = load_targets(inp.targets)
tables = {Path(p).stem: pd.read_csv(p) for p in inp.analysis}

# retention of the open-state 500 Hz train, straight from its trace (Fig 3g)
manifest = read_working_manifest(inp.manifest)
train = manifest[
    (manifest["protocol"] == "pulse_train")
    & (manifest["resistance_label"] == "open")
    & (manifest["device_id"] == snakemake.params.nominal_device)
]
retention = float("nan")
if len(train):
    trace = read_trace(train["trace_path"].iloc[0])
    pulses = detect_pulses(trace["time_s"].to_numpy(), trace["current_A"].to_numpy())
    retention = comparison.retention_after_settling(
        trace["time_s"].to_numpy(),
        trace["voltage_V"].to_numpy(),
        float(pulses["offset_s"].iloc[-1]),
    )

claims = pd.concat(
    [
        *(
            comparison.claims_from_calibration(pd.read_csv(p)) for p in inp.calibration
        ),  # model values first ...
        comparison.claims_from_analyses(
            tables, snakemake.params.nominal_device, retention, targets=targets
        ),  # ... measured ones win
        comparison.claims_from_networks(read_table(inp.networks)),
        *(comparison.claims_from_adaptation(pd.read_csv(p)) for p in inp.adaptation),
        *(comparison.claims_from_adaptation_energy(pd.read_csv(p)) for p in inp.adaptation_energy),
    ],
    ignore_index=True,
)
# why a stage or target has no value, from what the analyses produced (the same plan that
# scheduled the networks and the adaptation after the device_params checkpoint)
skipped_stages = dict(snakemake.params.skipped_stages)
if not inp.adaptation:
    plan = plan_states(
        read_table(inp.device_params),
        read_table(inp.provenance, extra_labels=("column", "source", "note")),
        [snakemake.params.adaptation_state],
        allow_non_ok=snakemake.params.adaptation_allow_non_ok,
        allow_key="adaptation.train.allow_non_ok_state",
    )
    skipped_stages["adaptation"] = f"adaptation (Fig 5) skipped: {plan['reason'].iloc[0]}"
networks = read_table(inp.networks)
table = comparison.compare(targets, claims, skipped_stages, comparison.network_skip_notes(networks))
# under how many update-scheme variants each network claim holds ("" when not evaluated)
table = add_robustness_column(table, read_table(inp.robustness[0]) if inp.robustness else None)
for row in table.itertuples():
    log.info(
        "%-32s paper=%-8.4g reproduced=%-10.4g %s",
        row.target_id,
        row.paper_value,
        row.reproduced_value,
        row.status,
    )
log.info(
    "%d pass, %d fail, %d not evaluated",
    *(int((table["status"] == s).sum()) for s in ("pass", "fail", "not evaluated")),
)
write_csv(table, snakemake.output.table)
save_figure(comparison_figure(table), snakemake.output.figure)
