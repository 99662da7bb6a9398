"""The Theta method with automatic variant selection: a statistical member for the forecaster.

Owns one series' Theta model, fitted, advanced and forecast over arrays, the way
statsforecast's ``AutoTheta`` does it (which stays a benchmark extra; see
``benchmarks/accuracy/members_theta.py`` for the comparison):

1. **Seasonality.** With ``season >= 4`` and at least two seasons of data, the series is
   seasonal when its autocorrelation at lag ``season`` exceeds 1.645 standard errors
   (Bartlett's, from the lower lags): the 90 % two-sided test of the classical Theta
   method. A seasonal series is divided by classical multiplicative indices (centred
   moving average, per-position mean of the ratios, normalised to mean 1) when it is
   positive and every index is at least 0.01; otherwise additive offsets (differences,
   normalised to mean 0) are subtracted, so scaled or negative data keep their season.
2. **Four variants** (Fiorucci et al. 2016) on the deseasonalised series: Standard Theta
   (``STM``, theta = 2), Optimised (``OTM``, theta >= 1 fitted), and their Dynamic
   versions (``DSTM``, ``DOTM``), whose regression line is refitted after every
   observation. The one-step forecast after ``t`` observations is
   ``level_t + (1 - 1/theta) * (A_t (1-a)^t + B_t (1 - (1-a)^(t+1)) / a)``, ``level``
   being simple exponential smoothing of the data with ``alpha = a``; h steps ahead the
   recursion is fed its own forecasts (for the static variants: a line of slope
   ``(1 - 1/theta) B``, half the regression slope for STM, as Hyndman & Billah 2003 show).
3. **Fitting** minimises the mean squared one-step error from the fourth observation on
   (statsforecast's criterion), over the initial level, ``alpha`` in [0.1, 0.99] and, for
   the optimised variants, theta in [1, 1e10]. The one-step errors are linear in the
   initial level and in ``1 - 1/theta`` for a fixed alpha, so those two are solved exactly
   by least squares and only alpha is searched (a grid, then golden section): no
   Nelder-Mead, no local minima in the other two. The variant with the lowest MSE wins
   (ties to the simpler); OTM nests STM and DOTM nests DSTM, so STM or DSTM win only on
   ties (statsforecast's Nelder-Mead stops early often enough to pick them).
4. **Reseasonalising**: forecasts are multiplied by (or added to) the index of their
   position, ``(step count) mod season`` counted from the first observation fitted.

Layouts (all float64):

- ``params`` = ``[alpha, theta, additive]``; ``additive`` is 1.0 when ``seasonal`` holds
  additive offsets, 0.0 when it holds multiplicative factors (ones when not seasonal).
- ``init`` and ``state`` = ``[level, mean, A, B]``: the level, the mean of the
  deseasonalised observations seen, and the regression line's intercept (at time 0) and
  slope over times 1..t. ``init`` is before the first observation (mean 0); for STM/OTM
  ``A, B`` are the line fitted once to the whole fit sample and never change, for the
  dynamic variants they are 0 in ``init`` and follow the data (the first observation
  sets ``A = y0, B = 0``).
- ``mse`` is on the deseasonalised scale (0 for three points or fewer).

Series of three points or fewer are not fitted: STM with alpha 0.5 and an initial level
that forecasts a constant series as that constant. One small Numba kernel does all the
filtering (``_filter`` in :mod:`lstmcast.model.theta_kernels`, imported only to fit,
advance or filter); everything else is numpy, so a forecast never loads Numba.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

KINDS = ("STM", "OTM", "DSTM", "DOTM")
Z_90 = 1.6448536269514722      # standard normal 95 % quantile: the 90 % two-sided test
ALPHA_RANGE = (0.1, 0.99)      # statsforecast's bounds
C_MAX = 1.0 - 1e-10            # 1 - 1/theta at theta = 1e10, statsforecast's upper bound
MIN_INDEX = 0.01               # smallest multiplicative index before additive is used
SKIP = 3                       # one-step errors left out of the MSE (statsforecast's too)

_NO_ORIGINS = np.empty(0, np.int64)
_NO_OUT = np.empty((0, 0))


@dataclass(frozen=True)
class ThetaModel:
    """A fitted Theta model (layouts in the module docstring)."""

    kind: str              # "STM" | "OTM" | "DSTM" | "DOTM"
    season: int            # season length used (1 when not seasonal or the test failed)
    seasonal: np.ndarray   # (season,) indices by position from the first observation fitted
    params: np.ndarray     # [alpha, theta, additive]
    init: np.ndarray       # [level, mean, A, B] before the first observation
    state: np.ndarray      # [level, mean, A, B] after the last observation seen
    mse: float             # in-sample one-step MSE, deseasonalised, from the 4th point on
    n: int                 # observations seen (fitted + advanced)


# ---------------------------------------------------------------- the step (plain Python; Numba compiles it in theta_kernels)

def _step(level, mean, a, b, t, v, alpha, dynamic):
    """The state after observing ``v`` as observation number ``t + 1``."""
    level = alpha * v + (1.0 - alpha) * level
    new_mean = (t * mean + v) / (t + 1.0)
    if dynamic:
        if t == 0:
            a, b = v, 0.0
        else:  # the least-squares line over times 1..t+1, updated
            b = ((t - 1.0) * b + 6.0 * (v - mean) / (t + 1.0)) / (t + 2.0)
            a = new_mean - b * (t + 2.0) / 2.0
    return level, new_mean, a, b


# ---------------------------------------------------------------- seasonality

def seasonality(y: np.ndarray, season: int) -> tuple[int, np.ndarray, bool]:
    """``(season used, indices (season,), additive)`` for ``y``: the test and the
    classical decomposition of the module docstring; ``(1, [1.0], False)`` when not
    seasonal."""
    y = np.asarray(y, dtype=np.float64)
    n, m = len(y), int(season)
    none = (1, np.ones(1), False)
    if m < 4 or n < 2 * m:
        return none
    yc = y - y.mean()
    denom = float(yc @ yc)
    if not denom > 0 or not np.isfinite(denom):
        return none
    r = np.array([yc[:n - k] @ yc[k:] for k in range(1, m + 1)]) / denom
    stat = np.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / n)
    if not abs(r[-1]) > Z_90 * stat:
        return none
    if m % 2 == 0:   # a 2 x m moving average, centred
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    trend = np.convolve(y, w, mode="valid")
    at = np.arange(m // 2, m // 2 + len(trend))
    pos, count = at % m, np.bincount(at % m, minlength=m)
    if y.min() > 0:
        idx = np.bincount(pos, y[at] / trend, minlength=m) / count
        idx = idx / idx.mean()
        if idx.min() >= MIN_INDEX and np.isfinite(idx).all():
            return m, idx, False
    idx = np.bincount(pos, y[at] - trend, minlength=m) / count
    return m, idx - idx.mean(), True


def _deseason(y, seasonal, additive, start):
    s = seasonal[(start + np.arange(len(y))) % len(seasonal)]
    return y - s if additive else y / s


def _reseason(f, seasonal, additive, start):
    """Forecasts ``f (rows, horizon)`` whose first step has position ``start`` (per row)."""
    s = seasonal[(np.asarray(start)[:, None] + np.arange(f.shape[1])[None, :]) % len(seasonal)]
    return f + s if additive else f * s


# ---------------------------------------------------------------- fitting

def _line(y):
    """Intercept (at time 0) and slope of the least-squares line over times 1..n."""
    n = len(y)
    if n < 2:
        return float(y[0]), 0.0
    t = np.arange(1.0, n + 1.0)
    tc = t - t.mean()
    b = float(tc @ (y - y.mean()) / (tc @ tc))
    return float(y.mean() - b * (n + 1) / 2.0), b


def _solve(s, c):
    """Least-squares starting-level shift and ``c`` (``c`` given, or fitted in
    [0, C_MAX]) from the sums of :func:`_filter` (a tiny ridge keeps it finite)."""
    gg = s[2] * (1.0 + 1e-10) + 1e-300
    if c is None:
        dd = s[3] * (1.0 + 1e-10) + 1e-300
        det = gg * dd - s[6] * s[6]
        c = (gg * s[5] - s[6] * s[4]) / det if det > 0 and np.isfinite(det) else 0.5
        c = min(max(c, 0.0), C_MAX) if np.isfinite(c) else 0.5
    return (s[4] - c * s[6]) / gg, c


def _evaluate(y, dynamic, alpha, c_fixed, a, b):
    """The best initial level and c for this alpha: ``(sse, level0, c)``."""
    from lstmcast.model.theta_kernels import _filter

    st = np.array([y[0], 0.0, a, b])
    sums = np.zeros(7)
    _filter(y, dynamic, alpha, 0.0, st, 0, SKIP, _NO_ORIGINS, 0, _NO_OUT, sums)
    delta, c = _solve(sums, c_fixed)
    level0 = y[0] + delta
    if not np.isfinite(level0):
        level0 = y[0]
    theta = 1.0 / (1.0 - c)
    c = 1.0 - 1.0 / theta        # exactly the c that theta gives back
    st = np.array([level0, 0.0, a, b])
    sums[:] = 0.0
    _filter(y, dynamic, alpha, c, st, 0, SKIP, _NO_ORIGINS, 0, _NO_OUT, sums)
    sse = sums[0] if np.isfinite(sums[0]) else np.inf
    return sse, level0, theta


def _fit_alpha(y, dynamic, c_fixed, a, b):
    """Search alpha: a grid of 19 points, then golden section around the best one."""
    grid = np.r_[np.arange(0.10, 0.951, 0.05), ALPHA_RANGE[1]]
    runs = [_evaluate(y, dynamic, al, c_fixed, a, b) for al in grid]
    k = int(np.argmin([r[0] for r in runs]))
    best = (runs[k][0], grid[k], runs[k][1], runs[k][2])
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    inv = (np.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - inv * (hi - lo), lo + inv * (hi - lo)
    f1, f2 = _evaluate(y, dynamic, x1, c_fixed, a, b), _evaluate(y, dynamic, x2, c_fixed, a, b)
    while hi - lo > 1e-5:    # 21 steps from a bracket of 0.1
        if f1[0] <= f2[0]:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - inv * (hi - lo)
            f1 = _evaluate(y, dynamic, x1, c_fixed, a, b)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + inv * (hi - lo)
            f2 = _evaluate(y, dynamic, x2, c_fixed, a, b)
    for x, f in ((x1, f1), (x2, f2)):
        if f[0] < best[0]:
            best = (f[0], x, f[1], f[2])
    return best   # (sse, alpha, level0, theta)


def fit(y: np.ndarray, season: int) -> ThetaModel:
    """The Theta variant with the lowest in-sample MSE for ``y`` (1-D, NaN-free).

    Never raises for a non-empty series, never warns: constant, three-point, zero and
    negative series all give a model (see the module docstring). The fit runs on ``y``
    divided by its largest magnitude (every quantity but alpha and theta scales with the
    data), so neither 1e-300 nor 1e300 overflows."""
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    if len(y) == 0:
        raise ValueError("theta.fit needs at least one observation")
    scale = float(np.abs(y).max())
    if not (scale > 0 and np.isfinite(scale)):
        scale = 1.0
    with np.errstate(all="ignore"):
        kind, alpha, theta, init, mse, (m, seasonal, additive) = _select(y / scale, season)
    if additive:
        seasonal = seasonal * scale
    mse = min(float(mse) * scale * scale, np.finfo(np.float64).max)  # Python floats: no warning
    model = ThetaModel(kind=kind, season=m, seasonal=seasonal,
                       params=np.array([alpha, theta, float(additive)]), init=init * scale,
                       state=init * scale, mse=mse, n=0)
    return advance(model, y)


def _select(z, season):
    """Seasonality and the best variant for ``z`` (largest magnitude 1 or 0)."""
    m, seasonal, additive = seasonality(z, max(int(season), 1))
    x = _deseason(z, seasonal, additive, 0) if m > 1 else z
    a, b = _line(x)
    # not fitted (three points or fewer) or nothing fits: STM, alpha 0.5, a constant stays
    kind, alpha, theta, level0, mse = "STM", 0.5, 2.0, x[0] - 0.5 * a, 0.0
    if len(x) > SKIP:
        best = np.inf
        tie = 1e-13 * float(np.mean(x * x))   # a lower MSE by less than this is a tie
        for name in KINDS:
            dynamic = name.startswith("D")
            sse, al, lv, th = _fit_alpha(x, dynamic, 0.5 if name.endswith("STM") else None,
                                         0.0 if dynamic else a, 0.0 if dynamic else b)
            if sse / (len(x) - SKIP) < best * (1.0 - 1e-9) - tie:
                kind, alpha, theta, level0, best = name, al, th, lv, sse / (len(x) - SKIP)
        mse = best if np.isfinite(best) else 0.0
    dynamic = kind.startswith("D")
    init = np.array([level0, 0.0, 0.0 if dynamic else a, 0.0 if dynamic else b])
    return kind, alpha, theta, init, mse, (m, seasonal, additive)


# ---------------------------------------------------------------- using a model

def _run(model, x, start, origins, horizon):
    """Filter deseasonalised ``x`` from ``start`` (``model.init`` when None, else
    ``model.state`` after ``model.n``): the state and forecasts (rows, horizon)."""
    from lstmcast.model.theta_kernels import _filter

    alpha, theta = model.params[0], model.params[1]
    st = (model.init if start is None else model.state).copy()
    out = np.zeros((len(origins), horizon))
    _filter(x, model.kind.startswith("D"), alpha, 1.0 - 1.0 / theta, st,
            0 if start is None else model.n, len(x), origins, horizon, out, np.zeros(7))
    return st, out


def _whole(horizon, what="horizon") -> int:
    if isinstance(horizon, (bool, np.bool_)) or int(horizon) != horizon or horizon < 0:
        raise ValueError(f"{what} must be a whole number of steps, 0 or more, not {horizon!r}")
    return int(horizon)


def forecast(model: ThetaModel, horizon: int) -> np.ndarray:
    """``(horizon,)`` point forecasts from ``model.state``, reseasonalised. The kernel's
    forecast loop in plain Python (:func:`_step`, which the kernel compiles): a forecast from a
    stored model neither imports Numba nor compiles, so a cold cache does not delay ``lstmcast forecast``
    (tests/cli/test_concurrency.py); ``forecasts_from`` at the last origin is the same."""
    horizon = _whole(horizon)
    alpha, theta = float(model.params[0]), float(model.params[1])
    c, q = 1.0 - 1.0 / theta, 1.0 - alpha
    level, mean, a, b = (float(v) for v in model.state)
    dynamic, t, fq = model.kind.startswith("D"), model.n, q ** model.n
    out = np.empty((1, horizon))
    for j in range(horizon):
        mu = level + c * (a * fq + b * (1.0 - fq * q) / alpha)
        out[0, j] = mu
        level, mean, a, b = _step(level, mean, a, b, t + j, mu, alpha, dynamic)
        fq *= q
    return _reseason(out, model.seasonal, model.params[2] > 0, [model.n])[0]


def advance(model: ThetaModel, y_new: np.ndarray) -> ThetaModel:
    """The model after observing ``y_new`` too (parameters and indices fixed)."""
    y_new = np.ascontiguousarray(y_new, dtype=np.float64).ravel()
    x = _deseason(y_new, model.seasonal, model.params[2] > 0, model.n)
    st, _ = _run(model, x, model.n, _NO_ORIGINS, 0)
    return replace(model, state=st, n=model.n + len(y_new))


def forecasts_from(model: ThetaModel, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``(len(origins), horizon)``: the forecasts made after observing ``y[:o]`` for each
    origin ``o`` (1 <= o <= len(y)), running from ``model.init`` over ``y`` (the series
    the model was fitted on, or a longer one with the same start). One pass."""
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    horizon = _whole(horizon)
    origins = np.asarray(origins)
    if origins.ndim != 1 or (len(origins) and not np.issubdtype(origins.dtype, np.integer)):
        raise ValueError(f"origins must be a 1-D array of whole numbers, not {origins.dtype} {origins.shape}")
    origins = origins.astype(np.int64)
    if len(origins) and (origins.min() < 1 or origins.max() > len(y)):
        raise ValueError(f"origins must lie in 1..{len(y)} (the length of y), not "
                         f"{origins.min()}..{origins.max()}")
    order = np.argsort(origins, kind="stable")
    x = _deseason(y, model.seasonal, model.params[2] > 0, 0)
    _, out = _run(model, x, None, origins[order], horizon)
    f = np.empty_like(out)
    f[order] = out
    return _reseason(f, model.seasonal, model.params[2] > 0, origins)


# ---------------------------------------------------------------- arrays

def to_arrays(model: ThetaModel) -> dict[str, np.ndarray]:
    """The model as named arrays (no pickle); ``kind`` as its index in :data:`KINDS`."""
    return {"kind": np.array(KINDS.index(model.kind), np.int64),
            "season": np.array(model.season, np.int64),
            "seasonal": np.asarray(model.seasonal, np.float64).copy(),
            "params": np.asarray(model.params, np.float64).copy(),
            "init": np.asarray(model.init, np.float64).copy(),
            "state": np.asarray(model.state, np.float64).copy(),
            "mse": np.array(model.mse, np.float64),
            "n": np.array(model.n, np.int64)}


def from_arrays(arrays) -> ThetaModel:
    """The model from :func:`to_arrays`'s arrays, validated: ValueError says what is wrong."""
    names = ("kind", "season", "seasonal", "params", "init", "state", "mse", "n")
    missing = [k for k in names if k not in arrays]
    if missing:
        raise ValueError(f"theta model arrays: missing {', '.join(missing)}")
    a = {k: np.asarray(arrays[k]) for k in names}
    for k in names:
        if a[k].dtype.kind not in "iuf":
            raise ValueError(f"theta model arrays: {k} must be numeric, not {a[k].dtype}")
        if not np.isfinite(a[k]).all():
            raise ValueError(f"theta model arrays: {k} holds NaN or infinity")
    for k in ("kind", "season", "mse", "n"):
        if a[k].shape != ():
            raise ValueError(f"theta model arrays: {k} must be a scalar, not shape {a[k].shape}")
    for k in ("kind", "season", "n"):
        if a[k] != np.round(a[k]):
            raise ValueError(f"theta model arrays: {k} must be a whole number, not {a[k]}")
    kind, season, n = int(a["kind"]), int(a["season"]), int(a["n"])
    if not 0 <= kind < len(KINDS):
        raise ValueError(f"theta model arrays: kind {kind} is not one of 0..{len(KINDS) - 1} ({', '.join(KINDS)})")
    if season < 1 or n < 0:
        raise ValueError(f"theta model arrays: season must be 1 or more and n 0 or more, not {season} and {n}")
    shapes = {"seasonal": (season,), "params": (3,), "init": (4,), "state": (4,)}
    for k, shape in shapes.items():
        if a[k].shape != shape:
            raise ValueError(f"theta model arrays: {k} must have shape {shape}, not {a[k].shape}")
    alpha, theta, additive = a["params"]
    if not (0 < alpha <= 1 and theta >= 1 and additive in (0.0, 1.0)):
        raise ValueError(f"theta model arrays: params [alpha, theta, additive] = {a['params'].tolist()} "
                         "need 0 < alpha <= 1, theta >= 1 and additive 0 or 1")
    if additive == 0 and not (a["seasonal"] > 0).all():
        raise ValueError("theta model arrays: multiplicative seasonal indices must be positive")
    if a["mse"] < 0:
        raise ValueError(f"theta model arrays: mse must be 0 or more, not {float(a['mse'])}")
    f = {k: a[k].astype(np.float64) for k in shapes}
    return ThetaModel(kind=KINDS[kind], season=season, seasonal=f["seasonal"], params=f["params"],
                      init=f["init"], state=f["state"], mse=float(a["mse"]), n=n)
