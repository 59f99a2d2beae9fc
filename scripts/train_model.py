"""Rule train_model: train one model with one seed, recording singular-value snapshots."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.train_model(smk.wildcards.model, dict(smk.params.model), int(smk.wildcards.seed), smk.output.spectra,
                         smk.threads, smk.output.weights,
                         gpus=int(getattr(smk.resources, "gpu", 0) or 0))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
