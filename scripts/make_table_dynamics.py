"""Rule make_table_dynamics: SDE calibration and term-by-term regression tables, all runs."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.make_dynamics_tables(list(smk.input.calibration), list(smk.input.regression), dict(smk.output))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
