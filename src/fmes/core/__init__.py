"""fmes.core: contracts, figures, io, logs, rng, status."""
