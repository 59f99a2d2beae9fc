"""Rule make_table_sde_check: KS of the stationary-check samples against each law."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.make_table_sde_check(list(smk.input), smk.output.csv, smk.output.md)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
