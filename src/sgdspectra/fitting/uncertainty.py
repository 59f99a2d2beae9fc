"""Uncertainty of fitted numbers: across training seeds (primary) and by parametric bootstrap.

**Seed intervals are the primary ones.** The eigenvalues of one weight matrix are *not*
independent draws (they repel, and they share the matrix's history), whereas every bootstrap
here resamples or redraws them as i.i.d. values. A bootstrap interval therefore measures the
sampling noise of the estimator under an i.i.d. model of one spectrum; it is a lower bound on the
real uncertainty, not a substitute for repeating the training with other seeds
(:func:`seed_interval`).

- :func:`seed_interval`: Student-t interval of the mean of one number across seeds.
- :func:`bootstrap_power_law`: CSN's semi-parametric bootstrap of the tail fit (body resampled,
  tail drawn from the fitted power law, the whole CSN fit repeated, xmin included), with CSN's
  goodness-of-fit p-value (fraction of replicates whose KS distance exceeds the observed one).
- :func:`bootstrap_law`: parametric bootstrap of a stationary law's parameters (draw from the
  fitted law, refit).

Intervals are percentile intervals; replicate ``i`` uses ``SeedSequence(seed).spawn(n_boot)[i]``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from sgdspectra.fitting.compare import SPECTRUM_LAWS, fit_spectrum_law
from sgdspectra.fitting.lawfit import clean_values, single_threaded_blas
from sgdspectra.fitting.powerlaw import fit_power_law
from sgdspectra.laws import PowerLaw

logger = logging.getLogger(__name__)

__all__ = ["BootstrapResult", "SeedInterval", "bootstrap_law", "bootstrap_power_law",
           "seed_interval"]  # fmt: skip

_NOTE = "eigenvalues of one matrix are not independent: seed-based intervals are primary"


@dataclass(frozen=True)
class SeedInterval:
    """t-interval of the mean across seeds. ``low``/``high`` are NaN unless status is ``ok``."""

    mean: float
    low: float
    high: float
    sd: float
    n: int
    n_nan: int
    level: float
    status: str
    message: str = ""


def seed_interval(values: npt.ArrayLike, level: float = 0.95) -> SeedInterval:
    """Student-t interval ``mean ± t_{(1+level)/2, n-1} sd / sqrt(n)`` across seeds.

    NaN values (failed fits) are dropped and counted in ``n_nan``. Fewer than 2 remaining values
    give status ``too_few_values`` (the mean of what is there, NaN interval); an infinite value
    gives status ``nonfinite``.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    x = np.asarray(values, dtype=np.float64).ravel()
    nan_mask = np.isnan(x)
    x = x[~nan_mask]
    n, n_nan = int(x.size), int(np.count_nonzero(nan_mask))
    mean = float(np.mean(x)) if n else math.nan
    if not np.all(np.isfinite(x)):
        return SeedInterval(mean, math.nan, math.nan, math.nan, n, n_nan, level, "nonfinite",
                            "an infinite value among the seeds")  # fmt: skip
    if n < 2:
        return SeedInterval(mean, math.nan, math.nan, math.nan, n, n_nan, level,
                            "too_few_values", f"{n} finite value(s) < 2")  # fmt: skip
    sd = float(np.std(x, ddof=1))
    half = float(stats.t.ppf(0.5 + 0.5 * level, n - 1)) * sd / math.sqrt(n)
    return SeedInterval(mean, mean - half, mean + half, sd, n, n_nan, level, "ok")


@dataclass
class BootstrapResult:
    """Percentile intervals of fitted parameters from ``n_boot`` replicates.

    ``estimate``, ``low``, ``high`` and ``samples`` are keyed by parameter name; ``n_failed``
    counts replicates whose refit was not ok (left out of the intervals); ``gof_p`` is CSN's
    goodness-of-fit p-value (power law only, NaN otherwise). ``note`` states that seed-based
    intervals are primary.
    """

    status: str
    message: str
    level: float
    n_boot: int
    n_failed: int = 0
    estimate: dict[str, float] = field(default_factory=dict)
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    samples: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    gof_p: float = math.nan
    note: str = _NOTE

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, low, high, level, n_boot, n_failed, status, note."""
        return pd.DataFrame([{"parameter": k, "estimate": v, "low": self.low.get(k, math.nan),
                              "high": self.high.get(k, math.nan), "level": self.level,
                              "n_boot": self.n_boot, "n_failed": self.n_failed,
                              "status": self.status, "note": self.note}
                             for k, v in self.estimate.items()])  # fmt: skip


def _run(
    estimate: dict[str, float], n_boot: int, seed: int | np.random.SeedSequence | None,
    level: float, replicate: Callable[[np.random.Generator], dict[str, float] | None],
) -> BootstrapResult:  # fmt: skip
    if int(n_boot) < 1 or not 0 < level < 1:
        raise ValueError(f"need n_boot >= 1 and level in (0, 1), got {n_boot!r}, {level!r}")
    children = np.random.SeedSequence(seed).spawn(int(n_boot))  # type: ignore[arg-type]
    draws: dict[str, list[float]] = {k: [] for k in estimate}
    failed = 0
    with single_threaded_blas():
        for child in children:
            out = replicate(np.random.default_rng(child))
            if out is None:
                failed += 1
                continue
            for k in draws:
                draws[k].append(float(out.get(k, math.nan)))
    samples = {k: np.asarray(v, dtype=np.float64) for k, v in draws.items()}
    ok = n_boot - failed
    status = "ok" if ok >= 2 else "failed"
    res = BootstrapResult(status, f"{ok} of {n_boot} replicate(s) refitted", level, int(n_boot),
                          failed, dict(estimate), samples=samples)  # fmt: skip
    if status == "ok":
        q = (0.5 - 0.5 * level, 0.5 + 0.5 * level)
        for k, v in samples.items():
            lo, hi = np.quantile(v, q, method="inverted_cdf") if v.size else (math.nan,) * 2
            res.low[k], res.high[k] = float(lo), float(hi)
    logger.info("bootstrap: %s", res.message)
    return res


def bootstrap_power_law(
    values: npt.ArrayLike, n_boot: int = 200, seed: int | np.random.SeedSequence | None = 0,
    min_tail: int = 10, level: float = 0.95,
) -> BootstrapResult:  # fmt: skip
    """CSN semi-parametric bootstrap of :func:`~sgdspectra.fitting.fit_power_law`.

    Each replicate has as many values as the data; each value is, with probability
    ``n_tail / n``, a draw from the fitted power law above ``xmin``, otherwise a draw with
    replacement from the values below ``xmin``. The full CSN fit (xmin scan included) is
    repeated; intervals for ``alpha`` and ``xmin``. ``gof_p`` is the fraction of replicates whose
    KS distance is at least the observed one (CSN: the power law is ruled out if ``gof_p <=
    0.1``). Eigenvalues of one matrix are not independent: seed-based intervals are primary.
    """
    fit = fit_power_law(values, min_tail=min_tail, full_curves=False)
    if not fit.ok:
        return BootstrapResult(fit.status, fit.message, level, int(n_boot))
    x, _, _ = clean_values(values, "bootstrap_power_law", 0.0)
    body = x[x < fit.xmin]
    law = PowerLaw(fit.alpha, fit.xmin)
    p_tail = fit.n_tail / x.size
    ks_values: list[float] = []

    def replicate(rng: np.random.Generator) -> dict[str, float] | None:
        k = int(rng.binomial(x.size, p_tail)) if body.size else x.size
        sample = np.concatenate([law.rvs(k, rng), rng.choice(body, x.size - k)
                                 if x.size > k else np.empty(0)])  # fmt: skip
        refit = fit_power_law(sample, min_tail=min_tail, full_curves=False)
        if not refit.ok:
            return None
        ks_values.append(refit.D)
        return {"alpha": refit.alpha, "xmin": refit.xmin}

    res = _run({"alpha": fit.alpha, "xmin": fit.xmin}, n_boot, seed, level, replicate)
    if ks_values:
        res.gof_p = float(np.mean(np.asarray(ks_values) >= fit.D))
    return res


def bootstrap_law(
    lam: npt.ArrayLike, law: str, n_boot: int = 200,
    seed: int | np.random.SeedSequence | None = 0, *, m: int | None = None,
    n: int | None = None, level: float = 0.95,
) -> BootstrapResult:  # fmt: skip
    """Parametric bootstrap of a stationary law's parameters (one of ``SPECTRUM_LAWS``).

    The law is fitted to the positive ``lam`` (as in :func:`~sgdspectra.fitting.compare_laws`),
    then ``n_boot`` samples of the same size are drawn from the fitted law and refitted.
    ``m, n`` (PyTorch shape) are required for ``eq13``, ``gamma_exact`` and
    ``marchenko_pastur``. Draws are i.i.d. (no eigenvalue repulsion): eigenvalues of one matrix
    are not independent, so seed-based intervals are primary.
    """
    if law not in SPECTRUM_LAWS:
        raise ValueError(f"unknown law {law!r}; expected one of {SPECTRUM_LAWS}")
    if law in ("eq13", "gamma_exact", "marchenko_pastur") and (m is None or n is None):
        raise ValueError(f"law {law!r} needs the matrix shape m, n")
    mm, nn = int(m or 1), int(n or 1)
    x, n_zeros, bad = clean_values(lam, "bootstrap_law", 0.0)
    if bad:
        return BootstrapResult("nonfinite", bad, level, int(n_boot))
    fit = fit_spectrum_law(law, x, mm, nn, n_zeros)
    if not fit.ok or fit.dist is None:
        return BootstrapResult(fit.status, fit.message, level, int(n_boot))
    dist = fit.dist
    names = [k for k, v in fit.params.items() if isinstance(v, float | int)]

    def replicate(rng: np.random.Generator) -> dict[str, float] | None:
        refit = fit_spectrum_law(law, dist.rvs(x.size, rng), mm, nn)
        return {k: float(refit.params[k]) for k in names} if refit.ok else None

    return _run({k: float(fit.params[k]) for k in names}, n_boot, seed, level, replicate)
