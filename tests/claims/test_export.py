"""Exports to MLP+NeuroSim and aihwkit: their own update rules reproduce our fitted curves."""

import numpy as np
import pytest

from fmes.claims.export import (
    aihwkit_curve,
    aihwkit_softbounds,
    fitted_curve,
    neurosim_block,
    neurosim_curve,
    neurosim_parameters,
    roundtrip_error,
)


def _row(label="500", n=150, a_p=40.0, a_d=25.0, **extra):
    from fmes.device.synapse import nl_label_from_a

    row = {
        "resistance_label": label,
        "n_pulses": n,
        "a_p_pulses": a_p,
        "a_d_pulses": a_d,
        "nl_ltp": float(nl_label_from_a(a_p / n)),
        "nl_ltd": float(nl_label_from_a(a_d / n)),
        "g_min_V": -0.01,
        "g_max_V": 0.2,
        "c2c_sigma_frac": 0.01,
        "d2d_a_cv": 0.05,
        "d2d_range_cv": 0.03,
        "energy_ltp_J": 5e-8,
        "energy_ltd_J": 6e-8,
        "pulse_width_s": 1e-3,
        "pulse_period_s": 0.5,
    }
    return row | extra


@pytest.mark.parametrize(
    "a_p,a_d,n", [(40.0, 25.0, 150), (25.0, 40.0, 150), (23.6, 23.0, 30), (3e4, 750.0, 30)]
)
def test_both_tools_reproduce_the_fitted_curve_within_two_percent(a_p, a_d, n):
    row = _row(a_p=a_p, a_d=a_d, n=n)
    assert roundtrip_error(row, "neurosim") < 0.02
    assert roundtrip_error(row, "aihwkit") < 1e-9  # soft bounds are the same geometric relaxation
    ltp, ltd = aihwkit_curve(aihwkit_softbounds(row))
    assert (
        ltp[0] == pytest.approx(0.0)
        and ltp[-1] == pytest.approx(1.0)
        and ltd[-1] == pytest.approx(0.0)
    )


def test_aihwkit_parameters_follow_its_conventions_and_a_wrong_asymmetry_is_caught():
    row = _row(a_p=40.0, a_d=25.0)
    p = aihwkit_softbounds(row)["parameters"]
    assert p["w_min"] < 0 < p["w_max"]  # aihwkit requires [w_min, w_max] to contain 0
    assert p["w_max"] > 1 and p["w_min"] < -1  # soft bounds are the asymptotes beyond the range
    assert p["up_down"] < 0  # LTD (smaller A) steps more than LTP here
    flipped = aihwkit_softbounds(row)
    flipped["parameters"]["up_down"] = -p["up_down"]
    ours = fitted_curve(row)
    wrong = aihwkit_curve(flipped)
    assert max(np.max(np.abs(t - o)) for t, o in zip(wrong, ours, strict=True)) > 0.02
    assert p["dw_min_std"] == pytest.approx(2 * 0.01 / p["dw_min"])


def test_neurosim_labels_signs_and_published_table():
    from fmes.device.synapse import a_norm_from_nl

    assert a_norm_from_nl(1.0) == pytest.approx(1.2517, abs=2e-3)  # NeuroSim's getParamA(1.00)
    p = neurosim_parameters(_row())
    assert p["NL_LTP"] > 0 > p["NL_LTD"] and p["maxNumLevelLTP"] == p["maxNumLevelLTD"] == 150
    assert 0 < p["sigmaDtoD"] < 1
    block = neurosim_block(_row())
    assert (
        "NL_LTD = -" in block
        and "sigmaCtoC = 0.01000 * (maxConductance - minConductance);" in block
    )
    harsh = neurosim_parameters(_row(nl_ltp=12.0))
    assert harsh["NL_LTP"] == 9.0 and "clipped" in harsh["notes"][0]
    linear = neurosim_parameters(_row(a_p=1e6, a_d=1e6, nl_ltp=0.001, nl_ltd=0.002))
    assert not linear["nonlinearWrite"]
    ltp, ltd = neurosim_curve(linear)
    np.testing.assert_allclose(ltp, np.linspace(0, 1, 151))
