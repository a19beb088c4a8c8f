"""fmes: analysis library for flexible MXene energy-storage (FMES) synapses.

Organised by subject: ``device`` (equivalent circuit and protocols), ``traces`` (raw-trace
contract I/O), ``calibration``, ``analysis`` (pulse, PPF, retention, LTP/LTD, variability),
``mnist``, ``synapse`` and ``networks`` (device-constrained estimators), ``adaptation`` and
``plotting``. Everything here is importable without Snakemake.

The modules the workflow calls while Snakemake builds its job graph (``config``, ``manifest``,
``planning``, ``provenance``, ``status``) import only the Python standard library, so the graph
is built from an environment holding Snakemake alone; this file imports nothing, to keep it so.
"""

__version__ = "0.1.0"
