"""Energy and time per pulse: trace read-out vs the circuit model, pulse bookkeeping."""

import math

import numpy as np
import pandas as pd
import pytest

from fmes.analysis.energy import pulse_energies, state_pulse_costs, with_pulse_costs
from fmes.analysis.pulses import detect_pulses
from fmes.device import circuit as dev
from fmes.device.energy import PulseCost, PulseLog, model_pulse_energies, pulse_log_energy
from fmes.device.synthetic import Noise, _frames, ltp_ltd_stimulus

CELL = dev.CellParams(20.0, 1.2e-5, 600.0, 1.0e-2, 1.0e6)
LTP = {
    "amplitude_A": 1e-3,
    "width_s": 1e-3,
    "frequency_Hz": 2.0,
    "n_pulses": 20,
    "delay_s": 0.01,
    "tail_s": 0.5,
}
NOISE = Noise(voltage_V=1e-5, current_A=1e-7)


def _trace(stimulus: dev.Stimulus, resistance_ohm: float, seed: int = 0) -> pd.DataFrame:
    response = dev.respond(CELL, resistance_ohm, stimulus)
    return _frames(stimulus, response[None], ["t"], NOISE, np.random.default_rng(seed))["t"]


def _trace_energies(trace: pd.DataFrame, resistance_ohm: float, **kw) -> pd.DataFrame:
    cols = [trace[c].to_numpy() for c in ("time_s", "current_A", "voltage_V")]
    return pulse_energies(*cols, detect_pulses(*cols), resistance_ohm, **kw)


@pytest.mark.parametrize("resistance_ohm", [500.0, 8000.0, math.inf])
def test_trace_energy_matches_circuit_model_on_ltp_ltd(resistance_ohm):
    stimulus = ltp_ltd_stimulus(LTP, {"samples_per_pulse": 4, "samples_per_gap": 6})
    from_trace = _trace_energies(
        _trace(stimulus, resistance_ohm), resistance_ohm, nominal_width_s=1e-3
    )
    model = model_pulse_energies(CELL, resistance_ohm, stimulus)
    assert len(from_trace) == len(model) == 40
    assert from_trace["edges_resolved"].all()
    np.testing.assert_allclose(from_trace["energy_J"], model["energy_J"], rtol=0.01)
    np.testing.assert_allclose(from_trace["width_s"], 1e-3, rtol=0.01)
    # LTD pulses on a charged cell: the source still delivers energy in magnitude
    assert (from_trace["energy_abs_J"] >= np.abs(from_trace["energy_J"]) * (1 - 1e-9)).all()


def test_heat_in_resistor_matches_model_on_a_well_sampled_decay():
    stimulus = dev.pulse_stimulus(1e-3, 1e-3, 5e-3, 0.5, samples_per_pulse=10, samples_per_gap=12)
    from_trace = _trace_energies(_trace(stimulus, 500.0), 500.0)
    model = model_pulse_energies(CELL, 500.0, stimulus)
    assert from_trace["edges_resolved"].all()
    np.testing.assert_allclose(from_trace["energy_J"], model["energy_J"], rtol=0.01)
    np.testing.assert_allclose(
        from_trace["dissipated_in_r_J"], model["dissipated_in_r_J"], rtol=0.03
    )
    open_state = _trace_energies(_trace(stimulus, math.inf), math.inf)
    # no resistor, no heat in it: the whole source energy goes into the cell
    assert (open_state["dissipated_in_r_J"] == 0).all()
    np.testing.assert_allclose(open_state["into_cell_J"], open_state["energy_J"])


def test_unresolved_edge_without_nominal_width_is_a_flagged_lower_bound():
    stimulus = ltp_ltd_stimulus(LTP, {"samples_per_pulse": 4, "samples_per_gap": 6})
    trace = _trace(stimulus, 8000.0)
    bare = _trace_energies(trace, 8000.0)
    model = model_pulse_energies(CELL, 8000.0, stimulus)
    # pulse 0 follows a densely sampled baseline; every later onset lies in a 0.5 ms interval
    later = slice(1, None)
    assert not bare["edges_resolved"][later].any()
    assert (bare["energy_J"].abs()[later] < model["energy_J"].abs()[later]).all()
    # a nominal width the samples contradict (longer than the pulse can be) is not used
    wrong = _trace_energies(trace, 8000.0, nominal_width_s=5e-3)
    assert not wrong["edges_resolved"][later].any()


def test_pulse_log_counts_and_converts_to_energy_and_time():
    log = PulseLog(n_layers=2)
    log.add(0, np.array([[2, -1], [0, 3]]))
    log.add(1, np.array([-4, 0, 1]))
    log.add(0, np.array([[0, 0], [-2, 0]]))
    log.close_epoch()
    log.add(1, np.zeros(3, int))
    log.close_epoch()
    table = log.table()
    first = table[(table["epoch"] == 1) & (table["layer"] == 0)].iloc[0]
    assert (first["pulses_ltp"], first["pulses_ltd"], first["parallel_steps"]) == (5, 3, 5)
    assert table[table["epoch"] == 2][["pulses_ltp", "pulses_ltd"]].to_numpy().sum() == 0
    cost = PulseCost(energy_ltp_J=2e-8, energy_ltd_J=1e-8, pulse_width_s=1e-3, pulse_period_s=0.5)
    out = pulse_log_energy(table, cost)
    assert out.loc[0, "energy_J"] == pytest.approx(5 * 2e-8 + 3 * 1e-8)
    assert out.loc[0, "time_serial_s"] == pytest.approx(8 * 0.5)
    assert out.loc[0, "time_parallel_s"] == pytest.approx(5 * 0.5)


def test_state_costs_fill_device_params_and_missing_values_are_named():
    per_pulse = pd.DataFrame(
        {
            "protocol": ["ltp_ltd"] * 4 + ["pulse"],
            "device_id": ["nominal"] * 4 + ["nominal"],
            "resistance_label": ["500"] * 4 + ["500"],
            "polarity": [1, 1, -1, -1, 1],
            "energy_abs_J": [1.0, 3.0, 5.0, 7.0, 100.0],
            "width_s": [1e-3] * 5,
            "period_s": [0.5] * 5,
        }
    )
    costs = state_pulse_costs(per_pulse, "nominal")
    assert costs.iloc[0][["energy_ltp_J", "energy_ltd_J"]].tolist() == [2.0, 6.0]
    params = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "g_min_V": [0.0, 0.0],
            "energy_ltp_J": [np.nan, np.nan],
        }
    )
    merged = with_pulse_costs(params, costs)
    assert merged["energy_ltp_J"].tolist()[0] == 2.0
    assert list(merged.columns[:3]) == ["resistance_label", "g_min_V", "energy_ltp_J"]
    with pytest.raises(ValueError, match="open"):
        PulseCost.from_row(merged.iloc[1])


def test_training_counts_pulses_per_layer_and_epoch_and_costs_them():
    from sklearn.datasets import make_classification

    from fmes.device.energy import energy_to_reach, training_energy_curves
    from fmes.device.synapse import DeviceSpec
    from fmes.networks.estimators import DeviceMLP, train_with_curve

    X, y = make_classification(
        n_samples=200, n_features=12, n_informative=6, n_classes=3, random_state=1
    )
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    spec = DeviceSpec("500", 0.0, 1.0, 100, 80.0, 80.0)
    net = DeviceMLP(device=spec, hidden_layer_sizes=(8,), learning_rate=2.0, random_state=0)
    net, curve = train_with_curve(net, X, y, X, y, 3)
    curve = curve.assign(net="mlp", state="500", seed=0)
    counts = net.pulse_log_.table()
    assert len(counts) == 3 * 2 and (counts["pulses_ltp"] + counts["pulses_ltd"]).gt(0).all()
    assert DeviceMLP(hidden_layer_sizes=(8,), max_iter=1).fit(X, y).pulse_log_ is None
    cost = PulseCost(energy_ltp_J=1e-8, energy_ltd_J=2e-8, pulse_width_s=1e-3, pulse_period_s=1e-3)
    curves = training_energy_curves(
        curve, counts.assign(net="mlp", state="500", seed=0), {"500": cost}
    )
    assert curves["epoch"].tolist() == [0, 1, 2, 3]
    total = (counts["pulses_ltp"] * 1e-8 + counts["pulses_ltd"] * 2e-8).sum()
    assert curves["cumulative_energy_J"].iloc[-1] == pytest.approx(total)
    summary = energy_to_reach(curves, tolerance=1.0).iloc[0]  # any accuracy is "reached" at epoch 0
    assert summary["epoch_reached"] == 0 and summary["energy_to_reach_J"] == 0.0


def test_holding_energy_is_v_squared_over_r_times_duration_and_zero_when_open():
    from fmes.device.energy import holding_energy_J, training_duration_s, training_holding_bound_J

    got = holding_energy_J([0.5, -0.5, 0.5], [500.0, 500.0, math.inf], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(got, [0.5**2 / 500 * 2, 0.5**2 / 500 * 2, 0.0])
    with pytest.raises(ValueError, match="duration_s"):
        holding_energy_J(0.5, 500.0, -1.0)
    # the bound holds every device at the window's largest |V| for the whole run
    duration = training_duration_s(epochs=2, n_images=10, pulse_period_s=0.5)
    assert duration == 10.0
    bound = training_holding_bound_J(-0.1, 0.4, 1000.0, n_devices=3, duration_s=duration)
    np.testing.assert_allclose(bound, 3 * 0.4**2 / 1000 * 10.0)


@pytest.mark.parametrize("resistance_ohm", [500.0, 8000.0, math.inf])
def test_model_energy_split_closes_the_balance_and_charges_each_branch(resistance_ohm):
    from fmes.device.energy import model_energy_split

    stimulus = ltp_ltd_stimulus(LTP, {"samples_per_pulse": 4, "samples_per_gap": 6})
    split = model_energy_split(CELL, resistance_ohm, stimulus)
    assert set(split["interval"]) == {"pulse", "window"}
    assert len(split) == 80
    terms = ["loss_rs_J", "loss_r_J", "loss_internal_J", "stored_change_J"]
    np.testing.assert_allclose(
        split[terms].sum(axis=1),
        split["source_J"],
        rtol=1e-9,
        atol=1e-9 * split["source_J"].abs().max(),
    )
    # the source delivers nothing between pulses: the window's source energy is the pulse's
    pulse, window = (
        split[split["interval"] == k].reset_index(drop=True) for k in ("pulse", "window")
    )
    np.testing.assert_allclose(window["source_J"], pulse["source_J"], rtol=1e-9)
    # in the open state the pulse current all flows through R_s: I² R_s x width, and R gets 0
    if math.isinf(resistance_ohm):
        np.testing.assert_allclose(pulse["loss_rs_J"], 1e-6 * 20.0 * 1e-3, rtol=1e-9)
        assert (split["loss_r_J"] == 0).all()
        # the LTP windows charge the cell, the LTD windows take it back towards rest; what the
        # source gives the LTP pulses beyond the LTD pulses is that stored part
        ltp, ltd = window[window["amplitude_A"] > 0], window[window["amplitude_A"] < 0]
        assert ltp["stored_change_J"].sum() > 0 > ltd["stored_change_J"].sum()
        assert ltp["source_J"].sum() > ltd["source_J"].sum()
    else:
        assert (window["loss_r_J"] > pulse["loss_r_J"]).all()
    assert (split[["loss_rs_J", "loss_diffusion_J", "loss_leakage_J"]] >= 0).all().all()
    # the trace's heat in R is the model's, the model reference the trace read-out uses
    model = model_pulse_energies(CELL, resistance_ohm, stimulus)
    np.testing.assert_allclose(model["dissipated_in_r_J"], window["loss_r_J"])


def test_state_energy_split_means_close_and_sit_beside_the_trace():
    from fmes.analysis.energy import with_trace_split
    from fmes.device.energy import ENERGY_SCOPE, SPLIT_TERMS, state_energy_split

    stimulus = ltp_ltd_stimulus(LTP, {"samples_per_pulse": 4, "samples_per_gap": 6})
    table = state_energy_split(CELL, {"500": 500.0, "open": math.inf}, stimulus)
    assert len(table) == 2 * 2 * 2 and (table["n_pulses"] == 20).all()
    losses = table[["loss_rs_J", "loss_r_J", "loss_internal_J", "stored_change_J"]].sum(axis=1)
    np.testing.assert_allclose(losses, table["source_J"], rtol=1e-9)
    assert (table["scope"] == ENERGY_SCOPE).all() and "ADC" in ENERGY_SCOPE
    per_pulse = pd.DataFrame(
        {
            "protocol": "ltp_ltd",
            "device_id": "nominal",
            "resistance_label": ["500", "500", "open"],
            "polarity": [1, -1, 1],
            "energy_J": [5e-8, 4e-8, 6e-8],
            "dissipated_in_r_J": [2e-8, 2e-8, 0.0],
            "into_cell_J": [3e-8, 2e-8, 6e-8],
        }
    )
    both = with_trace_split(table, per_pulse, "nominal")
    assert list(both.columns[-4:]) == [
        "trace_source_J",
        "trace_loss_r_J",
        "trace_into_cell_J",
        "scope",
    ]
    row = both[(both["resistance_label"] == "500") & (both["polarity"] == 1)].set_index("interval")
    assert row.loc["window", "trace_loss_r_J"] == 2e-8 and np.isnan(
        row.loc["pulse", "trace_loss_r_J"]
    )
    assert row.loc["pulse", "trace_source_J"] == 5e-8
    # the open state's LTD pulses have no trace here: NaN, not a made-up number
    missing = both[(both["resistance_label"] == "open") & (both["polarity"] == -1)]
    assert missing["trace_source_J"].isna().all()
    assert set(SPLIT_TERMS) <= set(both.columns)


def test_training_summary_sets_the_holding_bound_beside_the_pulses():
    from fmes.device.energy import with_holding_energy

    summary = pd.DataFrame(
        {
            "net": ["perceptron"] * 2,
            "state": ["500", "open"],
            "seed": [0, 0],
            "epochs": [2, 2],
            "total_energy_J": [1e-3, 1e-3],
        }
    )
    params = pd.DataFrame(
        {
            "resistance_label": ["500", "open"],
            "resistance_ohm": [500.0, math.inf],
            "g_min_V": [-0.1, 0.0],
            "g_max_V": [0.2, 0.3],
            "pulse_period_s": [0.5, 0.5],
        }
    )
    runs = pd.DataFrame(
        {
            "net": ["perceptron"] * 2,
            "state": ["500", "open"],
            "seed": [0, 0],
            "n_devices": [100, 100],
            "final_holding_power_W": [1e-5, 0.0],
        }
    )
    out = with_holding_energy(summary, params, runs, n_images=40).set_index("state")
    duration = 2 * 40 * 0.5
    assert out.loc["500", "holding_duration_s"] == duration
    np.testing.assert_allclose(out.loc["500", "holding_bound_J"], 100 * 0.2**2 / 500 * duration)
    np.testing.assert_allclose(out.loc["500", "holding_final_J"], 1e-5 * duration)
    np.testing.assert_allclose(out.loc["500", "holding_bound_to_pulses"], 0.32 / 1e-3)
    assert out.loc["open", "holding_bound_J"] == 0.0
    assert list(out.columns[:5]) == ["net", "seed", "epochs", "total_energy_J", "n_devices"]
