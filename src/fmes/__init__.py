"""fmes: analysis library for flexible MXene energy-storage (FMES) synapses.

Organised by subject: ``device`` (equivalent circuit and protocols), ``traces`` (raw-trace
contract I/O), ``calibration``, ``analysis`` (pulse, PPF, retention, LTP/LTD, variability),
``mnist``, ``synapse`` and ``networks`` (device-constrained estimators), ``adaptation`` and
``plotting``. Everything here is importable without Snakemake.
"""

__version__ = "0.1.0"
