"""Adaptive re-purposing of a trained FMES network by resistance mapping (Fig 5).

A 784 -> K single-layer network is trained on dataset1 (digits {8, 6, 2, 4} by default) with every
synapse in the open state. It is then re-purposed to dataset2 ({9, 5, 7, 1}; output k is read as
the k-th digit of dataset2) **without any gradient and without changing the pulse**: images of
dataset2 are "mapped" onto the synapses by turning each pixel into a regulating resistance.

The paper's Supplementary Note 7 (the exact procedure) is not available, so the scheme below is
designed from the main text (Fig 2a, 3f-i, 5d and the "Adaptive handwritten digit recognition
simulation" section) and every choice is a config knob.

Scheme (one mapped image x of dataset2 with label k)
----------------------------------------------------
1. **Pixel -> resistance.** Pixel x_p in [0, 1] gives u = x_p ** gamma and a regulating resistance
   that is log-linear in the *effective* parallel resistance R_eff = R || R_leak between the two
   bounds: log R_eff(u) = (1 - u) log R_eff(r_dark) + u log R_eff(r_bright). R_leak is the cell's
   self-discharge (leakage) resistance, so the open state sits at R_eff = R_leak, a finite point on
   the same axis (the circuit is linear in 1/R: an open resistor adds no conductance). Bright
   pixels -> high R / open (slow forgetting, high asymptote: a large weight increase); dark pixels
   -> low R (fast discharge toward a low asymptote: the stored weight decays).
2. **Device behaviour at that resistance** comes from ``device_params.csv`` alone: g_min, g_max
   and N are interpolated linearly, A_P and A_D (and the c2c/d2d spreads) in log, all against
   log R_eff between the fitted states; outside the fitted range the nearest state is used (no
   extrapolation). The circuit model is not re-simulated.
3. **The same fixed pulse everywhere.** Every synapse of output row k receives the same
   ``pulses_per_image`` identical potentiating pulses (the +1 mA LTP pulse of the fitted
   protocol). Each synapse then does what the fitted device does at its resistance: its PSV
   relaxes toward that state's LTP asymptote, v <- a_P(R) + (v - a_P(R)) e^{-n/A_P(R)} (the
   NeuroSim curve, see :mod:`fmes.device.synapse`). Because the asymptote of a low-R state lies below the
   old weights, dark pixels *forget* the dataset1 pattern through the device physics alone
   (charge drained by the parallel resistor); bright pixels are potentiated toward the open-state
   ceiling. Cycle-to-cycle noise (sigma x sqrt(n) per image) and a per-device log-normal spread
   of A are included when ``variability`` is on.
4. **Other rows.** In a crossbar, pixel p drives input line p, so its resistance applies to the
   synapse (p, j) of every output row j; the output driver only chooses the pulse sign. By
   default (``other_rows_ltd_pulses: 1``) every other row j != k receives that many identical
   *depressing* pulses (-1 mA, same amplitude and width) at the same pixel resistances, relaxing
   toward each state's LTD asymptote with e^{-m/A_D(R)}: class k's bright pixels are pushed down
   on the competing rows (a competitive, still gradient-free update). With 0 the other rows are
   not addressed and hold their state (open-state retention is long, Fig 3g).
5. Biases (peripheral circuit, floating point) are left as trained.

Design notes. The update of a synapse is a clipped affine map v <- clip(f v + (1 - f) a + e,
lo, hi) with f = e^{-n/A(R)} in (0, 1]. Such maps compose into maps of the same form, so a
whole sequence of mapped images is evaluated with a prefix scan (log2 T whole-array steps): no
Python loop over pixels or samples, yet exactly image by image. The bounds [lo, hi] are the
device's measured PSV window (lowest g_min to highest g_max over the fitted states, i.e. the
open state's range at the top), the same kind of hard bound the training uses
(:mod:`fmes.device.synapse` clips to [g_min, g_max]). The per-state g_max is *not* used as a bound:
it is only where that state's N-pulse curve ended, and a low-R bound would wipe a synapse in
one pulse; the low-R state instead pulls the state down at its fitted rate toward its
asymptote. The open state's fitted curve is nearly linear (its asymptote lies far above g_max),
so bright pixels climb by a near-constant step until the window's top.

Baselines on the same images: (a) ``finetune``: ideal floating-point SGD on softmax cross-entropy
from the trained weights; (b) ``ideal_linear``: the same pixel -> resistance mapping with ideal
linear (state-independent, unbounded) weights: each image adds the device's step evaluated at
the mid-window state, (a(R) - v_mid)(1 - f), whatever the present state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import softmax

from fmes.core.rng import child_rng
from fmes.core.status import join_reasons, worst
from fmes.data.traces import parse_resistance
from fmes.device.synapse import DeviceSpec, nonlinear_asymptotes
from fmes.networks.estimators import DevicePerceptron
from fmes.workflow.config import check_digit_sets

METHODS: tuple[str, ...] = ("device", "ideal_linear", "finetune")


# (the digit-set check, check_digit_sets, lives in fmes.workflow.config: the workflow calls it at DAG build)


def select_digits(
    X: np.ndarray, y: np.ndarray, digits: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of X whose label is in ``digits``; labels become positions in ``digits`` (0..K-1)."""
    digits = np.asarray(digits, dtype=np.int64)
    lookup = np.full(10, -1, dtype=np.int64)
    lookup[digits] = np.arange(len(digits))
    keep = lookup[np.asarray(y, dtype=np.int64)] >= 0
    return np.ascontiguousarray(X[keep]), lookup[np.asarray(y)[keep]]


# --- per-resistance device behaviour ---------------------------------------------------------
def effective_resistance_ohm(
    resistance_ohm: np.ndarray | float, leakage_resistance_ohm: float
) -> np.ndarray:
    """R || R_leak (ohm); the open state (inf) gives R_leak."""
    r = np.asarray(resistance_ohm, dtype=np.float64)
    with np.errstate(divide="ignore"):
        conductance_S = np.where(np.isinf(r), 0.0, 1.0 / r) + 1.0 / leakage_resistance_ohm
    return 1.0 / conductance_S


def regulating_resistance_ohm(
    effective_ohm: np.ndarray | float, leakage_resistance_ohm: float
) -> np.ndarray:
    """Inverse of :func:`effective_resistance_ohm` (inf where R_eff reaches R_leak)."""
    g = 1.0 / np.asarray(effective_ohm, dtype=np.float64) - 1.0 / leakage_resistance_ohm
    with np.errstate(divide="ignore"):
        return np.where(g <= 1e-15 / leakage_resistance_ohm, math.inf, 1.0 / np.maximum(g, 1e-300))


@dataclass(frozen=True)
class DeviceInterpolator:
    """Fitted device parameters as functions of the effective resistance (log R_eff axis)."""

    log_r_eff: np.ndarray  # ascending, one entry per fitted state
    g_min_V: np.ndarray
    g_max_V: np.ndarray
    n_pulses: np.ndarray
    log_a_p: np.ndarray
    log_a_d: np.ndarray
    c2c_sigma_frac: np.ndarray
    d2d_a_cv: np.ndarray
    leakage_resistance_ohm: float
    labels: tuple[str, ...] = field(default=())

    @classmethod
    def from_table(cls, table: pd.DataFrame, leakage_resistance_ohm: float) -> DeviceInterpolator:
        """Build from ``device_params.csv`` rows (docs/interfaces.md columns)."""
        if not leakage_resistance_ohm > 0:
            raise ValueError(
                f"adaptation.leakage_resistance_ohm must be > 0, got {leakage_resistance_ohm}"
            )
        if len(table) == 0:
            raise ValueError("device_params table has no rows")
        specs = [DeviceSpec.from_row(row) for _, row in table.iterrows()]
        r = np.array(
            [
                s.resistance_ohm if s.resistance_ohm is not None else parse_resistance(s.label)
                for s in specs
            ]
        )
        log_r = np.log(effective_resistance_ohm(r, leakage_resistance_ohm))
        order = np.argsort(log_r, kind="stable")
        if np.any(np.diff(log_r[order]) <= 0):
            raise ValueError("device_params: two states share one resistance")

        def col(attr: str) -> np.ndarray:
            return np.array([float(getattr(specs[i], attr)) for i in order])

        return cls(
            log_r_eff=log_r[order],
            g_min_V=col("g_min_V"),
            g_max_V=col("g_max_V"),
            n_pulses=col("n_pulses"),
            log_a_p=np.log(col("a_p_pulses")),
            log_a_d=np.log(col("a_d_pulses")),
            c2c_sigma_frac=col("c2c_sigma_frac"),
            d2d_a_cv=col("d2d_a_cv"),
            leakage_resistance_ohm=float(leakage_resistance_ohm),
            labels=tuple(specs[i].label for i in order),
        )

    def at(self, r_eff_ohm: np.ndarray) -> dict[str, np.ndarray]:
        """Interpolated parameters (arrays shaped like ``r_eff_ohm``) and both asymptotes."""
        x = np.log(np.asarray(r_eff_ohm, dtype=np.float64))

        def interp(values: np.ndarray) -> np.ndarray:
            return np.interp(x, self.log_r_eff, values)  # clamps outside the fitted range

        out = {
            "g_min_V": interp(self.g_min_V),
            "g_max_V": interp(self.g_max_V),
            "n_pulses": interp(self.n_pulses),
            "a_p_pulses": np.exp(interp(self.log_a_p)),
            "a_d_pulses": np.exp(interp(self.log_a_d)),
            "c2c_sigma_frac": interp(self.c2c_sigma_frac),
            "d2d_a_cv": np.exp(interp(np.log(np.maximum(self.d2d_a_cv, 1e-300)))),
        }
        # nonlinear_asymptotes broadcasts over a per-element N as well
        out["ltp_asym_V"], out["ltd_asym_V"] = nonlinear_asymptotes(
            out["g_min_V"], out["g_max_V"], out["a_p_pulses"], out["a_d_pulses"], out["n_pulses"]
        )
        return out

    def window_V(self, extra: np.ndarray | None = None) -> tuple[float, float]:
        """The device's measured PSV window: lowest g_min to highest g_max over the fitted states
        (widened to include ``extra`` states, e.g. the trained weights)."""
        values = [self.g_min_V, self.g_max_V]
        if extra is not None:
            values.append(np.ravel(extra))
        allv = np.concatenate([np.ravel(v) for v in values])
        return float(allv.min()), float(allv.max())


# --- the mapping scheme ----------------------------------------------------------------------
@dataclass(frozen=True)
class MappingScheme:
    """Knobs of the pixel -> resistance mapping (config ``adaptation.mapping``)."""

    r_dark_ohm: float = 500.0  # resistance of a black pixel (x = 0)
    r_bright_ohm: float = math.inf  # resistance of a white pixel (x = 1); inf = open
    gamma: float = 1.0  # u = x ** gamma before the log-R_eff interpolation
    pulses_per_image: int = 2  # identical LTP pulses on the mapped row per image
    other_rows_ltd_pulses: int = 1  # identical LTD pulses on the other rows (0 = they hold)
    variability: bool = True  # cycle-to-cycle noise and device-to-device spread of A
    # passive discharge: pixels <= dark_threshold get no pulse (on any row) and relax through
    # their low resistance for the image's pulse slots instead (fmes.networks.adaptation_energy counts
    # only the pulses of the brighter pixels)
    passive_dark: bool = False
    dark_threshold: float = 0.0

    def __post_init__(self) -> None:
        key = "adaptation.mapping"
        if not self.r_dark_ohm > 0:
            raise ValueError(f"{key}.r_dark_ohm must be > 0, got {self.r_dark_ohm}")
        if not self.r_bright_ohm > self.r_dark_ohm:
            raise ValueError(
                f"{key}.r_bright must exceed {key}.r_dark_ohm (the map is monotone: bright pixel "
                f"-> higher resistance); got {self.r_bright_ohm} <= {self.r_dark_ohm}"
            )
        if not self.gamma > 0:
            raise ValueError(f"{key}.gamma must be > 0, got {self.gamma}")
        if int(self.pulses_per_image) < 1:
            raise ValueError(f"{key}.pulses_per_image must be >= 1, got {self.pulses_per_image}")
        if int(self.other_rows_ltd_pulses) < 0:
            raise ValueError(
                f"{key}.other_rows_ltd_pulses must be >= 0, got {self.other_rows_ltd_pulses}"
            )
        if not 0.0 <= self.dark_threshold < 1.0:
            raise ValueError(f"{key}.dark_threshold must be in [0, 1), got {self.dark_threshold}")

    @property
    def pulse_slots(self) -> int:
        """Pulse periods one mapped image takes (the mapped row and the other rows at once)."""
        return max(int(self.pulses_per_image), int(self.other_rows_ltd_pulses))

    def pulsed(self, pixels: np.ndarray) -> np.ndarray:
        """Which pixels receive pulses (all, unless ``passive_dark`` leaves the dark ones)."""
        pixels = np.asarray(pixels)
        if not self.passive_dark:
            return np.ones(pixels.shape, dtype=bool)
        return pixels > self.dark_threshold

    @classmethod
    def from_config(cls, mapping: dict) -> MappingScheme:
        """From the validated ``adaptation.mapping`` config section (``r_bright`` may be
        "open"); the defaults live in config/config.yaml and its schema."""
        return cls(
            r_dark_ohm=parse_resistance(mapping["r_dark_ohm"]),
            r_bright_ohm=parse_resistance(mapping["r_bright"]),
            gamma=float(mapping["gamma"]),
            pulses_per_image=int(mapping["pulses_per_image"]),
            other_rows_ltd_pulses=int(mapping["other_rows_ltd_pulses"]),
            variability=bool(mapping["variability"]),
            passive_dark=bool(mapping["passive_dark"]),
            dark_threshold=float(mapping["dark_threshold"]),
        )


def pixel_to_effective_resistance_ohm(
    pixels: np.ndarray, scheme: MappingScheme, leakage_resistance_ohm: float
) -> np.ndarray:
    """Monotone pixel (0..1) -> effective resistance R || R_leak (ohm), log-linear in u = x^gamma."""
    lo, hi = np.log(
        effective_resistance_ohm([scheme.r_dark_ohm, scheme.r_bright_ohm], leakage_resistance_ohm)
    )
    u = np.clip(np.asarray(pixels, dtype=np.float64), 0.0, 1.0) ** scheme.gamma
    return np.exp(lo + u * (hi - lo))


def pixel_to_resistance_ohm(
    pixels: np.ndarray, scheme: MappingScheme, leakage_resistance_ohm: float
) -> np.ndarray:
    """The regulating resistance (ohm, inf = open) each pixel is mapped to."""
    r_eff = pixel_to_effective_resistance_ohm(pixels, scheme, leakage_resistance_ohm)
    return regulating_resistance_ohm(r_eff, leakage_resistance_ohm)


def mapping_order(
    labels: np.ndarray, n_classes: int, n_max: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of up to ``n_max`` images, classes interleaved (0, 1, .., K-1, 0, ..), shuffled
    within each class: every prefix is class-balanced, so a larger image count extends a smaller
    one ("continuous mapping"). Stops early if a class runs out."""
    labels = np.asarray(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == k)) for k in range(n_classes)]
    depth = min(min(len(p) for p in per_class), -(-int(n_max) // n_classes))
    grid = np.stack([p[:depth] for p in per_class], axis=1)  # (depth, K): round-robin order
    return grid.reshape(-1)[: int(n_max)]


def _affine_steps(
    state_shape: tuple[int, int],
    X_seq: np.ndarray,
    y_seq: np.ndarray,
    scheme: MappingScheme,
    device: DeviceInterpolator,
    rng: np.random.Generator,
    d2d_z: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per image t, row k, pixel p: factor f, asymptote a and additive noise e of the update
    v <- f v + (1 - f) a + e (each shaped (T, K, P))."""
    n_classes = state_shape[0]
    T = len(y_seq)
    r_eff = pixel_to_effective_resistance_ohm(X_seq, scheme, device.leakage_resistance_ohm)
    par = device.at(r_eff)  # each (T, P)
    own = np.zeros((T, n_classes, 1), dtype=bool)
    own[np.arange(T), y_seq, 0] = True
    a_p, a_d = par["a_p_pulses"][:, None, :], par["a_d_pulses"][:, None, :]
    if scheme.variability and d2d_z is not None:
        # one standard-normal draw per device (K, P), log-normal mean-1 factor with the state's CV
        s = np.sqrt(np.log1p(par["d2d_a_cv"] ** 2))[:, None, :]
        a_p = a_p * np.exp(s * d2d_z - 0.5 * s * s)
        a_d = a_d * np.exp(s * d2d_z - 0.5 * s * s)
    n_ltp, n_ltd = int(scheme.pulses_per_image), int(scheme.other_rows_ltd_pulses)
    log_f = np.where(own, -n_ltp / a_p, -n_ltd / a_d)  # n_ltd = 0 -> f = 1: the row holds
    ltp_asym, ltd_asym = par["ltp_asym_V"][:, None, :], par["ltd_asym_V"][:, None, :]
    target = np.where(own, ltp_asym, ltd_asym)
    n_applied = np.where(own, n_ltp, n_ltd)
    if scheme.passive_dark:
        # A dark pixel's synapses get no pulse and relax through R || R_leak for the image's
        # pulse slots. In the linear-cell reading of the fitted pair (dv/dn = +-q/C - v T/tau)
        # the LTP and LTD asymptotes sit symmetrically about the undriven rest and both relax
        # at the discharge rate T/tau: no drive -> their midpoint, at the mean of both rates.
        dark = ~scheme.pulsed(X_seq)[:, None, :]
        rate = 0.5 * (1.0 / a_p + 1.0 / a_d)
        log_f = np.where(dark, -scheme.pulse_slots * rate, log_f)
        target = np.where(dark, 0.5 * (ltp_asym + ltd_asym), target)
        n_applied = np.where(dark, 0, n_applied)
    noise = np.zeros_like(log_f)
    if scheme.variability:
        sigma_V = (par["c2c_sigma_frac"] * (par["g_max_V"] - par["g_min_V"]))[:, None, :]
        noise = rng.standard_normal(log_f.shape) * sigma_V * np.sqrt(n_applied)
    return log_f, target, noise


def _prefix_clipped_affine(
    alpha: np.ndarray, beta: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inclusive prefix composition of the maps v -> clip(alpha_t v + beta_t, lo_t, hi_t).

    The family is closed under composition when alpha >= 0 (a non-decreasing affine map commutes
    with clipping: a clip(x, L, H) + b = clip(a x + b, a L + b, a H + b)), so a Hillis-Steele scan
    gives every prefix in log2(T) whole-array steps: no Python loop over images.
    """
    alpha, beta, lo, hi = (np.array(x, dtype=np.float64, copy=True) for x in (alpha, beta, lo, hi))
    step = 1
    while step < alpha.shape[0]:
        a1, b1, l1, h1 = alpha[:-step], beta[:-step], lo[:-step], hi[:-step]  # earlier maps
        a2, b2, l2, h2 = alpha[step:], beta[step:], lo[step:], hi[step:]  # later maps
        new_lo = np.clip(a2 * l1 + b2, l2, h2)
        new_hi = np.clip(a2 * h1 + b2, l2, h2)
        new_beta = a2 * b1 + b2
        new_alpha = a2 * a1
        alpha[step:], beta[step:], lo[step:], hi[step:] = new_alpha, new_beta, new_lo, new_hi
        step *= 2
    return alpha, beta, lo, hi


def compose_updates(
    state0: np.ndarray,
    log_f: np.ndarray,
    target: np.ndarray,
    noise: np.ndarray,
    n_grid: Sequence[int],
    bounds: tuple[float, float] | None = None,
    linear_at: float | None = None,
) -> np.ndarray:
    """States after the first n updates, for each n of ``n_grid`` (shape (len(grid), *state)).

    Update t: v <- clip(f_t v + (1 - f_t) a_t + e_t, *bounds) with f_t = e^{log_f_t}. With
    ``bounds=None`` the unclipped closed form v_n = (prod f) v_0 + sum_t [(1 - f_t) a_t + e_t]
    prod_{u>t} f_u is used (reverse cumulative sums of log f: only exponents <= 0); with bounds,
    a prefix scan of clipped affine maps (exact, per image, as NeuroSim clips per update).
    ``linear_at = v_mid`` gives the ideal linear synapse instead (state-independent, unbounded):
    v_n = v_0 + sum_t (1 - f_t)(a_t - v_mid).
    """
    out = np.empty((len(n_grid), *state0.shape))
    n_max = max(int(n) for n in n_grid)
    gain = -np.expm1(log_f[:n_max])  # 1 - f, accurate for small steps
    if bounds is not None and linear_at is None and n_max > 0:
        lo = np.broadcast_to(np.float64(bounds[0]), gain.shape)
        hi = np.broadcast_to(np.float64(bounds[1]), gain.shape)
        alpha, beta, low, high = _prefix_clipped_affine(
            np.exp(log_f[:n_max]), gain * target[:n_max] + noise[:n_max], lo, hi
        )
    for i, n in enumerate(n_grid):  # loop over the image-count grid only
        n = int(n)
        if n == 0:
            out[i] = state0
        elif linear_at is not None:
            out[i] = state0 + (gain[:n] * (target[:n] - linear_at)).sum(axis=0)
        elif bounds is not None:
            out[i] = np.clip(alpha[n - 1] * state0 + beta[n - 1], low[n - 1], high[n - 1])
        else:
            lf = log_f[:n]
            suffix = np.cumsum(lf[::-1], axis=0)[::-1]  # L_t = sum_{u>=t} log f_u
            after = suffix - lf  # sum_{u>t} log f_u
            step = gain[:n] * target[:n] + noise[:n]
            out[i] = np.exp(suffix[0]) * state0 + (step * np.exp(after)).sum(axis=0)
    return out


# --- network helpers -------------------------------------------------------------------------
def weights_to_volts(coef_w: np.ndarray, spec: DeviceSpec, w_max: float) -> np.ndarray:
    """Weight units -> PSV (V) with the trained network's read-out: [-w_max, w_max] ->
    [g_min, g_max] of the training state (as :meth:`fmes.device.synapse.SynapseArray.to_volts`)."""
    return spec.g_min_V + (np.asarray(coef_w) + w_max) / (2 * w_max) * spec.range_V


def predict_proba(X: np.ndarray, coef_w: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """Softmax outputs of the single-layer network, coef_w shaped (n_features, K)."""
    return softmax(X @ coef_w + intercept, axis=1)


def accuracy(X: np.ndarray, y: np.ndarray, coef_w: np.ndarray, intercept: np.ndarray) -> float:
    """Fraction of samples whose most probable output is their label index."""
    return float(np.mean(np.argmax(X @ coef_w + intercept, axis=1) == y))


def train_dataset1(
    X: np.ndarray,
    y_index: np.ndarray,
    spec: DeviceSpec,
    epochs: int,
    learning_rate: float,
    batch_size: int,
    w_max: float,
    seed: int,
    update: dict | None = None,
) -> DevicePerceptron:
    """The 784 -> K network trained on dataset1 through ``spec`` devices (the open state).

    ``update``: update-scheme keyword arguments of the estimator (mapping, pulse rule; see
    :mod:`fmes.device.synapse`); None = the estimator's defaults.
    """
    net = DevicePerceptron(
        device=spec,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_iter=epochs,
        w_max=w_max,
        random_state=seed,
        **(update or {}),
    )
    return net.fit(X, y_index)


def finetune_ideal(
    coef_w: np.ndarray,
    intercept: np.ndarray,
    X_seq: np.ndarray,
    y_seq: np.ndarray,
    n_grid: Sequence[int],
    learning_rate: float,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Baseline (a): ideal SGD (softmax cross-entropy, float weights and biases) from the trained
    network on the first n mapped images, ``epochs`` passes; one (coef, intercept) per grid n."""
    out = []
    for n in n_grid:  # loop over the grid; inside, mini-batch GEMMs
        W, b = coef_w.copy(), intercept.copy()
        n = int(n)
        for _ in range(int(epochs) if n else 0):
            order = rng.permutation(n)
            for start in range(0, n, int(batch_size)):
                rows = order[start : start + int(batch_size)]
                Xb = X_seq[rows]
                delta = predict_proba(Xb, W, b)
                delta[np.arange(len(rows)), y_seq[rows]] -= 1.0
                delta /= len(rows)
                W -= learning_rate * (Xb.T @ delta)
                b -= learning_rate * delta.sum(axis=0)
        out.append((W, b))
    return out


# --- the experiment --------------------------------------------------------------------------
@dataclass(frozen=True)
class SgdSettings:
    """One stochastic-gradient run: passes over the data, step size, mini-batch size."""

    epochs: int
    learning_rate: float
    batch_size: int

    @classmethod
    def from_config(cls, section: dict) -> SgdSettings:
        """From a validated config section holding ``epochs``, ``learning_rate``, ``batch_size``."""
        return cls(
            epochs=int(section["epochs"]),
            learning_rate=float(section["learning_rate"]),
            batch_size=int(section["batch_size"]),
        )


@dataclass(frozen=True)
class AdaptationSettings:
    """The settings of one adaptation run (config ``adaptation``; defaults in
    config/config.yaml).

    ``train`` is the dataset1 training in state ``train_state`` with weights in
    ``[-w_max, w_max]``; ``finetune`` the ideal-SGD baseline on the mapped images; ``n_images``
    the mapped-image grid (sorted, without repeats); ``n_figure_samples`` the class-balanced
    dataset2 test samples kept for the Fig 5g-i panels.
    """

    dataset1: tuple[int, ...]
    dataset2: tuple[int, ...]
    train_state: str
    train: SgdSettings
    w_max: float
    scheme: MappingScheme
    n_images: tuple[int, ...]
    finetune: SgdSettings
    n_figure_samples: int = 200

    def __post_init__(self) -> None:
        d1, d2 = check_digit_sets(self.dataset1, self.dataset2)
        grid = tuple(sorted({int(n) for n in self.n_images}))
        if not grid or grid[0] < 0:
            raise ValueError(
                f"adaptation.mapping.n_images must be integers >= 0, got {self.n_images}"
            )
        # frozen: the normalised values are set once, here
        object.__setattr__(self, "dataset1", d1)
        object.__setattr__(self, "dataset2", d2)
        object.__setattr__(self, "n_images", grid)

    @classmethod
    def from_config(cls, adaptation: dict) -> AdaptationSettings:
        """From the validated ``adaptation`` config section."""
        return cls(
            dataset1=tuple(adaptation["dataset1"]),
            dataset2=tuple(adaptation["dataset2"]),
            train_state=str(adaptation["train"]["state"]),
            train=SgdSettings.from_config(adaptation["train"]),
            w_max=float(adaptation["train"]["w_max"]),
            scheme=MappingScheme.from_config(adaptation["mapping"]),
            n_images=tuple(adaptation["mapping"]["n_images"]),
            finetune=SgdSettings.from_config(adaptation["finetune"]),
            n_figure_samples=int(adaptation["n_figure_samples"]),
        )


@dataclass(frozen=True)
class MappingContext:
    """What re-running the mapping with another scheme needs (sensitivity rows): the trained
    network (weights, biases, its state and half-range), the device axis, the mapped sequence,
    both test splits and the seed (the same noise draws for every scheme)."""

    trained: tuple[np.ndarray, np.ndarray]
    spec: DeviceSpec
    w_max: float
    device: DeviceInterpolator
    mapped: tuple[np.ndarray, np.ndarray]
    tests: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    seed: int

    def device_accuracies(self, scheme: MappingScheme, n_grid: Sequence[int]) -> pd.DataFrame:
        """Rows n_images, accuracy_dataset2, accuracy_dataset1 of the device mapping under
        ``scheme`` after each count of ``n_grid`` mapped images."""
        W0, b0 = self.trained
        state0_V, dev_states, _, _ = _mapped_states(
            W0, self.spec, self.w_max, self.device, self.mapped, scheme, n_grid, self.seed
        )
        volts_per_w = self.spec.range_V / (2 * self.w_max)
        test1, test2 = self.tests
        rows = []
        for n, s in zip(n_grid, dev_states, strict=True):
            W = W0 + ((s - state0_V) / volts_per_w).T
            rows.append(
                {
                    "n_images": int(n),
                    "accuracy_dataset2": accuracy(*test2, W, b0),
                    "accuracy_dataset1": accuracy(*test1, W, b0),
                }
            )
        return pd.DataFrame(rows)


@dataclass
class AdaptationResult:
    """Everything one seed produces (tables and arrays for the Fig 5 panels)."""

    table: pd.DataFrame  # method, n_images, accuracy_dataset2, accuracy_dataset1
    arrays: dict[str, np.ndarray]
    # for the energy/time accounting (fmes.networks.adaptation_energy): the trained network, the mapped
    # dataset2 image sequence (training split), both test splits (labels as indices) and what
    # re-running the mapping under another scheme needs
    network: DevicePerceptron | None = None
    mapped: tuple[np.ndarray, np.ndarray] | None = None
    test_dataset2: tuple[np.ndarray, np.ndarray] | None = None
    test_dataset1: tuple[np.ndarray, np.ndarray] | None = None
    context: MappingContext | None = None


@dataclass(frozen=True)
class _DigitSplits:
    """Training and test images of both digit sets, labels as positions in their set."""

    train1: tuple[np.ndarray, np.ndarray]
    test1: tuple[np.ndarray, np.ndarray]
    train2: tuple[np.ndarray, np.ndarray]
    test2: tuple[np.ndarray, np.ndarray]

    @classmethod
    def select(cls, X_train, y_train, X_test, y_test, d1, d2) -> _DigitSplits:
        return cls(
            train1=select_digits(X_train, y_train, d1),
            test1=select_digits(X_test, y_test, d1),
            train2=select_digits(X_train, y_train, d2),
            test2=select_digits(X_test, y_test, d2),
        )


def run_adaptation(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    device_table: pd.DataFrame,
    settings: AdaptationSettings,
    leakage_resistance_ohm: float,
    seed: int,
    log=None,
    update: dict | None = None,
) -> AdaptationResult:
    """Train on dataset1 (open state), map dataset2 images, evaluate device + both baselines.

    ``y_train``/``y_test`` are MNIST digits. Mapped images come from the training split of
    dataset2, accuracies from the test splits. ``update`` selects the dataset1 training's update
    scheme (:func:`train_dataset1`); ``log`` receives one-line progress messages.
    """
    say = log or (lambda msg: None)
    spec = _state_spec(device_table, settings.train_state)
    device = DeviceInterpolator.from_table(device_table, leakage_resistance_ohm)
    data = _DigitSplits.select(
        X_train, y_train, X_test, y_test, settings.dataset1, settings.dataset2
    )
    net = _train_on_dataset1(data, spec, settings, seed, update, say)
    # the trained state's half-range in weight units (w_max itself unless the mapping is shared)
    w_max = net.synapses_[0].w_max
    W0, b0 = net.coefs_[0].copy(), net.intercepts_[0].copy()
    X_seq, y_seq, n_grid = _mapped_sequence(data, settings, seed, say)

    state0_V, dev_states, lin_states, window_V = _mapped_states(
        W0, spec, w_max, device, (X_seq, y_seq), settings.scheme, n_grid, seed
    )
    tuned = finetune_ideal(
        W0,
        b0,
        X_seq,
        y_seq,
        n_grid,
        settings.finetune.learning_rate,
        settings.finetune.epochs,
        settings.finetune.batch_size,
        child_rng(seed, "finetune"),
    )
    weights, biases = _weights_by_method(
        (W0, b0), state0_V, dev_states, lin_states, tuned, spec.range_V / (2 * w_max)
    )
    table = _accuracy_table(data, n_grid, weights, biases)
    _log_final_accuracies(table, n_grid[-1], say)

    arrays = _figure_arrays(
        data,
        settings,
        seed,
        n_grid,
        (state0_V, dev_states[-1], lin_states[-1]),
        (W0, weights["device"][-1], b0),
        (X_seq, y_seq),
        leakage_resistance_ohm,
        window_V,
    )
    context = MappingContext(
        trained=(W0, b0),
        spec=spec,
        w_max=w_max,
        device=device,
        mapped=(X_seq, y_seq),
        tests=(data.test1, data.test2),
        seed=seed,
    )
    return AdaptationResult(
        table=table,
        arrays=arrays,
        network=net,
        mapped=(X_seq, y_seq),
        test_dataset2=data.test2,
        test_dataset1=data.test1,
        context=context,
    )


def _figure_arrays(
    data: _DigitSplits,
    settings: AdaptationSettings,
    seed: int,
    n_grid: Sequence[int],
    states_V: tuple[np.ndarray, np.ndarray, np.ndarray],
    network: tuple[np.ndarray, np.ndarray, np.ndarray],
    mapped: tuple[np.ndarray, np.ndarray],
    leakage_resistance_ohm: float,
    window_V: tuple[float, float],
) -> dict[str, np.ndarray]:
    """Step 5: the arrays of the Fig 5 panels. ``states_V``: the PSV states before mapping, after
    the whole grid (device) and after it with ideal linear weights; ``network``: the trained
    weights, the device weights after the grid and the biases; ``mapped``: the mapped images."""
    before_V, after_V, after_linear_V = states_V
    W0, Wd, b0 = network
    X_seq, y_seq = mapped
    K = len(settings.dataset1)
    fig_idx = _figure_samples(data, K, settings.n_figure_samples, seed)
    X2t, y2t = data.test2
    return {
        "dataset1": np.array(settings.dataset1),
        "dataset2": np.array(settings.dataset2),
        "n_images": np.array(n_grid),
        "weights_before_V": before_V,
        "weights_after_V": after_V,
        "weights_after_linear_V": after_linear_V,
        "weights_before": W0.T,
        "weights_after": Wd.T,
        "intercept": b0,
        "figure_labels": y2t[fig_idx],
        "proba_before": predict_proba(X2t[fig_idx], W0, b0),
        "proba_after": predict_proba(X2t[fig_idx], Wd, b0),
        "example_images": X_seq[:K],
        "example_labels": y_seq[:K],
        "example_resistance_ohm": pixel_to_resistance_ohm(
            X_seq[:K], settings.scheme, leakage_resistance_ohm
        ),
        "window_V": np.array(window_V),
    }


def _state_spec(device_table: pd.DataFrame, state: str) -> DeviceSpec:
    """The device behaviour of the fitted state ``state`` (a ``resistance_label`` row)."""
    specs = {str(r["resistance_label"]): DeviceSpec.from_row(r) for _, r in device_table.iterrows()}
    if state not in specs:
        raise ValueError(
            f"adaptation.train.state {state!r} is not a row of device_params (have {sorted(specs)})"
        )
    return specs[state]


def _train_on_dataset1(
    data: _DigitSplits,
    spec: DeviceSpec,
    settings: AdaptationSettings,
    seed: int,
    update: dict | None,
    say,
) -> DevicePerceptron:
    """Step 1: the network trained on dataset1 through the ``train_state`` devices; logs both
    test accuracies before any mapping."""
    net = train_dataset1(
        *data.train1,
        spec,
        settings.train.epochs,
        settings.train.learning_rate,
        settings.train.batch_size,
        settings.w_max,
        int(child_rng(seed, "train").integers(2**31)),
        update=update,
    )
    W0, b0 = net.coefs_[0], net.intercepts_[0]
    say(
        f"trained on dataset1 {list(settings.dataset1)} ({len(data.train1[1])} images, "
        f"{settings.train.epochs} epochs, state {settings.train_state}): dataset1 test accuracy "
        f"{accuracy(*data.test1, W0, b0):.3f}, dataset2 {list(settings.dataset2)} accuracy "
        f"{accuracy(*data.test2, W0, b0):.3f}"
    )
    return net


def _mapped_sequence(
    data: _DigitSplits, settings: AdaptationSettings, seed: int, say
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Step 2: the class-interleaved sequence of dataset2 training images to map, and the image
    grid (clipped when a class runs out of images)."""
    n_grid = list(settings.n_images)
    X2, y2 = data.train2
    order = mapping_order(y2, len(settings.dataset1), max(n_grid), child_rng(seed, "mapping-order"))
    if len(order) < max(n_grid):
        say(f"only {len(order)} class-balanced dataset2 images available; grid clipped")
        n_grid = [n for n in n_grid if n <= len(order)]
    return X2[order], y2[order], n_grid


def _mapped_states(
    W0: np.ndarray,
    spec: DeviceSpec,
    w_max: float,
    device: DeviceInterpolator,
    mapped: tuple[np.ndarray, np.ndarray],
    scheme: MappingScheme,
    n_grid: Sequence[int],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """Step 3: the synapse PSV states (K, P) before mapping, after each grid count of mapped
    images for the device scheme (clipped to the device window) and for ideal linear weights,
    and that window (V)."""
    state0_V = weights_to_volts(W0.T, spec, w_max)  # (K, P): one row per output
    log_f, target, noise = _affine_steps(
        state0_V.shape,
        *mapped,
        scheme,
        device,
        child_rng(seed, "c2c"),
        child_rng(seed, "d2d").standard_normal(state0_V.shape),
    )
    lo, hi = device.window_V(extra=state0_V)
    dev_states = compose_updates(state0_V, log_f, target, noise, n_grid, bounds=(lo, hi))
    v_mid = 0.5 * (spec.g_min_V + spec.g_max_V)
    lin_states = compose_updates(state0_V, log_f, target, noise, n_grid, linear_at=v_mid)
    return state0_V, dev_states, lin_states, (lo, hi)


def _weights_by_method(
    trained: tuple[np.ndarray, np.ndarray],
    state0_V: np.ndarray,
    dev_states: np.ndarray,
    lin_states: np.ndarray,
    tuned: list[tuple[np.ndarray, np.ndarray]],
    volts_per_w: float,
) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """Weights and biases per method, one per grid count: the mapped PSV change converted to
    weight units is added to the trained weights (exact, bit for bit, when nothing was
    mapped); the mapping leaves the biases as trained."""
    W0, b0 = trained
    weights = {
        "device": [W0 + ((s - state0_V) / volts_per_w).T for s in dev_states],
        "ideal_linear": [W0 + ((s - state0_V) / volts_per_w).T for s in lin_states],
        "finetune": [w for w, _ in tuned],
    }
    biases = {
        "device": [b0] * len(dev_states),
        "ideal_linear": [b0] * len(lin_states),
        "finetune": [b for _, b in tuned],
    }
    return weights, biases


def _accuracy_table(
    data: _DigitSplits,
    n_grid: Sequence[int],
    weights: dict[str, list[np.ndarray]],
    biases: dict[str, list[np.ndarray]],
) -> pd.DataFrame:
    """Step 4: test accuracy on both digit sets, per method and mapped-image count."""
    rows = [
        {
            "method": method,
            "n_images": n,
            "accuracy_dataset2": accuracy(*data.test2, W, b),
            "accuracy_dataset1": accuracy(*data.test1, W, b),
        }
        for method in METHODS
        for n, W, b in zip(n_grid, weights[method], biases[method], strict=True)
    ]
    return pd.DataFrame(rows)


def _log_final_accuracies(table: pd.DataFrame, n_last: int, say) -> None:
    for method in METHODS:
        last = table[(table["method"] == method) & (table["n_images"] == n_last)].iloc[0]
        say(
            f"{method:>12}: after {n_last} images dataset2 {last['accuracy_dataset2']:.3f}, "
            f"dataset1 {last['accuracy_dataset1']:.3f}"
        )


def _figure_samples(data: _DigitSplits, n_classes: int, n_samples: int, seed: int) -> np.ndarray:
    """Fig 5g-i: a fixed, class-balanced set of dataset2 test samples, sorted by label."""
    y2t = data.test2[1]
    fig_idx = mapping_order(y2t, n_classes, n_samples, child_rng(seed, "figure-samples"))
    return fig_idx[np.argsort(y2t[fig_idx], kind="stable")]


def aggregate_seeds(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds of both accuracies, per (method, n_images).

    ``runs`` holds one row per (method, n_images, seed) with ``accuracy_dataset2`` and
    ``accuracy_dataset1``; a single seed gets a std of 0 (no spread measured), not NaN.
    """

    def spread(values: pd.Series) -> float:
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    return (
        runs.groupby(["method", "n_images"], sort=False)
        .agg(
            n_seeds=("seed", "nunique"),
            accuracy_dataset2_mean=("accuracy_dataset2", "mean"),
            accuracy_dataset2_std=("accuracy_dataset2", spread),
            accuracy_dataset1_mean=("accuracy_dataset1", "mean"),
            accuracy_dataset1_std=("accuracy_dataset1", spread),
        )
        .reset_index()
        .sort_values(["method", "n_images"], kind="stable")
    )


def adaptation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`aggregate_seeds` of the per-seed runs, each row with the worst ``status`` of the
    runs and their joined ``reason`` (the training state's device status travels with every row;
    non-ok only when the config allows it)."""
    table = aggregate_seeds(runs)
    table["status"] = worst(runs["status"]).value
    table["reason"] = join_reasons(runs["reason"])
    return table


def leakage_resistance_ohm(configured: float | None, cell_params: dict) -> float:
    """The open state's point on the log R_eff axis: ``adaptation.mapping.leakage_resistance_ohm``
    when set, else the calibrated cell's leakage resistance (``cell_params`` as in
    ``cell_params.json``)."""
    return float(cell_params["leakage_resistance_ohm"] if configured is None else configured)


def prediction_outcome(proba: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The predicted class (column of the largest probability) of each sample and whether it
    is ``labels``' class (Fig 5g)."""
    predicted = proba.argmax(axis=1)
    return predicted, predicted == labels


def true_class_probability(proba: np.ndarray, labels: np.ndarray) -> float:
    """The mean over samples of the probability given to the true class (Fig 5h/5i)."""
    return float(proba[np.arange(len(labels)), labels].mean())
