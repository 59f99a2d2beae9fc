"""Rule plot_alpha_spikes: tail exponent and MP spikes per matrix kind against step."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("alpha_spikes", smk.input.run, smk.output.png, smk.output.pdf, fits_path=smk.input.fits)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
