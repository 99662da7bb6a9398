"""Exponential smoothing (ETS) with automatic model selection: a statistical member.

Owns the innovations state-space models of Hyndman, Koehler, Ord & Snyder, *Forecasting
with exponential smoothing* (2008): additive or multiplicative error, no / additive /
damped additive trend, no / additive / multiplicative season, their estimation by
maximum likelihood, selection by AICc, and filtering and forecasting with fixed
parameters. Pure functions over 1-D float64 arrays; numpy and Numba only.

* :func:`fit` tries every admissible kind (the 15 of R's ``ets`` / statsforecast's
  ``AutoETS`` without multiplicative trend; the 6 additive ones unless the series is
  strictly positive; seasonal ones only when ``1 < season <= 24`` and the series has
  ``2 * season + 2`` points), each by Nelder-Mead over the smoothing parameters and the
  initial state, and keeps the lowest AICc.
* :func:`forecast`, :func:`advance`, :func:`forecasts_from`: point forecasts from the
  state, filtering further observations, forecasts from many origins in one pass.
* :func:`to_arrays` / :func:`from_arrays`: the model as named arrays for the model file.

Conventions. The state layout is fixed, ``[level, trend, s_1 .. s_m]`` (``m = season``,
1 when non-seasonal): ``s_j`` is the seasonal term of the j-th step ahead (0, or 1 for
a multiplicative season, where unused; trend 0 where unused). ``params`` are
``alpha, beta, gamma, phi`` in the book's error-correction form (beta 0, gamma 0, phi 1
where unused). The usual region is enforced during estimation, ``1e-4 <= alpha <=
0.9999``, ``beta <= alpha``, ``gamma <= 1 - alpha``, ``0.8 <= phi <= 0.98``
(parametrised as ``beta = alpha * u``, ``gamma = (1 - alpha) * v`` with ``u, v`` in a
box, so the simplex never leaves it); the seasonal admissibility test on the roots of
the characteristic polynomial is not applied (statsforecast's optimiser does not apply
it either). Point forecasts are the book's (for a multiplicative season beyond one
season ahead they approximate the conditional mean, as in R and statsforecast).

Estimation works on ``y / scale`` (``scale`` the mean absolute value): every kind is
scale-equivariant, so the choice is unchanged and values of 1e12 or 1e-12 cost nothing
in accuracy. ``aicc`` is the Gaussian ``-2 log L + 2k + 2k(k+1)/(n-k-1)`` with the
constants kept (R and statsforecast drop ``n log(2 pi / n) + n``); ``k`` counts the
free smoothing parameters, the free initial states (``m - 1`` seasonal terms: they are
normalised) and the variance. A constant series gets ANN with alpha 0.9999 (as in
statsforecast); a series too short for any kind (fewer than ``free parameters + 4``
points: 5 points or fewer) gets ANN from its first value with the alpha of a small grid
that minimises the one-step squared errors, and ``aicc = inf``.

Numba: two kernels in :mod:`lstmcast.model.ets_kernels`, ``_filter`` (every kind, flags
from the kind's code; the seasonal terms in a ring buffer, so a step is O(1) whatever the
season) and ``_minimise`` (Nelder-Mead around it), imported only to fit, advance or
filter: a forecast from a stored model is numpy alone and never loads Numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KINDS = ("ANN", "AAN", "AAdN", "ANA", "AAA", "AAdA", "ANM", "AAM", "AAdM",
         "MNN", "MAN", "MAdN", "MNA", "MAA", "MAdA", "MNM", "MAM", "MAdM")
"""Every kind by its code (the model file stores the index): error * 9 + season * 3 + trend."""
AUTO = tuple(k for k in KINDS if not (k[0] == "A" and k[-1] == "M"))  # R's restrict=TRUE
MAX_SEASON = 24
ALPHA_MIN, ALPHA_MAX, PHI_MIN, PHI_MAX = 1e-4, 0.9999, 0.8, 0.98


@dataclass(frozen=True)
class EtsModel:
    kind: str            # "ANN", "AAdN", "MAM", ... (error, trend with "d" when damped, season)
    season: int          # season length used (1 when non-seasonal)
    params: np.ndarray   # (4,) alpha, beta, gamma, phi
    init: np.ndarray     # (2 + season,) state before the first observation
    state: np.ndarray    # (2 + season,) state after the last observation seen
    sigma2: float        # variance of the one-step errors (relative errors for M error)
    aicc: float
    n: int               # observations seen (fit + advance)


def _flags(kind: str) -> tuple[int, int, int]:
    """(error, trend, season) of a kind: error 0 A / 1 M, trend 0 N / 1 A / 2 Ad,
    season 0 N / 1 A / 2 M."""
    code = KINDS.index(kind)
    return code // 9, code % 3, (code // 3) % 3


# ---------------------------------------------------------------- estimation

def _start(z: np.ndarray, trend: int, seas: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Heuristic initial states (the book's section 2.6.1: a classical decomposition
    for the seasonal terms, a line through the first ``max(10, 2m)`` seasonally adjusted
    points) and first simplex steps for them, as the state-part of the free vector."""
    n = len(z)
    idx = np.zeros(max(m, 1)) if seas != 2 else np.ones(m)
    adjusted = z
    if seas:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
        ma = np.convolve(z, w, mode="valid")          # centred moving average
        off = (len(w) - 1) // 2
        part = z[off:off + len(ma)]
        detrended = part - ma if seas == 1 else part / ma
        pos = (np.arange(len(ma)) + off) % m
        idx = np.bincount(pos, detrended, m) / np.maximum(np.bincount(pos, minlength=m), 1)
        if seas == 1:
            idx = idx - idx.mean()
        else:
            idx = np.clip(idx / idx.mean(), 1e-2, None)
            idx = idx * m / idx.sum()
        season_of = idx[np.arange(n) % m]
        adjusted = z - season_of if seas == 1 else z / season_of
    k = min(max(10, 2 * m), n)
    first = adjusted[:k]
    sd = float(np.std(z)) or 1.0
    if trend:
        t = np.arange(1.0, k + 1)
        b0 = float(np.sum((t - t.mean()) * (first - first.mean())) / np.sum((t - t.mean()) ** 2))
        states = [first.mean() - b0 * t.mean(), b0]
        steps = [0.1 * sd, 0.1 * (float(np.std(np.diff(z))) or sd)]
    else:
        states, steps = [first.mean()], [0.1 * sd]
    if seas:
        states += list(idx[:m - 1])
        steps += [0.05 if seas == 2 else 0.1 * (float(np.std(idx)) or sd)] * (m - 1)
    return np.asarray(states, np.float64), np.asarray(steps, np.float64)


def _n_free(trend: int, seas: int, m: int) -> int:
    """Free parameters of a kind, the variance excluded."""
    return 2 + 2 * (trend > 0) + (trend == 2) + (1 + (m - 1)) * (seas > 0)


def _fit_kind(z: np.ndarray, code: int, m: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum likelihood of one kind on the scaled series: (params, init, value)."""
    _, trend, seas = code // 9, code % 3, (code // 3) % 3
    alpha = 0.2 / (m if seas else 1)
    smooth, lo, hi = [alpha], [ALPHA_MIN], [ALPHA_MAX]
    if trend:
        smooth, lo, hi = smooth + [0.1], lo + [ALPHA_MIN], hi + [ALPHA_MAX]
    if seas:
        smooth, lo, hi = smooth + [0.05], lo + [ALPHA_MIN], hi + [ALPHA_MAX]
    if trend == 2:
        smooth, lo, hi = smooth + [0.97], lo + [PHI_MIN], hi + [PHI_MAX]
    states, steps = _start(z, trend, seas, m)
    x = np.r_[smooth, states]
    lo = np.r_[lo, np.full(len(states), -np.inf)]
    hi = np.r_[hi, np.full(len(states), np.inf)]
    step = np.r_[np.full(len(smooth), 0.1), steps]
    # first the smoothing parameters, level and trend with the seasonal terms held at the
    # decomposition's, then everything from there: on a year of hourly rows (season 24)
    # 1.2 s for ANA, AAdA, MAM and MAdM instead of 5.8 s by one 26-29-dimensional search
    # from the start, to the same likelihood within 1.5; the second search's budget
    # shrinks with the length of the series
    d1 = len(smooth) + 1 + (trend > 0)
    from lstmcast.model.ets_kernels import _minimise, _unpack

    best, value, _ = _minimise(z, code, m, x, lo, hi, step, d1, 400 * d1 + 1000, 1e-8)
    if seas:
        budget = min(400 * len(x) + 1000, max(50 * len(x), int(2e7 / len(z))))
        best, value, _ = _minimise(z, code, m, best, lo, hi, 0.5 * step, len(x), budget, 1e-8)
    params, init = np.empty(4), np.empty(2 + m)
    _unpack(best, code, m, params, init)
    return params, init, value


def _run(y, code, m, params, x0, origins=None):
    """``_filter`` with fresh buffers: (sse, slog, ok, final state, states at origins)."""
    from lstmcast.model.ets_kernels import _filter

    origins = np.empty(0, np.int64) if origins is None else origins
    states, final = np.empty((len(origins), 2 + m)), np.empty(2 + m)
    sse, slog, ok = _filter(y, code, m, params, x0, origins, states, final)
    return sse, slog, ok, final, states


def _check(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0 or not np.isfinite(y).all():
        raise ValueError(f"y must be a non-empty 1-D array of finite numbers (shape {y.shape})")
    return y


def _candidates(z: np.ndarray, season: int, kinds) -> tuple[list[str], int]:
    m = season if 1 < season <= MAX_SEASON and len(z) >= 2 * season + 2 else 1
    positive = bool(z.min() > 0)
    out = []
    for kind in AUTO if kinds is None else kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown ETS kind {kind!r} (one of {', '.join(KINDS)})")
        error, trend, seas = _flags(kind)
        if (seas and m == 1) or ((error or seas == 2) and not positive):
            continue
        if len(z) < _n_free(trend, seas, m) + 4:
            continue
        out.append(kind)
    return out, m


def fit(y: np.ndarray, season: int, *, kinds: tuple[str, ...] | None = None) -> EtsModel:
    """The kind of lowest AICc among ``kinds`` (default: the 15 automatic ones), each
    fitted by maximum likelihood; see the module docstring for what is admissible and
    for constant and very short series (also the answer when none of ``kinds`` is
    admissible for ``y``, e.g. only multiplicative kinds for a series with zeros).
    ``y``: 1-D, finite."""
    y = _check(y)
    if isinstance(season, (bool, np.bool_)) or int(season) != season or season < 1:
        raise ValueError(f"season must be a whole number of steps, 1 or more, not {season!r}")
    n = len(y)
    with np.errstate(all="ignore"):
        if np.all(y == y[0]):
            return _fixed_ann(y, ALPHA_MAX, y[0], k=2)
        scale = float(np.mean(np.abs(y / np.max(np.abs(y))))) * float(np.max(np.abs(y)))
        z = y / scale
        names, m = _candidates(z, int(season), kinds)
        best = None
        for kind in names:
            code = KINDS.index(kind)
            mk = m if _flags(kind)[2] else 1
            params, init, value = _fit_kind(z, code, mk)
            k = _n_free(code % 3, (code // 3) % 3, mk) + 1
            neg2ll = value + n * (math.log(2 * math.pi) + 1) + 2 * n * math.log(scale)
            aicc = neg2ll + 2 * k + 2 * k * (k + 1) / (n - k - 1)
            if math.isfinite(aicc) and (best is None or aicc < best[0]):
                best = (aicc, kind, mk, params, init, k)
        if best is None:
            return _tiny(y)
        aicc, kind, m, params, init, k = best
        seas = _flags(kind)[2]
        init = init.copy()
        init[:2] *= scale
        if seas == 1:
            init[2:] *= scale
        elif seas == 0:
            init[2:] = 0.0
        sse, _, _, state, _ = _run(y, KINDS.index(kind), m, params, init)
        sigma2 = sse / max(n - k, 1)
        return EtsModel(kind, m, params, init, state, float(sigma2), float(aicc), n)


def _fixed_ann(y, alpha, level, k, aicc=None) -> EtsModel:
    params, init = np.array([alpha, 0.0, 0.0, 1.0]), np.array([level, 0.0, 0.0])
    sse, _, _, state, _ = _run(y, 0, 1, params, init)
    n = len(y)
    if aicc is None:
        sse_f = max(sse, n * (1e-12 * max(abs(level), 1e-300)) ** 2)
        aicc = n * (math.log(2 * math.pi * sse_f / n) + 1) + 2 * k + 2 * k * (k + 1) / max(n - k - 1, 1)
    return EtsModel("ANN", 1, params, init, state, float(sse / max(n - k, 1)), float(aicc), n)


def _tiny(y: np.ndarray) -> EtsModel:
    """ANN from the first value, alpha from a grid by the one-step squared errors."""
    grid = np.linspace(0.1, ALPHA_MAX, 10)
    sse = [_run(y, 0, 1, np.array([a, 0.0, 0.0, 1.0]), np.array([y[0], 0.0, 0.0]))[0] for a in grid]
    alpha = float(grid[int(np.argmin(sse))]) if len(y) > 2 else ALPHA_MAX
    return _fixed_ann(y, alpha, y[0], k=1, aicc=math.inf)


# ---------------------------------------------------------------- using a model

def _project(states: np.ndarray, kind: str, m: int, phi: float, horizon: int) -> np.ndarray:
    """Point forecasts (rows, horizon) from states (rows, 2 + m)."""
    _, trend, seas = _flags(kind)
    h = np.arange(1, horizon + 1)
    if trend == 2:
        damp = np.cumsum(phi ** h.astype(np.float64))
    else:
        damp = h.astype(np.float64) if trend else np.zeros(horizon)
    with np.errstate(all="ignore"):
        out = states[:, :1] + damp[None, :] * states[:, 1:2]
        s = states[:, 2 + (h - 1) % m]
        return out + s if seas == 1 else out * s if seas == 2 else out


def forecast(model: EtsModel, horizon: int) -> np.ndarray:
    """Point forecasts for steps 1..horizon after the model's state."""
    return _project(model.state[None, :], model.kind, model.season, model.params[3], int(horizon))[0]


def advance(model: EtsModel, y_new: np.ndarray) -> EtsModel:
    """The model after filtering ``y_new`` with its parameters: new state and ``n``."""
    y_new = np.asarray(y_new, dtype=np.float64)
    if len(y_new) == 0:
        return model
    y_new = _check(y_new)
    *_, state, _ = _run(y_new, KINDS.index(model.kind), model.season, model.params, model.state)
    return EtsModel(model.kind, model.season, model.params, model.init, state, model.sigma2,
                    model.aicc, model.n + len(y_new))


def forecasts_from(model: EtsModel, y: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(len(origins), horizon): for each origin ``o`` (0..len(y)) the forecasts made after
    observing ``y[:o]``, filtering ``y`` from ``model.init`` once with fixed parameters."""
    y = _check(y)
    origins = np.asarray(origins).astype(np.int64).ravel()
    if len(origins) and (origins.min() < 0 or origins.max() > len(y)):
        raise ValueError(f"origins must lie in 0..{len(y)}")
    order = np.argsort(origins, kind="stable")
    *_, states = _run(y, KINDS.index(model.kind), model.season, model.params, model.init, origins[order])
    out = np.empty((len(origins), int(horizon)))
    out[order] = _project(states, model.kind, model.season, model.params[3], int(horizon))
    return out


def neg2loglik(model: EtsModel, y: np.ndarray) -> float:
    """``-2 log L`` (Gaussian, constants kept) of ``y`` filtered from ``model.init``."""
    y = _check(y)
    error = _flags(model.kind)[0]
    sse, slog, ok, _, _ = _run(y, KINDS.index(model.kind), model.season, model.params, model.init)
    n = len(y)
    with np.errstate(all="ignore"):
        return float(n * (math.log(2 * math.pi * max(sse, 1e-300) / n) + 1) + 2 * slog * error) if ok else math.inf


# ---------------------------------------------------------------- the model file

def to_arrays(model: EtsModel) -> dict[str, np.ndarray]:
    """The model as arrays: ``kind`` (uint8 code, an index of :data:`KINDS`), ``season``
    and ``n`` (int64), ``params``, ``init``, ``state``, ``scores`` (sigma2, aicc)."""
    return {"kind": np.array([KINDS.index(model.kind)], np.uint8),
            "season": np.array([model.season], np.int64), "n": np.array([model.n], np.int64),
            "params": np.asarray(model.params, np.float64).copy(),
            "init": np.asarray(model.init, np.float64).copy(),
            "state": np.asarray(model.state, np.float64).copy(),
            "scores": np.array([model.sigma2, model.aicc], np.float64)}


def from_arrays(arrays: dict) -> EtsModel:
    """:func:`to_arrays` read back and checked; ValueError says what is damaged."""
    try:
        code, season, n = (int(np.asarray(arrays[k]).reshape(-1)[0]) for k in ("kind", "season", "n"))
        params, init, state, scores = (np.asarray(arrays[k], np.float64)
                                       for k in ("params", "init", "state", "scores"))
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ValueError(f"incomplete ETS model arrays ({type(e).__name__}: {e})") from None
    if not 0 <= code < len(KINDS):
        raise ValueError(f"ETS kind code {code} is not one of 0..{len(KINDS) - 1}")
    kind = KINDS[code]
    seas = _flags(kind)[2]
    if season < 1 or season > 10_000 or (seas == 0 and season != 1) or (seas and season < 2):
        raise ValueError(f"ETS season {season} does not fit kind {kind}")
    if params.shape != (4,) or init.shape != (2 + season,) or state.shape != (2 + season,) \
            or scores.shape != (2,):
        raise ValueError(f"ETS arrays have the wrong shapes for season {season}: params {params.shape}, "
                         f"init {init.shape}, state {state.shape}, scores {scores.shape}")
    a, b, g, phi = params
    if not (np.isfinite(params).all() and 0 <= a <= 1 and 0 <= b <= 1 and 0 <= g <= 1 and 0 < phi <= 1):
        raise ValueError(f"ETS parameters out of range: {params.tolist()}")
    if not (np.isfinite(init).all() and np.isfinite(state).all() and n >= 0
            and np.isfinite(scores[0]) and scores[0] >= 0 and not np.isnan(scores[1])):
        raise ValueError("ETS state or scores are not finite (the file is damaged)")
    return EtsModel(kind, season, params, init, state, float(scores[0]), float(scores[1]), n)
