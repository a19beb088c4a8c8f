"""fmes.data: build_manifest, instruments, store, targets, traces."""
