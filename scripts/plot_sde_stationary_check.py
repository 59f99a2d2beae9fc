"""Rule plot_sde_stationary_check: both SDE levels against the stationary laws."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_stationary_check(list(smk.input.sims), smk.input.table, smk.output.png, smk.output.pdf)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
