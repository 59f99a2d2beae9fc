"""Clauset–Shalizi–Newman (CSN) power-law tail fit of a spectrum, vectorised over xmin.

For each candidate ``xmin`` (a unique data value leaving at least ``min_tail`` values in the tail)
the continuous MLE is ``alpha = 1 + n_tail / sum(ln(x_i / xmin))`` and the KS distance ``D`` is
the supremum distance between the tail's empirical cdf and ``1 - (x / xmin)**(1 - alpha)``; the
fit keeps the ``xmin`` with the smallest ``D`` (the first one on exact ties).

Vectorisation. With unique values ``u_0 < ... < u_{U-1}``, counts ``c`` and tail sizes
``K_j = #{x >= u_j}``, the log-sum telescopes into a suffix sum of positive terms,
``sum_{x >= u_j} ln(x / u_j) = sum_{p > j} ln(u_p / u_{p-1}) K_p``, so every ``alpha`` comes from
one cumulative sum without cancellation (it is exactly 0 only when the tail is a single tied value:
that candidate is skipped as degenerate). The KS distances are computed on a (candidates x unique
values) array in chunks of bounded size. The empirical cdf handles ties exactly: at each unique
value ``u_l`` it is evaluated just before (``#{u_j <= x < u_l} / K_j``) and at
(``#{u_j <= x <= u_l} / K_j``) the jump. Every operation is safe under
``numpy.errstate(all="raise")``.

KS convention (``ks``): ``"sup"`` (default) is the exact supremum, over both sides of every jump
of the empirical cdf. ``"left"`` evaluates the empirical cdf only just before each jump
(``#{u_j <= x < u_l} / K_j``), the convention of CSN's reference code ``plfit.m`` and of the
``powerlaw`` package; its D is smaller by at most ``1 / K_j``, so the chosen xmin can differ.

``loglik``/``aic`` of the result refer to the tail only (``n_params = 2``: alpha and xmin) and are
therefore not comparable with the whole-spectrum likelihoods of the other laws.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sgdspectra.fitting.results import FitResult, failed_result, split_values
from sgdspectra.laws import power_law_cdf

logger = logging.getLogger(__name__)

__all__ = ["RELIABLE_MAX_ALPHA", "PowerLawFit", "fit_power_law", "fit_power_law_reference"]

LAW = "power_law"
#: Fits with a larger alpha or fewer than ``RELIABLE_MIN_TAIL`` tail values are flagged unreliable.
RELIABLE_MAX_ALPHA = 8.0
RELIABLE_MIN_TAIL = 10
_CHUNK_ELEMENTS = 1 << 18  # elements per 2-D block of the KS scan (2 MiB per float64 temporary)
_MIN_EXPONENT = -700.0  # exp() of anything smaller would underflow (and raise under errstate)


def _empty() -> npt.NDArray[np.float64]:
    return np.empty(0, dtype=np.float64)


@dataclass
class PowerLawFit(FitResult):
    """Power-law tail fit. ``params`` holds alpha, alpha_se, xmin, n_tail, reliable.

    The scan curves are kept for plots and diagnostics: ``xmin_candidates`` (ascending),
    ``alpha_curve`` and ``D_curve`` (NaN for a candidate whose tail is a single tied value),
    ``n_tail_curve``.
    """

    xmin_candidates: npt.NDArray[np.float64] = field(default_factory=_empty)
    alpha_curve: npt.NDArray[np.float64] = field(default_factory=_empty)
    D_curve: npt.NDArray[np.float64] = field(default_factory=_empty)
    n_tail_curve: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def alpha(self) -> float:
        """Density exponent of the tail, ``p(x) ~ x**-alpha`` (NaN unless ok)."""
        return float(self.params.get("alpha", math.nan))

    @property
    def xmin(self) -> float:
        """Lower bound of the tail (NaN unless ok)."""
        return float(self.params.get("xmin", math.nan))

    @property
    def n_tail(self) -> float:
        """Number of values ``>= xmin`` (NaN unless ok)."""
        return float(self.params.get("n_tail", math.nan))

    @property
    def alpha_se(self) -> float:
        """Asymptotic standard error ``(alpha - 1) / sqrt(n_tail)`` (NaN unless ok)."""
        return float(self.params.get("alpha_se", math.nan))

    @property
    def D(self) -> float:
        """KS distance of the selected tail (same as ``ks``; NaN unless ok)."""
        return float(self.ks) if self.ok else math.nan

    @property
    def reliable(self) -> bool:
        """False unless ok with ``alpha <= 8`` and ``n_tail >= 10``."""
        return bool(self.params.get("reliable", False)) if self.ok else False


def _check_min_tail(min_tail: int) -> int:
    if int(min_tail) != min_tail or min_tail < 2:
        raise ValueError(f"min_tail must be an integer >= 2, got {min_tail!r}")
    return int(min_tail)


def _check_ks(ks: str) -> None:
    if ks not in ("sup", "left"):
        raise ValueError(f"ks must be 'sup' or 'left', got {ks!r}")


def _ok_result(
    alpha: float, xmin: float, n_tail: int, d: float, s: float,
    n_values: int, n_zeros: int, message: str, **curves: npt.NDArray,
) -> PowerLawFit:  # fmt: skip
    reliable = bool(alpha <= RELIABLE_MAX_ALPHA and n_tail >= RELIABLE_MIN_TAIL)
    if not reliable:
        message += (
            f"; unreliable: needs alpha <= {RELIABLE_MAX_ALPHA:g} and n_tail >= "
            f"{RELIABLE_MIN_TAIL}, got alpha={alpha:.4g}, n_tail={n_tail}"
        )
    loglik = n_tail * (math.log(alpha - 1.0) - math.log(xmin)) - alpha * s
    params = {
        "alpha": alpha, "alpha_se": (alpha - 1.0) / math.sqrt(n_tail), "xmin": xmin,
        "n_tail": n_tail, "reliable": reliable,
    }  # fmt: skip
    return PowerLawFit(
        LAW, "ok", message, n_values=n_values, n_zeros=n_zeros, n_params=2,
        loglik=loglik, aic=4.0 - 2.0 * loglik, ks=d, params=params, **curves,
    )  # fmt: skip


def _not_ok(status: str, message: str, n_values: int, n_zeros: int, **curves) -> PowerLawFit:
    base = failed_result(LAW, status, message, n_values, n_zeros, n_params=2)
    return PowerLawFit(**vars(base), **curves)


def _log_gaps(u: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``ln(u[p] / u[p-1])`` for p >= 1, strictly positive and accurate for close values."""
    gaps = np.diff(np.log(u))
    close = gaps < 1e-2
    gaps[close] = np.log1p(np.diff(u)[close] / u[:-1][close])
    return gaps


def _deviations(
    log_u: npt.NDArray[np.float64], n_gt: npt.NDArray[np.float64], n_ge: npt.NDArray[np.float64],
    jj: npt.NDArray[np.intp], alpha: npt.NDArray[np.float64],
    cols: slice | npt.NDArray[np.intp], left_only: bool,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """``K`` times the KS deviation of candidates ``jj`` at the unique values ``cols``.

    A (len(jj), columns) array, ``max(K E_l - n_gt[l], n_ge[l] - K E_l)`` (``|n_ge[l] - K E_l|``
    with ``left_only``); columns left of a candidate's xmin are not masked here.
    """
    block = log_u[None, cols] - log_u[jj, None]  # ln(u_l / u_j), (rows, columns)
    block *= (1.0 - alpha)[:, None]
    np.clip(block, _MIN_EXPONENT, 0.0, out=block)
    block += np.log(n_ge[jj])[:, None]
    np.exp(block, out=block)  # K * E_l
    above = block - n_gt[None, cols]
    np.subtract(n_ge[None, cols], block, out=block)
    if left_only:
        np.abs(block, out=block)
    else:
        np.maximum(block, above, out=block)
    return block


def _ks_scan(
    log_u: npt.NDArray[np.float64], n_gt: npt.NDArray[np.float64], n_ge: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp], alpha: npt.NDArray[np.float64], left_only: bool = False,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """KS distance for each candidate index in ``rows`` (ascending), in bounded 2-D chunks.

    With ``K = n_ge[j]`` and the fitted survival ``E_l = (u_l / u_j)**(1 - alpha_j)``, the
    deviations at and just before ``u_l`` are ``E_l - n_gt[l] / K`` and ``n_ge[l] / K - E_l``
    (``n_gt``/``n_ge``: counts of values ``>`` / ``>=`` ``u_l``), so
    ``D_j = max_{l >= j} max(K E_l - n_gt[l], n_ge[l] - K E_l) / K``; with ``left_only`` (the
    ``"left"`` convention) ``D_j = max_{l >= j} |n_ge[l] - K E_l| / K``.
    """
    n_unique = log_u.size
    out = np.empty(rows.size, dtype=np.float64)
    start = 0
    while start < rows.size:
        j0 = int(rows[start])
        width = n_unique - j0
        stop = min(rows.size, start + max(1, _CHUNK_ELEMENTS // width))
        jj = rows[start:stop]
        block = _deviations(log_u, n_gt, n_ge, jj, alpha[start:stop], slice(j0, None), left_only)
        tri = int(jj[-1]) - j0 + 1  # columns left of some row's xmin lie in this leading block
        block[:, :tri][np.arange(j0, j0 + tri)[None, :] < jj[:, None]] = 0.0
        out[start:stop] = block.max(axis=1) / n_ge[jj]
        start = stop
    return out


def _ks_lower_bound(
    log_u: npt.NDArray[np.float64], n_gt: npt.NDArray[np.float64], n_ge: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp], alpha: npt.NDArray[np.float64], cols: npt.NDArray[np.intp], left_only: bool,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """The KS deviation of :func:`_ks_scan` maximised over the columns ``cols`` only: element by
    element the same arithmetic, hence a lower bound of each candidate's exact distance."""
    out = np.empty(rows.size, dtype=np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(cols.size, 1))
    for a in range(0, rows.size, step):
        jj = rows[a : a + step]
        block = _deviations(log_u, n_gt, n_ge, jj, alpha[a : a + step], cols, left_only)
        block[cols[None, :] < jj[:, None]] = 0.0
        out[a : a + step] = block.max(axis=1) / n_ge[jj]
    return out


def _ks_pruned(
    log_u: npt.NDArray[np.float64], n_gt: npt.NDArray[np.float64], n_ge: npt.NDArray[np.float64],
    rows: npt.NDArray[np.intp], alpha: npt.NDArray[np.float64], left_only: bool,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """Exact KS distances of the candidates that can be the minimum; NaN for the others.

    Branch and bound: a lower bound from every ``PRUNE_STRIDE``-th column ranks the candidates;
    exact distances are computed in that order until the next bound exceeds the best exact
    distance. A skipped candidate's distance exceeds the minimum, so ``nanargmin`` of the result
    is the exhaustive scan's ``argmin`` (ties included: equal bounds are evaluated)."""
    cols = np.unique(np.concatenate([np.arange(0, log_u.size, PRUNE_STRIDE), rows[:1], [log_u.size - 1]]))
    bound = _ks_lower_bound(log_u, n_gt, n_ge, rows, alpha, cols, left_only)
    out = np.full(rows.size, np.nan)
    order = np.argsort(bound, kind="stable")
    best = np.inf
    for a in range(0, order.size, PRUNE_BATCH):
        batch = order[a : a + PRUNE_BATCH]
        batch = np.sort(batch[bound[batch] <= best])
        if batch.size == 0:
            break
        d = _ks_scan(log_u, n_gt, n_ge, rows[batch], alpha[batch], left_only=left_only)
        out[batch] = d
        best = min(best, float(d.min()))
    return out


#: Column stride of the KS lower bound, and candidates evaluated exactly per round, in pruned scans.
PRUNE_STRIDE: int = 16
PRUNE_BATCH: int = 64


def fit_power_law(
    values: npt.ArrayLike,
    min_tail: int = 10,
    xmin_range: tuple[float, float] | None = None,
    ks: str = "sup",
    full_curves: bool = True,
) -> PowerLawFit:
    """Fit a continuous power-law tail by the CSN method (vectorised xmin scan).

    Parameters
    ----------
    values : the spectrum (e.g. ``lam = sigma**2``); any order. Values <= 0 are excluded before the
        fit (never used as xmin), counted in ``n_zeros`` and reported with a warning.
    min_tail : smallest admissible tail size (>= 2); candidates leaving fewer values are skipped.
    xmin_range : optional inclusive ``(low, high)`` bounds on the candidate xmin.
    ks : ``"sup"`` (exact KS supremum) or ``"left"`` (CSN ``plfit.m`` / ``powerlaw`` package
        convention; see the module docstring).
    full_curves : compute the KS distance of every candidate (``D_curve`` complete). With
        ``False`` a branch-and-bound scan computes only the candidates that can be the minimum
        (``D_curve`` NaN elsewhere): the same xmin, alpha and D, several times faster on large
        spectra.

    Returns
    -------
    PowerLawFit
        status ``nonfinite`` (any NaN/inf), ``too_few_values`` (no admissible candidate),
        ``degenerate`` (every admissible tail is a single tied value) or ``ok``.
    """
    min_tail = _check_min_tail(min_tail)
    _check_ks(ks)
    x, n_bad, n_zeros, msg = split_values(values, LAW)
    if n_bad:
        return _not_ok("nonfinite", msg, x.size, n_zeros)
    u, counts = np.unique(x, return_counts=True)  # ascending unique values
    k_tail = x.size - (np.cumsum(counts) - counts)  # #{x >= u_j}: tail size for xmin = u_j
    admissible = k_tail >= min_tail
    if xmin_range is not None:
        admissible &= (u >= xmin_range[0]) & (u <= xmin_range[1])
    cand = np.flatnonzero(admissible)
    if cand.size == 0:
        return _not_ok(
            "too_few_values",
            f"no xmin candidate leaves >= {min_tail} values in the tail "
            f"({x.size} positive value(s), {n_zeros} value(s) <= 0 dropped)",
            x.size, n_zeros,
        )  # fmt: skip
    # suffix sums: s[j] = sum_{x >= u_j} ln(x / u_j) = sum_{p > j} ln(u_p/u_{p-1}) k_tail[p]
    gaps = _log_gaps(u)
    weighted = gaps * k_tail[1:]
    s = np.append(np.cumsum(weighted[::-1])[::-1], 0.0)
    valid = cand[s[cand] > 0]
    alpha_curve = np.full(cand.size, np.nan)
    d_curve = np.full(cand.size, np.nan)
    curves = {
        "xmin_candidates": u[cand], "alpha_curve": alpha_curve, "D_curve": d_curve,
        "n_tail_curve": k_tail[cand].astype(np.int64),
    }  # fmt: skip
    if valid.size == 0:
        return _not_ok(
            "degenerate",
            f"every admissible tail (>= {min_tail} values) consists of one tied value "
            f"{u[cand[-1]]!r}; alpha is infinite",
            x.size, n_zeros, **curves,
        )  # fmt: skip
    alpha_valid = 1.0 + k_tail[valid] / s[valid]
    n_ge = k_tail.astype(np.float64)
    log_u = np.append(0.0, np.cumsum(gaps))  # ln(u / u_0), accurate also for clustered values
    scan = _ks_scan if full_curves or valid.size < 4 * PRUNE_BATCH else _ks_pruned
    d_valid = scan(log_u, n_ge - counts, n_ge, valid, alpha_valid, left_only=ks == "left")
    is_valid = s[cand] > 0
    alpha_curve[is_valid] = alpha_valid
    d_curve[is_valid] = d_valid
    best = int(np.nanargmin(d_valid))
    j = int(valid[best])
    return _ok_result(
        float(alpha_valid[best]), float(u[j]), int(k_tail[j]), float(d_valid[best]),
        float(s[j]), x.size, n_zeros,
        f"xmin chosen among {valid.size} candidate(s) by minimum KS distance", **curves,
    )  # fmt: skip


def fit_power_law_reference(
    values: npt.ArrayLike, min_tail: int = 10, ks: str = "sup"
) -> PowerLawFit:
    """Exhaustive one-candidate-at-a-time CSN fit (slow, obviously correct; for tests).

    Same conventions and statuses as :func:`fit_power_law` (without the scan curves).
    """
    min_tail = _check_min_tail(min_tail)
    _check_ks(ks)
    x, n_bad, n_zeros, msg = split_values(values, LAW)
    if n_bad:
        return _not_ok("nonfinite", msg, x.size, n_zeros)
    x = np.sort(x)
    best: tuple[float, float, float, int, float] | None = None
    n_admissible = 0
    for xmin in np.unique(x):
        tail = x[x >= xmin]
        if tail.size < min_tail:
            break
        n_admissible += 1
        s = float(np.sum(np.log1p((tail - xmin) / xmin)))  # = sum ln(x / xmin), accurately
        if s <= 0:
            continue
        alpha = 1.0 + tail.size / s
        uniq, counts = np.unique(tail, return_counts=True)
        at = np.cumsum(counts) / tail.size
        before = (np.cumsum(counts) - counts) / tail.size
        model = power_law_cdf(uniq, alpha, xmin)
        d_before = float(np.max(np.abs(before - model)))
        d = d_before if ks == "left" else max(float(np.max(np.abs(at - model))), d_before)
        if best is None or d < best[0]:
            best = (d, alpha, float(xmin), tail.size, s)
    if n_admissible == 0:
        return _not_ok("too_few_values", f"no xmin leaves >= {min_tail} values", x.size, n_zeros)
    if best is None:
        return _not_ok("degenerate", "every admissible tail is one tied value", x.size, n_zeros)
    d, alpha, xmin, n_tail, s = best
    return _ok_result(alpha, xmin, n_tail, d, s, x.size, n_zeros, "reference exhaustive scan")
