# Tables: CSV and Markdown, aggregated over seeds. Each CSV is a report item (subcategory "tables").


rule make_table_fits:
    input:
        fit_files_of_model,
    output:
        csv=report(
            "results/tables/fits_{model}.csv",
            caption="../report/table_fits.rst",
            category="fits",
            subcategory="tables",
            labels={"table": "law fits", "model": "{model}"},
        ),
        md="results/tables/fits_{model}.md",
    log:
        "results/logs/make_table_fits/{model}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_fits.py"


rule make_table_sde:
    input:
        sde_comparisons_of_model,
    output:
        csv=report(
            "results/tables/sde_vs_observed_{model}.csv",
            caption="../report/table_sde.rst",
            category="SDE",
            subcategory="tables",
            labels={"table": "SDE vs observed", "model": "{model}"},
        ),
        md="results/tables/sde_vs_observed_{model}.md",
    log:
        "results/logs/make_table_sde/{model}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_sde.py"


rule make_table_sde_check:
    input:
        sde_check_files(),
    output:
        csv=report(
            "results/tables/sde_stationary_check.csv",
            caption="../report/table_sde_check.rst",
            category="SDE",
            subcategory="tables",
            labels={"table": "SDE stationary laws"},
        ),
        md="results/tables/sde_stationary_check.md",
    log:
        "results/logs/make_table_sde_check/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_sde_check.py"


rule make_table_verdict:
    input:
        law_files_of_model,
    output:
        csv=report(
            "results/tables/verdict_{model}.csv",
            caption="../report/table_verdict.rst",
            category="fits",
            subcategory="tables",
            labels={"table": "verdict", "model": "{model}"},
        ),
        md="results/tables/verdict_{model}.md",
    log:
        "results/logs/make_table_verdict/{model}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_verdict.py"


rule make_table_sweep:
    input:
        runs=sweep_run_files,
        fits=sweep_fit_files,
    output:
        csv="results/tables/temperature_sweep.csv",
        slopes_csv=report(
            "results/tables/temperature_sweep_slopes.csv",
            caption="../report/table_sweep.rst",
            category="fits",
            subcategory="tables",
            labels={"table": "temperature sweep slopes"},
        ),
        slopes_md="results/tables/temperature_sweep_slopes.md",
    log:
        "results/logs/make_table_sweep/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_sweep.py"
