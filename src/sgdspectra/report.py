"""The verdict summary of the Snakemake HTML report (rule ``make_report_summary``).

:func:`verdict_summary_html` turns the verdict tables (``results/tables/verdict_<model>.csv``,
:func:`sgdspectra.fitting.verdict_table`) into an HTML fragment: per model, at its latest step,
which law wins by AIC and by KS, how often the paper's Eq. 13 beats the exact gamma law, the
fitted-over-predicted gamma shapes and the tail test, then a collapsible per-matrix table. The
report's front page (``workflow/report/workflow.rst``) embeds the fragment, and the report lists
it as a result of its own, so the summary is read, never retyped.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sgdspectra.fitting.verdict import (
    SUMMARY_MATRIX_COLUMNS,
    counts_text,
    last_step_rows,
    model_verdicts,
)
from sgdspectra.io import write_text
from sgdspectra.tables import format_number

log = logging.getLogger(__name__)

__all__ = ["SUMMARY_ID", "verdict_summary_html", "write_verdict_summary"]

#: Id of the summary's element (the report test finds the summary by it).
SUMMARY_ID = "sgdspectra-verdict"

#: Styles scoped to the summary's own element (the fragment is embedded in the report's page).
_STYLE = (f"<style>#{SUMMARY_ID} table {{border-collapse: collapse; font-size: smaller}} "
          f"#{SUMMARY_ID} th, #{SUMMARY_ID} td {{border: 1px solid #cbd5e1; padding: 1px 4px}}</style>")


def _esc(value: object) -> str:
    return html.escape(format_number(value))


def _ratio(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3g}"


def _matrix_table(rows: pd.DataFrame) -> str:
    cols = [c for c in SUMMARY_MATRIX_COLUMNS if c in rows.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in rec) + "</tr>"
        for rec in rows[cols].astype(object).itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def verdict_summary_html(table: pd.DataFrame) -> str:
    """HTML fragment (no ``<html>``/``<head>``) summarising a verdict table of one or more models.

    ``table`` has the columns of :data:`sgdspectra.fitting.verdict.VERDICT_COLUMNS`, e.g. the
    concatenated CSVs of rule ``make_table_verdict``. Every text taken from the table is escaped.
    """
    parts = [
        f'<div id="{SUMMARY_ID}">',
        _STYLE,
        "<p><strong>Verdict</strong> at each model's last step: which law best describes the "
        "squared singular values λ of each matrix (maximum likelihood over the whole spectrum, "
        "AIC and KS distance), whether the paper's Eq. 13 beats the exact gamma law derived from "
        "the SDE, the fitted gamma shape over each law's predicted shape (1: prediction holds), "
        "and how often a power-law tail beats the pure gamma (likelihood ratio).</p>",
    ]
    if table.empty:
        parts += ["<p>No verdict: the law comparisons produced no rows.</p>", "</div>"]
        return "\n".join(parts) + "\n"
    for v in model_verdicts(table):
        seeds = f"{v.n_seeds} seed" + ("s" if v.n_seeds != 1 else "")
        parts.append(
            f'<p class="model-verdict"><strong>{html.escape(v.model)}</strong> (step {v.step}, '
            f"{v.n_matrices} matrices, {seeds}): best by AIC {html.escape(counts_text(v.best_aic))}; "
            f"by KS {html.escape(counts_text(v.best_ks))}; Eq. 13 beats the exact gamma in "
            f"{v.eq13_better} of {v.eq13_compared} comparable; median fitted/predicted shape "
            f"{_ratio(v.shape_ratio_eq13)} (Eq. 13), {_ratio(v.shape_ratio_exact)} (exact); "
            f"power-law tail beats the gamma in {v.tail_beats_gamma} of {v.n_matrices}.</p>"
        )  # fmt: skip
    parts += [
        "<details><summary>Per matrix, at the last step (aggregated over seeds)</summary>",
        _matrix_table(last_step_rows(table).sort_values("model", kind="stable")),  # models as above
        "</details>",
        "</div>",
    ]
    return "\n".join(parts) + "\n"


def write_verdict_summary(verdict_paths: Sequence[str | os.PathLike], output: str | os.PathLike) -> Path:
    """Rule ``make_report_summary``: read the verdict CSVs, write :func:`verdict_summary_html`."""
    frames = [pd.read_csv(p) for p in verdict_paths]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    log.info("verdict summary of %d table(s), %d row(s)", len(frames), len(table))
    return write_text(verdict_summary_html(table), output)
