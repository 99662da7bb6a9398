"""Conformal prediction intervals: calibrated from held-out residuals, one per horizon step.

Owns split conformal calibration.  Residuals ``actual - predicted`` on windows the
model never trained on (validation windows), shaped ``(n, horizon, n_targets)`` (any
trailing shape works), calibrate each horizon step and target separately:

* :func:`calibrate`: symmetric bands ``pred -/+ q``; ``q`` is the ``k``-th smallest
  ``|residual|`` with ``k = ceil((n + 1) * level / 100)``.  If residuals and the future
  error are exchangeable, the interval holds the actual with probability at least
  ``level`` percent (and, without ties, at most ``level + 100/(n+1)``).
* :func:`calibrate_signed`: asymmetric bands ``[pred + lo, pred + hi]`` from the signed
  residuals, ``(100 - level)/2`` percent in each tail; follows a biased or skewed model's
  errors instead of widening both sides, at the price of more calibration windows.
* :func:`intervals`: ``{level: (lower, upper)}`` arrays around a point forecast.
* :func:`better_scale`: whether residuals divided by each window's change, or plain
  ones, calibrate better across time.

With fewer than :func:`min_calibration_size` residuals the rank ``k`` exceeds ``n``:
the largest residual is used instead, the guarantee no longer holds, and the caller
should say so.  NaN residuals (missing actuals) are skipped, per step and target.
Levels are percentages in (0, 100); anything else is a ``ValueError``.

Imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-9  # so that e.g. (n + 1) * 99.9 / 100 == 999 does not round up to 1000


def check_level(level) -> float:
    """``level`` as a float in (0, 100), or a ValueError naming it."""
    try:
        v = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"interval level must be a number in percent, not {level!r}") from None
    if isinstance(level, (bool, np.bool_)) or not 0.0 < v < 100.0:
        raise ValueError("interval level must be a percentage between 0 and 100 "
                         f"(exclusive), e.g. 80 or 95, not {level!r}")
    return v


def _as_levels(levels) -> list[float]:
    """A list of levels in (0, 100), in the order given; a single number is one level."""
    if np.ndim(levels) == 0:
        levels = [levels]
    return [check_level(v) for v in levels]


def _upper_rank(n, level: float):
    """1-based rank of the conformal quantile among ``n`` sorted scores (may exceed n)."""
    return np.ceil((np.asarray(n) + 1) * level / 100.0 - _EPS).astype(np.int64)


def _lower_rank(n, level: float):
    """1-based rank of the lower signed quantile, ``(100 - level)/2`` percent in (may be 0)."""
    return np.floor((np.asarray(n) + 1) * (100.0 - level) / 200.0 + _EPS).astype(np.int64)


def min_calibration_size(level, signed: bool = False) -> int:
    """Fewest residuals for which the ``level`` interval has its coverage guarantee.

    80 -> 4 and 95 -> 19 (symmetric); 80 -> 9 and 95 -> 39 with ``signed=True``.
    """
    level = check_level(level)
    tail = 100.0 - (100.0 - level) / 2.0 if signed else level
    n = max(1, math.ceil(tail / (100.0 - tail) - _EPS))
    while _upper_rank(n, tail) > n or (signed and _lower_rank(n, level) < 1):
        n += 1
    return n


def _order_stat(sorted_scores: np.ndarray, counts: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """``rank``-th smallest (1-based, clipped to 1..count) of each cell; NaN where count == 0
    (NaN sorts last, so an all-NaN cell yields its first NaN)."""
    idx = np.clip(rank, 1, np.maximum(counts, 1)) - 1
    return np.take_along_axis(sorted_scores, idx[None], axis=0)[0]


def _residuals(residuals) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(residuals, dtype=np.float64)
    if r.ndim < 1 or r.shape[0] == 0:
        raise ValueError(f"need at least one calibration residual, got shape {r.shape}")
    return r, np.sum(~np.isnan(r), axis=0)


def calibrate(residuals, levels) -> np.ndarray:
    """Half-widths ``q`` of shape ``(len(levels), *residuals.shape[1:])``.

    ``q[i]`` is the ``ceil((n+1) * levels[i] / 100)``-th smallest ``|residual|`` over the
    first axis (the largest one when that rank exceeds ``n``).
    """
    levels = _as_levels(levels)
    r, n = _residuals(residuals)
    scores = np.sort(np.abs(r), axis=0)  # NaN sorts last
    out = np.empty((len(levels), *r.shape[1:]))
    for i, level in enumerate(levels):
        out[i] = _order_stat(scores, n, _upper_rank(n, level))
    return out


def calibrate_signed(residuals, levels) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``(lo, hi)``, each ``(len(levels), *residuals.shape[1:])``, for the band
    ``[pred + lo, pred + hi]``.

    ``hi`` is the ``ceil((n+1)(1 - a/2))``-th smallest signed residual and ``lo`` the
    ``floor((n+1) a/2)``-th, ``a = 1 - level/100``, each clipped to the extremes when
    ``n`` is too small (see ``min_calibration_size(level, signed=True)``).  Each tail
    misses with probability at most ``a/2``, so the band holds at least ``level`` percent.
    """
    levels = _as_levels(levels)
    r, n = _residuals(residuals)
    scores = np.sort(r, axis=0)
    lo = np.empty((len(levels), *r.shape[1:]))
    hi = np.empty_like(lo)
    for i, level in enumerate(levels):
        hi[i] = _order_stat(scores, n, _upper_rank(n, 100.0 - (100.0 - level) / 2.0))
        lo[i] = _order_stat(scores, n, _lower_rank(n, level))
    return lo, hi


def intervals(pred, q, levels) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """``{level: (lower, upper)}`` around ``pred`` of shape ``(..., horizon, n_targets)``.

    ``q`` is either the half-widths from :func:`calibrate` (bands ``pred -/+ q[i]``) or
    the ``(lo, hi)`` pair from :func:`calibrate_signed` (bands ``pred + lo[i]``,
    ``pred + hi[i]``).  Keys are the levels as given (``80`` and ``80.0`` look up alike).
    """
    pred = np.asarray(pred, dtype=np.float64)
    if isinstance(q, tuple):
        lo, hi = (np.asarray(a, dtype=np.float64) for a in q)
    else:
        hi = np.asarray(q, dtype=np.float64)
        lo = -hi
    if np.ndim(levels) == 0:
        levels = [levels]
    _as_levels(levels)
    if not len(levels) == len(lo) == len(hi):
        raise ValueError(f"{len(levels)} levels but quantiles for {len(hi)}")
    return {level: (pred + lo[i], pred + hi[i]) for i, level in enumerate(levels)}


def better_scale(r: np.ndarray, change: np.ndarray) -> str:
    """"change" or "none": the conformal scaling whose bands, calibrated on one half of the
    held-out windows, cover the other half closer to 80 % and 95 % (both ways round)."""
    floor = np.maximum(0.1 * np.median(change, axis=0), 1e-6)
    scale = {"none": np.ones_like(change), "change": np.maximum(change, floor)}
    half = len(r) // 2
    parts = (slice(0, half), slice(half, None))
    miss = {}
    for name, sc in scale.items():
        err = 0.0
        for a, b in (parts, parts[::-1]):
            q = calibrate(r[a] / sc[a][:, None, :], [80.0, 95.0])   # (2, H, nt)
            for i, level in enumerate((80.0, 95.0)):
                covered = np.abs(r[b]) <= q[i][None] * sc[b][:, None, :]
                err += abs(100.0 * covered.mean() - level)
        miss[name] = err
    return "none" if miss["none"] < miss["change"] else "change"
