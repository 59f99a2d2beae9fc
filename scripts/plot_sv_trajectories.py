"""Rule plot_sv_trajectories: the largest singular values against step."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("sv_trajectories", smk.input[0], smk.output.png, smk.output.pdf, top=smk.params.top_k)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
