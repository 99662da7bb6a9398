"""The Numba kernels of :mod:`lstmcast.model.ets`: the recursions of every kind
(:func:`_filter`) and the Nelder-Mead search around them (:func:`_minimise`).

Kept apart so that a forecast from a stored model (numpy only, :func:`ets.forecast`)
never imports Numba: :mod:`lstmcast.model.ets` imports this module only to fit, advance
or filter. The state layout and the kinds' codes are described there.
"""

from __future__ import annotations

import math

from lstmcast.nn import jitcache

jitcache.configure()  # before Numba loads: where compiled code is cached

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

_JIT = {"cache": True, "error_model": "numpy", "nogil": True}
_INNER = dict(_JIT, no_cpython_wrapper=True, no_cfunc_wrapper=True)  # called from jitted code only


@njit(**_JIT)
def _filter(y, code, m, params, x0, origins, states, final):
    """Run the recursions over ``y`` from state ``x0`` (layout above); ``states[k]`` is
    the state after ``origins[k]`` observations (origins sorted), ``final`` the last.
    Returns ``(sum of squared errors, sum of log one-step forecasts, ok)``: the errors
    are relative for a multiplicative error. ``ok`` is False when a forecast or a
    divisor was not positive where a multiplicative part needs it (the step then
    leaves the state unchanged) or the state stopped being finite."""
    err, trend, seas = code // 9, code % 3, (code // 3) % 3
    alpha, beta, gamma = params[0], params[1], params[2]
    phi = params[3] if trend == 2 else 1.0
    level = x0[0]
    slope = x0[1] if trend > 0 else 0.0
    ring = x0[2:2 + m].copy()            # ring[t % m]: the seasonal term of time t
    sse, slog, prod, ok = 0.0, 0.0, 1.0, True
    k, n, j = 0, len(y), -1
    for t in range(n + 1):
        j = j + 1 if j + 1 < m else 0          # t % m
        while k < len(origins) and origins[k] == t:
            states[k, 0], states[k, 1] = level, slope
            for i in range(m):
                states[k, 2 + i] = ring[(t + i) % m]
            k += 1
        if t == n:
            break
        q = level + phi * slope
        sj = ring[j]
        if seas == 0:
            f, p = q, y[t]
        elif seas == 1:
            f, p = q + sj, y[t] - sj
        else:
            if sj <= 0.0 or q <= 0.0:
                ok = False
                continue
            f, p = q * sj, y[t] / sj
        if err == 0:
            e = y[t] - f
        else:
            if f <= 0.0:
                ok = False
                continue
            e = (y[t] - f) / f
            prod *= f                           # one log per ~100 steps: 2x faster M-error fits
            if not 1e-100 < prod < 1e100 or not 1e-100 < f < 1e100:
                slog += math.log(prod)
                prod = 1.0
        sse += e * e
        level = q + alpha * (p - q)
        if trend > 0:
            slope = phi * slope + beta * (p - q)
        if seas == 1:
            ring[j] = sj + gamma * (y[t] - q - sj)
        elif seas == 2:
            ring[j] = sj + gamma * (y[t] / q - sj)
        if not (math.isfinite(level) and math.isfinite(slope) and math.isfinite(ring[j])):
            ok = False
            break
    final[0], final[1] = level, slope
    for i in range(m):
        final[2 + i] = ring[(n + i) % m]
    return sse, slog + math.log(prod), ok


@njit(**_JIT)
def _unpack(x, code, m, params, x0):
    """Free vector ``[alpha, u?, v?, phi?, l0, b0?, s_1..s_{m-1}?]`` -> params, state;
    False when the normalised last seasonal term of a multiplicative season is not positive."""
    trend, seas = code % 3, (code // 3) % 3
    a = x[0]
    params[0], params[1], params[2], params[3] = a, 0.0, 0.0, 1.0
    i = 1
    if trend > 0:
        params[1] = a * x[i]
        i += 1
    if seas > 0:
        params[2] = (1.0 - a) * x[i]
        i += 1
    if trend == 2:
        params[3] = x[i]
        i += 1
    x0[0] = x[i]
    x0[1] = x[i + 1] if trend > 0 else 0.0
    i += 1 + (trend > 0)
    if seas == 0:
        x0[2] = 0.0
        return True
    total = 0.0
    for j in range(m - 1):
        x0[2 + j] = x[i + j]
        total += x[i + j]
    x0[1 + m] = (m if seas == 2 else 0.0) - total
    if seas == 2:
        for j in range(m):
            if x0[2 + j] <= 0.0:
                return False
    return True


@njit(**_INNER)
def _value(v, y, code, m, params, x0, origins, states, final):
    """The objective at free vector ``v``: ``n log(SSE / n) + 2 sum log f`` (inf where
    the recursions break down)."""
    n = len(y)
    if not _unpack(v, code, m, params, x0):
        return np.inf
    sse, slog, ok = _filter(y, code, m, params, x0, origins, states, final)
    if not ok or not math.isfinite(sse):
        return np.inf
    return n * math.log(max(sse, n * 1e-24) / n) + 2.0 * slog


@njit(**_INNER)
def _copy(dst, src):
    for i in range(len(src)):
        dst[i] = src[i]


@njit(**_JIT)
def _minimise(y, code, m, x, lo, hi, step, d, max_evals, ftol):
    """Nelder-Mead (adaptive coefficients of Gao & Han 2012, points clamped to the box
    ``lo..hi``) of :func:`_value` over the free vector, from ``x`` with first steps
    ``step``, moving its first ``d`` coordinates only (the rest stay as in ``x``); restarted from the best point with half the steps while a restart still
    gains more than ``ftol`` (relative), 3 restarts at most. Returns ``(best x, best
    value, evaluations)``.

    Written as one loop around a single call of :func:`_value` (the phase says what the
    trial point was for), with explicit loops instead of array expressions: the compile
    took 4.3 s of CPU with array expressions, about 2.6 s with loops (the single call
    site alone did not measurably shorten it)."""
    nx = len(x)
    params, x0, final = np.empty(4), np.empty(2 + m), np.empty(2 + m)
    origins, states = np.empty(0, np.int64), np.empty((0, 2 + m))
    ca, cg, cr, cs = 1.0, 1.0 + 2.0 / d, 0.75 - 0.5 / d, 1.0 - 1.0 / d
    sim, fv = np.empty((d + 1, nx)), np.empty(d + 1)
    centre, xr, trial = np.empty(d), x.copy(), x.copy()
    best, fbest = x.copy(), np.inf
    FILL, REFLECT, EXPAND, CONTRACT, SHRINK = 0, 1, 2, 3, 4
    phase, k, evals, restarts, scale = FILL, 0, 0, 0, 1.0
    lo_i, hi_i, nx_i, fr = 0, 0, 0, 0.0
    for r in range(d + 1):                       # the first simplex: x and a step along each axis
        _copy(sim[r], best)
        if r > 0:
            v = best[r - 1] + step[r - 1]
            sim[r, r - 1] = min(max(v if v <= hi[r - 1] else best[r - 1] - step[r - 1], lo[r - 1]), hi[r - 1])
    while evals < max_evals:
        if phase == REFLECT:
            lo_i, hi_i = 0, 0
            for r in range(d + 1):
                if fv[r] < fv[lo_i]:
                    lo_i = r
                if fv[r] > fv[hi_i]:
                    hi_i = r
            if lo_i == hi_i:
                hi_i = (lo_i + 1) % (d + 1)
            nx_i = lo_i
            for r in range(d + 1):
                if r != hi_i and fv[r] >= fv[nx_i]:
                    nx_i = r
            if fv[hi_i] - fv[lo_i] <= ftol * (1.0 + abs(fv[lo_i])):   # converged: restart?
                gain = fbest - fv[lo_i]
                if fv[lo_i] < fbest:
                    _copy(best, sim[lo_i])
                    fbest = fv[lo_i]
                if not gain > ftol * (1.0 + abs(fbest)) or restarts == 3:
                    break
                restarts += 1
                scale *= 0.5
                for r in range(d + 1):
                    _copy(sim[r], best)
                    if r > 0:
                        v = best[r - 1] + scale * step[r - 1]
                        if v > hi[r - 1]:
                            v = best[r - 1] - scale * step[r - 1]
                        sim[r, r - 1] = min(max(v, lo[r - 1]), hi[r - 1])
                phase, k = FILL, 0
            else:
                for i in range(d):
                    total = 0.0
                    for r in range(d + 1):
                        total += sim[r, i] if r != hi_i else 0.0
                    centre[i] = total / d
                for i in range(d):
                    trial[i] = min(max(centre[i] + ca * (centre[i] - sim[hi_i, i]), lo[i]), hi[i])
        if phase == FILL or phase == SHRINK:
            _copy(trial, sim[k])
        f = _value(trial, y, code, m, params, x0, origins, states, final)   # the one call
        evals += 1
        if phase == FILL or phase == SHRINK:
            fv[k] = f
            k += 1
            if phase == SHRINK and k == lo_i:
                k += 1
            if k > d:
                phase = REFLECT
        elif phase == REFLECT:
            fr = f
            _copy(xr, trial)
            if fr < fv[lo_i]:
                for i in range(d):
                    trial[i] = min(max(centre[i] + cg * (xr[i] - centre[i]), lo[i]), hi[i])
                phase = EXPAND
            elif fr < fv[nx_i]:
                _copy(sim[hi_i], xr)
                fv[hi_i] = fr
            else:
                outside = fr < fv[hi_i]
                for i in range(d):
                    w = xr[i] if outside else sim[hi_i, i]
                    trial[i] = min(max(centre[i] + cr * (w - centre[i]), lo[i]), hi[i])
                phase = CONTRACT
        elif phase == EXPAND:
            if f < fr:
                _copy(sim[hi_i], trial)
                fv[hi_i] = f
            else:
                _copy(sim[hi_i], xr)
                fv[hi_i] = fr
            phase = REFLECT
        else:                                     # CONTRACT
            if f < min(fr, fv[hi_i]):
                _copy(sim[hi_i], trial)
                fv[hi_i] = f
                phase = REFLECT
            else:                                 # shrink towards the best vertex
                for r in range(d + 1):
                    for i in range(d):
                        sim[r, i] = min(max(sim[lo_i, i] + cs * (sim[r, i] - sim[lo_i, i]), lo[i]), hi[i])
                phase, k = SHRINK, (1 if lo_i == 0 else 0)
    for r in range(d + 1 if phase != FILL else k):
        if fv[r] < fbest:
            _copy(best, sim[r])
            fbest = fv[r]
    return best, fbest, evals
