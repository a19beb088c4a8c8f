"""fmes.networks: adaptation, adaptation_energy, estimators, inference, landscape, mnist."""
