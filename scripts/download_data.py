"""Rule download_data: fetch and verify a paper-scale data set."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.download_data(smk.wildcards.dataset, smk.wildcards.datadir, smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
