# Dynamics and forecasts: the sigma-SDE tested term by term and calibrated on the measurements
# taken during training, and forecasts of the tracked matrices' spectra scored against the run.


rule analyse_dynamics:
    input:
        run_file,
    output:
        calibration="results/dynamics/{model}/seed{seed}_calibration.csv",
        regression="results/dynamics/{model}/seed{seed}_regression.csv",
    log:
        "results/logs/analyse_dynamics/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/analyse_dynamics.py"


rule forecast_spectra:
    input:
        run_file,
    output:
        forecast="results/forecasts/{model}/seed{seed}.nc",
        scores="results/forecasts/{model}/seed{seed}_scores.csv",
        calibration="results/forecasts/{model}/seed{seed}_calibration.csv",
    params:
        settings=forecast_params,
    log:
        "results/logs/forecast_spectra/{model}_seed{seed}.log",
    threads: 1
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/forecast_spectra.py"


rule plot_forecast_top:
    input:
        forecast="results/forecasts/{model}/seed{seed}.nc",
    output:
        png=report(
            "results/figures/forecast_top_{model}_seed{seed}.png",
            caption="../report/forecast_top.rst",
            category="forecasts",
            subcategory="figures",
            labels={"figure": "forecast of the top singular values", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/forecast_top_{model}_seed{seed}.pdf",
    params:
        top_k=tracking_top_k,
    log:
        "results/logs/plot_forecast_top/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_forecast_top.py"


rule plot_forecast_skill:
    input:
        scores="results/forecasts/{model}/seed{seed}_scores.csv",
    output:
        png=report(
            "results/figures/forecast_skill_{model}_seed{seed}.png",
            caption="../report/forecast_skill.rst",
            category="forecasts",
            subcategory="figures",
            labels={"figure": "forecast error and skill", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/forecast_skill_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_forecast_skill/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_forecast_skill.py"


rule plot_dynamics_terms:
    input:
        run_file,
    output:
        png=report(
            "results/figures/dynamics_terms_{model}_seed{seed}.png",
            caption="../report/dynamics_terms.rst",
            category="SDE",
            subcategory="figures",
            labels={"figure": "dynamics terms", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/dynamics_terms_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_dynamics_terms/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_dynamics_terms.py"


rule plot_increment_regression:
    input:
        regression="results/dynamics/{model}/seed{seed}_regression.csv",
    output:
        png=report(
            "results/figures/increment_regression_{model}_seed{seed}.png",
            caption="../report/increment_regression.rst",
            category="SDE",
            subcategory="figures",
            labels={"figure": "term-by-term regression", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/increment_regression_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_increment_regression/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_increment_regression.py"


rule make_table_forecast_skill:
    input:
        scores=forecast_score_files,
    output:
        csv=report(
            "results/tables/forecast_skill.csv",
            caption="../report/table_forecast_skill.rst",
            category="forecasts",
            subcategory="tables",
            labels={"table": "forecast skill"},
        ),
        md="results/tables/forecast_skill.md",
    log:
        "results/logs/make_table_forecast_skill.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_forecast_skill.py"


rule make_table_dynamics:
    input:
        calibration=dynamics_calibration_files,
        regression=dynamics_regression_files,
    output:
        calibration_csv=report(
            "results/tables/sde_calibration.csv",
            caption="../report/table_sde_calibration.rst",
            category="SDE",
            subcategory="tables",
            labels={"table": "SDE calibration"},
        ),
        calibration_md="results/tables/sde_calibration.md",
        regression_csv=report(
            "results/tables/increment_regression.csv",
            caption="../report/table_increment_regression.rst",
            category="SDE",
            subcategory="tables",
            labels={"table": "increment regression"},
        ),
        regression_md="results/tables/increment_regression.md",
    log:
        "results/logs/make_table_dynamics.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/make_table_dynamics.py"
