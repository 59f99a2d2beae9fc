# Matrix-level SDE ensembles started from each recorded matrix's initial spectrum, and their
# comparison with the observed spectra.


rule simulate_sde:
    input:
        run_file,
    output:
        "results/sde/{model}/seed{seed}/{matrix}/{level}.nc",
    params:
        sde=sde_params,
    log:
        "results/logs/simulate_sde/{model}_seed{seed}_{matrix}_{level}.log",
    threads: 1
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/simulate_sde.py"


rule compare_sde:
    input:
        run=run_file,
        sde=sde_files,
    output:
        "results/sde/{model}/seed{seed}/comparison.csv",
    log:
        "results/logs/compare_sde/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/compare_sde.py"


rule simulate_sde_check:
    output:
        "results/sde/check/{case}/{level}.nc",
    params:
        check=sde_check_params,
    log:
        "results/logs/simulate_sde_check/{case}_{level}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/simulate_sde_check.py"
