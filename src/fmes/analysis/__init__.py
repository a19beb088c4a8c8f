"""Device analyses on traces in the raw-trace contract (raw/README.md).

Submodules (all take arrays/DataFrames and plain parameters; no file I/O):

- :mod:`~fmes.analysis.pulses`: pulse edges from ``current_A``; per-pulse PSV read-out.
- :mod:`~fmes.analysis.iv`: I-V loops, current at 0.6 V on the forward sweep.
- :mod:`~fmes.analysis.ppf`: A1, A2, PPF = A2/A1 and its double/single exponential fit.
- :mod:`~fmes.analysis.acf`: autocorrelation memory metric (std of the normalised ACF).
- :mod:`~fmes.analysis.retention`: Kohlrausch and two-term exponential forgetting fits.
- :mod:`~fmes.analysis.ltp_ltd`: NeuroSim LTP/LTD fit, NL labels, states, dynamic range.
- :mod:`~fmes.analysis.variability`: c2c/d2d CVs, CDFs, endurance, array maps.
- :mod:`~fmes.analysis.device_params`: the ``device_params.csv`` contract table.
- :mod:`~fmes.analysis.qc`: per-trace QC rows and figures of the robust read-out.

Every fit returns a flat row with value, 1-sigma ``*_stderr``, 95 % interval ``*_ci95_lo/hi``,
``converged`` and ``reason``; a failed fit is a flagged row, never an exception.
"""

from fmes.analysis.acf import acf_memory_metric, sample_acf
from fmes.analysis.device_params import DEVICE_PARAMS_COLUMNS, assemble_device_params
from fmes.analysis.iv import current_at_voltage, iv_branches
from fmes.analysis.ltp_ltd import (
    NEUROSIM_NL_TABLE,
    a_norm_from_nl,
    fit_ltp_ltd,
    ltp_ltd_curve,
    ltp_ltd_weights,
    nl_label_from_a,
    relaxation_curve,
)
from fmes.analysis.ppf import fit_ppf, ppf_double, ppf_from_pulses, ppf_single
from fmes.analysis.pulses import NoPulsesError, PartialPulseError, detect_pulses
from fmes.analysis.retention import fit_retention, kohlrausch, log_spaced_points, two_exponential
from fmes.analysis.variability import (
    METRICS,
    coefficient_of_variation,
    ecdf,
    grid_position,
    variability_summary,
    with_derived_metrics,
)

__all__ = [
    "DEVICE_PARAMS_COLUMNS",
    "METRICS",
    "NEUROSIM_NL_TABLE",
    "NoPulsesError",
    "PartialPulseError",
    "a_norm_from_nl",
    "acf_memory_metric",
    "assemble_device_params",
    "coefficient_of_variation",
    "current_at_voltage",
    "detect_pulses",
    "ecdf",
    "fit_ltp_ltd",
    "fit_ppf",
    "fit_retention",
    "grid_position",
    "iv_branches",
    "kohlrausch",
    "log_spaced_points",
    "ltp_ltd_curve",
    "ltp_ltd_weights",
    "nl_label_from_a",
    "ppf_double",
    "ppf_from_pulses",
    "ppf_single",
    "relaxation_curve",
    "sample_acf",
    "two_exponential",
    "variability_summary",
    "with_derived_metrics",
]
