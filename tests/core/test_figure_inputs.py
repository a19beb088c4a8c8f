"""What the rule scripts used to compute themselves, now in the library: mostly what they draw
(means over seeds, route means, heat maps, relative drift, fitted curves, the rows a figure
shows), and the per-state choices of the network rules (pulse costs, inference model, states
searched). Small frames whose results can be checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmes.device.energy import PulseCost, pulse_costs_by_state
from fmes.networks.estimators import curves_over_seeds
from fmes.networks.inference import (
    accuracy_over_seeds,
    adc_accuracy_over_seeds,
    time_within_tolerance,
    with_read_noise_if_any,
)


def test_pulse_costs_by_state_keeps_complete_states_and_names_the_others():
    params = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "energy_ltp_J": [2e-9, np.nan],
            "energy_ltd_J": [3e-9, 1e-9],
            "pulse_width_s": [1e-3, 1e-3],
            "pulse_period_s": [0.5, 0.5],
        }
    )
    costs, missing = pulse_costs_by_state(params)
    assert costs == {"500": PulseCost(2e-9, 3e-9, 1e-3, 0.5)}
    assert len(missing) == 1 and "'open'" in missing[0] and "energy_ltp_J" in missing[0]


def test_curves_over_seeds_mean_and_sample_std_per_epoch_single_seed_spread_zero():
    curves = pd.DataFrame(
        {
            "net": ["mlp"] * 6,
            "state": ["500"] * 4 + ["open"] * 2,
            "seed": [0, 0, 1, 1, 0, 0],
            "epoch": [0, 1, 0, 1, 0, 1],
            "test_accuracy": [0.1, 0.5, 0.3, 0.9, 0.2, 0.4],
            "energy_J": [0.0, 2.0, 0.0, 4.0, 0.0, 1.0],
        }
    )
    out = curves_over_seeds(curves, ["test_accuracy", "energy_J"])
    assert out[["state", "epoch"]].values.tolist() == [
        ["500", 0],
        ["500", 1],
        ["open", 0],
        ["open", 1],
    ]
    assert out["test_accuracy_mean"].tolist() == pytest.approx([0.2, 0.7, 0.2, 0.4])
    # sample std of (0.5, 0.9) is 0.4 / sqrt(2); one seed: 0
    assert out["test_accuracy_std"].tolist() == pytest.approx(
        [np.sqrt(0.02), 0.4 / np.sqrt(2), 0, 0]
    )
    assert out["energy_J_mean"].tolist() == pytest.approx([0.0, 3.0, 0.0, 1.0])


def _over_time(noise: list[bool]) -> pd.DataFrame:
    rows = []
    for read_noise in noise:
        for seed, accuracies in ((0, (0.9, 0.8)), (1, (0.7, 0.4))):
            for time_s, accuracy in zip((0.0, 10.0), accuracies, strict=True):
                rows.append(
                    {
                        "net": "mlp",
                        "state": "500",
                        "seed": seed,
                        "read_noise": read_noise,
                        "reference": "differential",
                        "leakage_bound": "nominal",
                        "time_s": time_s,
                        "accuracy": accuracy - (0.1 if read_noise else 0.0),
                    }
                )
    return pd.DataFrame(rows)


def test_over_time_figure_shows_the_noisy_runs_if_any_and_their_seed_mean():
    both = _over_time([False, True])
    shown = with_read_noise_if_any(both)
    assert shown["read_noise"].all() and len(shown) == 4
    assert len(with_read_noise_if_any(_over_time([False]))) == 4  # no noisy run: all rows
    means = accuracy_over_seeds(shown)
    assert means["time_s"].tolist() == [0.0, 10.0]
    assert means["accuracy"].tolist() == pytest.approx([0.7, 0.5])  # (0.8+0.6)/2, (0.7+0.3)/2
    # the tolerance table reads the same seed means: trained 0.7, 0.5 is 0.2 below it
    kept = time_within_tolerance(shown, 0.1)
    assert kept["trained_accuracy"].tolist() == pytest.approx([0.7])
    assert kept["kept_until_s"].tolist() == [0.0] and kept["first_lost_s"].tolist() == [10.0]


def test_adc_accuracy_over_seeds_per_resolution_with_the_no_adc_row_last():
    adc = pd.DataFrame(
        {
            "net": ["mlp"] * 6,
            "state": ["500"] * 6,
            "seed": [0, 1, 0, 1, 0, 1],
            "adc_bits": [8.0, 8.0, 2.0, 2.0, np.nan, np.nan],
            "accuracy": [0.8, 0.6, 0.3, 0.3, 0.9, 0.7],
        }
    )
    out = adc_accuracy_over_seeds(adc)
    assert out["adc_bits"].tolist()[:2] == [2.0, 8.0] and np.isnan(out["adc_bits"].iloc[2])
    assert out["accuracy_mean"].tolist() == pytest.approx([0.3, 0.7, 0.8])
    assert out["accuracy_std"].tolist() == pytest.approx([0.0, np.sqrt(0.02), np.sqrt(0.02)])
    one_seed = adc_accuracy_over_seeds(adc[adc["seed"] == 0])
    assert one_seed["accuracy_std"].tolist() == [0.0, 0.0, 0.0]


def test_endurance_cycles_prefer_the_nominal_device_with_two_cycles_else_the_busiest():
    from fmes.analysis.variability import endurance_cycles

    per_cycle = pd.DataFrame(
        {
            "resistance_label": ["500"] * 5 + ["open"] * 4,
            "device_id": ["nominal", "nominal", "r0c0", "r0c0", "r0c0"]
            + ["nominal", "r0c1", "r0c1", "r0c0"],
            "cycle": [0, 1, 0, 1, 2, 0, 0, 1, 0],
        }
    )
    shown = endurance_cycles(per_cycle, "nominal")
    # 500: the nominal device has two cycles (though r0c0 has three); open: one nominal cycle,
    # so the device with the most cycles
    assert shown.index.tolist() == [0, 1, 6, 7]
    assert endurance_cycles(per_cycle.iloc[0:0], "nominal").empty


def test_heatmap_grid_means_the_busiest_states_array_devices_over_cycles():
    from fmes.analysis.variability import heatmap_grid

    per_cycle = pd.DataFrame(
        {
            "resistance_label": ["500"] * 5 + ["open"] * 2,
            "device_id": ["r0c0", "r0c0", "r1c1", "r0c1", "nominal", "r0c0", "r1c0"],
            "range_V": [1.0, 3.0, 5.0, 7.0, 100.0, 9.0, 9.0],
        }
    )
    label, grid = heatmap_grid(per_cycle, "range_V")
    assert label == "500"
    assert grid.index.tolist() == [0, 1] and grid.columns.tolist() == [0, 1]
    np.testing.assert_array_equal(grid.to_numpy(), [[2.0, 7.0], [np.nan, 5.0]])
    assert heatmap_grid(per_cycle[per_cycle["device_id"] == "nominal"], "range_V")[0] is None


def test_state_grid_places_values_at_row_and_column_of_the_array_shape():
    from fmes.analysis.array_maps import grid_shape, state_grid

    table = pd.DataFrame(
        {
            "resistance_label": ["500", "500", "open"],
            "row": [0, 2, 1],
            "col": [1, 0, 0],
            "works": [True, False, True],
        }
    )
    assert grid_shape(table) == (3, 2)
    mat = state_grid(table, "500", "works", (3, 2))
    np.testing.assert_array_equal(mat, [[np.nan, 1.0], [np.nan, np.nan], [0.0, np.nan]])


def test_relative_drift_divides_by_the_states_mean_over_cycles_or_one_at_zero():
    from fmes.analysis.array_maps import relative_drift

    drift = pd.DataFrame(
        {
            "resistance_label": ["500"] * 3 + ["open"] * 2,
            "cycle": [1, 0, 2, 0, 1],
            "metric": ["g_max_V"] * 3 + ["g_min_V"] * 2,
            "mean": [-2.0, -4.0, np.nan, 1.0, -1.0],
            "sd": [1.0, 1.0, 1.0, 0.5, 0.5],
        }
    )
    out = relative_drift(drift)
    assert out["scale"].tolist() == [3.0, 3.0, 3.0, 1.0, 1.0]  # |(-2-4)/2|; zero mean: 1
    assert out["relative_mean"].tolist()[:2] == pytest.approx([-2 / 3, -4 / 3])
    assert out["relative_lower"].tolist()[3:] == pytest.approx([0.5, -1.5])
    assert out["relative_upper"].tolist()[:2] == pytest.approx([-1 / 3, -1.0])


def test_ppf_grid_means_per_state_and_interval_in_label_order():
    from fmes.analysis.ppf import ppf_grid

    values = pd.DataFrame(
        {
            "resistance_label": ["8000", "8000", "500", "500", "500"],
            "interval_s": [0.01, 0.01, 0.01, 0.002, 0.002],
            "ppf": [1.2, 1.4, 1.1, 1.5, 1.7],
        }
    )
    grid = ppf_grid(values, ["open", "500", "8000"])
    assert grid.index.tolist() == ["500", "8000"]  # no read-out of open: no row
    assert grid.columns.tolist() == [0.002, 0.01]
    np.testing.assert_allclose(grid.to_numpy(), [[1.6, 1.1], [np.nan, 1.3]])


def test_state_summary_error_bar_is_the_cycle_spread_else_the_fit_stderr():
    from fmes.analysis.ltp_ltd import state_summary

    fits = pd.DataFrame(
        {
            "resistance_label": ["500", "500", "open"],
            "nl_ltp": [1.0, 3.0, 2.0],
            "nl_ltd": [-1.0, -1.0, 0.5],
            "nl_ltp_stderr": [0.1, 0.3, 0.4],
            "nl_ltd_stderr": [0.2, 0.2, 0.6],
            "mean_dw_ltp_V": [0.01] * 3,
            "mean_dw_ltd_V": [-0.01] * 3,
            "g_min_V": [0.1] * 3,
            "g_max_V": [1.0] * 3,
            "w_max_over_w_min": [10.0] * 3,
        }
    )
    summary = state_summary(fits, ["500", "open"])
    # 500: two cycles, sample std of (1, 3) and of (-1, -1); open: one cycle, its stderr
    assert summary["nl_ltp_err"].tolist() == pytest.approx([np.sqrt(2), 0.4])
    assert summary["nl_ltd_err"].tolist() == pytest.approx([0.0, 0.6])


def test_most_common_nearest_value_and_the_rows_at_the_nominal_setting():
    from fmes.analysis.pipeline import at_most_common, most_common, nearest_value

    widths = pd.Series([1e-3, 5e-3, 5e-3, 1e-3, 2e-3])
    assert most_common(widths) == 1e-3  # a tie: the smaller
    assert nearest_value(pd.Series([0.1, 0.05, 0.1, 0.2]), 0.07) == 0.05
    assert nearest_value(pd.Series([0.1, 0.2]), 0.15) == 0.1  # a tie: the smaller
    rows = pd.DataFrame({"width_s": widths, "amplitude_A": [1e-3, 1e-3, 5e-4, 1e-3, 1e-3]})
    assert at_most_common(rows, ["width_s", "amplitude_A"]).index.tolist() == [0, 3]


def test_reference_single_pulses_are_the_strongest_and_shortest():
    from fmes.analysis.energy import reference_single_pulses

    summary = pd.DataFrame(
        {
            "resistance_label": ["500", "500", "500", "open"],
            "amplitude_A": [1e-3, 5e-4, 1e-3, 1e-3],
            "width_s": [1e-3, 1e-3, 5e-3, 1e-3],
        }
    )
    assert reference_single_pulses(summary).index.tolist() == [0, 3]


def test_prediction_outcome_and_true_class_probability():
    from fmes.networks.adaptation import prediction_outcome, true_class_probability

    proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]])
    labels = np.array([0, 0, 1])
    predicted, correct = prediction_outcome(proba, labels)
    assert predicted.tolist() == [0, 1, 0] and correct.tolist() == [True, False, False]
    assert true_class_probability(proba, labels) == pytest.approx((0.7 + 0.4 + 0.1) / 3)


def test_ppf_fit_curve_follows_the_row_model():
    from fmes.analysis.ppf import ppf_fit_curve

    dt_s = np.array([0.0, 0.01])
    single = {"model": "single", "c1": 0.5, "tau1_s": 0.01, "c2": np.nan, "tau2_s": np.nan}
    np.testing.assert_allclose(ppf_fit_curve(single, dt_s), [1.5, 1 + 0.5 / np.e])
    double = {"model": "double", "c1": 0.5, "tau1_s": 0.01, "c2": 0.2, "tau2_s": 0.02}
    # the slow term's time constant is tau2 itself (stored as tau1 + delta)
    expected = [1.7, 1 + 0.5 / np.e + 0.2 * np.exp(-0.5)]
    np.testing.assert_allclose(ppf_fit_curve(double, dt_s), expected)


def test_forgetting_curves_draw_converged_or_finite_fits_with_the_configured_asymptote():
    from fmes.analysis.retention import forgetting_curves

    row = {
        "exp2_converged": True,
        "exp2_a1_V": 0.2,
        "exp2_tau1_s": 1.0,
        "exp2_a2_V": 0.1,
        "exp2_tau2_s": 10.0,
        "kww_converged": False,
        "kww_tau_s": 2.0,
        "kww_u0_V": 0.3,
        "kww_beta": 1.0,
    }
    t_s = np.array([0.0, 2.0])
    curves = forgetting_curves(row, t_s, u_inf_free=False)
    np.testing.assert_allclose(curves["two_exponential"], [0.3, 0.2 / np.e**2 + 0.1 * np.exp(-0.2)])
    np.testing.assert_allclose(curves["kohlrausch"], [0.3, 0.3 / np.e])  # finite tau: drawn
    neither = forgetting_curves(row | {"exp2_converged": False, "kww_tau_s": np.nan}, t_s, False)
    assert neither == {}
    assert np.isnan(forgetting_curves(row, t_s, u_inf_free=True)["kohlrausch"]).all()


def test_trains_with_value_keep_pulse_trains_that_carry_a_value():
    from fmes.analysis.retention import trains_with_value

    table = pd.DataFrame(
        {
            "protocol": ["pulse_train", "pulse_train", "pulse_train", "pulse"],
            "status": ["ok", "poor_fit", "failed", "ok"],
        }
    )
    assert trains_with_value(table).index.tolist() == [0, 1]


def test_fitted_branch_runs_from_start_to_end_with_the_branch_a():
    from fmes.analysis.ltp_ltd import fitted_branch

    fit = {
        "a_p_pulses": 1e6,  # nearly linear
        "a_d_pulses": 2.0,
        "ltp_start_uS": 1.0,
        "ltp_end_uS": 3.0,
        "ltd_start_uS": 3.0,
        "ltd_end_uS": 1.0,
    }
    pulses, ltp = fitted_branch(fit, "ltp", 4, "uS")
    assert pulses.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(ltp, [1.0, 1.5, 2.0, 2.5, 3.0], rtol=1e-5)
    _, ltd = fitted_branch(fit, "ltd", 4, "uS")
    # A = 2: the step shrinks; after 2 of 4 pulses (1 - e^-1) / (1 - e^-2) of the way down
    assert ltd[0] == 3.0 and ltd[-1] == pytest.approx(1.0)
    assert ltd[2] == pytest.approx(3.0 - 2.0 * (1 - np.exp(-1)) / (1 - np.exp(-2)))


def test_cdf_table_leaves_out_a_configured_metric_the_fits_lack():
    from fmes.analysis.variability import cdf_table

    per_cycle = pd.DataFrame({"resistance_label": ["500", "500"], "range_V": [0.3, 0.1]})
    cdf = cdf_table(per_cycle, ["a_p_pulses", "range_V"])
    assert set(cdf["metric"]) == {"range_V"}
    assert cdf["value"].tolist() == [0.1, 0.3]
    assert cdf["cumulative_probability"].tolist() == [0.5, 1.0]


def test_cycle_pulse_index_puts_the_ltd_pulses_after_the_ltp_ones():
    from fmes.analysis.ltp_ltd import cycle_pulse_index

    weights = pd.DataFrame({"phase": ["ltp", "ltp", "ltd", "ltd"], "pulse_number": [1, 2, 1, 2]})
    assert cycle_pulse_index(weights, 30).tolist() == [1, 2, 31, 32]


def test_state_inference_device_from_an_ok_row_else_the_reason():
    from fmes.networks.inference import InferenceDevice, state_inference_device

    params = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "weight_tau_s": [120.0, np.nan],
            "read_noise_V": [1e-3, np.nan],
            "status": ["ok", "skipped"],
            "reason": ["", "no LTP/LTD read noise"],
        }
    )
    device, why = state_inference_device(params, "500", reference="decaying")
    assert device == InferenceDevice(120.0, 1e-3, reference="decaying") and why == ""
    assert state_inference_device(params, "open", reference="fixed") == (
        None,
        "no LTP/LTD read noise",
    )
    assert state_inference_device(params, "8000", reference="fixed") == (None, "no row")


def test_trained_states_keep_ideal_and_the_used_states_in_the_requested_order():
    from fmes.workflow.planning import trained_states

    plan = pd.DataFrame({"state": ["8000", "500", "open"], "use": [True, False, True]})
    assert trained_states(["ideal", "open", "500", "8000"], plan) == ["ideal", "open", "8000"]
    assert trained_states(["ideal"], plan.iloc[0:0]) == ["ideal"]
