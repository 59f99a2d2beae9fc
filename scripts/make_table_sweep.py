"""Rule make_table_sweep: the temperature-sweep table and its log-log slopes."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.make_table_sweep(list(smk.input.runs), list(smk.input.fits), smk.output.csv, smk.output.slopes_csv,
                              smk.output.slopes_md)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
