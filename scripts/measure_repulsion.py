"""Rule measure_repulsion: spacing ratio of the bulk singular values per snapshot and matrix."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.measure_repulsion(smk.input[0], smk.output[0], n_boot=smk.params.n_boot)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
