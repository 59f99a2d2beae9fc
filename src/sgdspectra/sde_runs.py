"""The SDE applied to recorded runs: simulate from a matrix's initial spectrum, compare levels.

Two levels simulate the same law: ``matrix_ou`` (exact matrix Ornstein–Uhlenbeck transitions) and
``eigen`` (the ordered σ-level scheme). Both start from the matrix's first recorded spectrum and
use the same s and γ, so their agreement is a check of the eigenvalue-level dynamics on real
starting spectra, and their disagreement with the observed spectrum is a measured result.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .io import read_dataset, read_run, write_csv, write_dataset
from .schedule import evenly_spaced_indices

log = logging.getLogger(__name__)

__all__ = ["LEVELS", "compare_sde", "sde_lam", "sde_time", "simulate_sde", "sde_by_level"]

LEVELS = ("matrix_ou", "eigen")


def sde_time(ds: xr.Dataset) -> np.ndarray:
    """SDE time t = sum of learning rates up to each snapshot step (t = lr x step for constant lr)."""
    steps = ds.step.values.astype(np.float64)
    lr = ds.lr.values.astype(np.float64)
    # Piecewise-constant lr between snapshots, taken at the left end of each interval.
    return np.concatenate([[0.0], np.cumsum(np.diff(steps) * lr[:-1])]) + steps[0] * lr[0]


def sde_lam(sde: xr.Dataset) -> xr.DataArray:
    """λ(replica, t, k) of either level (the σ level stores σ; λ = σ²)."""
    if "lam" in sde:
        return sde["lam"]
    from .sde import lam_from_sigma

    return lam_from_sigma(sde)["lam"]


def _calibrate(sigma0: np.ndarray, sigma_end: np.ndarray, big: int, small: int, gamma: float, t_end: float,
               s: float | str, matrix: str) -> tuple[float, str]:
    from .sde import calibrate_s_frobenius

    if s != "auto":
        return float(s), "given"
    value = float(calibrate_s_frobenius(np.sum(sigma0**2), np.sum(sigma_end**2), big, small, gamma, t_end))
    if np.isfinite(value) and value > 0.0:
        return value, "frobenius_match"
    note = "frobenius_match_failed: observed energy below the noiseless decay; s = 0"
    log.warning("%s: %s", matrix, note)
    return 0.0, note


def _deterministic(sigma0: np.ndarray, gamma: float, times: np.ndarray, n_replicas: int) -> xr.Dataset:
    """σ(t) = σ0 e^{−γt}: the σ-level SDE with s = 0 (its scheme needs s > 0 for the repulsion)."""
    sig = sigma0[None, None, :] * np.exp(-gamma * times)[None, :, None] * np.ones((n_replicas, 1, 1))
    return xr.Dataset({"sigma": (("replica", "t", "k"), sig)},
                      coords={"replica": np.arange(n_replicas), "t": times, "k": np.arange(sigma0.size)},
                      attrs={"scheme": "deterministic (s = 0)"})


def simulate_sde(
    run_path: str | Path, matrix: str, output: str | Path, *, level: str = "matrix_ou", s: float | str = "auto",
    gamma: float = 0.0, n_replicas: int = 20, n_times: int = 8, seed: int = 0, eigen_steps: int = 1000,
) -> xr.Dataset:
    """Rule ``simulate_sde``: an SDE ensemble from the matrix's first recorded spectrum.

    The OU law is rotation-invariant, so the singular values of W(t) depend on W(0) only through
    its singular values: the simulation starts from ``diag(sigma(step_0))`` in the analysis
    orientation (M x N). Times are t = Σ lr up to each of ``n_times`` snapshot steps. With
    ``s="auto"`` the noise level is the one whose mean squared Frobenius norm at the last snapshot
    equals the observed one (one number per matrix; the *shape* of the simulated spectrum is then
    a prediction, not a fit). The σ level uses ``eigen_steps`` steps of equal size up to the end.
    """
    from .provenance import provenance_attrs
    from .sde import simulate_matrix_ou, simulate_singular_values, w0_from_singular_values

    if level not in LEVELS:
        raise ValueError(f"unknown SDE level {level!r} (use {', '.join(LEVELS)})")
    ds = read_run(run_path)
    if matrix not in ds.matrix.values:
        raise KeyError(f"{run_path}: no matrix {matrix!r} (have {', '.join(map(str, ds.matrix.values))})")
    sel = ds.sel(matrix=matrix)
    big, small = max(int(sel.n_rows), int(sel.n_cols)), min(int(sel.n_rows), int(sel.n_cols))
    idx = np.array(evenly_spaced_indices(ds.sizes["step"], n_times))
    t_all = sde_time(ds)
    times = t_all[idx] - t_all[idx[0]]
    sigma = sel.sigma.values[:, :small]
    s_value, calibration = _calibrate(sigma[idx[0]], sigma[idx[-1]], big, small, gamma, times[-1], s, matrix)
    log.info("simulating %s (%d x %d) at level %s with s = %.4g, gamma = %.4g, %d replicas, %d times",
             matrix, big, small, level, s_value, gamma, n_replicas, times.size)
    if level == "matrix_ou":  # exact for any s >= 0 (s = 0: deterministic decay)
        out = simulate_matrix_ou(big, small, s_value, gamma, times, n_replicas, seed,
                                 w0=w0_from_singular_values(sigma[idx[0]], big, small))
    elif s_value == 0.0:
        out = _deterministic(sigma[idx[0]], gamma, times, n_replicas)
    else:
        dt = max(times[-1], 1e-12) / eigen_steps
        out = simulate_singular_values(sigma[idx[0]], big, s_value, gamma, dt, times, n_replicas, seed)
    out = out.assign_coords(step=("t", ds.step.values[idx].astype(np.int64), {"long_name": "SGD step matched to t"}))
    attrs = dict(out.attrs)
    out.attrs = provenance_attrs(
        config={"level": level, "s": s, "gamma": gamma, "n_replicas": n_replicas, "n_times": n_times,
                "seed": seed, "eigen_steps": eigen_steps},
        seed=seed, device="cpu", title=f"{level} SDE for {matrix}", model=ds.attrs.get("model", ""),
        matrix=matrix, level=level, run_seed=ds.attrs.get("seed", ""), s_calibration=calibration,
    )
    out.attrs.update({k: v for k, v in attrs.items() if k not in out.attrs})
    out.attrs.update(s=s_value, gamma=float(gamma), m=big, n=small)
    write_dataset(out, output)
    return out


def sde_by_level(sde_paths: Sequence[str | Path]) -> dict[str, dict[str, xr.Dataset]]:
    """Load SDE files as {level: {matrix: Dataset with lam}}."""
    out: dict[str, dict[str, xr.Dataset]] = {}
    for p in sde_paths:
        sde = read_dataset(p)
        level = str(sde.attrs.get("level", "matrix_ou"))
        lam = sde_lam(sde)
        out.setdefault(level, {})[str(sde.attrs["matrix"])] = sde.assign(lam=lam)
    return out


def compare_sde(run_path: str | Path, sde_paths: Sequence[str | Path], output: str | Path) -> pd.DataFrame:
    """Rule ``compare_sde``: KS and Wasserstein-1 of simulated vs observed spectra, per level and matrix."""
    from .comparison import compare_sde_to_observed

    ds = read_run(run_path)
    frames = []
    for level, by_matrix in sorted(sde_by_level(sde_paths).items()):
        df = compare_sde_to_observed(ds, by_matrix)
        df.insert(0, "level", level)
        calib = [str(by_matrix[m].attrs.get("s_calibration", "")) for m in df.matrix]
        df["s_calibration"] = calib
        df["status"] = ["calibration_failed" if "failed" in c else "ok" for c in calib]
        for col in ("ks", "ks_pvalue", "wasserstein1", "rel_error_top1"):
            df.loc[df.status != "ok", col] = float("nan")  # no noise level fits: nothing was predicted
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "seed", int(ds.attrs.get("seed", -1)))
    out.insert(0, "model", ds.attrs.get("model", ""))
    write_csv(out, output)
    return out
