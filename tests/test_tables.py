"""Tests of sgdspectra.tables on hand-built fit tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sgdspectra.tables import format_number, summarize_fits, write_table

NAN = math.nan


def hand_table() -> pd.DataFrame:
    """Three seeds; step 0 rows must be ignored (the final step is 10)."""
    rows = []
    for seed, shape, alpha, status in ((0, 1.0, 2.0, "ok"), (1, 2.0, NAN, "failed"),
                                       (2, 3.0, 4.0, "ok")):
        rows.append({"model": "mlp", "seed": seed, "matrix": "a", "step": 0, "law": "eq13",
                     "status": "ok", "shape": 100.0, "rate": 100.0, "ks": 0.9})
        rows.append({"model": "mlp", "seed": seed, "matrix": "a", "step": 10, "law": "eq13",
                     "status": "ok", "shape": shape, "rate": 2 * shape, "ks": 0.1 * shape})
        rows.append({"model": "mlp", "seed": seed, "matrix": "a", "step": 10,
                     "law": "power_law", "status": status, "alpha": alpha, "xmin": 1.0,
                     "n_tail": 12.0, "ks": NAN})
        rows.append({"model": "mlp", "seed": seed, "matrix": "b", "step": 10,
                     "law": "power_law", "status": "too_few_values", "alpha": NAN})
    return pd.DataFrame(rows)


def test_seed_mean_and_std_at_final_step() -> None:
    out = summarize_fits(hand_table()).set_index(["matrix", "law"])
    eq13 = out.loc[("a", "eq13")]
    assert eq13["step"] == 10 and eq13["n_seeds"] == 3 and eq13["n_ok"] == 3
    assert eq13["shape_mean"] == pytest.approx(2.0)
    assert eq13["shape_std"] == pytest.approx(1.0)  # sample std of 1, 2, 3
    assert eq13["rate_mean"] == pytest.approx(4.0)
    assert eq13["ks_mean"] == pytest.approx(0.2)
    assert eq13["statuses"] == "ok"


def test_nan_handling_and_status_words() -> None:
    out = summarize_fits(hand_table()).set_index(["matrix", "law"])
    pl = out.loc[("a", "power_law")]
    assert pl["n_ok"] == 2 and pl["statuses"] == "failed,ok"
    assert pl["alpha_mean"] == pytest.approx(3.0)  # the failed seed's NaN is skipped
    assert pl["alpha_std"] == pytest.approx(np.std([2.0, 4.0], ddof=1))
    assert np.isnan(pl["ks_mean"]) and np.isnan(pl["ks_std"])
    b = out.loc[("b", "power_law")]
    assert b["n_ok"] == 0 and b["statuses"] == "too_few_values"
    assert np.isnan(b["alpha_mean"])
    assert "shape_mean" in out.columns and "loglik_mean" not in out.columns  # absent → skipped


def test_single_seed_std_is_nan_and_drop_empty() -> None:
    one = hand_table().query("seed == 0")
    out = summarize_fits(one, drop_empty=True)
    assert summarize_fits(one)["shape_std"].isna().all()  # one seed → no std
    assert not [c for c in out.columns if c.endswith("_std")]  # NaN in every row → dropped
    assert "alpha_mean" in out.columns and "shape_mean" in out.columns


def test_missing_required_column_is_an_error() -> None:
    with pytest.raises(ValueError, match="status"):
        summarize_fits(hand_table().drop(columns="status"))


def test_format_number() -> None:
    assert format_number(NAN) == "—"
    assert format_number(np.float64(0.123456)) == "0.1235"
    assert format_number(3.0) == "3"
    assert format_number(np.int64(7)) == "7"
    assert format_number(1.5e-7) == "1.5e-07"
    assert format_number("ok") == "ok"


def test_write_table_csv_and_markdown(tmp_path: Path) -> None:
    out = summarize_fits(hand_table())
    csv, md = tmp_path / "t" / "fits.csv", tmp_path / "t" / "fits.md"
    write_table(out, csv, md, title="Fits at the final step")
    back = pd.read_csv(csv)
    assert back.shape == out.shape
    assert back["shape_mean"].tolist() == pytest.approx(out["shape_mean"].tolist(), nan_ok=True)
    text = md.read_text(encoding="utf-8")
    assert text.startswith("## Fits at the final step")
    header = next(line for line in text.splitlines() if line.startswith("|"))
    assert "model" in header and "shape_mean" in header and "statuses" in header
    assert "—" in text and "nan" not in text.lower()
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["fits.csv", "fits.md"]


def test_summary_has_seed_t_intervals():
    import pandas as pd
    from scipy import stats

    from sgdspectra.tables import summarize_fits

    fits = pd.DataFrame([
        {"model": "m", "seed": s, "matrix": "w", "law": "power_law", "step": 10, "status": "ok", "alpha": a}
        for s, a in ((0, 2.0), (1, 4.0), (2, 3.0))
    ])
    row = summarize_fits(fits).iloc[0]
    half = stats.t.ppf(0.975, 2) * 1.0 / 3**0.5  # sd = 1 over three seeds
    assert row.alpha_ci_low == pytest.approx(3.0 - half) and row.alpha_ci_high == pytest.approx(3.0 + half)
