"""Rule fit_laws: fit every law to every matrix at every snapshot of one run."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.fit_laws(smk.input[0], smk.output[0], **dict(smk.params.fits))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
