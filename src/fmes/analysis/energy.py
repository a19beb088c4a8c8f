"""Electrical energy and time per programming pulse, read from current-driven traces.

In every pulse protocol the current I(t) is applied and the terminal voltage u(t) (the PSV)
measured, so the electrical power delivered to the cell (with its regulating resistor R across
the terminals) is p(t) = (I(t) - I_base) u(t), the current measured from its rest level. Per
pulse:

- ``energy_J`` = ∫ p dt over the pulse: the energy the source delivers (signed: a depressing
  pulse on a charged cell can return energy, p < 0).
- ``energy_abs_J`` = ∫ |p| dt: the energy the source handles without any recovery, the cost
  figure used for training energy (an upper bound for a source that cannot recycle charge).
- ``dissipated_in_r_J`` = ∫ u²/R dt from the onset to the next onset (to the end of the trace
  for the last pulse; piecewise-exponential rule between samples, see ``_segment_integral``):
  the heat in the regulating resistor caused by and after the pulse; 0 J in the open state
  (no resistor).
- ``into_cell_J`` = ``energy_J`` - ``dissipated_in_r_J``: what the cell itself took over that
  window (the source delivers nothing between pulses), i.e. its series-resistance and internal
  (diffusion, leakage) losses plus the change of its stored energy. The terminals do not
  separate these; :func:`fmes.device.energy.model_energy_split` does, from the circuit model.
- ``width_s`` (the integration interval) and ``period_s`` (onset to next onset): time per pulse.

Integration: trapezoid over the samples inside the pulse, extended at each end to the detected
edge (:func:`fmes.analysis.pulses.detect_pulses`, 50 % crossing) with the power of the nearest
in-pulse sample held. An edge is *resolved* when the sample interval across it is at most
``edge_resolution`` times the median in-pulse interval; otherwise the crossing could lie
anywhere in a long gap (traces sampled log-spaced between pulses) and the pulse is integrated
from/to its outermost in-pulse sample instead, unless the protocol's nominal width settles it
(``nominal_width_s``); what remains unsettled is a lower bound, reported as
``edges_resolved = False``. This is the trapezoidal energy integration used for memristive
programming energy (e.g. Pickett & Williams, Nanotechnology 23, 215202, 2012, switching energy
= ∫ I V dt over the pulse).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fmes.device.energy import ENERGY_PARAM_COLUMNS

__all__ = [
    "ENERGY_COLUMNS",
    "pulse_energies",
    "reference_single_pulses",
    "state_pulse_costs",
    "summarise_energies",
    "with_pulse_costs",
    "with_trace_split",
]

ENERGY_COLUMNS = (
    "pulse_index",
    "polarity",
    "onset_s",
    "width_s",
    "period_s",
    "amplitude_A",
    "energy_J",
    "energy_abs_J",
    "dissipated_in_r_J",
    "into_cell_J",
    "edges_resolved",
)


def _segment_integral(
    t: np.ndarray, y: np.ndarray, seg: np.ndarray, n_seg: int, log_rule: bool = False
) -> np.ndarray:
    """Trapezoid of y over consecutive samples that share a segment id (ids < 0 ignored).

    ``log_rule``: between two positive samples, integrate the exponential through them,
    dt (y1 - y0) / ln(y1 / y0), exact for the exponential decays that log-spaced gap sampling
    resolves (the linear trapezoid overestimates a convex decay between sparse samples).
    """
    same = (seg[:-1] == seg[1:]) & (seg[:-1] >= 0)
    y0, y1 = y[:-1], y[1:]
    pieces = 0.5 * (y0 + y1) * np.diff(t)
    if log_rule:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(y1 / y0)
            exp_pieces = np.diff(t) * (y1 - y0) / ratio
        use = (y0 > 0) & (y1 > 0) & (np.abs(ratio) > 1e-9)
        pieces = np.where(use, exp_pieces, pieces)
    return np.bincount(seg[:-1][same], weights=pieces[same], minlength=n_seg)


def _pulse_segments(
    t: np.ndarray, onset: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, last, seg): the first and last sample strictly inside each pulse, and each
    sample's pulse number (-1 outside every pulse) for :func:`_segment_integral`."""
    first = np.searchsorted(t, onset, side="left")
    last = np.searchsorted(t, offset, side="right") - 1
    if np.any(last < first):
        raise ValueError("a detected pulse contains no sample; pulse table and trace disagree")
    seg = np.full(t.size, -1)
    inside = np.zeros(t.size + 1, int)
    np.add.at(inside, first, 1)
    np.add.at(inside, last + 1, -1)
    in_pulse = np.cumsum(inside)[:-1] > 0
    seg[in_pulse] = np.repeat(np.arange(onset.size), last - first + 1)
    return first, last, seg


def _integration_bounds(
    t: np.ndarray,
    onset: np.ndarray,
    offset: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    edge_resolution: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, stop, resolved): each pulse is integrated to its detected edge where the sample
    interval across that edge is at most ``edge_resolution`` median in-pulse intervals, else
    only to its outermost in-pulse sample; ``resolved`` says both edges were."""
    spacing = np.array(
        [
            np.median(np.diff(t[a : b + 1])) if b > a else np.inf
            for a, b in zip(first, last, strict=True)
        ]
    )
    gap_before = t[first] - t[np.maximum(first - 1, 0)]
    gap_after = t[np.minimum(last + 1, t.size - 1)] - t[last]
    ok_on = (first > 0) & (gap_before <= edge_resolution * spacing)
    ok_off = (last < t.size - 1) & (gap_after <= edge_resolution * spacing)
    start = np.where(ok_on, onset, t[first])
    stop = np.where(ok_off, offset, t[last])
    return start, stop, ok_on & ok_off


def _pulse_integral(
    t: np.ndarray,
    power: np.ndarray,
    seg: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """The trapezoid of ``power`` over each pulse's samples, extended from ``bounds`` (start,
    stop) to the first/last in-pulse sample with that sample's power held."""
    start, stop = bounds
    core = _segment_integral(t, power, seg, first.size)
    return core + power[first] * (t[first] - start) + power[last] * (stop - t[last])


def _nominal_width_scale(
    t: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    covered: np.ndarray,
    resolved: np.ndarray,
    nominal_width_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(scale, fits): the unresolved pulses whose ``nominal_width_s`` lies between their
    sampled span and the span plus the unsampled intervals, and the factor taking their
    sampled-span energy to that width (1 elsewhere)."""
    widest = t[np.minimum(last + 1, t.size - 1)] - t[np.maximum(first - 1, 0)]
    fits = ~resolved & (nominal_width_s >= covered) & (nominal_width_s <= widest) & (covered > 0)
    scale = np.where(fits, nominal_width_s / np.where(covered > 0, covered, 1.0), 1.0)
    return scale, fits


def _dissipated_in_r(
    t: np.ndarray, v: np.ndarray, onset: np.ndarray, resistance_ohm: float
) -> np.ndarray:
    """Heat in the regulating resistor from each onset to the next (to the trace end for the
    last pulse): the exponential-rule integral of u²/R; 0 J in the open state (no resistor)."""
    n = onset.size
    if math.isinf(resistance_ohm):
        return np.zeros(n)
    next_onset = np.append(onset[1:], t[-1])
    # onset -> next onset, same trapezoid on u^2/R; the gap segment id is the pulse's
    window = np.searchsorted(onset, t, side="right") - 1
    window[(t > next_onset[np.clip(window, 0, n - 1)]) | (t < onset[0])] = -1
    return _segment_integral(t, v * v / resistance_ohm, window, n, log_rule=True)


def pulse_energies(
    time_s: np.ndarray,
    current_A: np.ndarray,
    voltage_V: np.ndarray,
    pulses: pd.DataFrame,
    resistance_ohm: float,
    edge_resolution: float = 1.5,
    nominal_width_s: float | None = None,
) -> pd.DataFrame:
    """Energy and time of each complete pulse of one trace (module docstring).

    ``pulses`` is the output of :func:`fmes.analysis.pulses.detect_pulses` on the same trace;
    ``resistance_ohm`` the regulating resistor (``math.inf`` for the open state).
    ``nominal_width_s`` (the protocol's, from the manifest) settles a pulse whose edge is not
    resolved, when it is consistent with the samples (between the sampled span and the span
    plus the unsampled intervals): the mean power over the sampled part times that width.
    Returns one row per complete pulse with :data:`ENERGY_COLUMNS`.
    """
    t = np.asarray(time_s, float)
    v = np.asarray(voltage_V, float)
    p = pulses[pulses["complete"].astype(bool)].reset_index(drop=True)
    if p.empty:
        return pd.DataFrame(columns=list(ENERGY_COLUMNS))
    base = float(p["current_baseline_A"].iloc[0])
    power = (np.asarray(current_A, float) - base) * v
    onset = p["onset_s"].to_numpy(float)
    offset = p["offset_s"].to_numpy(float)
    first, last, seg = _pulse_segments(t, onset, offset)
    start, stop, resolved = _integration_bounds(t, onset, offset, first, last, edge_resolution)
    energy = _pulse_integral(t, power, seg, first, last, (start, stop))
    abs_energy = _pulse_integral(t, np.abs(power), seg, first, last, (start, stop))
    covered = stop - start
    if nominal_width_s is not None:
        scale, fits = _nominal_width_scale(t, first, last, covered, resolved, nominal_width_s)
        energy, abs_energy = energy * scale, abs_energy * scale
        covered = np.where(fits, nominal_width_s, covered)
        resolved = resolved | fits
    heat = _dissipated_in_r(t, v, onset, resistance_ohm)
    return pd.DataFrame(
        {
            "pulse_index": p["pulse_index"].to_numpy(int),
            "polarity": p["polarity"].to_numpy(int),
            "onset_s": onset,
            "width_s": covered,
            "period_s": np.append(np.diff(onset), np.nan),
            "amplitude_A": p["amplitude_A"].to_numpy(float),
            "energy_J": energy,
            "energy_abs_J": abs_energy,
            "dissipated_in_r_J": heat,
            "into_cell_J": energy - heat,
            "edges_resolved": resolved,
        }
    )


def summarise_energies(per_pulse: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Median, spread (IQR, 5-95 % range) and count of the per-pulse energy over ``keys``.

    Medians, because a pulse train's first pulses (cell at rest) and last ones (near the
    bound) differ systematically; the spread columns show that variation, across pulses and
    devices alike.
    """
    grouped = per_pulse.groupby(keys, sort=False, dropna=False)

    def q(col: str, level: float) -> pd.Series:
        return grouped[col].quantile(level)

    out = pd.DataFrame(
        {
            "n_pulses": grouped.size(),
            "n_devices": grouped["device_id"].nunique(),
            "energy_median_J": grouped["energy_J"].median(),
            "energy_abs_median_J": grouped["energy_abs_J"].median(),
            "energy_abs_q25_J": q("energy_abs_J", 0.25),
            "energy_abs_q75_J": q("energy_abs_J", 0.75),
            "energy_abs_q05_J": q("energy_abs_J", 0.05),
            "energy_abs_q95_J": q("energy_abs_J", 0.95),
            "dissipated_in_r_median_J": grouped["dissipated_in_r_J"].median(),
            "into_cell_median_J": grouped["into_cell_J"].median(),
            "width_median_s": grouped["width_s"].median(),
            "period_median_s": grouped["period_s"].median(),
            "edges_resolved_frac": grouped["edges_resolved"].mean(),
        }
    )
    return out.reset_index()


def state_pulse_costs(per_pulse: pd.DataFrame, nominal_device: str) -> pd.DataFrame:
    """Per resistance state, the per-pulse figures the networks use (``device_params.csv``).

    From the ``ltp_ltd`` pulses (the pulses that program a weight) of the reference device
    (every device if it has none): median ``energy_abs_J`` of the potentiating and of the
    depressing pulses, median width and period. Columns: ``resistance_label`` and
    :data:`fmes.device.energy.ENERGY_PARAM_COLUMNS`.
    """
    rows = per_pulse[per_pulse["protocol"] == "ltp_ltd"]
    if (rows["device_id"] == nominal_device).any():
        rows = rows[rows["device_id"] == nominal_device]
    out = []
    for label, g in rows.groupby("resistance_label", sort=False):
        out.append(
            {
                "resistance_label": str(label),
                "energy_ltp_J": g.loc[g["polarity"] > 0, "energy_abs_J"].median(),
                "energy_ltd_J": g.loc[g["polarity"] < 0, "energy_abs_J"].median(),
                "pulse_width_s": g["width_s"].median(),
                "pulse_period_s": g["period_s"].median(),
            }
        )
    return pd.DataFrame(out, columns=["resistance_label", *ENERGY_PARAM_COLUMNS])


def with_pulse_costs(device_params: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """``device_params`` with its energy columns filled from :func:`state_pulse_costs`."""
    out = device_params.drop(columns=[c for c in ENERGY_PARAM_COLUMNS if c in device_params])
    merged = out.merge(costs, on="resistance_label", how="left")
    return merged[
        [*device_params.columns, *[c for c in ENERGY_PARAM_COLUMNS if c not in device_params]]
    ]


def energies_of_trace(
    trace: pd.DataFrame, pulses: pd.DataFrame, row: dict, edge_resolution: float
) -> pd.DataFrame:
    """:func:`pulse_energies` of one trace with its manifest ``row`` (``resistance_ohm``,
    ``amplitude_A``, ``width_s``): the measured amplitude as ``measured_amplitude_A``, and the
    protocol's nominal amplitude and width (``amplitude_A``, ``nominal_width_s``), which group
    the pulses; the measured medians stand in where the manifest has none."""
    width_s = float(row["width_s"])
    amplitude_A = float(row["amplitude_A"])
    energies = pulse_energies(
        trace["time_s"].to_numpy(),
        trace["current_A"].to_numpy(),
        trace["voltage_V"].to_numpy(),
        pulses,
        float(row["resistance_ohm"]),
        edge_resolution=edge_resolution,
        nominal_width_s=width_s if np.isfinite(width_s) else None,
    ).rename(columns={"amplitude_A": "measured_amplitude_A"})
    energies["amplitude_A"] = (
        amplitude_A if np.isfinite(amplitude_A) else energies["measured_amplitude_A"].abs().median()
    )
    energies["nominal_width_s"] = width_s if np.isfinite(width_s) else energies["width_s"].median()
    return energies


def with_edge_status(summary: pd.DataFrame) -> pd.DataFrame:
    """``status``/``reason`` of :func:`summarise_energies` rows: ``flagged`` where some pulse
    edge fell in a long sampling gap (``edges_resolved_frac < 1``), since those pulses are
    integrated over their sampled part only and the energy is a lower bound."""
    partial = summary["edges_resolved_frac"] < 1
    return summary.assign(
        status=np.where(partial, "flagged", "ok"),
        reason=np.where(
            partial,
            "an edge falls in a long sampling gap: those pulses are integrated over their sampled "
            "part only (energy is a lower bound)",
            "",
        ),
    )


def with_trace_split(
    split: pd.DataFrame, per_pulse: pd.DataFrame, nominal_device: str
) -> pd.DataFrame:
    """The model's energy balance (:func:`fmes.device.energy.state_energy_split`) beside what the
    ``ltp_ltd`` traces measure at the terminals (the reference device's, every device's if it
    has none; means over the pulses of each state and polarity, like the model's):
    ``trace_source_J`` (∫ I u dt over the pulse, both intervals), ``trace_loss_r_J`` and
    ``trace_into_cell_J`` (onset to next onset: the ``window`` rows only; NaN on ``pulse``
    rows, and everywhere for a state without traces)."""
    rows = per_pulse[per_pulse["protocol"] == "ltp_ltd"] if len(per_pulse) else per_pulse
    if len(rows) and (rows["device_id"] == nominal_device).any():
        rows = rows[rows["device_id"] == nominal_device]
    cols = {
        "energy_J": "trace_source_J",
        "dissipated_in_r_J": "trace_loss_r_J",
        "into_cell_J": "trace_into_cell_J",
    }
    keys = ["resistance_label", "polarity"]
    if len(rows):
        measured = (
            rows.assign(resistance_label=rows["resistance_label"].astype(str))
            .groupby(keys, as_index=False)[list(cols)]
            .mean()
            .rename(columns=cols)
        )
    else:
        measured = pd.DataFrame(columns=[*keys, *cols.values()])
    out = split.assign(resistance_label=split["resistance_label"].astype(str)).merge(
        measured.astype({"polarity": int}), on=keys, how="left"
    )
    in_pulse = out["interval"] == "pulse"
    out.loc[in_pulse, ["trace_loss_r_J", "trace_into_cell_J"]] = np.nan
    scope = out.pop("scope")
    return out.assign(scope=scope)


def reference_single_pulses(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of an energy summary (:func:`summarise_energies`) at the largest
    ``amplitude_A`` and the shortest ``width_s`` among them: the single pulse whose energy the
    figure compares with the LTP/LTD pulses across states."""
    return summary[
        np.isclose(summary["amplitude_A"], summary["amplitude_A"].max())
        & np.isclose(summary["width_s"], summary["width_s"].min())
    ]
