"""Assemble ``results/tables/device_params.csv``, the analysis -> networks contract.

Columns exactly as docs/interfaces.md fixes them (:data:`DEVICE_PARAMS_COLUMNS`). Sources:

- ``g_min_V, g_max_V, a_p_pulses, a_d_pulses, nl_ltp, nl_ltd, n_states, c2c_sigma_frac``:
  converged LTP/LTD fits of the reference device (``device_id == "nominal"`` if present, else
  every device of the state), averaged over its cycles. Standard errors: the fit's 1-sigma
  error for a single cycle; for several cycles the standard error of the mean over cycles,
  which is the relevant uncertainty of a cycle-averaged parameter.
- ``n_states`` is the (rounded) mean and never exceeds ``n_pulses + 1``.
- ``d2d_a_cv`` = mean of the device-to-device CVs of A_P and A_D; ``d2d_range_cv`` = the
  device-to-device CV of G_max - G_min (:func:`fmes.analysis.variability.variability_summary`).
  A state without array data takes the pooled mean of the states that have it (the array is
  often measured at one resistance only); with no array data at all they are NaN. The
  provenance table returned alongside says which source each value came from.
- ``status``/``reason``: the worst status (:func:`fmes.core.status.worst`) of the fit rows used and
  their reasons, so a state built from a poor fit is never ``ok``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmes.core.contracts import DEVICE_PARAMS_COLUMNS
from fmes.core.status import Status, join_reasons, worst
from fmes.data.traces import parse_resistance

__all__ = ["DEVICE_PARAMS_COLUMNS", "assemble_device_params"]


def _reasons_of_non_ok(rows: pd.DataFrame) -> str:
    """The reasons of the rows that are not ``ok`` (an ok row's reason is empty by contract)."""
    if "status" not in rows or "reason" not in rows:
        return ""
    return join_reasons(rows.loc[rows["status"] != Status.OK, "reason"])


def _d2d_cv(d2d: pd.DataFrame, label: str, metrics: list[str]) -> tuple[float, str]:
    """The mean device-to-device CV of ``metrics`` at state ``label``, and where it came from.

    Measured at this state if every metric has a CV there, else pooled over the states that
    have them (the array is often measured at one resistance only); NaN without any data.
    """
    if d2d is None or d2d.empty:
        return np.nan, "no device-to-device data"
    sel = d2d[d2d["metric"].isin(metrics)]
    here = sel[sel["resistance_label"] == label]["cv"].dropna()
    if len(here) == len(metrics):
        return float(here.mean()), "measured at this state"
    pooled = sel.groupby("resistance_label")["cv"].mean().dropna()
    if pooled.empty:
        return np.nan, "no device-to-device data"
    return float(pooled.mean()), "pooled over states " + ",".join(map(str, pooled.index))


def _ordered_labels(fits: pd.DataFrame, resistance_order: list[str] | None) -> list[str]:
    """The states of ``fits`` in first-seen order, those named in ``resistance_order`` first."""
    labels = list(dict.fromkeys(fits["resistance_label"].astype(str))) if len(fits) else []
    if resistance_order:
        labels = [x for x in resistance_order if x in labels] + [
            x for x in labels if x not in resistance_order
        ]
    return labels


def _reference_fits(state_fits: pd.DataFrame, nominal_device: str) -> tuple[pd.DataFrame, str]:
    """The fit rows of the reference device of one state and its name: the nominal device's
    rows if present, else every device's."""
    ref = state_fits[state_fits["device_id"].astype(str) == nominal_device]
    if ref.empty:
        return state_fits, "all devices"
    return ref, nominal_device


def _mean_and_stderr(ok: pd.DataFrame, col: str, se_col: str) -> tuple[float, float]:
    """Cycle-averaged ``col`` and its standard error: the fit's own error for a single cycle,
    else the standard error of the mean over cycles."""
    v = ok[col].to_numpy(float)
    n = len(ok)
    if n == 1:
        return float(v[0]), float(ok[se_col].iloc[0])
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(n))


def _skipped_provenance(label: str, ref: pd.DataFrame) -> dict:
    """The provenance row of a state left out for want of a converged fit, with the reasons."""
    reasons = "; ".join(sorted(set(ref["reason"].astype(str))))
    return {
        "resistance_label": label,
        "column": "*",
        "source": "skipped",
        "note": f"no converged LTP/LTD fit ({reasons})",
    }


def _state_params(label: str, ok: pd.DataFrame, d2d: pd.DataFrame) -> tuple[dict, str, str]:
    """The device_params row of one state from its converged fit rows ``ok``, and the sources
    of its two device-to-device CVs (for the provenance table)."""
    a_p, a_p_se = _mean_and_stderr(ok, "a_p_pulses", "a_p_stderr_pulses")
    a_d, a_d_se = _mean_and_stderr(ok, "a_d_pulses", "a_d_stderr_pulses")
    n_pulses = int(ok["n_pulses"].iloc[0])
    a_cv, a_src = _d2d_cv(d2d, label, ["a_p_pulses", "a_d_pulses"])
    r_cv, r_src = _d2d_cv(d2d, label, ["range_V"])
    row = {
        "resistance_label": label,
        "resistance_ohm": parse_resistance(label),
        "g_min_V": float(ok["g_min_V"].mean()),
        "g_max_V": float(ok["g_max_V"].mean()),
        "n_pulses": n_pulses,
        "a_p_pulses": a_p,
        "a_d_pulses": a_d,
        "a_p_stderr_pulses": a_p_se,
        "a_d_stderr_pulses": a_d_se,
        "nl_ltp": float(ok["nl_ltp"].mean()),
        "nl_ltd": float(ok["nl_ltd"].mean()),
        "n_states": int(min(round(float(ok["n_states"].mean())), n_pulses + 1)),
        "c2c_sigma_frac": float(ok["c2c_sigma_frac"].mean()),
        "d2d_a_cv": a_cv,
        "d2d_range_cv": r_cv,
        # a parameter is only as good as the worst fit it comes from
        "status": worst(ok["status"]).value if "status" in ok else "ok",
        "reason": _reasons_of_non_ok(ok),
    }
    return row, a_src, r_src


def _state_provenance(label: str, fit_note: str, a_src: str, r_src: str) -> list[dict]:
    """The provenance rows of an assembled state: where its fit columns and CVs came from."""
    return [
        {
            "resistance_label": label,
            "column": "fit columns",
            "source": "ltp_ltd fit",
            "note": fit_note,
        },
        {
            "resistance_label": label,
            "column": "d2d_a_cv",
            "source": "variability",
            "note": a_src,
        },
        {
            "resistance_label": label,
            "column": "d2d_range_cv",
            "source": "variability",
            "note": r_src,
        },
    ]


def assemble_device_params(
    fits: pd.DataFrame,
    variability: pd.DataFrame,
    *,
    nominal_device: str = "nominal",
    resistance_order: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (device_params, provenance).

    ``fits``: per-cycle LTP/LTD fit rows with ``resistance_label, device_id, cycle``.
    ``variability``: :func:`~fmes.analysis.variability.variability_summary` output.
    States whose reference device has no converged fit are left out of ``device_params``
    and listed in ``provenance`` with the reason.
    """
    rows, prov = [], []
    d2d = variability[variability["kind"] == "d2d"] if len(variability) else variability
    for label in _ordered_labels(fits, resistance_order):
        state_fits = fits[fits["resistance_label"].astype(str) == label]
        ref, src = _reference_fits(state_fits, nominal_device)
        ok = ref[ref["converged"].astype(bool)]
        if ok.empty:
            prov.append(_skipped_provenance(label, ref))
            continue
        row, a_src, r_src = _state_params(label, ok, d2d)
        rows.append(row)
        fit_note = f"{src}, mean of {len(ok)} converged cycle(s)"
        prov += _state_provenance(label, fit_note, a_src, r_src)
    params = pd.DataFrame(rows, columns=list(DEVICE_PARAMS_COLUMNS))
    return params, pd.DataFrame(prov, columns=["resistance_label", "column", "source", "note"])
