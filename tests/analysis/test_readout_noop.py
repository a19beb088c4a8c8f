"""Read-out corrections never make good data worse.

On a clean trace (no skew, glitch, mains or drift; noise-free or only quantised) from the
independent closed-form generator (tests/messy.py) every correction of the robust read-out is a
no-op to the last bit, whatever the sampling rate, pulse width, interval, amplitude and decay
shape, and the per-trace QC row says nothing was corrected. Each artifact, when present, is
detected and its correction reported.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from conftest import ROOT  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from messy import (  # noqa: E402
    CLEAN,
    LTPLTDTruth,
    PPFTruth,
    ltp_ltd_cycle,
    ppf_pair,
    with_levels,
)

from fmes.analysis.pulses import read_pulses  # noqa: E402
from fmes.analysis.qc import trace_qc_row  # noqa: E402
from fmes.core.status import Status  # noqa: E402

#: the shipped read-out settings (config/config.yaml analysis.pulses)
PULSE_KW = yaml.safe_load((ROOT / "config/config.yaml").read_text())["analysis"]["pulses"]


def _row(protocol, n_pulses=None):
    return {
        "trace_id": "t",
        "protocol": protocol,
        "device_id": "d",
        "resistance_label": "500",
        "cycle": 0,
        "n_pulses": n_pulses,
    }


def _readout(trace):
    return read_pulses(
        trace["time_s"].to_numpy(),
        trace["current_A"].to_numpy(),
        trace["voltage_V"].to_numpy(),
        **PULSE_KW,
    )


def _assert_untouched(trace, protocol, n_pulses=None):
    r = _readout(trace)
    raw = trace["voltage_V"].to_numpy()
    assert np.array_equal(r.voltage_clean_V, raw), (
        f"cleaned voltage differs from the raw one by up to "
        f"{np.max(np.abs(r.voltage_clean_V - raw)):.3g} V; trace QC {r.trace_qc}"
    )
    row, _ = trace_qc_row(_row(protocol, n_pulses), trace, PULSE_KW)
    assert row["corrections_applied"] == "", row
    assert not row["skew_applied"] and row["skew_samples"] == 0
    assert row["glitch_count"] == 0 and row["glitch_max_repair_V"] == 0.0
    assert not row["mains_removed"] and not row["drift_removed"]
    return row


@st.composite
def shapes(draw):
    """Sampling rate, pulse width and timing in samples, amplitude and decay shape."""
    fs = draw(st.sampled_from([200.0, 500.0, 1_000.0, 1_234.5, 5_000.0, 20_000.0]))
    width_n = draw(st.integers(2, 30))
    delay_n = draw(st.integers(4, 400))
    amplitude = 10 ** draw(st.floats(-4.0, 0.5))
    return {
        "fs_Hz": fs,
        "width_s": width_n / fs,
        "delay_s": delay_n / fs,
        "decay_s": draw(st.floats(0.3, 200.0)) / fs,
        "decay_beta": draw(st.sampled_from([1.0, 0.5, 0.8, 1.5])),
        "rise_s": draw(st.sampled_from([0.0, 0.3, 1.0, 5.0])) * width_n / fs,
        "jump_V": amplitude * draw(st.sampled_from([0.0, 0.1, 0.5])),
        "amplitude": amplitude,
        "quantum_V": draw(st.sampled_from([0.0, 1e-3, 1e-5])) * amplitude,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), gap_widths=st.floats(2.0, 300.0), tail_n=st.integers(20, 2_000))
def test_clean_ppf_pair_is_not_touched(shape, gap_widths, tail_n):
    shape = dict(shape)
    art = with_levels(CLEAN, quantum_V=shape.pop("quantum_V"))
    truth = PPFTruth(a1_V=shape.pop("amplitude"))
    interval_s = shape["width_s"] * gap_widths
    trace = ppf_pair(interval_s, truth, art, tail_s=tail_n / shape["fs_Hz"], **shape)
    _assert_untouched(trace, "ppf")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes(), n_pulses=st.integers(2, 12), gap_widths=st.floats(2.0, 50.0))
def test_clean_ltp_ltd_cycle_is_not_touched(shape, n_pulses, gap_widths):
    shape = dict(shape)
    art = with_levels(CLEAN, quantum_V=shape.pop("quantum_V"))
    span = shape.pop("amplitude")
    truth = LTPLTDTruth(g_min_V=0.2 * span, g_max_V=1.2 * span, n_pulses=n_pulses)
    period_s = shape["width_s"] * (1 + gap_widths)
    trace = ltp_ltd_cycle(
        truth,
        art,
        frequency_Hz=1 / period_s,
        overshoot_V=0.05 * span,
        tail_s=period_s,
        **shape,
    )
    _assert_untouched(trace, "ltp_ltd", n_pulses)


# ------------------------------------------------------------ each artifact found and reported
#: the default messy noise, offset and current artifacts, without skew, glitches, mains, drift
QUIET = with_levels(skew_samples=0, glitch_fraction=0.0, mains_V=0.0, drift_V_per_s=0.0)


@pytest.mark.parametrize(
    ("levels", "applied"),
    [
        ({}, ""),
        ({"skew_samples": 2}, "skew"),
        ({"skew_samples": -1}, "skew"),
        ({"mains_V": 2e-3}, "mains"),
        ({"drift_V_per_s": 0.05}, "drift"),
        ({"skew_samples": 1, "mains_V": 2e-3, "drift_V_per_s": 0.05}, "skew;mains;drift"),
    ],
)
def test_each_artifact_is_corrected_and_reported(levels, applied):
    trace = ppf_pair(0.01, art=with_levels(QUIET, **levels), seed=4)
    row, _ = trace_qc_row(_row("ppf"), trace, PULSE_KW)
    assert row["corrections_applied"] == applied, row
    assert row["skew_samples"] == levels.get("skew_samples", 0)
    if "mains_V" in levels:
        assert row["mains_amplitude_V"] == pytest.approx(levels["mains_V"], rel=0.2)
    if "drift_V_per_s" in levels:
        assert row["drift_V_per_s"] == pytest.approx(levels["drift_V_per_s"], rel=0.2)
    assert row["status"] == Status.OK, row["reason"]


def test_glitch_repair_is_reported_with_its_size():
    trace = ppf_pair(0.01, art=with_levels(CLEAN, noise_V=2e-4), seed=2)
    k = int(round(0.055 * 10_000))  # a rest sample after the first pulse
    trace.loc[k, "voltage_V"] += 0.012
    row, readout = trace_qc_row(_row("ppf"), trace, PULSE_KW)
    assert row["corrections_applied"] == "glitches" and row["glitch_count"] == 1
    assert row["glitch_max_repair_V"] == pytest.approx(0.012, abs=1e-3)
    untouched = np.delete(np.arange(len(trace)), k)
    assert np.array_equal(
        readout.voltage_clean_V[untouched], trace["voltage_V"].to_numpy()[untouched]
    )
