"""Summary tables of the fit results, written as CSV and Markdown.

:func:`summarize_fits` reduces the tidy fit table (docs/data-format.md, one row per
(model, seed, matrix, step, law)) to one row per (model, matrix, law) at each run's final
step; :func:`write_table` writes any such frame as CSV and as a Markdown table, atomically.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sgdspectra.fitting.uncertainty import seed_interval
from sgdspectra.io import write_csv, write_text

log = logging.getLogger(__name__)

#: Fit-table parameters summarised over seeds (mean and standard deviation).
SUMMARY_PARAMS: tuple[str, ...] = (
    "alpha", "xmin", "n_tail", "variance", "num_spikes", "shape", "rate", "ks", "loglik",
)

#: Columns that identify one summary row.
GROUP_KEYS: tuple[str, ...] = ("model", "matrix", "law")

_REQUIRED: tuple[str, ...] = ("model", "seed", "matrix", "step", "law", "status")
_DESCRIPTIVE: tuple[str, ...] = ("kind", "n_rows", "n_cols")


def final_step_rows(fits: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``fits`` at the final step of their run, a run being one (model, seed)."""
    final = fits.groupby(["model", "seed"])["step"].transform("max")
    return fits[fits["step"] == final]


#: Parameters that get a seed-based confidence interval in the summary.
CI_PARAMS = ("alpha", "variance", "shape", "rate")


def _status_words(statuses: pd.Series) -> str:
    return ",".join(sorted({str(s) for s in statuses.dropna()}))


def summarize_fits(
    fits: pd.DataFrame, params: Sequence[str] = SUMMARY_PARAMS, drop_empty: bool = False
) -> pd.DataFrame:
    """Summarise a fit table over seeds at each run's final step.

    One row per (model, matrix, law) with ``kind, n_rows, n_cols`` (when present), ``step``
    (the final step; the largest one if seeds differ), ``n_seeds``, ``n_ok`` (seeds whose fit
    has status ``ok``), ``statuses`` (the status words seen, sorted, comma-separated) and, for
    each parameter ``p`` in ``params`` present in ``fits``, ``p_mean`` and ``p_std``: the mean
    and sample standard deviation (ddof = 1) over seeds of the non-NaN values. Failed fits
    carry NaN parameters and so never enter the means; a statistic with no value is NaN
    (``p_std`` needs two values). With ``drop_empty`` the parameter columns that are NaN in
    every row are dropped.
    """
    missing = [c for c in _REQUIRED if c not in fits.columns]
    if missing:
        raise ValueError(f"fit table lacks the columns {missing}")
    present = [p for p in params if p in fits.columns]
    last = final_step_rows(fits)
    if last["step"].groupby([last[k] for k in GROUP_KEYS]).nunique().gt(1).any():
        log.warning("runs of one model end at different steps; the largest is reported")
    rows = []
    for keys, group in last.groupby(list(GROUP_KEYS), sort=False):
        row: dict[str, object] = dict(zip(GROUP_KEYS, keys, strict=True))
        for col in _DESCRIPTIVE:
            if col in group.columns:
                row[col] = group[col].iloc[0]
        row["step"] = int(group["step"].max())
        row["n_seeds"] = int(group["seed"].nunique())
        row["n_ok"] = int(group.loc[group["status"] == "ok", "seed"].nunique())
        row["statuses"] = _status_words(group["status"])
        for p in present:
            values = pd.to_numeric(group[p], errors="coerce").to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            row[f"{p}_mean"] = float(values.mean()) if values.size else math.nan
            row[f"{p}_std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
            if p in CI_PARAMS:  # seed-based 95 % t-interval: the primary uncertainty
                ci = seed_interval(values)
                row[f"{p}_ci_low"], row[f"{p}_ci_high"] = ci.low, ci.high
        rows.append(row)
    out = pd.DataFrame(rows)
    if drop_empty and not out.empty:
        stat_cols = [c for c in out.columns if any(c.startswith(f"{p}_") for p in present)]
        empty = [c for c in stat_cols if out[c].isna().all()]
        out = out.drop(columns=empty)
    return out


def format_number(value: object) -> str:
    """Format one cell for Markdown: NaN → "—", floats with 4 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "—"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x == int(x) and abs(x) < 1e6:
            return str(int(x))
        return f"{x:.4g}"
    if pd.isna(value):  # type: ignore[arg-type]
        return "—"
    return str(value)


def to_markdown(df: pd.DataFrame, title: str | None = None) -> str:
    """Render ``df`` as a Markdown table (via ``DataFrame.to_markdown``), optional heading."""
    cells = df.astype(object).map(format_number) if not df.empty else df.astype(str)
    body = cells.to_markdown(index=False, disable_numparse=True)
    heading = f"## {title}\n\n" if title else ""
    return f"{heading}{body}\n"


def write_table(
    df: pd.DataFrame,
    csv_path: str | os.PathLike[str],
    md_path: str | os.PathLike[str],
    title: str | None = None,
) -> None:
    """Write ``df`` to ``csv_path`` (full precision, NaN as empty) and ``md_path`` (Markdown).

    Each file is written to a temporary name in its folder and renamed when complete
    (:func:`sgdspectra.io.atomic_path`).
    """
    write_csv(df, csv_path)
    write_text(to_markdown(df, title), md_path)
    log.info("wrote %s and %s (%d rows)", csv_path, md_path, len(df))
