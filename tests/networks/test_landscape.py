"""Device landscape: grid devices have the requested non-idealities; the figure places states."""

from __future__ import annotations

import numpy as np
import pytest

from fmes.device.synapse import DeviceSpec, nl_label_from_a
from fmes.networks.figures import landscape_figure
from fmes.networks.landscape import grid_device, landscape_grid, state_points


def test_grid_devices_carry_their_nl_labels_levels_and_noise():
    device = grid_device(3.0, 1.0, 64, 0.02)
    assert nl_label_from_a(device.a_p_pulses / 64) == pytest.approx(3.0, abs=1e-6)
    assert nl_label_from_a(device.a_d_pulses / 64) == pytest.approx(1.0, abs=1e-6)
    assert (device.n_pulses, device.c2c_sigma_frac, device.range_V) == (64, 0.02, 1.0)
    linear = grid_device(0.0, 0.0, 64, 0.0)
    assert nl_label_from_a(linear.a_p_pulses / 64) < 1e-3


def test_grid_has_both_planes_and_the_figure_places_the_states():
    grid = landscape_grid([0, 2, 5], [16, 150], [0.0, 0.01], reference_levels=150)
    assert (grid["plane"] == "nonlinearity").sum() == 9
    assert (grid["plane"] == "levels_noise").sum() == 4
    assert set(grid.loc[grid["plane"] == "nonlinearity", "c2c_sigma_frac"]) == {0.0}
    specs = {
        "8000": DeviceSpec("8000", 0.1, 0.8, 150, 164.0, 165.0, c2c_sigma_frac=0.005),
        "500": DeviceSpec("500", 0.1, 0.3, 150, 23.0, 22.0, c2c_sigma_frac=0.2),
    }
    points = state_points(specs)
    assert (
        points.set_index("state").loc["500", "nl_ltp"]
        > points.set_index("state").loc["8000", "nl_ltp"]
    )
    table = grid.assign(test_accuracy=np.linspace(0.1, 0.9, len(grid)))
    fig = landscape_figure(table, points, "test")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "500 (off grid)" in texts and "8000" in texts  # c2c 0.2 is beyond the grid
    assert fig.axes[0].get_xlabel() == "NL label, LTP"
    assert fig.axes[-1].get_ylabel() == "test accuracy (1)"  # the colour bar
