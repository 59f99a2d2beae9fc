# sgdspectra: train -> snapshot spectra -> fit laws -> simulate the SDE -> figures and tables.
# Only includes and the final targets live here; every computation is in src/sgdspectra.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/sde.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/tables.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        all_targets(),
    default_target: True
