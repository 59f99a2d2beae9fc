"""Rule plot_forecast_top: predicted versus observed top singular values."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_forecast("forecast_top", smk.output.png, smk.output.pdf, forecast_path=smk.input.forecast, top_k=int(smk.params.top_k))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
