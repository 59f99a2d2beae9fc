# Law fits per run, matrix, snapshot step and law: one tidy CSV per run.


rule fit_laws:
    input:
        run_file,
    output:
        "results/fits/{model}/seed{seed}.csv",
    params:
        fits=config["fits"],
    log:
        "results/logs/fit_laws/{model}_seed{seed}.log",
    threads: 1
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/fit_laws.py"
