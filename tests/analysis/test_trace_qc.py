"""Per-trace QC rows and figures (fmes.analysis.qc)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from messy import DEFAULT, LTPLTDTruth, ltp_ltd_cycle, ppf_pair, with_levels  # noqa: E402

from fmes.analysis.figures import qc_figure  # noqa: E402
from fmes.analysis.qc import TRACE_QC_COLUMNS, trace_qc_row  # noqa: E402
from fmes.core.status import Status  # noqa: E402

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


def test_sample_trace_ids_spread_evenly_per_protocol():
    import pandas as pd

    from fmes.analysis.qc import sample_trace_ids

    manifest = pd.DataFrame(
        {"trace_id": [f"p{i}" for i in range(5)] + ["q0"], "protocol": ["ppf"] * 5 + ["pulse"]}
    )
    assert sample_trace_ids(manifest, 2) == {"p0", "p4", "q0"}
    assert sample_trace_ids(manifest, 3) == {"p0", "p2", "p4", "q0"}


def test_qc_figure_name_says_sample_or_flagged():
    from fmes.analysis.qc import qc_figure_name

    assert qc_figure_name(_row("ppf"), Status.OK) == "ppf_sample_t1.png"
    assert qc_figure_name(_row("ppf"), Status.POOR_FIT) == "ppf_flagged_t1.png"


def test_qc_figures_are_the_samples_and_the_first_flagged_traces():
    from fmes.analysis.qc import QcFigureChoice

    choice = QcFigureChoice({"s1", "s2"}, max_flagged=2)
    decisions = [
        choice.draw(trace_id, status)
        for trace_id, status in [
            ("s1", Status.OK),  # sampled
            ("a", Status.OK),
            ("b", Status.FLAGGED),  # first not-ok
            ("s2", Status.POOR_FIT),  # sampled and not ok: counts towards the limit
            ("c", Status.FAILED),  # over the limit
            ("d", Status.OK),
        ]
    ]
    assert decisions == [True, False, True, True, False, False]
    assert (choice.n_not_ok, choice.n_drawn) == (3, 2)
    none = QcFigureChoice(set(), max_flagged=0)
    assert not none.draw("x", Status.FAILED) and (none.n_not_ok, none.n_drawn) == (1, 0)
