"""fmes.device: calibration, circuit, energy, synapse, synthetic."""
