"""Array-level results of a crossbar campaign: metric maps, per-cycle drift and device yield.

Input is the per-cycle LTP/LTD fit table (one row per state, device and cycle, as
:func:`fmes.analysis.variability.variability_summary` takes it). Only array devices (ids
``r<row>c<col>``) enter; the nominal reference device has no place on the grid.

- **Maps**: per state, device and metric, the mean and sample standard deviation over the
  device's usable cycles (converged, not ``poor_fit``: :func:`usable_cycles`), at the
  device's (row, column).
- **Drift**: per state, cycle and metric, the mean and the standard deviation across devices
  of the usable fits, i.e. how the array as a whole moves and spreads with cycling
  (the usual endurance read-out of a crossbar).
- **Yield**: a device (in one state) works if at least ``min_converged_frac`` of its cycle fits
  are usable (converged and not ``poor_fit``) and its median dynamic range G_max - G_min is at least ``min_range_frac`` times the
  median over the state's devices. The range threshold is relative because the range spans an
  order of magnitude between states (docs/trace_store.md, "Array results").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.analysis.variability import METRICS, grid_position, usable_cycles, with_derived_metrics
from fmes.core.status import Status

__all__ = [
    "array_fits",
    "cycle_drift",
    "device_yield",
    "grid_shape",
    "metric_maps",
    "relative_drift",
    "state_grid",
    "yield_summary",
]


def array_fits(fits: pd.DataFrame) -> pd.DataFrame:
    """The fits of array devices with ``row``/``col`` columns, the derived metrics and
    ``usable`` (:func:`~fmes.analysis.variability.usable_cycles`)."""
    positions = fits["device_id"].map(grid_position)
    on_grid = positions.notna().to_numpy()
    out = (
        with_derived_metrics(fits[on_grid])
        if on_grid.any()
        else with_derived_metrics(fits.iloc[0:0])
    )
    out["row"] = [p[0] for p in positions[on_grid]]
    out["col"] = [p[1] for p in positions[on_grid]]
    out["converged"] = out["converged"].astype(bool)
    out["usable"] = usable_cycles(out)
    out["poor_fit"] = out["status"].eq(Status.POOR_FIT.value) if "status" in out else False
    return out


def _metrics(frame: pd.DataFrame) -> list[str]:
    return [m for m in METRICS if m in frame]


def _long(
    grouped: pd.core.groupby.DataFrameGroupBy, keys: list[str], metrics: list[str]
) -> pd.DataFrame:
    stats = grouped[metrics].agg(["mean", "std", "count"])
    stats.columns = [f"{m}|{s}" for m, s in stats.columns]
    stats = stats.reset_index()
    parts = [
        stats[keys].assign(
            metric=m,
            mean=stats[f"{m}|mean"],
            sd=stats[f"{m}|std"],
            n=stats[f"{m}|count"].astype(int),
        )
        for m in metrics
    ]
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[*keys, "metric", "mean", "sd", "n"])
    )


def _with_status(table: pd.DataFrame, what: str) -> pd.DataFrame:
    empty = table["n"] == 0
    table["status"] = np.where(empty, Status.FAILED.value, Status.OK.value)
    table["reason"] = np.where(empty, f"no usable fit for this {what}", "")
    return table


def metric_maps(array: pd.DataFrame) -> pd.DataFrame:
    """Long table ``resistance_label, row, col, device_id, metric, mean, sd, n`` (n = usable
    cycles), one row per state, device and metric."""
    keys = ["resistance_label", "row", "col", "device_id"]
    ok = array[array["usable"]]
    grouped = array.assign(**{m: ok[m] for m in _metrics(array)}).groupby(keys, sort=True)
    return _with_status(_long(grouped, keys, _metrics(array)), "device")


def cycle_drift(array: pd.DataFrame) -> pd.DataFrame:
    """Long table ``resistance_label, cycle, metric, mean, sd, n``: the array's mean and spread
    (sd across devices) of every metric at each cycle index, usable fits only."""
    keys = ["resistance_label", "cycle"]
    ok = array[array["usable"]]
    grouped = array.assign(**{m: ok[m] for m in _metrics(array)}).groupby(keys, sort=True)
    return _with_status(_long(grouped, keys, _metrics(array)), "cycle")


def device_yield(
    array: pd.DataFrame, *, min_converged_frac: float, min_range_frac: float
) -> pd.DataFrame:
    """One row per state and device: ``n_cycles, n_converged, n_poor_fit, n_usable,
    median_range_V, state_median_range_V, works`` and ``status`` (``ok`` if it works, else
    ``flagged``) with the reason. A poor fit converged but is not usable: it counts against
    the device like a fit that did not converge."""
    ok = array[array["usable"]]
    per_device = array.groupby(["resistance_label", "row", "col", "device_id"], sort=True).agg(
        n_cycles=("cycle", "size"),
        n_converged=("converged", "sum"),
        n_poor_fit=("poor_fit", "sum"),
        n_usable=("usable", "sum"),
    )
    median_range = ok.groupby(["resistance_label", "row", "col", "device_id"])["range_V"].median()
    table = per_device.join(median_range.rename("median_range_V")).reset_index()
    table["state_median_range_V"] = table.groupby("resistance_label")["median_range_V"].transform(
        "median"
    )
    few_fits = table["n_usable"] / table["n_cycles"] < min_converged_frac
    small = ~(
        table["median_range_V"] >= min_range_frac * table["state_median_range_V"]
    )  # NaN: small
    table["works"] = ~few_fits & ~small
    reasons = []
    for fits_low, range_low, row in zip(
        few_fits, small, table.itertuples(index=False), strict=True
    ):
        why = []
        if fits_low and row.n_converged < row.n_cycles:
            why.append(
                f"{row.n_cycles - row.n_converged} of {row.n_cycles} cycle fits did not converge"
            )
        if fits_low and row.n_poor_fit:
            why.append(f"{row.n_poor_fit} of {row.n_cycles} cycle fits are poor fits")
        if range_low:
            why.append(
                f"median range {row.median_range_V:.3g} V below {min_range_frac:g} x the state's median "
                f"{row.state_median_range_V:.3g} V"
            )
        reasons.append("; ".join(why))
    table["status"] = np.where(table["works"], Status.OK.value, Status.FLAGGED.value)
    table["reason"] = reasons
    return table


def yield_summary(yields: pd.DataFrame) -> pd.DataFrame:
    """Per state: ``n_devices, n_working, yield_frac``."""
    out = yields.groupby("resistance_label", sort=True).agg(
        n_devices=("works", "size"), n_working=("works", "sum")
    )
    out["yield_frac"] = out["n_working"] / out["n_devices"]
    return out.reset_index()


def grid_shape(array: pd.DataFrame) -> tuple[int, int]:
    """(rows, columns) of the array: one more than the largest ``row`` and ``col``."""
    return int(array["row"].max()) + 1, int(array["col"].max()) + 1


def state_grid(table: pd.DataFrame, label: str, column: str, shape: tuple[int, int]) -> np.ndarray:
    """rows x columns matrix of one state's ``column`` from a table with ``row``/``col``
    (NaN where a device has no row)."""
    mat = np.full(shape, np.nan)
    t = table[table["resistance_label"] == label]
    mat[t["row"].to_numpy(int), t["col"].to_numpy(int)] = t[column].to_numpy(float)
    return mat


def relative_drift(drift: pd.DataFrame) -> pd.DataFrame:
    """:func:`cycle_drift` with the array mean and its ±sd band relative to the size of the
    metric in its state: ``scale`` = |mean over cycles of ``mean``| (1 where that is 0),
    ``relative_mean``, ``relative_lower``, ``relative_upper`` = (mean, mean - sd,
    mean + sd) / scale, so states that differ by decades share one axis."""
    out = drift.copy()
    out["scale"] = np.nan
    for _, g in drift.groupby(["resistance_label", "metric"], sort=False):
        g = g.sort_values("cycle")
        out.loc[g.index, "scale"] = abs(np.nanmean(g["mean"])) or 1.0
    out["relative_mean"] = out["mean"] / out["scale"]
    out["relative_lower"] = (out["mean"] - out["sd"]) / out["scale"]
    out["relative_upper"] = (out["mean"] + out["sd"]) / out["scale"]
    return out
