"""Whole-model analysis: ``sgdspectra analyze`` against ``weightwatcher`` on one checkpoint.

Run: .venv/bin/python benchmarks/bench_analyze.py [--quick]   (about a minute on 2 cores; needs
the pinned ``weightwatcher`` from benchmarks/requirements.txt)
Writes the "Whole-model analysis" section of benchmarks/RESULTS.md.

The checkpoint: a 784-512-512-10 MLP trained with SGD on MNIST-shaped synthetic data (inputs
N(0, 1), labels from a fixed random linear teacher, so that there is something to learn), saved
as a plain ``state_dict``. Timed on the same file, each tool in a process of its own (alternating):
``analyze_file(path)`` (what ``sgdspectra analyze`` runs after parsing its arguments) and
``WeightWatcher(model=model).analyze()`` on the same weights loaded into the module (WW's
defaults: no plots, no randomisation, no MP fit). The CLI's wall time (interpreter start and
imports included) is reported apart.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import torch

from results_md import add_summary, bench_args, machine_description, quick_note, update_section
from sgdspectra.analyze import analyze_file
from sgdspectra.config import TrainConfig
from sgdspectra.data import ArrayDataset
from sgdspectra.fitting import fit_power_law
from sgdspectra.models import MLP
from sgdspectra.runtime import configure_threads
from sgdspectra.spectra import singular_values
from sgdspectra.tasks import ClassificationTask
from sgdspectra.train import save_state_dict
from sgdspectra.training import Trainer

THREADS = 2
WIDTHS = [784, 512, 512, 10]
PIN = "weightwatcher==0.7.7"


def teacher_data(n: int = 8192, seed: int = 0) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 784)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((784, 10)), axis=1).astype(np.int64)
    return ArrayDataset("teacher784", x[: n - 1024], y[: n - 1024], x[n - 1024 :], y[n - 1024 :], 10)


def train_checkpoint(path: Path, steps: int) -> tuple[MLP, float]:
    torch.manual_seed(0)
    model = MLP(WIDTHS)
    data = teacher_data()
    trainer = Trainer(model, ClassificationTask(data, 32, 1), TrainConfig(steps=steps, batch_size=32, lr=0.05))
    trainer.fit()
    save_state_dict(model, path)
    return model, trainer.evaluate("val")[1]


def ww_conventions_alpha(lam: np.ndarray) -> float:
    """alpha of ``lam`` under WeightWatcher 0.7.7's default conventions, computed here to show that
    they explain the differences: eigenvalues <= 1e-5 dropped; from 20 values on, the CSN scan over
    every value but the largest with the left-limit KS distance (our ``fit_power_law`` with
    ``min_tail=2, ks="left"``); below 20 values, its small-sample fit (bias-corrected MLE
    1 + (n - 1) / sum ln(x / xmin), tails of at least 8, xmin minimising D - 0.868 / sqrt(n))."""
    x = np.sort(lam[lam > 1e-5])
    if x.size >= 20:
        return fit_power_law(x, min_tail=2, ks="left").alpha
    best_j, best_alpha = np.inf, np.nan
    logs = np.log(x)
    for i in range(x.size - 1):
        n = x.size - i
        s = float(np.sum(logs[i:]) - n * logs[i])
        if n < 8 or s <= 1e-12:
            continue
        alpha = 1.0 + (n - 1.0) / s
        d = float(np.max(np.abs(np.arange(n) / n - (1.0 - (x[i:] / x[i]) ** (1.0 - alpha)))))
        if d - 0.868 / np.sqrt(n) < best_j:
            best_j, best_alpha = d - 0.868 / np.sqrt(n), alpha
    return best_alpha


def ww_analyze(ww, model):
    """WeightWatcher's analyze with its prints (e.g. 'SMALL N PL FIT') and warnings silenced."""
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ww.WeightWatcher(model=model).analyze()


def worker(tool: str, path: str, repeats: int) -> dict:
    """Time one tool in a process of its own (no thread pool of the other tool left spinning):
    one warm-up call, then the best of ``repeats``; returns the time and the per-layer results."""
    configure_threads(THREADS)
    if tool == "ours":
        analyze_file(path)
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = analyze_file(path)
            best = min(best, time.perf_counter() - t0)
        return {"seconds": best, "layers": [{k: r[k] for k in ("name", "n_rows", "n_cols", "alpha", "xmin", "n_tail")}
                                            for r in result.layers]}
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):  # import-time notices
        import weightwatcher as ww
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    model = MLP(WIDTHS)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    ww_analyze(ww, model)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        details = ww_analyze(ww, model)
        best = min(best, time.perf_counter() - t0)
    rows = details.sort_values("layer_id")[["alpha", "xmin", "D"]].astype(float).to_dict("records")
    return {"seconds": best, "layers": rows}


def _run_worker(tool: str, path: Path, repeats: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", tool, str(path), str(repeats)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{tool} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    args = bench_args(__doc__.splitlines()[0])
    configure_threads(THREADS)
    repeats = 1 if args.quick else 5
    rounds = 1 if args.quick else 2
    steps = 100 if args.quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mlp784.pt"
        _, val_acc = train_checkpoint(path, steps)
        t_ours = t_ww = np.inf
        for _ in range(rounds):  # the two tools alternate, each in a fresh process
            res_ours = _run_worker("ours", path, repeats)
            res_ww = _run_worker("ww", path, repeats)
            t_ours, t_ww = min(t_ours, res_ours["seconds"]), min(t_ww, res_ww["seconds"])
        exe = Path(sys.executable).parent / "sgdspectra"
        t0 = time.perf_counter()
        proc = subprocess.run([str(exe), "analyze", str(path), "--quiet"], capture_output=True, text=True,
                              check=False)
        t_cli = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"sgdspectra analyze failed: {proc.stderr}")
        sd = torch.load(path, map_location="cpu", weights_only=True)
    ours_layers, ww_rows = res_ours["layers"], res_ww["layers"]

    rows, worst = [], 0.0
    by_name = {r["name"]: r for r in ours_layers}
    names = [k for k, v in sd.items() if v.ndim == 2]
    assert len(ww_rows) == len(names), (len(ww_rows), names)
    for key, w in zip(names, ww_rows, strict=True):
        r = by_name[key]
        lam = singular_values(sd[key]) ** 2
        same = ww_conventions_alpha(lam)
        d_alpha = r["alpha"] - w["alpha"]
        d_same = same - w["alpha"]
        worst = max(worst, abs(d_same))
        rows.append(
            f"| {key} | {r['n_rows']} x {r['n_cols']} | {w['alpha']:.4f} | {w['xmin']:.4g} | {w['D']:.4f} | "
            f"{r['alpha']:.4f} | {r['xmin']:.4g} | {r['n_tail']} | **{d_alpha:+.3f}** | {same:.4f} | "
            f"{d_same:+.1e} |")
        print(rows[-1], flush=True)
    ratio = t_ww / t_ours
    add_summary("whole-model analysis: WeightWatcher.analyze() time / sgdspectra analyze time "
                "(784-512-512-10)", f"{ratio:.1f}x", "",
                f"alpha differences explained: equal to {worst:.0e} when WW's conventions are applied")
    body = "\n".join([
        "Written by `benchmarks/bench_analyze.py`.",
        "",
        f"{quick_note(args.quick)}Machine: {machine_description()}; `{PIN}` (pinned in "
        f"`benchmarks/requirements.txt`). {THREADS} threads. Each tool is timed in a process of its own "
        f"(best of {repeats} calls after a warm-up; {rounds} alternating rounds), so that neither runs while "
        "the other's BLAS or OpenMP threads are still spinning.",
        "",
        f"Checkpoint: a 784-512-512-10 MLP after {steps} SGD steps (lr 0.05, batch 32) on MNIST-shaped "
        f"synthetic data with labels from a random linear teacher (validation accuracy {val_acc:.2f}), saved "
        "as a plain `state_dict`. `sgdspectra analyze` is timed as `analyze_file(path)` (load with "
        "`weights_only=True`, float64 SVD, power-law, MP, Eq. 13 and exact-gamma fits of every 2-D "
        "weight); WeightWatcher as `WeightWatcher(model=model).analyze()` with its defaults on the same "
        "weights loaded into the module.",
        "",
        "| | `sgdspectra analyze` | `WeightWatcher.analyze()` | ratio (WW / ours) |",
        "|---|---:|---:|---:|",
        f"| wall time, in process (s) | {t_ours:.3f} | {t_ww:.3f} | **{ratio:.1f}x** |",
        "",
        f"The command line `sgdspectra analyze model.pt` takes {t_cli:.1f} s in all, most of it starting "
        "Python and importing torch.",
        "",
        "Per layer (alpha is the density exponent of lambda = sigma^2 on both sides):",
        "",
        "| layer | shape | WW alpha | WW xmin | WW D | ours alpha | ours xmin | ours n_tail | difference | "
        "ours with WW's conventions | difference |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Why the alphas differ. Both fit the eigenvalues lambda = sigma^2 of W^T W, not normalised by N "
        "(WeightWatcher's `normalize` is off since 0.6.5), with the continuous CSN MLE and xmin chosen by "
        "minimum KS distance, and both compute sigma in float64 (WW on CPU: `scipy.linalg.svd` of "
        "`W.astype(float)`). The differences are in the xmin scan:",
        "",
        "- WW's own fitter (`pl_package='ww'`, the default; `fix_fingers` off, `xmax` unset) tries every "
        "eigenvalue but the largest as xmin, i.e. tails of 2 values and more; `sgdspectra` requires "
        "`--min-tail 10` (CASES 10), so where WW's best xmin leaves fewer than 10 values the two pick "
        "different xmins and report different alphas;",
        "- WW's KS distance compares the empirical cdf k/n just before each jump (as `powerlaw` and CSN's "
        "`plfit.m`); `sgdspectra` takes the exact supremum over both sides of every jump (larger by at "
        "most 1/n_tail), which can move xmin;",
        "- WW drops eigenvalues below 1e-5 before fitting (`sgdspectra` drops only values <= 0), and for "
        "a layer with fewer than 20 eigenvalues (here the 10 x 512 output layer) it switches to a "
        "small-sample fit: the bias-corrected MLE alpha = 1 + (n - 1) / sum ln(x / xmin), tails of at "
        "least 8, and xmin minimising D - 0.868 / sqrt(n_tail) instead of D; `sgdspectra` keeps the plain "
        "MLE (with 10 values and `--min-tail 10` its only candidate is the whole spectrum).",
        "",
        "Applying WW's conventions to the same eigenvalues (last columns: `fit_power_law(lam, min_tail=2, "
        "ks=\"left\")` from 20 values on, the small-sample rule above) reproduces WW's alpha to "
        f"{worst:.0e} on every layer, so these conventions are the whole difference; neither tool "
        "normalises lambda or uses `fix_fingers` by default. `sgdspectra analyze` reports the same alpha as "
        "the workflow's `fit_laws` (tests/test_analyze_workflow.py).",
        "",
        "Time: both are dominated by the three float64 SVDs; ours runs torch's LAPACK on the tall "
        "orientation, WW SciPy's `gesdd`, and ours has one vectorised xmin scan per layer against WW's "
        "Python loop over candidates, while also fitting MP, Eq. 13 and the exact gamma (WW's defaults "
        "fit the power law only).",
    ])
    update_section("Whole-model analysis", body)
    print(body)


if __name__ == "__main__":
    main()
