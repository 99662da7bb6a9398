"""Metrics: how far forecasts are from actuals, and how often intervals hold them.

Owns the accuracy measures the backtest reports.  Every point metric takes ``y``
(actuals) and ``f`` (forecasts) of the same shape, any shape, and reduces over all
elements to one float; inputs must be NaN-free.

* :func:`mae`, :func:`rmse`: in the units of the data.
* :func:`mape`: percent of ``|y|``; elements where ``y == 0`` are left out (the ratio is
  undefined there) and the result is NaN when no element is left.
* :func:`smape`: the M4 definition, ``200 |y - f| / (|y| + |f|)``, between 0 and 200;
  an element where ``y == f == 0`` counts as 0.
* :func:`mase`: MAE divided by the in-sample MAE of the seasonal naive forecast on the
  history before the forecast origin (Hyndman & Koehler 2006).  1 means "as good as
  seasonal naive one season ahead in sample".  NaN when that scale is 0 (a constant
  history) or undefined (fewer than 2 points).
* :func:`coverage`: percent of actuals inside ``[lower, upper]``.
* :func:`msis`: the M4 mean scaled interval score, which rewards narrow intervals and
  penalises misses by ``2 / alpha`` times the distance; same scale as MASE.
* :func:`summarize`: all of them in one dict, the row the backtest prints.

Imports numpy, and the level check of :mod:`lstmcast.model.conformal`.
"""

from __future__ import annotations

import numpy as np

from lstmcast.model.conformal import check_level


def _pair(y, f, names=("y", "f")) -> tuple[np.ndarray, np.ndarray]:
    y, f = np.asarray(y, dtype=np.float64), np.asarray(f, dtype=np.float64)
    if y.shape != f.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, "
                         f"not {y.shape} and {f.shape}")
    if y.size == 0:
        raise ValueError(f"{names[0]} is empty: nothing to score")
    return y, f


def mae(y, f) -> float:
    """Mean absolute error."""
    y, f = _pair(y, f)
    return float(np.mean(np.abs(y - f)))


def rmse(y, f) -> float:
    """Root mean squared error (computed as ``m * sqrt(mean((d/m)^2))``, ``m = max|d|``,
    so tiny errors do not underflow to 0 and huge ones do not overflow)."""
    y, f = _pair(y, f)
    d = np.abs(y - f)
    m = d.max()
    if m == 0 or not np.isfinite(m):
        return float(m)
    return float(m * np.sqrt(np.mean((d / m) ** 2)))


def mape(y, f) -> float:
    """Mean absolute percentage error, in percent, over the elements where ``y != 0``.

    NaN when every actual is 0.
    """
    y, f = _pair(y, f)
    keep = y != 0
    if not keep.any():
        return float("nan")
    with np.errstate(over="ignore"):  # an actual near 0 may give inf: honest, if useless
        return float(100.0 * np.mean(np.abs(y[keep] - f[keep]) / np.abs(y[keep])))


def smape(y, f) -> float:
    """Symmetric MAPE as in M4: mean of ``200 |y - f| / (|y| + |f|)``, in 0..200; 0/0 is 0."""
    y, f = _pair(y, f)
    den = np.abs(y) + np.abs(f)
    num = np.abs(y - f)
    ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(200.0 * np.mean(ratio))


def naive_scale(insample, season: int = 1) -> float:
    """In-sample MAE of the seasonal naive forecast on a 1-D history: the MASE denominator.

    Uses ``season = 1`` when the history is not longer than ``season``.  NaN differences
    (gaps in the history) are skipped.  NaN when fewer than 2 values, or when the scale is 0.
    """
    x = np.asarray(insample, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"insample must be a 1-D history, not shape {x.shape}")
    season = _season(season)
    if season >= len(x):
        season = 1
    if len(x) < 2:
        return float("nan")
    d = np.abs(x[season:] - x[:-season])
    d = d[~np.isnan(d)]
    scale = float(np.mean(d)) if d.size else float("nan")
    return scale if scale > 0 else float("nan")


def mase(y, f, insample, season: int = 1) -> float:
    """Mean absolute scaled error: ``mae(y, f) / naive_scale(insample, season)``.

    ``insample`` is the 1-D history before the forecast origin.  NaN when the scale is 0
    (a constant history, where any error would be infinitely bad) or undefined.
    """
    err = mae(y, f)
    return err / naive_scale(insample, season)


def coverage(y, lower, upper) -> float:
    """Percent of actuals with ``lower <= y <= upper``."""
    y, lo = _pair(y, lower, ("y", "lower"))
    _, hi = _pair(y, upper, ("y", "upper"))
    return float(100.0 * np.mean((y >= lo) & (y <= hi)))


def msis(y, lower, upper, level: float, insample, season: int = 1) -> float:
    """Mean scaled interval score (M4) of a ``level`` percent interval.

    Mean of ``(upper - lower) + 2/a (lower - y) [y < lower] + 2/a (y - upper) [y > upper]``
    with ``a = 1 - level/100``, divided by :func:`naive_scale`.  Lower is better; a
    perfectly sharp interval that always holds the actual scores 0.
    """
    level = check_level(level)
    y, lo = _pair(y, lower, ("y", "lower"))
    _, hi = _pair(y, upper, ("y", "upper"))
    a = 1.0 - level / 100.0
    score = (hi - lo) + (2.0 / a) * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))
    return float(np.mean(score)) / naive_scale(insample, season)


def summarize(y, f, insample, season: int = 1, intervals=None) -> dict[str, float]:
    """All metrics of one forecast as ``{"MAE", "RMSE", "MAPE", "sMAPE", "MASE", ...}``.

    ``intervals``: optional ``{level: (lower, upper)}``; adds ``coverage_<level>`` and
    then ``MSIS_<level>`` for each level, in increasing order (``coverage_80``,
    ``coverage_97.5``).
    """
    out = {"MAE": mae(y, f), "RMSE": rmse(y, f), "MAPE": mape(y, f), "sMAPE": smape(y, f),
           "MASE": mase(y, f, insample, season)}
    levels = sorted((intervals or {}).items(), key=lambda kv: float(kv[0]))
    for level, (lo, hi) in levels:
        out[f"coverage_{float(level):g}"] = coverage(y, lo, hi)
    for level, (lo, hi) in levels:
        out[f"MSIS_{float(level):g}"] = msis(y, lo, hi, level, insample, season)
    return out


def _season(season) -> int:
    try:
        ok = not isinstance(season, (bool, np.bool_)) and int(season) == season and season >= 1
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"season must be a whole number of steps, 1 or more, not {season!r}")
    return int(season)
