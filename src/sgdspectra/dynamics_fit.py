"""The sigma-SDE tested term by term, and calibrated, on the dynamics measurements of a run.

Inputs are the variables written by :class:`sgdspectra.dynamics.DynamicsRecorder` (dims
``dyn_step, matrix, k``). A window is a pair of measurements at steps k and k + gap.

**Term-by-term regression.** Over a window the sigma-SDE predicts

    Delta sigma_i = b_grad X_grad + b_mp X_mp + b_rep X_rep + noise,   Var(noise) = s eta gap

with ``X_term = eta gap term_i(k)`` (the Ito left point: the terms at the window's start do not
depend on the window's noise) and the theory's coefficients ``b = 1``. Rows are standardised by the predicted noise standard deviation
``sqrt(s eta gap)`` (weighted least squares), so the residual variance is the ratio of observed
to predicted diffusion (theory: 1). Values too close to a neighbour for the window to resolve
(:meth:`Window.linear`) are excluded and counted. The ``mp`` term is absent for square matrices. ``r2`` is the
uncentred R^2 of the standardised fit.

**Calibration per window.** ``s_D = 2 eta D`` from the probe minibatches (SE from the jackknife
of D); ``s_increments``: the variance of the increments left after subtracting the predicted
drift, per unit time, ``mean(resid^2) / (eta gap)``; the confinement ``kappa`` and intercept ``c``
of ``g~_i = g_i + gamma sigma_i ~ kappa sigma_i + c`` (an effective linear restoring rate, least
squares); the multiplicative noise ``s_i = 2 eta D_i ~ s0 + s1 lambda_i`` (``lambda = sigma^2``;
``s1 > 0`` means the noise grows with the weights, the mechanism of SCIENCE.md §5's power-law
tail).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .dynamics import phase_of

log = logging.getLogger(__name__)

__all__ = ["Window", "calibrate_windows", "increment_regression", "linear_fit", "windows"]

TERMS: tuple[str, ...] = ("gradient", "mp", "repulsion")
#: A value enters the regression when its nearest gap is at least this many noise/drift displacements.
LINEAR_GAPS: float = 4.0
Z95 = 1.959963984540054


@dataclass
class Window:
    """One measurement window of one matrix (arrays over the r singular values)."""

    matrix: str
    anchor: int
    gap: int
    eta: float
    s: float
    s_se: float
    sigma_a: np.ndarray
    sigma_b: np.ndarray
    terms: dict[str, np.ndarray]  # each drift term per unit time at the window's start k
    grad_a: np.ndarray  # g~ = -(drift_gradient) at k
    grad_b: np.ndarray  # g~ at k + gap
    mode_d_a: np.ndarray
    shape: tuple[int, int]

    @property
    def dt(self) -> float:
        return self.eta * self.gap

    def linear(self) -> np.ndarray:
        """Values in the regime of the left-point expansion: the nearest-neighbour gap (for the
        smallest value, its distance to 0) is at least :data:`LINEAR_GAPS` times both the noise
        sqrt(s dt) and the predicted displacement dt |drift|. Closer values move nonlinearly within
        the window (their repulsion changes faster than the window resolves) and are excluded."""
        sig = self.sigma_a
        near = np.full(sig.size, np.inf)
        if sig.size > 1:
            gaps = np.abs(np.diff(sig))
            near[:-1] = gaps
            near[1:] = np.minimum(near[1:], gaps)
        near[-1] = min(near[-1], abs(sig[-1]))
        drift = np.abs(sum(self.terms[t] for t in TERMS))
        scale = np.maximum(np.sqrt(max(self.s, 0.0) * self.dt), self.dt * drift)
        return np.isfinite(drift) & (near >= LINEAR_GAPS * scale)


def has_dynamics(ds: xr.Dataset) -> bool:
    return "dyn_sigma" in ds and ds.sizes.get("dyn_step", 0) > 0


def windows(ds: xr.Dataset, matrix: str) -> Iterator[Window]:
    """The measurement windows of ``matrix`` in step order (both ends present and finite)."""
    if not has_dynamics(ds):
        return
    sub = ds.sel(matrix=matrix)
    anchors = sub["dyn_anchor"].values
    steps = sub["dyn_step"].values
    shape = (int(sub["n_rows"]), int(sub["n_cols"]))
    r = min(shape)
    for anchor in np.unique(anchors):
        ia = np.flatnonzero((anchors == anchor) & (steps == anchor))
        ib = np.flatnonzero((anchors == anchor) & (steps > anchor))
        if ia.size != 1 or ib.size != 1:
            continue
        a, b = int(ia[0]), int(ib[0])
        sig_a = sub["dyn_sigma"].values[a, :r]
        sig_b = sub["dyn_sigma"].values[b, :r]
        if not (np.all(np.isfinite(sig_a)) and np.all(np.isfinite(sig_b))):
            continue
        terms = {t: sub[f"drift_{t}"].values[a, :r] for t in TERMS}
        eta = float(sub["eta_effective"].values[a])
        d_se = float(sub["dyn_noise_D_se"].values[a])
        yield Window(matrix, int(anchor), int(steps[b] - anchor), eta, float(sub["s_noise"].values[a]), 2.0 * eta * d_se,
                     sig_a, sig_b, terms, -sub["drift_gradient"].values[a, :r], -sub["drift_gradient"].values[b, :r],
                     sub["mode_noise_D"].values[a, :r], shape)


def _design(ws: list[Window]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Standardised (X, y) stacked over windows, and the regressors used."""
    use = [t for t in TERMS if not (t == "mp" and ws and ws[0].shape[0] == ws[0].shape[1])]
    xs, ys = [], []
    for w in ws:
        sd = np.sqrt(w.s * w.dt)
        if not np.isfinite(sd) or sd <= 0:
            continue
        x = np.column_stack([w.dt * w.terms[t] for t in use]) / sd
        y = (w.sigma_b - w.sigma_a) / sd
        ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y) & w.linear()
        xs.append(x[ok])
        ys.append(y[ok])
    if not xs:
        return np.zeros((0, len(use))), np.zeros(0), use
    return np.vstack(xs), np.concatenate(ys), use


def increment_regression(ds: xr.Dataset, model: str = "", seed: int = 0) -> pd.DataFrame:
    """One row per matrix and phase (and 'all'): coefficients of each drift term with 95 %
    intervals, R^2, and the residual / predicted diffusion ratio (see the module docstring)."""
    rows = []
    total = _total_steps(ds)
    for matrix in [str(m) for m in ds["matrix"].values]:
        ws = list(windows(ds, matrix))
        if not ws:
            continue
        phases = phase_of(np.array([w.anchor for w in ws]), total)
        for phase in ("early", "middle", "late", "all"):
            sel = [w for w, p in zip(ws, phases) if phase == "all" or p == phase]
            row = dict(model=model, seed=seed, matrix=matrix, kind=str(ds["kind"].sel(matrix=matrix).values),
                       phase=phase, n_windows=len(sel))
            x, y, use = _design(sel)
            row["n_obs"] = int(y.size)
            row["n_excluded"] = int(sum(w.sigma_a.size for w in sel) - y.size)
            for t in TERMS:
                row.update({f"b_{t}": np.nan, f"b_{t}_lo": np.nan, f"b_{t}_hi": np.nan, f"b_{t}_se": np.nan})
            row.update(r2=np.nan, diffusion_ratio=np.nan, status="ok", message="")
            if y.size <= len(use) + 1:
                row.update(status="too_few_values", message=f"{y.size} increments for {len(use)} terms")
                rows.append(row)
                continue
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
            resid = y - x @ beta
            dof = y.size - len(use)
            var = float(resid @ resid / dof)
            try:
                cov = var * np.linalg.inv(x.T @ x)
            except np.linalg.LinAlgError:
                row.update(status="singular_design", message="drift terms are collinear")
                rows.append(row)
                continue
            se = np.sqrt(np.clip(np.diag(cov), 0, None))
            for t, b, e in zip(use, beta, se):
                row.update({f"b_{t}": float(b), f"b_{t}_se": float(e), f"b_{t}_lo": float(b - Z95 * e),
                            f"b_{t}_hi": float(b + Z95 * e)})
            row.update(r2=float(1.0 - resid @ resid / (y @ y)) if y @ y > 0 else np.nan, diffusion_ratio=var)
            if "mp" not in use:
                row["message"] = "square matrix: no (M - N)/(2 sigma) term"
            rows.append(row)
    return pd.DataFrame(rows)


def linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Least squares ``y ~ a + b x``: (b, se_b, a, se_a); NaN when fewer than 3 finite points."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0:
        return (np.nan,) * 4
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    cov = float(resid @ resid) / (x.size - 2) * np.linalg.inv(design.T @ design)
    return float(coef[1]), float(np.sqrt(cov[1, 1])), float(coef[0]), float(np.sqrt(cov[0, 0]))


def calibrate_window(w: Window) -> dict:
    """Calibration of one window (see the module docstring)."""
    pred = w.dt * sum(w.terms[t] for t in TERMS)
    lin = w.linear()
    resid = (w.sigma_b - w.sigma_a) - pred
    resid = resid[np.isfinite(resid) & lin]
    r2 = resid**2 / w.dt
    kappa, kappa_se, c, c_se = linear_fit(w.sigma_a, w.grad_a)
    s_i = 2.0 * w.eta * w.mode_d_a
    s1, s1_se, s0, s0_se = linear_fit(w.sigma_a**2, s_i)
    mean_lam = float(np.mean(w.sigma_a**2))
    return dict(
        matrix=w.matrix, step=w.anchor, gap=w.gap, eta=w.eta, n_values=int(w.sigma_a.size),
        n_nonlinear=int((~lin).sum()), s_D=w.s, s_D_se=w.s_se,
        s_increments=float(r2.mean()) if r2.size else np.nan,
        s_increments_se=float(r2.std(ddof=1) / np.sqrt(r2.size)) if r2.size > 1 else np.nan,
        kappa=kappa, kappa_se=kappa_se, intercept=c, intercept_se=c_se,
        s_mult_s0=s0, s_mult_s0_se=s0_se, s_mult_s1=s1, s_mult_s1_se=s1_se,
        mult_ratio=s1 * mean_lam / s0 if np.isfinite(s1) and s0 not in (0.0,) else np.nan,
    )


def calibrate_windows(ds: xr.Dataset, model: str = "", seed: int = 0) -> pd.DataFrame:
    """One calibration row per matrix and window, with the phase of training."""
    total = _total_steps(ds)
    rows = []
    for matrix in [str(m) for m in ds["matrix"].values]:
        for w in windows(ds, matrix):
            row = dict(model=model, seed=seed, kind=str(ds["kind"].sel(matrix=matrix).values),
                       phase=str(phase_of(w.anchor, total)), **calibrate_window(w))
            rows.append(row)
    return pd.DataFrame(rows)


def _total_steps(ds: xr.Dataset) -> int:
    return int(ds["step"].values.max())
