"""Rule forecast_spectra: forecast the tracked matrices' spectra from t0 and score every forecaster."""

from sgdspectra import pipeline
from sgdspectra.runtime import configure_threads, setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    configure_threads(smk.threads)
    pipeline.forecast_spectra(smk.input[0], smk.wildcards.model, int(smk.wildcards.seed), dict(smk.params.settings),
                              smk.output.forecast, smk.output.scores, smk.output.calibration)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
