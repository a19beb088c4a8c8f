"""Device landscape: network accuracy over possible devices, with the fitted FMES states on it.

Two planes through device-parameter space, each trained through the same estimators
(:mod:`fmes.networks.estimators`) as the resistance states:

* ``nonlinearity``: NeuroSim NL label of LTP x NL label of LTD (the label -> A conversion of
  :func:`fmes.device.synapse.a_norm_from_nl`; 0 = linear), at ``n_levels`` pulses per sweep and
  no noise;
* ``levels_noise``: number of levels (pulses per full sweep, N) x cycle-to-cycle noise (sigma as a
  fraction of the range), with linear steps.

Every grid device has the range [0, 1] V (the per-state mapping makes the range itself
irrelevant) and no device-to-device spread, so each plane isolates its two non-idealities.
The fitted states are placed at their own (NL_LTP, NL_LTD) and (n_pulses, c2c_sigma_frac).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fmes.device.synapse import DeviceSpec, a_norm_from_nl, nl_label_from_a

PLANES = {
    "nonlinearity": ("nl_ltp", "nl_ltd"),
    "levels_noise": ("n_levels", "c2c_sigma_frac"),
}
# A = LINEAR_A_OVER_N x N stands in for NL = 0: deviation from a line ~1/(8 x 1e4) of the range.
LINEAR_A_OVER_N = 1e4


def _a_pulses(nl_label: float, n_levels: int) -> float:
    a_norm = a_norm_from_nl(float(nl_label))
    return (LINEAR_A_OVER_N if not np.isfinite(a_norm) else a_norm) * n_levels


def grid_device(nl_ltp: float, nl_ltd: float, n_levels: int, c2c_sigma_frac: float) -> DeviceSpec:
    """A device of range [0, 1] V with the given NL labels, levels and cycle-to-cycle noise."""
    n = int(n_levels)
    return DeviceSpec(
        label=f"NL {nl_ltp:g}/{nl_ltd:g}, N {n}, c2c {c2c_sigma_frac:g}",
        g_min_V=0.0,
        g_max_V=1.0,
        n_pulses=n,
        a_p_pulses=_a_pulses(nl_ltp, n),
        a_d_pulses=_a_pulses(nl_ltd, n),
        c2c_sigma_frac=float(c2c_sigma_frac),
    )


def landscape_grid(
    nl_labels: Sequence[float],
    n_levels: Sequence[int],
    c2c_sigma_fracs: Sequence[float],
    reference_levels: int,
) -> pd.DataFrame:
    """The grid points of both planes: columns ``plane, nl_ltp, nl_ltd, n_levels,
    c2c_sigma_frac`` (the other plane's parameters at their ideal values)."""
    rows = [
        ("nonlinearity", p, d, int(reference_levels), 0.0) for p in nl_labels for d in nl_labels
    ]
    rows += [
        ("levels_noise", 0.0, 0.0, int(n), float(s)) for n in n_levels for s in c2c_sigma_fracs
    ]
    return pd.DataFrame(rows, columns=["plane", "nl_ltp", "nl_ltd", "n_levels", "c2c_sigma_frac"])


def state_points(specs: Mapping[str, DeviceSpec]) -> pd.DataFrame:
    """The fitted states' coordinates on both planes (NL labels as fitted, or from A/N)."""
    rows = []
    for label, s in specs.items():
        nl_p = s.nl_ltp if s.nl_ltp is not None else nl_label_from_a(s.a_p_pulses / s.n_pulses)
        nl_d = s.nl_ltd if s.nl_ltd is not None else nl_label_from_a(s.a_d_pulses / s.n_pulses)
        rows.append(
            {
                "state": label,
                "nl_ltp": float(nl_p),
                "nl_ltd": float(nl_d),
                "n_levels": int(s.n_pulses),
                "c2c_sigma_frac": float(s.c2c_sigma_frac),
            }
        )
    return pd.DataFrame(rows, columns=["state", "nl_ltp", "nl_ltd", "n_levels", "c2c_sigma_frac"])
