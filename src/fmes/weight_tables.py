"""LTP/LTD given as weight-per-pulse tables instead of time traces.

Many labs (and the lookup-table examples of analog-training simulators) keep potentiation and
depression as two tables: a SET file and a RESET file, one column per run, one row per pulse,
the weight (conductance, current at a read voltage, PSV, ...) after each pulse; shorter runs
are padded with empty cells, and the two files may hold different numbers of runs and pulses.
This module reads that layout (``pandas.read_csv`` with the declared separator, decimal mark,
header line and encoding) and feeds the same weight shape that
:func:`fmes.analysis.ltp_ltd.ltp_ltd_weights` builds from traces into
:func:`fmes.analysis.ltp_ltd.fit_ltp_ltd`, with each branch's own pulse count.

Pairing: run k of the SET file with run k of the RESET file (column order); runs without a
partner get a ``skipped`` row. Runs are the cycles of one device (``runs: cycles``) or one
device each (``runs: devices``, the column name is the device id). Columns of the fit table
that carry the weight unit end in ``_<unit>`` (``g_max_uS``), never ``_V``, and every row says
``weight_quantity`` and ``weight_unit``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmes.analysis._fit import DEFAULT_LIMITS, QualityLimits
from fmes.analysis.ltp_ltd import fit_ltp_ltd, step_resolution
from fmes.analysis.variability import variability_summary
from fmes.status import Status

__all__ = [
    "WeightTableError",
    "WeightTableResults",
    "analyse_weight_tables",
    "device_states_from_runs",
    "read_weight_table",
    "weight_table_results",
    "with_weight_unit",
]

MIN_PULSES = 4


class WeightTableError(ValueError):
    """A weight-per-pulse table that cannot be read as declared."""


def read_weight_table(
    path: str | os.PathLike,
    *,
    separator: str = ",",
    decimal: str = ".",
    header_line: int = 1,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """One table: columns = runs (named by the header, or ``run1..`` without one), rows = pulses.

    Cells are numbers; empty cells may only pad the end of a run. Raises
    :class:`WeightTableError` naming file, line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightTableError(f"{path}: weight table not found")
    try:
        frame = pd.read_csv(
            path,
            sep=separator,
            decimal=decimal,
            skiprows=max(header_line - 1, 0),
            header=0 if header_line > 0 else None,
            encoding=encoding,
            index_col=False,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except (ValueError, UnicodeDecodeError) as err:
        raise WeightTableError(
            f"{path}: not readable as a table with separator {separator!r} ({err})"
        ) from None
    if header_line == 0:
        frame.columns = [f"run{k + 1}" for k in range(frame.shape[1])]
    frame.columns = [str(c).strip() for c in frame.columns]
    first_line = header_line + 1
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values):
            numbers = pd.to_numeric(
                values.astype(str).str.strip().str.replace(decimal, ".", regex=False),
                errors="coerce",
            )
            bad = numbers.isna() & values.notna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise WeightTableError(
                    f"{path}: row {i + 1} (line {i + first_line}), column {column!r}: expected a number "
                    f"with decimal mark {decimal!r}, got {values.iloc[i]!r}"
                )
            frame[column] = numbers
        finite = frame[column].notna().to_numpy()
        n = int(finite.sum())
        if n and not finite[:n].all():
            i = int(np.flatnonzero(~finite[:n])[0])
            raise WeightTableError(
                f"{path}: row {i + 1} (line {i + first_line}), column {column!r}: empty cell inside the run "
                "(empty cells may only pad the end of a shorter run)"
            )
        if n < MIN_PULSES:
            raise WeightTableError(
                f"{path}: column {column!r}: {n} weights; a run needs at least {MIN_PULSES}"
            )
    return frame.astype(float)


def with_weight_unit(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Rename the fit columns that carry the weight unit (``..._V``) to ``..._<unit>``."""
    return frame.rename(columns={c: f"{c[:-2]}_{unit}" for c in frame.columns if c.endswith("_V")})


def _run_weights(set_run: np.ndarray, reset_run: np.ndarray) -> pd.DataFrame:
    """The weight shape of :func:`~fmes.analysis.ltp_ltd.ltp_ltd_weights` for one run pair."""
    set_run, reset_run = set_run[np.isfinite(set_run)], reset_run[np.isfinite(reset_run)]
    return pd.DataFrame(
        {
            "phase": ["ltp"] * set_run.size + ["ltd"] * reset_run.size,
            "pulse_number": np.concatenate(
                [np.arange(1, set_run.size + 1), np.arange(1, reset_run.size + 1)]
            ),
            "weight_V": np.concatenate(
                [set_run, reset_run]
            ),  # the unit is renamed in the fit table
        }
    )


def analyse_weight_tables(
    set_table: pd.DataFrame,
    reset_table: pd.DataFrame,
    spec: Mapping[str, object],
    fit_kw: Mapping[str, object],
    limits: QualityLimits = DEFAULT_LIMITS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every SET/RESET run pair: (fit table, long weight table).

    ``spec`` is one entry of the config key ``traces.weight_tables`` (``name``, ``quantity``,
    ``unit``, ``resistance_ohm``, ``device_id``, ``runs``, ``signed_nl``, which overrides the
    one in ``fit_kw``); ``fit_kw`` the keyword arguments of
    :func:`~fmes.analysis.ltp_ltd.fit_ltp_ltd` (``analysis.ltp_ltd``). Fit columns keep the
    ``_V`` names here (the variability metrics use them); :func:`with_weight_unit` renames them
    for the written table.

    A table has no trace to measure the read noise on, so each run's fit is judged against the
    noise of one weight taken from its own steps: σ_step/√2 (:func:`step_resolution` over both
    branches; a step is the difference of two reads). With cumulative (random-walk) update noise
    this underestimates the scatter about a mean curve, so a fit may be flagged conservatively.
    """
    rows, long = [], []
    n_runs = max(set_table.shape[1], reset_table.shape[1])
    for k in range(n_runs):
        set_name = set_table.columns[k] if k < set_table.shape[1] else None
        reset_name = reset_table.columns[k] if k < reset_table.shape[1] else None
        run = set_name or reset_name
        device = str(run) if spec["runs"] == "devices" else str(spec["device_id"])
        keys = {
            "table": spec["name"],
            "run": str(run),
            "device_id": device,
            "cycle": 0 if spec["runs"] == "devices" else k,
            "resistance_label": str(spec["resistance_ohm"]),
            "weight_quantity": spec["quantity"],
            "weight_unit": spec["unit"],
        }
        if set_name is None or reset_name is None:
            missing = "SET" if set_name is None else "RESET"
            rows.append(
                keys
                | {
                    "converged": False,
                    "status": str(Status.SKIPPED),
                    "reason": f"no {missing} run {k + 1} to pair with",
                }
            )
            continue
        weights = _run_weights(set_table[set_name].to_numpy(), reset_table[reset_name].to_numpy())
        n_set = int((weights["phase"] == "ltp").sum())
        n_reset = int((weights["phase"] == "ltd").sum())
        # branches of different lengths have their own bounds: always the separate fit
        kw = {**fit_kw, "bounds": "separate", "signed_nl": spec["signed_nl"]}
        runs = np.full((2, max(n_set, n_reset)), np.nan)
        runs[0, :n_set] = weights.loc[weights["phase"] == "ltp", "weight_V"]
        runs[1, :n_reset] = weights.loc[weights["phase"] == "ltd", "weight_V"]
        noise = step_resolution(runs, window=int(fit_kw["step_window_pulses"]))[
            "step_noise"
        ] / np.sqrt(2)
        fit = fit_ltp_ltd(weights, n_set, n_pulses_ltd=n_reset, noise_V=noise, limits=limits, **kw)
        rows.append(keys | fit)
        long.append(
            weights.assign(**{key: keys[key] for key in ("table", "run", "device_id", "cycle")})
        )
    weights_long = pd.concat(long, ignore_index=True) if long else pd.DataFrame()
    return pd.DataFrame(rows), weights_long


def device_states_from_runs(
    weights_long: pd.DataFrame, *, window: int, n_sigma: float
) -> pd.DataFrame:
    """Levels each device holds per branch over ALL its runs (:func:`step_resolution`): one row
    per table, device and phase with ``n_runs``, ``n_states``, ``step_noise`` and the mean step
    (first, last pulse)."""
    rows = []
    for (table, device, phase), g in weights_long.groupby(
        ["table", "device_id", "phase"], sort=False
    ):
        wide = g.pivot(index="run", columns="pulse_number", values="weight_V").to_numpy(float)
        res = step_resolution(wide, window=window, n_sigma=n_sigma)
        rows.append(
            {
                "table": table,
                "device_id": device,
                "phase": phase,
                "n_runs": wide.shape[0],
                "n_pulses_max": wide.shape[1],
                "n_states": res["n_states"],
                "step_noise": res["step_noise"],
                "mean_step_first": float(res["mean_step"][0]),
                "mean_step_last": float(res["mean_step"][np.isfinite(res["mean_step"])][-1]),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class WeightTableResults:
    """The four tables of one SET/RESET table pair, in the table's own weight unit."""

    fits: pd.DataFrame  # per run, weight columns ``..._<unit>``
    weights: pd.DataFrame  # long: ``weight`` per pulse, with ``weight_unit``
    states: pd.DataFrame  # levels per device and phase over all runs, with ``weight_unit``
    variability: pd.DataFrame  # c2c/d2d CVs, metrics ``..._<unit>``, with ``table``


def weight_table_results(
    fits: pd.DataFrame,
    weights: pd.DataFrame,
    spec: Mapping[str, object],
    fit_kw: Mapping[str, object],
    *,
    nominal_device: str = "nominal",
) -> WeightTableResults:
    """The tables of one pair from :func:`analyse_weight_tables`'s ``fits`` and ``weights``:
    the variability over the usable runs (cycles or devices, as ``spec["runs"]`` says), the
    levels per device (:func:`device_states_from_runs`), and every table in the pair's unit
    (``_V`` -> ``_<unit>``, ``weight_V`` -> ``weight``)."""
    unit = str(spec["unit"])
    summary = variability_summary(fits, nominal_device=nominal_device)
    summary["metric"] = summary["metric"].str.replace(r"_V$", f"_{unit}", regex=True)
    states = device_states_from_runs(
        weights, window=fit_kw["step_window_pulses"], n_sigma=fit_kw["n_sigma_states"]
    )
    return WeightTableResults(
        fits=with_weight_unit(fits, unit),
        weights=weights.rename(columns={"weight_V": "weight"}).assign(weight_unit=unit),
        states=states.assign(weight_unit=unit),
        variability=summary.assign(table=spec["name"]),
    )
