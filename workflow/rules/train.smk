# Training with singular-value snapshots: one netCDF file per model and seed.


rule train_model:
    input:
        data_inputs,
    output:
        spectra="results/runs/{model}/seed{seed}/spectra.nc",
        # final state_dict (tensors only): input for `sgdspectra analyze`
        weights="results/runs/{model}/seed{seed}/model.pt",
    params:
        model=model_config,
    log:
        "results/logs/train_model/{model}_seed{seed}.log",
    threads: 1
    resources:
        gpu=train_gpus,  # 1 for device cuda (serialised by the gpu limit); the SLURM profile sets 1
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/train_model.py"
