"""Numerical edge cases: degenerate inputs give a flagged result or a clear error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fmes.analysis.ltp_ltd import fit_ltp_ltd
from fmes.analysis.ppf import fit_ppf
from fmes.data.traces import parse_resistance
from fmes.device.synapse import DeviceSpec

DT = np.array([0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3])


@pytest.mark.parametrize("value", ["0", "0.0", "-500", 0, -1.0])
def test_zero_or_negative_ohm_is_a_clear_error(value):
    with pytest.raises(ValueError, match=r"expected a resistance > 0 ohm or 'open'"):
        parse_resistance(value)


def test_ppf_fit_on_all_equal_data_is_flagged_not_trusted():
    row = fit_ppf(DT, np.ones_like(DT))  # no facilitation at all: the model is degenerate
    assert not row["converged"]
    assert row["reason"]


def test_ppf_fit_on_no_data_is_flagged():
    row = fit_ppf(np.array([]), np.array([]))
    assert not row["converged"]


def _cycle(weight: float | np.ndarray, n: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "phase": ["ltp"] * n + ["ltd"] * n,
            "pulse_number": [*range(1, n + 1)] * 2,
            "weight_V": np.broadcast_to(weight, 2 * n),
        }
    )


def test_zero_dynamic_range_is_flagged_by_the_fit_and_refused_by_the_synapse():
    row = fit_ltp_ltd(_cycle(0.1))
    assert not row["converged"] and row["reason"]
    assert row["g_max_V"] - row["g_min_V"] == pytest.approx(0.0)
    # such a row must never become a device: the network stage refuses it by name
    with pytest.raises(ValueError, match="g_max_V > g_min_V"):
        DeviceSpec("500", g_min_V=0.1, g_max_V=0.1, n_pulses=10, a_p_pulses=3.0, a_d_pulses=3.0)


def test_too_few_weights_give_a_reason_not_an_exception():
    row = fit_ltp_ltd(_cycle(np.array([]), n=0))
    assert not row["converged"] and "need" in row["reason"]
    assert math.isnan(row["a_p_pulses"])
