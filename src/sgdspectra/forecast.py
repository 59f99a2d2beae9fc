"""Forecasts of a tracked matrix's spectrum from t0 to later snapshots, scored against the network.

Forecasters (all start from the observed singular values at t0 and use nothing measured later):

- ``sde``: the calibrated sigma-SDE, simulated as an ensemble with the ordered sigma-level scheme.
  Calibration pools the last ``calibration_windows`` dynamics windows that end at or before t0:
  ``s`` is their mean ``2 eta D``; the confinement ``kappa`` is the slope of the measured
  ``g~_i = g_i + gamma sigma_i`` against ``sigma_i`` (clamped at 0: the simulator needs
  ``kappa >= 0``); the measured drift enters as ``-g~_i`` at the latest measurement, linearised in
  sigma with slope kappa: ``drift_i(sigma) = a_i - kappa sigma_i`` with ``a_i = kappa sigma_i(t_c) -
  g~_i(t_c)``, plus the Dyson terms ``s[(M - N)/(2 sigma_i) + sum_j ...]`` and noise ``sqrt(s)``.
  SDE time is ``sum eta_k`` over the steps, with ``eta = lr_k / (1 - momentum)`` from the run's
  own schedule.
- ``tracker``: the first-order tracker (:mod:`sgdspectra.tracker`), recorded during training.
  It is driven by the measured weight updates, so it is teacher-forced like the paper's method.
- ``frozen``: the spectrum at t0; ``linear``: each value extrapolated linearly in steps from the
  two last snapshots up to t0 (clipped at 0).

Scores at each later snapshot: two-sample KS and Wasserstein-1 distance between the forecast
spectrum (the ensemble pooled over replicas) and the observed one; the mean relative error of the
top-8 values (ensemble mean per rank); for the tracker the mean alignment ``|<u_pred, u_obs>|``
of the top-8 pairs; skill = 1 - error / error of the frozen forecast, per metric.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from .config import TrainConfig
from .dynamics_fit import windows
from .training import lr_multiplier

log = logging.getLogger(__name__)

__all__ = ["ForecastSettings", "calibrate_at", "forecast_run", "score_spectrum", "sde_time_since"]

FORECASTERS: tuple[str, ...] = ("sde", "tracker", "linear", "frozen")
METRICS: tuple[str, ...] = ("ks", "w1", "top8_rel_error")
TOP: int = 8


@dataclass(frozen=True)
class ForecastSettings:
    n_replicas: int = 20
    sde_steps: int = 400
    calibration_windows: int = 3
    seed: int = 11


def _train_config(ds: xr.Dataset) -> TrainConfig:
    cfg = json.loads(ds.attrs["config_json"])
    return TrainConfig(**cfg["train"])


def sde_time_since(train: TrainConfig, t0: int, steps: np.ndarray) -> np.ndarray:
    """SDE time from step t0 to each of ``steps``: the sum of ``lr_j / (1 - momentum)`` over the
    updates t0 + 1 .. step (update j uses ``lr x lr_multiplier(j - 1)``)."""
    last = int(np.max(steps))
    eta = np.array([train.lr * lr_multiplier(train, j - 1) for j in range(t0 + 1, last + 1)]) / (1.0 - train.momentum)
    cum = np.concatenate([[0.0], np.cumsum(eta)])
    return cum[np.asarray(steps, dtype=np.int64) - t0]


def calibrate_at(ds: xr.Dataset, matrix: str, t0: int, n_windows: int) -> dict:
    """Calibration of ``matrix`` from the last ``n_windows`` windows ending at or before t0."""
    ws = [w for w in windows(ds, matrix) if w.anchor + w.gap <= t0]
    if not ws:
        return dict(status="no_calibration_before_t0", message=f"no dynamics window ends at or before step {t0}",
                    s=np.nan, kappa=np.nan, offset=None, calib_step=-1, n_windows=0)
    use = ws[-n_windows:]
    s = float(np.mean([w.s for w in use]))
    sig = np.concatenate([w.sigma_a for w in use])
    grad = np.concatenate([w.grad_a for w in use])
    ok = np.isfinite(sig) & np.isfinite(grad)
    kappa = float(np.polyfit(sig[ok], grad[ok], 1)[0]) if ok.sum() >= 3 else 0.0
    status, message = "ok", ""
    if kappa < 0:
        status, message = "kappa_clamped", f"fitted confinement {kappa:.3g} < 0 set to 0"
        kappa = 0.0
    last = use[-1]  # its end, k + gap <= t0, is the latest measurement
    offset = kappa * last.sigma_b - last.grad_b
    return dict(status=status, message=message, s=s, kappa=kappa, offset=offset,
                calib_step=last.anchor + last.gap, n_windows=len(use))


def score_spectrum(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """KS and W1 between a forecast sample (any shape, pooled) and the observed values, and the
    mean relative error of the top-8 values (``pred`` may be (replicas, r): mean over replicas)."""
    obs = np.sort(obs[np.isfinite(obs)])[::-1]
    flat = pred[np.isfinite(pred)].ravel()
    if flat.size == 0 or obs.size == 0:
        return dict(ks=np.nan, w1=np.nan, top8_rel_error=np.nan)
    ranked = np.sort(pred, axis=-1)[..., ::-1]
    mean_rank = ranked.mean(axis=0) if ranked.ndim == 2 else ranked
    k = min(TOP, obs.size, mean_rank.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(mean_rank[:k] - obs[:k]) / obs[:k]
    return dict(ks=float(stats.ks_2samp(flat, obs).statistic), w1=float(stats.wasserstein_distance(flat, obs)),
                top8_rel_error=float(np.nanmean(rel)) if np.any(np.isfinite(rel)) else np.nan)


def _observed(ds: xr.Dataset, matrix: str, steps: np.ndarray, r: int) -> np.ndarray:
    return ds["sigma"].sel(matrix=matrix, step=steps).values[:, :r]


def forecast_matrix(ds: xr.Dataset, matrix: str, t0: int, settings: ForecastSettings,
                    times: np.ndarray) -> tuple[dict, dict]:
    """All forecasts of one matrix at the snapshots from t0 on, whose SDE times since t0 are
    ``times`` (:func:`sde_time_since`): ({name: array (step, r) or (replica, step, r)}, calibration dict)."""
    from .sde.eigen import simulate_singular_values

    steps = ds["step"].values
    fsteps = steps[steps >= t0]
    shape = (int(ds["n_rows"].sel(matrix=matrix)), int(ds["n_cols"].sel(matrix=matrix)))
    r, big = min(shape), max(shape)
    obs = _observed(ds, matrix, fsteps, r)
    sig0 = obs[0]
    out: dict[str, np.ndarray] = {"observed": obs, "frozen": np.repeat(sig0[None, :], fsteps.size, axis=0)}
    before = steps[steps < t0]
    if before.size:
        prev = ds["sigma"].sel(matrix=matrix, step=before[-1]).values[:r]
        slope = (sig0 - prev) / (t0 - before[-1])
        out["linear"] = np.clip(sig0[None, :] + slope[None, :] * (fsteps - t0)[:, None], 0.0, None)
    else:
        out["linear"] = np.full_like(out["frozen"], np.nan)
    if "tracker_sigma" in ds and int(ds.attrs.get("tracking_start_step", -1)) == t0:
        out["tracker"] = ds["tracker_sigma"].sel(matrix=matrix, step=fsteps).values[:, :r]
    else:
        out["tracker"] = np.full_like(out["frozen"], np.nan)
    cal = calibrate_at(ds, matrix, t0, settings.calibration_windows)
    cal["sde_time_span"] = float(times[-1])
    sde = np.full((settings.n_replicas, fsteps.size, r), np.nan)
    if cal["offset"] is not None and np.isfinite(cal["s"]) and cal["s"] > 0 and fsteps.size > 1 and np.all(sig0 > 0):
        sim = simulate_singular_values(sig0, big, cal["s"], cal["kappa"], dt=times[-1] / settings.sde_steps,
                                       times=times, n_replicas=settings.n_replicas, seed=settings.seed,
                                       drift_offset=cal["offset"])
        sde = sim["sigma"].values
        cal.update(n_rejected=int(sim.attrs["n_rejected"]), n_implicit=int(sim.attrs["n_implicit"]))
    elif cal["status"] == "ok":
        cal.update(status="not_simulated", message="s is not positive or sigma(t0) has a zero")
    out["sde"] = sde
    return out, cal


def forecast_run(ds: xr.Dataset, settings: ForecastSettings, model: str = "", seed: int = 0
                 ) -> tuple[xr.Dataset, pd.DataFrame, pd.DataFrame]:
    """Forecasts of every tracked matrix of a run: (forecast Dataset, scores, calibrations)."""
    if "tracker_sigma" not in ds:
        raise ValueError("the run has no tracked matrices (models.<name>.tracking.matrices is empty)")
    t0 = int(ds.attrs["tracking_start_step"])
    tracked = [str(m) for m in ds["matrix"].values
               if np.any(np.isfinite(ds["tracker_sigma"].sel(matrix=m).values))]
    steps = ds["step"].values
    fsteps = steps[steps >= t0]
    r_max = max(min(int(ds["n_rows"].sel(matrix=m)), int(ds["n_cols"].sel(matrix=m))) for m in tracked)
    det = {f: np.full((len(tracked), fsteps.size, r_max), np.nan) for f in ("observed", "frozen", "linear", "tracker")}
    ens = np.full((len(tracked), settings.n_replicas, fsteps.size, r_max), np.nan)
    times = sde_time_since(_train_config(ds), t0, fsteps)
    score_rows, cal_rows = [], []
    for j, matrix in enumerate(tracked):
        log.info("forecasting %s from step %d to %d", matrix, t0, fsteps[-1])
        fc, cal = forecast_matrix(ds, matrix, t0, settings, times)
        r = fc["observed"].shape[1]
        for f in det:
            det[f][j, :, :r] = fc[f]
        ens[j, :, :, :r] = fc["sde"]
        cal_rows.append(dict(model=model, seed=seed, matrix=matrix, t0=t0,
                             **{k: v for k, v in cal.items() if k != "offset"}))
        align = (ds["tracker_alignment"].sel(matrix=matrix, step=fsteps).values[:, :TOP]
                 if "tracker_alignment" in ds else np.full((fsteps.size, TOP), np.nan))
        for i, step in enumerate(fsteps):
            if step == t0:
                continue
            obs = fc["observed"][i]
            scores = {f: score_spectrum(fc[f][:, i] if f == "sde" else fc[f][i], obs) for f in FORECASTERS}
            for f in FORECASTERS:
                row = dict(model=model, seed=seed, matrix=matrix, forecaster=f, t0=t0, step=int(step),
                           horizon=int(step - t0), **scores[f])
                row["alignment"] = float(np.nanmean(align[i])) if f == "tracker" and np.any(np.isfinite(align[i])) else np.nan
                for m in METRICS:
                    base = scores["frozen"][m]
                    row[f"skill_{m}"] = 1.0 - scores[f][m] / base if np.isfinite(base) and base > 0 else np.nan
                score_rows.append(row)
    coords = dict(matrix=("matrix", np.array(tracked, dtype=object)), step=("step", fsteps.astype(np.int64)),
                  k=("k", np.arange(r_max, dtype=np.int64)), replica=("replica", np.arange(settings.n_replicas)))
    data = {f: (("matrix", "step", "k"), det[f], {"long_name": f"{f} singular values (descending for observed)",
                                                   "units": "1"}) for f in det}
    data["sde"] = (("matrix", "replica", "step", "k"), ens,
                   {"long_name": "calibrated sigma-SDE ensemble (descending)", "units": "1"})
    out = xr.Dataset(data, coords=coords, attrs=dict(t0=t0, model=model, seed=seed,
                                                     forecasters=", ".join(FORECASTERS)))
    return out, pd.DataFrame(score_rows), pd.DataFrame(cal_rows)


def skill_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model, matrix and forecaster (mean over seeds): errors and skills at the last snapshot
    and averaged over all horizons, and the tracker's mean alignment."""
    rows = []
    for (model, matrix, forecaster), g in scores.groupby(["model", "matrix", "forecaster"], sort=False):
        last = g[g.horizon == g.horizon.max()]
        row = dict(model=model, matrix=matrix, forecaster=forecaster, n_seeds=g.seed.nunique(),
                   t0=int(g.t0.iloc[0]), last_step=int(g.step.max()))
        for m in METRICS:
            row[f"{m}_last"] = float(last[m].mean())
            row[f"skill_{m}_last"] = float(last[f"skill_{m}"].mean())
            row[f"skill_{m}_mean"] = float(g[f"skill_{m}"].mean())
        row["alignment_last"] = float(last["alignment"].mean())
        rows.append(row)
    order = {f: i for i, f in enumerate(FORECASTERS)}
    out = pd.DataFrame(rows)
    return out.sort_values(["model", "matrix", "forecaster"], key=lambda c: c.map(order) if c.name == "forecaster" else c,
                           ignore_index=True)
