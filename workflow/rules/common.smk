# Shared helpers: config validation (before any job runs), wildcard constraints, named input
# functions and the list of final targets.
import os
import re
import sys
from fnmatch import fnmatch

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
FIGURES = ["esd_evolution", "sv_trajectories", "stationary_fits", "sde_vs_observed", "sde_levels", "training_curves"]


wildcard_constraints:
    model="|".join(MODELS),
    seed=r"\d+",
    matrix=r"[A-Za-z0-9_.\-]+",
    figure="|".join(FIGURES),
    level="matrix_ou|eigen",
    dataset="mnist|cifar10|tiny_shakespeare",
    datadir="|".join(sorted({re.escape(m["data"]["dir"]) for m in config["models"].values()})),
    case="wishart|vector",
    kind=r"[a-z_]+",


def model_config(wildcards):
    """The validated config of one model (the only config a training job receives)."""
    return config["models"][wildcards.model]


def model_matrices(model):
    """Names of the analysed weight matrices of a model, known before training (CASES 26)."""
    spec = config["models"][model]
    return [name for name, _ in matrix_layout(spec)]


DOWNLOADED = ("mnist", "cifar10", "tiny_shakespeare")


def train_gpus(wildcards):
    """GPUs a training job asks for: 1 when its model is configured with device cuda, else 0
    (profiles may override it; a job holding a GPU refuses to fall back to the CPU)."""
    return 1 if config["models"][wildcards.model]["train"]["device"] == "cuda" else 0


def data_inputs(wildcards):
    """The verified-download marker a model's training needs (nothing for bundled data)."""
    data = config["models"][wildcards.model]["data"]
    return [f"{data['dir']}/{data['name']}.verified"] if data["name"] in DOWNLOADED else []


def run_file(wildcards):
    return f"results/runs/{wildcards.model}/seed{wildcards.seed}/spectra.nc"


def fit_file(wildcards):
    return f"results/fits/{wildcards.model}/seed{wildcards.seed}.csv"


def sde_matrices(model):
    """The matrices of a model selected for SDE simulation by the sde.matrices patterns."""
    patterns = config["sde"]["matrices"]
    return [m for m in model_matrices(model) if any(fnmatch(m, p) for p in patterns)]


def sde_files(wildcards):
    """SDE ensembles of every selected matrix of one run, at every configured level."""
    return expand(
        "results/sde/{model}/seed{seed}/{matrix}/{level}.nc",
        model=wildcards.model, seed=wildcards.seed, matrix=sde_matrices(wildcards.model),
        level=config["sde"]["levels"],
    )


def fit_params(wildcards):
    """The fit settings fit_laws uses."""
    return {k: config["fits"][k] for k in ("min_tail", "min_values")}


def sde_params(wildcards):
    """The SDE settings one simulate_sde job uses (not the level list or the matrix patterns)."""
    keys = ("s", "gamma", "n_replicas", "n_times", "seed") + (("eigen_steps",) if wildcards.level == "eigen" else ())
    return {k: config["sde"][k] for k in keys}


def sde_comparison_file(wildcards):
    return f"results/sde/{wildcards.model}/seed{wildcards.seed}/comparison.csv"


def fit_files_of_model(wildcards):
    return expand("results/fits/{model}/seed{seed}.csv", model=wildcards.model, seed=SEEDS)


SDE_SEEDS = SEEDS if config["sde"]["all_seeds"] else SEEDS[:1]
FIGURE_SEEDS = SEEDS if config["figures"]["all_seeds"] else SEEDS[:1]


def sde_comparisons_of_model(wildcards):
    return expand("results/sde/{model}/seed{seed}/comparison.csv", model=wildcards.model, seed=SDE_SEEDS)


def sweep_models():
    """Models of the temperature sweep (sweep.models patterns)."""
    return [m for m in MODELS if any(fnmatch(m, p) for p in config["sweep"]["models"])]


def sweep_run_files(wildcards):
    return expand("results/runs/{model}/seed{seed}/spectra.nc", model=sweep_models(), seed=SEEDS)


def sweep_fit_files(wildcards):
    return expand("results/fits/{model}/seed{seed}.csv", model=sweep_models(), seed=SEEDS)


def law_files_of_model(wildcards):
    return expand("results/fits/{model}/seed{seed}_laws.csv", model=wildcards.model, seed=SEEDS)


def model_kinds(model):
    """Distinct matrix kinds of a model, in first-appearance order."""
    return list(dict.fromkeys(kind for _, kind in matrix_layout(config["models"][model])))


SDE_FIGURES = ("sde_vs_observed", "sde_levels")


def run_figures(model):
    """Figures drawn for each run of a model (SDE figures only where matrices are simulated)."""
    names = [f for f in FIGURES if f not in SDE_FIGURES] + ["alpha_spikes", "repulsion"]
    names += [f"evolution_{kind}" for kind in model_kinds(model)]
    if sde_matrices(model):
        if "matrix_ou" in config["sde"]["levels"]:
            names.append("sde_vs_observed")
        if len(config["sde"]["levels"]) == 2:
            names.append("sde_levels")
    return names


def sde_models():
    return [m for m in MODELS if sde_matrices(m)]


def sde_check_params(wildcards):
    """Settings of the stationary check that the simulation uses (not the on/off switch)."""
    return {k: v for k, v in config["sde_check"].items() if k != "enabled"}


def sde_check_files():
    """Stationary-check simulations: both cases at both levels."""
    return expand("results/sde/check/{case}/{level}.nc", case=["wishart", "vector"], level=["matrix_ou", "eigen"])


def all_targets():
    """Every figure (PNG and PDF) of every run, and every table of every model."""
    figures = []
    for model in MODELS if config["figures"]["per_run"] else []:
        for figure in run_figures(model):
            seeds = SDE_SEEDS if figure in SDE_FIGURES else FIGURE_SEEDS
            figures += [f"results/figures/{figure}_{model}_seed{seed}.{ext}" for seed in seeds for ext in ("png", "pdf")]
    tables = expand("results/tables/{table}_{model}.{ext}", table=["fits", "verdict"], model=MODELS, ext=["csv", "md"])
    tables += expand("results/tables/sde_vs_observed_{model}.{ext}", model=sde_models(), ext=["csv", "md"])
    check = []
    if config["sde_check"]["enabled"]:
        check = expand("results/figures/sde_stationary_check.{ext}", ext=["png", "pdf"])
        check += expand("results/tables/sde_stationary_check.{ext}", ext=["csv", "md"])
    if config["sweep"]["enabled"]:
        check += ["results/figures/temperature_sweep.png", "results/figures/temperature_sweep.pdf",
                  "results/tables/temperature_sweep_slopes.md"]
    return figures + tables + check + forecast_targets()


def dynamics_models():
    """Models whose training measures the SDE's terms (models.<name>.dynamics.windows > 0)."""
    return [m for m in MODELS if config["models"][m]["dynamics"]["windows"] > 0]


def forecast_models():
    """Models with tracked matrices, hence forecasts (models.<name>.tracking.matrices)."""
    return [m for m in MODELS if config["models"][m]["tracking"]["matrices"]]


def tracking_top_k(wildcards):
    """Number of largest values drawn in a model's forecast figure (its tracking.top_k)."""
    return config["models"][wildcards.model]["tracking"]["top_k"]


def forecast_params(wildcards):
    """The forecast settings one forecast_spectra job uses (not the figure switch)."""
    return {k: config["forecast"][k] for k in ("n_replicas", "sde_steps", "calibration_windows", "seed")}


def forecast_score_files(wildcards):
    return expand("results/forecasts/{model}/seed{seed}_scores.csv", model=forecast_models(), seed=SEEDS)


def dynamics_calibration_files(wildcards):
    return expand("results/dynamics/{model}/seed{seed}_calibration.csv", model=dynamics_models(), seed=SEEDS)


def dynamics_regression_files(wildcards):
    return expand("results/dynamics/{model}/seed{seed}_regression.csv", model=dynamics_models(), seed=SEEDS)


def forecast_targets():
    """Forecast and dynamics figures (first seed unless forecast.all_seeds) and their tables."""
    seeds = SEEDS if config["forecast"]["all_seeds"] else SEEDS[:1]
    out = []
    for name, models in (("forecast_top", forecast_models()), ("forecast_skill", forecast_models()),
                         ("dynamics_terms", dynamics_models()), ("increment_regression", dynamics_models())):
        out += expand("results/figures/{name}_{model}_seed{seed}.{ext}", name=name, model=models, seed=seeds,
                      ext=["png", "pdf"])
    if forecast_models():
        out += expand("results/tables/forecast_skill.{ext}", ext=["csv", "md"])
    if dynamics_models():
        out += expand("results/tables/{t}.{ext}", t=["sde_calibration", "increment_regression"], ext=["csv", "md"])
    return out
