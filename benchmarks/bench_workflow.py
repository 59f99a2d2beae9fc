"""End to end: wall time of `make run`'s workflow from a clean results directory.

Run: .venv/bin/python benchmarks/bench_workflow.py [--quick]   (about as long as `make run`; the
quick mode runs config/tiny.yaml, about a minute)
Writes the "End to end" section of benchmarks/RESULTS.md.

The working tree (tracked and untracked, not ignored, files) is copied to a temporary directory,
so the run starts with no results/ and no .snakemake/ and leaves this checkout alone; the two
commands of `make run` then run there with this checkout's .venv (whose editable install of
sgdspectra points at this checkout's src/):
``snakemake --cores all --configfile config.yaml`` and
``snakemake --configfile config.yaml --report results/report.html``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_md import add_summary, bench_args, machine_description, quick_note, update_section

REPO = Path(__file__).resolve().parents[1]
CORES = "all"  # as `make run` (CORES ?= all)


def copy_tree(dest: Path) -> int:
    """Copy the files git would consider part of the working tree; returns how many."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, check=True).stdout
    n = 0
    for rel in filter(None, out.decode().split("\0")):
        src = REPO / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        n += 1
    return n


def run(cmd: list[str], cwd: Path, log: Path) -> tuple[float, int, str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False)
    return time.perf_counter() - t0, proc.returncode, log.read_text()


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    config = "config/tiny.yaml" if args.quick else "config.yaml"
    snakemake = str(Path(sys.executable).parent / "snakemake")
    with tempfile.TemporaryDirectory(prefix="sgdspectra-e2e-") as tmp:
        work = Path(tmp) / "repo"
        n_files = copy_tree(work)
        assert not (work / "results").exists()
        t_run, rc_run, out_run = run([snakemake, "--cores", CORES, "--configfile", config], work,
                                     Path(tmp) / "run.log")
        t_rep, rc_rep, out_rep = (0.0, -1, "")
        if rc_run == 0:
            t_rep, rc_rep, out_rep = run([snakemake, "--configfile", config, "--report", "results/report.html"],
                                         work, Path(tmp) / "report.log")
        n_outputs = sum(1 for p in (work / "results").rglob("*") if p.is_file()) if (work / "results").exists() else 0
        report_ok = (work / "results" / "report.html").is_file()
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", out_run)
    jobs = done[-1][1] if done else "?"
    if rc_run != 0 or rc_rep != 0:
        tail = (out_run if rc_run != 0 else out_rep)[-3000:]
        print(tail, file=sys.stderr)
    total = t_run + t_rep
    status = "ok" if rc_run == 0 and rc_rep == 0 and report_ok else (
        f"FAILED (workflow exit {rc_run}, report exit {rc_rep})")
    add_summary(f"end to end: `make run` workflow from a clean results directory ({config})",
                f"{total:.0f} s", "", f"{jobs} jobs, {status}")
    body = "\n".join([
        "Written by `benchmarks/bench_workflow.py`.",
        "",
        f"{quick_note(args.quick)}Machine: {machine_description()}; snakemake `--cores {CORES}` "
        f"({os.cpu_count()} cores).",
        "",
        f"A copy of the working tree ({n_files} files, no results/, no .snakemake/) runs the two commands "
        f"of `make run` with `{config}` and this checkout's .venv.",
        "",
        "| command | wall (s) | result |",
        "|---|---:|---|",
        f"| `snakemake --cores {CORES} --configfile {config}` | {t_run:.0f} | exit {rc_run}, {jobs} jobs |",
        f"| `snakemake --configfile {config} --report results/report.html` | {t_rep:.0f} | exit {rc_rep}, "
        f"report {'written' if report_ok else 'missing'} |",
        f"| **total** | **{total:.0f}** | {status}; {n_outputs} files under results/ |",
    ])
    update_section("End to end", body)
    print(body)
    if status != "ok":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
