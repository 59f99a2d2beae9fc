"""Rule plot_sde_levels: matrix-level vs eigenvalue-level SDE ensembles."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("sde_levels", smk.input.run, smk.output.png, smk.output.pdf, sde_paths=list(smk.input.sde))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
