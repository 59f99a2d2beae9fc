"""Rule make_report_summary: the verdict summary that the HTML report's front page embeds."""

from sgdspectra.report import write_verdict_summary
from sgdspectra.runtime import setup_logging


def main(smk) -> None:
    setup_logging(smk.log[0])
    write_verdict_summary(list(smk.input), smk.output.html)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
