"""Run every benchmark and write benchmarks/RESULTS.md (what `make bench` runs).

    .venv/bin/python benchmarks/run_all.py            # all benchmarks, about 15 minutes on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, a few minutes: checks the scripts
    .venv/bin/python benchmarks/run_all.py --only tailfit analyze

A full run of every benchmark rewrites RESULTS.md from scratch: a summary of the headline ratios,
then one section per benchmark, all from this one run on this machine. ``--only`` updates the
named sections (and the summary rows they produce) in place. ``--quick`` writes to a scratch
file (printed at the end; ``--results`` to choose it), never to RESULTS.md. Each benchmark runs
in its own process; a failing one is reported and the others still run (exit status 1).
Benchmark-only dependencies (``powerlaw``, ``weightwatcher``) come from
benchmarks/requirements.txt (``make bench`` installs them).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results_md

HERE = Path(__file__).resolve().parent
#: (name, script, what it needs beyond the package), in run order; the workflow last (all cores).
BENCHMARKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("snapshots", "bench_snapshots.py", ()),
    ("tailfit", "bench_tailfit.py", ("powerlaw",)),
    ("analyze", "bench_analyze.py", ("weightwatcher",)),
    ("sde", "bench_sde.py", ()),
    ("workflow", "bench_workflow.py", ()),
)


def _missing(modules: tuple[str, ...]) -> list[str]:
    import importlib.util

    return [m for m in modules if importlib.util.find_spec(m) is None]


_SUMMARY_HEAD = "| benchmark | measured | value | target | note |"


def _old_summary_rows(results: Path) -> list[dict]:
    """Rows of the summary table already in ``results`` (kept for the benchmarks not rerun)."""
    if not results.exists():
        return []
    text = results.read_text()
    start = text.find(_SUMMARY_HEAD)
    if start < 0:
        return []
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5:
            rows.append({"bench": cells[0], "item": cells[1], "value": cells[2].strip("*"),
                         "target": cells[3], "note": cells[4]})
    return rows


def _summary_section(rows: list[dict], failed: list[str], wall: float, quick: bool, command: str) -> str:
    lines = [
        f"{results_md.quick_note(quick)}Machine: {results_md.machine_description()}.",
        f"Run: `{command}` on {datetime.date.today().isoformat()}, {wall / 60:.0f} min in all.",
        "",
        _SUMMARY_HEAD,
        "|---|---|---:|---|---|",
        *(f"| {r['bench']} | {r['item']} | **{r['value']}** | {r['target']} | {r['note']} |" for r in rows),
    ]
    if failed:
        lines += ["", f"**Failed in this run: {', '.join(failed)}** (see the console output)."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks the scripts, not the machine)")
    parser.add_argument("--only", nargs="+", choices=[b[0] for b in BENCHMARKS], help="run only these")
    parser.add_argument("--results", type=Path, help="results file (default: RESULTS.md; scratch file with --quick)")
    args = parser.parse_args()
    if args.results is not None:
        results = args.results.resolve()
    elif args.quick:
        results = Path(tempfile.gettempdir()) / "sgdspectra-bench-quick" / "RESULTS.md"
    else:
        results = results_md.RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    selected = [b for b in BENCHMARKS if args.only is None or b[0] in args.only]
    old_rows = _old_summary_rows(results) if args.only is not None else []
    if args.only is None and results.exists():
        results.unlink()  # a full run rewrites the file: no section from an earlier run survives
    results_md.update_section("Summary", "(being written by `benchmarks/run_all.py`)", results)

    env = {**os.environ, results_md.RESULTS_ENV: str(results)}
    failed, rows = [], []
    t_all = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="sgdspectra-bench-"))
    for name, script, needs in selected:
        missing = _missing(needs)
        if missing:
            print(f"== {name}: SKIPPED, missing {', '.join(missing)} (run `make bench`, which installs "
                  "benchmarks/requirements.txt)", flush=True)
            failed.append(f"{name} (missing {', '.join(missing)})")
            continue
        part = scratch / f"{name}.jsonl"
        print(f"== {name}: {script}{' --quick' if args.quick else ''}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE / script), *(["--quick"] if args.quick else [])],
                              cwd=HERE, env={**env, results_md.SUMMARY_ENV: str(part)}, check=False)
        print(f"== {name}: exit {proc.returncode} after {time.perf_counter() - t0:.0f} s", flush=True)
        if proc.returncode != 0:
            failed.append(name)
        if part.exists():
            rows += [{**json.loads(line), "bench": name} for line in part.read_text().splitlines() if line.strip()]
            part.unlink()
    ran = {b[0] for b in selected}
    rows = [r for r in old_rows if r.get("bench") not in ran] + rows
    order = {b[0]: i for i, b in enumerate(BENCHMARKS)}
    rows.sort(key=lambda r: order.get(r.get("bench", ""), len(order)))
    scratch.rmdir()
    command = "make bench" if not args.quick and args.only is None else "benchmarks/run_all.py " + " ".join(sys.argv[1:])
    results_md.update_section(
        "Summary", _summary_section(rows, failed, time.perf_counter() - t_all, args.quick, command), results)
    print(f"\nresults written to {results}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
