"""Energy/time of the mapping adaptation against retraining: the accounting itself."""

import numpy as np
import pandas as pd
import pytest

from fmes.adaptation import MappingScheme
from fmes.adaptation_energy import compare_routes, mapping_costs

DEVICES = pd.DataFrame(
    {
        "resistance_label": ["500", "open"],
        "energy_ltp_J": [1e-8, 3e-8],
        "energy_ltd_J": [2e-8, 4e-8],
    }
)
LEAK = 1e6


def test_mapping_costs_count_every_synapse_and_price_pixels_by_resistance():
    scheme = MappingScheme(
        r_dark_ohm=500, r_bright_ohm=np.inf, pulses_per_image=2, other_rows_ltd_pulses=1
    )
    X_seq = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # dark pixel -> 500 ohm, bright -> open
    out = mapping_costs(
        X_seq,
        [0, 1, 2],
        n_classes=4,
        scheme=scheme,
        device_table=DEVICES,
        leakage_resistance_ohm=LEAK,
        pulse_period_s=0.5,
    ).set_index("step")
    first = 2 * (1e-8 + 3e-8 + 3e-8) + 3 * 1 * (2e-8 + 4e-8 + 4e-8)
    assert out.loc[1, "energy_J"] == pytest.approx(first)
    assert out.loc[2, "energy_J"] == pytest.approx(first + 2 * 3e-8 + 3 * 3 * 2e-8)
    assert out.loc[2, "pulses_ltp"] == 2 * 2 * 3 and out.loc[2, "pulses_ltd"] == 2 * 1 * 3 * 3
    assert out.loc[2, "time_s"] == pytest.approx(2 * 2 * 0.5)
    assert out.loc[0, "energy_J"] == 0.0
    with pytest.raises(ValueError, match="energy_ltp_J"):
        mapping_costs(X_seq, [1], 4, scheme, DEVICES.assign(energy_ltp_J=np.nan), LEAK, 0.5)


def test_compare_routes_uses_the_first_epoch_reaching_the_mapping_accuracy_or_says_it_never_did():
    routes = pd.DataFrame(
        {
            "route": ["mapping"] * 2 + ["retraining"] * 3,
            "step": [0, 40, 0, 1, 2],
            "accuracy_dataset2": [0.1, 0.7, 0.1, 0.6, 0.8],
            "energy_J": [0.0, 10.0, 0.0, 1.0, 2.0],
            "time_s": [0.0, 20.0, 0.0, 4.0, 5.0],
        }
    )
    got = compare_routes(routes)
    assert got["retraining_reached"] and got["retraining_epochs"] == 2
    assert got["energy_ratio"] == pytest.approx(5.0) and got["time_ratio"] == pytest.approx(4.0)
    never = compare_routes(routes.assign(accuracy_dataset2=[0.1, 0.9, 0.1, 0.6, 0.8]))
    assert not never["retraining_reached"] and never["retraining_energy_J"] == 2.0
