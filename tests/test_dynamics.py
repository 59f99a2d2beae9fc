"""Dynamics measurements, the first-order tracker, the term-by-term regression, calibration and
forecasts, checked against exact results and data simulated from known SDEs."""

from __future__ import annotations


import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from sgdspectra.config import ModelConfig, TrainConfig
from sgdspectra.dynamics import (
    drift_terms,
    dynamics_anchors,
    measure_matrices,
    noise_from_gradients,
    probe_gradients,
    repulsion_sum,
)
from sgdspectra.dynamics_fit import calibrate_windows, increment_regression
from sgdspectra.forecast import ForecastSettings, forecast_run, score_spectrum, sde_time_since, skill_table
from sgdspectra.recording import gradient_noise
from sgdspectra.sde.eigen import simulate_singular_values
from sgdspectra.tracker import first_order_update, forecast_start, orthonormalize


# ------------------------------------------------------------------ noise on linear regression
class _RegressionTask:
    """y = W* x + eps, x ~ N(0, I), eps ~ N(0, noise^2); loss = mean_b 1/2 ||W x - y||^2.

    At W = W* the per-sample gradient is -eps x^T: every entry has variance noise^2, entries are
    uncorrelated, so a minibatch of B has isotropic per-entry variance noise^2 / B and
    D = noise^2 / (2 B) exactly."""

    def __init__(self, w_star: torch.Tensor, noise: float, batch: int) -> None:
        self.w_star, self.noise, self.batch = w_star, noise, batch

    def probe_batch(self, rng: np.random.Generator):
        x = torch.as_tensor(rng.standard_normal((self.batch, self.w_star.shape[1])))
        eps = torch.as_tensor(self.noise * rng.standard_normal((self.batch, self.w_star.shape[0])))
        return x, x @ self.w_star.T + eps

    def loss(self, model, x, y):
        return 0.5 * ((model(x) - y) ** 2).sum(dim=1).mean()


class _FakeTrainer:
    def __init__(self, model, task):
        self.model, self.task = model, task


@pytest.fixture()
def regression_trainer():
    torch.manual_seed(0)
    w_star = torch.randn(20, 30, dtype=torch.float64) / 6
    model = nn.Linear(30, 20, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(w_star)
    noise, batch = 0.7, 8
    return _FakeTrainer(model, _RegressionTask(w_star, noise, batch)), noise**2 / (2 * batch)


def test_noise_estimator_recovers_isotropic_noise_within_10_percent(regression_trainer):
    trainer, d_true = regression_trainer
    d_rec, _ = gradient_noise(trainer, n_batches=64, seed=1)
    assert abs(d_rec["weight"] / d_true - 1) < 0.10
    grads = list(probe_gradients(trainer, 64, np.random.default_rng(2)))
    meas = measure_matrices({"weight": trainer.model.weight.detach().numpy().copy()}, grads)["weight"]
    assert abs(meas["noise_d"] / d_true - 1) < 0.10
    # isotropic noise: every singular-pair projection has the same variance, so the mean of D_i too
    assert abs(meas["mode_d"].mean() / d_true - 1) < 0.10
    # and the jackknife error is a sensible fraction of D
    assert 0 < meas["noise_d_se"] < 0.1 * d_true
    # probing leaves no gradient behind
    assert trainer.model.weight.grad is None


def test_noise_jackknife_matches_its_definition():
    rng = np.random.default_rng(3)
    stack = rng.normal(size=(6, 4, 5))
    d, se = noise_from_gradients(stack)
    loo = np.array([np.delete(stack, b, axis=0).var(axis=0, ddof=1).mean() / 2 for b in range(6)])
    assert d == pytest.approx(stack.var(axis=0, ddof=1).mean() / 2)
    assert se == pytest.approx(np.sqrt(5 / 6 * np.sum((loo - loo.mean()) ** 2)))


# -------------------------------------------------------------------------- drift terms
def test_drift_terms_match_the_formulas():
    sig = np.array([3.0, 2.0, 0.5])
    g = np.array([0.1, -0.2, 0.3])
    t = drift_terms(sig, g, noise_d=0.25, shape=(3, 7), eta=0.1, weight_decay=0.01)
    s = 2 * 0.1 * 0.25
    assert t["s"] == pytest.approx(s)
    assert t["noise"] == pytest.approx(np.sqrt(s))
    np.testing.assert_allclose(t["gradient"], -(g + 0.01 * sig))
    np.testing.assert_allclose(t["mp"], s * 4 / (2 * sig))
    rep = [sum(sig[i] / (sig[i] ** 2 - sig[j] ** 2) for j in range(3) if j != i) for i in range(3)]
    np.testing.assert_allclose(t["repulsion"], s * np.array(rep))
    np.testing.assert_allclose(repulsion_sum(sig), rep)


def test_anchors_cover_early_and_late_training():
    a = dynamics_anchors(3000, 24, 5)
    assert a[0] == 1 and a[-1] <= 2995 and np.all(np.diff(a) > 0)
    assert (a < 300).sum() >= 6 and (a > 1500).sum() >= 5
    assert dynamics_anchors(3000, 0, 5).size == 0
    assert dynamics_anchors(4, 3, 5).size == 0


# ------------------------------------------------------------------------------ tracker
def _errors(eps: float, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    w = rng.normal(size=(30, 20))
    dw = rng.normal(size=(30, 20))
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    u1, s1, v1, skipped = first_order_update(u, s, vt.T, eps * dw)
    ue, se, vte = np.linalg.svd(w + eps * dw, full_matrices=False)
    sign_u = np.sign(np.sum(u1 * ue, axis=0))
    sign_v = np.sign(np.sum(v1 * vte.T, axis=0))
    return (np.max(np.abs(s1 - se)), np.max(np.abs(u1 - ue * sign_u)), np.max(np.abs(v1 - vte.T * sign_v)), skipped)


def test_tracker_is_exact_to_first_order():
    """Errors of sigma, U and V against the exact SVD of W + eps dW scale as eps^2."""
    e1, e2 = _errors(1e-3), _errors(1e-4)
    assert e1[3] == e2[3] == 0
    for a, b in zip(e1[:3], e2[:3]):
        ratio = a / b
        assert 60 < ratio < 160, ratio  # eps^2 scaling: 100; first order would give 10
    assert e2[0] < 1e-6


def test_the_papers_sign_structure_is_not_first_order_exact():
    """The mixing coefficient with sigma_i and sigma_j exchanged (the error SCIENCE.md §6 names) has
    a first-order error: the check above would catch it."""
    rng = np.random.default_rng(0)
    w, dw = rng.normal(size=(30, 20)), rng.normal(size=(30, 20))
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    v = vt.T
    eps = 1e-4
    dp = u.T @ (eps * dw) @ v
    diff = s[None, :] ** 2 - s[:, None] ** 2
    np.fill_diagonal(diff, np.inf)
    wrong = u + u @ ((dp * s[:, None] + s[None, :] * dp.T) / diff)
    ue = np.linalg.svd(w + eps * dw, full_matrices=False)[0]
    err = np.max(np.abs(wrong - ue * np.sign(np.sum(wrong * ue, axis=0))))
    assert err > 10 * _errors(eps)[1]


def test_near_degenerate_pairs_are_skipped_not_blown_up():
    u, v = np.eye(4)[:, :3], np.eye(3)
    s = np.array([2.0, 1.0 + 1e-9, 1.0])
    dw = 1e-3 * np.random.default_rng(0).normal(size=(4, 3))
    u1, s1, v1, skipped = first_order_update(u, s, v, dw)
    assert skipped == 1
    assert np.all(np.isfinite(u1)) and np.max(np.abs(u1 - u)) < 0.1


def test_orthonormalize_and_forecast_start():
    q = orthonormalize(np.eye(5)[:, :3] + 1e-3 * np.random.default_rng(1).normal(size=(5, 3)))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    assert np.all(np.diag(q) > 0)
    assert forecast_start([0, 10, 20, 40], 25) == 20
    assert forecast_start([0, 10, 20, 40], 20) == 20
    assert forecast_start([5, 10], 1) == 5


# ----------------------------------------------------- synthetic run from a known sigma-SDE
M, N, S_TRUE, KAPPA_TRUE, ETA, GAP = 60, 16, 0.002, 0.03, 0.05, 1


def _synthetic_run(n_windows: int = 300, total: int = 4000, seed: int = 0) -> xr.Dataset:
    """A run file whose spectra follow dsigma = -kappa sigma dt + s[(M-N)/(2 sigma) + repulsion] dt
    + sqrt(s) dbeta with t = ETA x step: snapshots every 250 steps, dynamics windows (k, k + GAP)
    with the projected gradient g~ = kappa sigma measured with 5 % noise and D = s / (2 ETA)."""
    rng = np.random.default_rng(seed)
    sig0 = np.sort(rng.uniform(3.0, 8.0, N))[::-1]  # far above equilibrium: the spectrum relaxes
    anchors = np.unique(np.linspace(1, total - GAP, n_windows).astype(int))
    snap = np.arange(0, total + 1, 250)
    times_steps = np.unique(np.concatenate([snap, anchors, anchors + GAP]))
    sim = simulate_singular_values(sig0, M, S_TRUE, KAPPA_TRUE, dt=ETA / 4, times=times_steps * ETA,
                                   n_replicas=1, seed=seed)
    path = dict(zip(times_steps.tolist(), sim["sigma"].values[0]))
    dyn_steps = np.sort(np.concatenate([anchors, anchors + GAP]))
    anchor_of = {int(a): int(a) for a in anchors} | {int(a) + GAP: int(a) for a in anchors}
    d_true = S_TRUE / (2 * ETA)
    dyn = {k: np.full((dyn_steps.size, 1, N), np.nan) for k in
           ("dyn_sigma", "grad_proj", "mode_noise_D", "drift_gradient", "drift_mp", "drift_repulsion")}
    for i, st in enumerate(dyn_steps):
        sig = path[int(st)]
        g = KAPPA_TRUE * sig * (1 + 0.05 * rng.standard_normal(N))
        t = drift_terms(sig, g, d_true, (M, N), ETA)
        for key, val in (("dyn_sigma", sig), ("grad_proj", g), ("mode_noise_D", np.full(N, d_true)),
                         ("drift_gradient", t["gradient"]), ("drift_mp", t["mp"]), ("drift_repulsion", t["repulsion"])):
            dyn[key][i, 0] = val
    sigma = np.stack([path[int(st)] for st in snap])[:, None, :]
    cfg = ModelConfig.from_dict("syn", {"train": {"steps": total, "lr": ETA, "momentum": 0.0}})
    ds = xr.Dataset(
        {"sigma": (("step", "matrix", "k"), sigma),
         "tracker_sigma": (("step", "matrix", "k"), np.where(snap[:, None, None] >= 1000, sigma, np.nan)),
         **{k: (("dyn_step", "matrix", "k"), v) for k, v in dyn.items()},
         "dyn_noise_D": (("dyn_step", "matrix"), np.full((dyn_steps.size, 1), d_true)),
         "dyn_noise_D_se": (("dyn_step", "matrix"), np.full((dyn_steps.size, 1), 0.01 * d_true)),
         "s_noise": (("dyn_step", "matrix"), np.full((dyn_steps.size, 1), S_TRUE)),
         "eta_effective": (("dyn_step",), np.full(dyn_steps.size, ETA)),
         "dyn_anchor": (("dyn_step",), np.array([anchor_of[int(s)] for s in dyn_steps]))},
        coords={"step": snap, "matrix": ["w"], "k": np.arange(N), "dyn_step": dyn_steps,
                "n_rows": ("matrix", [M]), "n_cols": ("matrix", [N]), "kind": ("matrix", ["mlp_hidden"])},
        attrs={"config_json": cfg.to_json(), "tracking_start_step": 1000},
    )
    return ds


@pytest.fixture(scope="module")
def synthetic_run():
    return _synthetic_run()


def test_regression_recovers_unit_coefficients_on_sde_data(synthetic_run):
    reg = increment_regression(synthetic_run, "syn", 0).set_index("phase")
    row = reg.loc["all"]
    assert row.status == "ok" and row.n_obs > 1000
    assert row.n_excluded < 0.3 * (row.n_obs + row.n_excluded)
    for term in ("gradient", "mp", "repulsion"):  # each coefficient within 4 standard errors of 1
        assert abs(row[f"b_{term}"] - 1) < 4 * row[f"b_{term}_se"], (term, row[f"b_{term}"], row[f"b_{term}_se"])
        assert row[f"b_{term}_se"] < 0.3
    assert row.b_gradient_lo < 1 < row.b_gradient_hi
    assert abs(row.diffusion_ratio - 1) < 0.1


def test_regression_detects_a_missing_repulsion():
    """Increments simulated without repulsion give a repulsion coefficient far from 1."""
    ds = _synthetic_run(seed=1)
    sig_a = ds["dyn_sigma"].values
    rng = np.random.default_rng(5)
    dyn_steps, anchors = ds["dyn_step"].values, ds["dyn_anchor"].values
    new = sig_a.copy()
    for i, st in enumerate(dyn_steps):
        if st == anchors[i]:
            continue
        a = np.flatnonzero((dyn_steps == anchors[i]))[0]
        s0 = sig_a[a, 0]
        drift = ds["drift_gradient"].values[a, 0] + ds["drift_mp"].values[a, 0]  # no repulsion
        new[i, 0] = s0 + ETA * GAP * drift + np.sqrt(S_TRUE * ETA * GAP) * rng.standard_normal(N)
    ds["dyn_sigma"].values[:] = new
    row = increment_regression(ds).set_index("phase").loc["all"]
    assert not (row.b_repulsion_lo < 1 < row.b_repulsion_hi)
    assert abs(row.b_repulsion) < 0.5


def test_calibration_recovers_the_sde_parameters(synthetic_run):
    cal = calibrate_windows(synthetic_run, "syn", 0)
    assert len(cal) > 100
    assert cal.s_D.to_numpy() == pytest.approx(S_TRUE)
    # s from the increments alone: independent of D
    assert abs(cal.s_increments.mean() / S_TRUE - 1) < 0.1
    assert abs(np.average(cal.kappa, weights=1 / cal.kappa_se**2) / KAPPA_TRUE - 1) < 0.05
    # isotropic, state-independent noise: no multiplicative part
    assert np.all(np.abs(cal.s_mult_s1) < 1e-9)


def test_calibrated_forecast_beats_the_frozen_spectrum(synthetic_run):
    fc, scores, cal = forecast_run(synthetic_run, ForecastSettings(n_replicas=8, sde_steps=300), "syn", 0)
    assert cal.status.iloc[0] == "ok"
    assert cal.kappa.iloc[0] == pytest.approx(KAPPA_TRUE, rel=0.1)
    assert cal.s.iloc[0] == pytest.approx(S_TRUE)
    last = scores[scores.horizon == scores.horizon.max()].set_index("forecaster")
    assert last.loc["sde", "skill_w1"] > 0.5
    assert last.loc["sde", "skill_top8_rel_error"] > 0.5
    assert last.loc["tracker", "w1"] == 0.0  # the synthetic "tracker" is the observed spectrum
    assert np.all(last.loc["frozen", ["skill_w1", "skill_ks"]] == 0)
    table = skill_table(scores)
    assert list(table.forecaster) == ["sde", "tracker", "linear", "frozen"]
    assert fc["sde"].sizes["replica"] == 8 and np.all(np.isfinite(fc["sde"].values[0, :, :, :N]))


def test_forecast_uses_nothing_after_t0(synthetic_run):
    """Changing the spectra after t0 changes the scores but not the forecasts."""
    a, _, _ = forecast_run(synthetic_run, ForecastSettings(n_replicas=3, sde_steps=50))
    changed = synthetic_run.copy(deep=True)
    changed["sigma"].values[changed["step"].values > 1000] *= 1.5
    b, _, _ = forecast_run(changed, ForecastSettings(n_replicas=3, sde_steps=50))
    for f in ("sde", "linear", "frozen"):
        np.testing.assert_array_equal(a[f].values, b[f].values)


def test_sde_time_follows_the_schedule():
    cfg = TrainConfig(steps=100, lr=0.1, momentum=0.5, schedule="warmup_cosine", warmup_steps=10)
    t = sde_time_since(cfg, 0, np.array([0, 10, 100]))
    assert t[0] == 0
    assert t[1] == pytest.approx(sum(0.1 * (j + 1) / 10 for j in range(10)) / 0.5)
    assert np.all(np.diff(t) > 0)


def test_scores_of_identical_and_shifted_spectra():
    obs = np.linspace(1, 2, 50)
    same = score_spectrum(obs.copy(), obs)
    assert same == {"ks": 0.0, "w1": 0.0, "top8_rel_error": 0.0}
    shifted = score_spectrum(obs + 0.1, obs)
    assert shifted["w1"] == pytest.approx(0.1)
    ens = score_spectrum(np.stack([obs, obs]), obs)
    assert ens["w1"] == pytest.approx(0.0)


# ------------------------------------------------------- recording during a real training run
def _digits_cfg(**extra) -> ModelConfig:
    spec = {"hidden": [32], "train": {"steps": 40, "batch_size": 16, "lr": 0.05, "checkpoint_every": 15},
            "snapshots": {"log_points": 3, "log_until": 10, "every": 10},
            "dynamics": {"windows": 4, "gap": 2, "probe_batches": 4},
            "tracking": {"start_step": 10, "matrices": ["layers.0"]}}
    spec.update(extra)
    return ModelConfig.from_dict("m", spec)


def test_training_records_dynamics_and_tracker(tmp_path):
    from sgdspectra.train import train_and_record

    ds = train_and_record(_digits_cfg(), 0, tmp_path / "spectra.nc")
    assert ds.attrs["tracking_start_step"] == 10
    assert ds.sizes["dyn_step"] == 2 * len(dynamics_anchors(40, 4, 2))
    j = list(ds["matrix"].values).index("layers.0")
    r = 32
    sig = ds["dyn_sigma"].values[:, j, :r]
    assert np.all(np.isfinite(sig)) and np.all(np.diff(sig, axis=1) <= 0)
    # stored terms are the formulas applied to the stored measurements
    i = 0
    t = drift_terms(sig[i], ds["grad_proj"].values[i, j, :r], float(ds["dyn_noise_D"].values[i, j]),
                    (int(ds.n_rows[j]), int(ds.n_cols[j])), float(ds["eta_effective"].values[i]))
    np.testing.assert_allclose(ds["drift_repulsion"].values[i, j, :r], t["repulsion"])
    np.testing.assert_allclose(ds["drift_mp"].values[i, j, :r], t["mp"])
    # the tracker starts at t0 on the exact spectrum and stays close to it
    tr = ds["tracker_sigma"].sel(matrix="layers.0")
    assert np.all(np.isnan(tr.sel(step=ds.step[ds.step < 10]).values))
    np.testing.assert_allclose(tr.sel(step=10).values[:r], ds["sigma"].sel(matrix="layers.0", step=10).values[:r])
    last = ds["step"].values[-1]
    obs = ds["sigma"].sel(matrix="layers.0", step=last).values[:r]
    err_tracker = np.abs(np.sort(tr.sel(step=last).values[:r])[::-1] - obs).mean()
    err_frozen = np.abs(ds["sigma"].sel(matrix="layers.0", step=10).values[:r] - obs).mean()
    assert err_tracker < 0.5 * err_frozen
    assert float(ds["tracker_alignment"].sel(matrix="layers.0", step=last).values[0]) > 0.99


def test_resumed_run_with_dynamics_equals_an_uninterrupted_one(tmp_path):
    from sgdspectra.checkpoint import checkpoint_path
    from sgdspectra.train import train_and_record

    cfg = _digits_cfg()
    full = train_and_record(cfg, 3, tmp_path / "a" / "spectra.nc")

    class Stop(Exception):
        pass

    from sgdspectra import training

    original = training.Trainer.fit

    def fit_and_die(self, start_step=0):
        def boom(trainer, step, loss):
            if step == 25:
                raise Stop

        cb = training.Callback()
        cb.on_step_end = boom
        self.callbacks.append(cb)
        original(self, start_step)

    out = tmp_path / "b" / "spectra.nc"
    training.Trainer.fit = fit_and_die
    try:
        with pytest.raises(Stop):
            train_and_record(cfg, 3, out)
    finally:
        training.Trainer.fit = original
    assert checkpoint_path(out).exists() and not out.exists()
    resumed = train_and_record(cfg, 3, out)
    assert resumed.attrs["resumed_from_step"] == 15
    for var in ("sigma", "dyn_sigma", "grad_proj", "mode_noise_D", "tracker_sigma", "tracker_alignment"):
        np.testing.assert_array_equal(resumed[var].values, full[var].values)
