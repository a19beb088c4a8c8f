"""Per-trace QC rows and figures (fmes.analysis.qc)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from messy import DEFAULT, LTPLTDTruth, ltp_ltd_cycle, ppf_pair, with_levels  # noqa: E402

from fmes.analysis.qc import TRACE_QC_COLUMNS, qc_figure, trace_qc_row  # noqa: E402
from fmes.status import Status  # noqa: E402

PULSE_KW = {"max_skew_samples": 5, "glitch_sigmas": 8.0, "mains_frequency_Hz": 50.0}


def _row(protocol, **extra):
    return {
        "trace_id": "t1",
        "protocol": protocol,
        "device_id": "d",
        "resistance_label": "500",
        "cycle": 0,
    } | extra


def test_messy_ppf_trace_row_reports_the_artifacts_and_is_ok():
    trace = ppf_pair(0.01, art=with_levels(skew_samples=2), seed=1)
    row, readout = trace_qc_row(_row("ppf"), trace, PULSE_KW)
    assert set(TRACE_QC_COLUMNS) <= set(row)
    assert row["status"] == Status.OK, row["reason"]
    assert row["pulses_found"] == row["pulses_declared"] == 2
    assert row["skew_samples"] == 2
    assert np.isclose(row["mains_amplitude_V"], DEFAULT.mains_V, rtol=0.2)
    assert np.isclose(row["noise_V"], DEFAULT.noise_V, rtol=0.3)
    assert row["analyses"] == "analyse_ppf"
    fig = qc_figure(trace, readout, "ppf")
    assert len(fig.axes) == 4  # two panels, each with its current axis


def test_pulse_count_not_matching_the_manifest_is_flagged():
    truth = LTPLTDTruth()
    trace = ltp_ltd_cycle(truth, DEFAULT, seed=1)
    row, _ = trace_qc_row(_row("ltp_ltd", n_pulses=truth.n_pulses + 1), trace, PULSE_KW)
    assert row["status"] == Status.FLAGGED
    assert "manifest declares 102" in row["reason"]


def test_trace_without_pulses_is_failed_with_the_reason():
    trace = ppf_pair(0.01, seed=1)
    trace["current_A"] = 1e-6
    row, readout = trace_qc_row(_row("ppf"), trace, PULSE_KW)
    assert readout is None and row["status"] == Status.FAILED and "no pulses" in row["reason"]
