# fmes-repro: reproduction of Zhao et al., Natl Sci Rev 2022 (FMES synapses).
# Entry point from the repository root. The workflow itself is workflow/Snakefile (the layout of
# the Snakemake workflow catalog; `snakemake -s workflow/Snakefile` runs the same workflow).
# Run:   snakemake --cores 2            (full reproduction, config/config.yaml)
#        snakemake --cores 2 --configfile my.yaml   (reanalysis; see README and config/README.md)


include: "workflow/Snakefile"


# Snakemake keeps the default target of the main Snakefile only (an included file's
# `default_target: True` is dropped), so the entry point names workflow/Snakefile's one.
workflow.default_target = "all"
