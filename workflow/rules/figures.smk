# Figures: each its own rule and target, PNG and PDF, one shared style. They read stored
# products only, so `snakemake results/figures/<name>.png` rebuilds one figure in seconds.
# Report: every PNG is a report(...) item with a caption (workflow/report/), a category (training,
# spectra, SDE, fits or forecasts), subcategory "figures" and labels figure, model, kind, seed.


rule plot_esd_evolution:
    input:
        run_file,
    output:
        png=report(
            "results/figures/esd_evolution_{model}_seed{seed}.png",
            caption="../report/esd_evolution.rst",
            category="spectra",
            subcategory="figures",
            labels={"figure": "ESD evolution", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/esd_evolution_{model}_seed{seed}.pdf",
    params:
        n_snapshots=config["figures"]["n_esd_snapshots"],
    log:
        "results/logs/plot_esd_evolution/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_esd_evolution.py"


rule plot_sv_trajectories:
    input:
        run_file,
    output:
        png=report(
            "results/figures/sv_trajectories_{model}_seed{seed}.png",
            caption="../report/sv_trajectories.rst",
            category="spectra",
            subcategory="figures",
            labels={"figure": "singular-value trajectories", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/sv_trajectories_{model}_seed{seed}.pdf",
    params:
        top_k=config["figures"]["top_k"],
    log:
        "results/logs/plot_sv_trajectories/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_sv_trajectories.py"


rule plot_stationary_fits:
    input:
        run=run_file,
        fits=fit_file,
    output:
        png=report(
            "results/figures/stationary_fits_{model}_seed{seed}.png",
            caption="../report/stationary_fits.rst",
            category="fits",
            subcategory="figures",
            labels={"figure": "stationary laws", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/stationary_fits_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_stationary_fits/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_stationary_fits.py"


rule plot_sde_vs_observed:
    input:
        run=run_file,
        sde=sde_files,
        comparison=sde_comparison_file,
    output:
        png=report(
            "results/figures/sde_vs_observed_{model}_seed{seed}.png",
            caption="../report/sde_vs_observed.rst",
            category="SDE",
            subcategory="figures",
            labels={"figure": "SDE vs observed", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/sde_vs_observed_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_sde_vs_observed/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_sde_vs_observed.py"


rule plot_training_curves:
    input:
        run_file,
    output:
        png=report(
            "results/figures/training_curves_{model}_seed{seed}.png",
            caption="../report/training_curves.rst",
            category="training",
            subcategory="figures",
            labels={"figure": "training curves", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/training_curves_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_training_curves/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_training_curves.py"


rule plot_sde_levels:
    input:
        run=run_file,
        sde=sde_files,
    output:
        png=report(
            "results/figures/sde_levels_{model}_seed{seed}.png",
            caption="../report/sde_levels.rst",
            category="SDE",
            subcategory="figures",
            labels={"figure": "SDE levels", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/sde_levels_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_sde_levels/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_sde_levels.py"


rule plot_sde_stationary_check:
    input:
        sims=sde_check_files(),
        table="results/tables/sde_stationary_check.csv",
    output:
        png=report(
            "results/figures/sde_stationary_check.png",
            caption="../report/sde_stationary_check.rst",
            category="SDE",
            subcategory="figures",
            labels={"figure": "SDE stationary laws"},
        ),
        pdf="results/figures/sde_stationary_check.pdf",
    log:
        "results/logs/plot_sde_stationary_check/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_sde_stationary_check.py"


rule plot_kind_evolution:
    input:
        run_file,
    output:
        png=report(
            "results/figures/evolution_{kind}_{model}_seed{seed}.png",
            caption="../report/kind_evolution.rst",
            category="spectra",
            subcategory="figures",
            labels={"figure": "evolution grid", "kind": "{kind}", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/evolution_{kind}_{model}_seed{seed}.pdf",
    params:
        n_snapshots=config["figures"]["n_grid_snapshots"],
        tw_level=config["figures"]["tw_level"],
    log:
        "results/logs/plot_kind_evolution/{kind}_{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_kind_evolution.py"


rule plot_alpha_spikes:
    input:
        run=run_file,
        fits=fit_file,
    output:
        png=report(
            "results/figures/alpha_spikes_{model}_seed{seed}.png",
            caption="../report/alpha_spikes.rst",
            category="fits",
            subcategory="figures",
            labels={"figure": "alpha and spikes", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/alpha_spikes_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_alpha_spikes/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_alpha_spikes.py"


rule plot_repulsion:
    input:
        run=run_file,
        repulsion="results/fits/{model}/seed{seed}_repulsion.csv",
    output:
        png=report(
            "results/figures/repulsion_{model}_seed{seed}.png",
            caption="../report/repulsion.rst",
            category="fits",
            subcategory="figures",
            labels={"figure": "repulsion", "model": "{model}", "seed": "{seed}"},
        ),
        pdf="results/figures/repulsion_{model}_seed{seed}.pdf",
    log:
        "results/logs/plot_repulsion/{model}_seed{seed}.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_repulsion.py"


rule plot_temperature_sweep:
    input:
        table="results/tables/temperature_sweep.csv",
        slopes="results/tables/temperature_sweep_slopes.csv",
    output:
        png=report(
            "results/figures/temperature_sweep.png",
            caption="../report/temperature_sweep.rst",
            category="fits",
            subcategory="figures",
            labels={"figure": "temperature sweep"},
        ),
        pdf="results/figures/temperature_sweep.pdf",
    log:
        "results/logs/plot_temperature_sweep/all.log",
    conda:
        "../../envs/sgdspectra.yaml"
    script:
        "../../scripts/plot_temperature_sweep.py"
