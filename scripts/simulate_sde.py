"""Rule simulate_sde: simulate the matrix-level SDE from one matrix's initial spectrum."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.simulate_sde(smk.input[0], smk.wildcards.matrix, smk.output[0], level=smk.wildcards.level, **dict(smk.params.sde))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
