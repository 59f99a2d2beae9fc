"""Rule make_table_sde: tabulate the SDE-vs-observed comparison of one model."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.make_table_sde(list(smk.input), smk.output.csv, smk.output.md)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
