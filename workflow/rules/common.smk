# Shared helpers: config validation (before any job runs), wildcard constraints, named input
# functions and the list of final targets.
import os
import sys

# Jobs import sgdspectra from this repository's src/, whatever environment runs them
# (the .venv of `make run`, a --sdm conda environment, or a cluster node).
_SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)

from sgdspectra.architecture import matrix_layout
from sgdspectra.config import validate_config

validate_config(config)  # fills defaults in place; raises ConfigError naming the bad key

MODELS = list(config["models"])
SEEDS = [int(s) for s in config["seeds"]]
FIGURES = ["esd_evolution", "sv_trajectories", "stationary_fits", "sde_vs_observed", "training_curves"]


wildcard_constraints:
    model="|".join(MODELS),
    seed=r"\d+",
    matrix=r"[A-Za-z0-9_.\-]+",
    figure="|".join(FIGURES),


def model_config(wildcards):
    """The validated config of one model (the only config a training job receives)."""
    return config["models"][wildcards.model]


def model_matrices(model):
    """Names of the analysed weight matrices of a model, known before training (CASES 26)."""
    spec = config["models"][model]
    return [name for name, _ in matrix_layout(spec)]


def run_file(wildcards):
    return f"results/runs/{wildcards.model}/seed{wildcards.seed}/spectra.nc"


def fit_file(wildcards):
    return f"results/fits/{wildcards.model}/seed{wildcards.seed}.csv"


def sde_files(wildcards):
    """SDE ensembles of every matrix of one run."""
    return expand(
        "results/sde/{model}/seed{seed}/{matrix}/matrix_ou.nc",
        model=wildcards.model, seed=wildcards.seed, matrix=model_matrices(wildcards.model),
    )


def sde_comparison_file(wildcards):
    return f"results/sde/{wildcards.model}/seed{wildcards.seed}/comparison.csv"


def fit_files_of_model(wildcards):
    return expand("results/fits/{model}/seed{seed}.csv", model=wildcards.model, seed=SEEDS)


def sde_comparisons_of_model(wildcards):
    return expand("results/sde/{model}/seed{seed}/comparison.csv", model=wildcards.model, seed=SEEDS)


def all_targets():
    """Every figure (PNG and PDF) of every run, and every table of every model."""
    figures = expand(
        "results/figures/{figure}_{model}_seed{seed}.{ext}",
        figure=FIGURES, model=MODELS, seed=SEEDS, ext=["png", "pdf"],
    )
    tables = expand(
        "results/tables/{table}_{model}.{ext}",
        table=["fits", "sde_vs_observed"], model=MODELS, ext=["csv", "md"],
    )
    return figures + tables
