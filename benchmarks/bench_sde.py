"""SDE simulator cost: the ordered sigma-level scheme and the exact matrix-level sampler.

Run: .venv/bin/python benchmarks/bench_sde.py [--quick]   (about three minutes on 2 cores)
Writes the "SDE" section of benchmarks/RESULTS.md (atomically, via results_md.update_section).

* sigma level, size sweep: N = 256, 512, 1024 values (m = 2N), one replica, dt = 1e-6: steps per
  second, and the wall time over (steps x one bare vectorised evaluation of the O(N^2) pairwise
  drift), i.e. the overhead of noise, acceptance tests, refinement and implicit fall-back steps;
* sigma level, N = 512 (m = 1024) at two step sizes, 10^4 steps each;
* matrix level: exact OU sampler for a 512 x 512 matrix with 100 snapshots (one batched SVD each).
"""

from __future__ import annotations

import time

import numpy as np

from results_md import add_summary, bench_args, machine_description, quick_note, update_section
from sgdspectra.runtime import configure_threads
from sgdspectra.sde import sigma_drift, simulate_matrix_ou, simulate_singular_values

THREADS = 2
S, GAMMA = 1.0, 0.0
SWEEP_N = (256, 512, 1024)
SWEEP_DT = 1e-6
STEP_SIZES = (1e-5, 1e-6)
DRIFT_REPEATS = 100
DRIFT_BATCHES = 5


def start_values(m: int, n: int) -> np.ndarray:
    """Singular values of an m x n standard Gaussian matrix (a Marchenko--Pastur start)."""
    return np.linalg.svd(np.random.default_rng(0).standard_normal((m, n)), compute_uv=False)


def bare_drift_seconds(sigma0: np.ndarray, m: int, repeats: int = DRIFT_REPEATS) -> float:
    """Time of one vectorised drift evaluation for one replica (scratch array preallocated):
    best of ``DRIFT_BATCHES`` batches of ``repeats`` evaluations (robust to machine load)."""
    n = sigma0.size
    x = sigma0[None, :]
    work = np.empty((1, n, n))
    sigma_drift(x, m, S, GAMMA, work)
    best = np.inf
    for _ in range(DRIFT_BATCHES):
        t0 = time.perf_counter()
        for _ in range(repeats):
            sigma_drift(x, m, S, GAMMA, work)
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best


def run_sigma(sigma0: np.ndarray, m: int, dt: float, n_steps: int) -> tuple[float, dict]:
    times = dt * n_steps * np.array([0.25, 0.5, 0.75, 1.0])
    t0 = time.perf_counter()
    ds = simulate_singular_values(sigma0, m, S, GAMMA, dt, times, n_replicas=1, seed=1)
    return time.perf_counter() - t0, ds.attrs


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    configure_threads(THREADS)
    sweep_steps = 200 if args.quick else 3000
    n_steps = 200 if args.quick else 10_000
    drift_repeats = 10 if args.quick else DRIFT_REPEATS

    sweep_rows = []
    for n in SWEEP_N:
        m = 2 * n
        sigma0 = start_values(m, n)
        gaps = -np.diff(sigma0)
        drift_s = bare_drift_seconds(sigma0, m, drift_repeats)
        wall, a = run_sigma(sigma0, m, SWEEP_DT, sweep_steps)
        rate = a["n_steps"] / wall
        ratio = wall / (a["n_steps"] * drift_s)
        sweep_rows.append(
            f"| {n} | {m} | {gaps.min():.2g} | {1e3 * drift_s:.3f} | {a['n_steps']} | {wall:.1f} | "
            f"**{rate:.0f}** | **{ratio:.1f}** | {a['n_rejected']} | {a['n_implicit']} |")
        print(sweep_rows[-1], flush=True)
        add_summary(f"SDE eigenvalue level, N = {n}: steps / s (ratio to one bare drift evaluation)",
                    f"{rate:.0f} ({ratio:.1f})", "", f"m = {m}, dt = {SWEEP_DT:g}, 1 replica")

    n, m = 512, 1024
    sigma0 = start_values(m, n)
    gaps = -np.diff(sigma0)
    drift_s = bare_drift_seconds(sigma0, m, drift_repeats)
    rows = []
    for dt in STEP_SIZES:
        wall, a = run_sigma(sigma0, m, dt, n_steps)
        rows.append(
            f"| {dt:g} | {a['n_steps']} | {wall:.1f} | {1e3 * wall / a['n_steps']:.2f} | "
            f"**{wall / (a['n_steps'] * drift_s):.1f}** | {a['n_rejected']} | {a['n_implicit']} |")
        print(rows[-1], flush=True)

    n_snap = 10 if args.quick else 100
    times = np.linspace(0.01, 1.0, n_snap)
    t0 = time.perf_counter()
    simulate_matrix_ou(512, 512, S, 0.5, times, n_replicas=1, seed=2)
    wall = time.perf_counter() - t0
    mrow = f"| 512 x 512 | 1 | {n_snap} | {wall:.2f} | {1e3 * wall / n_snap:.1f} |"
    print(mrow, flush=True)

    body = "\n".join([
        "Written by `benchmarks/bench_sde.py`.",
        "",
        f"{quick_note(args.quick)}Machine: {machine_description()}. {THREADS} threads.",
        "",
        f"### Sigma level (`simulate_singular_values`), sizes N = {', '.join(map(str, SWEEP_N))}",
        "",
        f"m = 2N, s = {S}, gamma = {GAMMA}, dt = {SWEEP_DT:g}, {sweep_steps} steps, 1 replica, started from the "
        "singular values of an m x N standard Gaussian matrix. The bare drift is one vectorised evaluation "
        f"of the O(N^2) pairwise drift (best of {DRIFT_BATCHES} batches of {drift_repeats}); the ratio is "
        "the wall time over (steps x that time): the cost of noise, acceptance tests, Brownian-bridge "
        "refinement and implicit fall-back sub-steps in units of drift evaluations.",
        "",
        "| N | m | smallest start gap | bare drift (ms) | steps | wall (s) | steps / s | ratio to bare drift | "
        "rejected proposals | implicit sub-steps |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *sweep_rows,
        "",
        f"### Sigma level, N = {n}, m = {m}, two step sizes",
        "",
        f"Start: smallest gap {gaps.min():.2g}, median gap {np.median(gaps):.2g}; compare sqrt(s dt) = "
        f"{np.sqrt(S * STEP_SIZES[0]):.2g} and {np.sqrt(S * STEP_SIZES[1]):.2g}. Bare drift: "
        f"{1e3 * drift_s:.3f} ms.",
        "",
        "| dt | steps | wall (s) | ms / step | ratio to bare drift | rejected proposals | implicit sub-steps |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "### Matrix level (`simulate_matrix_ou`, exact transitions)",
        "",
        "| shape | replicas | snapshots | wall (s) | ms / snapshot |",
        "|---|---:|---:|---:|---:|",
        mrow,
    ])
    update_section("SDE", body)
    print("\n## SDE\n\n" + body)


if __name__ == "__main__":
    main()
