"""SDE simulator cost: the ordered sigma-level scheme and the exact matrix-level sampler.

Run: .venv/bin/python benchmarks/bench_sde.py   (about two minutes on 2 cores)
Writes the "SDE" section of benchmarks/RESULTS.md (atomically, via results_md.update_section).

* sigma level: N = 512 values (m = 1024) for 10^4 steps, one replica, at two step sizes; the wall
  time is compared with 10^4 bare vectorised evaluations of the O(N^2) pairwise drift, so the
  ratio is the overhead of noise, acceptance tests, refinement and implicit fall-back steps.
* matrix level: exact OU sampler for a 512 x 512 matrix with 100 snapshots (one batched SVD each).
"""

from __future__ import annotations

import time

import numpy as np

from results_md import machine_description, update_section
from sgdspectra.sde import sigma_drift, simulate_matrix_ou, simulate_singular_values

N, M, N_STEPS, S, GAMMA = 512, 1024, 10_000, 1.0, 0.0
STEP_SIZES = (1e-5, 1e-6)
DRIFT_REPEATS = 100
DRIFT_BATCHES = 5


def start_values() -> np.ndarray:
    """Singular values of a 1024 x 512 standard Gaussian matrix (a Marchenko--Pastur start)."""
    return np.linalg.svd(np.random.default_rng(0).standard_normal((M, N)), compute_uv=False)


def bare_drift_seconds(sigma0: np.ndarray) -> float:
    """Time of one vectorised drift evaluation for one replica (scratch array preallocated):
    best of ``DRIFT_BATCHES`` batches of ``DRIFT_REPEATS`` evaluations (robust to machine load)."""
    x = sigma0[None, :]
    work = np.empty((1, N, N))
    sigma_drift(x, M, S, GAMMA, work)
    best = np.inf
    for _ in range(DRIFT_BATCHES):
        t0 = time.perf_counter()
        for _ in range(DRIFT_REPEATS):
            sigma_drift(x, M, S, GAMMA, work)
        best = min(best, (time.perf_counter() - t0) / DRIFT_REPEATS)
    return best


def sigma_level_rows(sigma0: np.ndarray, drift_s: float) -> list[str]:
    rows = []
    for dt in STEP_SIZES:
        times = dt * N_STEPS * np.array([0.25, 0.5, 0.75, 1.0])
        t0 = time.perf_counter()
        ds = simulate_singular_values(sigma0, M, S, GAMMA, dt, times, n_replicas=1, seed=1)
        wall = time.perf_counter() - t0
        a = ds.attrs
        rows.append(
            f"| {dt:g} | {a['n_steps']} | {wall:.1f} | {1e3 * wall / a['n_steps']:.2f} | "
            f"**{wall / (a['n_steps'] * drift_s):.1f}** | {a['n_rejected']} | {a['n_implicit']} |"
        )
        print(rows[-1], flush=True)
    return rows


def matrix_level_row() -> str:
    times = np.linspace(0.01, 1.0, 100)
    t0 = time.perf_counter()
    simulate_matrix_ou(512, 512, S, 0.5, times, n_replicas=1, seed=2)
    wall = time.perf_counter() - t0
    return f"| 512 x 512 | 1 | 100 | {wall:.2f} | {1e3 * wall / 100:.1f} |"


def main() -> None:
    sigma0 = start_values()
    gaps = -np.diff(sigma0)
    drift_s = bare_drift_seconds(sigma0)
    print(f"bare drift evaluation: {1e3 * drift_s:.3f} ms", flush=True)
    rows = sigma_level_rows(sigma0, drift_s)
    mrow = matrix_level_row()
    print(mrow, flush=True)
    body = "\n".join(
        [
            "Written by `benchmarks/bench_sde.py`.",
            "",
            f"Machine: {machine_description()}.",
            "",
            f"### Sigma level (`simulate_singular_values`), N = {N}, m = {M}, s = {S}, gamma = {GAMMA}, 1 replica",
            "",
            f"Start: singular values of a {M} x {N} standard Gaussian matrix (smallest gap {gaps.min():.2g}, "
            f"median gap {np.median(gaps):.2g}; compare sqrt(s dt) = {np.sqrt(S * STEP_SIZES[0]):.2g} and "
            f"{np.sqrt(S * STEP_SIZES[1]):.2g}). One bare vectorised "
            f"evaluation of the O(N^2) pairwise drift takes {1e3 * drift_s:.3f} ms (best of {DRIFT_BATCHES} "
            f"batches of {DRIFT_REPEATS}); the ratio is the wall "
            "time over (steps x that time), i.e. the cost of noise, acceptance tests, Brownian-bridge "
            "refinement and implicit fall-back sub-steps in units of drift evaluations.",
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
        ]
    )
    update_section("SDE", body)
    print("\n## SDE\n\n" + body)


if __name__ == "__main__":
    main()
