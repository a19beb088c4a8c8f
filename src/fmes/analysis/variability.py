"""Cycle-to-cycle and device-to-device variability, CDFs, endurance and array maps.

Input is a table of per-cycle LTP/LTD fit results (one row per resistance state, device and
cycle; the columns produced by :func:`fmes.analysis.ltp_ltd.fit_ltp_ltd` plus
``resistance_label, device_id, cycle``). Conventions (docs/conventions.md, "Variability"):

- CV = σ/|μ| with the sample standard deviation (ddof = 1); NaN with fewer than 2 values.
- **Cycle-to-cycle** CV of a metric: the CV over the cycles of one device, averaged over the
  devices that have >= 2 usable cycles (``n_groups`` says how many).
- **Device-to-device** CV: the CV across devices of each device's mean over its cycles. The
  nominal device (``device_id == "nominal"``) is a reference, not a sample of the array, so it
  is left out whenever >= 2 other devices exist.
- Only usable fits enter (:func:`usable_cycles`: converged and not ``poor_fit``); every other
  cycle is counted in ``n_excluded``, the poor fits among them also in ``n_poor_fit``.
- Metrics: G_max, G_min, dynamic range G_max - G_min, A_P, A_D, A_P/A_D and the mean LTP step.
- Endurance: the metrics against the cycle index (Supplementary Fig. 10); array map: a metric
  on the device grid, device ids ``r<row>c<col>`` (Supplementary Fig. 11).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fmes.core.status import Status
from fmes.data.traces import ordered_labels

__all__ = [
    "FIT_KEY_COLUMNS",
    "METRICS",
    "cdf_table",
    "coefficient_of_variation",
    "ecdf",
    "endurance_cycles",
    "endurance_table",
    "fit_columns",
    "grid_position",
    "heatmap_grid",
    "usable_cycles",
    "variability_summary",
    "with_derived_metrics",
]

#: Metric column -> human label (with unit) used for tables and plots.
METRICS: dict[str, str] = {
    "g_max_V": "G_max (V)",
    "g_min_V": "G_min (V)",
    "range_V": "dynamic range G_max - G_min (V)",
    "a_p_pulses": "A_P (pulses)",
    "a_d_pulses": "A_D (pulses)",
    "a_p_over_a_d": "A_P/A_D",
    "mean_dw_ltp_V": "mean LTP step (V)",
}


#: Columns of the per-cycle fit table that every variability and array result is built from
#: (a crossbar campaign's fit table has ~85 columns per trace; the rest is not read).
FIT_KEY_COLUMNS = (
    "trace_id",
    "resistance_label",
    "device_id",
    "cycle",
    "converged",
    "status",
    "reason",
)


def fit_columns(*extra: str) -> list[str]:
    """:data:`FIT_KEY_COLUMNS`, the :data:`METRICS` and ``extra`` (say, a configured metric):
    the fit-table columns the variability and array analyses read."""
    return list(dict.fromkeys([*FIT_KEY_COLUMNS, *METRICS, *extra]))


def coefficient_of_variation(values: np.ndarray) -> float:
    """σ/|μ| (ddof = 1) of the finite values; NaN with fewer than 2 or a zero mean."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size < 2 or np.mean(x) == 0:
        return np.nan
    return float(np.std(x, ddof=1) / abs(np.mean(x)))


def usable_cycles(fits: pd.DataFrame) -> pd.Series:
    """Boolean mask of the cycles that enter variability statistics.

    A cycle enters if its fit converged and its ``status`` carries a value that is not
    ``poor_fit`` (``ok`` or ``flagged``): a fit that does not describe its cycle would add its
    misfit to the spread being measured. A table without ``status`` uses ``converged`` alone.
    """
    usable = (
        fits["converged"].astype(bool) if "converged" in fits else pd.Series(True, index=fits.index)
    )
    if "status" in fits:
        usable &= fits["status"].isin([Status.OK.value, Status.FLAGGED.value])
    return usable


def _n_poor_fit(fits: pd.DataFrame) -> int:
    return int((fits["status"] == Status.POOR_FIT.value).sum()) if "status" in fits else 0


def with_derived_metrics(fits: pd.DataFrame) -> pd.DataFrame:
    """Add ``range_V`` (if absent) and ``a_p_over_a_d`` to a per-cycle fit table."""
    out = fits.copy()
    if "range_V" not in out:
        out["range_V"] = out["g_max_V"] - out["g_min_V"]
    out["a_p_over_a_d"] = out["a_p_pulses"] / out["a_d_pulses"]
    return out


def variability_summary(fits: pd.DataFrame, *, nominal_device: str = "nominal") -> pd.DataFrame:
    """Long table: ``resistance_label, metric, kind (c2c|d2d), cv, n_groups, n_values,
    n_excluded, n_poor_fit, status, reason``, one row per state, metric and kind (``skipped``
    where the usable cycles do not support the statistic)."""
    df = with_derived_metrics(fits)
    rows = []
    for label, g in df.groupby("resistance_label", sort=False):
        ok = g[usable_cycles(g)]
        n_excl = len(g) - len(ok)
        n_poor = _n_poor_fit(g)
        devices = ok["device_id"].astype(str)
        others = ok[devices != nominal_device]
        pop = others if others["device_id"].nunique() >= 2 else ok
        for metric in METRICS:
            if metric not in ok:
                continue
            per_dev = ok.groupby("device_id")[metric]
            c2c = [coefficient_of_variation(v) for _, v in per_dev if v.notna().sum() >= 2]
            c2c = [c for c in c2c if np.isfinite(c)]
            rows.append(
                {
                    "resistance_label": label,
                    "metric": metric,
                    "kind": "c2c",
                    "cv": float(np.mean(c2c)) if c2c else np.nan,
                    "n_groups": len(c2c),
                    "n_values": int(ok[metric].notna().sum()),
                    "n_excluded": n_excl,
                    "n_poor_fit": n_poor,
                    "status": Status.OK.value if c2c else Status.SKIPPED.value,
                    "reason": "" if c2c else "no device with >= 2 usable cycles",
                }
            )
            dev_means = pop.groupby("device_id")[metric].mean()
            d2d = coefficient_of_variation(dev_means.to_numpy())
            rows.append(
                {
                    "resistance_label": label,
                    "metric": metric,
                    "kind": "d2d",
                    "cv": d2d,
                    "n_groups": int(dev_means.notna().sum()),
                    "n_values": int(pop[metric].notna().sum()),
                    "n_excluded": n_excl,
                    "n_poor_fit": n_poor,
                    "status": Status.OK.value if np.isfinite(d2d) else Status.SKIPPED.value,
                    "reason": "" if np.isfinite(d2d) else "fewer than 2 devices with usable cycles",
                }
            )
    cols = [
        "resistance_label",
        "metric",
        "kind",
        "cv",
        "n_groups",
        "n_values",
        "n_excluded",
        "n_poor_fit",
        "status",
        "reason",
    ]
    return pd.DataFrame(rows, columns=cols)


def ecdf(values: np.ndarray) -> pd.DataFrame:
    """Empirical CDF: sorted finite ``value`` and ``cumulative_probability`` = i/n."""
    x = np.sort(np.asarray(values, float)[np.isfinite(np.asarray(values, float))])
    return pd.DataFrame(
        {"value": x, "cumulative_probability": np.arange(1, x.size + 1) / max(x.size, 1)}
    )


def cdf_table(per_cycle: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Long table of the empirical CDF (:func:`ecdf`) of each metric per resistance state
    (states by resistance, then ``metrics`` in their order; a metric ``per_cycle`` lacks is
    left out), every row ``ok``."""
    return pd.concat(
        [
            ecdf(per_cycle[per_cycle["resistance_label"] == lab][m]).assign(
                resistance_label=lab, metric=m, status=Status.OK.value, reason=""
            )
            for lab in ordered_labels(per_cycle["resistance_label"])
            for m in metrics
            if m in per_cycle
        ],
        ignore_index=True,
    )


def endurance_table(per_cycle: pd.DataFrame) -> pd.DataFrame:
    """The :data:`METRICS` of every cycle, sorted by state, device and cycle; each cycle keeps
    its fit's ``status`` (ok or flagged) and ``reason``."""
    keep = [
        "resistance_label",
        "device_id",
        "cycle",
        *[m for m in METRICS if m in per_cycle],
        "status",
        "reason",
    ]
    return per_cycle[keep].sort_values(["resistance_label", "device_id", "cycle"])


_GRID = re.compile(r"^r(\d+)c(\d+)$")


def grid_position(device_id: str) -> tuple[int, int] | None:
    """(row, col) of an array device id ``r<row>c<col>``; None for other ids."""
    m = _GRID.match(str(device_id))
    return (int(m.group(1)), int(m.group(2))) if m else None


def endurance_cycles(per_cycle: pd.DataFrame, nominal_device: str) -> pd.DataFrame:
    """The cycles the endurance figure draws: per state, those of ``nominal_device`` if it has
    at least two, otherwise those of the device with the most cycles (the first by id on a
    tie), rows in their order in ``per_cycle``."""
    shown = []
    for _, s in per_cycle.groupby("resistance_label", sort=False):
        nominal = s["device_id"] == nominal_device
        device = nominal_device if nominal.sum() >= 2 else s["device_id"].mode().iloc[0]
        shown.append(s["device_id"] == device)
    if not shown:
        return per_cycle.iloc[0:0]
    return per_cycle[pd.concat(shown).reindex(per_cycle.index)]


def heatmap_grid(per_cycle: pd.DataFrame, metric: str) -> tuple[str | None, pd.DataFrame]:
    """The array map of Supplementary Fig. 11: the state with the most cycles of array devices
    (ids ``r<row>c<col>``) and the mean of ``metric`` over each of its devices' cycles as a
    rows x columns frame (index ``row``, columns ``col``, NaN where a device has no cycle);
    ``(None, empty frame)`` without array devices."""
    pos = per_cycle["device_id"].map(grid_position)
    on_grid = pos.notna()
    grid = per_cycle[on_grid].assign(row=pos[on_grid].str[0], col=pos[on_grid].str[1])
    if grid.empty:
        return None, pd.DataFrame()
    label = grid["resistance_label"].value_counts().index[0]
    means = grid[grid["resistance_label"] == label].groupby(["row", "col"])[metric].mean()
    return label, means.unstack("col")
