"""The temperature sweep: does the stationary scale grow with the temperature ηD ∝ η/B?

Theory (SCIENCE.md §3, §5): with isotropic noise s = 2ηD and weight decay γ the stationary entries
of W have variance s/(2γ) = ηD/γ, so the fitted Marchenko–Pastur variance should equal ηD/γ
(slope 1 on log-log axes, no free parameter). η is the effective step η/(1 − μ) with momentum μ.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from .io import read_csvs, read_run

log = logging.getLogger(__name__)

__all__ = ["SLOPE_X", "SLOPE_Y", "loglog_slope", "sweep_slopes", "sweep_table"]

#: Columns of :func:`sweep_table` used as x (temperatures) and y (fitted scales) of the log-log slopes.
SLOPE_X = ("eta_D", "eta_over_B")
SLOPE_Y = ("mp_variance", "alpha")


def sweep_table(run_paths: Sequence[str | Path], fit_paths: Sequence[str | Path], late_fraction: float = 0.34) -> pd.DataFrame:
    """One row per run and matrix: η, B, γ, measured D (mean over the last ``late_fraction`` of
    snapshots), ηD, η/B, the fitted MP variance and power-law α at the last step, and ηD/γ."""
    fits = read_csvs(fit_paths)
    rows = []
    for path in run_paths:
        ds = read_run(path)
        cfg = json.loads(ds.attrs["config_json"])
        train = cfg["train"]
        eta = train["lr"] / (1.0 - train["momentum"])
        late = ds.isel(step=slice(int(math.floor(ds.sizes["step"] * (1 - late_fraction))), None))
        last = int(ds.step.values[-1])
        model, seed = ds.attrs["model"], int(ds.attrs["seed"])
        f = fits[(fits.model == model) & (fits.seed == seed) & (fits.step == last) & (fits.status == "ok")]
        for j, matrix in enumerate(map(str, ds.matrix.values)):
            d = float(np.nanmean(late.noise_D.values[:, j])) if "noise_D" in ds else float("nan")
            mp = f[(f.matrix == matrix) & (f.law == "marchenko_pastur")]
            pl = f[(f.matrix == matrix) & (f.law == "power_law")]
            gamma = float(train["weight_decay"])
            rows.append(dict(
                model=model, seed=seed, matrix=matrix, kind=str(ds.kind.values[j]), lr=train["lr"],
                momentum=train["momentum"], eta=eta, batch_size=train["batch_size"], weight_decay=gamma,
                D=d, eta_D=eta * d, eta_over_B=eta / train["batch_size"],
                mp_variance=float(mp.variance.iloc[0]) if len(mp) else float("nan"),
                alpha=float(pl.alpha.iloc[0]) if len(pl) else float("nan"),
                predicted_variance=eta * d / gamma if gamma > 0 else float("nan"),
                step=last,
            ))
    return pd.DataFrame(rows)


def loglog_slope(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """OLS slope of log y on log x with a t-interval (finite, positive pairs only)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    n = int(ok.sum())
    if n < 3 or np.ptp(np.log(x[ok])) == 0:
        return {"slope": math.nan, "low": math.nan, "high": math.nan, "intercept": math.nan, "n": n}
    res = stats.linregress(np.log(x[ok]), np.log(y[ok]))
    t = stats.t.ppf(0.5 + level / 2, n - 2)
    return {"slope": float(res.slope), "low": float(res.slope - t * res.stderr), "high": float(res.slope + t * res.stderr),
            "intercept": float(res.intercept), "n": n}


def sweep_slopes(table: pd.DataFrame) -> pd.DataFrame:
    """Per matrix of :func:`sweep_table`, the :func:`loglog_slope` of each y in ``SLOPE_Y`` on each x in ``SLOPE_X``."""
    rows = []
    for matrix, g in table.groupby("matrix", sort=True):
        for x in SLOPE_X:
            for y in SLOPE_Y:
                rows.append({"matrix": matrix, "x": x, "y": y, **loglog_slope(g[x].to_numpy(), g[y].to_numpy())})
    return pd.DataFrame(rows)
