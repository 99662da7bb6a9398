"""Per-series exponential smoothing for the ES-LSTM hybrid (Smyl's ES-RNN), with exact
gradients: levels, multiplicative seasonal indices, the network's normalised windows,
the level wiggle penalty, and reverse mode through all of them.

This module owns the smoothing layer and nothing else: numpy and numba only, arrays in,
arrays out. Training (a later step) asks it for windows, hands their gradients back, and
adds the parameter gradients to the optimiser's.

Parameters
----------
One dict of named arrays, one row per series (``PARAM_NAMES``)::

    alpha_logit      (S,)    alpha = sigmoid(alpha_logit), the level's smoothing
    gamma_logit      (S,)    gamma = sigmoid(gamma_logit), the seasons' smoothing
    season_init_log  (S, m)  log of the initial seasonal indices s_0 .. s_{m-1}

``m = season_init_log.shape[1]`` is the season length; m = 0 or 1 means no season: every
seasonal index is 1, gamma and season_init_log are unused and get zero gradients.

Data
----
``y`` (S, T) holds positive values, each series from column 0: series i is
``y[i, :lengths[i]]`` (right padding; the padding is never read, NaN is fine). Time t is
the column index.

Recurrences (ES-RNN's)
----------------------
::

    s_j = exp(season_init_log[j])                         j < m
    l_0 = y_0 / s_0,   s_m = s_0
    l_t     = alpha * y_t / s_t + (1 - alpha) * l_{t-1}   1 <= t < n
    s_{t+m} = gamma * y_t / l_t + (1 - gamma) * s_t       1 <= t < n
    s_j     = s_{j-m}                                     j >= n + m

(ES-RNN's s_m = s_0 is the season update at t = 0 written out: gamma * y_0 / l_0 +
(1 - gamma) * s_0 = s_0 whatever gamma is.) So the indices known at time t reach
s_{t+m}, and those after the data continue periodically from the last m computed.
:func:`forward` returns a :class:`Smoothed`: levels (S, T), NaN past each length, and
seasonal indices (S, T + horizon).

Windows
-------
A window is (series i, end t): its inputs are steps t-L+1 .. t, its targets t+1 .. t+H,
both divided by the level l_t and their seasonal index and logged::

    x[k] = log(y_{t-L+1+k} / (l_t * s_{t-L+1+k}))       k < L
    z[h] = log(y_{t+1+h}   / (l_t * s_{p(t, h)}))       h < H
    p(t, h) = t + 1 + (h mod m)        (t + 1 + h without a season)

p(t, h) is the last index of that position known at time t, so a target's scale uses no
value after the window's end (ES-RNN used s_{t+1+h}, which for h >= m has seen targets).
Targets past a series' end are NaN (a forecast's window has only NaN targets), and their
gradients are ignored. A forecast f (W, H) made in that space is ``exp(f) * l_t *
s_{p(t, h)}`` (:func:`denormalise`).

Penalty
-------
``coefficient * mean((d_t - d_{t-1})^2)`` with d_t = log l_t - log l_{t-1}, the mean
taken over every (series, t) with 2 <= t < n pooled (ES-RNN's mean over the batch's
matrix when lengths are equal); 0 when no series has three steps.

Gradients
---------
:func:`backward` takes upstream gradients on levels and seasonal indices and returns
the parameters' gradients, by reverse mode through the recurrences (one jitted sweep
per series). :func:`windows_backward` and :func:`penalty_backward` give the upstream
gradients that the windows and the penalty send to levels and seasonal indices;
:func:`windows_grad` chains the three.

Numerics: everything is computed in y's dtype (float32 or float64; parameters are cast
to it). Two jitted kernels, the forward and the reverse sweep; the windows and the
penalty are vectorised numpy. The kernels are self-contained (no jitted callee from
another file), so Numba's per-file cache invalidation stays correct here as in
:mod:`lstmcast.nn.kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lstmcast.nn import jitcache

jitcache.configure()  # before Numba loads: where compiled code is cached

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

PARAM_NAMES = ("alpha_logit", "gamma_logit", "season_init_log")
DTYPES = (np.float32, np.float64)

_JIT = dict(cache=True, error_model="numpy", nogil=True, no_cfunc_wrapper=True)


# --------------------------------------------------------------------------- kernels


@njit(**_JIT)
def _forward(y, lengths, alpha, gamma, season0, seasonal, levels, seasons, buf):
    """The recurrences for every series: levels (S, T) and seasons (S, W) out; buf is a
    scratch row of at least W + m."""
    S, T = y.shape
    W = seasons.shape[1]
    m = season0.shape[1]
    dt = y.dtype.type
    one = dt(1.0)
    for i in range(S):
        n = lengths[i]
        a = alpha[i]
        g = gamma[i]
        if not seasonal:
            lev = y[i, 0]
            levels[i, 0] = lev
            for t in range(1, n):
                lev = a * y[i, t] + (one - a) * lev
                levels[i, t] = lev
            for j in range(W):
                seasons[i, j] = one
        else:
            for j in range(m):
                buf[j] = season0[i, j]
            lev = y[i, 0] / buf[0]
            levels[i, 0] = lev
            buf[m] = buf[0]
            for t in range(1, n):
                st = buf[t]
                yt = y[i, t]
                lev = a * yt / st + (one - a) * lev
                levels[i, t] = lev
                buf[t + m] = g * yt / lev + (one - g) * st
            for j in range(n + m, W):
                buf[j] = buf[j - m]
            for j in range(W):
                seasons[i, j] = buf[j]
        for t in range(n, T):
            levels[i, t] = dt(np.nan)


@njit(**_JIT)
def _backward(y, lengths, alpha, gamma, levels, seasons, m, seasonal, dlevels, dseasons,
              dalpha, dgamma, dseason0, lbar, sbar):
    """Reverse mode through :func:`_forward`: d/d alpha, d/d gamma and d/d s_j (j < m)
    from upstream gradients on levels (S, T) and seasons (S, W). lbar and sbar are
    scratch rows of at least T and W + m."""
    S = y.shape[0]
    W = seasons.shape[1]
    dt = y.dtype.type
    one = dt(1.0)
    zero = dt(0.0)
    for i in range(S):
        n = lengths[i]
        a = alpha[i]
        g = gamma[i]
        for t in range(n):
            lbar[t] = dlevels[i, t]
        abar = zero
        gbar = zero
        if not seasonal:
            for t in range(n - 1, 0, -1):
                lb = lbar[t]
                abar += lb * (y[i, t] - levels[i, t - 1])
                lbar[t - 1] += lb * (one - a)
            dalpha[i] = abar
            dgamma[i] = zero
            continue
        for j in range(W):
            sbar[j] = dseasons[i, j]
        for j in range(W, W + m):
            sbar[j] = zero
        for j in range(W - 1, n + m - 1, -1):  # the periodic continuation
            sbar[j - m] += sbar[j]
        for t in range(n - 1, 0, -1):
            yt = y[i, t]
            lt = levels[i, t]
            st = seasons[i, t]
            sb = sbar[t + m]  # s_{t+m} = g y_t / l_t + (1 - g) s_t
            gbar += sb * (yt / lt - st)
            lbar[t] -= sb * g * yt / (lt * lt)
            sbar[t] += sb * (one - g)
            lb = lbar[t]  # l_t = a y_t / s_t + (1 - a) l_{t-1}
            abar += lb * (yt / st - levels[i, t - 1])
            sbar[t] -= lb * a * yt / (st * st)
            lbar[t - 1] += lb * (one - a)
        sbar[0] += sbar[m]  # s_m = s_0
        sbar[0] -= lbar[0] * levels[i, 0] / seasons[i, 0]  # l_0 = y_0 / s_0
        dalpha[i] = abar
        dgamma[i] = gbar
        for j in range(m):
            dseason0[i, j] = sbar[j]


# --------------------------------------------------------------------------- the layer


@dataclass(frozen=True)
class Smoothed:
    """The smoothing's result for a batch of series and what its gradients need.

    ``levels`` (S, T), NaN from each series' length on; ``seasons`` (S, T + horizon), all
    ones without a season; ``alpha`` and ``gamma`` (S,) the smoothing coefficients;
    ``y`` and ``lengths`` the data it was computed from (in the working dtype)."""

    y: np.ndarray
    lengths: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    levels: np.ndarray
    seasons: np.ndarray
    season_length: int  # 0: no season
    horizon: int

    @property
    def dtype(self) -> type:
        return self.y.dtype.type


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow, in x's dtype."""
    half = x.dtype.type(0.5)
    return half + half * np.tanh(half * x)


def logit(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def season_length(params: dict[str, np.ndarray]) -> int:
    """m of ``params`` (0 when there is no season: m = 0 or 1)."""
    m = int(np.shape(params["season_init_log"])[1])
    return m if m >= 2 else 0


def _check_y(y: np.ndarray, lengths) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] < 1:
        raise ValueError(f"y must be (series, time) with time >= 1, got shape {y.shape}")
    if y.dtype.type not in DTYPES:
        if np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.integer):
            y = y.astype(np.float64)
        else:
            raise ValueError(f"y must hold numbers, got dtype {y.dtype}")
    y = np.ascontiguousarray(y)
    S, T = y.shape
    if lengths is None:
        lengths = np.full(S, T, dtype=np.int64)
    else:
        lengths = np.asarray(lengths)
        if lengths.shape != (S,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be {S} integers, got {lengths.dtype} {lengths.shape}")
        lengths = lengths.astype(np.int64)
        if S and (lengths.min() < 1 or lengths.max() > T):
            raise ValueError(f"lengths must be in [1, {T}], got {lengths.min()} .. {lengths.max()}")
    valid = np.arange(T) < lengths[:, None]
    with np.errstate(invalid="ignore"):
        bad = valid & ~((y > 0) & np.isfinite(y))
    if bad.any():
        i, t = np.argwhere(bad)[0]
        raise ValueError(f"y must be positive and finite within each length: y[{i}, {t}] = {y[i, t]}")
    return y, lengths


def _check_params(params: dict[str, np.ndarray], S: int, dtype: type) -> tuple[np.ndarray, ...]:
    missing = set(PARAM_NAMES) - set(params)
    if missing:
        raise ValueError(f"params lack {', '.join(sorted(missing))}")
    a = np.asarray(params["alpha_logit"], dtype=dtype)
    g = np.asarray(params["gamma_logit"], dtype=dtype)
    c = np.asarray(params["season_init_log"], dtype=dtype)
    for name, arr, shape in (("alpha_logit", a, (S,)), ("gamma_logit", g, (S,))):
        if arr.shape != shape:
            raise ValueError(f"{name} must be {shape}, got {arr.shape}")
    if c.ndim != 2 or c.shape[0] != S:
        raise ValueError(f"season_init_log must be ({S}, m), got {c.shape}")
    if not (np.isfinite(a).all() and np.isfinite(g).all() and np.isfinite(c).all()):
        raise ValueError("params must be finite")
    return a, g, np.ascontiguousarray(c)


def init_params(y: np.ndarray, lengths=None, season_length: int = 0, alpha: float = 0.5,
                gamma: float = 0.5, dtype=np.float64) -> dict[str, np.ndarray]:
    """Starting parameters: alpha and gamma for every series, and initial seasonal indices
    from the data: the mean over the first (up to three) whole seasons of each position's
    ratio to its season's mean, normalised to a geometric mean of 1 (all ones for a
    series shorter than two seasons)."""
    y, lengths = _check_y(y, lengths)
    S = y.shape[0]
    m = int(season_length) if season_length >= 2 else 0
    if not (0 < alpha < 1 and 0 < gamma < 1):
        raise ValueError(f"alpha and gamma must be in (0, 1), got {alpha}, {gamma}")
    c = np.zeros((S, max(m, int(season_length))), dtype=np.float64)
    if m:
        for i in range(S):
            k = min(int(lengths[i]) // m, 3)
            if k < 2:
                continue
            cycles = y[i, :k * m].astype(np.float64).reshape(k, m)
            ratios = np.log(cycles / cycles.mean(axis=1, keepdims=True)).mean(axis=0)
            c[i] = ratios - ratios.mean()
    return {"alpha_logit": np.full(S, logit(alpha), dtype=dtype),
            "gamma_logit": np.full(S, logit(gamma), dtype=dtype),
            "season_init_log": c.astype(dtype)}


def forward(params: dict[str, np.ndarray], y: np.ndarray, lengths=None, horizon: int = 0) -> Smoothed:
    """Levels and seasonal indices of every series (see the module docstring); seasons
    reach ``horizon`` steps past the longest series."""
    y, lengths = _check_y(y, lengths)
    S, T = y.shape
    dt = y.dtype.type
    a, g, c = _check_params(params, S, dt)
    if int(horizon) != horizon or horizon < 0:
        raise ValueError(f"horizon must be a whole number >= 0, got {horizon}")
    horizon = int(horizon)
    m = season_length(params)
    alpha, gamma = sigmoid(a), sigmoid(g)
    season0 = np.exp(c) if m else np.ones((S, 0), dtype=dt)
    levels = np.empty((S, T), dtype=dt)
    seasons = np.empty((S, T + horizon), dtype=dt)
    buf = np.empty(T + horizon + m, dtype=dt)
    _forward(y, lengths, alpha, gamma, season0, m > 0, levels, seasons, buf)
    return Smoothed(y, lengths, alpha, gamma, levels, seasons, m, horizon)


def backward(params: dict[str, np.ndarray], sm: Smoothed, dlevels: np.ndarray | None = None,
             dseasons: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Gradients of the parameters from upstream gradients on ``sm.levels`` (S, T) and
    ``sm.seasons`` (S, T + horizon); entries past a series' length are ignored, None is
    zero. Returns a dict keyed like ``params``, in the working dtype."""
    S, T = sm.y.shape
    dt = sm.dtype
    W = sm.seasons.shape[1]
    m = sm.season_length
    dl = np.zeros((S, T), dtype=dt) if dlevels is None else np.ascontiguousarray(dlevels, dtype=dt)
    ds = np.zeros((S, W), dtype=dt) if dseasons is None else np.ascontiguousarray(dseasons, dtype=dt)
    if dl.shape != (S, T) or ds.shape != (S, W):
        raise ValueError(f"dlevels and dseasons must be {(S, T)} and {(S, W)}, got {dl.shape} and {ds.shape}")
    dalpha = np.empty(S, dtype=dt)
    dgamma = np.empty(S, dtype=dt)
    ds0 = np.zeros((S, m), dtype=dt)
    lbar = np.empty(T, dtype=dt)
    sbar = np.empty(W + m, dtype=dt)
    _backward(sm.y, sm.lengths, sm.alpha, sm.gamma, sm.levels, sm.seasons, m, m > 0, dl, ds,
              dalpha, dgamma, ds0, lbar, sbar)
    one = dt(1.0)
    c_shape = np.shape(params["season_init_log"])
    dc = np.zeros(c_shape, dtype=dt)
    if m:
        dc[:] = ds0 * np.exp(np.asarray(params["season_init_log"], dtype=dt))  # d s_j / d c_j = s_j
    return {"alpha_logit": dalpha * sm.alpha * (one - sm.alpha),
            "gamma_logit": dgamma * sm.gamma * (one - sm.gamma) if m else np.zeros(S, dtype=dt),
            "season_init_log": dc}


# --------------------------------------------------------------------------- windows


def _window_index(sm: Smoothed, series, ends, lookback: int, horizon: int):
    """Checked windows: series (W,), ends (W,), the input and target columns (W, L) and
    (W, H), the targets' seasonal columns, and which targets lie within the data."""
    series = np.asarray(series)
    ends = np.asarray(ends)
    if series.ndim != 1 or ends.shape != series.shape or not (
            np.issubdtype(series.dtype, np.integer) and np.issubdtype(ends.dtype, np.integer)):
        raise ValueError(f"series and ends must be integer arrays of one shape, got {series.shape} and {ends.shape}")
    if lookback < 1 or horizon < 0:
        raise ValueError(f"lookback must be >= 1 and horizon >= 0, got {lookback} and {horizon}")
    if horizon > sm.horizon:
        raise ValueError(f"horizon {horizon} exceeds the {sm.horizon} steps of seasonal indices "
                         f"forward() was asked for")
    S = sm.y.shape[0]
    series = series.astype(np.int64)
    ends = ends.astype(np.int64)
    if series.size:
        if series.min() < 0 or series.max() >= S:
            raise ValueError(f"series must be in [0, {S}), got {series.min()} .. {series.max()}")
        n = sm.lengths[series]
        bad = (ends < lookback - 1) | (ends >= n)
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"window {k} (series {series[k]}, end {ends[k]}) needs ends in "
                             f"[{lookback - 1}, {n[k] - 1}] for lookback {lookback}")
    cin = ends[:, None] + np.arange(1 - lookback, 1)
    h = np.arange(horizon)
    cout = ends[:, None] + 1 + h
    m = sm.season_length
    cseason = ends[:, None] + 1 + (h % m if m else h)
    within = cout < sm.lengths[series][:, None]
    return series, ends, cin, cout, cseason, within


def windows(sm: Smoothed, series, ends, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The network's normalised inputs (W, lookback) and targets (W, horizon) for windows
    ending at ``ends`` (W,) of ``series`` (W,); targets past a series' end are NaN."""
    series, ends, cin, cout, cseason, within = _window_index(sm, series, ends, lookback, horizon)
    r = series[:, None]
    loglev = np.log(sm.levels[series, ends])[:, None]
    x = np.log(sm.y[r, cin]) - np.log(sm.seasons[r, cin]) - loglev
    ty = sm.y[r, np.where(within, cout, ends[:, None])]  # only known values are read
    z = np.log(ty) - np.log(sm.seasons[r, cseason]) - loglev
    z[~within] = np.nan
    return x, z


def windows_backward(sm: Smoothed, series, ends, lookback: int, horizon: int, dx: np.ndarray,
                     dz: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Upstream gradients on levels (S, T) and seasons (S, T + horizon) from gradients
    on the windows' inputs dx (W, lookback) and targets dz (W, horizon); dz past a
    series' end (NaN targets) is ignored."""
    series, ends, cin, cout, cseason, within = _window_index(sm, series, ends, lookback, horizon)
    dt = sm.dtype
    S, T = sm.y.shape
    Wd = sm.seasons.shape[1]
    dx = np.asarray(dx, dtype=dt)
    dz = np.zeros((len(series), horizon), dtype=dt) if dz is None else np.asarray(dz, dtype=dt)
    if dx.shape != cin.shape or dz.shape != cout.shape:
        raise ValueError(f"dx and dz must be {cin.shape} and {cout.shape}, got {dx.shape} and {dz.shape}")
    dz = np.where(within, dz, dt(0.0))
    r = series[:, None]
    # d x / d log l_t = -1 for every input and target of the window
    dloglev = -(dx.sum(axis=1) + dz.sum(axis=1))
    dlevels = np.bincount(series * T + ends, weights=dloglev / sm.levels[series, ends],
                          minlength=S * T).reshape(S, T).astype(dt)
    dseasons = np.zeros((S, Wd), dtype=dt)
    if sm.season_length:
        flat = np.concatenate([(r * Wd + cin).ravel(), (r * Wd + cseason).ravel()])
        w = np.concatenate([(-dx / sm.seasons[r, cin]).ravel(), (-dz / sm.seasons[r, cseason]).ravel()])
        dseasons += np.bincount(flat, weights=w, minlength=S * Wd).reshape(S, Wd).astype(dt)
    return dlevels, dseasons


def denormalise(sm: Smoothed, f: np.ndarray, series, ends) -> np.ndarray:
    """Forecasts back in the data's units: exp(f) * l_t * s_{p(t, h)}, f (W, H) made for
    the windows ending at ``ends`` of ``series``."""
    f = np.asarray(f)
    if f.ndim != 2:
        raise ValueError(f"f must be (windows, horizon), got {f.shape}")
    series, ends, _, _, cseason, _ = _window_index(sm, series, ends, 1, f.shape[1])
    return np.exp(f) * sm.levels[series, ends][:, None] * sm.seasons[series[:, None], cseason]


# --------------------------------------------------------------------------- penalty


def _level_diffs(sm: Smoothed):
    """e_t = d_t - d_{t-1} (S, T-2) with d_t = log l_t - log l_{t-1}, and which exist."""
    T = sm.y.shape[1]
    valid = np.arange(T) < sm.lengths[:, None]
    u = np.log(np.where(valid, sm.levels, sm.dtype(1.0)))
    d = np.diff(u, axis=1)
    e = np.diff(d, axis=1)
    mask = (np.arange(2, T) < sm.lengths[:, None])
    return np.where(mask, e, sm.dtype(0.0)), int(mask.sum())


def penalty(sm: Smoothed, coefficient: float) -> float:
    """``coefficient`` times the mean squared change of the log level's step (the module
    docstring); 0 when no series has three steps."""
    e, count = _level_diffs(sm)
    if count == 0:
        return 0.0
    return float(coefficient) * float(np.sum(e.astype(np.float64) ** 2)) / count


def penalty_backward(sm: Smoothed, coefficient: float) -> np.ndarray:
    """d penalty / d levels (S, T)."""
    S, T = sm.y.shape
    dt = sm.dtype
    e, count = _level_diffs(sm)
    du = np.zeros((S, T), dtype=dt)
    if count == 0 or coefficient == 0:
        return du
    ebar = dt(2.0 * coefficient / count) * e  # (S, T-2): e_t for t = 2..T-1
    dbar = np.zeros((S, T - 1), dtype=dt)  # d_t for t = 1..T-1
    dbar[:, 1:] += ebar
    dbar[:, :-1] -= ebar
    du[:, 1:] += dbar
    du[:, :-1] -= dbar
    valid = np.arange(T) < sm.lengths[:, None]
    return np.where(valid, du / np.where(valid, sm.levels, dt(1.0)), dt(0.0)).astype(dt)


# --------------------------------------------------------------------------- end to end


def windows_grad(params: dict[str, np.ndarray], sm: Smoothed, series, ends, lookback: int, horizon: int,
                 dx: np.ndarray, dz: np.ndarray | None = None, penalty_coefficient: float = 0.0
                 ) -> dict[str, np.ndarray]:
    """Gradients of the parameters for a loss whose gradients on the windows' inputs and
    targets are dx (W, lookback) and dz (W, horizon), plus ``penalty_coefficient`` times
    the level penalty (:func:`penalty` gives its value)."""
    dl, ds = windows_backward(sm, series, ends, lookback, horizon, dx, dz)
    if penalty_coefficient:
        dl += penalty_backward(sm, penalty_coefficient)
    return backward(params, sm, dl, ds)
