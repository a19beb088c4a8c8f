"""fmes.workflow: config, manifest, planning, provenance."""
