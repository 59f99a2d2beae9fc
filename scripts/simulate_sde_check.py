"""Rule simulate_sde_check: one stationary-law check case at one SDE level."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.simulate_check(smk.wildcards.case, smk.wildcards.level, smk.output[0], **dict(smk.params.check))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
