# fmes-repro: reproduction of Zhao et al., Natl Sci Rev 2022 (FMES synapses).
# Run:   snakemake --cores 2            (full reproduction, config/config.yaml)
#        snakemake --cores 2 --configfile my.yaml   (reanalysis; see README)
import os

from snakemake.utils import min_version

from fmes.config import validate_config

min_version("9.0")


# the defaults always come from this repository (also with --directory); --configfile and
# --config merge over them
configfile: os.path.join(workflow.basedir, "config/config.yaml")


validate_config(config, os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml"))


# the report's landing page (snakemake --report results/report.html)
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/report_items.smk"
include: "workflow/rules/traces.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/networks.smk"
include: "workflow/rules/adaptation.smk"
include: "workflow/rules/system.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        FINAL_OUTPUTS,
    default_target: True
