"""Glue shared by the analysis rule scripts: the one reader of a protocol's validated traces
(:func:`load_protocol_rows`, then :func:`map_traces`) and pure functions on manifest rows and
traces (one result row per trace; the scripts only read, call these, write and draw).

Apart from those two readers no file I/O here. Everything a script needs to say *why* a table
is empty lives here too (:func:`skipped_frame`; figures: :mod:`fmes.core.figures`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.acf import acf_memory_metric
from fmes.analysis.array_maps import (
    array_fits,
    cycle_drift,
    device_yield,
    grid_shape,
    metric_maps,
)
from fmes.analysis.device_params import assemble_device_params
from fmes.analysis.energy import (
    energies_of_trace,
    state_pulse_costs,
    summarise_energies,
    with_edge_status,
)
from fmes.analysis.iv import current_at_voltage, iv_branches
from fmes.analysis.ltp_ltd import fit_ltp_ltd_batch, weight_columns
from fmes.analysis.ppf import DEFAULT_SEPARATION, Separation, fit_ppf, ppf_from_pulses
from fmes.analysis.pulses import (
    NoPulsesError,
    PartialPulseError,
    PulseReadout,
    detect_pulses,
    read_pulses,
)
from fmes.analysis.retention import fit_retention
from fmes.analysis.variability import METRICS, variability_summary
from fmes.core.io import read_table
from fmes.core.status import Status, join_reasons, worst
from fmes.data.store import iter_traces
from fmes.data.traces import legend_label, ordered_labels, parse_resistance, read_working_manifest

__all__ = [
    "ENERGY_KEYS",
    "LEARNING_COLUMNS",
    "MANIFEST_DTYPES",
    "ArrayResults",
    "acf_row",
    "array_results",
    "ltp_ltd_tables",
    "at_most_common",
    "energy_rows",
    "energy_tables",
    "frames_or_skipped",
    "iv_row",
    "load_protocol_rows",
    "map_traces",
    "most_common",
    "nearest_value",
    "ppf_example",
    "ppf_row",
    "pulse_response_row",
    "records_or_skipped",
    "retention_row",
    "analyse_ltp_ltd_batch",
    "analyse_ltp_ltd_trace",
    "device_params_from_manifest",
    "fit_ppf_per_state",
    "legend_label",
    "ordered_labels",
    "protocol_rows",
    "pulses_or_status",
    "readout_or_reason",
    "retention_from_readout",
    "single_pulse_row",
    "skipped_frame",
    "TRACE_QC_COLUMNS",
]

#: Trace-level read-out columns copied into the analysis rows (see fmes.analysis.pulses).
TRACE_QC_COLUMNS = ("skew_samples", "glitch_count", "noise_V", "mains_amplitude_V", "drift_V_per_s")

#: dtypes for reading results/traces/manifest.csv (labels must stay strings: "500", "open").
MANIFEST_DTYPES = {"trace_id": str, "device_id": str, "resistance_label": str, "protocol": str}

TraceLoader = Callable[[str], pd.DataFrame]


def protocol_rows(
    manifest: pd.DataFrame,
    protocol: str | Iterable[str] | None,
    nominal_device: str | None = None,
    *,
    by_state: bool = True,
) -> pd.DataFrame:
    """Rows of one protocol (or of several; None: every protocol), ordered by resistance,
    device, cycle and trace id (``by_state=False``: in the manifest's order).

    With ``nominal_device``, only that device's rows when the data have any (figures show the
    reference device; the variability array is analysed on its own), else every device's.
    """
    if protocol is None:
        rows = manifest.copy()
    else:
        wanted = [protocol] if isinstance(protocol, str) else list(protocol)
        rows = manifest[manifest["protocol"].isin(wanted)].copy()
    if nominal_device is not None and (rows["device_id"] == nominal_device).any():
        rows = rows[rows["device_id"] == nominal_device]
    if not by_state:
        return rows.reset_index(drop=True)
    rows["_ohm"] = rows["resistance_label"].map(parse_resistance)
    sort = [c for c in ("_ohm", "device_id", "cycle", "trace_id") if c in rows]
    return rows.sort_values(sort, kind="stable").drop(columns="_ohm").reset_index(drop=True)


def load_protocol_rows(
    manifest_path: str,
    protocol: str | Iterable[str] | None,
    nominal_device: str | None = None,
    *,
    by_state: bool = True,
) -> pd.DataFrame:
    """The validated traces of a protocol: :func:`protocol_rows` of the working manifest at
    ``manifest_path`` (:func:`fmes.data.traces.read_working_manifest`). Read the traces themselves
    with :func:`map_traces`."""
    return protocol_rows(
        read_working_manifest(manifest_path), protocol, nominal_device, by_state=by_state
    )


T = TypeVar("T")
R = TypeVar("R")


def map_traces(rows: pd.DataFrame, analyse: Callable[[dict, pd.DataFrame], T]) -> list[T]:
    """``analyse(row, trace)`` of every row (a dict of the manifest row and its checked
    trace), returned in the rows' order. Each trace file is read once, CSV or trace store
    (:func:`fmes.data.store.iter_traces`); ``analyse`` is called in that reading order, so one
    trace at a time is in memory unless ``analyse`` keeps it."""
    out: list[T | None] = [None] * len(rows)
    positioned = rows.reset_index(drop=True).assign(_position=np.arange(len(rows)))
    for row, trace in iter_traces(positioned):
        position = row.pop("_position")
        out[position] = analyse(row, trace)
    return out  # type: ignore[return-value]


def records_or_skipped(records: list[dict], columns: list[str], reason: str) -> pd.DataFrame:
    """The table of ``records``, or the :func:`skipped_frame` of ``columns`` when there are
    none (so an empty analysis still writes a table that says why)."""
    return pd.DataFrame(records) if records else skipped_frame(columns, reason)


def frames_or_skipped(frames: list[pd.DataFrame], columns: list[str], reason: str) -> pd.DataFrame:
    """``frames`` as one table (in order, a fresh index), or the :func:`skipped_frame` of
    ``columns`` when there are none."""
    return pd.concat(frames, ignore_index=True) if frames else skipped_frame(columns, reason)


def most_common(values: pd.Series) -> float:
    """The most common value of ``values`` (the smallest on a tie): the nominal setting of a
    sweep, e.g. the pulse width held fixed while the amplitude varies."""
    return values.mode().iloc[0]


def nearest_value(values: pd.Series, target: float) -> float:
    """The value of ``values`` closest to ``target`` (the smaller on a tie): e.g. the measured
    sweep rate a figure shows for a configured one."""
    distinct = np.sort(values.unique())
    return distinct[np.argmin(np.abs(distinct - target))]


def at_most_common(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows whose every column in ``columns`` is (numerically close to) that column's most
    common value in ``rows``: the nominal pulse of a sweep over amplitudes and widths. Each
    mode is taken over all of ``rows``; empty rows come back unchanged."""
    if rows.empty:
        return rows
    keep = np.ones(len(rows), dtype=bool)
    for column in columns:
        keep &= np.isclose(rows[column], most_common(rows[column]))
    return rows[keep]


def _keys(row: dict, columns: tuple[str, ...]) -> dict[str, object]:
    return {c: row[c] for c in columns}


def acf_row(row: dict, trace: pd.DataFrame, *, pulse_kw: dict, acf_kw: dict) -> dict[str, object]:
    """The ACF memory metric (:func:`fmes.analysis.acf.acf_memory_metric`, keywords
    ``acf_kw``) of one pulse trace from its first pulse's onset, with the manifest keys; a
    ``failed`` row naming why when no pulse is found."""
    keys = _keys(row, ("trace_id", "resistance_label", "resistance_ohm", "amplitude_A", "width_s"))
    pulses, why = pulses_or_status(trace, **pulse_kw)
    if pulses is None:
        return keys | {"status": Status.FAILED, "reason": why}
    return keys | acf_memory_metric(
        trace["time_s"], trace["voltage_V"], pulses["onset_s"].iloc[0], **acf_kw
    )


def ppf_row(
    row: dict, trace: pd.DataFrame, *, pulse_kw: dict
) -> tuple[dict[str, object], pd.DataFrame | None]:
    """(A1, A2 and PPF row of one two-pulse trace with its manifest keys and trace-QC columns,
    its pulses); a ``failed`` row and None when the read-out fails."""
    keys = _keys(row, ("trace_id", "resistance_label", "resistance_ohm", "interval_s"))
    readout, why = readout_or_reason(trace, **pulse_kw)
    if readout is None:
        return keys | {"status": Status.FAILED, "reason": why}, None
    values = ppf_from_pulses(readout.pulses, readout.trace_qc["noise_V"], pulse_kw["n_read"])
    return keys | values | trace_qc_columns(readout), readout.pulses


def pulse_response_row(row: dict, trace: pd.DataFrame, *, pulse_kw: dict) -> dict[str, object]:
    """:func:`single_pulse_row` of one single-pulse trace with its manifest keys; a ``failed``
    row naming why when the read-out fails."""
    keys = _keys(
        row,
        ("trace_id", "resistance_label", "resistance_ohm", "device_id", "amplitude_A", "width_s"),
    )
    readout, why = readout_or_reason(trace, **pulse_kw)
    if readout is None:
        return keys | {"status": Status.FAILED, "reason": why}
    return keys | single_pulse_row(readout)


def iv_row(
    row: dict,
    trace: pd.DataFrame,
    *,
    v_target_V: float,
    half_window_V: float,
    residual_factor: float,
) -> tuple[dict[str, object], pd.DataFrame]:
    """(current at ``v_target_V`` of one I-V sweep with its manifest keys
    (:func:`fmes.analysis.iv.current_at_voltage`), its loop branches
    (:func:`fmes.analysis.iv.iv_branches`) keyed by resistance and sweep rate)."""
    keys = _keys(
        row,
        (
            "trace_id",
            "resistance_label",
            "resistance_ohm",
            "device_id",
            "sweep_rate_V_per_s",
            "v_max_V",
        ),
    )
    current = current_at_voltage(
        trace["voltage_V"],
        trace["current_A"],
        v_target_V,
        half_window_V=half_window_V,
        residual_factor=residual_factor,
    )
    loop = iv_branches(trace["voltage_V"], trace["current_A"])
    loop.insert(0, "sweep_rate_V_per_s", row["sweep_rate_V_per_s"])
    loop.insert(0, "resistance_label", row["resistance_label"])
    return keys | current, loop


#: Columns of the learning table of :func:`retention_row` (weight after each pulse of a train).
LEARNING_COLUMNS = [
    "trace_id",
    "resistance_label",
    "pulse_number",
    "onset_s",
    "peak_psv_V",
    "psv_after_V",
]


def skipped_frame(columns: list[str], reason: str, **fixed: object) -> pd.DataFrame:
    """An empty-but-valid table: one row with ``status = 'skipped'`` and the reason."""
    row = dict.fromkeys(columns, np.nan) | fixed | {"status": "skipped", "reason": reason}
    cols = list(dict.fromkeys([*columns, *fixed, "status", "reason"]))
    return pd.DataFrame([row], columns=cols)


def read_unless_skipped(path: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A pipeline table (:func:`fmes.core.io.read_table`, only ``columns`` if given), or None when
    every row is a ``skipped`` placeholder (:func:`skipped_frame`, whose empty cells are not
    valid booleans)."""
    header = pd.read_csv(path, nrows=0).columns
    if "status" in header:
        statuses = pd.read_csv(path, usecols=["status"], dtype=str, keep_default_na=False)["status"]
        if len(statuses) and statuses.eq(Status.SKIPPED.value).all():
            return None
    return read_table(path, columns=columns)


def _on_trace(read: Callable[..., R], trace: pd.DataFrame, pulse_kw: dict) -> tuple[R | None, str]:
    # ``read`` (detect_pulses or read_pulses) on the trace's columns; a contract-level failure
    # (no pulses, partial pulses refused) as (None, reason) instead of raised
    try:
        return read(
            trace["time_s"].to_numpy(),
            trace["current_A"].to_numpy(),
            trace["voltage_V"].to_numpy(),
            **pulse_kw,
        ), ""
    except (NoPulsesError, PartialPulseError) as err:
        return None, str(err)


def pulses_or_status(trace: pd.DataFrame, **pulse_kw) -> tuple[pd.DataFrame | None, str]:
    """Detect pulses: (pulses, note), where the note names ignored partial pulses ("" when
    none); on a contract-level failure (None, reason) instead of raising."""
    pulses, why = _on_trace(detect_pulses, trace, pulse_kw)
    if pulses is None:
        return None, why
    n_partial = int((~pulses["complete"]).sum())
    return pulses, "" if n_partial == 0 else f"{n_partial} partial pulse(s) ignored"


def readout_or_reason(trace: pd.DataFrame, **pulse_kw) -> tuple[PulseReadout | None, str]:
    """Robust read-out of one trace; on a contract-level failure (None, reason) instead of raising."""
    return _on_trace(read_pulses, trace, pulse_kw)


def trace_qc_columns(readout: PulseReadout) -> dict[str, object]:
    """The :data:`TRACE_QC_COLUMNS` of one read-out, prefixed ``trace_`` where they clash."""
    return {k: readout.trace_qc.get(k, np.nan) for k in TRACE_QC_COLUMNS}


def analyse_ltp_ltd_trace(
    row: dict, load: TraceLoader, pulse_kw: dict, fit_kw: dict, quality: dict | None = None
) -> tuple[dict, pd.DataFrame]:
    """One ``ltp_ltd`` trace -> (fit row with manifest keys, weight table). Never raises.
    :func:`analyse_ltp_ltd_batch` of this one trace."""
    return analyse_ltp_ltd_batch([(row, load(row["trace_path"]))], pulse_kw, fit_kw, quality)[0]


def analyse_ltp_ltd_batch(
    items: list[tuple[dict, pd.DataFrame]],
    pulse_kw: dict,
    fit_kw: dict,
    quality: dict | None = None,
    keep_weights: Callable[[dict], bool] | None = None,
) -> list[tuple[dict, pd.DataFrame | None]]:
    """(fit row with manifest keys, weight table) of each (manifest row, trace), in order; the
    fits of the batch together (:func:`~fmes.analysis.ltp_ltd.fit_ltp_ltd_batch`). Never raises.

    The fit's noise is the trace's read noise (one sample, or the mean of ``n_read``); a trace
    whose read-out is not ``ok`` makes the row at least as bad (worst status, both reasons).
    ``keep_weights(keys)`` (default: every row) says whose weight tables are framed and
    returned; the others get None (a campaign tabulates one device's).
    """
    limits = QualityLimits(**(quality or {}))
    out: list[tuple[dict, pd.DataFrame | None] | None] = [None] * len(items)
    todo = []  # (position, keys, readout, weights, n_pulses, noise_V, w0_V)
    for position, (row, trace) in enumerate(items):
        keys = {
            "trace_id": row["trace_id"],
            "resistance_label": str(row["resistance_label"]),
            "device_id": str(row["device_id"]),
            "cycle": int(row.get("cycle", 0) or 0),
        }
        readout, why = readout_or_reason(trace, **pulse_kw)
        if readout is None:
            failed = {
                "converged": False,
                "status": str(Status.FAILED),
                "reason": f"pulse detection: {why}",
            }
            keep = keep_weights is None or keep_weights(keys)
            out[position] = (keys | failed, pd.DataFrame() if keep else None)
            continue
        n = row.get("n_pulses")
        n = int(n) if n is not None and np.isfinite(n) else None
        noise = readout.trace_qc.get("noise_V", np.nan) / np.sqrt(pulse_kw["n_read"])
        # Baseline before the first pulse = the LTP start state (a level; kept for the figures).
        # The read-out's columns, never its framed table: this runs once per campaign trace.
        w0_V = float(readout.columns["baseline_psv_V"][0])
        todo.append((position, keys, readout, weight_columns(readout.columns), n, noise, w0_V))
    fits = fit_ltp_ltd_batch(
        [t[3] for t in todo],
        [t[4] for t in todo],
        noise_V=[t[5] for t in todo],
        start_V=[t[6] for t in todo],
        limits=limits,
        **fit_kw,
    )
    for (position, keys, readout, weights, _n, _noise, w0_V), fit in zip(todo, fits, strict=True):
        status = readout.columns.get("status")
        # the distinct statuses only: worst() of every pulse's would cost more than the fit
        read_status = worst(set(status.tolist())) if status is not None else Status.OK
        if read_status != Status.OK:
            first_bad = readout.columns["reason"][status != Status.OK][0]
            fit["status"] = str(worst([fit["status"], read_status]))
            fit["reason"] = join_reasons([fit["reason"], f"read-out: {first_bad}"])
        fit["w0_V"] = w0_V
        fit |= trace_qc_columns(readout)
        table = None
        if keep_weights is None or keep_weights(keys):
            table = pd.DataFrame({"trace_id": keys["trace_id"], **weights})
        out[position] = (keys | fit, table)
    return out


def device_params_from_manifest(
    manifest: pd.DataFrame,
    load: TraceLoader,
    *,
    pulse_kw: dict,
    fit_kw: dict,
    quality: dict | None = None,
    nominal_device: str = "nominal",
    resistance_order: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(device_params, provenance, fits) of the ``ltp_ltd`` traces of a validated manifest.

    The steps of the pipeline's rules analyse_ltp_ltd -> analyse_variability -> device_params
    in one call, serially: each trace fitted by :func:`analyse_ltp_ltd_trace`, the
    device-to-device spreads by :func:`~fmes.analysis.variability.variability_summary`, the
    table by :func:`~fmes.analysis.device_params.assemble_device_params`. The energy columns
    (from the pulse-energy analysis) are not filled. Raises ValueError when the manifest has
    no ``ltp_ltd`` trace.
    """
    rows = protocol_rows(manifest, "ltp_ltd")
    if rows.empty:
        raise ValueError(
            "the manifest has no ltp_ltd trace: device parameters come from LTP/LTD fits"
        )
    fits = pd.DataFrame(
        [
            analyse_ltp_ltd_trace(row, load, pulse_kw, fit_kw, quality)[0]
            for row in rows.to_dict("records")
        ]
    )
    variability = variability_summary(fits, nominal_device=nominal_device)
    params, provenance = assemble_device_params(
        fits, variability, nominal_device=nominal_device, resistance_order=resistance_order
    )
    return params, provenance, fits


@dataclass
class RetentionReadout:
    """One trace's forgetting analysis (see :func:`retention_from_readout`).

    ``row``: ``n_pulses, status, reason``, the trace-QC columns and the fit columns of
    :func:`fmes.analysis.retention.fit_retention`; ``pulses``: the complete pulses; ``t_end_s``:
    the last pulse's offset; ``time_after_s``/``psv_after_V``: the cleaned PSV after it,
    relative to the pre-stimulus rest level.
    """

    row: dict[str, object]
    pulses: pd.DataFrame
    t_end_s: float
    time_after_s: np.ndarray
    psv_after_V: np.ndarray

    def learning(self) -> pd.DataFrame:
        """Pulse number, onset, peak PSV and PSV read after each complete pulse."""
        return pd.DataFrame(
            {
                "pulse_number": np.arange(1, len(self.pulses) + 1),
                "onset_s": self.pulses["onset_s"].to_numpy(),
                "peak_psv_V": self.pulses["peak_psv_V"].to_numpy(),
                "psv_after_V": self.pulses["psv_after_V"].to_numpy(),
            }
        )


def retention_from_readout(
    time_s: np.ndarray,
    readout: PulseReadout,
    *,
    n_points: int,
    t_ret_s: float,
    u_inf_free: bool,
    limits: QualityLimits,
) -> RetentionReadout | None:
    """Forgetting after the last complete pulse of a read-out: Kohlrausch and two-exponential
    fits of the cleaned PSV (:func:`fmes.analysis.retention.fit_retention`). None without a
    complete pulse.

    The row's status combines the read-out's pulse statuses with the better of the two
    forgetting models (each keeps its own ``kww_``/``exp2_`` status: the curve is trusted if
    one model describes it); the reason names the first pulse problem and, unless a model is
    ``ok``, both models' reasons.
    """
    done = readout.pulses[readout.pulses["complete"]]
    if done.empty:
        return None
    time_s = np.asarray(time_s, float)
    t_end = float(done["offset_s"].iloc[-1])
    after = time_s > t_end
    t_after = time_s[after] - t_end
    base = readout.trace_qc["pre_stimulus_level_V"]
    u_after = readout.voltage_clean_V[after] - (base if np.isfinite(base) else 0.0)
    fit = fit_retention(
        t_after,
        u_after,
        n_points=n_points,
        t_ret_s=t_ret_s,
        u_inf_free=u_inf_free,
        noise_V=readout.trace_qc["noise_V"],
        limits=limits,
    )
    if t_after.size and t_after[-1] < t_ret_s:
        fit["note"] = f"trace ends {t_after[-1]:.3g} s after the stimulus (< t_ret_s)"
    bad = done[done["status"] != Status.OK]
    fit_statuses = [s for s in (fit.get("kww_status"), fit.get("exp2_status")) if s is not None]
    best_fit = min((Status(s) for s in fit_statuses), key=lambda s: s.severity, default=Status.OK)
    status = worst([*done["status"], best_fit])
    reason = join_reasons(
        [
            *(f"read-out: {x}" for x in bad["reason"][:1]),
            *(
                f"{m}: {fit.get(m + '_reason', '')}"
                for m in ("kww", "exp2")
                if best_fit != Status.OK and fit.get(m + "_reason")
            ),
        ]
    )
    row = (
        {"n_pulses": len(done), "status": status, "reason": reason}
        | trace_qc_columns(readout)
        | fit
    )
    return RetentionReadout(row, done, t_end, t_after, u_after)


def single_pulse_row(readout: PulseReadout) -> dict[str, object]:
    """The first pulse of a single-pulse trace (Fig 2c-e): onset, measured amplitude and width,
    PSV before and at the peak, the PSV change, how many pulses were found, its status and
    reason, and the trace-QC columns."""
    pulses = readout.pulses
    first = pulses.iloc[0]
    return {
        "onset_s": first["onset_s"],
        "measured_amplitude_A": first["amplitude_A"],
        "measured_width_s": first["width_s"],
        "baseline_psv_V": first["baseline_psv_V"],
        "peak_psv_V": first["peak_psv_V"],
        "psv_change_V": first["peak_psv_V"] - first["baseline_psv_V"],
        "n_pulses_detected": len(pulses),
        "status": first["status"],
        "reason": first["reason"],
    } | trace_qc_columns(readout)


def fit_ppf_per_state(
    values: pd.DataFrame,
    *,
    model: str,
    criterion: str,
    limits: QualityLimits,
    separation: Separation = DEFAULT_SEPARATION,
) -> pd.DataFrame:
    """One PPF fit (:func:`fmes.analysis.ppf.fit_ppf`) per resistance state, in resistance order,
    on the state's ``ok`` read-outs of ``values`` (``resistance_label, resistance_ohm,
    dt_measured_s, ppf, ppf_noise, status``); ``n_traces_excluded`` counts the others."""
    good = values[values["status"] == Status.OK]
    rows = []
    for label in ordered_labels(values["resistance_label"]):
        state = good[good["resistance_label"] == label]
        fit = fit_ppf(
            state["dt_measured_s"],
            state["ppf"],
            model=model,
            criterion=criterion,
            noise=state["ppf_noise"].to_numpy(),
            limits=limits,
            separation=separation,
        )
        rows.append(
            {
                "resistance_label": label,
                "resistance_ohm": state["resistance_ohm"].iloc[0] if len(state) else np.nan,
                "n_traces_excluded": int((values["resistance_label"] == label).sum()) - len(state),
            }
            | fit
        )
    return pd.DataFrame(rows)


def retention_row(
    row: dict,
    trace: pd.DataFrame,
    *,
    pulse_kw: dict,
    n_points: int,
    t_ret_s: float,
    u_inf_free: bool,
    limits: QualityLimits,
) -> tuple[dict[str, object], RetentionReadout | None, pd.DataFrame | None]:
    """(forgetting row of one trace with its manifest keys, its :class:`RetentionReadout`,
    the learning table (:data:`LEARNING_COLUMNS`) of a ``pulse_train`` trace) by
    :func:`retention_from_readout`; a ``failed`` row and None, None when the read-out fails
    or finds no complete pulse. Single pulses have no learning table (None)."""
    keys = _keys(row, ("trace_id", "protocol", "resistance_label", "resistance_ohm"))
    readout, why = readout_or_reason(trace, **pulse_kw)
    result = (
        None
        if readout is None
        else retention_from_readout(
            trace["time_s"].to_numpy(),
            readout,
            n_points=n_points,
            t_ret_s=t_ret_s,
            u_inf_free=u_inf_free,
            limits=limits,
        )
    )
    if result is None:
        return keys | {"status": Status.FAILED, "reason": why or "no complete pulse"}, None, None
    learning = None
    if row["protocol"] == "pulse_train":
        learning = result.learning().assign(
            trace_id=row["trace_id"], resistance_label=row["resistance_label"]
        )[LEARNING_COLUMNS]
    return keys | result.row, result, learning


def ppf_example(values: pd.DataFrame, resistance_label: str, interval_s: float) -> pd.Series | None:
    """The row of ``values`` (PPF read-outs) closest to ``interval_s`` in the state
    ``resistance_label``, or in any state when that one has none; None when ``values`` is
    empty (the example two-pulse trace of Fig 3c)."""
    if (values["resistance_label"] == resistance_label).any():
        values = values[values["resistance_label"] == resistance_label]
    if values.empty:
        return None
    return values.iloc[np.argmin(np.abs(values["interval_s"] - interval_s))]


#: The keys the energy table is summarised over (one row per protocol, state, polarity and
#: nominal pulse).
ENERGY_KEYS = [
    "protocol",
    "resistance_label",
    "resistance_ohm",
    "polarity",
    "amplitude_A",
    "nominal_width_s",
]

#: The manifest columns carried onto every pulse of :func:`energy_rows`.
_ENERGY_META = ("protocol", "resistance_label", "resistance_ohm", "device_id")


def energy_rows(
    row: dict, trace: pd.DataFrame, *, pulse_kw: dict, edge_resolution: float
) -> tuple[pd.DataFrame | None, str]:
    """(per-pulse energies of one trace with ``trace_id`` and the manifest keys
    (:func:`fmes.analysis.energy.energies_of_trace`), "") or (None, why no pulse was found)."""
    pulses, why = pulses_or_status(trace, **pulse_kw)
    if pulses is None:
        return None, f"{row['trace_id']}: {why}"
    energies = energies_of_trace(trace, pulses, row, edge_resolution)
    return energies.assign(trace_id=row["trace_id"], **{k: row[k] for k in _ENERGY_META}), ""


def energy_tables(
    frames: list[pd.DataFrame], nominal_device: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(summary over :data:`ENERGY_KEYS` with edge status, per-state pulse costs, all pulses)
    of the per-pulse ``frames`` of :func:`energy_rows`. Without frames, a ``skipped`` summary,
    empty costs and an empty pulse table."""
    if not frames:
        empty = pd.DataFrame(columns=["protocol", "device_id", "resistance_label"])
        return (
            skipped_frame(ENERGY_KEYS, "no current-driven pulse traces in the manifest"),
            state_pulse_costs(empty, nominal_device),
            pd.DataFrame(),
        )
    per_pulse = pd.concat(frames, ignore_index=True)
    summary = summarise_energies(per_pulse, ENERGY_KEYS).rename(
        columns={"nominal_width_s": "width_s"}
    )
    return with_edge_status(summary), state_pulse_costs(per_pulse, nominal_device), per_pulse


#: Columns of the placeholder LTP/LTD tables when there is no ``ltp_ltd`` trace.
_LTP_LTD_FIT_COLUMNS = [
    "trace_id",
    "resistance_label",
    "device_id",
    "cycle",
    "a_p_pulses",
    "a_d_pulses",
    "converged",
]
_LTP_LTD_WEIGHT_COLUMNS = ["trace_id", "phase", "pulse_number", "weight_V"]


def ltp_ltd_tables(fits: pd.DataFrame, weights: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fits, weights) of the LTP/LTD fits and weight tables gathered over the trace chunks, or
    each a :func:`skipped_frame` saying why when it is empty."""
    if not len(fits):
        fits = skipped_frame(_LTP_LTD_FIT_COLUMNS, "no 'ltp_ltd' traces in the manifest")
    if len(weights):
        weights = pd.concat([weights], ignore_index=True)
    else:
        weights = skipped_frame(
            _LTP_LTD_WEIGHT_COLUMNS, "no analysable 'ltp_ltd' trace of the nominal device"
        )
    return fits, weights


@dataclass
class ArrayResults:
    """The array-level results of a variability campaign (:func:`array_results`): the metric
    maps, the per-cycle drift and the device yield tables, the array devices' fits they come
    from, and why there are none (``skipped``; the tables are then ``skipped`` placeholders)."""

    maps: pd.DataFrame
    drift: pd.DataFrame
    yields: pd.DataFrame
    array: pd.DataFrame | None = None
    skipped: str = ""

    @property
    def labels(self) -> list[str]:
        """The resistance states of the array, ordered low R -> open."""
        return ordered_labels(self.array["resistance_label"])

    @property
    def metrics(self) -> list[str]:
        """The metrics mapped, in the order of :data:`fmes.analysis.variability.METRICS`."""
        return [m for m in METRICS if m in set(self.maps["metric"])]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the array."""
        return grid_shape(self.array)


def array_results(fits: pd.DataFrame | None, **yield_kw) -> ArrayResults:
    """Maps of every metric over rows x columns, per-cycle drift of the array's mean and spread
    and the device yield (:func:`~fmes.analysis.array_maps.device_yield` with ``yield_kw``) of
    the array devices among the per-cycle LTP/LTD ``fits`` (None: the fits were skipped)."""
    array = None if fits is None else array_fits(fits)
    if array is None or array.empty:
        reason = (
            "no LTP/LTD fits"
            if fits is None
            else "no array devices (ids r<row>c<col>) in the LTP/LTD fits"
        )
        return ArrayResults(
            skipped_frame(
                ["resistance_label", "row", "col", "device_id", "metric", "mean", "sd", "n"], reason
            ),
            skipped_frame(["resistance_label", "cycle", "metric", "mean", "sd", "n"], reason),
            skipped_frame(["resistance_label", "device_id", "works"], reason),
            skipped=reason,
        )
    return ArrayResults(
        metric_maps(array), cycle_drift(array), device_yield(array, **yield_kw), array
    )
