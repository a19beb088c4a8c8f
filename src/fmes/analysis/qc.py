"""Per-trace quality control: what the robust read-out found on every trace, and which traces
get a QC figure.

One row per trace (:func:`trace_qc_row`): pulses found against pulses the manifest declares,
what the robust read-out measured and what it corrected (:data:`TRACE_QC_COLUMNS`), the read-out
``status``/``reason`` (fmes.core.status) and the analyses that use the trace
(:data:`ANALYSES_BY_PROTOCOL`). The figures (:func:`fmes.analysis.figures.qc_figure`) draw the
detected onsets/offsets, peaks, baselines and reads on the raw signal, so a user sees at a
glance whether their data were read correctly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.analysis.pipeline import readout_or_reason
from fmes.analysis.pulses import PulseReadout
from fmes.core.status import Status, join_reasons, worst

__all__ = [
    "ANALYSES_BY_PROTOCOL",
    "TRACE_QC_COLUMNS",
    "QcFigureChoice",
    "declared_pulses",
    "qc_figure_name",
    "sample_trace_ids",
    "trace_qc_row",
]

#: The analysis rules that read each protocol's traces.
ANALYSES_BY_PROTOCOL: dict[str, str] = {
    "iv_sweep": "analyse_pulse_response (I-V)",
    "pulse": "analyse_pulse_response; analyse_retention; analyse_acf",
    "ppf": "analyse_ppf",
    "pulse_train": "analyse_retention",
    "ltp_ltd": "analyse_ltp_ltd; analyse_variability",
}

#: Columns of results/qc/trace_qc.csv. Each correction is reported as measured value plus
#: whether it was applied: ``corrections_applied`` lists the applied ones (``skew;glitches;mains;
#: drift``, empty on a trace left untouched); ``skew_samples`` (lag corrected, samples) and
#: ``skew_applied``; ``noise_V`` (read noise of one sample, NaN when the rests cannot tell) and
#: ``noise_floor_V`` (the resolution floor of the significance tests); ``drift_V_per_s`` and
#: ``drift_removed``; ``mains_amplitude_V`` (fitted, NaN without a usable window) and
#: ``mains_removed``; ``glitch_count`` (samples repaired) and ``glitch_max_repair_V`` (largest
#: change of a repaired sample, 0 without glitches).
TRACE_QC_COLUMNS = [
    "trace_id",
    "protocol",
    "device_id",
    "resistance_label",
    "cycle",
    "n_samples",
    "pulses_declared",
    "pulses_found",
    "pulses_not_ok",
    "corrections_applied",
    "skew_samples",
    "skew_applied",
    "noise_V",
    "noise_floor_V",
    "drift_V_per_s",
    "drift_removed",
    "mains_amplitude_V",
    "mains_removed",
    "glitch_count",
    "glitch_max_repair_V",
    "status",
    "reason",
    "analyses",
]


def declared_pulses(row: dict) -> float:
    """Pulses the manifest row implies: 1 (pulse), 2 (ppf), n (train), 2 n (ltp_ltd); NaN (I-V)."""
    n = row.get("n_pulses", np.nan)
    n = float(n) if n is not None and n == n else np.nan
    return {"pulse": 1.0, "ppf": 2.0, "pulse_train": n, "ltp_ltd": 2 * n}.get(
        row["protocol"], np.nan
    )


def sample_trace_ids(manifest: pd.DataFrame, per_protocol: int) -> set[str]:
    """Trace ids of the sample QC figures: per protocol, ``per_protocol`` traces evenly spaced
    through its rows in the manifest's order (first and last included; deterministic)."""
    picks: set[str] = set()
    for _, group in manifest.groupby("protocol", sort=False):
        k = min(per_protocol, len(group))
        spaced = np.unique(np.linspace(0, len(group) - 1, k).astype(int))
        picks |= set(group["trace_id"].iloc[spaced])
    return picks


class QcFigureChoice:
    """Which traces get a QC figure, decided trace by trace in reading order: every sampled
    trace (:func:`sample_trace_ids`) and the first ``max_flagged`` traces that are not ``ok``.
    Counts the not-ok traces (``n_not_ok``) and those drawn for it (``n_drawn``)."""

    def __init__(self, sampled: set[str], max_flagged: int) -> None:
        self.sampled, self.max_flagged = sampled, max_flagged
        self.n_not_ok = self.n_drawn = 0

    def draw(self, trace_id: str, status: str) -> bool:
        """True if the trace's figure is drawn."""
        not_ok = status != Status.OK
        self.n_not_ok += not_ok
        flagged = not_ok and self.n_drawn < self.max_flagged
        self.n_drawn += flagged
        return trace_id in self.sampled or flagged


def qc_figure_name(row: dict, status: str) -> str:
    """File name of a trace's QC figure: protocol, ``sample`` or ``flagged`` (not ``ok``), id."""
    kind = "sample" if status == Status.OK else "flagged"
    return f"{row['protocol']}_{kind}_{row['trace_id']}.png"


def trace_qc_row(
    row: dict, trace: pd.DataFrame, pulse_kw: dict
) -> tuple[dict[str, object], PulseReadout | None]:
    """The QC row of one trace (and its read-out, None for I-V sweeps or failed detection)."""
    out: dict[str, object] = {k: row.get(k, np.nan) for k in ("trace_id", "protocol", "device_id")}
    out["resistance_label"] = str(row.get("resistance_label", ""))
    out["cycle"] = row.get("cycle", 0)
    out["n_samples"] = len(trace)
    out["pulses_declared"] = declared_pulses(row)
    out["analyses"] = ANALYSES_BY_PROTOCOL.get(row["protocol"], "")
    if row["protocol"] == "iv_sweep":  # voltage-driven: no pulses to read
        return out | {"pulses_found": np.nan, "status": str(Status.OK), "reason": ""}, None
    readout, why = readout_or_reason(trace, **pulse_kw)
    if readout is None:
        return out | {"pulses_found": 0, "status": str(Status.FAILED), "reason": why}, None
    qc, pulses = readout.trace_qc, readout.pulses
    out |= {
        k: qc.get(k, np.nan) for k in TRACE_QC_COLUMNS if k in qc and k not in ("status", "reason")
    }
    out["pulses_found"] = len(pulses)
    bad = pulses[pulses["status"] != Status.OK]
    out["pulses_not_ok"] = len(bad)
    reasons = [qc.get("reason", "")]
    statuses = [qc.get("status", Status.OK), *pulses["status"]]
    if len(bad):
        reasons.append(f"{len(bad)} pulse read-out(s) not ok: {bad['reason'].iloc[0]}")
    declared = out["pulses_declared"]
    if np.isfinite(declared) and len(pulses) != declared:
        statuses.append(Status.FLAGGED)
        reasons.append(f"found {len(pulses)} pulses, the manifest declares {declared:g}")
    status = worst(statuses)
    return out | {
        "status": str(status),
        "reason": join_reasons(reasons) if status != Status.OK else "",
    }, readout
