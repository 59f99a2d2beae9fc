"""Rule plot_temperature_sweep: stationary scale and alpha against the temperature."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_temperature_sweep(smk.input.table, smk.input.slopes, smk.output.png, smk.output.pdf)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
