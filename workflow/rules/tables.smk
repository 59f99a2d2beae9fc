# Tables: CSV and Markdown, aggregated over seeds.


rule make_table_fits:
    input:
        fit_files_of_model,
    output:
        csv="results/tables/fits_{model}.csv",
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
        csv="results/tables/sde_vs_observed_{model}.csv",
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
        csv="results/tables/sde_stationary_check.csv",
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
        csv="results/tables/verdict_{model}.csv",
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
        slopes_csv="results/tables/temperature_sweep_slopes.csv",
        slopes_md="results/tables/temperature_sweep_slopes.md",
    log:
        "results/logs/make_table_sweep/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_sweep.py"
