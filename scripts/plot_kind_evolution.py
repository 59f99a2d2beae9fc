"""Rule plot_kind_evolution: the 20-snapshot evolution grid of one matrix kind."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("evolution", smk.input[0], smk.output.png, smk.output.pdf, kind=smk.wildcards.kind,
                         n_snapshots=smk.params.n_snapshots, tw_level=smk.params.tw_level)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
