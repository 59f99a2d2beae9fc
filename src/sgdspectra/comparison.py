"""Measured agreement between simulated (SDE) and observed spectra.

Computation only: the numbers produced here are drawn by
:func:`sgdspectra.plotting.sde.plot_sde_vs_observed` and tabulated by the workflow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "matrix", "n_rows", "n_cols", "step", "t", "s", "gamma", "n_obs", "n_sim",
    "ks", "ks_pvalue", "wasserstein1", "rel_error_top1", "obs_mean_lam", "sim_mean_lam",
)


def comparison_step(ds: xr.Dataset, sde_ds: xr.Dataset) -> int:
    """The last SDE step that is also a recorded step of the run.

    Raises ``ValueError`` when the SDE and the run share no step.
    """
    sde_steps = np.asarray(sde_ds["step"].values, dtype=np.int64)
    common = np.intersect1d(sde_steps, np.asarray(ds["step"].values, dtype=np.int64))
    if common.size == 0:
        raise ValueError("the SDE output shares no step with the run file")
    step = int(common.max())
    if step != int(sde_steps.max()):
        log.warning(
            "last SDE step %d is not in the run; comparing at step %d", sde_steps.max(), step
        )
    return step


def observed_lam(ds: xr.Dataset, matrix: str, step: int) -> np.ndarray:
    """Finite observed λ = σ² of ``matrix`` at ``step``, descending (NaN padding dropped)."""
    sigma = np.asarray(ds["sigma"].sel(matrix=matrix, step=step).values, dtype=np.float64)
    sigma = sigma[np.isfinite(sigma)]
    return np.sort(sigma**2)[::-1]


def t_index(sde_ds: xr.Dataset, step: int) -> int:
    """Position along ``t`` of the SDE output's first time point at ``step``."""
    hits = np.flatnonzero(np.asarray(sde_ds["step"].values, dtype=np.int64) == step)
    if hits.size == 0:
        raise ValueError(f"the SDE output has no time point at step {step}")
    return int(hits[0])


def simulated_lam_at_step(sde_ds: xr.Dataset, step: int) -> np.ndarray:
    """Simulated λ at the SDE time matching ``step``, shape (replica, k), NaN kept."""
    lam = sde_ds["lam"].isel(t=t_index(sde_ds, step)).transpose("replica", "k")
    return np.asarray(lam.values, dtype=np.float64)


def compare_one(ds: xr.Dataset, matrix: str, sde_ds: xr.Dataset) -> dict[str, float | int | str]:
    """One comparison row for ``matrix`` (see :func:`compare_sde_to_observed`)."""
    step = comparison_step(ds, sde_ds)
    obs = observed_lam(ds, matrix, step)
    sim_rk = simulated_lam_at_step(sde_ds, step)
    sim = sim_rk[np.isfinite(sim_rk)]
    t = float(sde_ds["t"].values[t_index(sde_ds, step)])
    row: dict[str, float | int | str] = {
        "matrix": matrix,
        "n_rows": int(ds["n_rows"].sel(matrix=matrix)),
        "n_cols": int(ds["n_cols"].sel(matrix=matrix)),
        "step": step,
        "t": t,
        "s": float(sde_ds.attrs.get("s", np.nan)),
        "gamma": float(sde_ds.attrs.get("gamma", np.nan)),
        "n_obs": int(obs.size),
        "n_sim": int(sim.size),
    }
    if obs.size == 0 or sim.size == 0:
        log.warning("matrix %s step %d: no finite observed or simulated λ", matrix, step)
        row.update(ks=np.nan, ks_pvalue=np.nan, wasserstein1=np.nan, rel_error_top1=np.nan,
                   obs_mean_lam=np.nan, sim_mean_lam=np.nan)
        return row
    ks = stats.ks_2samp(obs, sim)
    has_value = np.isfinite(sim_rk).any(axis=1)
    top1_sim = float(np.median(np.nanmax(sim_rk[has_value], axis=1)))
    top1_obs = float(obs[0])
    rel = abs(top1_sim - top1_obs) / top1_obs if top1_obs > 0 else np.nan
    row.update(
        ks=float(ks.statistic),
        ks_pvalue=float(ks.pvalue),
        wasserstein1=float(stats.wasserstein_distance(obs, sim)),
        rel_error_top1=float(rel),
        obs_mean_lam=float(obs.mean()),
        sim_mean_lam=float(sim.mean()),
    )
    return row


def compare_sde_to_observed(ds: xr.Dataset, sde: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """Compare each simulated spectrum with the observed one at the SDE's last step.

    For every matrix in ``sde`` (matrix name → SDE Dataset with ``lam(replica, t, k)`` and a
    ``step`` coordinate along ``t``), the observed λ = σ² of the run at the last SDE step is
    compared with the simulated λ at the matching ``t``, pooled over replicas and ``k``.

    Columns: ``matrix, n_rows, n_cols, step, t, s, gamma, n_obs, n_sim, ks, ks_pvalue,
    wasserstein1, rel_error_top1, obs_mean_lam, sim_mean_lam``.

    - ``ks``, ``ks_pvalue``: two-sample Kolmogorov–Smirnov statistic and p-value. The
      eigenvalues of one matrix are not independent draws (they repel each other) and the
      pooled replicas are not independent of ``k`` either, so the p-value is descriptive
      only, not a calibrated test.
    - ``wasserstein1``: ``scipy.stats.wasserstein_distance`` between the two samples, in λ units.
    - ``rel_error_top1``: |median over replicas of the simulated largest λ − observed largest λ|
      / observed largest λ (NaN when the observed largest λ is 0).
    - ``s``, ``gamma``: the SDE parameters from the SDE file's attributes.

    Rows with no finite values carry NaN statistics. Raises ``KeyError`` for a matrix that
    is not in the run.
    """
    names = [str(m) for m in ds["matrix"].values]
    rows = []
    for matrix, sde_ds in sde.items():
        if matrix not in names:
            raise KeyError(f"matrix {matrix!r} of the SDE output is not in the run file")
        rows.append(compare_one(ds, matrix, sde_ds))
    order = {name: i for i, name in enumerate(names)}
    rows.sort(key=lambda r: order[str(r["matrix"])])
    return pd.DataFrame(rows, columns=list(COLUMNS))


def compare_levels(by_level: Mapping[str, Mapping[str, xr.Dataset]], bulk_k: int | None = None) -> pd.DataFrame:
    """Two-sample KS between the ``matrix_ou`` and ``eigen`` ensembles at their last time.

    Per matrix: KS statistic and p-value on λ_max (one value per replica) and on a bulk value
    (index ``bulk_k``, default the median index), both independent across replicas. Matrices
    simulated at only one level are skipped.
    """
    a, b = by_level.get("matrix_ou", {}), by_level.get("eigen", {})
    rows = []
    for matrix in [m for m in a if m in b]:
        lam_a = a[matrix]["lam"].isel(t=-1).transpose("replica", "k").values
        lam_b = b[matrix]["lam"].isel(t=-1).transpose("replica", "k").values
        k = lam_a.shape[1] // 2 if bulk_k is None else min(bulk_k, lam_a.shape[1] - 1)
        top = stats.ks_2samp(lam_a[:, 0], lam_b[:, 0])
        bulk = stats.ks_2samp(lam_a[:, k], lam_b[:, k])
        rows.append({"matrix": matrix, "n_replicas": lam_a.shape[0], "t": float(a[matrix]["t"].values[-1]),
                     "ks_lam_max": float(top.statistic), "p_lam_max": float(top.pvalue), "bulk_k": k,
                     "ks_bulk": float(bulk.statistic), "p_bulk": float(bulk.pvalue),
                     "mean_lam_matrix_ou": float(np.nanmean(lam_a)), "mean_lam_eigen": float(np.nanmean(lam_b))})
    return pd.DataFrame(rows)
