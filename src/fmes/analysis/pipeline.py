"""Glue shared by the analysis rule scripts: pure functions on manifests and traces.

No file I/O here: scripts read the validated manifest and pass :func:`fmes.traces.read_trace`
(or any loader returning a trace DataFrame) in. Everything a script needs to say *why* an output
is empty lives here too (:func:`skipped_frame`, :func:`placeholder_figure`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fmes.analysis._fit import QualityLimits
from fmes.analysis.ltp_ltd import fit_ltp_ltd_batch, ltp_ltd_weights
from fmes.analysis.ppf import fit_ppf
from fmes.analysis.pulses import (
    NoPulsesError,
    PartialPulseError,
    PulseReadout,
    detect_pulses,
    read_pulses,
)
from fmes.analysis.retention import fit_retention
from fmes.io import read_table
from fmes.status import Status, join_reasons, worst
from fmes.traces import legend_label, ordered_labels, parse_resistance

__all__ = [
    "MANIFEST_DTYPES",
    "analyse_ltp_ltd_batch",
    "analyse_ltp_ltd_trace",
    "device_params_from_manifest",
    "fit_ppf_per_state",
    "legend_label",
    "ordered_labels",
    "placeholder_figure",
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
    manifest: pd.DataFrame, protocol: str, nominal_device: str | None = None
) -> pd.DataFrame:
    """Rows of one protocol, ordered by resistance, device, cycle and trace id.

    With ``nominal_device``, only that device's rows when the data have any (figures show the
    reference device; the variability array is analysed on its own), else every device's.
    """
    rows = manifest[manifest["protocol"] == protocol].copy()
    if nominal_device is not None and (rows["device_id"] == nominal_device).any():
        rows = rows[rows["device_id"] == nominal_device]
    rows["_ohm"] = rows["resistance_label"].map(parse_resistance)
    sort = [c for c in ("_ohm", "device_id", "cycle", "trace_id") if c in rows]
    return rows.sort_values(sort, kind="stable").drop(columns="_ohm").reset_index(drop=True)


def skipped_frame(columns: list[str], reason: str, **fixed: object) -> pd.DataFrame:
    """An empty-but-valid table: one row with ``status = 'skipped'`` and the reason."""
    row = dict.fromkeys(columns, np.nan) | fixed | {"status": "skipped", "reason": reason}
    cols = list(dict.fromkeys([*columns, *fixed, "status", "reason"]))
    return pd.DataFrame([row], columns=cols)


def read_unless_skipped(path: str) -> pd.DataFrame | None:
    """A pipeline table (:func:`fmes.io.read_table`), or None when every row is a ``skipped``
    placeholder (:func:`skipped_frame`, whose empty cells are not valid booleans)."""
    header = pd.read_csv(path, nrows=0).columns
    if "status" in header:
        statuses = pd.read_csv(path, usecols=["status"], dtype=str, keep_default_na=False)["status"]
        if len(statuses) and statuses.eq(Status.SKIPPED.value).all():
            return None
    return read_table(path)


def placeholder_figure(title: str, reason: str):
    """A figure that states what was skipped and why (so no figure is silently missing)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, f"skipped: {reason}", ha="center", va="center", wrap=True, fontsize=9)
    return fig


def pulses_or_status(trace: pd.DataFrame, **pulse_kw) -> tuple[pd.DataFrame | None, str]:
    """Detect pulses: (pulses, note), where the note names ignored partial pulses ("" when
    none); on a contract-level failure (None, reason) instead of raising."""
    try:
        pulses = detect_pulses(
            trace["time_s"].to_numpy(),
            trace["current_A"].to_numpy(),
            trace["voltage_V"].to_numpy(),
            **pulse_kw,
        )
    except (NoPulsesError, PartialPulseError) as err:
        return None, str(err)
    n_partial = int((~pulses["complete"]).sum())
    return pulses, "" if n_partial == 0 else f"{n_partial} partial pulse(s) ignored"


def readout_or_reason(trace: pd.DataFrame, **pulse_kw) -> tuple[PulseReadout | None, str]:
    """Robust read-out of one trace; on a contract-level failure (None, reason) instead of raising."""
    try:
        readout = read_pulses(
            trace["time_s"].to_numpy(),
            trace["current_A"].to_numpy(),
            trace["voltage_V"].to_numpy(),
            **pulse_kw,
        )
    except (NoPulsesError, PartialPulseError) as err:
        return None, str(err)
    return readout, ""


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
) -> list[tuple[dict, pd.DataFrame]]:
    """(fit row with manifest keys, weight table) of each (manifest row, trace), in order; the
    fits of the batch together (:func:`~fmes.analysis.ltp_ltd.fit_ltp_ltd_batch`). Never raises.

    The fit's noise is the trace's read noise (one sample, or the mean of ``n_read``); a trace
    whose read-out is not ``ok`` makes the row at least as bad (worst status, both reasons).
    """
    limits = QualityLimits(**(quality or {}))
    out: list[tuple[dict, pd.DataFrame] | None] = [None] * len(items)
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
            out[position] = (keys | failed, pd.DataFrame())
            continue
        n = row.get("n_pulses")
        n = int(n) if n is not None and np.isfinite(n) else None
        noise = readout.trace_qc.get("noise_V", np.nan) / np.sqrt(pulse_kw.get("n_read", 1))
        # Baseline before the first pulse = the LTP start state (a level; kept for the figures).
        w0_V = float(readout.pulses["baseline_psv_V"].iloc[0])
        todo.append((position, keys, readout, ltp_ltd_weights(readout.pulses), n, noise, w0_V))
    fits = fit_ltp_ltd_batch(
        [t[3] for t in todo],
        [t[4] for t in todo],
        noise_V=[t[5] for t in todo],
        start_V=[t[6] for t in todo],
        limits=limits,
        **fit_kw,
    )
    for (position, keys, readout, weights, _n, _noise, w0_V), fit in zip(todo, fits, strict=True):
        pulses = readout.pulses
        # the distinct statuses only: worst() of every pulse's would cost more than the fit
        read_status = worst(pulses["status"].unique()) if "status" in pulses else Status.OK
        if read_status != Status.OK:
            bad = pulses[pulses["status"] != Status.OK]
            fit["status"] = str(worst([fit["status"], read_status]))
            fit["reason"] = join_reasons([fit["reason"], f"read-out: {bad['reason'].iloc[0]}"])
        fit["w0_V"] = w0_V
        fit |= trace_qc_columns(readout)
        weights.insert(0, "trace_id", keys["trace_id"])
        out[position] = (keys | fit, weights)
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
    from fmes.analysis.device_params import assemble_device_params
    from fmes.analysis.variability import variability_summary

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
    values: pd.DataFrame, *, model: str, criterion: str, limits: QualityLimits
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
