"""Results the rule scripts used to compute themselves: network and adaptation aggregation,
the digit weight map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmes.networks.adaptation import adaptation_table, aggregate_seeds
from fmes.networks.estimators import accuracy_table, aggregate_accuracy, digit_map


def test_digit_map_perceptron_is_the_output_column():
    coefs = [np.arange(784 * 3, dtype=float).reshape(784, 3)]
    image = digit_map(coefs, np.array([1, 4, 7]), 4)
    assert image.shape == (28, 28)
    np.testing.assert_array_equal(image.ravel(), coefs[0][:, 1])


def test_digit_map_mlp_is_the_effective_linear_map():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(784, 5)), rng.normal(size=(5, 10))
    np.testing.assert_allclose(digit_map([w1, w2], np.arange(10), 3).ravel(), w1 @ w2[:, 3])
    assert digit_map([rng.normal(size=(4, 2))], np.array([0, 1]), 1).shape == (4,)
    with pytest.raises(ValueError, match="digit 5"):
        digit_map([w1, w2], np.arange(3), 5)


def _curves() -> pd.DataFrame:
    rows = []
    for net in ("mlp", "perceptron"):
        for seed, final in ((0, 0.8), (1, 0.9)):
            rows += [
                {
                    "net": net,
                    "state": "open",
                    "seed": seed,
                    "epoch": 0,
                    "test_accuracy": 0.1,
                    "train_accuracy": 0.1,
                },
                {
                    "net": net,
                    "state": "open",
                    "seed": seed,
                    "epoch": 1,
                    "test_accuracy": 0.5,
                    "train_accuracy": 0.5,
                },
                {
                    "net": net,
                    "state": "open",
                    "seed": seed,
                    "epoch": 2,
                    "test_accuracy": final,
                    "train_accuracy": final + 0.05,
                },
            ]
    return pd.DataFrame(rows)


# the paper's accuracy for the MLP in the open state after 100 epochs
# (fmes.data.targets.network_paper_accuracy of a targets file)
PAPER = pd.DataFrame(
    {"net": ["mlp"], "state": ["open"], "paper_test_accuracy": [0.95], "paper_epochs": [100.0]}
)


def test_aggregate_accuracy_over_seeds_with_paper_value_on_its_net_only():
    table = aggregate_accuracy(_curves(), PAPER).set_index("net")
    assert table.loc["mlp", "n_seeds"] == 2 and table.loc["mlp", "epochs"] == 2
    assert table.loc["mlp", "final_test_accuracy_mean"] == pytest.approx(0.85)
    assert table.loc["mlp", "final_test_accuracy_std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert table.loc["mlp", "final_train_accuracy_mean"] == pytest.approx(0.9)
    assert table.loc["mlp", "initial_test_accuracy_mean"] == pytest.approx(0.1)
    assert table.loc["mlp", "paper_test_accuracy"] == 0.95
    assert table.loc["mlp", "paper_epochs"] == 100
    assert table.loc["mlp", "difference_vs_paper"] == pytest.approx(-0.1)
    assert np.isnan(table.loc["perceptron", "paper_test_accuracy"])
    assert np.isnan(table.loc["perceptron", "paper_epochs"])


def test_accuracy_table_carries_the_plan_status_and_adds_skipped_states_per_net():
    curves = pd.concat([_curves(), _curves().assign(state="ideal")], ignore_index=True)
    plan = pd.DataFrame(
        {
            "state": ["open", "500"],
            "use": [True, False],
            "status": ["flagged", "skipped"],
            "reason": ["A on its bound; used because allowed", "no device parameters at 500"],
        }
    )
    table = accuracy_table(curves, plan, ["mlp", "perceptron"], PAPER)
    rows = table.set_index(["net", "state"])
    assert len(table) == 6  # 2 nets x (open, ideal trained + 500 skipped)
    assert rows.loc[("mlp", "open"), "status"] == "flagged"
    assert rows.loc[("mlp", "open"), "reason"].startswith("A on its bound")
    assert rows.loc[("mlp", "open"), "final_test_accuracy_mean"] == pytest.approx(0.85)
    assert (rows.loc[("perceptron", "ideal"), ["status", "reason"]] == ["ok", ""]).all()
    for net in ("mlp", "perceptron"):
        skipped = rows.loc[(net, "500")]
        assert skipped["status"] == "skipped" and skipped["n_seeds"] == 0
        assert skipped["reason"] == "no device parameters at 500"
        assert np.isnan(skipped["final_test_accuracy_mean"])


def test_adaptation_table_carries_the_worst_device_status_of_the_runs():
    runs = pd.DataFrame(
        {
            "method": ["device"] * 4,
            "n_images": [0, 8, 0, 8],
            "seed": [0, 0, 1, 1],
            "accuracy_dataset2": [0.2, 0.6, 0.3, 0.8],
            "accuracy_dataset1": [0.9, 0.8, 0.9, 0.6],
            "status": ["ok", "ok", "flagged", "flagged"],
            "reason": ["", "", "A on its bound", "A on its bound"],
        }
    )
    table = adaptation_table(runs)
    assert table["n_images"].tolist() == [0, 8]
    assert table["accuracy_dataset2_mean"].tolist() == pytest.approx([0.25, 0.7])
    assert set(table["status"]) == {"flagged"} and set(table["reason"]) == {"A on its bound"}


def test_aggregate_seeds_mean_std_and_single_seed_spread_zero():
    runs = pd.DataFrame(
        {
            "method": ["device", "device", "device", "finetune"],
            "n_images": [8, 8, 0, 8],
            "seed": [0, 1, 0, 0],
            "accuracy_dataset2": [0.6, 0.8, 0.2, 0.9],
            "accuracy_dataset1": [0.9, 0.7, 0.95, 0.5],
        }
    )
    table = aggregate_seeds(runs)
    assert list(zip(table["method"], table["n_images"], strict=True)) == [
        ("device", 0),
        ("device", 8),
        ("finetune", 8),
    ]
    device8 = table.iloc[1]
    assert device8["n_seeds"] == 2
    assert device8["accuracy_dataset2_mean"] == pytest.approx(0.7)
    assert device8["accuracy_dataset2_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert device8["accuracy_dataset1_mean"] == pytest.approx(0.8)
    assert table.iloc[0]["accuracy_dataset2_std"] == 0.0


def _three_pulses_then_tail(n_tail: int) -> tuple[np.ndarray, np.ndarray]:
    """time_s and current_A: three 1 ms pulses of 1 mA every 10 ms (the last ends at 26 ms) on a
    0.1 ms grid up to 30 ms, then ``n_tail`` log-spaced samples up to 300 s after it."""
    pulses = np.arange(0.0, 0.03, 1e-4)
    on = ((pulses % 0.01) >= 0.005) & ((pulses % 0.01) < 0.006)
    tail = 0.03 + np.geomspace(1e-3, 300.0, n_tail)
    return np.concatenate([pulses, tail]), np.concatenate(
        [np.where(on, 1e-3, 0.0), np.zeros(tail.size)]
    )


def test_train_retention_uses_the_configured_time_and_pulse_settings():
    from fmes.claims.comparison import train_retention

    # three 1 ms pulses of 1 mA, then an exponential PSV decay with tau = 200 s after the last
    time_s, current_A = _three_pulses_then_tail(400)
    end_s = 0.026
    voltage_V = np.where(time_s < end_s, 0.5, 0.5 * np.exp(-(time_s - end_s) / 200.0))
    trace = pd.DataFrame({"time_s": time_s, "current_A": current_A, "voltage_V": voltage_V})
    expected = np.exp(-(100.0 - 1.0) / 200.0)
    assert train_retention(trace, {}, 100.0, t_ref_s=1.0) == pytest.approx(expected, rel=1e-3)
    assert train_retention(trace, {}, 250.0, t_ref_s=1.0) == pytest.approx(
        np.exp(-249.0 / 200.0), rel=1e-3
    )
    assert np.isnan(train_retention(trace, {}, 1000.0, t_ref_s=1.0))
    # the reference read is the one given (the retention target's t_ref_s)
    later = train_retention(trace, {}, 100.0, t_ref_s=10.0)
    assert later == pytest.approx(np.exp(-(100.0 - 10.0) / 200.0), rel=1e-3)
    with pytest.raises(TypeError):  # the settings reach the pulse detector
        train_retention(trace, {"no_such_setting": 1.0}, 100.0, t_ref_s=1.0)


def test_accuracy_over_time_keeps_device_runs_with_a_time_grid_adc_rows_apart():
    from fmes.networks.inference import accuracy_over_time, accuracy_vs_adc_bits

    rows = []
    for state, times in (("ideal", [0.0, 1.0]), ("open", [0.0, 1.0, 10.0]), ("500", [0.0])):
        rows += [
            {"kind": "time", "net": "mlp", "state": state, "seed": 0, "time_s": t, "accuracy": 0.9}
            for t in times
        ]
    rows.append(
        {"kind": "adc", "net": "mlp", "state": "open", "seed": 0, "time_s": 0.0, "accuracy": 0.8}
    )
    kept = accuracy_over_time(pd.DataFrame(rows))
    assert set(kept["state"]) == {"open"}
    assert kept["time_s"].tolist() == [0.0, 1.0, 10.0]
    assert (kept["kind"] == "time").all()
    adc = accuracy_vs_adc_bits(pd.DataFrame(rows))
    assert adc["kind"].tolist() == ["adc"] and adc["accuracy"].tolist() == [0.8]


def test_leakage_resistance_of_the_config_or_the_calibrated_cell():
    from fmes.networks.adaptation import leakage_resistance_ohm

    assert leakage_resistance_ohm(None, {"leakage_resistance_ohm": 2e6}) == 2e6
    assert leakage_resistance_ohm(5e5, {"leakage_resistance_ohm": 2e6}) == 5e5


def test_export_roundtrip_row_flags_a_curve_beyond_tolerance():
    from fmes.claims.export import roundtrip_error, roundtrip_row
    from fmes.device.synapse import nl_label_from_a

    row = {
        "resistance_label": "500",
        "n_pulses": 150,
        "a_p_pulses": 40.0,
        "a_d_pulses": 25.0,
        "nl_ltp": float(nl_label_from_a(40.0 / 150)),
        "nl_ltd": float(nl_label_from_a(25.0 / 150)),
        "g_min_V": -0.01,
        "g_max_V": 0.2,
        "c2c_sigma_frac": 0.01,
        "d2d_a_cv": 0.05,
        "d2d_range_cv": 0.03,
    }
    error = roundtrip_error(row, "neurosim")
    assert error > 0
    ok = roundtrip_row(row, "neurosim", tolerance_frac=error * 2)
    assert ok["status"] == "ok" and ok["reason"] == "" and ok["max_curve_error_frac"] == error
    bad = roundtrip_row(row, "neurosim", tolerance_frac=error / 2)
    assert bad["status"] == "flagged" and "deviates" in bad["reason"]


@pytest.mark.parametrize("n_workers,n_items", [(1, 30), (2, 5), (2, 30)])
def test_map_in_batches_serial_and_pool_agree_in_input_order(n_workers, n_items):
    import math

    from fmes.data.store import map_in_batches

    consumed = []

    def items():
        for k in range(n_items):
            consumed.append(k)
            yield float(k)

    result = map_in_batches(math.sqrt, items(), n_workers, batch_size=7)
    assert result == [math.sqrt(k) for k in range(n_items)]
    assert consumed == list(range(n_items))  # every item read once, in order


def test_retention_from_readout_fits_the_decay_after_the_last_pulse():
    from fmes.analysis._fit import QualityLimits
    from fmes.analysis.pipeline import readout_or_reason, retention_from_readout

    rng = np.random.default_rng(1)
    time_s, current_A = _three_pulses_then_tail(600)
    charge = np.cumsum(np.where(time_s < 0.03, current_A, 0.0)) * 100.0  # PSV climbs during pulses
    decay = np.where(time_s < 0.026, 1.0, np.exp(-np.clip(time_s - 0.026, 0, None) / 200.0))
    voltage_V = charge * decay + rng.normal(0, 1e-4, time_s.size)
    trace = pd.DataFrame({"time_s": time_s, "current_A": current_A, "voltage_V": voltage_V})
    readout, why = readout_or_reason(trace)
    assert readout is not None, why
    result = retention_from_readout(
        time_s, readout, n_points=40, t_ret_s=100.0, u_inf_free=False, limits=QualityLimits()
    )
    assert result.row["n_pulses"] == 3 and len(result.learning()) == 3
    assert result.t_end_s == pytest.approx(0.026, abs=2e-4)
    assert (result.time_after_s > 0).all() and result.time_after_s.size == result.psv_after_V.size
    assert result.row["kww_tau_s"] == pytest.approx(200.0, rel=0.1)
    assert result.row["status"] in {"ok", "flagged", "poor_fit"} and "note" not in result.row
    short = retention_from_readout(
        time_s, readout, n_points=40, t_ret_s=1000.0, u_inf_free=False, limits=QualityLimits()
    )
    assert "< t_ret_s" in short.row["note"]


def test_single_pulse_row_reads_the_first_pulse():
    from fmes.analysis.pipeline import TRACE_QC_COLUMNS, readout_or_reason, single_pulse_row

    time_s = np.arange(0.0, 0.05, 1e-4)
    on = (time_s >= 0.01) & (time_s < 0.011)
    current_A = np.where(on, 1e-3, 0.0)
    # A sample's voltage includes the charge of its own current sample (the contract's
    # convention, docs/interfaces.md): the PSV peaks at the pulse's last sample. (A voltage one
    # sample later would still rise after the current stops: refused, see the next assertion.)
    charged_s = np.clip(time_s - 0.01 + 1e-4, 0.0, 1e-3)
    voltage_V = 0.05 + charged_s * 200.0
    readout, why = readout_or_reason(
        pd.DataFrame({"time_s": time_s, "current_A": current_A, "voltage_V": voltage_V})
    )
    assert readout is not None, why
    row = single_pulse_row(readout)
    late = 0.05 + np.clip(time_s - 0.01, 0.0, 1e-3) * 200.0
    late_readout, _ = readout_or_reason(
        pd.DataFrame({"time_s": time_s, "current_A": current_A, "voltage_V": late})
    )
    late_row = single_pulse_row(late_readout)
    assert late_row["status"] == "failed" and "still rising" in late_row["reason"]
    assert row["n_pulses_detected"] == 1
    assert row["measured_amplitude_A"] == pytest.approx(1e-3, rel=0.01)
    assert row["measured_width_s"] == pytest.approx(1e-3, rel=0.15)
    assert row["psv_change_V"] == pytest.approx(row["peak_psv_V"] - row["baseline_psv_V"])
    assert row["psv_change_V"] == pytest.approx(0.2, rel=0.1)
    assert set(TRACE_QC_COLUMNS) <= set(row)


def test_fit_ppf_per_state_fits_ok_readouts_in_resistance_order():
    from fmes.analysis._fit import QualityLimits
    from fmes.analysis.pipeline import fit_ppf_per_state
    from fmes.analysis.ppf import fit_ppf

    dt = np.geomspace(2e-3, 0.3, 8)
    rows = []
    for label, c1 in (("open", 0.3), ("500", 0.6)):
        ppf = 1 + c1 * np.exp(-dt / 0.02)
        rows += [
            {
                "resistance_label": label,
                "resistance_ohm": np.inf if label == "open" else 500.0,
                "dt_measured_s": d,
                "ppf": p,
                "ppf_noise": 1e-3,
                "status": "ok",
            }
            for d, p in zip(dt, ppf, strict=True)
        ]
    rows.append({**rows[0], "ppf": 50.0, "status": "flagged"})  # a bad read-out is left out
    values = pd.DataFrame(rows)
    fits = fit_ppf_per_state(values, model="single", criterion="aic", limits=QualityLimits())
    assert fits["resistance_label"].tolist() == ["500", "open"]
    assert fits["n_traces_excluded"].tolist() == [0, 1]
    direct = fit_ppf(
        dt,
        1 + 0.3 * np.exp(-dt / 0.02),
        model="single",
        criterion="aic",
        noise=np.full(dt.size, 1e-3),
        limits=QualityLimits(),
    )
    assert fits.set_index("resistance_label").loc["open", "tau1_s"] == pytest.approx(
        direct["tau1_s"]
    )
    assert fits.set_index("resistance_label").loc["open", "tau1_s"] == pytest.approx(0.02, rel=0.05)


def test_energies_of_trace_nominal_grouping_and_edge_status():
    from fmes.analysis.energy import energies_of_trace, summarise_energies, with_edge_status
    from fmes.analysis.pulses import detect_pulses

    time_s = np.arange(0.0, 0.05, 1e-5)
    on = ((time_s >= 0.01) & (time_s < 0.011)) | ((time_s >= 0.03) & (time_s < 0.031))
    current_A = np.where(on, 1e-3, 0.0)
    voltage_V = np.where(on, 0.5, 0.1)
    trace = pd.DataFrame({"time_s": time_s, "current_A": current_A, "voltage_V": voltage_V})
    pulses = detect_pulses(time_s, current_A)
    row = {"resistance_ohm": 500.0, "amplitude_A": 1e-3, "width_s": 1e-3}
    energies = energies_of_trace(trace, pulses, row, edge_resolution=1.5)
    assert len(energies) == 2
    assert (energies["amplitude_A"] == 1e-3).all() and (energies["nominal_width_s"] == 1e-3).all()
    assert energies["measured_amplitude_A"].to_numpy() == pytest.approx(1e-3, rel=0.01)
    unknown = energies_of_trace(
        trace, pulses, row | {"amplitude_A": np.nan, "width_s": np.nan}, 1.5
    )
    assert unknown["amplitude_A"].iloc[0] == pytest.approx(1e-3, rel=0.01)
    assert unknown["nominal_width_s"].iloc[0] == pytest.approx(energies["width_s"].median())
    summary = with_edge_status(summarise_energies(energies.assign(device_id="d"), ["amplitude_A"]))
    assert summary["status"].tolist() == ["ok"] and summary["reason"].tolist() == [""]
    gap = with_edge_status(summary.assign(edges_resolved_frac=0.5))
    assert gap["status"].tolist() == ["flagged"] and "lower bound" in gap["reason"].iloc[0]


def _cycle_fits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "device_id": ["nominal", "nominal", "nominal", "r0c0", "r0c0"],
            "resistance_label": ["500", "500", "open", "500", "open"],
            "status": ["ok", "ok", "poor_fit", "ok", "ok"],
            "nl_ltp": [1.0, 3.0, 9.0, 5.0, 2.0],
            "nl_ltd": [-1.0, -2.0, 9.0, -4.0, -2.0],
            "nl_ltp_stderr": [0.1, 0.3, 9.0, 0.5, 0.2],
            "nl_ltd_stderr": [0.2, 0.2, 9.0, 0.4, 0.2],
            "mean_dw_ltp_V": [0.01, 0.03, 9.0, 0.05, 0.02],
            "mean_dw_ltd_V": [-0.01, -0.01, 9.0, -0.05, -0.02],
            "g_min_V": [0.1, 0.3, 9.0, 0.5, 0.2],
            "g_max_V": [1.0, 1.2, 9.0, 1.5, 1.4],
            "w_max_over_w_min": [10.0, 4.0, 9.0, 3.0, 7.0],
        }
    )


def test_nominal_ok_fits_prefers_the_nominal_device_then_every_ok_fit():
    from fmes.analysis.ltp_ltd import nominal_ok_fits

    fits = _cycle_fits()
    assert nominal_ok_fits(fits, "nominal").index.tolist() == [0, 1]  # its poor fit left out
    # a data set without the nominal device: every ok fit of the array
    assert nominal_ok_fits(fits, "d7").index.tolist() == [0, 1, 3, 4]
    assert nominal_ok_fits(fits.assign(status="failed"), "nominal").empty


def test_state_summary_means_and_spread_per_state_in_the_given_order():
    from fmes.analysis.ltp_ltd import state_summary

    summary = state_summary(_cycle_fits().iloc[[0, 1]], ["open", "500"])
    assert summary.index.tolist() == ["open", "500"]
    assert summary.loc["open"].isna().all()  # no fit of that state
    row = summary.loc["500"]
    assert row["nl_ltp"] == pytest.approx(2.0) and row["nl_ltp_sd"] == pytest.approx(np.sqrt(2))
    assert row["nl_ltd"] == pytest.approx(-1.5) and row["nl_ltd_se"] == pytest.approx(0.2)
    assert row["dw_ltp"] == pytest.approx(0.02) and row["g_max"] == pytest.approx(1.1)
    assert row["ratio"] == pytest.approx(7.0) and row["g_min"] == pytest.approx(0.2)
