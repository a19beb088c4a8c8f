"""Calibration of the device model to the numbers the paper quotes (lmfit).

Free parameters are fitted in log10 space (they span decades and must stay positive) by
least squares on relative residuals of the ``fit: true`` targets of ``config/paper_targets.yaml``;
every other calibration-stage target (dynamic range, retention, trends) is evaluated on the
fitted model and reported, never tuned by hand.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import lmfit
import numpy as np
import pandas as pd
import yaml

from fmes import device as dev
from fmes.synthetic import ltp_ltd_stimulus

TARGET_KEYS = ("id", "quantity", "comparison", "stage", "source")
COMPARISONS = ("equal", "greater", "less", "increasing", "decreasing")


def load_targets(path: str | os.PathLike) -> list[dict]:
    """Read ``paper_targets.yaml``; every target names its quantity, comparison and source."""
    path = Path(path)
    try:
        targets = yaml.safe_load(path.read_text())["targets"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: expected a YAML mapping with a 'targets' list ({err})") from None
    for i, target in enumerate(targets):
        missing = [k for k in TARGET_KEYS if k not in target]
        if missing:
            raise ValueError(
                f"{path}: target {i + 1} ({target.get('id', '?')}): missing keys {missing}"
            )
        if target["comparison"] not in COMPARISONS:
            raise ValueError(
                f"{path}: target {target['id']}: comparison must be one of {COMPARISONS}"
            )
        if target["comparison"] in ("equal", "greater", "less") and "value" not in target:
            raise ValueError(f"{path}: target {target['id']}: a numeric comparison needs 'value'")
    return targets


def weights_after_pulses(
    params: dev.CellParams, resistance_ohm: np.ndarray, ltp: dict
) -> np.ndarray:
    """Weight W_n: the PSV at the end of the gap after pulse n (read just before the next onset)."""
    stim = ltp_ltd_stimulus(ltp, {"samples_per_pulse": 2, "samples_per_gap": 2})
    period = 1.0 / ltp["frequency_Hz"]
    onsets = ltp["delay_s"] + np.arange(2 * ltp["n_pulses"]) * period
    return dev.simulate(
        dev.current_driven_circuit(params, resistance_ohm), stim.drive, onsets + 0.999 * period
    )


def dynamic_range(weights: np.ndarray, n_pulses: int) -> np.ndarray:
    """W_max / W_min of the potentiation branch: W_min is the weight after the first pulse (the
    smallest programmed state of a cycle that starts discharged), W_max the largest weight."""
    return weights[..., :n_pulses].max(axis=-1) / weights[..., 0]


def _peak(
    params: dev.CellParams, resistance_ohm, stimulus: dev.Stimulus, end_times: np.ndarray
) -> np.ndarray:
    # the PSV at the very end of a pulse (left limit) is its peak: the response rises monotonically
    circuit = dev.current_driven_circuit(params, resistance_ohm)
    return dev.simulate(circuit, stimulus.drive, end_times, side="left")


def model_observables(
    params: dev.CellParams, protocols: dict, check_resistances: list[str]
) -> dict[str, float | np.ndarray]:
    """Every calibration-stage quantity of the paper evaluated on the model (no noise)."""
    from fmes.traces import parse_resistance

    obs: dict[str, float | np.ndarray] = dict(_fit_observables(params))
    ohm = np.array([parse_resistance(x) for x in check_resistances])
    obs["dynamic_range_by_R"] = dynamic_range(
        weights_after_pulses(params, ohm, protocols["ltp_ltd"]), protocols["ltp_ltd"]["n_pulses"]
    )
    obs["dynamic_range_min"] = float(np.min(obs["dynamic_range_by_R"]))

    train = protocols["pulse_train"]
    stim = dev.train_stimulus(
        np.full(train["n_pulses"], train["amplitude_A"]),
        train["width_s"],
        train["frequency_Hz"],
        0.0,
        120.0,
    )
    end = train["n_pulses"] / train["frequency_Hz"]
    u = dev.simulate(
        dev.current_driven_circuit(params, math.inf), stim.drive, end + np.array([1.0, 100.0])
    )
    obs["retention_open_100s"] = float(u[1] / u[0])

    all_ohm = np.array([500.0, 1000.0, 2000.0, 4000.0, 7000.0, 8000.0, math.inf])
    amps = np.array([1e-4, 2e-4, 5e-4, 1e-3, 2e-3])
    single = dev.pulse_stimulus(1.0, 1e-3, 0.0, 0.01)  # linear circuit: PSV scales with amplitude
    peak_unit = _peak(params, all_ohm, single, np.array([1e-3]))[:, 0]
    obs["psv_increases_with_amplitude"] = peak_unit[:, None] * amps[None, :]
    widths = np.array([5e-4, 1e-3, 2e-3, 5e-3, 1e-2])
    obs["psv_increases_with_width"] = np.stack(
        [
            _peak(params, all_ohm, dev.pulse_stimulus(1e-3, w, 0.0, 0.01), np.array([w]))[:, 0]
            for w in widths
        ],
        axis=1,
    )
    obs["psv_increases_with_resistance"] = peak_unit * 1e-3
    ppf20 = dev.ppf_stimulus(1e-3, 1e-3, 0.02, 0.0, 0.1)
    peaks = _peak(params, all_ohm, ppf20, np.array([1e-3, 21e-3]))
    obs["ppf_decays_faster_at_lower_R"] = peaks[:, 1] / peaks[:, 0]
    half = _peak(
        params,
        np.array([500.0, 8000.0]),
        dev.pulse_stimulus(0.5e-3, 1e-3, 0.0, 0.01),
        np.array([1e-3]),
    )[:, 0]
    obs["psv_0p5mA_500ohm"], obs["psv_0p5mA_8000ohm"] = float(half[0]), float(half[1])
    return obs


def is_monotone(values: np.ndarray, increasing: bool) -> bool:
    """True if every row of ``values`` (1-D or 2-D) is strictly increasing (or decreasing)."""
    d = np.diff(np.atleast_2d(values), axis=-1)
    return bool(np.all(d > 0) if increasing else np.all(d < 0))


def evaluate_target(target: dict, model_value) -> tuple[float, float, bool]:
    """(scalar model value, relative error, passed) for one target."""
    comparison = target["comparison"]
    if comparison in ("increasing", "decreasing"):
        ok = is_monotone(np.asarray(model_value), comparison == "increasing")
        return float(ok), math.nan, ok
    value = float(model_value)
    paper = float(target["value"])
    rel = (value - paper) / paper
    if comparison == "equal":
        return value, rel, abs(rel) <= float(target.get("tolerance_rel", 0.1))
    if comparison == "greater":
        return value, rel, value > paper
    return value, rel, value < paper


@dataclass
class CalibrationResult:
    params: dev.CellParams
    success: bool
    message: str
    stderr_rel: dict[str, float]
    chisqr: float
    table: pd.DataFrame


def calibrate(
    initial: dev.CellParams,
    free: list[str],
    targets: list[dict],
    protocols: dict,
    check_resistances: list[str],
    bounds_factor: float = 100.0,
) -> CalibrationResult:
    """Fit the ``free`` cell parameters to the ``fit: true`` calibration targets."""
    fit_targets = [t for t in targets if t["stage"] == "calibration" and t.get("fit")]
    if free and not fit_targets:
        raise ValueError("no calibration target has fit: true")
    values = {k: float(v) for k, v in initial.as_dict().items()}
    unknown = [name for name in free if name not in values]
    if unknown:
        raise ValueError(
            f"calibration.free: unknown device parameters {unknown}; expected some of {list(values)}"
        )
    if not free:  # calibration disabled: evaluate the configured parameters as they are
        return _result(
            initial,
            targets,
            protocols,
            check_resistances,
            True,
            "not fitted: calibration disabled",
            {},
            math.nan,
        )
    lm = lmfit.Parameters()
    for name in free:
        log_v = math.log10(values[name])
        lm.add(
            f"log10_{name}",
            value=log_v,
            min=log_v - math.log10(bounds_factor),
            max=log_v + math.log10(bounds_factor),
        )
    paper = np.array([float(t["value"]) for t in fit_targets])

    def current(p: lmfit.Parameters) -> dev.CellParams:
        return dev.CellParams(**{**values, **{n: 10 ** p[f"log10_{n}"].value for n in free}})

    def residual(p: lmfit.Parameters) -> np.ndarray:
        obs = _fit_observables(current(p))
        return (np.array([obs[t["id"]] for t in fit_targets]) - paper) / paper

    result = lmfit.minimize(residual, lm, method="least_squares")
    params = current(result.params)
    stderr = {
        n: (math.log(10) * result.params[f"log10_{n}"].stderr)
        if result.params[f"log10_{n}"].stderr is not None
        else math.nan
        for n in free
    }
    return _result(
        params,
        targets,
        protocols,
        check_resistances,
        bool(result.success),
        str(result.message),
        stderr,
        float(result.chisqr),
    )


def _result(
    params, targets, protocols, check_resistances, success, message, stderr, chisqr
) -> CalibrationResult:
    obs = model_observables(params, protocols, check_resistances)
    rows = []
    for t in [t for t in targets if t["stage"] == "calibration"]:
        model_value, rel, ok = evaluate_target(t, obs[t["id"]])
        rows.append(
            {
                "target_id": t["id"],
                "quantity": t["quantity"],
                "unit": t.get("unit", ""),
                "comparison": t["comparison"],
                "paper_value": float(t["value"]) if "value" in t else math.nan,
                "model_value": model_value,
                "relative_error": rel,
                "tolerance_rel": float(t["tolerance_rel"]) if "tolerance_rel" in t else math.nan,
                "passed": ok,
                "used_in_fit": bool(t.get("fit", False)),
                "source": t["source"],
            }
        )
    return CalibrationResult(params, success, message, stderr, chisqr, pd.DataFrame(rows))


def _fit_observables(params: dev.CellParams) -> dict[str, float]:
    """The cheap subset of observables used inside the least-squares loop."""
    iv = dev.iv_sweep_stimulus(0.8, 0.05, 3)
    i06 = dev.simulate(
        dev.voltage_driven_circuit(params, np.array([500.0, 8000.0])), iv.drive, np.array([12.0])
    )[:, 0]
    ppf = dev.ppf_stimulus(1e-3, 1e-3, 0.01, 0.0, 0.1)
    a1, a2 = _peak(params, 7000.0, ppf, np.array([1e-3, 11e-3]))
    return {
        "iv_current_0p6V_500ohm": float(i06[0]),
        "iv_current_0p6V_8000ohm": float(i06[1]),
        "ppf_A1_7000ohm": float(a1),
        "ppf_A2_7000ohm": float(a2),
    }
