"""Rule fit_law_comparison: every candidate law at the late snapshots of one run."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.fit_law_comparison(smk.input[0], smk.output[0], late_snapshots=smk.params.late_snapshots,
                                n_boot=smk.params.n_boot)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
