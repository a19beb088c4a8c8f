"""A trained device network at inference: retention drift, read noise and an output ADC.

**Retention model.** An FMES weight is the PSV the cell holds, read once the fast double-layer
relaxation is over (the LTP/LTD read-out waits until just before the next pulse). The cell
then self-discharges towards 0 V through the regulating resistor and its leakage, which the
forgetting fits of ``results/tables/retention_fits.csv`` measure: the two-exponential fit of
the pulse-train tail has a fast term (τ1, milliseconds: the double layer) and a slow term (τ2:
seconds at 500 Ω, hours in the open state). The held weight therefore relaxes as

    V(t) = V(0) exp(-t / τ2)

with τ2 of its state (:func:`state_inference_params`). In weight units (G_min -> -w_max,
nominal G_max -> +w_max) every weight drifts towards the weight of 0 V when the reference that
each weight is read against is fixed (the convention of :mod:`fmes.synapse`); with
``reference_decays`` (config ``inference.reference: decaying``) the reference is a device of the
same state relaxing alike, and every weight shrinks by the decay factor instead.

**Read noise.** Each read of a device adds Gaussian noise of the state's fitted read noise σ_V
(the LTP/LTD fit's read noise, :mod:`fmes.analysis.ltp_ltd`), σ_w = σ_V 2 w_max / (G_max -
G_min) in weight units. A matrix-vector product reads every device once per input vector, so
the output j of input x receives Σ_i x_i n_ij ~ N(0, σ_w² ||x||²): drawn on the outputs
(exact in distribution, the same shortcut as aihwkit's output noise) instead of 10^5 weight
draws per sample.

**ADC.** With ``adc_bits`` the pre-activations of every layer are quantised by a uniform
mid-tread ADC of 2^bits levels over ±(full scale), full scale = the largest |pre-activation| of
that layer over the evaluated inputs without noise or drift (a per-layer range calibration, as
NeuroSim's ADC models assume a known output range), values beyond it clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = [
    "InferenceDevice",
    "drifted_coefs",
    "evaluate_accuracy",
    "forward_at",
    "inference_sweep",
    "quantise",
    "state_inference_params",
    "time_within_tolerance",
]


@dataclass(frozen=True)
class InferenceDevice:
    """Per-state inference parameters: weight decay constant (s) and read noise (V)."""

    weight_tau_s: float
    read_noise_V: float
    # False: each weight is its device minus a fixed mid-range reference (fmes.synapse), so the
    # decay towards 0 V shifts every weight alike; True: the reference is a device of the same
    # state that relaxes too, and the weights only shrink by the decay factor
    reference_decays: bool = False

    def __post_init__(self) -> None:
        if not (self.weight_tau_s > 0):
            raise ValueError(f"weight_tau_s must be > 0, got {self.weight_tau_s}")
        if not (self.read_noise_V >= 0):
            raise ValueError(f"read_noise_V must be >= 0, got {self.read_noise_V}")


def state_inference_params(
    retention_fits: pd.DataFrame, ltp_ltd_fits: pd.DataFrame, nominal_device: str
) -> pd.DataFrame:
    """Per resistance state: ``weight_tau_s`` (slow τ2 of the pulse-train two-exponential fit),
    ``read_noise_V`` (median LTP/LTD read noise of the reference device) and status/reason.

    A state without a converged pulse-train fit or without an LTP/LTD fit gets NaN with
    ``status = skipped`` and the reason.
    """
    train = retention_fits[retention_fits["protocol"] == "pulse_train"]
    fits = ltp_ltd_fits
    if (fits["device_id"].astype(str) == nominal_device).any():
        fits = fits[fits["device_id"].astype(str) == nominal_device]
    labels = list(
        dict.fromkeys(
            [*train["resistance_label"].astype(str), *fits["resistance_label"].astype(str)]
        )
    )
    rows = []
    for label in labels:
        t = train[train["resistance_label"].astype(str) == label]
        t = t[t["exp2_converged"].astype(str).str.lower() == "true"]
        f = fits[fits["resistance_label"].astype(str) == label]["read_noise_V"].dropna()
        reasons = []
        if t.empty:
            reasons.append("no converged two-exponential fit of the pulse-train forgetting")
        if f.empty:
            reasons.append("no LTP/LTD read noise")
        rows.append(
            {
                "resistance_label": label,
                "weight_tau_s": float(t["exp2_tau2_s"].median()) if len(t) else math.nan,
                "read_noise_V": float(f.median()) if len(f) else math.nan,
                "status": "skipped" if reasons else "ok",
                "reason": "; ".join(reasons),
            }
        )
    return pd.DataFrame(
        rows, columns=["resistance_label", "weight_tau_s", "read_noise_V", "status", "reason"]
    )


def state_inference_device(
    state_params: pd.DataFrame, state: str, *, reference_decays: bool
) -> tuple[InferenceDevice | None, str]:
    """The :class:`InferenceDevice` of ``state`` from :func:`state_inference_params`, or
    ``(None, why)`` when the state has no row or its row is not ``ok`` (the network is then
    evaluated without a retention model)."""
    rows = state_params[state_params["resistance_label"] == state]
    if rows.empty:
        return None, "no row"
    row = rows.iloc[0]
    if row["status"] != "ok":
        return None, row["reason"]
    device = InferenceDevice(
        float(row["weight_tau_s"]), float(row["read_noise_V"]), reference_decays=reference_decays
    )
    return device, ""


def drifted_coefs(net, time_s: float, device: InferenceDevice) -> list[np.ndarray]:
    """The weights of a fitted device network ``time_s`` after training (retention model)."""
    decay = math.exp(-float(time_s) / device.weight_tau_s)
    if device.reference_decays:  # V - V_ref scales by the decay; w = 0 is the reference
        return [
            np.clip(w * decay, syn.lo, syn.hi)
            for syn, w in zip(net.synapses_, net.coefs_, strict=True)
        ]
    out = []
    for syn, w in zip(net.synapses_, net.coefs_, strict=True):
        volts = syn.to_volts(w) * decay
        # back to weight units (inverse of SynapseArray.to_volts), kept within the device bounds
        w_t = (volts - syn.spec.g_min_V) / syn.spec.range_V * (2 * syn.w_max) - syn.w_max
        out.append(np.clip(w_t, syn.lo, syn.hi))
    return out


def quantise(z: np.ndarray, bits: int, full_scale: np.ndarray | float) -> np.ndarray:
    """Uniform mid-tread quantiser of 2^bits levels over ±full_scale (clipped)."""
    if int(bits) < 1:
        raise ValueError(f"adc_bits must be >= 1, got {bits}")
    step = 2.0 * np.asarray(full_scale, float) / (2 ** int(bits) - 1)
    step = np.where(step > 0, step, 1.0)
    fs = np.asarray(full_scale, float)
    return np.clip(np.rint(z / step) * step, -fs, fs)


def _activation(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return expit(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return np.tanh(z)


def forward_at(
    net,
    X: np.ndarray,
    coefs: list[np.ndarray],
    read_noise_w: float = 0.0,
    adc_bits: int | None = None,
    full_scales: list[float] | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, list[float]]:
    """Last-layer pre-activations with read noise and ADC, and per layer the full scale of its
    column outputs (the given ones, or measured here when None). The ADC converts the crossbar
    column outputs; the bias is added after it (digital periphery)."""
    a = X
    measured = []
    last = len(coefs) - 1
    for i, (w, b) in enumerate(zip(coefs, net.intercepts_, strict=True)):
        z = a @ w
        if read_noise_w > 0:
            if rng is None:
                raise ValueError("read noise needs an rng")
            norm = np.linalg.norm(a, axis=1, keepdims=True)
            z += rng.standard_normal(z.shape) * (read_noise_w * norm)
        fs = float(np.max(np.abs(z))) if full_scales is None else full_scales[i]
        measured.append(fs)
        if adc_bits is not None:
            z = quantise(z, adc_bits, fs)
        z += b
        a = z if i == last else _activation(net._activation_name(), z)
    return a, measured


def evaluate_accuracy(
    net,
    X: np.ndarray,
    y: np.ndarray,
    time_s: float = 0.0,
    device: InferenceDevice | None = None,
    read_noise: bool = False,
    adc_bits: int | None = None,
    rng: np.random.Generator | None = None,
) -> float:
    """Accuracy of a fitted network ``time_s`` after training, with optional read noise/ADC.

    ``device`` (needed for drift and read noise) gives the state's retention and read noise; an
    ideal network (``net.device is None``) neither drifts nor has read noise. The ADC full
    scale is calibrated on ``X`` with the trained weights at t = 0, without noise.
    """
    X = np.asarray(X, dtype=np.float64)
    ideal = net.device is None
    if not ideal and device is None and (time_s > 0 or read_noise):
        raise ValueError("drift and read noise need an InferenceDevice for the state")
    full_scales = forward_at(net, X, net.coefs_)[1] if adc_bits is not None else None
    coefs = net.coefs_ if ideal or time_s <= 0 else drifted_coefs(net, time_s, device)
    noise_w = 0.0
    if read_noise and not ideal:
        # the synapses' own half-range: with a shared mapping it differs from net.w_max
        noise_w = device.read_noise_V * 2 * net.synapses_[0].w_max / net.device.range_V
    scores, _ = forward_at(net, X, coefs, noise_w, adc_bits, full_scales, rng)
    predicted = net.classes_[np.argmax(scores, axis=1)]
    return float(np.mean(predicted == np.asarray(y)))


def time_grid_s(first_s: float, last_s: float, n: int) -> np.ndarray:
    """The inference times (``inference.time_grid``): t = 0 (right after training), then ``n``
    log-spaced times from ``first_s`` to ``last_s``."""
    return np.concatenate([[0.0], np.geomspace(first_s, last_s, n)])


def inference_sweep(
    net,
    X: np.ndarray,
    y: np.ndarray,
    times_s: np.ndarray,
    adc_bits: list[int],
    device: InferenceDevice | None,
    read_noise: bool,
    n_draws: int,
    seed: int,
) -> pd.DataFrame:
    """Tidy accuracies of a fitted network: vs time since training (``kind = time``; without
    and, if available, with read noise) and vs output-ADC bits at t = 0 (``kind = adc``;
    ``adc_bits`` NaN = no ADC). Read-noise points average ``n_draws`` seeded draws.

    A device network without ``device`` (no retention/read-noise model for its state) is
    evaluated at t = 0 only, without read noise.
    """
    ideal = net.device is None
    noisy_options = [False, True] if read_noise and device is not None and not ideal else [False]
    if device is None and not ideal:
        times_s = np.array([0.0])
    rng = np.random.default_rng(seed)
    rows = []

    def point(kind: str, t: float, noise: bool, bits: int | None) -> None:
        draws = n_draws if noise else 1
        acc = [evaluate_accuracy(net, X, y, t, device, noise, bits, rng) for _ in range(draws)]
        rows.append(
            {
                "kind": kind,
                "time_s": t,
                "read_noise": noise,
                "adc_bits": np.nan if bits is None else bits,
                "accuracy": float(np.mean(acc)),
                "accuracy_sd": float(np.std(acc, ddof=1)) if draws > 1 else 0.0,
                "n_draws": draws,
            }
        )

    for noise in noisy_options:
        for t in times_s:
            point("time", float(t), noise, None)
    for bits in [*adc_bits, None]:
        point("adc", 0.0, noisy_options[-1], bits)
    return pd.DataFrame(rows)


def accuracy_over_time(inference: pd.DataFrame) -> pd.DataFrame:
    """The ``kind = time`` rows of :func:`inference_sweep` tables of device networks whose
    state has a retention model: runs evaluated at more than one time (a run without a model
    has t = 0 only, and the float baseline ``state = ideal`` never decays)."""
    over_time = inference[(inference["kind"] == "time") & (inference["state"] != "ideal")]
    n_times = over_time.groupby(["net", "state", "seed"])["time_s"].transform("nunique")
    return over_time[n_times > 1]


def accuracy_vs_adc_bits(inference: pd.DataFrame) -> pd.DataFrame:
    """The ``kind = adc`` rows of :func:`inference_sweep` tables (every state, the float
    baseline included): accuracy at t = 0 against the output-ADC resolution."""
    return inference[inference["kind"] == "adc"]


def with_read_noise_if_any(over_time: pd.DataFrame) -> pd.DataFrame:
    """The rows of :func:`accuracy_over_time` that a figure shows: those evaluated with read
    noise when any run was (the realistic read-out), otherwise all of them."""
    noise = over_time["read_noise"]
    return over_time[noise] if noise.any() else over_time


def accuracy_over_seeds(over_time: pd.DataFrame) -> pd.DataFrame:
    """Per (net, state, read_noise, time_s): the mean ``accuracy`` over seeds."""
    return over_time.groupby(["net", "state", "read_noise", "time_s"], as_index=False)[
        "accuracy"
    ].mean()


def adc_accuracy_over_seeds(adc: pd.DataFrame) -> pd.DataFrame:
    """Per (net, state, adc_bits) of :func:`accuracy_vs_adc_bits` rows: ``accuracy_mean`` over
    seeds and its sample std ``accuracy_std`` (0 for a single seed); the row with missing
    ``adc_bits`` (no output ADC) comes last within its state."""
    grouped = adc.groupby(["net", "state", "adc_bits"], sort=True, dropna=False)["accuracy"]
    out = grouped.agg(["mean", "std"]).reset_index()
    return out.rename(columns={"mean": "accuracy_mean", "std": "accuracy_std"}).assign(
        accuracy_std=lambda t: t["accuracy_std"].fillna(0)
    )


def time_within_tolerance(over_time: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Per (net, state, read_noise): the trained accuracy (t = 0, mean over seeds) and the
    longest grid time up to which the seed-mean accuracy stays within ``tolerance`` of it
    (``kept_until_s``; 0 if already the first grid time falls short, the last grid time with
    ``kept_whole_grid`` if it never does)."""
    mean = accuracy_over_seeds(over_time)
    rows = []
    for (net, state, noise), g in mean.groupby(["net", "state", "read_noise"], sort=False):
        g = g.sort_values("time_s")
        trained = float(g["accuracy"].iloc[0])
        ok = (g["accuracy"] >= trained - tolerance).to_numpy()
        lost = np.flatnonzero(~ok)
        kept_until = (
            float(g["time_s"].iloc[lost[0] - 1]) if lost.size else float(g["time_s"].iloc[-1])
        )
        rows.append(
            {
                "net": net,
                "state": state,
                "read_noise": noise,
                "trained_accuracy": trained,
                "kept_until_s": kept_until,
                "kept_whole_grid": not lost.size,
                "first_lost_s": float(g["time_s"].iloc[lost[0]]) if lost.size else np.nan,
                "accuracy_at_last_s": float(g["accuracy"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)
