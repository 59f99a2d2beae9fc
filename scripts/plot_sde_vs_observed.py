"""Rule plot_sde_vs_observed: simulated versus observed spectrum."""

from sgdspectra import pipeline
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    pipeline.plot_figure("sde_vs_observed", smk.input.run, smk.output.png, smk.output.pdf, sde_paths=list(smk.input.sde), comparison_path=smk.input.comparison)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
