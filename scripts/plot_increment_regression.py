"""Rule plot_increment_regression: coefficients of the term-by-term increment regression."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_forecast("increment_regression", smk.output.png, smk.output.pdf, regression_path=smk.input.regression)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
