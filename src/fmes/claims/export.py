"""Device parameters per resistance state in the conventions of MLP+NeuroSim and IBM aihwkit.

Sources read for the conventions (docs/exports.md gives the mapping in full):

- MLP+NeuroSim V3.0, ``Cell.cpp`` (``RealDevice``): LTP follows
  G(x) = B (1 - e^{-x/A}) + G_min with B = (G_max - G_min) / (1 - e^{-N/A}) and
  A = getParamA(NL) x N (``maxNumLevelLTP``); LTD uses the same expression with a *negative*
  label (``NL_LTD < 0``), which is exactly our mirrored LTD curve with A_D = |A|.
  ``sigmaCtoC`` is an absolute sigma per pulse written as a fraction of (G_max - G_min) and
  scaled by sqrt(|pulses|) (our ``c2c_sigma_frac``); ``sigmaDtoD`` is a Gaussian sigma on the NL
  label. getParamA tabulates labels 0.01 ... 9 in steps of 0.01.
- aihwkit ``SoftBoundsDevice`` (``simulator/configs/devices.py``, ``rpu_pulsed_device.cpp``,
  ``rpu_linearstep_device.cpp``): an up pulse does w += s_up (1 - w / w_max), a down pulse
  w -= s_down (1 - w / w_min), with s_up = dw_min (1 + min(up_down, 0)) and
  s_down = dw_min (1 - max(up_down, 0)); [w_min, w_max] must contain 0. Both are geometric
  relaxations to the bounds, i.e. our NeuroSim curves with w_max = the LTP asymptote,
  w_min = the LTD asymptote, s_up = w_max (1 - e^{-1/A_P}), s_down = |w_min| (1 - e^{-1/A_D}),
  in weight units where G_min -> -1 and G_max -> +1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fmes.analysis.ltp_ltd import relaxation_curve
from fmes.device.synapse import a_norm_from_nl, nl_label_from_a

__all__ = [
    "NEUROSIM_DEFAULT_CONDUCTANCE_S",
    "aihwkit_curve",
    "aihwkit_devices",
    "aihwkit_softbounds",
    "fitted_curve",
    "neurosim_block",
    "neurosim_curve",
    "neurosim_file",
    "neurosim_parameters",
    "roundtrip_error",
]

#: MLP+NeuroSim V3.0 RealDevice defaults (maxConductance, minConductance), used as the stand-in
#: conductance window: the FMES weight is a held voltage, not a conductance
NEUROSIM_DEFAULT_CONDUCTANCE_S = (3.8462e-8, 3.0769e-9)
_NL_MAX = 9.0  # largest label of NeuroSim's getParamA table


def _get(row: Mapping[str, Any], key: str) -> float:
    value = row[key] if key in row else math.nan
    return float(value) if value is not None else math.nan


def neurosim_parameters(row: Mapping[str, Any]) -> dict[str, Any]:
    """The RealDevice parameters of one device_params row, and notes on what was approximated."""
    n = int(round(_get(row, "n_pulses")))
    notes = []
    labels = {}
    for branch, key in (("LTP", "nl_ltp"), ("LTD", "nl_ltd")):
        nl = round(abs(_get(row, key)), 2)
        if nl > _NL_MAX:
            notes.append(f"NL_{branch} {nl:g} clipped to NeuroSim's table maximum {_NL_MAX:g}")
            nl = _NL_MAX
        labels[branch] = nl
    linear = labels["LTP"] < 0.01 and labels["LTD"] < 0.01
    if not linear and min(labels.values()) < 0.01:
        notes.append("a label below 0.01 rounds to the table's first entry 0.01")
        labels = {k: max(v, 0.01) for k, v in labels.items()}
    # device-to-device: NeuroSim spreads the NL label; our fit spreads A by a CV (delta method)
    cv = _get(row, "d2d_a_cv")
    sigma_d2d = 0.0
    if np.isfinite(cv) and cv > 0 and not linear:
        a_norm = _get(row, "a_p_pulses") / n
        sigma_d2d = float(
            abs(nl_label_from_a(a_norm * (1 - cv)) - nl_label_from_a(a_norm * (1 + cv))) / 2
        )
    c2c = _get(row, "c2c_sigma_frac")
    g_max_s, g_min_s = NEUROSIM_DEFAULT_CONDUCTANCE_S
    return {
        "maxNumLevelLTP": n,
        "maxNumLevelLTD": n,
        "nonlinearWrite": not linear,
        "NL_LTP": labels["LTP"],
        "NL_LTD": -labels["LTD"],
        "sigmaCtoC_frac": c2c if np.isfinite(c2c) else 0.0,
        "sigmaDtoD": sigma_d2d,
        "maxConductance": g_max_s,
        "minConductance": g_min_s,
        "writePulseWidthLTP": _get(row, "pulse_width_s"),
        "writePulseWidthLTD": _get(row, "pulse_width_s"),
        "notes": notes,
    }


def neurosim_block(row: Mapping[str, Any]) -> str:
    """C++ assignments for MLP+NeuroSim's RealDevice constructor (Cell.cpp), one state."""
    p = neurosim_parameters(row)
    label = str(row["resistance_label"])
    lines = [
        f"/* FMES synapse, regulating resistance {label} ({'open' if label == 'open' else label + ' ohm'}),",
        "   exported by fmes-repro from results/tables/device_params.csv (mapping: docs/exports.md).",
        f"   PSV window {_get(row, 'g_min_V'):.6g} .. {_get(row, 'g_max_V'):.6g} V mapped linearly onto the",
        "   stand-in conductances below (NeuroSim's defaults); the learning simulation uses only",
        "   the normalised quantities. Energy per pulse from the traces: "
        f"LTP {_get(row, 'energy_ltp_J'):.4g} J, LTD {_get(row, 'energy_ltd_J'):.4g} J. */",
        f"maxConductance = {p['maxConductance']:.5g};",
        f"minConductance = {p['minConductance']:.5g};",
        f"maxNumLevelLTP = {p['maxNumLevelLTP']};",
        f"maxNumLevelLTD = {p['maxNumLevelLTD']};",
        f"nonlinearWrite = {'true' if p['nonlinearWrite'] else 'false'};",
        f"NL_LTP = {p['NL_LTP']:.2f};",
        f"NL_LTD = {p['NL_LTD']:.2f};",
        f"sigmaDtoD = {p['sigmaDtoD']:.4f};",
        f"sigmaCtoC = {p['sigmaCtoC_frac']:.5f} * (maxConductance - minConductance);",
    ]
    if np.isfinite(p["writePulseWidthLTP"]):
        lines += [
            f"writePulseWidthLTP = {p['writePulseWidthLTP']:.4g};",
            f"writePulseWidthLTD = {p['writePulseWidthLTD']:.4g};",
        ]
    lines += [f"/* note: {note} */" for note in p["notes"]]
    return "\n".join(lines) + "\n"


def neurosim_curve(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """LTP then LTD conductance (fraction of the range) after 0..N pulses, NeuroSim's formulas."""
    n = int(params["maxNumLevelLTP"])
    x = np.arange(n + 1, dtype=float)
    if not params["nonlinearWrite"]:
        return x / n, 1 - x / n
    out = []
    for label in (params["NL_LTP"], params["NL_LTD"]):
        a = math.copysign(a_norm_from_nl(abs(label)) * n, label)
        b = 1.0 / (1 - math.exp(-n / a))
        if label > 0:
            out.append(b * (1 - np.exp(-x / a)))
        else:  # LTD walks the same expression backwards from x = N
            out.append(b * (1 - np.exp(-(n - x) / a)))
    return out[0], out[1]


def aihwkit_softbounds(row: Mapping[str, Any]) -> dict[str, Any]:
    """SoftBoundsDevice parameters (aihwkit names) of one state, weight units G_min -> -1, G_max -> +1."""
    n = float(_get(row, "n_pulses"))
    a_p, a_d = _get(row, "a_p_pulses"), _get(row, "a_d_pulses")
    w_max = -1.0 + 2.0 / -math.expm1(-n / a_p)  # LTP asymptote
    w_min = 1.0 - 2.0 / -math.expm1(-n / a_d)  # LTD asymptote
    s_up = w_max * -math.expm1(-1.0 / a_p)
    s_down = -w_min * -math.expm1(-1.0 / a_d)
    if s_up >= s_down:
        dw_min, up_down = s_up, 1.0 - s_down / s_up
    else:
        dw_min, up_down = s_down, s_up / s_down - 1.0
    c2c = _get(row, "c2c_sigma_frac")
    a_cv, r_cv = _get(row, "d2d_a_cv"), _get(row, "d2d_range_cv")
    return {
        "device": "SoftBoundsDevice",
        "resistance_label": str(row["resistance_label"]),
        "parameters": {
            "dw_min": dw_min,
            "up_down": up_down,
            "w_max": w_max,
            "w_min": w_min,
            # additive cycle-to-cycle noise of sigma = c2c_sigma_frac x range (= 2 in weights)
            "mult_noise": False,
            "dw_min_std": (2.0 * c2c / dw_min) if np.isfinite(c2c) else 0.0,
            "dw_min_dtod": a_cv if np.isfinite(a_cv) else 0.0,
            "up_down_dtod": 0.0,
            "w_max_dtod": r_cv if np.isfinite(r_cv) else 0.0,
            "w_min_dtod": 0.0,
        },
        "weight_mapping": {
            "g_min_V": _get(row, "g_min_V"),
            "g_max_V": _get(row, "g_max_V"),
            "w_at_g_min": -1.0,
            "w_at_g_max": 1.0,
            "n_pulses_full_range": int(n),
        },
        "energy_per_pulse_J": {"up": _get(row, "energy_ltp_J"), "down": _get(row, "energy_ltd_J")},
    }


def aihwkit_curve(export: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """LTP from w = -1 then LTD (fraction of the range) under aihwkit's SoftBounds update rule
    (no noise, no device-to-device spread), N pulses each."""
    p = export["parameters"]
    n = int(export["weight_mapping"]["n_pulses_full_range"])
    up_bias = min(p["up_down"], 0.0)
    down_bias = -max(p["up_down"], 0.0)
    s_up, s_down = p["dw_min"] * (1 + up_bias), p["dw_min"] * (1 + down_bias)
    w, ltp = -1.0, [-1.0]
    for _ in range(n):
        w += s_up * (1 - w / p["w_max"])
        ltp.append(w)
    ltd = [w]
    for _ in range(n):
        w -= s_down * (1 - w / p["w_min"])
        ltd.append(w)
    return (np.array(ltp) + 1) / 2, (np.array(ltd) + 1) / 2


def fitted_curve(row: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Our fitted LTP/LTD curve (fraction of the range) after 0..N pulses of each branch."""
    n = int(round(_get(row, "n_pulses")))
    x = np.arange(n + 1, dtype=float)
    return (
        relaxation_curve(x, 0.0, 1.0, _get(row, "a_p_pulses"), n),
        relaxation_curve(x, 1.0, 0.0, _get(row, "a_d_pulses"), n),
    )


def roundtrip_error(row: Mapping[str, Any], tool: str) -> float:
    """Largest |tool curve - fitted curve| over both branches, as a fraction of the range."""
    ours = fitted_curve(row)
    theirs = (
        neurosim_curve(neurosim_parameters(row))
        if tool == "neurosim"
        else aihwkit_curve(aihwkit_softbounds(row))
    )
    return float(max(np.max(np.abs(t - o)) for t, o in zip(theirs, ours, strict=True)))


def neurosim_file(device_params: pd.DataFrame) -> str:
    """The MLP+NeuroSim export of a device_params table: one ``RealDevice`` block per state."""
    header = (
        "// MLP+NeuroSim V3.0 RealDevice parameters (Cell.cpp), one block per FMES resistance state.\n"
        "// Paste one block into RealDevice::RealDevice(); mapping and caveats: docs/exports.md.\n\n"
    )
    return header + "\n".join(neurosim_block(row) for row in device_params.to_dict("records"))


def aihwkit_devices(device_params: pd.DataFrame, source: str) -> dict[str, Any]:
    """The aihwkit export of a device_params table: ``SoftBoundsDevice`` settings per state,
    keyed by resistance label, with ``source`` naming the table they came from."""
    devices = {
        str(row["resistance_label"]): aihwkit_softbounds(row)
        for row in device_params.to_dict("records")
    }
    return {"source": source, "devices": devices}


def roundtrip_row(row: Mapping[str, Any], tool: str, tolerance_frac: float) -> dict[str, Any]:
    """One row of the round-trip table: the largest deviation of ``tool``'s exported curve from
    the fitted one (fraction of the range), ``ok`` within ``tolerance_frac``, else ``flagged``."""
    error = roundtrip_error(row, tool)
    ok = bool(np.isfinite(error) and error <= tolerance_frac)
    return {
        "resistance_label": str(row["resistance_label"]),
        "tool": tool,
        "max_curve_error_frac": error,
        "tolerance_frac": tolerance_frac,
        "status": "ok" if ok else "flagged",
        "reason": ""
        if ok
        else f"exported curve deviates by {error:.3g} of the range (> {tolerance_frac:g})",
    }
