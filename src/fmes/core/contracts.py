"""Column contracts between pipeline stages (docs/interfaces.md), defined once.

Kept in a module of its own, with no imports, so that the producer (``fmes.analysis``) and the
consumers (``fmes.device.synapse``, the networks and adaptation) share one definition without the
network code depending on the analysis package.
"""

# results/tables/device_params.csv: analysis -> networks / adaptation, one row per state
DEVICE_PARAMS_COLUMNS: tuple[str, ...] = (
    "resistance_label",
    "resistance_ohm",
    "g_min_V",
    "g_max_V",
    "n_pulses",
    "a_p_pulses",
    "a_d_pulses",
    "a_p_stderr_pulses",
    "a_d_stderr_pulses",
    "nl_ltp",
    "nl_ltd",
    "n_states",
    "c2c_sigma_frac",
    "d2d_a_cv",
    "d2d_range_cv",
    "status",  # worst status of the LTP/LTD fit rows used (fmes.core.status.worst)
    "reason",
)

# ... followed by the energy and time per programming pulse (fmes.analysis.energy, from the
# ltp_ltd pulses), appended by the device_params rule; NaN where a state has no such traces
DEVICE_PARAMS_ENERGY_COLUMNS: tuple[str, ...] = (
    "energy_ltp_J",
    "energy_ltd_J",
    "pulse_width_s",
    "pulse_period_s",
)
