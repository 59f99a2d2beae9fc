"""Rule plot_stationary_fits: fitted stationary densities over the final spectrum."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("stationary_fits", smk.input.run, smk.output.png, smk.output.pdf, fits_path=smk.input.fits)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
