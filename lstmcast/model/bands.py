"""Band widths from conformal scores: per-step scales, pooling, the season's positions.

Owns how stored calibration scores (``(n windows, H steps, nt targets)``, the held-out
residuals of :mod:`lstmcast.model.calibration`, in scaled units) become half-widths:

- **per step** (lstmcast 0.2): each step's quantile of its ``n`` scores, the
  ``ceil((n + 1) level)``-th smallest (:func:`lstmcast.model.conformal.calibrate`);
  a 95 % band needs 19 windows for its guarantee;
- **pooled**: each score divided by its step's scale (the mean absolute score of that
  step, never smaller than an earlier step's, so widths never shrink as the step grows),
  optionally by its position in the season's scale (hour of day, day of week:
  :func:`position_factors`), and the ``n * H`` scaled scores pooled into one quantile
  per target and level; a band is that quantile times the step's (and position's)
  scale. Many more scores stand behind each level (a 95 % band of 5 windows of 12 steps
  has 60), at the price of assuming the scaled errors alike across steps;
- **signed**: the pooled scores keep their sign and each tail is calibrated alone, for
  errors skewed to one side.

:func:`choose` picks among these on the held-out windows themselves: calibrated on the
earlier half, scored on the later half and the other way round, the candidate whose
coverage at 80 % and 95 % misses least (averaged over the season's positions where there
is a season, so a shared width that over-covers nights and under-covers noons loses).
Pure numpy over :mod:`lstmcast.model.conformal`.
"""

from __future__ import annotations

import numpy as np

from lstmcast.model import conformal

SHRINK = 10.0   # scores' worth of pull towards a factor of 1 (on a log scale)
CHECK_LEVELS = (80.0, 95.0)
MIN_WINDOWS = 20  # fewer held-out windows: no choice by halves, "pooled" (the most scores)
CANDIDATES = ({"pool": False, "positions": False, "signed": False},
              {"pool": True, "positions": False, "signed": False},
              {"pool": True, "positions": False, "signed": True},
              {"pool": True, "positions": True, "signed": False},
              {"pool": True, "positions": True, "signed": True})


def step_scale(scores: np.ndarray) -> np.ndarray:
    """(H, nt): each step's mean absolute score (NaN skipped), never below an earlier
    step's, and above 0."""
    a = np.abs(scores)
    mean = np.nansum(a, axis=0) / np.maximum(np.sum(~np.isnan(a), axis=0), 1)
    mean = np.maximum.accumulate(mean, axis=0)
    floor = max(float(np.nanmax(mean)) * 1e-6, 1e-12) if mean.size else 1e-12
    return np.maximum(mean, floor)


def target_positions(first: np.ndarray, H: int, season: int) -> np.ndarray:
    """(n, H): the season position of every step of windows whose first target is at
    position ``first`` (n,)."""
    return (np.asarray(first, dtype=np.int64)[:, None] + np.arange(H)[None, :]) % max(season, 1)


def position_factors(scores: np.ndarray, sigma: np.ndarray, positions: np.ndarray, season: int) -> np.ndarray:
    """(season, nt): the mean absolute step-scaled score at each position over the mean of
    all (at least 1e-3), pulled towards 1 on a log scale by ``counts / (counts + SHRINK)``
    (a position seen in few scores keeps nearly the shared width)."""
    u = np.abs(scores / sigma[None])                           # (n, H, nt)
    nt = u.shape[2]
    seen = ~np.isnan(u)
    overall = np.nansum(u, axis=(0, 1)) / np.maximum(seen.sum(axis=(0, 1)), 1)
    overall = np.where(overall > 0, overall, 1.0)
    out = np.ones((season, nt))
    flat = positions.ravel()
    for t in range(nt):
        v, ok = u[:, :, t].ravel(), seen[:, :, t].ravel()
        sums = np.bincount(flat[ok], weights=v[ok], minlength=season)
        counts = np.bincount(flat[ok], minlength=season)
        raw = np.maximum(sums / np.maximum(counts, 1) / overall[t], 1e-3)
        out[:, t] = np.exp(np.log(raw) * counts / (counts + SHRINK))
    return out


def _scaled(scores, how: dict, sigma, rho, positions):
    u = scores / sigma[None]
    if how.get("positions") and rho is not None:
        u = u / rho[positions]                                 # (n, H, nt) / (n, H, nt)
    return u


def quantiles(scores: np.ndarray, levels, how: dict, season: int = 1,
              first: np.ndarray | None = None) -> dict:
    """The calibration of ``scores`` the way ``how`` says: ``{"sigma": (H, nt), "rho":
    (season, nt) or None, "q": (levels, H or 1, nt) or (lo, hi), "n": scores per level}``."""
    levels = list(levels)
    n, H, nt = scores.shape
    sigma = step_scale(scores) if how.get("pool") else np.ones((H, nt))
    rho, positions = None, None
    if how.get("positions") and season > 1 and first is not None:
        positions = target_positions(first, H, season)
        rho = position_factors(scores, sigma, positions, season)
    u = _scaled(scores, how, sigma, rho, positions)
    if how.get("pool"):
        u = u.reshape(n * H, 1, nt)
    if not levels:
        q = np.zeros((0, u.shape[1], nt))
    elif how.get("signed"):
        q = conformal.calibrate_signed(u, levels)
    else:
        q = conformal.calibrate(u, levels)
    return {"sigma": sigma, "rho": rho, "q": q, "n": int(u.shape[0])}


def widths(cal: dict, levels, horizon: int, first: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` half-widths (levels, horizon, nt), both >= 0, for a forecast whose
    first step is at season position ``first``; past the calibrated steps the last step's
    scale grows like a random walk's."""
    sigma = cal["sigma"]
    H, nt = sigma.shape
    q = cal["q"]
    pooled = (q[0] if isinstance(q, tuple) else q).shape[1] == 1
    if horizon > H:  # the scale of a pooled calibration grows; a per-step one's quantiles do
        grow = np.sqrt(np.arange(H + 1, horizon + 1) / H)[:, None] if pooled else np.ones((horizon - H, 1))
        sigma = np.concatenate([sigma, sigma[-1:] * grow])
    sigma = sigma[:horizon]
    lo, hi = (-q[0], q[1]) if isinstance(q, tuple) else (q, q)

    def spread(a):  # (levels, H or 1, nt) -> (levels, horizon, nt)
        if a.shape[1] == 1:
            return np.repeat(a, horizon, axis=1)
        if cal.get("monotone", True):  # per step: never narrower than an earlier step
            a = np.maximum.accumulate(a, axis=1)
        if horizon <= a.shape[1]:
            return a[:, :horizon]
        last = a[:, -1:] * np.sqrt(np.arange(a.shape[1] + 1, horizon + 1) / a.shape[1])[None, :, None]
        return np.concatenate([a, last], axis=1)

    lo, hi = spread(lo) * sigma[None], spread(hi) * sigma[None]
    if cal.get("rho") is not None and first is not None:
        rho = cal["rho"]
        factor = rho[(first + np.arange(horizon)) % len(rho)]  # (horizon, nt)
        lo, hi = lo * factor[None], hi * factor[None]
    return np.maximum(lo, 0.0), np.maximum(hi, 0.0)


def _coverage_miss(cal: dict, scores: np.ndarray, first, season: int) -> float:
    """Mean |coverage - nominal| (points) of ``cal``'s bands over ``scores``, at the check
    levels, averaged over the season's positions when there is a season."""
    n, H, nt = scores.shape
    miss = []
    made = {}
    for w in range(n):
        key = int(first[w]) if first is not None and cal.get("rho") is not None else None
        if key not in made:
            made[key] = widths(cal, CHECK_LEVELS, H, key)
    for i, level in enumerate(CHECK_LEVELS):
        inside = np.zeros((n, H, nt), bool)
        for w in range(n):
            lo, hi = made[int(first[w]) if first is not None and cal.get("rho") is not None else None]
            inside[w] = (scores[w] >= -lo[i]) & (scores[w] <= hi[i])
        seen = ~np.isnan(scores)
        if season > 1 and first is not None:
            pos = target_positions(first, H, season)
            for p in range(season):
                at = (pos == p)[:, :, None] & seen
                if at.any():
                    miss.append(abs(100.0 * inside[at].mean() - level))
        else:
            miss.append(abs(100.0 * inside[seen].mean() - level))
    return float(np.mean(miss))


def choose(scores: np.ndarray, season: int = 1, first: np.ndarray | None = None) -> dict:
    """The candidate (:data:`CANDIDATES`) that covers one half of the windows best when
    calibrated on the other (both ways round); "pooled" with fewer than
    :data:`MIN_WINDOWS` windows. Positions only with a season and ``first``."""
    n = len(scores)
    options = [c for c in CANDIDATES if not c["positions"] or (season > 1 and first is not None)]
    if n < MIN_WINDOWS:
        return dict(CANDIDATES[1])
    half = n // 2
    parts = (slice(0, half), slice(half, None))
    best, best_miss = None, np.inf
    for how in options:
        miss = 0.0
        for a, b in (parts, parts[::-1]):
            fa = None if first is None else first[a]
            fb = None if first is None else first[b]
            cal = quantiles(scores[a], CHECK_LEVELS, how, season, fa)
            miss += _coverage_miss(cal, scores[b], fb, season)
        if miss < best_miss - 1e-9:
            best, best_miss = how, miss
    return dict(best)


def monotone(width: np.ndarray, period: int = 1) -> np.ndarray:
    """``width`` (..., steps, nt) made never smaller than at the same season position one
    ``period`` earlier (``period`` 1: never smaller than at any earlier step)."""
    out = np.array(width, dtype=np.float64, copy=True)
    for h in range(period, out.shape[-2]):
        out[..., h, :] = np.maximum(out[..., h, :], out[..., h - period, :])
    return out


def zero_positions(values: np.ndarray, positions: np.ndarray, season: int, cycles: int = 2) -> np.ndarray:
    """(season, nt) bool: the positions at which every observed value of ``values`` (rows,
    nt) is exactly 0, seen in at least ``cycles`` cycles (night hours of irradiance)."""
    nt = values.shape[1]
    out = np.zeros((season, nt), bool)
    for t in range(nt):
        v = values[:, t]
        ok = ~np.isnan(v)
        seen = np.bincount(positions[ok], minlength=season)
        nonzero = np.bincount(positions[ok & (v != 0)], minlength=season)
        out[:, t] = (seen >= cycles) & (nonzero == 0)
    return out
