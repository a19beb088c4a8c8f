"""The Student-t interval of a mean over replicates (seeds), shared by the networks' cost
tables and the claims' verdicts."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import stats


def t_interval(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` and its two-sided Student-t ``confidence`` interval (NaN interval for
    fewer than two values, all NaN for none). Non-finite values are kept: they make it NaN."""
    v = np.fromiter(values, dtype=float)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half
