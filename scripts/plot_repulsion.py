"""Rule plot_repulsion: spacing ratio against step per matrix kind."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("repulsion", smk.input.run, smk.output.png, smk.output.pdf, repulsion_path=smk.input.repulsion)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
