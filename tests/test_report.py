"""The report's verdict summary (sgdspectra.report) on hand-made verdict tables."""

from __future__ import annotations

import math
import re

import pandas as pd

from sgdspectra.fitting import VERDICT_COLUMNS
from sgdspectra.fitting.verdict import model_verdicts
from sgdspectra.report import SUMMARY_ID, verdict_summary_html, write_verdict_summary

TAIL_WINS = "gamma_powerlaw_tail vs gamma: R=5, p=0.01, prefers gamma_powerlaw_tail (2/2 seeds)"
GAMMA_WINS = "gamma_powerlaw_tail vs gamma: R=-1, p=0.3, prefers gamma (2/2 seeds)"


def _row(model: str, matrix: str, step: int, best_aic: str, best_ks: str, eq13_better: object,
         shapes: tuple[float, float, float], lr_tail: str) -> dict:  # fmt: skip
    eq13, exact, fitted = shapes
    return dict.fromkeys(VERDICT_COLUMNS, math.nan) | {
        "model": model, "matrix": matrix, "kind": "mlp_hidden", "n_rows": 64, "n_cols": 32,
        "step": step, "n_seeds": 2, "best_aic": best_aic, "best_ks": best_ks,
        "eq13_better_than_exact": eq13_better, "shape_eq13_predicted": eq13,
        "shape_exact_predicted": exact, "shape_fitted": fitted,
        "lr_gamma_powerlaw_tail_vs_gamma": lr_tail,
    }  # fmt: skip


def _table() -> pd.DataFrame:
    rows = [
        # an early step of mlp: must not count
        _row("mlp", "layers.0", 10, "marchenko_pastur", "marchenko_pastur", True, (2, 4, 8), TAIL_WINS),
        _row("mlp", "layers.0", 100, "gamma", "gamma_exact", False, (2.0, 4.0, 8.0), TAIL_WINS),
        _row("mlp", "layers.1", 100, "gamma", "gamma", True, (4.0, 8.0, 4.0), GAMMA_WINS),
        _row("mlp", "head", 100, "lognormal", "gamma", math.nan, (math.nan, 2.0, 1.0), ""),
        _row("gpt<b>", "attn_q", 50, "gamma_exact", "gamma_exact", False, (1.0, 1.0, 1.0), GAMMA_WINS),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def test_model_verdicts_count_the_last_step_only():
    verdicts = {v.model: v for v in model_verdicts(_table())}
    mlp = verdicts["mlp"]
    assert (mlp.step, mlp.n_matrices, mlp.n_seeds) == (100, 3, 2)
    assert mlp.best_aic == {"gamma": 2, "lognormal": 1}
    assert mlp.best_ks == {"gamma": 2, "gamma_exact": 1}
    assert (mlp.eq13_better, mlp.eq13_compared) == (1, 2)  # head has no Eq. 13 comparison
    # fitted / predicted: Eq. 13 ratios 4 and 1 (head undefined) -> median 2.5; exact 2, 0.5, 0.5
    assert mlp.shape_ratio_eq13 == 2.5 and mlp.shape_ratio_exact == 0.5
    assert mlp.tail_beats_gamma == 1


def test_summary_html_states_each_model_and_escapes_names():
    text = verdict_summary_html(_table())
    assert text.startswith(f'<div id="{SUMMARY_ID}">') and text.rstrip().endswith("</div>")
    mlp = re.search(r'<p class="model-verdict"><strong>mlp</strong>(.*?)</p>', text, flags=re.S).group(1)
    assert "(step 100, 3 matrices, 2 seeds)" in mlp
    assert "best by AIC gamma (2), lognormal (1)" in mlp
    assert "Eq. 13 beats the exact gamma in 1 of 2 comparable" in mlp
    assert "2.5 (Eq. 13), 0.5 (exact)" in mlp and "beats the gamma in 1 of 3" in mlp
    assert "<strong>gpt&lt;b&gt;</strong>" in text and "gpt<b>" not in text
    assert text.count("<tr>") == 1 + 4  # header + the last-step rows of both models
    assert "<td>layers.0</td>" in text and "<td>10</td>" not in text


def test_summary_from_csv_files_matches_the_table(tmp_path):
    table = _table()
    paths = []
    for model, rows in table.groupby("model"):
        paths.append(tmp_path / f"verdict_{model}.csv")
        rows.to_csv(paths[-1], index=False)  # empty LR texts and NaN booleans come back as NaN
    out = write_verdict_summary(paths, tmp_path / "summary.html")
    assert out.read_text(encoding="utf-8") == verdict_summary_html(table)


def test_empty_tables_say_so():
    text = verdict_summary_html(pd.DataFrame(columns=list(VERDICT_COLUMNS)))
    assert "No verdict" in text and "<table>" not in text
