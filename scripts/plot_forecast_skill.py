"""Rule plot_forecast_skill: forecast error and skill against horizon."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_forecast("forecast_skill", smk.output.png, smk.output.pdf, scores_path=smk.input.scores)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
