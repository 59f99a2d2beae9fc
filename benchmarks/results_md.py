"""Write one benchmark's section of benchmarks/RESULTS.md (atomically), with the machine."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
#: Environment variable naming another results file (``run_all.py --quick`` writes to a scratch
#: file so that quick numbers never replace the real ones).
RESULTS_ENV = "SGDSPECTRA_BENCH_RESULTS"
HEADER = (
    "# Benchmark results\n\n"
    "Regenerate everything with `make bench` (benchmark-only dependencies from "
    "`benchmarks/requirements.txt`, then `benchmarks/run_all.py`). Each section is written by the "
    "script named in it; every ratio is measured side by side in one run, on the machine named in "
    "the section.\n"
)


def results_path() -> Path:
    """The results file: ``$SGDSPECTRA_BENCH_RESULTS`` if set, else ``benchmarks/RESULTS.md``."""
    env = os.environ.get(RESULTS_ENV)
    return Path(env) if env else RESULTS


def bench_args(description: str | None, argv: list[str] | None = None):
    """Command line shared by every benchmark: ``--quick`` (small sizes, to check that the script
    works; the numbers are not the benchmark's)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and one repeat (seconds): checks the script, not the machine")
    return parser.parse_args(argv)


def quick_note(quick: bool) -> str:
    return "**Quick mode (`--quick`): small sizes, one repeat; not the benchmark's numbers.** " if quick else ""


def machine_description() -> str:
    import numpy
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs; Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, torch {torch.__version__}")


def update_section(title: str, body: str, path: Path | None = None) -> None:
    """Replace (or append) the ``## title`` section of the results file (:func:`results_path`)."""
    path = results_path() if path is None else Path(path)
    text = path.read_text() if path.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


#: Environment variable naming a JSON-lines file that collects each benchmark's headline numbers
#: for the summary table (set by ``run_all.py``; a script run alone skips this).
SUMMARY_ENV = "SGDSPECTRA_BENCH_SUMMARY"


def add_summary(item: str, value: str, target: str = "", note: str = "") -> None:
    """Record one headline number (a row of the summary table written by ``run_all.py``)."""
    import json

    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    with open(path, "a") as fh:
        fh.write(json.dumps({"item": item, "value": value, "target": target, "note": note}) + "\n")
