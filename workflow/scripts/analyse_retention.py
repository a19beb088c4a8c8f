"""Rule analyse_retention: learning during the 500 Hz train and forgetting after it (and after
single pulses): Kohlrausch and two-term exponential fits (Fig 3e, 3f, 3g)."""

import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.figures import forgetting_figure, learning_figure, pulse_train_figure
from fmes.analysis.pipeline import (
    at_most_common,
    frames_or_skipped,
    load_protocol_rows,
    map_traces,
    ordered_labels,
    records_or_skipped,
    retention_row,
)
from fmes.analysis.retention import trains_with_value
from fmes.core.figures import resistance_colors, save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger


def main(snakemake) -> None:
    log = rule_logger("analyse_retention", snakemake.log[0])
    out = snakemake.output
    P = snakemake.params
    R = P.retention
    train_rows = load_protocol_rows(snakemake.input.manifest, "pulse_train", P.nominal_device)
    # forgetting after the nominal single pulse (most common amplitude and width)
    pulse_rows = at_most_common(
        load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device),
        ["amplitude_A", "width_s"],
    )
    log.info(
        "retention: %d pulse_train and %d single-pulse traces", len(train_rows), len(pulse_rows)
    )
    limits = QualityLimits(**P.fit_quality)
    curves = {}

    def analyse(row, trace):
        record, result, learning = retention_row(
            row,
            trace,
            pulse_kw=P.pulses,
            n_points=R["n_points"],
            t_ret_s=R["t_ret_s"],
            u_inf_free=R["u_inf_free"],
            limits=limits,
        )
        if result is not None:
            curves[row["trace_id"]] = (trace, result)
            log.info(
                "%s: kww tau=%.4g s beta=%.3g (%s)",
                row["trace_id"],
                record.get("kww_tau_s", np.nan),
                record.get("kww_beta", np.nan),
                record.get("kww_reason"),
            )
        return record, learning

    results = map_traces(pd.concat([train_rows, pulse_rows]), analyse)
    tab = records_or_skipped(
        [record for record, _ in results],
        ["trace_id", "protocol", "resistance_label", "kww_tau_s", "kww_beta"],
        "no 'pulse_train' or 'pulse' traces in the manifest",
    )
    write_csv(tab, out.table)
    learn = frames_or_skipped(
        [table for _, table in results if table is not None],
        ["trace_id", "resistance_label", "pulse_number", "psv_after_V"],
        "no analysable 'pulse_train' traces",
    )
    write_csv(learn, out.learning)

    # Every row with a value is drawn (a poor Kohlrausch fit is still a measured forgetting curve).
    trains = trains_with_value(tab) if results else tab[0:0]
    skip = "no analysable 'pulse_train' traces" if trains.empty else None
    labels = ordered_labels(trains["resistance_label"])
    colors = resistance_colors(labels)
    for path, title, draw in (
        (
            out.fig3e,
            "LTP under prolonged stimulation",
            lambda: pulse_train_figure(trains, curves, colors),
        ),
        (out.fig3f, "learning", lambda: learning_figure(learn, labels, colors)),
        (
            out.fig3g,
            "forgetting",
            lambda: forgetting_figure(trains, curves, colors, R["t_ret_s"], R["u_inf_free"]),
        ),
    ):
        save_figure_or_placeholder(path, title, skip, draw)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
