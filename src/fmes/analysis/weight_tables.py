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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmes.analysis._fit import DEFAULT_LIMITS, QualityLimits
from fmes.analysis.ltp_ltd import fit_ltp_ltd, step_resolution
from fmes.analysis.variability import variability_summary
from fmes.core.rng import child_rng
from fmes.core.status import Status, worst

__all__ = [
    "StepLookupTable",
    "WeightTableError",
    "WeightTableResults",
    "analyse_weight_tables",
    "branch_summary",
    "device_states_from_runs",
    "load_weight_tables",
    "mean_lookup_run",
    "mean_step_pulses",
    "read_step_lookup_table",
    "read_weight_table",
    "sample_lookup_runs",
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
    columns: Sequence[str | int] | None = None,
) -> pd.DataFrame:
    """One table: columns = runs (named by the header, or ``run1..`` without one), rows = pulses.

    Cells are numbers; empty cells may only pad the end of a run. ``columns`` keeps only these
    runs, in this order (header names, or 1-based positions as integers), so one file with a
    SET and a RESET column can serve as both tables. Raises :class:`WeightTableError` naming
    file, line and column.
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
    if header_line > 0 and _looks_like_data(frame.columns, decimal):
        # a file without a header read with one: its first weights became the run names
        raise WeightTableError(
            f"{path}: line {header_line} (the header line) holds numbers "
            f"({', '.join(frame.columns[:3])}): if the file has no header, set header_line: 0"
        )
    if columns is not None:
        frame = frame[[_column_name(path, frame, c) for c in columns]]
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


def _looks_like_data(names: Sequence[str], decimal: str) -> bool:
    """Every name a number and at least one not an integer (run names such as 1, 2, 3 are
    fine; -0.84444 is a weight)."""
    values = [n.replace(decimal, ".") for n in names]
    return all(_is_float(v) for v in values) and not all(v.lstrip("+-").isdigit() for v in values)


def _column_name(path: Path, frame: pd.DataFrame, column: str | int) -> str:
    """The header name of a selected column (a name, or a 1-based position as an integer)."""
    names = list(frame.columns)
    if isinstance(column, int) and not isinstance(column, bool):
        if 1 <= column <= len(names):
            return names[column - 1]
        raise WeightTableError(
            f"{path}: column {column} selected, but the table has {len(names)} column(s) "
            "(positions count from 1)"
        )
    if str(column) in names:
        return str(column)
    raise WeightTableError(f"{path}: column {column!r} selected, but the header has {names}")


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


# --- step-size lookup tables (CrossSim's dG_increasing.txt / dG_decreasing.txt) ---------------


@dataclass(frozen=True)
class StepLookupTable:
    """Measured step-size statistics of one branch: the quantile function of the step per level.

    ``dg[i, j]`` is the step a pulse makes from weight ``g[j]`` at cumulative probability
    ``cdf[i]`` (the layout of CrossSim's lookup tables: line 2 the weight bins, line 3 the CDF
    points, then one line per CDF point with one step per bin).
    """

    path: str
    g: np.ndarray  # weight bins, strictly increasing
    cdf: np.ndarray  # cumulative probabilities, strictly increasing from 0 to 1
    dg: np.ndarray  # len(cdf) x len(g) steps

    def mean_step(self) -> np.ndarray:
        """Mean step per bin: the integral of the quantile function over the CDF (trapezoid;
        the expectation of the bilinear sampling of :func:`sample_lookup_runs`)."""
        return np.sum(np.diff(self.cdf)[:, None] * (self.dg[:-1] + self.dg[1:]) / 2, axis=0)

    def step_sd(self) -> np.ndarray:
        """Standard deviation of the step per bin (same quadrature as :meth:`mean_step`)."""
        mid = (self.dg[:-1] + self.dg[1:]) / 2
        var = np.sum(np.diff(self.cdf)[:, None] * (mid - self.mean_step()) ** 2, axis=0)
        return np.sqrt(var)


def _numbers(path: Path, line_no: int, text: str, what: str) -> np.ndarray:
    cells = [c.strip() for c in text.strip().split(",")]
    try:
        values = np.array([float(c) for c in cells])
    except ValueError:
        bad = next(c for c in cells if not _is_float(c))
        raise WeightTableError(
            f"{path}: line {line_no}: expected {what} (numbers separated by ','), got {bad!r}"
        ) from None
    if not np.isfinite(values).all():
        raise WeightTableError(f"{path}: line {line_no}: {what} must be finite numbers")
    return values


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_step_lookup_table(path: str | os.PathLike, *, scale: float = 1.0) -> StepLookupTable:
    """Read a step-size lookup table in CrossSim's layout; weights and steps times ``scale``.

    Line 1 is a free-text title; line 2 the weight bins (strictly increasing); line 3 the CDF
    points (strictly increasing, 0 to 1); every further non-blank line one CDF point's steps,
    one per bin. CrossSim reads the same lines with ``numpy.genfromtxt(delimiter=",")``
    (sandialabs/cross-sim, ``numeric_params.py``). Raises :class:`WeightTableError` naming the
    file, the line and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightTableError(f"{path}: step lookup table not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise WeightTableError(f"{path}: not UTF-8 text ({err})") from None
    if len(lines) < 4:
        raise WeightTableError(
            f"{path}: {len(lines)} line(s); expected a title line, the weight bins (line 2), "
            "the CDF points (line 3) and one line of steps per CDF point"
        )
    g = _numbers(path, 2, lines[1], "the weight bins")
    cdf = _numbers(path, 3, lines[2], "the CDF points")
    if g.size < 2 or not (np.diff(g) > 0).all():
        raise WeightTableError(
            f"{path}: line 2: the weight bins must be >= 2 strictly increasing numbers"
        )
    if cdf.size < 2 or not (np.diff(cdf) > 0).all() or cdf[0] != 0 or cdf[-1] != 1:
        raise WeightTableError(
            f"{path}: line 3: the CDF points must increase strictly from 0 to 1 "
            f"(got {cdf.size} points from {cdf[0]:g} to {cdf[-1]:g})"
        )
    rows = [(i + 1, text) for i, text in enumerate(lines[3:], start=3) if text.strip()]
    if len(rows) != cdf.size:
        raise WeightTableError(
            f"{path}: {len(rows)} lines of steps after line 3; expected one per CDF point ({cdf.size})"
        )
    dg = np.empty((cdf.size, g.size))
    for k, (line_no, text) in enumerate(rows):
        values = _numbers(path, line_no, text, f"{g.size} steps (one per weight bin)")
        if values.size != g.size:
            raise WeightTableError(
                f"{path}: line {line_no}: {values.size} steps; expected {g.size} (one per weight bin)"
            )
        dg[k] = values
    # a quantile function never decreases (tolerance: the files' round-off of 1e-18 S)
    falls = (np.diff(dg, axis=0) < -1e-9 * np.abs(dg).max()).any(axis=0)
    if falls.any():
        col = int(np.flatnonzero(falls)[0])
        raise WeightTableError(
            f"{path}: bin {col + 1} (column {col + 1}): the steps decrease with the CDF; each "
            "column must be a quantile function (non-decreasing down the lines)"
        )
    return StepLookupTable(str(path), g * scale, cdf, dg * scale)


def mean_step_pulses(table: StepLookupTable, *, increasing: bool) -> int:
    """Pulses the mean step takes to cross the table's weight range (the trajectory
    w_{n+1} = w_n + mean step(w_n) from one end bin to the other), the default pulse count of
    the sampled runs."""
    mean = table.mean_step()
    if (mean * (1 if increasing else -1) <= 0).any():
        raise WeightTableError(
            f"{table.path}: the mean step has the wrong sign (or is zero) at weight "
            f"{table.g[np.flatnonzero(mean * (1 if increasing else -1) <= 0)[0]]:g}; cannot cross "
            "the range (give the pulse count in lookup.pulses)"
        )
    # pulses per unit weight, integrated over the range (trapezoid on the bins)
    per_weight = 1.0 / np.abs(mean)
    return int(np.ceil(np.sum(np.diff(table.g) * (per_weight[:-1] + per_weight[1:]) / 2)))


def _sample_steps(table: StepLookupTable, w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of the quantile table at (u, w), w clipped to the bins (CrossSim's
    ``RectBivariateSpline(kx=1, ky=1)`` on a non-uniform grid)."""
    g, cdf, dg = table.g, table.cdf, table.dg
    j = np.clip(np.searchsorted(g, w, side="right") - 1, 0, g.size - 2)
    tj = np.clip((w - g[j]) / (g[j + 1] - g[j]), 0.0, 1.0)
    i = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, cdf.size - 2)
    ti = (u - cdf[i]) / (cdf[i + 1] - cdf[i])
    lo = dg[i, j] * (1 - tj) + dg[i, j + 1] * tj
    hi = dg[i + 1, j] * (1 - tj) + dg[i + 1, j + 1] * tj
    return lo * (1 - ti) + hi * ti


def sample_lookup_runs(
    increasing: StepLookupTable,
    decreasing: StepLookupTable,
    *,
    n_runs: int,
    n_pulses_set: int,
    n_pulses_reset: int,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SET and RESET tables (runs as columns ``run1..``) sampled from two step lookup tables.

    Each run starts at the lowest bin of the increasing table, takes ``n_pulses_set`` steps
    drawn from it (a uniform CDF value per pulse, the step interpolated at the current weight)
    and then ``n_pulses_reset`` steps from the decreasing table, starting where SET ended, the
    alternating protocol the tables are measured with. The weight is clipped to the bins after
    every pulse, as CrossSim clips the weights to the table's range.
    """
    lo = max(increasing.g[0], decreasing.g[0])
    hi = min(increasing.g[-1], decreasing.g[-1])
    if hi <= lo:
        raise WeightTableError(
            f"{increasing.path}, {decreasing.path}: the two tables' weight bins do not overlap"
        )
    w = np.full(n_runs, lo)
    out = []
    for table, n in ((increasing, n_pulses_set), (decreasing, n_pulses_reset)):
        u = rng.random((n, n_runs))
        branch = np.empty((n, n_runs))
        for k in range(n):
            w = np.clip(w + _sample_steps(table, w, u[k]), lo, hi)
            branch[k] = w
        out.append(pd.DataFrame(branch, columns=[f"run{r + 1}" for r in range(n_runs)]))
    return out[0], out[1]


def mean_lookup_run(
    increasing: StepLookupTable,
    decreasing: StepLookupTable,
    *,
    n_pulses_set: int,
    n_pulses_reset: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The noise-free run of the mean steps (one column ``mean``): the protocol of
    :func:`sample_lookup_runs` with every step replaced by the mean step at the current weight
    (linear in the weight between bins). Fitting it gives the mean curve's NL directly."""
    lo = max(increasing.g[0], decreasing.g[0])
    hi = min(increasing.g[-1], decreasing.g[-1])
    w, out = lo, []
    for table, n in ((increasing, n_pulses_set), (decreasing, n_pulses_reset)):
        mean, branch = table.mean_step(), np.empty(n)
        for k in range(n):
            w = float(np.clip(w + np.interp(w, table.g, mean), lo, hi))
            branch[k] = w
        out.append(pd.DataFrame({"mean": branch}))
    return out[0], out[1]


def load_weight_tables(
    spec: Mapping[str, object], *, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The SET and RESET tables of one ``traces.weight_tables`` entry, whatever its ``form``.

    ``form: runs`` (default) reads the two CSV files (:func:`read_weight_table` with the entry's
    separator, decimal, header_line, encoding and ``set_columns``/``reset_columns``);
    ``form: step_lookup`` reads two step lookup tables (:func:`read_step_lookup_table`) and
    samples ``lookup.runs`` pulse trains from them (:func:`sample_lookup_runs`) with a
    generator seeded from ``seed`` and the entry's name; ``lookup.pulses`` (per branch; null =
    the pulses the mean step takes to cross the range, :func:`mean_step_pulses`). Every weight
    is multiplied by ``scale`` (default 1).
    """
    scale = float(spec.get("scale", 1.0))
    if spec.get("form", "runs") == "step_lookup":
        for key in ("set_columns", "reset_columns"):
            if spec.get(key) is not None:
                raise WeightTableError(
                    f"traces.weight_tables entry {spec['name']!r}: {key} applies to form runs "
                    "only (a step lookup table has no runs to choose)"
                )
        inc = read_step_lookup_table(spec["set"], scale=scale)
        dec = read_step_lookup_table(spec["reset"], scale=scale)
        for table, rising, role in ((inc, True, "set"), (dec, False, "reset")):
            if (np.mean(table.mean_step()) > 0) != rising:
                raise WeightTableError(
                    f"{table.path}: the mean step is {'negative' if rising else 'positive'}; the "
                    f"{role} table must {'increase' if rising else 'decrease'} the weight "
                    "(are set and reset swapped?)"
                )
        lookup = dict(spec.get("lookup") or {})
        pulses = lookup.get("pulses")
        n_set = int(pulses) if pulses else mean_step_pulses(inc, increasing=True)
        n_reset = int(pulses) if pulses else mean_step_pulses(dec, increasing=False)
        rng = child_rng(seed, "weight_tables", str(spec["name"]))
        return sample_lookup_runs(
            inc,
            dec,
            n_runs=int(lookup.get("runs", 20)),
            n_pulses_set=n_set,
            n_pulses_reset=n_reset,
            rng=rng,
        )
    fmt = {k: spec[k] for k in ("separator", "decimal", "header_line", "encoding") if k in spec}
    tables = tuple(
        read_weight_table(spec[role], **fmt, columns=spec.get(f"{role}_columns")) * scale
        for role in ("set", "reset")
    )
    return tables[0], tables[1]


def branch_summary(result: WeightTableResults, spec: Mapping[str, object]) -> pd.DataFrame:
    """One row per branch of a table pair: signed NL, levels, cycle-to-cycle step noise, status.

    ``nl`` and ``nl_stderr`` are the medians over the converged runs (one run: its fit);
    ``n_states`` the levels the device holds over all its runs (:func:`device_states_from_runs`);
    ``c2c_step_sigma_frac`` the pulse-to-pulse step noise of the branch (pooled over the runs)
    over the median fitted range, the branch-wise form of ``c2c_sigma_frac``;
    ``levels_mean_step`` = range / |mean step|, the pulses the mean step needs to cross the
    range (what a noise-free device would hold). ``status`` is the worst branch status of the
    runs (``ok`` only if every converged run's branch is ``ok``), ``reason`` the first reason.
    """
    unit = str(spec["unit"])
    fits = result.fits
    converged = fits[fits.get("converged", pd.Series(False, index=fits.index)).astype(bool)]
    rows = []
    for phase in ("ltp", "ltd"):
        st = result.states[result.states["phase"] == phase]
        base = {"table": spec["name"], "branch": phase, "n_runs": len(fits)}
        if converged.empty or st.empty:
            rows.append(
                base
                | {
                    "n_runs_converged": 0,
                    "status": str(Status.FAILED),
                    "reason": "no run converged",
                }
            )
            continue
        rng_w = float(np.nanmedian(converged[f"range_{unit}"]))
        mean_dw = float(np.nanmedian(converged[f"mean_dw_{phase}_{unit}"]))
        step_noise = float(st["step_noise"].mean())
        statuses = converged[f"{phase}_status"].astype(str)
        bad = converged[statuses != str(Status.OK)]
        n_bad = len(bad)
        reasons = []
        if n_bad:
            reasons.append(f"{n_bad} of {len(converged)} run(s): {bad[f'{phase}_reason'].iloc[0]}")
        if len(converged) < len(fits):
            reasons.append(f"{len(fits) - len(converged)} run(s) without a fit")
            statuses = pd.concat([statuses, pd.Series([str(Status.FLAGGED)])])
        reason = "; ".join(reasons)
        rows.append(
            base
            | {
                "n_runs_converged": len(converged),
                "shape": str(converged[f"{phase}_shape"].mode().iloc[0]),
                "nl": float(np.nanmedian(converged[f"nl_{phase}"])),
                "nl_stderr": float(np.nanmedian(converged[f"nl_{phase}_stderr"])),
                "n_states": int(st["n_states"].min()),
                "levels_mean_step": rng_w / abs(mean_dw) if mean_dw else np.nan,
                "step_noise": step_noise,
                "range": rng_w,
                "c2c_step_sigma_frac": step_noise / rng_w if rng_w else np.nan,
                "weight_unit": unit,
                "status": str(worst(statuses)),
                "reason": reason,
            }
        )
    return pd.DataFrame(rows)
