"""Variability statistics and array yield use each cycle's status: a poor fit is excluded and
counted, never averaged into a spread."""

import numpy as np
import pandas as pd
import pytest

from fmes.analysis.array_maps import array_fits, device_yield, metric_maps
from fmes.analysis.variability import (
    cdf_table,
    endurance_table,
    usable_cycles,
    variability_summary,
    with_derived_metrics,
)
from fmes.core.io import read_table, write_csv


def _cycles() -> pd.DataFrame:
    rows = []
    for device in ("r0c0", "r0c1", "r0c2"):
        for cycle in range(4):
            rows.append(
                {
                    "resistance_label": "500",
                    "device_id": device,
                    "cycle": cycle,
                    "converged": True,
                    "status": "ok",
                    "reason": "",
                    "g_max_V": 1.0 + 0.01 * cycle,
                    "g_min_V": 0.2,
                    "a_p_pulses": 10.0 + cycle,
                    "a_d_pulses": 5.0,
                    "mean_dw_ltp_V": 0.01,
                }
            )
    fits = pd.DataFrame(rows)
    # r0c1's last cycle: converged, but the fit does not describe it (a wild A_P)
    poor = (fits["device_id"] == "r0c1") & (fits["cycle"] == 3)
    fits.loc[poor, ["status", "reason", "a_p_pulses"]] = [
        "poor_fit",
        "residuals far above noise",
        1e4,
    ]
    fits.loc[(fits["device_id"] == "r0c2") & (fits["cycle"] == 0), ["converged", "status"]] = [
        False,
        "failed",
    ]
    fits.loc[(fits["device_id"] == "r0c0") & (fits["cycle"] == 1), "status"] = "flagged"
    return fits


def test_usable_cycles_are_converged_ok_or_flagged():
    fits = _cycles()
    usable = usable_cycles(fits)
    assert int(usable.sum()) == 10
    assert not usable[fits["status"] == "poor_fit"].any() and not usable[~fits["converged"]].any()
    assert usable[fits["status"] == "flagged"].all()
    assert usable_cycles(fits.drop(columns="status")).sum() == 11  # converged alone


def test_variability_excludes_and_counts_poor_fits(tmp_path):
    summary = variability_summary(_cycles())
    c2c = summary[(summary["metric"] == "a_p_pulses") & (summary["kind"] == "c2c")].iloc[0]
    assert c2c["n_excluded"] == 2 and c2c["n_poor_fit"] == 1 and c2c["n_values"] == 10
    # the poor cycle's A_P of 1e4 would dominate the CV; without it r0c1 has A_P 10, 11, 12
    expected = np.mean(
        [np.std(v, ddof=1) / np.mean(v) for v in ([10, 11, 12, 13], [10, 11, 12], [11, 12, 13])]
    )
    assert np.isclose(c2c["cv"], expected)
    assert set(summary["status"]) == {"ok"} and (summary["reason"] == "").all()
    write_csv(summary, tmp_path / "v.csv")
    assert read_table(tmp_path / "v.csv")["n_poor_fit"].eq(1).all()  # a valid pipeline table
    single = variability_summary(_cycles()[lambda f: f["device_id"] == "r0c0"])
    d2d = single[single["kind"] == "d2d"]
    assert (d2d["status"] == "skipped").all() and d2d["reason"].str.contains(
        "fewer than 2 devices"
    ).all()


def test_array_maps_and_yield_leave_poor_fits_out():
    array = array_fits(_cycles())
    maps = metric_maps(array)
    a_p = maps[maps["metric"] == "a_p_pulses"].set_index("device_id")
    assert a_p.loc["r0c1", "n"] == 3 and np.isclose(a_p.loc["r0c1", "mean"], 11.0)
    yields = device_yield(array, min_converged_frac=1.0, min_range_frac=0.0).set_index("device_id")
    assert yields.loc["r0c1", ["n_converged", "n_poor_fit", "n_usable"]].tolist() == [4, 1, 3]
    assert not yields.loc["r0c1", "works"] and yields.loc["r0c1", "status"] == "flagged"
    assert "1 of 4 cycle fits are poor fits" in yields.loc["r0c1", "reason"]
    assert "did not converge" not in yields.loc["r0c1", "reason"]
    assert yields.loc["r0c0", "works"]  # a flagged cycle still counts
    lenient = device_yield(array, min_converged_frac=0.75, min_range_frac=0.0)
    assert lenient["works"].all()


def test_cdf_table_per_state_and_metric_over_usable_cycles():
    fits = _cycles()
    fits.loc[fits["device_id"] == "r0c2", "resistance_label"] = "open"
    per_cycle = with_derived_metrics(fits[usable_cycles(fits)])
    cdf = cdf_table(per_cycle, ["a_p_pulses", "range_V"])
    # states by resistance (open last), then the metrics in the order asked
    order = cdf[["resistance_label", "metric"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert order == [
        ("500", "a_p_pulses"),
        ("500", "range_V"),
        ("open", "a_p_pulses"),
        ("open", "range_V"),
    ]
    a_p = cdf[(cdf["resistance_label"] == "500") & (cdf["metric"] == "a_p_pulses")]
    assert a_p["value"].tolist() == [10, 10, 11, 11, 12, 12, 13]  # r0c0 and r0c1's usable cycles
    assert a_p["cumulative_probability"].tolist() == pytest.approx(np.arange(1, 8) / 7)
    assert (cdf["status"] == "ok").all() and (cdf["reason"] == "").all()


def test_endurance_table_keeps_each_cycles_status_sorted_by_state_device_cycle():
    fits = _cycles()
    per_cycle = with_derived_metrics(fits[usable_cycles(fits)]).sample(frac=1.0, random_state=0)
    endurance = endurance_table(per_cycle)
    assert list(endurance.columns) == [
        "resistance_label",
        "device_id",
        "cycle",
        "g_max_V",
        "g_min_V",
        "range_V",
        "a_p_pulses",
        "a_d_pulses",
        "a_p_over_a_d",
        "mean_dw_ltp_V",
        "status",
        "reason",
    ]
    keys = list(zip(endurance["device_id"], endurance["cycle"], strict=True))
    assert keys == sorted(keys) and len(keys) == 10
    flagged = endurance[endurance["status"] == "flagged"]
    assert flagged[["device_id", "cycle"]].values.tolist() == [["r0c0", 1]]
