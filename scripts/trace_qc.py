"""Rule trace_qc: one quality-control row per trace (results/qc/trace_qc.csv) and QC figures
(a sample of traces per protocol and every flagged trace, up to analysis.qc.max_flagged_figures)."""

from pathlib import Path

import numpy as np
import pandas as pd

from fmes.analysis.qc import TRACE_QC_COLUMNS, qc_figure, trace_qc_row
from fmes.io import write_csv
from fmes.logs import rule_logger
from fmes.plotting import save_figure
from fmes.status import Status
from fmes.store import iter_traces
from fmes.traces import read_working_manifest

snakemake = globals()["snakemake"]
log = rule_logger("trace_qc", snakemake.log[0])
P = snakemake.params
manifest = read_working_manifest(snakemake.input.manifest)
manifest["position"] = np.arange(len(manifest))
log.info("trace QC of %d traces", len(manifest))

# Sample figures: per protocol, traces evenly spaced through its rows (deterministic).
picks: set[str] = set()
for _, group in manifest.groupby("protocol", sort=False):
    k = min(P.qc["sample_per_protocol"], len(group))
    picks |= set(group["trace_id"].iloc[np.unique(np.linspace(0, len(group) - 1, k).astype(int))])

figures = Path(snakemake.output.figures)
figures.mkdir(parents=True, exist_ok=True)
rows, n_flagged_drawn, n_flagged = [], 0, 0
for row, trace in iter_traces(manifest):
    qc_row, readout = trace_qc_row(row, trace, dict(P.pulses))
    not_ok = qc_row["status"] != Status.OK
    n_flagged += not_ok
    draw_flagged = not_ok and n_flagged_drawn < P.qc["max_flagged_figures"]
    qc_row["figure"] = ""
    if row["trace_id"] in picks or draw_flagged:
        n_flagged_drawn += bool(draw_flagged)
        name = f"{row['protocol']}_{'flagged' if not_ok else 'sample'}_{row['trace_id']}.png"
        title = f"{row['trace_id']} ({row['protocol']}): {qc_row['status']} {qc_row['reason']}"[
            :160
        ]
        save_figure(qc_figure(trace, readout, title), figures / name)
        qc_row["figure"] = name
    rows.append(qc_row | {"position": row["position"]})
table = pd.DataFrame(rows).sort_values("position").drop(columns="position")
table = table.reindex(columns=[*TRACE_QC_COLUMNS, "figure"])
write_csv(table, snakemake.output.table)
log.info(
    "statuses %s; %d not-ok traces, %d drawn (limit analysis.qc.max_flagged_figures = %d)",
    table["status"].value_counts().to_dict(),
    n_flagged,
    n_flagged_drawn,
    P.qc["max_flagged_figures"],
)
