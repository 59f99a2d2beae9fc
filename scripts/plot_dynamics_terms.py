"""Rule plot_dynamics_terms: magnitudes of the sigma-SDE drift terms during training."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_forecast("dynamics_terms", smk.output.png, smk.output.pdf, run_path=smk.input[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
