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

Import from the submodules (``from fmes.analysis.ppf import fit_ppf``); this file imports
nothing on purpose. Importing any submodule runs this file first, and the workflow declares a
rule script's whole import closure as the rule's inputs (``fmes.workflow.provenance``): eager imports here
would make every user of one analysis (trace validation uses pulse detection) depend on all of
them, so editing one analysis would rerun the traces' validation and everything after it.
"""
