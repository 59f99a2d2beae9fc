"""Tail fit: ``sgdspectra.fitting.fit_power_law`` against ``powerlaw.Fit`` on the same 10^4 values.

Run: .venv/bin/python benchmarks/bench_tailfit.py [--quick]   (a few minutes on 2 cores; needs
the pinned ``powerlaw`` from benchmarks/requirements.txt)
Writes the "Tail fit" section of benchmarks/RESULTS.md.

Same convention on both sides: continuous data, the Clauset-Shalizi-Newman MLE, xmin chosen by
minimum KS distance over the full scan of data values. ``powerlaw.Fit(x, discrete=False)`` scans
every unique value except the two largest (a tail of at least 3) and evaluates the empirical cdf
just before each jump, which is ``fit_power_law(x, min_tail=3, ks="left")``; the timed pair uses
exactly these settings. The production settings (``min_tail=10``, exact KS supremum) are timed
and reported too.
"""

from __future__ import annotations

import io
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout

import numpy as np

from results_md import add_summary, bench_args, machine_description, quick_note, update_section
from sgdspectra.fitting import fit_power_law
from sgdspectra.laws import MarchenkoPastur, PowerLaw
from sgdspectra.runtime import configure_threads

THREADS = 2
TARGET = 20.0
PIN = "powerlaw==2.0.0"


def datasets(n: int) -> dict[str, np.ndarray]:
    """Two samples of n values: a pure Pareto tail, and an ESD-like Marchenko-Pastur bulk (90 %,
    i.i.d. draws, variance 1, q = 0.5) with a power-law tail (10 %, alpha = 3, from the MP edge)."""
    pareto = PowerLaw(2.5, 1.0).rvs(n, seed=0)
    mp = MarchenkoPastur(1.0, 0.5)
    n_tail = n // 10
    esd = np.concatenate([mp.rvs(n - n_tail, seed=1), PowerLaw(3.0, mp.support[1]).rvs(n_tail, seed=2)])
    return {
        "Pareto, alpha = 2.5, xmin = 1": pareto,
        "MP bulk (q = 0.5) + 10 % power-law tail, alpha = 3": esd,
    }


def package_fit(powerlaw, x: np.ndarray):
    """``powerlaw.Fit`` with its chatter (progress text, runtime warnings) silenced."""
    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(x, discrete=False, verbose=False)
        fit.power_law  # noqa: B018 - force the fit at the chosen xmin (lazy in the package)
        return fit


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    import powerlaw

    configure_threads(THREADS)
    n = 2000 if args.quick else 10_000
    repeats_ours = 1 if args.quick else 5
    repeats_pkg = 1 if args.quick else 2
    rows, alpha_rows, notes = [], [], []
    worst_ratio, worst_dalpha = np.inf, 0.0
    for label, x in datasets(n).items():
        fit_power_law(x[:100], min_tail=3)  # warm-up (imports, first-call allocation)
        t_pkg = np.inf
        t_ours = t_prod = t_full = np.inf
        ref = ours = prod = None
        for _ in range(repeats_pkg):  # alternate the two implementations under the same load
            t, ref = best_time(lambda: package_fit(powerlaw, x), 1)
            t_pkg = min(t_pkg, t)
            t, ours = best_time(lambda: fit_power_law(x, min_tail=3, ks="left", full_curves=False), repeats_ours)
            t_ours = min(t_ours, t)
            t, full = best_time(lambda: fit_power_law(x, min_tail=3, ks="left"), repeats_ours)
            t_full = min(t_full, t)
            t, prod = best_time(lambda: fit_power_law(x, full_curves=False), repeats_ours)
            t_prod = min(t_prod, t)
        if (full.xmin, full.alpha) != (ours.xmin, ours.alpha):
            raise AssertionError(f"{label}: the pruned scan differs from the full scan")
        ratio = t_pkg / t_ours
        d_alpha = ours.alpha - ref.alpha
        worst_ratio, worst_dalpha = min(worst_ratio, ratio), max(worst_dalpha, abs(d_alpha))
        rows.append(f"| {label} | {x.size} | {t_pkg:.2f} | {1e3 * t_ours:.1f} | **{ratio:.0f}x** | "
                    f"{1e3 * t_full:.1f} ({t_pkg / t_full:.0f}x) | {1e3 * t_prod:.1f} |")
        alpha_rows.append(
            f"| {label} | {ref.alpha:.6f} | {ref.xmin:.6g} | {ours.alpha:.6f} | {ours.xmin:.6g} | "
            f"**{d_alpha:+.1e}** | {prod.alpha:.4f} | {prod.xmin:.4g} | {int(prod.n_tail)} |")
        print(rows[-1], alpha_rows[-1], sep="\n", flush=True)
        if ours.xmin != ref.xmin:
            notes.append(f"{label}: the two chose different xmin values ({ours.xmin!r} and {ref.xmin!r}).")
        if not 1.5 < ref.alpha <= 3.0:
            notes.append(
                f"{label}: the package's alpha ({ref.alpha:.4f}) lies outside (1.5, 3], where it replaces "
                "the closed-form MLE by a Nelder-Mead search (tolerance 1e-4), hence a difference of "
                "that order.")
    add_summary("tail fit: powerlaw.Fit time / fit_power_law time (10^4 values)", f"{worst_ratio:.0f}x",
                f">= {TARGET:.0f}x", f"|alpha difference| <= {worst_dalpha:.1e} at the same xmin convention")
    body = "\n".join([
        "Written by `benchmarks/bench_tailfit.py`.",
        "",
        f"{quick_note(args.quick)}Machine: {machine_description()}; `{PIN}` (pinned in "
        f"`benchmarks/requirements.txt`). {THREADS} threads. `fit_power_law`: best of {repeats_ours} "
        f"calls; `powerlaw.Fit`: best of {repeats_pkg}, alternating with ours.",
        "",
        "Both fit a continuous power law to the same values by the Clauset-Shalizi-Newman method: MLE "
        "alpha = 1 + n_tail / sum ln(x / xmin) at each candidate xmin, xmin chosen by minimum KS "
        "distance over every data value. `powerlaw.Fit(x, discrete=False)` scans every unique value "
        "but the two largest (tails of at least 3) and evaluates the empirical cdf just before each "
        "jump; `fit_power_law(x, min_tail=3, ks=\"left\")` is the same convention and is what is timed "
        f"against it. Target: at least {TARGET:.0f}x faster.",
        "",
        "| sample | n | `powerlaw.Fit` (s) | `fit_power_law`, same convention (ms) | time ratio | "
        "every candidate's D (`full_curves=True`, ms, ratio) | `fit_power_law`, production settings (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "| sample | package alpha | package xmin | ours alpha | ours xmin | alpha difference | "
        "production alpha | production xmin | production n_tail |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *alpha_rows,
        "",
        "Why ours is faster: the package refits every candidate xmin separately (O(n) each, O(n^2) in "
        "Python-driven numpy calls); `fit_power_law` gets every alpha from one suffix sum of log gaps "
        "and every KS distance from one vectorised (candidates x values) scan in bounded chunks. The timed "
        "call (`full_curves=False`, what the workflow uses) adds an exact branch and bound: a lower bound "
        "of every candidate's KS distance from every 16th value ranks them, and exact distances are "
        "computed in that order until the next bound exceeds the best distance found; the result is "
        "the exhaustive scan's (checked here on every sample, and in tests/test_fitting_powerlaw.py). "
        "The full scan, which also returns every candidate's D, is in the next column.",
        "",
        "Differences in alpha: with the same convention both choose the same xmin and the closed-form "
        "alphas agree to rounding (the package's 1 + n / sum(ln x - ln xmin) against our telescoped sum "
        "of log gaps). The production settings differ on purpose, and can pick another xmin: at least "
        "10 values in the tail (CASES 10) and the exact KS supremum over both sides of every jump of "
        "the empirical cdf (larger than the package's D by at most 1/n_tail).",
        *([""] + notes if notes else []),
    ])
    update_section("Tail fit", body)
    print(body)


if __name__ == "__main__":
    main()
