"""The exact circuit solver against closed forms and against scipy's ODE solver."""

import numpy as np
import pytest

from fmes.device import circuit as dev

NOMINAL = dev.CellParams(
    series_resistance_ohm=20.0,
    fast_capacitance_F=12e-6,
    diffusion_resistance_ohm=600.0,
    slow_capacitance_F=10e-3,
    leakage_resistance_ohm=1e6,
)


def test_single_rc_charge_and_discharge_matches_closed_form():
    # slow branch disconnected (r_d huge): open state -> u = I R_s + v_f, C_f v_f' = I - v_f/R_L
    params = dev.CellParams(10.0, 1e-3, 1e15, 1e-9, 100.0)
    amplitude, width = 2e-3, 0.5
    stim = dev.pulse_stimulus(amplitude, width, delay_s=0.1, tail_s=0.5)
    u = dev.respond(params, np.inf, stim)
    tau = 100.0 * 1e-3
    t = stim.time_s
    on = (t >= 0.1) & (t < 0.6)
    v_end = amplitude * 100.0 * (1 - np.exp(-width / tau))
    expected = np.where(
        t < 0.1,
        0.0,
        np.where(
            on,
            amplitude * 10.0 + amplitude * 100.0 * (1 - np.exp(-(t - 0.1) / tau)),
            v_end * np.exp(-(t - 0.6) / tau),
        ),
    )
    np.testing.assert_allclose(u, expected, rtol=1e-7, atol=1e-12)


def test_dc_steady_state_is_resistive_divider():
    stim = dev.pulse_stimulus(1e-3, 1e5, delay_s=0.0, tail_s=1.0)
    for r in (500.0, 8000.0):
        u = dev.respond(NOMINAL, r, stim, side="left")
        end = np.searchsorted(stim.time_s, 1e5) - 1
        expected = 1e-3 / (1 / r + 1 / (20.0 + 1e6))
        assert u[end] == pytest.approx(expected, rel=1e-6)


def test_charge_is_conserved_after_a_pulse_without_leakage():
    params = dev.CellParams(20.0, 12e-6, 600.0, 10e-3, 1e18)
    circuit = dev.current_driven_circuit(params, np.inf)
    stim = dev.pulse_stimulus(1e-3, 1e-3, delay_s=0.0, tail_s=1.0)
    # recover v_f from u after the pulse (I = 0 -> u = v_f) and check the total charge
    u = dev.simulate(circuit, stim.drive, stim.time_s)
    assert u[-1] * (12e-6 + 10e-3) == pytest.approx(1e-6, rel=1e-6)
    # long after the pulse the two capacitors share the charge at one voltage
    assert u[-1] == pytest.approx(1e-6 / (12e-6 + 10e-3), rel=1e-6)


def _ode_reference(params, resistance, stimulus):
    build = (
        dev.current_driven_circuit if stimulus.driven == "current" else dev.voltage_driven_circuit
    )
    return dev.simulate_ode(build(params, resistance), stimulus.drive, stimulus.time_s)


@pytest.mark.parametrize("resistance", [500.0, 7000.0, np.inf])
def test_ppf_trace_matches_solve_ivp(resistance):
    stim = dev.ppf_stimulus(1e-3, 1e-3, 0.01, delay_s=0.005, tail_s=0.05)
    exact = dev.respond(NOMINAL, resistance, stim)
    np.testing.assert_allclose(
        exact, _ode_reference(NOMINAL, resistance, stim), rtol=1e-6, atol=1e-9
    )


def test_iv_sweep_matches_solve_ivp():
    stim = dev.iv_sweep_stimulus(0.8, 0.05, samples=81)
    exact = dev.respond(NOMINAL, 500.0, stim)
    np.testing.assert_allclose(exact, _ode_reference(NOMINAL, 500.0, stim), rtol=1e-6, atol=1e-10)


def test_batch_over_devices_equals_one_by_one():
    caps = np.array([8e-3, 10e-3, 12e-3])
    batch = NOMINAL.scaled({"slow_capacitance_F": caps / 10e-3})
    stim = dev.train_stimulus(np.full(20, 1e-3), 1e-3, 100.0, delay_s=0.0, tail_s=0.1)
    together = dev.respond(batch, 1000.0, stim)
    for i, cap in enumerate(caps):
        alone = dev.respond(NOMINAL.scaled({"slow_capacitance_F": cap / 10e-3}), 1000.0, stim)
        np.testing.assert_allclose(together[i], alone, rtol=1e-12)


def test_larger_resistance_gives_larger_psv_and_rejects_zero_ohm():
    stim = dev.pulse_stimulus(1e-3, 1e-3, delay_s=0.001, tail_s=0.01)
    u = dev.respond(NOMINAL, np.array([500.0, 2000.0, 8000.0, np.inf]), stim)
    assert np.all(np.diff(u.max(axis=1)) > 0)
    with pytest.raises(ValueError, match="> 0 ohm"):
        dev.respond(NOMINAL, 0.0, stim)
