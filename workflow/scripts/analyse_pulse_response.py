"""Rule analyse_pulse_response: single-pulse PSV read-out (Fig 2c-e) and I-V loops (Fig 2b)."""

from functools import partial

from fmes.analysis.figures import iv_figure, psv_resistance_figure, psv_series_figure
from fmes.analysis.pipeline import (
    frames_or_skipped,
    iv_row,
    load_protocol_rows,
    map_traces,
    pulse_response_row,
    records_or_skipped,
)
from fmes.core.figures import save_figure_or_placeholder
from fmes.core.io import write_csv
from fmes.core.logs import rule_logger
from fmes.core.status import Status


def single_pulses(snakemake, log) -> None:
    """Fig 2c-e and the single-pulse table."""
    out, P = snakemake.output, snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "pulse", P.nominal_device)
    log.info("pulse protocol: %d traces", len(rows))
    traces = {}

    def analyse(row, trace):
        record = pulse_response_row(row, trace, pulse_kw=P.pulses)
        if "onset_s" in record:  # read out: kept for the transients of Fig 2e
            traces[row["trace_id"]] = (trace, record["onset_s"])
        return record

    records = map_traces(rows, analyse)
    pulse_tab = records_or_skipped(
        records,
        [
            "trace_id",
            "resistance_label",
            "resistance_ohm",
            "device_id",
            "amplitude_A",
            "width_s",
            "psv_change_V",
        ],
        "no 'pulse' traces in the manifest",
    )
    write_csv(pulse_tab, out.pulse_table)
    ok = pulse_tab[pulse_tab["status"] == Status.OK] if records else pulse_tab.iloc[0:0]
    skip = "no analysable 'pulse' traces" if ok.empty else None
    for x_col, fixed_col, xlabel, title, path in (
        ("amplitude_A", "width_s", "pulse amplitude (mA)", "PSV vs amplitude", out.fig2c),
        ("width_s", "amplitude_A", "pulse width (ms)", "PSV vs width", out.fig2d),
    ):
        draw = partial(psv_series_figure, ok, x_col, fixed_col, xlabel, title)
        save_figure_or_placeholder(path, title, skip, draw)
    save_figure_or_placeholder(
        out.fig2e, "PSV vs resistance", skip, lambda: psv_resistance_figure(ok, traces)
    )


def iv_sweeps(snakemake, log) -> None:
    """Fig 2b, the I-V table and the loops."""
    out, P = snakemake.output, snakemake.params
    rows = load_protocol_rows(snakemake.input.manifest, "iv_sweep", P.nominal_device)
    log.info("iv_sweep protocol: %d traces", len(rows))
    results = map_traces(
        rows,
        lambda row, trace: iv_row(
            row,
            trace,
            v_target_V=P.iv["v_target_V"],
            half_window_V=P.iv["half_window_V"],
            residual_factor=P.fit_quality["residual_factor"],
        ),
    )
    reason = "no 'iv_sweep' traces in the manifest"
    iv_tab = records_or_skipped(
        [record for record, _ in results],
        ["trace_id", "resistance_label", "sweep_rate_V_per_s", "current_at_target_A"],
        reason,
    )
    loops_tab = frames_or_skipped(
        [loop for _, loop in results],
        ["resistance_label", "sweep_rate_V_per_s", "voltage_V", "current_A", "branch"],
        reason,
    )
    write_csv(iv_tab, out.iv_table)
    write_csv(loops_tab, out.iv_loops)
    save_figure_or_placeholder(
        out.fig2b,
        "I-V loops",
        None if results else "no 'iv_sweep' traces",
        lambda: iv_figure(iv_tab, loops_tab, P.iv["v_target_V"], P.iv["figure_sweep_rate_V_per_s"]),
    )


def main(snakemake) -> None:
    log = rule_logger("analyse_pulse_response", snakemake.log[0])
    single_pulses(snakemake, log)
    iv_sweeps(snakemake, log)
    log.info("done")


if __name__ == "__main__":
    main(globals()["snakemake"])  # injected by Snakemake's script: directive
