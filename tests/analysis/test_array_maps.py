"""Array maps, per-cycle drift and device yield from per-cycle fits."""

import numpy as np
import pandas as pd

from fmes.analysis.array_maps import (
    array_fits,
    cycle_drift,
    device_yield,
    metric_maps,
    yield_summary,
)


def _fits():
    rows = []
    for i in range(2):
        for j in range(3):
            for cycle in range(4):
                g_max = 1.0 + 0.1 * i + 0.01 * j + 0.001 * cycle  # row gradient + drift
                rows.append(
                    {
                        "resistance_label": "500",
                        "device_id": f"r{i}c{j}",
                        "cycle": cycle,
                        "converged": True,
                        "g_max_V": g_max,
                        "g_min_V": 0.2,
                        "a_p_pulses": 10.0,
                        "a_d_pulses": 5.0,
                        "mean_dw_ltp_V": 0.01,
                    }
                )
    rows.append({**rows[0], "device_id": "nominal"})  # not on the grid
    fits = pd.DataFrame(rows)
    fits.loc[(fits["device_id"] == "r1c2") & (fits["cycle"] == 3), "converged"] = False
    fits.loc[fits["device_id"] == "r0c1", "g_max_V"] = (
        0.3  # range 0.1 V: far below the others' ~0.9 V
    )
    return fits


def test_maps_place_each_device_mean_at_its_row_and_column():
    maps = metric_maps(array_fits(_fits()))
    g = maps[maps["metric"] == "g_max_V"].set_index("device_id")
    assert len(g) == 6 and "nominal" not in g.index
    assert g.loc["r1c0", ["row", "col"]].tolist() == [1, 0]
    assert np.isclose(g.loc["r1c0", "mean"], 1.1 + 0.0015)  # mean over cycles 0..3
    assert g.loc["r1c2", "n"] == 3  # the non-converged cycle is left out
    assert set(maps["metric"]) >= {"g_max_V", "range_V", "a_p_over_a_d"}
    assert (maps["status"] == "ok").all()


def test_drift_follows_the_array_mean_per_cycle():
    drift = cycle_drift(array_fits(_fits()))
    g = drift[drift["metric"] == "a_p_over_a_d"].set_index("cycle")
    assert np.allclose(g["mean"], 2.0) and np.allclose(g["sd"], 0.0)
    r = drift[drift["metric"] == "g_max_V"].set_index("cycle")
    assert r.loc[3, "n"] == 5 and r.loc[0, "n"] == 6


def test_yield_flags_failed_fits_and_small_ranges_with_reasons():
    yields = device_yield(
        array_fits(_fits()), min_converged_frac=1.0, min_range_frac=0.5
    ).set_index("device_id")
    assert (
        not yields.loc["r1c2", "works"]
        and "1 of 4 cycle fits did not converge" in yields.loc["r1c2", "reason"]
    )
    assert (
        not yields.loc["r0c1", "works"]
        and "below 0.5 x the state's median" in yields.loc["r0c1", "reason"]
    )
    assert yields.loc["r0c0", "works"] and yields.loc["r0c0", "status"] == "ok"
    assert yields.loc["r0c1", "status"] == "flagged"
    summary = yield_summary(yields.reset_index())
    assert summary.iloc[0][["n_devices", "n_working"]].tolist() == [6, 4]
    lenient = device_yield(array_fits(_fits()), min_converged_frac=0.75, min_range_frac=0.0)
    assert lenient["works"].all()


def test_array_results_and_their_figures_or_why_there_are_none(tmp_path):
    from fmes.analysis.figures import array_drift_figure, array_maps_figure, array_yield_figure
    from fmes.analysis.pipeline import array_results
    from fmes.core.figures import plt

    result = array_results(_fits(), min_converged_frac=1.0, min_range_frac=0.5)
    assert result.skipped == "" and result.shape == (2, 3) and result.labels == ["500"]
    assert result.metrics[0] == "g_max_V"
    assert len(result.yields) == 6 and len(result.maps) == 6 * len(result.metrics)
    for draw in (array_maps_figure, array_drift_figure, array_yield_figure):
        fig = draw(result)
        assert fig.axes  # drawn from the results, no I/O
        plt.close(fig)
    for fits, why in (
        (None, "no LTP/LTD fits"),
        (_fits().assign(device_id="nominal"), "no array devices"),
    ):
        skipped = array_results(fits, min_converged_frac=1.0, min_range_frac=0.5)
        assert skipped.skipped.startswith(why)
        for table in (skipped.maps, skipped.drift, skipped.yields):
            assert table["status"].tolist() == ["skipped"]
            assert table["reason"].tolist() == [skipped.skipped]
