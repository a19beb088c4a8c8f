"""Calibration of the device model to the numbers the paper quotes (lmfit).

Free parameters are fitted in log10 space (they span decades and must stay positive) by
least squares on relative residuals of the ``fit: true`` targets of ``config/paper_targets.yaml``;
every other calibration-stage target (dynamic range, retention, trends) is evaluated on the
fitted model and reported, never tuned by hand.

What the model simulates for each target (resistance state, pulse amplitude and width, sweep,
read times, the grids of the trend claims) is read from that target's ``select:`` and
``conditions:`` in the same file (:class:`ModelConditions`, docs/calibration.md), so the model
and the analysis of the traces evaluate a quoted number under the same stated conditions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import ClassVar, TypeVar, get_type_hints

import lmfit
import numpy as np
import pandas as pd

from fmes.data.targets import NUMERIC_COMPARISONS, evaluate_target
from fmes.data.traces import parse_resistance
from fmes.device import circuit as dev
from fmes.device.synthetic import ltp_ltd_stimulus


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


# ---------------------------------------------------------------------------------------------
# What the model simulates for each calibration target: read from config/paper_targets.yaml
# ---------------------------------------------------------------------------------------------

TARGETS_KEY = "calibration.targets"  # the config key naming the targets file, for error messages


@dataclass(frozen=True)
class _Conditions:
    """What every target's conditions name: the resistance state(s) simulated."""

    # one label or a list of them, as in ``select:``; a list is the trend's resistance axis
    resistance_label: tuple[str, ...]
    # a numeric target needs one state, unless its value is the smallest over the listed states
    smallest_over_states: ClassVar[bool] = False

    @property
    def resistance_ohm(self) -> np.ndarray:
        return np.array([parse_resistance(label) for label in self.resistance_label])


C = TypeVar("C", bound=_Conditions)


@dataclass(frozen=True)
class SweepRead(_Conditions):
    """Current of a voltage sweep 0 -> ``v_max_V`` -> 0 from rest, read at ``read_time_s`` on the
    rising branch, where the drive is ``v_target_V`` (Fig 2b)."""

    sweep_rate_V_per_s: float
    v_target_V: float
    v_max_V: float
    # stated rather than computed: v_target_V / sweep_rate_V_per_s rounds in binary floating
    # point (0.6 / 0.05 = 11.999999999999998), so the file says the read time it means
    read_time_s: float

    def __post_init__(self) -> None:
        if self.v_target_V > self.v_max_V:
            raise ValueError("v_target_V: expected at most v_max_V (the sweep's peak)")
        reached = self.read_time_s * self.sweep_rate_V_per_s
        if not math.isclose(reached, self.v_target_V, rel_tol=1e-9):
            raise ValueError(
                f"read_time_s: expected v_target_V / sweep_rate_V_per_s (the rising branch at "
                f"v_target_V), got {self.read_time_s:g} s, where the sweep is at {reached:g} V"
            )


@dataclass(frozen=True)
class SweepVoltage(_Conditions):
    """Voltage of a sweep 0 -> ``v_max_V`` -> 0 from rest where the current on the rising
    branch first reaches ``i_target_A`` (the I-V reading of a "V at I" quote)."""

    sweep_rate_V_per_s: float
    i_target_A: float
    v_max_V: float


@dataclass(frozen=True)
class Pulse(_Conditions):
    """Peak PSV (end of the pulse) of one current pulse."""

    amplitude_A: float
    width_s: float


@dataclass(frozen=True)
class PulsePair(_Conditions):
    """Peaks A1 and A2 (from the pre-stimulus baseline) of two identical pulses ``interval_s``
    apart, onset to onset (Fig 3a-c)."""

    amplitude_A: float
    width_s: float
    interval_s: float

    def __post_init__(self) -> None:
        if self.interval_s <= self.width_s:
            raise ValueError("interval_s: expected more than width_s (the pulses would overlap)")


@dataclass(frozen=True)
class AmplitudeSeries(_Conditions):
    """Peak PSV of a ``width_s`` pulse at each amplitude of ``amplitudes_A`` (Fig 2c)."""

    width_s: float
    amplitudes_A: tuple[float, ...]


@dataclass(frozen=True)
class WidthSeries(_Conditions):
    """Peak PSV of an ``amplitude_A`` pulse at each width of ``widths_s`` (Fig 2d)."""

    amplitude_A: float
    widths_s: tuple[float, ...]


@dataclass(frozen=True)
class TrainRetention(_Conditions):
    """PSV ``t_ret_s`` after the end of the pulse train (``protocols.pulse_train``; its end is
    ``n_pulses`` periods after the first onset) over the PSV ``t_ref_s`` after it (Fig 3g)."""

    t_ref_s: float
    t_ret_s: float

    def __post_init__(self) -> None:
        if self.t_ret_s <= self.t_ref_s:
            raise ValueError("t_ret_s: expected later than t_ref_s")


@dataclass(frozen=True)
class LtpLtdCycle(_Conditions):
    """W_max/W_min of the LTP/LTD cycle ``protocols.ltp_ltd`` at each listed resistance; the
    target's value is the smallest of them (Supp. Fig 15)."""

    smallest_over_states: ClassVar[bool] = True


@dataclass(frozen=True)
class ModelConditions:
    """The conditions of every calibration-stage target the model evaluates, by target id.

    Built once by :meth:`from_targets` from ``config/paper_targets.yaml``.
    """

    iv_current_0p6V_500ohm: SweepRead
    iv_current_0p6V_8000ohm: SweepRead
    ppf_A1_7000ohm: PulsePair
    ppf_A2_7000ohm: PulsePair
    retention_open_100s: TrainRetention
    psv_increases_with_amplitude: AmplitudeSeries
    psv_increases_with_width: WidthSeries
    psv_increases_with_resistance: Pulse
    ppf_decays_faster_at_lower_R: PulsePair
    psv_0p5mA_500ohm: Pulse
    psv_0p5mA_8000ohm: Pulse
    iv_voltage_0p5mA_500ohm: SweepVoltage
    iv_voltage_0p5mA_8000ohm: SweepVoltage
    dynamic_range_min: LtpLtdCycle

    @classmethod
    def from_targets(cls, targets: Sequence[Mapping]) -> ModelConditions:
        """Read and check each target's conditions (:func:`read_conditions`); every
        calibration-stage target must be one the model evaluates, and each of those present."""
        by_id = {t["id"]: t for t in targets if t["stage"] == "calibration"}
        modelled = [f.name for f in fields(cls)]
        unknown = sorted(set(by_id) - set(modelled))
        if unknown:
            raise ValueError(
                f"{TARGETS_KEY}: calibration targets {unknown}: the model has no observable of "
                f"that id (it evaluates {modelled})"
            )
        missing = [name for name in modelled if name not in by_id]
        if missing:
            raise ValueError(
                f"{TARGETS_KEY}: missing calibration targets {missing} (the model evaluates them)"
            )
        kinds = get_type_hints(cls)
        return cls(**{name: read_conditions(by_id[name], kinds[name]) for name in modelled})


def read_conditions(target: Mapping, kind: type[C]) -> C:
    """The fields of ``kind`` from the target's ``select:`` and ``conditions:`` (one fact in one
    of them, never both; ``conditions:`` only what the model reads), checked: numbers > 0, grids
    increasing, resistance labels parseable, one label for a numeric target (unless its value is
    the smallest over the states, :attr:`_Conditions.smallest_over_states`). A problem raises
    ``ValueError`` naming the target id and the key."""
    where = f"{TARGETS_KEY}: target {target['id']}"
    select = target.get("select") or {}
    conditions = target.get("conditions") or {}
    if not isinstance(select, Mapping) or not isinstance(conditions, Mapping):
        raise ValueError(f"{where}: select: and conditions: must be mappings (key: value)")
    wanted = [f.name for f in fields(kind)]
    twice = sorted(set(select) & set(conditions))
    if twice:
        raise ValueError(f"{where}: {twice} given in both select: and conditions: (give it once)")
    unused = sorted(set(conditions) - set(wanted))
    if unused:
        raise ValueError(
            f"{where}: conditions {unused} are not read by the model (it reads {wanted})"
        )
    facts = {**select, **conditions}
    types = get_type_hints(kind)
    values = {}
    for key in wanted:
        if key not in facts:
            raise ValueError(f"{where}: missing {key!r} (in select: or conditions:)")
        try:
            values[key] = _checked(facts[key], types[key])
        except ValueError as err:
            raise ValueError(f"{where}: {key}: {err}") from None
    one_value = target["comparison"] in NUMERIC_COMPARISONS and not kind.smallest_over_states
    if one_value and len(values["resistance_label"]) != 1:
        raise ValueError(f"{where}: resistance_label: a numeric target needs exactly one label")
    try:
        return kind(**values)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def _checked(value: object, kind: object) -> float | tuple:
    if kind is float:
        return _positive(value)
    if kind == tuple[float, ...]:
        grid = tuple(_positive(x) for x in _as_list(value))
        if not np.all(np.diff(grid) > 0):
            raise ValueError(f"expected an increasing list, got {list(grid)}")
        return grid
    labels = tuple(str(x) for x in _as_list(value))
    if not np.all(np.diff([parse_resistance(label) for label in labels]) > 0):  # open twice: nan
        raise ValueError(f"expected resistance labels in increasing order, got {list(labels)}")
    return labels


def _as_list(value: object) -> list:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        raise ValueError("expected at least one value, got an empty list")
    return items


def _positive(value: object) -> float:
    # bool is an int to Python; a string such as 1e-3 is what YAML makes of a number without a dot
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"expected a number > 0 (write 1.0e-3, not 1e-3), got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------------------
# The model's observables
# ---------------------------------------------------------------------------------------------


def _peak(
    params: dev.CellParams,
    resistance_ohm: np.ndarray,
    drive: dev.PiecewiseDrive,
    end_times: np.ndarray,
) -> np.ndarray:
    # the PSV at the very end of a pulse (left limit) is its peak: the response rises monotonically
    circuit = dev.current_driven_circuit(params, resistance_ohm)
    return dev.simulate(circuit, drive, end_times, side="left")


def pulse_peaks(
    params: dev.CellParams, resistance_ohm: np.ndarray, amplitude_A: float, width_s: float
) -> np.ndarray:
    """Peak PSV of one pulse starting at t = 0, one value per resistance."""
    drive = dev.pulse_drive([0.0], width_s, [amplitude_A])
    return _peak(params, resistance_ohm, drive, np.array([width_s]))[:, 0]


def pair_peaks(params: dev.CellParams, pair: PulsePair) -> np.ndarray:
    """Peaks (A1, A2) of a pulse pair, shape (resistances, 2)."""
    drive = dev.pulse_drive([0.0, pair.interval_s], pair.width_s, pair.amplitude_A)
    ends = np.array([pair.width_s, pair.interval_s + pair.width_s])
    return _peak(params, pair.resistance_ohm, drive, ends)


def sweep_current(params: dev.CellParams, read: SweepRead) -> np.ndarray:
    """Current of the sweep at its read time, one value per resistance."""
    drive = dev.iv_sweep_stimulus(read.v_max_V, read.sweep_rate_V_per_s).drive
    circuit = dev.voltage_driven_circuit(params, read.resistance_ohm)
    return dev.simulate(circuit, drive, np.array([read.read_time_s]))[:, 0]


def sweep_voltage_at_current(
    params: dev.CellParams, read: SweepVoltage, n_points: int = 8001
) -> np.ndarray:
    """Voltage where the rising branch's current first reaches ``read.i_target_A``, one value
    per resistance (linear interpolation between ``n_points`` samples of the branch; NaN where
    the current stays below it up to ``v_max_V``)."""
    drive = dev.iv_sweep_stimulus(read.v_max_V, read.sweep_rate_V_per_s).drive
    time_s = np.linspace(0.0, read.v_max_V / read.sweep_rate_V_per_s, n_points)
    circuit = dev.voltage_driven_circuit(params, read.resistance_ohm)
    current = np.atleast_2d(dev.simulate(circuit, drive, time_s))
    volts = time_s * read.sweep_rate_V_per_s
    out = np.full(current.shape[0], np.nan)
    for k, branch in enumerate(current):
        above = np.flatnonzero(branch >= read.i_target_A)
        if above.size and above[0] > 0:
            j = above[0]
            out[k] = np.interp(read.i_target_A, branch[j - 1 : j + 1], volts[j - 1 : j + 1])
    return out


def train_retention(
    params: dev.CellParams, retention: TrainRetention, train: Mapping
) -> np.ndarray:
    """PSV(end + t_ret_s) / PSV(end + t_ref_s) after the train ``train`` (a
    ``protocols.pulse_train`` mapping), one value per resistance."""
    onsets = np.arange(train["n_pulses"]) / train["frequency_Hz"]
    drive = dev.pulse_drive(onsets, train["width_s"], np.full(onsets.size, train["amplitude_A"]))
    end = train["n_pulses"] / train["frequency_Hz"]
    circuit = dev.current_driven_circuit(params, retention.resistance_ohm)
    psv = dev.simulate(circuit, drive, end + np.array([retention.t_ref_s, retention.t_ret_s]))
    return psv[:, 1] / psv[:, 0]


def _one(values: np.ndarray) -> float:
    # a numeric target has one resistance label (checked by read_conditions)
    return float(values.item())


def model_observables(
    params: dev.CellParams,
    conditions: ModelConditions,
    protocols: dict,
) -> dict[str, float | np.ndarray]:
    """Every calibration-stage quantity of the paper evaluated on the model (no noise), under
    the conditions its target states."""
    obs: dict[str, float | np.ndarray] = dict(_fit_observables(params, conditions))
    ltp = protocols["ltp_ltd"]
    ohm = conditions.dynamic_range_min.resistance_ohm
    obs["dynamic_range_by_R"] = dynamic_range(
        weights_after_pulses(params, ohm, ltp), ltp["n_pulses"]
    )
    obs["dynamic_range_min"] = float(np.min(obs["dynamic_range_by_R"]))
    obs["retention_open_100s"] = _one(
        train_retention(params, conditions.retention_open_100s, protocols["pulse_train"])
    )

    by_amplitude = conditions.psv_increases_with_amplitude
    obs["psv_increases_with_amplitude"] = np.stack(
        [
            pulse_peaks(params, by_amplitude.resistance_ohm, amplitude, by_amplitude.width_s)
            for amplitude in by_amplitude.amplitudes_A
        ],
        axis=1,
    )
    by_width = conditions.psv_increases_with_width
    obs["psv_increases_with_width"] = np.stack(
        [
            pulse_peaks(params, by_width.resistance_ohm, by_width.amplitude_A, width)
            for width in by_width.widths_s
        ],
        axis=1,
    )
    by_resistance = conditions.psv_increases_with_resistance
    obs["psv_increases_with_resistance"] = pulse_peaks(
        params, by_resistance.resistance_ohm, by_resistance.amplitude_A, by_resistance.width_s
    )
    peaks = pair_peaks(params, conditions.ppf_decays_faster_at_lower_R)
    obs["ppf_decays_faster_at_lower_R"] = peaks[:, 1] / peaks[:, 0]
    for target_id in ("psv_0p5mA_500ohm", "psv_0p5mA_8000ohm"):
        pulse = getattr(conditions, target_id)
        obs[target_id] = _one(
            pulse_peaks(params, pulse.resistance_ohm, pulse.amplitude_A, pulse.width_s)
        )
    for target_id in ("iv_voltage_0p5mA_500ohm", "iv_voltage_0p5mA_8000ohm"):
        obs[target_id] = _one(sweep_voltage_at_current(params, getattr(conditions, target_id)))
    return obs


@dataclass
class CalibrationResult:
    params: dev.CellParams
    fitted: list[str]  # the free parameters (none when the calibration is disabled)
    success: bool
    message: str
    stderr_rel: dict[str, float]  # relative standard error per fitted parameter (nan: none)
    stderr_reason: str  # why stderr_rel is nan (empty when lmfit's estimate is given)
    chisqr: float
    table: pd.DataFrame
    conditions: ModelConditions  # what each target was simulated under


def fit_stderr(result: lmfit.minimizer.MinimizerResult) -> tuple[dict[str, float], str]:
    """lmfit's standard error of every varied parameter (by name) where the fit can estimate
    one, else nan for all of them, with the reason (empty when the values are lmfit's).

    lmfit's stderr comes from the covariance of the residuals' Jacobian scaled by the reduced
    chi-square, chisqr / (n residuals - n free parameters). With as many residuals as free
    parameters the fit passes exactly through the targets: no degree of freedom is left to
    estimate the residual scatter, and the "stderr" lmfit still reports (it divides by 1
    instead) reflects only how flat the Jacobian is, not an uncertainty.
    """
    names = list(result.var_names)
    nan = dict.fromkeys(names, math.nan)
    if result.nfree == 0:
        return nan, (
            f"exactly determined: {result.ndata} fitted targets = {result.nvarys} free "
            "parameters, no degree of freedom to estimate an uncertainty from"
        )
    if result.nfree < 0:
        return nan, (
            f"underdetermined: {result.ndata} fitted targets < {result.nvarys} free parameters"
        )
    stderr = {name: result.params[name].stderr for name in names}
    if not result.errorbars or any(value is None for value in stderr.values()):
        return nan, "lmfit could not estimate the covariance (singular Jacobian at the optimum)"
    return {name: float(value) for name, value in stderr.items()}, ""


def calibrate(
    initial: dev.CellParams,
    free: list[str],
    targets: list[dict],
    protocols: dict,
    bounds_factor: float = 100.0,
) -> CalibrationResult:
    """Fit the ``free`` cell parameters to the ``fit: true`` calibration targets, each simulated
    under the conditions it states (:class:`ModelConditions`)."""
    conditions = ModelConditions.from_targets(targets)
    fit_targets = [t for t in targets if t["stage"] == "calibration" and t.get("fit")]
    if free and not fit_targets:
        raise ValueError("no calibration target has fit: true")
    fittable = _fit_observables(initial, conditions)  # the fit evaluates only these, cheaply
    not_fittable = [t["id"] for t in fit_targets if t["id"] not in fittable]
    if not_fittable:
        raise ValueError(
            f"{TARGETS_KEY}: targets {not_fittable} have fit: true, but the fit can use only "
            f"{list(fittable)}; the others are checked on the fitted model (fit: false)"
        )
    values = {k: float(v) for k, v in initial.as_dict().items()}
    unknown = [name for name in free if name not in values]
    if unknown:
        raise ValueError(
            f"calibration.free: unknown device parameters {unknown}; expected some of {list(values)}"
        )
    if not free:  # calibration disabled: evaluate the configured parameters as they are
        return _result(
            initial,
            [],
            targets,
            conditions,
            protocols,
            True,
            "not fitted: calibration disabled",
            {},
            "not fitted",
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
        obs = _fit_observables(current(p), conditions)
        return (np.array([obs[t["id"]] for t in fit_targets]) - paper) / paper

    result = lmfit.minimize(residual, lm, method="least_squares")
    params = current(result.params)
    stderr_log10, stderr_reason = fit_stderr(result)
    # d(ln p) = ln(10) d(log10 p): the relative standard error of p itself
    stderr = {n: math.log(10) * stderr_log10[f"log10_{n}"] for n in free}
    return _result(
        params,
        list(free),
        targets,
        conditions,
        protocols,
        bool(result.success),
        str(result.message),
        stderr,
        stderr_reason,
        float(result.chisqr),
    )


def calibrate_from_config(config: Mapping, targets: list[dict]) -> CalibrationResult:
    """:func:`calibrate` as the config says: the ``device`` values as the start, the
    ``calibration.free`` parameters fitted within ``calibration.bounds_factor`` (none when
    ``calibration.enabled`` is false), the ``protocols`` the model simulates. ``config`` needs
    only those three sections (a validated config, or the params of rule calibrate_device)."""
    settings = config["calibration"]
    return calibrate(
        dev.CellParams.from_mapping(config["device"]),
        settings["free"] if settings["enabled"] else [],
        targets,
        config["protocols"],
        settings["bounds_factor"],
    )


def _result(
    params, fitted, targets, conditions, protocols, success, message, stderr, stderr_reason, chisqr
) -> CalibrationResult:
    obs = model_observables(params, conditions, protocols)
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
    return CalibrationResult(
        params,
        fitted,
        success,
        message,
        stderr,
        stderr_reason,
        chisqr,
        pd.DataFrame(rows),
        conditions,
    )


def _fit_observables(params: dev.CellParams, conditions: ModelConditions) -> dict[str, float]:
    """The cheap subset of observables used inside the least-squares loop."""
    return {
        "iv_current_0p6V_500ohm": _one(sweep_current(params, conditions.iv_current_0p6V_500ohm)),
        "iv_current_0p6V_8000ohm": _one(sweep_current(params, conditions.iv_current_0p6V_8000ohm)),
        "ppf_A1_7000ohm": _one(pair_peaks(params, conditions.ppf_A1_7000ohm)[:, 0]),
        "ppf_A2_7000ohm": _one(pair_peaks(params, conditions.ppf_A2_7000ohm)[:, 1]),
    }


# ---------------------------------------------------------------- leakage bracket (retention)
LEAKAGE_BOUNDS = ("lower", "nominal", "upper")


def slow_time_constant_s(params: dev.CellParams, resistance_ohm: np.ndarray) -> np.ndarray:
    """The slowest time constant of the undriven cell at each regulating resistance (s): the
    self-discharge of the held PSV once the double layer has relaxed (the τ2 the forgetting fits
    measure). The largest τ of ``C x' = -G x``: 1 / smallest eigenvalue of C^-1/2 G C^-1/2."""
    circuit = dev.current_driven_circuit(params, np.asarray(resistance_ohm, dtype=float))
    scale = 1.0 / np.sqrt(circuit.capacitance_F)
    sym = circuit.conductance_S * scale[..., :, None] * scale[..., None, :]
    return 1.0 / np.linalg.eigvalsh(sym)[..., 0]


def retention_leakage_bracket(
    params: dev.CellParams,
    retention: TrainRetention,
    train: Mapping,
    kept_target: float,
    upper_factor: float,
    state_ohm: Mapping[str, float],
) -> pd.DataFrame:
    """The cell's leakage resistance bracketed by what the paper allows, and each state's
    retention τ across it.

    The paper measures no leakage; it states only that the open state keeps more than
    ``kept_target`` of its PSV ``retention.t_ret_s`` after the train (the ``retention_open_100s``
    target). ``lower`` is the smallest leakage meeting that exactly (Brent's root of kept
    fraction - target in log R_leak on the calibrated model); ``nominal`` is the model's value
    (``device.leakage_resistance_ohm``, not fitted); ``upper`` = ``upper_factor`` x nominal
    (``inference.leakage.upper_factor``: the paper gives no upper limit).

    Returns one row per (bound, state of ``state_ohm``): ``leakage_resistance_ohm``,
    ``kept_fraction`` (the target's quantity at that leakage), ``model_tau_s``
    (:func:`slow_time_constant_s`) and ``tau_scale`` = model_tau_s / its value at the nominal
    leakage (what multiplies a state's fitted τ2 at that bound), with ``status``/``reason``
    (``flagged`` when the nominal leakage itself misses the target).
    """
    from scipy.optimize import brentq

    if not upper_factor >= 1:
        raise ValueError(f"inference.leakage.upper_factor must be >= 1, got {upper_factor}")
    if not 0 < kept_target < 1:
        raise ValueError(f"retention target must be a fraction in (0, 1), got {kept_target}")
    nominal = float(np.asarray(params.leakage_resistance_ohm, dtype=float))

    def with_leakage(ohm: float) -> dev.CellParams:
        return dev.CellParams(**{**params.as_dict(), "leakage_resistance_ohm": ohm})

    def kept(ohm: float) -> float:
        return _one(train_retention(with_leakage(ohm), retention, train))

    def excess(log10_ohm: float) -> float:
        return kept(10.0**log10_ohm) - kept_target

    # kept fraction rises with R_leak: widen the search until it straddles the target
    lo, hi = math.log10(nominal) - 1.0, math.log10(nominal) + 1.0
    for _ in range(12):
        if excess(lo) < 0 < excess(hi):
            break
        lo, hi = lo - 1.0, hi + 1.0
    else:
        raise ValueError(
            f"no leakage within 1e{lo:.0f}-1e{hi:.0f} ohm gives a kept fraction of {kept_target} "
            "(retention_open_100s): the calibrated model cannot meet the retention target"
        )
    lower = 10.0 ** brentq(excess, lo, hi, xtol=1e-12, rtol=1e-14)
    bounds = {"lower": lower, "nominal": nominal, "upper": upper_factor * nominal}
    labels = list(state_ohm)
    ohm = np.array([float(state_ohm[s]) for s in labels])
    tau_nominal = slow_time_constant_s(params, ohm)
    meets = kept(nominal) >= kept_target
    rows = []
    for bound, leak in bounds.items():
        tau = slow_time_constant_s(with_leakage(leak), ohm)
        kept_at = kept(leak)
        for label, r, t, t0 in zip(labels, ohm, tau, tau_nominal, strict=True):
            rows.append(
                {
                    "bound": bound,
                    "resistance_label": label,
                    "resistance_ohm": r,
                    "leakage_resistance_ohm": leak,
                    "kept_fraction": kept_at,
                    "kept_target": kept_target,
                    "model_tau_s": float(t),
                    "tau_scale": float(t / t0),
                    "status": "ok" if meets else "flagged",
                    "reason": ""
                    if meets
                    else f"the nominal leakage keeps {kept(nominal):.3g} < {kept_target}: "
                    "below the paper's retention",
                }
            )
    return pd.DataFrame(rows)
