"""Run-level analyses of issue 4: law comparison at late snapshots, the verdict, repulsion ⟨r⟩."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .io import read_csvs, read_run

log = logging.getLogger(__name__)

__all__ = ["compare_laws_run", "repulsion_run", "run_ids", "verdict_from_files"]


def run_ids(ds, j: int, step: int) -> dict:
    """The id columns (``fitting.verdict.ID_COLUMNS``) of matrix ``j`` of a run at ``step``."""
    return dict(model=ds.attrs.get("model", ""), seed=int(ds.attrs.get("seed", -1)), matrix=str(ds.matrix.values[j]),
                kind=str(ds.kind.values[j]), n_rows=int(ds.n_rows[j]), n_cols=int(ds.n_cols[j]), step=int(step))


def _bootstrap_columns(lam, n_rows: int, n_cols: int, n_boot: int, seed: int) -> dict[str, dict[str, float]]:
    """Parametric-bootstrap intervals: α (power law, CSN semi-parametric) and the gamma rates."""
    from .fitting.uncertainty import bootstrap_law, bootstrap_power_law

    out: dict[str, dict[str, float]] = {}
    res = bootstrap_power_law(lam, n_boot=n_boot, seed=seed)
    if res.status == "ok":
        out["power_law"] = {"boot_param": "alpha", "boot_low": res.low["alpha"], "boot_high": res.high["alpha"],
                            "gof_p": res.gof_p}
    for law in ("eq13", "gamma_exact"):
        res = bootstrap_law(lam, law, n_boot=n_boot, seed=seed, m=n_rows, n=n_cols)
        if res.status == "ok" and "rate" in res.low:
            out[law] = {"boot_param": "rate", "boot_low": res.low["rate"], "boot_high": res.high["rate"]}
    return out


def compare_laws_run(run_path: str | Path, late_snapshots: int = 1, n_boot: int = 100) -> pd.DataFrame:
    """``compare_laws`` for every matrix at the last ``late_snapshots`` snapshots of a run, with
    parametric-bootstrap intervals (``boot_low``, ``boot_high`` of ``boot_param``) for the power-law
    α and the rates of Eq. 13 and the exact gamma (``n_boot`` replicates; 0 disables them).

    Eigenvalues of one matrix are not independent (bootstrap draws are i.i.d.): likelihoods, AIC,
    likelihood-ratio p-values and bootstrap intervals are descriptive; intervals across seeds are
    the primary uncertainty.
    """
    from .fitting import compare_laws

    ds = read_run(run_path)
    frames = []
    for i in range(max(0, ds.sizes["step"] - late_snapshots), ds.sizes["step"]):
        step = int(ds.step.values[i])
        for j in range(ds.sizes["matrix"]):
            n_rows, n_cols = int(ds.n_rows[j]), int(ds.n_cols[j])
            sigma = ds.sigma.values[i, j, : min(n_rows, n_cols)]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df = compare_laws(sigma**2, n_rows, n_cols)
                boots = _bootstrap_columns(sigma**2, n_rows, n_cols, n_boot, seed=step) if n_boot else {}
            for w in caught:
                log.info("matrix %s at step %d: %s", ds.matrix.values[j], step, w.message)
            for law, cols in boots.items():
                for col, value in cols.items():
                    df.loc[df.law == law, col] = value
            for key, value in reversed(run_ids(ds, j, step).items()):
                df.insert(0, key, value)
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def verdict_from_files(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, str]:
    """The verdict table and its Markdown summary from stored law-comparison CSVs."""
    from .fitting import verdict_markdown, verdict_table

    table = verdict_table(read_csvs(paths))
    return table, verdict_markdown(table)


def repulsion_run(run_path: str | Path, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """⟨r⟩ of the bulk singular values per snapshot and matrix, with a block-bootstrap interval.

    References: GOE (repulsion, β_D = 1) ⟨r⟩ ≈ 0.5307; Poisson (no repulsion) ⟨r⟩ ≈ 0.3863.
    """
    from .spacing import R_GOE, R_POISSON, spacing_ratio_bootstrap

    ds = read_run(run_path)
    rows = []
    for i, step in enumerate(ds.step.values):
        for j in range(ds.sizes["matrix"]):
            n = min(int(ds.n_rows[j]), int(ds.n_cols[j]))
            res = spacing_ratio_bootstrap(ds.sigma.values[i, j, :n], n_boot=n_boot, seed=seed, level=level)
            rows.append({**run_ids(ds, j, int(step)), "mean_r": res.mean_r, "low": res.low, "high": res.high,
                         "level": level, "n_ratios": res.n_ratios, "status": res.status, "message": res.message,
                         "r_goe": R_GOE, "r_poisson": R_POISSON})
    return pd.DataFrame(rows)
