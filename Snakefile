# sgdspectra: train -> snapshot spectra -> fit laws -> simulate the SDE -> figures and tables.
# Only includes and the final targets live here; every computation is in src/sgdspectra.
from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default run; a --configfile given on the command line replaces it entirely
# (no merging of model lists), and --config key=value still overrides single keys.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/sde.smk"
include: "workflow/rules/forecast.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


# Cheap aggregation jobs run where Snakemake runs, never on a cluster node.
localrules:
    all,
    compare_sde,
    make_table_fits,
    make_table_sde,
    make_table_verdict,
    make_table_sde_check,
    make_table_sweep,
    make_table_forecast_skill,
    make_table_dynamics,
    make_report_summary,


rule all:
    input:
        all_targets(),
        rules.make_report_summary.output,
    default_target: True
