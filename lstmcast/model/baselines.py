"""Baselines: the simple forecasts the LSTM must beat.

Owns three benchmark forecasters over a history array (rows are time steps, oldest
first; 1-D for one target, or ``(n, n_targets)`` forecasting each column), returning
``horizon`` rows:

* :func:`naive`: the last value, repeated;
* :func:`seasonal_naive`: the value one season earlier, repeating the last season
  (naive when ``season == 1`` or the history is shorter than a season);
* :func:`drift`: the line through the first and last values, extended
  (``last + h * (last - first) / (n - 1)``; naive for a single value).

:data:`BASELINES` maps their names to functions of ``(history, horizon, season)``; the
default season of a frequency is :func:`lstmcast.frequencies.season_length`.
Histories must be NaN-free.  Imports numpy only.
"""

from __future__ import annotations

import numpy as np


def _check(history, horizon) -> tuple[np.ndarray, int]:
    x = np.asarray(history, dtype=np.float64)
    if x.ndim not in (1, 2) or len(x) == 0:
        raise ValueError(f"history must be a non-empty 1-D or 2-D array, not shape {x.shape}")
    if isinstance(horizon, (bool, np.bool_)) or int(horizon) != horizon or horizon < 0:
        raise ValueError(f"horizon must be a whole number of steps, 0 or more, not {horizon!r}")
    return x, int(horizon)


def naive(history, horizon: int) -> np.ndarray:
    """The last value repeated ``horizon`` times."""
    x, horizon = _check(history, horizon)
    return np.repeat(x[-1:], horizon, axis=0)


def seasonal_naive(history, horizon: int, season: int = 1) -> np.ndarray:
    """``f[h] = x[n - season + (h mod season)]``: the last full season, repeated.

    Falls back to :func:`naive` when ``season`` exceeds the length of the history.
    """
    x, horizon = _check(history, horizon)
    if isinstance(season, (bool, np.bool_)) or int(season) != season or season < 1:
        raise ValueError(f"season must be a whole number of steps, 1 or more, not {season!r}")
    season = int(season)
    if season > len(x):
        season = 1
    return x[len(x) - season + np.arange(horizon) % season]


def drift(history, horizon: int) -> np.ndarray:
    """``f[h] = last + h * (last - first) / (n - 1)`` for ``h = 1..horizon``."""
    x, horizon = _check(history, horizon)
    if len(x) == 1:
        return naive(x, horizon)
    slope = (x[-1] - x[0]) / (len(x) - 1)
    h = np.arange(1, horizon + 1, dtype=np.float64).reshape(-1, *[1] * (x.ndim - 1))
    return x[-1] + h * slope


BASELINES = {
    "naive": lambda history, horizon, season=1: naive(history, horizon),
    "seasonal_naive": seasonal_naive,
    "drift": lambda history, horizon, season=1: drift(history, horizon),
}
