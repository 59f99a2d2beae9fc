# Law fits per run, matrix, snapshot step and law: one tidy CSV per run.


rule fit_laws:
    input:
        run_file,
    output:
        "results/fits/{model}/seed{seed}.csv",
    params:
        fits=fit_params,
    log:
        "results/logs/fit_laws/{model}_seed{seed}.log",
    threads: 1
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/fit_laws.py"


rule fit_law_comparison:
    input:
        run_file,
    output:
        "results/fits/{model}/seed{seed}_laws.csv",
    params:
        late_snapshots=config["fits"]["late_snapshots"],
        n_boot=config["fits"]["n_boot_laws"],
    log:
        "results/logs/fit_law_comparison/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/fit_law_comparison.py"


rule measure_repulsion:
    input:
        run_file,
    output:
        "results/fits/{model}/seed{seed}_repulsion.csv",
    params:
        n_boot=config["fits"]["n_boot"],
    log:
        "results/logs/measure_repulsion/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/measure_repulsion.py"
