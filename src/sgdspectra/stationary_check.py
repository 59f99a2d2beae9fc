"""The SDE's stationary laws checked by simulation at both levels (no training involved).

Two canonical cases are simulated from W(0) = 0 to a time where the OU process is stationary:

* ``wishart``: an m x n matrix; λ/m must follow Marchenko–Pastur with variance s/(2γ), q = n/m;
* ``vector``: an m x 1 matrix; λ must follow the exact Gamma(m/2, rate γ/s), while the paper's
  Eq. 13 shape (m + 2)/4 (rate fitted by maximum likelihood, its most favourable reading) must not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .io import read_dataset, write_dataset

log = logging.getLogger(__name__)

__all__ = ["CASES", "simulate_check", "stationary_check_table", "load_check"]

CASES = ("wishart", "vector")


def _shape(case: str, m: int, n: int) -> tuple[int, int]:
    if case not in CASES:
        raise ValueError(f"unknown stationary-check case {case!r} (use {', '.join(CASES)})")
    return (m, n) if case == "wishart" else (m, 1)


def simulate_check(
    case: str, level: str, output: str | Path, *, m: int, n: int, s: float, gamma: float, t_end: float,
    n_replicas: int, seed: int, eigen_steps: int, n_times: int = 5,
) -> xr.Dataset:
    """Simulate one case at one level from W(0) = 0 and write ``lam(replica, t, k)``."""
    from .provenance import provenance_attrs
    from .sde import lam_from_sigma, simulate_matrix_ou, simulate_singular_values

    if gamma <= 0:
        raise ValueError("the stationary check needs gamma > 0 (a confining drift)")
    mm, nn = _shape(case, m, n)
    times = np.linspace(0.0, t_end, n_times)
    if level == "matrix_ou":
        out = simulate_matrix_ou(mm, nn, s, gamma, times, n_replicas, seed)
    elif level == "eigen":
        sim = simulate_singular_values(np.zeros(nn), mm, s, gamma, t_end / eigen_steps, times, n_replicas, seed)
        out = lam_from_sigma(sim)
        out.attrs.update(n_rejected=int(sim.attrs.get("n_rejected", 0)))
    else:
        raise ValueError(f"unknown SDE level {level!r}")
    extra = dict(out.attrs)
    out.attrs = provenance_attrs(config={"case": case, "m": mm, "n": nn, "s": s, "gamma": gamma, "t_end": t_end,
                                         "n_replicas": n_replicas, "seed": seed, "eigen_steps": eigen_steps},
                                 seed=seed, device="cpu", title=f"stationary check {case} at level {level}",
                                 case=case, level=level)
    out.attrs.update({k: v for k, v in extra.items() if k not in out.attrs})
    out.attrs.update(m=mm, n=nn, s=float(s), gamma=float(gamma))
    write_dataset(out, output)
    return out


def load_check(paths: Sequence[str | Path]) -> dict[tuple[str, str], xr.Dataset]:
    """{(case, level): Dataset} from stored check files."""
    return {(str(d.attrs["case"]), str(d.attrs["level"])): d for d in map(read_dataset, paths)}


def _row(case: str, level: str, law: str, sample: np.ndarray, cdf: Any, **params: float) -> dict[str, Any]:
    res = stats.kstest(sample, cdf)
    return {"case": case, "level": level, "law": law, "n": sample.size, "ks": float(res.statistic),
            "ks_pvalue": float(res.pvalue), **params}


def stationary_check_table(sims: Mapping[tuple[str, str], xr.Dataset]) -> pd.DataFrame:
    """KS distance (and p-value) of each simulated stationary sample against each law.

    ``vector``: one λ per replica, i.i.d., so the p-values are valid tests. ``wishart``: the λ of
    one replica are not independent; the pooled KS distance is descriptive (p-value reported but
    not a test).
    """
    from .laws import mp_cdf

    rows = []
    for (case, level), ds in sorted(sims.items()):
        m, n, s, gamma = int(ds.attrs["m"]), int(ds.attrs["n"]), float(ds.attrs["s"]), float(ds.attrs["gamma"])
        lam = ds["lam"].isel(t=-1).values.ravel()
        lam = lam[np.isfinite(lam)]
        if case == "wishart":
            v, q = s / (2 * gamma), n / m
            rows.append(_row(case, level, "marchenko_pastur", lam / m, lambda x: mp_cdf(x, v, q), variance=v, q=q))
        else:
            exact = stats.gamma(m / 2, scale=s / gamma)
            rows.append(_row(case, level, "gamma_exact", lam, exact.cdf, shape=m / 2, rate=gamma / s))
            k13 = (m + 2) / 4  # Eq. 13 with n = 1: shape (m - 1 + 3)/4
            rate = k13 / lam.mean()  # maximum-likelihood rate for a fixed shape
            rows.append(_row(case, level, "eq13", lam, stats.gamma(k13, scale=1 / rate).cdf, shape=k13, rate=rate))
    return pd.DataFrame(rows)
