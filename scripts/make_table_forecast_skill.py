"""Rule make_table_forecast_skill: forecast skill per model, matrix and forecaster, all seeds."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.make_table_forecast_skill(list(smk.input.scores), smk.output.csv, smk.output.md)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
