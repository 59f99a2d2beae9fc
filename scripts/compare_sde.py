"""Rule compare_sde: compare simulated and observed spectra of one run."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.compare_sde(smk.input.run, list(smk.input.sde), smk.output[0])


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
