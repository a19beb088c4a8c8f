"""Rule trace_qc: one quality-control row per trace (results/qc/trace_qc.csv) and QC figures
(a sample of traces per protocol and every flagged trace, up to analysis.qc.max_flagged_figures)."""

from pathlib import Path

import pandas as pd

from fmes.analysis.figures import qc_figure
from fmes.analysis.pipeline import load_protocol_rows, map_traces
from fmes.analysis.qc import (
    TRACE_QC_COLUMNS,
    QcFigureChoice,
    qc_figure_name,
    sample_trace_ids,
    trace_qc_row,
)
from fmes.core.figures import save_figure
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("trace_qc", snakemake.log[0])
    P = snakemake.params
    manifest = load_protocol_rows(snakemake.input.manifest, None, by_state=False)
    log.info("trace QC of %d traces", len(manifest))
    picks = sample_trace_ids(manifest, P.qc["sample_per_protocol"])
    figures = Path(snakemake.output.figures)
    figures.mkdir(parents=True, exist_ok=True)
    choice = QcFigureChoice(picks, P.qc["max_flagged_figures"])

    def analyse(row, trace):
        qc_row, readout = trace_qc_row(row, trace, dict(P.pulses))
        qc_row["figure"] = ""
        if choice.draw(row["trace_id"], qc_row["status"]):
            title = f"{row['trace_id']} ({row['protocol']}): {qc_row['status']} {qc_row['reason']}"
            name = qc_figure_name(row, qc_row["status"])
            save_figure(qc_figure(trace, readout, title[:160]), figures / name)
            qc_row["figure"] = name
        return qc_row

    table = pd.DataFrame(map_traces(manifest, analyse))
    table = table.reindex(columns=[*TRACE_QC_COLUMNS, "figure"])
    write_csv(table, snakemake.output.table)
    log.info(
        "statuses %s; %d not-ok traces, %d drawn (limit analysis.qc.max_flagged_figures = %d)",
        table["status"].value_counts().to_dict(),
        choice.n_not_ok,
        choice.n_drawn,
        choice.max_flagged,
    )


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
