"""The verdict table: which law describes each trained spectrum, aggregated over seeds.

Input: the concatenation of :func:`~sgdspectra.fitting.compare_laws` tables with the id columns
``model, seed, matrix, kind, n_rows, n_cols, step``. Per (model, seed, matrix, step):

- ``best_aic`` / ``best_ks``: the ``support == "spectrum"`` law (status ok, finite value) with the
  smallest AIC / KS distance (``"none"`` if there is none); ``best_tail_aic`` likewise among the
  tail laws;
- one ``lr_<a>_vs_<b>`` column per likelihood-ratio test of ``compare_laws``;
- ``eq13_better_than_exact``: loglik(eq13) > loglik(gamma_exact) (NaN when either is not ok);
- ``shape_eq13_predicted`` = (n_rows - n_cols + 3)/4 (NaN when <= 0), ``shape_exact_predicted``
  = (M - N + 1)/2, ``shape_fitted`` = shape of the free ``gamma`` fit; ``alpha_tail`` of
  ``gamma_powerlaw_tail`` and ``alpha`` of the CSN ``power_law``.

Aggregation over seeds per (model, matrix, step): the most frequent word (ties: alphabetical
first) for words and booleans, the mean for numbers (``eq13_better_fraction`` is the mean of the
boolean), ``n_seeds``. Each LR column becomes ``"a vs b: R=<mean R>, p=<mean p>, prefers <mode>
(<k>/<n> seeds)"``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sgdspectra.fitting.compare import LR_TESTS
from sgdspectra.laws import eq13_shape, gamma_exact_shape

logger = logging.getLogger(__name__)

__all__ = [
    "LR_COLUMNS", "SUMMARY_MATRIX_COLUMNS", "VERDICT_COLUMNS", "ModelVerdict", "counts_text",
    "last_step_rows", "model_verdicts", "verdict_markdown", "verdict_table",
]  # fmt: skip

ID_COLUMNS = ("model", "seed", "matrix", "kind", "n_rows", "n_cols", "step")
_KEYS = ["model", "matrix", "step"]
#: One column per likelihood-ratio test, ``lr_<reference>_vs_<law>``.
LR_COLUMNS: tuple[str, ...] = tuple(
    f"lr_{ref}_vs_{law}" for law, (ref, _, _) in LR_TESTS.items()
)
_NUMBERS = ("shape_eq13_predicted", "shape_exact_predicted", "shape_fitted", "alpha_tail", "alpha")
VERDICT_COLUMNS: tuple[str, ...] = (
    "model", "matrix", "kind", "n_rows", "n_cols", "step", "n_seeds", "best_aic", "best_ks",
    "best_tail_aic", "eq13_better_than_exact", "eq13_better_fraction", *_NUMBERS, *LR_COLUMNS,
)  # fmt: skip


def _best(group: pd.DataFrame, column: str, support: str) -> str:
    rows = group[(group["support"] == support) & (group["status"] == "ok")]
    rows = rows[np.isfinite(rows[column].astype(float))]
    return "none" if rows.empty else str(rows.loc[rows[column].astype(float).idxmin(), "law"])


def _value(group: pd.DataFrame, law: str, column: str) -> float:
    rows = group[(group["law"] == law) & (group["status"] == "ok")]
    return float(rows[column].iloc[0]) if not rows.empty else math.nan


def _shape_or_nan(func: Any, n_rows: int, n_cols: int) -> float:
    try:
        return float(func(n_rows, n_cols))
    except ValueError:
        return math.nan


def _per_seed(group: pd.DataFrame) -> dict[str, Any]:
    first = group.iloc[0]
    n_rows, n_cols = int(first["n_rows"]), int(first["n_cols"])
    ll13, llex = _value(group, "eq13", "loglik"), _value(group, "gamma_exact", "loglik")
    out: dict[str, Any] = {
        "best_aic": _best(group, "aic", "spectrum"), "best_ks": _best(group, "ks", "spectrum"),
        "best_tail_aic": _best(group, "aic", "tail"),
        "eq13_better": (ll13 > llex) if not (math.isnan(ll13) or math.isnan(llex)) else math.nan,
        "shape_eq13_predicted": _shape_or_nan(eq13_shape, n_rows, n_cols),
        "shape_exact_predicted": _shape_or_nan(gamma_exact_shape, n_rows, n_cols),
        "shape_fitted": _value(group, "gamma", "shape"),
        "alpha_tail": _value(group, "gamma_powerlaw_tail", "alpha_tail"),
        "alpha": _value(group, "power_law", "alpha"),
    }  # fmt: skip
    for law, (ref, _, _) in LR_TESTS.items():
        rows = group[(group["law"] == law) & group["lr_R"].notna()]
        key = f"lr_{ref}_vs_{law}"
        if rows.empty:
            out[key] = (math.nan, math.nan, "none")
        else:
            r = rows.iloc[0]
            out[key] = (float(r["lr_R"]), float(r["lr_p"]), str(r["lr_preferred"]))
    return out


def _mode(values: list[Any]) -> Any:
    vals = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return math.nan
    counts: dict[Any, int] = {}
    for v in vals:
        counts[v] = counts.get(v, 0) + 1
    return sorted(counts, key=lambda v: (-counts[v], str(v)))[0]


def _lr_text(name: str, triples: list[tuple[float, float, str]]) -> str:
    ok = [t for t in triples if math.isfinite(t[0])]
    if not ok:
        return ""
    label = name[3:].replace("_vs_", " vs ", 1)
    pref = _mode([t[2] for t in ok])
    agree = sum(t[2] == pref for t in ok)
    return (f"{label}: R={np.mean([t[0] for t in ok]):.4g}, p={np.mean([t[1] for t in ok]):.3g}, "
            f"prefers {pref} ({agree}/{len(ok)} seeds)")  # fmt: skip


def verdict_table(fits_long: pd.DataFrame) -> pd.DataFrame:
    """Per model x matrix x step verdict, aggregated over seeds (see the module docstring)."""
    missing = {*ID_COLUMNS, "law", "support", "status", "loglik", "aic", "ks", "shape",
               "lr_R", "lr_p", "lr_preferred"} - set(fits_long.columns)  # fmt: skip
    if missing:
        raise ValueError(f"fits_long lacks column(s) {sorted(missing)}")
    per_seed = []
    for keys, group in fits_long.groupby([*_KEYS, "seed"], sort=True):
        ids: dict[str, Any] = dict(zip([*_KEYS, "seed"], keys, strict=True))
        ids.update({c: group.iloc[0][c] for c in ("kind", "n_rows", "n_cols")})
        per_seed.append(ids | _per_seed(group))
    rows = []
    for keys, seeds in pd.DataFrame(per_seed).groupby(_KEYS, sort=True):
        recs = seeds.to_dict("records")
        eq = [bool(r["eq13_better"]) for r in recs
              if isinstance(r["eq13_better"], bool | np.bool_)]  # fmt: skip
        row: dict[str, Any] = dict(zip(_KEYS, keys, strict=True)) | {
            "kind": recs[0]["kind"], "n_rows": int(recs[0]["n_rows"]),
            "n_cols": int(recs[0]["n_cols"]), "n_seeds": len(recs),
            "best_aic": _mode([r["best_aic"] for r in recs]),
            "best_ks": _mode([r["best_ks"] for r in recs]),
            "best_tail_aic": _mode([r["best_tail_aic"] for r in recs]),
            "eq13_better_than_exact": bool(_mode(eq)) if eq else math.nan,
            "eq13_better_fraction": float(np.mean(np.asarray(eq, float))) if eq else math.nan,
        }  # fmt: skip
        for c in _NUMBERS:
            vals = np.asarray([r[c] for r in recs], dtype=float)
            row[c] = float(np.nanmean(vals)) if np.any(~np.isnan(vals)) else math.nan
        for c in LR_COLUMNS:
            row[c] = _lr_text(c, [r[c] for r in recs])
        rows.append(row)
    logger.info("verdict table: %d row(s) from %d fit row(s)", len(rows), len(fits_long))
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def _md_table(df: pd.DataFrame) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.3g}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in rec) + " |" for rec in df.itertuples(index=False)]
    return "\n".join(lines)


def _median_ratio(a: pd.Series, b: pd.Series) -> float:
    ratio = (a.astype(float) / b.astype(float)).to_numpy()
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if ratio.size else math.nan


@dataclass(frozen=True)
class ModelVerdict:
    """What the verdict table says about one model's matrices at its latest step."""

    model: str
    step: int
    n_matrices: int
    n_seeds: int
    best_aic: dict[str, int]  # law -> number of matrices where it has the smallest AIC
    best_ks: dict[str, int]  # law -> number of matrices where it has the smallest KS distance
    eq13_better: int  # matrices where Eq. 13 has the larger log-likelihood than the exact gamma
    eq13_compared: int  # matrices where both were fitted
    shape_ratio_eq13: float  # median fitted / Eq. 13 predicted gamma shape (NaN if none)
    shape_ratio_exact: float  # median fitted / exact predicted gamma shape (NaN if none)
    tail_beats_gamma: int  # matrices where the nested LR test prefers the power-law tail


def last_step_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`verdict_table` at each model's latest step."""
    return table[table["step"] == table.groupby("model")["step"].transform("max")]


def model_verdicts(table: pd.DataFrame) -> list[ModelVerdict]:
    """One :class:`ModelVerdict` per model of a :func:`verdict_table` (read back from CSV or not)."""
    out = []
    for model, rows in last_step_rows(table).groupby("model", sort=True):
        eq = rows["eq13_better_than_exact"].dropna().astype(bool)
        tail = rows["lr_gamma_powerlaw_tail_vs_gamma"].fillna("").astype(str).str.contains(
            "prefers gamma_powerlaw_tail", regex=False)
        out.append(ModelVerdict(
            model=str(model), step=int(rows["step"].max()), n_matrices=len(rows),
            n_seeds=int(rows["n_seeds"].max()),
            best_aic={str(k): int(v) for k, v in rows["best_aic"].value_counts().items()},
            best_ks={str(k): int(v) for k, v in rows["best_ks"].value_counts().items()},
            eq13_better=int(eq.sum()), eq13_compared=len(eq),
            shape_ratio_eq13=_median_ratio(rows["shape_fitted"], rows["shape_eq13_predicted"]),
            shape_ratio_exact=_median_ratio(rows["shape_fitted"], rows["shape_exact_predicted"]),
            tail_beats_gamma=int(tail.sum()),
        ))  # fmt: skip
    return out


def counts_text(counts: dict[str, int]) -> str:
    """``{"gamma": 2, "mp": 1}`` -> ``"gamma (2), mp (1)"``."""
    return ", ".join(f"{word} ({n})" for word, n in counts.items())


#: Columns of the per-matrix summary tables (Markdown here, HTML in :mod:`sgdspectra.report`).
SUMMARY_MATRIX_COLUMNS: tuple[str, ...] = (
    "model", "matrix", "step", "n_seeds", "best_aic", "best_ks", "eq13_better_than_exact",
    "shape_eq13_predicted", "shape_exact_predicted", "shape_fitted", "alpha_tail",
)  # fmt: skip


def verdict_markdown(table: pd.DataFrame) -> str:
    """Markdown summary of a :func:`verdict_table`: counts at each model's last step, then a table.

    The counts say, over the matrices of each model at its latest step, which law wins by AIC and
    by KS, how often Eq. 13 beats the exact gamma, the median ratio of fitted to predicted shapes
    and what the tail tests prefer (:func:`model_verdicts`).
    """
    if table.empty:
        return "## Verdict\n\nNo fits.\n"
    parts = ["## Verdict", ""]
    for v in model_verdicts(table):
        parts += [
            f"**{v.model}** (step {v.step}, {v.n_matrices} matrices, {v.n_seeds} seed(s)):",
            f"- best law by AIC: {counts_text(v.best_aic)}",
            f"- best law by KS: {counts_text(v.best_ks)}",
            f"- Eq. 13 fits better than the exact gamma (log-likelihood) in {v.eq13_better} of "
            f"{v.eq13_compared} matrices",
            f"- fitted gamma shape / predicted: median {v.shape_ratio_eq13:.3g} for Eq. 13, "
            f"{v.shape_ratio_exact:.3g} for the exact law",
            f"- the gamma-with-power-law-tail law beats the pure gamma (nested LR) in "
            f"{v.tail_beats_gamma} of {v.n_matrices} matrices",
            "",
        ]  # fmt: skip
    parts += [_md_table(last_step_rows(table)[list(SUMMARY_MATRIX_COLUMNS)]), ""]
    return "\n".join(parts)
