"""Device model of a synaptic weight: NeuroSim-style bounded, non-linear pulse updates.

The fitted LTP curve of a resistance state is G(P) = B_P (1 - e^{-P/A_P}) + G_min with
B_P = (G_max - G_min) / (1 - e^{-N/A_P}) (N = ``n_pulses`` per half-cycle); LTD is the mirrored
curve G(P) = G_max - B_D (1 - e^{-P/A_D}). Both are first-order relaxations toward an asymptote
(G_min + B_P for LTP, G_max - B_D for LTD), so ``n`` identical pulses multiply the distance to
that asymptote by e^{-n/A}. An update therefore needs no inversion to a pulse index: the step
depends on the present state only through that distance, as in NeuroSim's non-linear model.

Conventions (and where they depart from NeuroSim):

* **Weight = device minus reference.** Each weight is held by one device; the weight is the
  device state minus a fixed mid-range reference, scaled so that ``[G_min, G_max]`` maps onto
  ``[-w_max, +w_max]``. One device per weight keeps Fig 4e/4f (distribution of device states)
  a direct histogram, and avoids the differential-pair refresh problem (both devices of a pair
  drifting to the same bound). The reference is nominal (no variability).
* **Pulse count** = round(dW / (W_max - W_min) x N): updates below half a pulse give none. N is
  the fitted ``n_pulses`` (the pulses that sweep the full range), i.e. NeuroSim's "levels".
  Counts are clipped to +-N, which is exact: N pulses from either bound already saturate.
  ``n_states`` (read-noise-limited distinguishable states) is carried for reporting but does
  not quantise reads.
* **Cycle-to-cycle noise**: N(0, sigma) x sqrt(|pulses|) per update, sigma = ``c2c_sigma_frac``
  x nominal range, then clip to the device's bounds (NeuroSim).
* **Device-to-device spread**: per device, A_P, A_D and the range are multiplied by log-normal
  factors with mean 1 and the given coefficients of variation, fixed at construction. NeuroSim
  spreads the NL label with a Gaussian; a log-normal factor on A keeps A > 0 for any CV.
  The spread range moves G_max only (G_min is common).

The state is kept in weight units (a linear image of volts), so training never converts back
and forth; :meth:`SynapseArray.to_volts` gives the PSV for plots.

Update schemes (the choice of the two conversions above; docs/update_schemes.md cites sources):

* **mapping** (volts -> weight): ``per_state`` (above: every state's own range maps onto
  ``[-w_max, w_max]``, so all states share one nominal weight step 2 w_max / N) or ``shared``
  (one volts-to-weight scale for all states, 2 w_max / range of a reference state: a state's
  weight range is +-w_max x range / reference range and its step per pulse scales likewise).
* **pulse rule** (desired dW -> pulses): ``proportional`` (above), ``sign`` (Manhattan rule: one
  pulse in the sign of dW where |dW| >= ``sign_threshold_pulses`` nominal steps) or
  ``stochastic`` (the coincidence count of Bernoulli pulse streams of ``stochastic_length``
  slots, Gokmen & Vlasov 2016 / aihwkit's pulsed update: n ~ Binomial(BL, x / BL) with x =
  |dW| in nominal steps, so E[n] = x up to BL pulses per update).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

_REQUIRED_COLUMNS = (
    "resistance_label",
    "g_min_V",
    "g_max_V",
    "n_pulses",
    "a_p_pulses",
    "a_d_pulses",
)


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class DeviceSpec:
    """Fitted parameters of one resistance state (a row of ``device_params.csv``)."""

    label: str
    g_min_V: float
    g_max_V: float
    n_pulses: int
    a_p_pulses: float
    a_d_pulses: float
    c2c_sigma_frac: float = 0.0
    d2d_a_cv: float = 0.0
    d2d_range_cv: float = 0.0
    n_states: int | None = None
    nl_ltp: float | None = None
    nl_ltd: float | None = None
    resistance_ohm: float | None = None

    def __post_init__(self) -> None:
        checks = {
            "g_max_V > g_min_V": self.g_max_V > self.g_min_V,
            "n_pulses >= 1": self.n_pulses >= 1,
            "a_p_pulses > 0 and finite": 0 < self.a_p_pulses < math.inf,
            "a_d_pulses > 0 and finite": 0 < self.a_d_pulses < math.inf,
            "c2c_sigma_frac >= 0": self.c2c_sigma_frac >= 0,
            "d2d_a_cv >= 0": self.d2d_a_cv >= 0,
            "d2d_range_cv >= 0": self.d2d_range_cv >= 0,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"DeviceSpec {self.label!r}: expected {', '.join(failed)}")

    @property
    def range_V(self) -> float:
        return self.g_max_V - self.g_min_V

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> DeviceSpec:
        """Build from one row (dict or pandas Series) with the docs/interfaces.md columns."""
        missing = [c for c in _REQUIRED_COLUMNS if c not in row or pd.isna(row[c])]
        if missing:
            raise ValueError(f"device_params row {dict(row)!r}: missing column(s) {missing}")
        n_states = _optional_float(row.get("n_states"))
        return cls(
            label=str(row["resistance_label"]),
            g_min_V=float(row["g_min_V"]),
            g_max_V=float(row["g_max_V"]),
            n_pulses=int(round(float(row["n_pulses"]))),
            a_p_pulses=float(row["a_p_pulses"]),
            a_d_pulses=float(row["a_d_pulses"]),
            c2c_sigma_frac=_optional_float(row.get("c2c_sigma_frac")) or 0.0,
            d2d_a_cv=_optional_float(row.get("d2d_a_cv")) or 0.0,
            d2d_range_cv=_optional_float(row.get("d2d_range_cv")) or 0.0,
            n_states=None if n_states is None else int(round(n_states)),
            nl_ltp=_optional_float(row.get("nl_ltp")),
            nl_ltd=_optional_float(row.get("nl_ltd")),
            resistance_ohm=_optional_float(row.get("resistance_ohm")),
        )

    @classmethod
    def ideal_like(
        cls, n_pulses: int = 1_000_000, a_over_n: float = 1e4, label: str = "ideal-like"
    ) -> DeviceSpec:
        """A near-ideal device: many fine levels, practically linear steps, no noise or spread.

        With A = 1e4 N the curve deviates from a line by ~1/(8 A/N) = 1e-5 of the range.
        """
        return cls(
            label=label,
            g_min_V=0.0,
            g_max_V=1.0,
            n_pulses=int(n_pulses),
            a_p_pulses=a_over_n * n_pulses,
            a_d_pulses=a_over_n * n_pulses,
        )

    def replace(self, **changes: Any) -> DeviceSpec:
        """A copy with some fields changed (e.g. a harsher non-linearity for a test)."""
        return dataclasses.replace(self, **changes)


def load_device_params(csv_path: str | os.PathLike) -> dict[str, DeviceSpec]:
    """Read ``results/tables/device_params.csv`` into ``{resistance_label: DeviceSpec}``."""
    frame = pd.read_csv(csv_path, dtype={"resistance_label": str})
    missing = [c for c in _REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv_path}: missing column(s) {missing}; see docs/interfaces.md")
    specs: dict[str, DeviceSpec] = {}
    for i, row in frame.iterrows():
        try:
            spec = DeviceSpec.from_row(row)
        except ValueError as exc:
            raise ValueError(f"{csv_path}, row {i}: {exc}") from exc
        specs[spec.label] = spec
    return specs


def nonlinear_asymptotes(
    g_min: np.ndarray | float,
    g_max: np.ndarray | float,
    a_p_pulses: np.ndarray | float,
    a_d_pulses: np.ndarray | float,
    n_pulses: int,
) -> tuple[np.ndarray, np.ndarray]:
    """LTP and LTD asymptotes G_min + B_P and G_max - B_D (same units as the bounds)."""
    span = np.asarray(g_max, dtype=np.float64) - g_min
    # -expm1(-x) = 1 - e^{-x}, accurate for the near-linear (large A) case.
    ltp = g_min + span / -np.expm1(-n_pulses / np.asarray(a_p_pulses, dtype=np.float64))
    ltd = g_max - span / -np.expm1(-n_pulses / np.asarray(a_d_pulses, dtype=np.float64))
    return ltp, ltd


@dataclass(frozen=True)
class _Curves:
    """Per-device (arrays of the state's shape) or shared (floats) update parameters."""

    lo: np.ndarray | float
    hi: np.ndarray | float
    ltp_asym: np.ndarray | float
    ltd_asym: np.ndarray | float
    inv_a_p: np.ndarray | float
    inv_a_d: np.ndarray | float
    ltp_minus_ltd_asym: np.ndarray | float
    inv_a_p_minus_d: np.ndarray | float
    shape: tuple[int, ...] = ()

    @classmethod
    def build(cls, lo, hi, a_p, a_d, n_pulses: int, shape: tuple[int, ...]) -> _Curves:
        ltp, ltd = nonlinear_asymptotes(lo, hi, a_p, a_d, n_pulses)
        inv_p = 1.0 / np.asarray(a_p, dtype=np.float64)
        inv_d = 1.0 / np.asarray(a_d, dtype=np.float64)

        def full(v):
            if np.ndim(v) == 0:
                return float(v)
            return np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64)

        return cls(
            full(lo),
            full(hi),
            full(ltp),
            full(ltd),
            full(inv_p),
            full(inv_d),
            full(ltp - ltd),
            full(inv_p - inv_d),
            tuple(shape),
        )

    @functools.cached_property
    def lookup(self) -> np.ndarray:
        """Per device and direction, the update parameters in one row: row 2 i + up of device
        i (flat index; up = 1 for LTP) holds (asymptote, 1/A, lower bound, upper bound).

        One gather of the pulsed rows replaces six per-parameter gathers and the LTP/LTD blend;
        the entries are the blend's own results (0/1 x difference + LTD value), so updates are
        bit-identical to :func:`_relax`.
        """
        return self.lookup_table()

    def lookup_table(self) -> np.ndarray:
        """A new array holding :attr:`lookup` (not cached)."""
        size = math.prod(self.shape)

        def flat(v):
            return np.broadcast_to(v, self.shape).reshape(size)

        table = np.empty((size, 2, 4))
        for column, (ltd, difference) in enumerate(
            ((self.ltd_asym, self.ltp_minus_ltd_asym), (self.inv_a_d, self.inv_a_p_minus_d))
        ):
            table[:, 0, column] = flat(ltd)
            table[:, 1, column] = flat(difference + ltd)
        table[:, :, 2] = flat(self.lo)[:, None]
        table[:, :, 3] = flat(self.hi)[:, None]
        return table.reshape(2 * size, 4)


# Above this fraction of pulsed elements, whole-array arithmetic beats gather/scatter.
_DENSE_FRACTION = 0.2


def _relax_at(
    state: np.ndarray,
    idx: np.ndarray,
    k: np.ndarray,
    lookup: np.ndarray,
    sigma: float,
    rng: np.random.Generator | None,
    settle: Sequence[tuple] = (),
) -> None:
    """Apply the nonzero signed pulse counts ``k`` (float) at the distinct flat indices ``idx``
    of ``state`` in place, with the parameters of ``lookup`` (rows as :attr:`_Curves.lookup`;
    cycle-to-cycle noise drawn in the order of ``idx``): the sparse form of :func:`_relax`,
    same arithmetic.

    ``settle``: (flat state of an array, its LTD asymptotes, lower and upper bounds) per array
    that the whole-array arithmetic of :func:`_relax` updates; there a device without a pulse
    becomes (w - a) x 1 + a, clipped, which this applies to every device of the array (the
    pulsed ones then get their own update, from their state before it).
    """
    if sigma > 0 and rng is None:
        raise ValueError("cycle-to-cycle noise needs an rng")
    flat = state.reshape(-1)
    # float64 arithmetic also for a float32 state (a copy of the few pulsed devices only)
    cur = flat.take(idx).astype(np.float64, copy=False)
    for array_state, ltd_asym, lo, hi in settle:
        array_state -= ltd_asym
        array_state += ltd_asym
        np.maximum(array_state, lo, out=array_state)
        np.minimum(array_state, hi, out=array_state)
    rows = idx * 2
    rows += k > 0  # LTP rows are the odd ones
    entry = lookup.take(rows, axis=0)
    asym = entry[:, 0]
    mag = np.abs(k)
    expo = np.multiply(entry[:, 1], mag)
    np.negative(expo, out=expo)  # -(a m) is a (-m) to the bit
    np.subtract(cur, asym, out=cur)
    new = cur
    new *= np.exp(expo, out=expo)
    new += asym
    if sigma > 0:
        noise = rng.standard_normal(idx.size)
        magnitude = np.sqrt(mag, out=mag)
        magnitude *= sigma
        noise *= magnitude
        new += noise
    # maximum then minimum: np.clip's result, without its Python-level overhead
    np.maximum(new, entry[:, 2], out=new)
    np.minimum(new, entry[:, 3], out=new)
    flat[idx] = new


def _relax(
    state: np.ndarray,
    counts: np.ndarray,
    curves: _Curves,
    sigma: float,
    rng: np.random.Generator | None,
) -> None:
    """Apply signed pulse counts (float array of integers) to ``state`` in place.

    Both arrays are C-contiguous and of the same shape. n pulses give
    new = asym + (cur - asym) e^{-n/A}: the distance to the asymptote shrinks by e^{-n/A}.
    """
    pulsed = counts != 0  # a bool mask: nonzero() on it is several times faster than on floats
    n_pulsed = np.count_nonzero(pulsed)
    if n_pulsed == 0:
        return
    if sigma > 0 and rng is None:
        raise ValueError("cycle-to-cycle noise needs an rng")
    if n_pulsed < _DENSE_FRACTION * counts.size:
        # SGD with a few hundred levels leaves most counts at zero: touch the pulsed subset.
        idx = np.flatnonzero(pulsed)
        _relax_at(state, idx, counts.reshape(-1).take(idx), curves.lookup, sigma, rng)
        return
    # Dense path (fine levels, e.g. the ideal-like device): blend LTP/LTD parameters with the
    # 0/1 direction mask instead of np.where, which is slow on random masks.
    c = curves
    up = counts > 0
    asym = up * c.ltp_minus_ltd_asym
    asym += c.ltd_asym
    expo = up * c.inv_a_p_minus_d
    expo += c.inv_a_d
    expo *= np.abs(counts)
    np.negative(expo, out=expo)
    np.exp(expo, out=expo)  # zero pulses give factor 1: untouched
    state -= asym
    state *= expo
    state += asym
    if sigma > 0:  # noise only where pulses were applied (drawing normals is the costly part)
        idx = np.flatnonzero(pulsed)
        flat = state.reshape(-1)
        flat[idx] += rng.standard_normal(idx.size) * (
            sigma * np.sqrt(np.abs(counts.reshape(-1)[idx]))
        )
    np.maximum(state, c.lo, out=state)
    np.minimum(state, c.hi, out=state)


def apply_pulses(
    state: np.ndarray,
    pulses: np.ndarray,
    g_min: np.ndarray | float,
    g_max: np.ndarray | float,
    a_p_pulses: np.ndarray | float,
    a_d_pulses: np.ndarray | float,
    n_pulses: int,
    c2c_sigma: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Return ``state`` after a signed integer number of pulses per element.

    Positive counts are potentiating (LTP) pulses, negative depressing (LTD). ``g_min``,
    ``g_max``, ``a_p_pulses``, ``a_d_pulses`` are scalars or arrays broadcastable to
    ``state`` (per-device values); ``c2c_sigma`` is the one-pulse noise sigma in the units of
    ``state``. The input is not modified. Units are free (volts or weight units) as long as
    state and bounds share them.
    """
    state = np.array(state, dtype=np.float64, copy=True, order="C")
    pulses = np.asarray(pulses)
    if not np.issubdtype(pulses.dtype, np.integer):
        raise TypeError(f"pulse counts must be integers, got dtype {pulses.dtype}")
    counts = np.ascontiguousarray(np.broadcast_to(pulses, state.shape), dtype=np.float64)
    curves = _Curves.build(g_min, g_max, a_p_pulses, a_d_pulses, n_pulses, state.shape)
    _relax(state, counts, curves, float(c2c_sigma), rng)
    return state


MAPPINGS = ("per_state", "shared")
PULSE_RULES = ("proportional", "sign", "stochastic")


def check_update_scheme(
    mapping: str,
    pulse_rule: str,
    reference_range_V: float | None,
    sign_threshold_pulses: float,
    stochastic_length: int,
) -> None:
    """Raise ValueError naming the offending parameter of an update scheme."""
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    if pulse_rule not in PULSE_RULES:
        raise ValueError(f"pulse_rule must be one of {PULSE_RULES}, got {pulse_rule!r}")
    if mapping == "shared" and not (reference_range_V is not None and reference_range_V > 0):
        raise ValueError(
            f"mapping 'shared' needs reference_range_V > 0 (the reference state's G_max - G_min "
            f"in volt), got {reference_range_V!r}"
        )
    if not (sign_threshold_pulses >= 0):
        raise ValueError(f"sign_threshold_pulses must be >= 0, got {sign_threshold_pulses}")
    if int(stochastic_length) < 1:
        raise ValueError(f"stochastic_length must be >= 1, got {stochastic_length}")


def stochastic_pulse_counts(steps: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Coincidence counts of Bernoulli pulse streams, in place: n ~ Binomial(BL, |x| / BL).

    ``steps`` (float64) holds the desired change in nominal pulse steps x; it is overwritten
    with sign(x) n. In the stochastic pulsed update (Gokmen & Vlasov 2016; aihwkit) a device
    receives a pulse in each of the BL slots where its row and column streams fire together,
    with probability p = |x| / BL (saturating at 1), so E[n] = |x| for |x| <= BL.

    Sampled exactly by inversion with one uniform w per device: n = #{k >= 0 : w < P(n > k)}
    (see :func:`_stochastic_sparse`). numpy's per-element binomial sampler is several times
    slower here.
    """
    flat = steps.reshape(-1)
    idx, n = _stochastic_sparse(flat, 1.0, int(length), rng)
    flat[:] = 0.0
    flat[idx] = n
    return steps


# Raw bits drawn per device in the stochastic sampler's first stage, by the change's dtype:
# (bits, unsigned type). float32 training draws 16 (a quarter of a raw 64-bit draw each, and
# the comparison with |x| 2**16 runs in float32); float64 keeps 32, its recorded stream.
_SAMPLER_BITS = {np.dtype(np.float32): (16, np.uint16), np.dtype(np.float64): (32, np.uint32)}


def _binomial_by_inversion(w: np.ndarray, x: np.ndarray, length: int) -> np.ndarray:
    """n ~ Binomial(BL, min(x / BL, 1)) from the uniforms ``w``: n = #{k >= 0 : w < P(n > k)}.

    Only the devices with w < x need this (P(n > 0) <= x). Nearly all of them get n <= 1, so
    P(n > 0) and P(n > 1) are computed for all; the survival function is walked further, as
    one table of its values, only for the few with w < P(n > 1).
    """
    p = x * (1.0 / length)
    if p.size and np.maximum.reduce(p) >= 1.0:  # some devices saturate: every slot fires
        n = np.zeros(w.size)
        saturated = p >= 1.0
        n[saturated] = float(length)
        rest = np.flatnonzero(~saturated)
        n[rest] = _binomial_by_inversion(w.take(rest), x.take(rest), length)
        return n
    # in place where the values allow (each array is written once: no temporaries)
    log_q_length = np.negative(p)
    np.log1p(log_q_length, out=log_q_length)
    log_q_length *= length  # BL log(1 - p)
    pmf = np.exp(log_q_length)  # P(n = 0)
    survival = np.expm1(log_q_length, out=log_q_length)
    np.negative(survival, out=survival)  # P(n > 0), accurate for small p
    n = np.less(w, survival).astype(np.float64)
    if length < 2:
        return n
    odds = np.subtract(1.0, p)
    np.divide(p, odds, out=odds)  # P(n = k + 1) = P(n = k) (BL - k) / (k + 1) p / q
    pmf *= odds
    pmf *= length  # P(n = 1)
    survival -= pmf  # P(n > 1)
    more = np.flatnonzero(w < survival)
    if more.size:
        k = np.arange(1, length - 1, dtype=np.float64)
        table = odds.take(more)[None, :] * ((length - k) / (k + 1.0))[:, None]
        # running product, then running sum, row after row: the arithmetic of multiply.accumulate
        # and cumsum along the first axis, which walk the table column by column (several
        # times slower for a few rows of many devices)
        for row in range(1, table.shape[0]):
            table[row] *= table[row - 1]  # P(n = k + 1) / P(n = 1)
        table *= pmf.take(more)
        for row in range(1, table.shape[0]):
            table[row] += table[row - 1]
        beyond = np.subtract(survival.take(more), table, out=table)  # P(n > k + 1)
        n[more] = 2.0 + np.count_nonzero(w.take(more) < beyond, axis=0)
    return n


def _stochastic_sparse(
    change: np.ndarray,
    scale: float,
    length: int,
    rng: np.random.Generator,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (ascending) and signed counts of the devices the stochastic rule pulses.

    x = ``change`` x ``scale`` in nominal pulse steps (``change`` flat, any unit). One uniform
    w per device, n = #{k >= 0 : w < P(n > k)}: as P(n > 0) = 1 - (1 - |x|/BL)^BL <= |x|, only
    the devices with w < |x| can get a pulse (usually a few %), and the inversion runs on those
    only. ``work``: optional float and bool arrays of at least ``change.size`` elements to
    reuse (no allocation per update; the float one of ``change``'s dtype).

    The uniforms are drawn in two parts: w = (r + v) / 2**b with r the bit generator's raw
    b-bit integers (all devices: b = 32 for a float64 ``change``, half a raw 64-bit draw each,
    several times cheaper than ``Generator.random``; b = 16 for float32) and v ~ U[0, 1) drawn
    only where r < |x| 2**b, the devices that can have w < |x| (r <= w 2**b). (r + v) / 2**b
    is uniform on [0, 1) (to float64 resolution, as ``Generator.random``), so the counts keep
    their law; the random stream is another one.
    """
    size = change.size
    bits, raw_type = _SAMPLER_BITS[change.dtype]
    levels = 2.0**bits
    if work is None:
        work = (np.empty(size, dtype=change.dtype), np.empty(size, dtype=bool))
    # |x| 2**b (a power of two: |x| itself is recovered exactly)
    x_high = np.abs(change, out=work[0][:size])
    x_high *= abs(scale) * levels
    high = rng.bit_generator.random_raw(-(-size * bits // 64)).view(raw_type)[:size]
    idx = np.flatnonzero(np.less(high, x_high, out=work[1][:size]))
    w = rng.random(idx.size)
    w += high.take(idx)
    w *= 1.0 / levels
    x = x_high.take(idx).astype(np.float64, copy=False)
    x *= 1.0 / levels
    n = _binomial_by_inversion(w, x, length)
    signed = change.take(idx)
    signed *= scale
    np.copysign(n, signed, out=n)
    keep = np.flatnonzero(n != 0)  # nonzero() on a bool mask: several times faster than on floats
    return idx.take(keep), n.take(keep)


# How a weight is read from its device(s) when the devices relax towards 0 V (SynapseArray.relax;
# docs/energy_and_inference.md): differential (two devices per weight, the default), decaying
# (device minus a reference device of the same state that relaxes alike), fixed (device minus a
# held mid-range reference: the worst case).
WEIGHT_REFERENCES = ("differential", "decaying", "fixed")


def _lognormal_factor(cv: float, size: tuple[int, ...], rng: np.random.Generator):
    """Mean-1 log-normal factors with coefficient of variation ``cv`` (1.0 when cv == 0)."""
    if cv <= 0:
        return 1.0
    s = math.sqrt(math.log1p(cv * cv))
    return np.exp(rng.normal(-0.5 * s * s, s, size=size))


class SynapseArray:
    """The devices holding one weight matrix, with their fixed device-to-device parameters.

    The state lives in weight units: G_min -> -w_max and the nominal G_max -> +w_max. A device
    whose range is spread by ``d2d_range_cv`` has its upper bound at -w_max + 2 w_max r.
    With ``mapping="shared"`` the half-range is w_max x range / ``reference_range_V`` instead
    of w_max (one volts-to-weight scale for all states); ``pulse_rule`` chooses how a desired
    change becomes pulses (module docstring).
    """

    def __init__(
        self,
        spec: DeviceSpec,
        shape: tuple[int, ...],
        w_max: float,
        rng: np.random.Generator,
        mapping: str = "per_state",
        reference_range_V: float | None = None,
        pulse_rule: str = "proportional",
        sign_threshold_pulses: float = 0.5,
        stochastic_length: int = 10,
    ) -> None:
        check_update_scheme(
            mapping, pulse_rule, reference_range_V, sign_threshold_pulses, stochastic_length
        )
        self.spec = spec
        self.shape = tuple(shape)
        self.mapping = mapping
        self.pulse_rule = pulse_rule
        self.sign_threshold_pulses = float(sign_threshold_pulses)
        self.stochastic_length = int(stochastic_length)
        scale = 1.0 if mapping == "per_state" else spec.range_V / float(reference_range_V)
        self.w_max = float(w_max) * scale  # this state's half-range in weight units
        span_w = 2.0 * self.w_max
        range_factor = _lognormal_factor(spec.d2d_range_cv, self.shape, rng)
        a_p = spec.a_p_pulses * _lognormal_factor(spec.d2d_a_cv, self.shape, rng)
        a_d = spec.a_d_pulses * _lognormal_factor(spec.d2d_a_cv, self.shape, rng)
        self.lo = -self.w_max
        self.hi = -self.w_max + span_w * range_factor
        self.curves = _Curves.build(self.lo, self.hi, a_p, a_d, spec.n_pulses, self.shape)
        self.sigma_w = spec.c2c_sigma_frac * span_w
        self.pulses_per_w = spec.n_pulses / span_w

    def program(self, target_w: np.ndarray) -> np.ndarray:
        """Initial states: the target weights clipped to each device's bounds (a new array)."""
        return np.ascontiguousarray(np.clip(target_w, self.lo, self.hi), dtype=np.float64)

    def _counts_inplace(
        self, delta_w: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        delta_w *= self.pulses_per_w  # desired change in nominal pulse steps
        if self.pulse_rule == "stochastic":
            if rng is None:
                raise ValueError("pulse_rule 'stochastic' needs an rng")
            return stochastic_pulse_counts(delta_w, self.stochastic_length, rng)
        return self._deterministic_counts(delta_w)

    def _deterministic_counts(self, steps: np.ndarray) -> np.ndarray:
        """The ``proportional`` or ``sign`` counts of changes in nominal steps, in place."""
        if self.pulse_rule == "sign":
            # Manhattan rule: one pulse where the step reaches the threshold, in its sign
            # (two comparisons instead of abs, sign and a product)
            down = steps <= -self.sign_threshold_pulses
            np.greater_equal(steps, self.sign_threshold_pulses, out=steps)
            steps -= down
            return steps
        np.rint(steps, out=steps)
        # |n| <= N is exact: N pulses from either bound already reach the other one.
        np.maximum(steps, -self.spec.n_pulses, out=steps)
        np.minimum(steps, self.spec.n_pulses, out=steps)
        return steps

    def _min_pulsed_steps(self) -> float:
        """A lower bound on |x| (nominal steps) of any change that can give a pulse: the
        candidates are found on the raw change; the exact rule then runs on them only."""
        if self.pulse_rule == "stochastic":
            return 0.0  # any nonzero change can pulse; the sampler draws for every device
        # (1 - 1e-9): candidates are a superset despite the rounding of the scaled product
        threshold = 0.5 if self.pulse_rule == "proportional" else self.sign_threshold_pulses
        return threshold * (1.0 - 1e-9)

    def update_from_change(
        self,
        state_w: np.ndarray,
        change: np.ndarray,
        factor: float,
        rng: np.random.Generator | None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Apply the desired weight change ``factor x change`` to ``state_w`` in place.

        ``change`` (float64, C-contiguous, this array's shape; e.g. the weight gradient with
        ``factor = -learning_rate``) may be overwritten. Returns the nonzero signed pulse counts
        applied (float; what :meth:`fmes.device.energy.PulseLog.add` counts).

        ``rows`` (ascending row indices of a 2-D array) says that ``change`` holds only those
        rows, the others' change being zero (e.g. the weight rows of inputs that are zero
        across the mini-batch): only they are searched for pulses. The update is
        :meth:`SynapseStack.update_from_changes` of this one array (see there for how it finds
        the few devices that get a pulse).
        """
        if rows is not None and change.shape != (rows.size, self.shape[1]):
            raise ValueError(f"change of shape {change.shape} does not match {rows.size} rows")
        stack = self.__dict__.get("_stack")
        if stack is None:
            stack = self.__dict__["_stack"] = SynapseStack([self])
        counts, _ = stack.update_from_changes(
            state_w.reshape(-1), change.reshape(-1), (0,), (rows,), factor, rng
        )
        return counts

    def pulse_counts(
        self, delta_w: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Signed pulses for a desired change (int32) under this array's pulse rule.

        ``proportional`` is NeuroSim's round(dW / (W_max - W_min) x N), clipped to +-N;
        ``stochastic`` draws from ``rng``.
        """
        counts = self._counts_inplace(np.array(delta_w, dtype=np.float64), rng)
        return counts.astype(np.int32)

    def apply(
        self, state_w: np.ndarray, pulses: np.ndarray, rng: np.random.Generator | None
    ) -> None:
        """Apply signed integer pulse counts to ``state_w`` (C-contiguous) in place."""
        counts = np.ascontiguousarray(np.broadcast_to(pulses, self.shape), dtype=np.float64)
        _relax(state_w, counts, self.curves, self.sigma_w, rng)

    def update_inplace(
        self, state_w: np.ndarray, delta_w: np.ndarray, rng: np.random.Generator | None
    ) -> np.ndarray:
        """Turn a desired change into pulses and apply them to ``state_w`` in place.

        ``delta_w`` (float64, C-contiguous) may be overwritten; returns the nonzero signed
        pulse counts applied (see :meth:`update_from_change`).
        """
        return self.update_from_change(state_w, delta_w, 1.0, rng)

    def to_volts(self, state_w: np.ndarray) -> np.ndarray:
        """Device states as PSV (volt): G_min + (w + w_max) / (2 w_max) x nominal range."""
        return self.spec.g_min_V + (state_w + self.w_max) / (2 * self.w_max) * self.spec.range_V

    @property
    def zero_volt_w(self) -> float:
        """The weight a device of this array holds at 0 V (what a fully discharged device
        reads against the fixed mid-range reference): -w_max - G_min x 2 w_max / range."""
        return -self.w_max - self.spec.g_min_V * 2 * self.w_max / self.spec.range_V

    def relax(
        self, state_w: np.ndarray, decay: float, reference: str, out: np.ndarray | None = None
    ) -> np.ndarray:
        """The weights after every device relaxed by the factor ``decay`` = exp(-t/τ) towards
        0 V (its state's retention), read against ``reference`` (:data:`WEIGHT_REFERENCES`),
        clipped to each device's bounds. ``out`` may be ``state_w`` (in place).

        * ``differential`` / ``decaying``: the weight is the difference of two devices of the
          state (a pair, or the device and a reference device) that relax alike, so it shrinks
          by ``decay`` towards 0;
        * ``fixed``: the weight is the device minus a held mid-range reference, so it moves by
          the factor towards :attr:`zero_volt_w` (the same PSV-space decay, read from a fixed
          origin: every weight drifts alike).
        """
        if reference not in WEIGHT_REFERENCES:
            raise ValueError(
                f"inference.reference must be one of {WEIGHT_REFERENCES}, got {reference!r}"
            )
        if reference == "fixed":
            origin = self.zero_volt_w
            out = np.subtract(state_w, origin, out=out)
            out *= decay
            out += origin
        else:
            out = np.multiply(state_w, decay, out=out)
        return np.clip(out, self.lo, self.hi, out=out)


class SynapseStack:
    """The device arrays of a network's layers, updated together as one flat array.

    A training step updates every layer once, and much of a layer's update is a fixed cost per
    call (some 30 numpy calls: threshold, candidate gather, pulse rule, parameter lookup, noise,
    clip) that dominates for a small layer such as a 100 x 10 output layer. The layers' states
    therefore live in one flat array (each layer's weight matrix a view of it, C order, in the
    order of ``arrays``), their desired changes are laid one after another in one flat buffer,
    and every step runs once for all of them: one threshold pass, one gather of the pulsed
    devices' parameters from one lookup table, one noise draw.

    Element by element the arithmetic is that of updating each layer in turn (in the order of
    the change buffer's segments), including which devices are touched and the order of the
    cycle-to-cycle noise draws, so ``proportional`` and ``sign`` give the same result to the
    bit. ``stochastic`` draws the same law, from another position of the random stream.
    """

    def __init__(self, arrays: Sequence[SynapseArray]) -> None:
        if not arrays:
            raise ValueError("SynapseStack needs at least one SynapseArray")
        first = arrays[0]
        scheme = ("pulse_rule", "pulses_per_w", "sigma_w", "sign_threshold_pulses")
        for other in arrays[1:]:
            differ = [name for name in scheme if getattr(other, name) != getattr(first, name)]
            if other.stochastic_length != first.stochastic_length:
                differ.append("stochastic_length")
            if other.spec.n_pulses != first.spec.n_pulses:
                differ.append("n_pulses")
            if differ:
                raise ValueError(
                    f"SynapseStack needs one update scheme for all arrays; {differ} differ"
                )
        self.arrays = tuple(arrays)
        self.sizes = tuple(math.prod(a.shape) for a in arrays)
        self.offsets = tuple(int(o) for o in np.cumsum((0,) + self.sizes[:-1]))
        self.size = sum(self.sizes)
        # one lookup for all devices (rows 2 i + up of flat device i); a single array's own
        self.lookup = (
            first.curves.lookup
            if len(arrays) == 1
            else np.concatenate([a.curves.lookup_table() for a in arrays])
        )
        self._rule = first

        def flat(v):
            return v if np.ndim(v) == 0 else v.reshape(-1)

        # per array, what the whole-array arithmetic does to an unpulsed device needs
        self._settle_params = [
            (flat(a.curves.ltd_asym), flat(a.curves.lo), flat(a.curves.hi)) for a in arrays
        ]
        self._min_steps = first._min_pulsed_steps()
        # work buffers of the threshold pass, reused every update
        self._mask = np.empty(self.size, dtype=bool)
        if first.pulse_rule == "stochastic":  # |x| 2**b
            self._magnitude = {}  # per dtype of the change, created on first use
        else:
            self._below = np.empty(self.size, dtype=bool)

    def _magnitude_buffer(self, dtype: np.dtype) -> np.ndarray:
        """The stochastic sampler's |x| 2**b work array for changes of ``dtype``."""
        buffer = self._magnitude.get(dtype)
        if buffer is None:
            buffer = self._magnitude[dtype] = np.empty(self.size, dtype=dtype)
        return buffer

    def layer_views(self, state: np.ndarray) -> list[np.ndarray]:
        """Each array's states as a view of the flat ``state`` (its own shape)."""
        return [
            state[off : off + size].reshape(a.shape)
            for a, off, size in zip(self.arrays, self.offsets, self.sizes, strict=True)
        ]

    def relax_inplace(self, state: np.ndarray, decay: float, reference: str) -> None:
        """Relax every device of the flat ``state`` in place by ``decay`` (the retention
        between two updates; :meth:`SynapseArray.relax`)."""
        for array, view in zip(self.arrays, self.layer_views(state), strict=True):
            array.relax(view, decay, reference, out=view)

    def update_from_changes(
        self,
        state: np.ndarray,
        change: np.ndarray,
        layers: Sequence[int],
        rows: Sequence[np.ndarray | None],
        factor: float,
        rng: np.random.Generator | None,
    ) -> tuple[np.ndarray, list[int]]:
        """Apply the desired change ``factor x change`` to the flat ``state`` in place.

        ``change`` (flat float64 or float32, may be overwritten) holds one segment per entry of
        ``layers``, one after another: the change of array ``layers[j]``, whole (``rows[j]``
        None) or only its rows ``rows[j]`` (ascending row indices of a 2-D array, the other
        rows' change being zero, e.g. the weights of inputs that are zero across the
        mini-batch), C order. Returns the nonzero signed pulse counts applied (float), segment
        after segment, and the bounds of each segment's counts in them
        (``counts[bounds[j]:bounds[j + 1]]``).

        SGD leaves most devices without a pulse, so the devices that can get one are found on
        the raw change with one threshold (|change| >= the rule's smallest pulsed step / the
        scale), and the pulse rule and the device curves run on those only. A segment where
        at least 20 % of the devices are candidates is the case :meth:`SynapseArray.apply`
        handles with whole-array arithmetic: when at least 20 % of its array's devices get a
        pulse, that arithmetic also moves every unpulsed device by the rounding of
        (w - a) x 1 + a (a its LTD asymptote) and the clip, and so does this update.
        """
        sizes = [
            self.sizes[layer] if r is None else r.size * self.arrays[layer].shape[1]
            for layer, r in zip(layers, rows, strict=True)
        ]
        starts = [0, *itertools.accumulate(sizes)]
        n = starts[-1]
        if change.size != n:
            raise ValueError(f"change holds {change.size} values; its segments need {n}")
        rule = self._rule
        stochastic = rule.pulse_rule == "stochastic"
        if stochastic and rng is None:
            raise ValueError("pulse_rule 'stochastic' needs an rng")
        steps_per_unit = abs(float(factor)) * rule.pulses_per_w
        if steps_per_unit == 0.0:
            return np.zeros(0), [0] * len(starts)
        settle = []  # arrays whose unpulsed devices the whole-array arithmetic moves too
        if stochastic:
            # one uniform per device (no threshold pass); never the whole-array path
            pos, k = _stochastic_sparse(
                change,
                factor * rule.pulses_per_w,
                rule.stochastic_length,
                rng,
                (self._magnitude_buffer(change.dtype), self._mask),
            )
            bounds = np.searchsorted(pos, starts).tolist()
        else:
            cut = self._min_steps / steps_per_unit
            # |change| >= cut as two comparisons into bool buffers: no float array is written
            above = np.greater_equal(change, cut, out=self._mask[:n])
            below = np.less_equal(change, -cut, out=self._below[:n])
            candidates = np.flatnonzero(np.logical_or(above, below, out=above))
            # the pulse rule in float64 also for a float32 change (a no-op for float64)
            k = change.take(candidates).astype(np.float64, copy=False)
            k *= factor
            k *= rule.pulses_per_w
            k = rule._deterministic_counts(k)
            keep = k != 0
            pos = candidates
            if not keep.all():
                pos, k = pos[keep], k[keep]
            bounds = np.searchsorted(pos, starts).tolist()
            cand_bounds = np.searchsorted(candidates, starts).tolist()
            for j, layer in enumerate(layers):
                whole = cut == 0.0 or (
                    cand_bounds[j + 1] - cand_bounds[j] >= _DENSE_FRACTION * sizes[j]
                )
                # pulsed devices are candidates, so the counts of the others are zero
                if whole and bounds[j + 1] - bounds[j] >= _DENSE_FRACTION * self.sizes[layer]:
                    settle.append(layer)
        if pos.size:
            self._to_state_index(pos, bounds, starts, layers, rows)
            _relax_at(
                state,
                pos,
                k,
                self.lookup,
                rule.sigma_w,
                rng,
                [self._settle_args(state, layer) for layer in settle],
            )
        return k, bounds

    def _settle_args(self, state: np.ndarray, layer: int) -> tuple:
        """The flat state of array ``layer`` and its LTD asymptotes and bounds (flat views or
        floats, kept across updates), for :func:`_relax_at`'s ``settle``."""
        offset, size = self.offsets[layer], self.sizes[layer]
        return (state[offset : offset + size], *self._settle_params[layer])

    def _to_state_index(
        self,
        pos: np.ndarray,
        bounds: list[int],
        starts: list[int],
        layers: Sequence[int],
        rows: Sequence[np.ndarray | None],
    ) -> None:
        """Positions in the change buffer -> flat indices of the state, in place."""
        for j, (layer, r) in enumerate(zip(layers, rows, strict=True)):
            part = pos[bounds[j] : bounds[j + 1]]
            if part.size == 0:
                continue
            if r is None:
                part += self.offsets[layer] - starts[j]
                continue
            n_cols = self.arrays[layer].shape[1]
            part -= starts[j]  # row x n_cols + col, row counted among ``r``
            row = part // n_cols
            # + (r[row] - row) n_cols: r[row] x n_cols + col (one division, no remainder)
            shift = r.take(row)
            shift -= row
            shift *= n_cols
            part += shift
            part += self.offsets[layer]


def nl_label_from_a(a_norm: float | np.ndarray) -> float | np.ndarray:
    """NeuroSim NL label from the normalised constant a = A/N (closed form, vectorised)."""
    a = np.asarray(a_norm, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        em = -np.expm1(-1.0 / a)  # 1 - exp(-1/a), accurate for large a
        x = np.clip(-a * np.log(a * em), 0.0, 1.0)
        g = -np.expm1(-x / a) / em
        nl = np.abs(g - x) / 0.099
    nl = np.where(np.isfinite(a) & (a > 0), nl, np.nan)
    return float(nl) if nl.ndim == 0 else nl


def a_norm_from_nl(label: float) -> float:
    """Inverse of :func:`nl_label_from_a` (label 0 -> inf, i.e. a linear device)."""
    if label <= 0:
        return np.inf
    if label >= 0.999 / 0.099:
        raise ValueError("NL label must be < 10.09 (the deviation cannot exceed the range)")
    log_a = brentq(lambda la: nl_label_from_a(10**la) - label, -4, 6, xtol=1e-12)
    return float(10**log_a)
