"""Rule analyse_dynamics: per-window SDE calibration and the term-by-term increment regression of one run."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.analyse_dynamics(smk.input[0], smk.wildcards.model, int(smk.wildcards.seed), smk.output.calibration,
                              smk.output.regression)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
