"""Verdict table: per-seed decisions, aggregation over seeds, and the markdown summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sgdspectra.fitting import (
    COMPARE_COLUMNS,
    VERDICT_COLUMNS,
    compare_laws,
    verdict_markdown,
    verdict_table,
)
from sgdspectra.laws import GammaLaw, GammaPowerLawTail

IDS = {"model": "mlp", "kind": "mlp_hidden", "n_rows": 15, "n_cols": 10, "matrix": "layers.0"}


def _rows(seed: int, step: int, aic: dict[str, float], ks: dict[str, float],
          shape: float, lr: tuple[float, float, str]) -> list[dict]:  # fmt: skip
    out = []
    for law in ("eq13", "gamma_exact", "gamma", "gamma_powerlaw_tail"):
        row = dict.fromkeys(COMPARE_COLUMNS, math.nan) | IDS | {
            "seed": seed, "step": step, "law": law, "support": "spectrum", "status": "ok",
            "aic": aic[law], "ks": ks[law], "loglik": -aic[law] / 2, "shape": shape}
        if law == "gamma":
            row |= {"lr_against": "gamma_powerlaw_tail", "lr_R": lr[0], "lr_p": lr[1],
                    "lr_preferred": lr[2]}
        out.append(row)
    return out


def test_aggregation_over_seeds_on_a_hand_made_table():
    aic_a = {"eq13": 10.0, "gamma_exact": 5.0, "gamma": 6.0, "gamma_powerlaw_tail": 7.0}
    aic_b = {"eq13": 10.0, "gamma_exact": 8.0, "gamma": 6.0, "gamma_powerlaw_tail": 7.0}
    ks = {"eq13": 0.3, "gamma_exact": 0.1, "gamma": 0.2, "gamma_powerlaw_tail": 0.25}
    rows = (_rows(0, 100, aic_a, ks, 2.0, (1.0, 0.5, "gamma"))
            + _rows(1, 100, aic_a, ks, 3.0, (3.0, 0.1, "gamma"))
            + _rows(2, 100, aic_b, ks, 4.0, (8.0, 0.0, "gamma_powerlaw_tail")))  # fmt: skip
    fits = pd.DataFrame(rows)
    fits.loc[(fits["seed"] == 2) & (fits["law"] == "gamma_exact"), "status"] = "failed"
    table = verdict_table(fits)
    assert list(table.columns) == list(VERDICT_COLUMNS) and len(table) == 1
    row = table.iloc[0]
    assert row["n_seeds"] == 3 and row["best_aic"] == "gamma_exact"  # 2 of 3 seeds
    assert row["best_ks"] == "gamma_exact"  # seed 2: gamma_exact failed, gamma wins; mode wins
    assert row["shape_fitted"] == pytest.approx(3.0)
    assert row["shape_eq13_predicted"] == 2.0 and row["shape_exact_predicted"] == 3.0
    assert not row["eq13_better_than_exact"]  # NaN would be truthy: this checks for False
    assert row["eq13_better_fraction"] == 0.0  # seeds 0, 1 (seed 2 has no exact fit)
    assert row["lr_gamma_powerlaw_tail_vs_gamma"] == (
        "gamma_powerlaw_tail vs gamma: R=4, p=0.2, prefers gamma (2/3 seeds)")
    assert row["lr_power_law_vs_lognormal_tail"] == ""  # no tail rows in this table


def test_ties_in_words_break_alphabetically():
    aic_a = {"eq13": 10.0, "gamma_exact": 5.0, "gamma": 6.0, "gamma_powerlaw_tail": 7.0}
    aic_b = {"eq13": 10.0, "gamma_exact": 8.0, "gamma": 6.0, "gamma_powerlaw_tail": 7.0}
    ks = {"eq13": 0.3, "gamma_exact": 0.1, "gamma": 0.2, "gamma_powerlaw_tail": 0.25}
    fits = pd.DataFrame(_rows(0, 5, aic_a, ks, 2.0, (1.0, 0.5, "gamma"))
                        + _rows(1, 5, aic_b, ks, 2.0, (1.0, 0.5, "gamma")))  # fmt: skip
    assert verdict_table(fits).iloc[0]["best_aic"] == "gamma"  # 1:1 between gamma, gamma_exact
    with pytest.raises(ValueError, match="lacks"):
        verdict_table(fits.drop(columns=["seed"]))


def test_verdict_from_real_compare_laws_outputs():
    frames = []
    for seed in (0, 1):
        for step in (0, 50):
            # layers.0 (15 x 10): exact one-particle law, shape (15 - 10 + 1)/2 = 3
            lam = GammaLaw(3.0, 2.0).rvs(400, seed=100 * seed + step)
            frames.append(compare_laws(lam, 15, 10).assign(
                model="mlp", seed=seed, matrix="layers.0", kind="mlp_in", n_rows=15, n_cols=10,
                step=step))
            # head (10 x 1024): Eq. 13 undefined; heavy-tailed spectrum
            lam = GammaPowerLawTail.from_gamma_scale(2.0, 1.0, 3.5).rvs(400, seed=seed + 7 * step)
            frames.append(compare_laws(lam, 10, 1024).assign(
                model="mlp", seed=seed, matrix="head", kind="mlp_out", n_rows=10, n_cols=1024,
                step=step))  # fmt: skip
    fits = pd.concat(frames, ignore_index=True)
    table = verdict_table(fits)
    assert len(table) == 4 and (table["n_seeds"] == 2).all()
    layer = table[(table["matrix"] == "layers.0") & (table["step"] == 50)].iloc[0]
    assert layer["shape_eq13_predicted"] == 2.0 and layer["shape_exact_predicted"] == 3.0
    # free-shape MLE sd at n = 400, k = 3: sqrt(k / (n (k psi'(k) - 1))) = 0.20; mean of 2 seeds
    assert abs(layer["shape_fitted"] - 3.0) < 4 * 0.20 / math.sqrt(2)
    assert not layer["eq13_better_than_exact"]  # shape 2 against the true 3
    assert layer["best_aic"] in ("gamma_exact", "gamma", "gamma_powerlaw_tail")
    head = table[(table["matrix"] == "head") & (table["step"] == 50)].iloc[0]
    assert math.isnan(head["shape_eq13_predicted"]) and head["shape_exact_predicted"] == 507.5
    assert math.isnan(head["eq13_better_fraction"])
    lr_tail = head["lr_gamma_powerlaw_tail_vs_gamma"]
    assert lr_tail.endswith("prefers gamma_powerlaw_tail (2/2 seeds)")
    assert head["lr_power_law_vs_lognormal_tail"].startswith("power_law vs lognormal_tail: R=")
    text = verdict_markdown(table)
    assert "**mlp** (step 50, 2 matrices, 2 seed(s))" in text
    assert "Eq. 13 fits better than the exact gamma (log-likelihood) in 0 of 1 matrices" in text
    assert "beats the pure gamma (nested LR) in 1 of 2 matrices" in text
    assert text.count("\n| mlp |") == 2
    assert np.isfinite(table["alpha"]).all()
