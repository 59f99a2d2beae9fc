"""Rule plot_esd_evolution: ESD histograms at a few snapshots with the Marchenko-Pastur density."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("esd_evolution", smk.input[0], smk.output.png, smk.output.pdf, n_snapshots=smk.params.n_snapshots)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
