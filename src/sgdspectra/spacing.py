"""Consecutive-spacing ratio ⟨r⟩: a repulsion test that needs no unfolding.

For sorted values ``x_1 <= ... <= x_K`` with spacings ``d_i = x_{i+1} - x_i``, the ratio of
consecutive spacings ``r_i = min(d_i, d_{i+1}) / max(d_i, d_{i+1})`` lies in [0, 1] and does not
depend on the local density (Oganesyan and Huse 2007; Atas et al. 2013), so no unfolding is
needed. References: ``R_GOE = 0.5307`` (real symmetric / real Wishart bulk: level repulsion,
Atas et al.'s large-N value) and ``R_POISSON = 2 ln 2 - 1 = 0.3863`` (independent values). The
ratio is computed on the central ``bulk`` fraction of the sorted values, away from the edges and
spikes.

Ties: a pair with a zero spacing (``d_i = 0`` or ``d_{i+1} = 0``, i.e. repeated values) carries no
information about repulsion; it is skipped and counted in ``n_tied``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = [
    "R_GOE",
    "R_POISSON",
    "SpacingRatio",
    "SpacingRatioInterval",
    "spacing_ratio",
    "spacing_ratio_bootstrap",
    "spacing_ratios",
]

#: Mean spacing ratio of the Gaussian orthogonal ensemble (large N; Atas et al. 2013).
R_GOE = 0.5307
#: Mean spacing ratio of independent (Poisson) values, 2 ln 2 - 1.
R_POISSON = 0.3863


@dataclass(frozen=True)
class SpacingRatio:
    """Mean ratio ``mean_r`` over ``n_ratios`` usable pairs; NaN unless ``status == "ok"``."""

    mean_r: float
    n_ratios: int
    n_tied: int
    n_values: int
    status: str
    message: str = ""


@dataclass(frozen=True)
class SpacingRatioInterval:
    """Bootstrap interval of ⟨r⟩ (``low``, ``high`` NaN unless ``status == "ok"``)."""

    mean_r: float
    low: float
    high: float
    level: float
    n_ratios: int
    n_boot: int
    block: int
    status: str
    message: str = ""


def _bulk(values: npt.ArrayLike, bulk: tuple[float, float]) -> tuple[np.ndarray, int, str]:
    lo_q, hi_q = (float(b) for b in bulk)
    if not 0.0 <= lo_q < hi_q <= 1.0:
        raise ValueError(f"bulk must satisfy 0 <= low < high <= 1, got {bulk!r}")
    x = np.asarray(values, dtype=np.float64).ravel()
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        return np.empty(0), x.size, f"{bad} non-finite value(s) among {x.size}"
    x = np.sort(x)
    start, stop = int(math.floor(lo_q * x.size)), int(math.ceil(hi_q * x.size))
    return x[start:stop], x.size, ""


def spacing_ratios(
    values: npt.ArrayLike, bulk: tuple[float, float] = (0.1, 0.9)
) -> tuple[npt.NDArray[np.float64], int, int, str]:
    """The usable ratios ``r_i`` of the bulk (in order), ``n_tied``, ``n_values`` and a message
    (non-empty when a value is not finite; the ratios are then empty)."""
    x, n_values, bad = _bulk(values, bulk)
    if bad:
        return np.empty(0), 0, n_values, bad
    d = np.diff(x)
    lo, hi = np.minimum(d[:-1], d[1:]), np.maximum(d[:-1], d[1:])
    usable = lo > 0
    return lo[usable] / hi[usable], int(np.count_nonzero(~usable)), n_values, ""


def spacing_ratio(
    values: npt.ArrayLike, bulk: tuple[float, float] = (0.1, 0.9), min_ratios: int = 10
) -> SpacingRatio:
    """Mean consecutive-spacing ratio ⟨r⟩ of the sorted central ``bulk`` of ``values``.

    Status ``nonfinite`` (any NaN/inf), ``too_few_values`` (fewer than ``min_ratios`` usable
    pairs) or ``ok``. Pairs containing a zero spacing are skipped and counted (``n_tied``).
    """
    return _summary(*spacing_ratios(values, bulk), min_ratios)


def _summary(r: npt.NDArray[np.float64], n_tied: int, n_values: int, bad: str, min_ratios: int) -> SpacingRatio:
    """:class:`SpacingRatio` of the ratios returned by :func:`spacing_ratios`."""
    if bad:
        return SpacingRatio(math.nan, 0, 0, n_values, "nonfinite", bad)
    if r.size < min_ratios:
        msg = (f"{r.size} usable spacing ratio(s) < min_ratios={min_ratios} "
               f"({n_values} value(s), {n_tied} tied pair(s) skipped)")  # fmt: skip
        logger.info("spacing_ratio: %s", msg)
        return SpacingRatio(math.nan, int(r.size), n_tied, n_values, "too_few_values", msg)
    msg = f"{n_tied} pair(s) with a zero spacing skipped" if n_tied else ""
    if n_tied:
        logger.info("spacing_ratio: %s", msg)
    return SpacingRatio(float(np.mean(r)), int(r.size), n_tied, n_values, "ok", msg)


def spacing_ratio_bootstrap(
    values: npt.ArrayLike, n_boot: int = 1000, seed: int | None = 0, level: float = 0.95,
    bulk: tuple[float, float] = (0.1, 0.9), block: int | None = None, min_ratios: int = 10,
) -> SpacingRatioInterval:  # fmt: skip
    """Percentile interval of ⟨r⟩ by a circular block bootstrap of the ratio sequence.

    Neighbouring ratios share a spacing and are correlated, so blocks of ``block`` consecutive
    ratios (default ``ceil(n_ratios ** (1/3))``) are resampled. The values of one spectrum are
    not independent draws: this interval is the noise of ⟨r⟩ *within* one spectrum; spread
    across seeds and snapshots is the primary uncertainty.
    """
    if int(n_boot) < 1 or not 0 < level < 1:
        raise ValueError(f"need n_boot >= 1 and level in (0, 1), got {n_boot!r}, {level!r}")
    r, n_tied, n_values, bad = spacing_ratios(values, bulk)
    point = _summary(r, n_tied, n_values, bad, min_ratios)
    if point.status != "ok":
        return SpacingRatioInterval(point.mean_r, math.nan, math.nan, level, point.n_ratios,
                                    int(n_boot), 0, point.status, point.message)  # fmt: skip
    n = r.size
    b = int(block) if block is not None else max(1, math.ceil(n ** (1.0 / 3.0)))
    if not 1 <= b <= n:
        raise ValueError(f"block must lie in [1, {n}], got {block!r}")
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(n / b)
    starts = rng.integers(0, n, size=(int(n_boot), n_blocks))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(int(n_boot), -1)[:, :n] % n
    means = r[idx].mean(axis=1)
    low, high = np.quantile(means, (0.5 - 0.5 * level, 0.5 + 0.5 * level))
    return SpacingRatioInterval(point.mean_r, float(low), float(high), level, n, int(n_boot), b,
                                "ok", point.message)  # fmt: skip
