"""A trained device network at inference: retention drift, read noise and an output ADC.

**Retention model.** An FMES weight is the PSV the cell holds, read once the fast double-layer
relaxation is over (the LTP/LTD read-out waits until just before the next pulse). The cell
then self-discharges towards 0 V through the regulating resistor and its leakage, which the
forgetting fits of ``results/tables/retention_fits.csv`` measure: the two-exponential fit of
the pulse-train tail has a fast term (τ1, milliseconds: the double layer) and a slow term (τ2:
seconds at 500 Ω, hours in the open state). The held weight therefore relaxes as

    V(t) = V(0) exp(-t / τ2)

with τ2 of its state (:func:`state_inference_params`). How a weight reads that decay depends
on what it is read against (``inference.reference``, :meth:`fmes.device.synapse.SynapseArray.relax`):

* ``differential`` (default): two devices per weight, the weight their difference (Burr et al.
  2015/2017; aihwkit's ``OneSided``/differential device pairs): both relax towards 0 V alike,
  so the weight shrinks by the decay factor towards 0, and each read sees both devices' read
  noise (σ x √2);
* ``decaying``: the device minus a reference device of the same state that relaxes alike (the
  weight shrinks likewise; the reference's read noise is not modelled);
* ``fixed`` (worst case): the device minus a held mid-range reference (the single-device
  convention of :mod:`fmes.device.synapse` and NeuroSim's fixed reference column): every weight drifts
  towards the weight of 0 V.

**Leakage bracket.** τ2 of the open state is set by the cell's leakage resistance, which the
paper does not measure; it allows any leakage keeping >= 0.9 of the PSV 100 s after the train
(:func:`fmes.device.calibration.retention_leakage_bracket`). Each state's τ2 is therefore also given at
the lower and upper leakage of that bracket (the fitted τ2 x the model's ratio of slow time
constants), and every accuracy-over-time point is evaluated at the three (``leakage_bound``).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit

from fmes.core.status import Status
from fmes.device.synapse import WEIGHT_REFERENCES

__all__ = [
    "InferenceDevice",
    "drifted_coefs",
    "evaluate_accuracy",
    "forward_at",
    "inference_sweep",
    "leakage_band_tau_s",
    "quantise",
    "state_inference_device",
    "state_inference_params",
    "weight_read_noise",
    "time_within_tolerance",
]


@dataclass(frozen=True)
class InferenceDevice:
    """Per-state inference parameters: weight decay constant (s), read noise (V) and the
    reference each weight is read against (:data:`fmes.device.synapse.WEIGHT_REFERENCES`)."""

    weight_tau_s: float
    read_noise_V: float
    reference: str = "differential"

    def __post_init__(self) -> None:
        if self.reference not in WEIGHT_REFERENCES:
            raise ValueError(
                f"inference.reference must be one of {WEIGHT_REFERENCES}, got {self.reference!r}"
            )
        if not (self.weight_tau_s > 0):
            raise ValueError(f"weight_tau_s must be > 0, got {self.weight_tau_s}")
        if not (self.read_noise_V >= 0):
            raise ValueError(f"read_noise_V must be >= 0, got {self.read_noise_V}")


def _without_placeholders(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table`` without ``skipped`` placeholder rows, with ``columns`` present (NaN where a
    skipped analysis wrote none), so a run without those traces reads as "no fit"."""
    if "status" in table.columns:
        table = table[table["status"].astype(str) != Status.SKIPPED.value]
    return table.reindex(columns=list(dict.fromkeys([*table.columns, *columns])))


def state_inference_params(
    retention_fits: pd.DataFrame,
    ltp_ltd_fits: pd.DataFrame,
    nominal_device: str,
    bracket: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per resistance state: ``weight_tau_s`` (slow τ2 of the pulse-train two-exponential fit),
    ``read_noise_V`` (median LTP/LTD read noise of the reference device) and status/reason;
    with the leakage ``bracket`` (:func:`fmes.device.calibration.retention_leakage_bracket`) also
    ``weight_tau_lower_s``/``weight_tau_upper_s``, τ2 x the bracket's ``tau_scale`` at its lower
    and upper leakage (NaN for a state the bracket has no row of, or without one).

    A state without a converged pulse-train fit or without an LTP/LTD fit gets NaN with
    ``status = skipped`` and the reason.
    """
    train = _without_placeholders(
        retention_fits, ["protocol", "resistance_label", "exp2_converged", "exp2_tau2_s"]
    )
    train = train[train["protocol"] == "pulse_train"]
    fits = _without_placeholders(ltp_ltd_fits, ["device_id", "resistance_label", "read_noise_V"])
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
    out = pd.DataFrame(
        rows, columns=["resistance_label", "weight_tau_s", "read_noise_V", "status", "reason"]
    )
    for bound in ("lower", "upper"):
        scale = {}
        if bracket is not None:
            b = bracket[bracket["bound"] == bound]
            scale = dict(zip(b["resistance_label"].astype(str), b["tau_scale"], strict=True))
        factor = out["resistance_label"].map(scale).astype(float)
        out.insert(2, f"weight_tau_{bound}_s", out["weight_tau_s"] * factor)
    return out[
        [
            "resistance_label",
            "weight_tau_s",
            "weight_tau_lower_s",
            "weight_tau_upper_s",
            "read_noise_V",
            "status",
            "reason",
        ]
    ]


def state_inference_device(
    state_params: pd.DataFrame, state: str, *, reference: str
) -> tuple[InferenceDevice | None, str]:
    """The :class:`InferenceDevice` of ``state`` from :func:`state_inference_params` (at the
    nominal leakage), or ``(None, why)`` when the state has no row or its row is not ``ok``
    (the network is then evaluated without a retention model)."""
    rows = state_params[state_params["resistance_label"] == state]
    if rows.empty:
        return None, "no row"
    row = rows.iloc[0]
    if row["status"] != "ok":
        return None, row["reason"]
    device = InferenceDevice(
        float(row["weight_tau_s"]), float(row["read_noise_V"]), reference=reference
    )
    return device, ""


def leakage_band_tau_s(state_params: pd.DataFrame, state: str) -> dict[str, float]:
    """τ2 of ``state`` at each bound of the leakage bracket that it has (``lower``,
    ``nominal``, ``upper``; a bound without a finite τ is left out)."""
    rows = state_params[state_params["resistance_label"] == state]
    if rows.empty:
        return {}
    row = rows.iloc[0]
    taus = {
        "lower": row.get("weight_tau_lower_s", math.nan),
        "nominal": row["weight_tau_s"],
        "upper": row.get("weight_tau_upper_s", math.nan),
    }
    return {bound: float(t) for bound, t in taus.items() if np.isfinite(t) and t > 0}


def drifted_coefs(net, time_s: float, device: InferenceDevice) -> list[np.ndarray]:
    """The weights of a fitted device network ``time_s`` after training (retention model,
    read against ``device.reference``: :meth:`fmes.device.synapse.SynapseArray.relax`)."""
    decay = math.exp(-float(time_s) / device.weight_tau_s)
    return [
        syn.relax(w, decay, device.reference)
        for syn, w in zip(net.synapses_, net.coefs_, strict=True)
    ]


def weight_read_noise(net, device: InferenceDevice) -> float:
    """σ of one weight read in weight units: the state's read noise σ_V x 2 w_max / range,
    x √2 for a differential pair (two devices read per weight)."""
    # the synapses' own half-range: with a shared mapping it differs from net.w_max
    sigma = device.read_noise_V * 2 * net.synapses_[0].w_max / net.device.range_V
    return sigma * math.sqrt(2.0) if device.reference == "differential" else sigma


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
    noise_w = weight_read_noise(net, device) if read_noise and not ideal else 0.0
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
    band_tau_s: Mapping[str, float] | None = None,
    references: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Tidy accuracies of a fitted network: vs time since training (``kind = time``; without
    and, if available, with read noise) and vs output-ADC bits at t = 0 (``kind = adc``;
    ``adc_bits`` NaN = no ADC). Read-noise points average ``n_draws`` seeded draws.

    The time rows are evaluated for each weight reference of ``references`` (default: the
    device's own; ``reference`` column) at each bound of ``band_tau_s`` (τ2 per leakage bound,
    :func:`leakage_band_tau_s`; default: the device's τ2 as ``nominal``; ``leakage_bound``
    column). The ADC rows (t = 0) use the first reference at the nominal bound.

    A device network without ``device`` (no retention/read-noise model for its state) is
    evaluated at t = 0 only, without read noise.
    """
    ideal = net.device is None
    noisy_options = [False, True] if read_noise and device is not None and not ideal else [False]
    if device is None and not ideal:
        times_s = np.array([0.0])
    references = list(references or ([device.reference] if device is not None else ["none"]))
    if device is None:
        variants = {(references[0], "nominal"): None}
    else:
        band = dict(band_tau_s or {"nominal": device.weight_tau_s})
        if "nominal" not in band:
            raise ValueError(f"band_tau_s needs a 'nominal' bound, got {sorted(band)}")
        variants = {
            (ref, bound): replace(device, weight_tau_s=tau, reference=ref)
            for ref in references
            for bound, tau in band.items()
        }
    rows = []

    def point(kind: str, t: float, noise: bool, bits: int | None, key: tuple[str, str]) -> None:
        draws = n_draws if noise else 1
        dev = variants[key]
        acc = [evaluate_accuracy(net, X, y, t, dev, noise, bits, rng) for _ in range(draws)]
        rows.append(
            {
                "kind": kind,
                "time_s": t,
                "read_noise": noise,
                "reference": key[0],
                "leakage_bound": key[1],
                "adc_bits": np.nan if bits is None else bits,
                "accuracy": float(np.mean(acc)),
                "accuracy_sd": float(np.std(acc, ddof=1)) if draws > 1 else 0.0,
                "n_draws": draws,
            }
        )

    for key in variants:
        # the same read-noise draws for every reference and leakage bound (common random
        # numbers): the band and the reference comparison show their own effect, not the draws'
        rng = np.random.default_rng(seed)
        for noise in noisy_options:
            for t in times_s:
                point("time", float(t), noise, None, key)
    rng = np.random.default_rng(seed)
    for bits in [*adc_bits, None]:
        point("adc", 0.0, noisy_options[-1], bits, (references[0], "nominal"))
    return pd.DataFrame(rows)


def accuracy_over_time(inference: pd.DataFrame) -> pd.DataFrame:
    """The ``kind = time`` rows of :func:`inference_sweep` tables of device networks whose
    state has a retention model: runs evaluated at more than one time (a run without a model
    has t = 0 only, and the float baseline ``state = ideal`` never decays)."""
    over_time = inference[(inference["kind"] == "time") & (inference["state"] != "ideal")]
    n_times = over_time.groupby(["net", "state", "seed"])["time_s"].transform("nunique")
    return over_time[n_times > 1]


# what identifies one accuracy-over-time curve (over seeds)
CURVE_KEYS = ["net", "state", "read_noise", "reference", "leakage_bound"]


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
    """Per (net, state, read_noise, reference, leakage_bound, time_s): the mean ``accuracy``
    over seeds."""
    return over_time.groupby([*CURVE_KEYS, "time_s"], as_index=False, sort=False)["accuracy"].mean()


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
    """Per (net, state, read_noise, reference): the trained accuracy (t = 0, mean over seeds)
    and the longest grid time up to which the seed-mean accuracy stays within ``tolerance`` of
    it (``kept_until_s``; 0 if already the first grid time falls short, the last grid time with
    ``kept_whole_grid`` if it never does), at the nominal leakage, with its band
    ``kept_until_lower_s``/``kept_until_upper_s`` (and ``accuracy_at_last_*``) at the lower and
    upper leakage of the bracket (NaN where a run has no such bound)."""
    mean = accuracy_over_seeds(over_time)
    rows = []
    for keys, g in mean.groupby(CURVE_KEYS, sort=False):
        g = g.sort_values("time_s")
        trained = float(g["accuracy"].iloc[0])
        ok = (g["accuracy"] >= trained - tolerance).to_numpy()
        lost = np.flatnonzero(~ok)
        kept_until = (
            float(g["time_s"].iloc[lost[0] - 1]) if lost.size else float(g["time_s"].iloc[-1])
        )
        rows.append(
            {
                **dict(zip(CURVE_KEYS, keys, strict=True)),
                "trained_accuracy": trained,
                "kept_until_s": kept_until,
                "kept_whole_grid": not lost.size,
                "first_lost_s": float(g["time_s"].iloc[lost[0]]) if lost.size else np.nan,
                "accuracy_at_last_s": float(g["accuracy"].iloc[-1]),
            }
        )
    long = pd.DataFrame(rows)
    keys = ["net", "state", "read_noise", "reference"]
    out = long[long["leakage_bound"] == "nominal"].drop(columns="leakage_bound")
    for bound in ("lower", "upper"):
        other = long[long["leakage_bound"] == bound][
            [*keys, "kept_until_s", "accuracy_at_last_s"]
        ].rename(
            columns={
                "kept_until_s": f"kept_until_{bound}_s",
                "accuracy_at_last_s": f"accuracy_at_last_{bound}",
            }
        )
        out = out.merge(other, on=keys, how="left")
    return out.reset_index(drop=True)
