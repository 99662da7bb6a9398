"""The Numba kernel of :mod:`lstmcast.model.theta`: the filter over a series
(:func:`_filter`) with the state step of ``theta._step`` compiled.

Kept apart so that a forecast from a stored model (plain Python, ``theta.forecast``)
never imports Numba: :mod:`lstmcast.model.theta` imports this module only to fit,
advance or filter.
"""

from __future__ import annotations

from lstmcast.nn import jitcache

jitcache.configure()  # before Numba loads: where compiled code is cached

from numba import njit  # noqa: E402

from lstmcast.model.theta import _step as _py_step  # noqa: E402

_JIT = dict(cache=True, error_model="numpy", nogil=True)
_step = njit(**_JIT)(_py_step)


@njit(**_JIT)
def _filter(y, dynamic, alpha, c, st, t0, skip, origins, horizon, out, sums):
    """Run the model over ``y`` from state ``st`` (after ``t0`` observations), in place.

    ``c = 1 - 1/theta``. For ``i >= skip`` adds to ``sums``: the squared one-step error,
    and the least-squares sums of ``r = y - level``, ``g`` (the starting level's weight in
    the level) and ``d`` (the bracket that ``c`` multiplies): rr, gg, dd, rg, rd, gd.
    ``out[k]`` gets the ``horizon`` forecasts made after ``origins[k]`` values of ``y``
    (origins sorted, 0..len(y))."""
    q = 1.0 - alpha
    qt = q ** t0
    g = 1.0
    level, mean, a, b = st[0], st[1], st[2], st[3]
    n = y.shape[0]
    k = 0
    for i in range(n + 1):
        t = t0 + i
        while k < origins.shape[0] and origins[k] == i:
            fl, fm, fa, fb, fq = level, mean, a, b, qt
            for j in range(horizon):
                mu = fl + c * (fa * fq + fb * (1.0 - fq * q) / alpha)
                out[k, j] = mu
                fl, fm, fa, fb = _step(fl, fm, fa, fb, t + j, mu, alpha, dynamic)
                fq *= q
            k += 1
        if i == n:
            break
        d = a * qt + b * (1.0 - qt * q) / alpha
        r = y[i] - level
        if i >= skip:
            e = r - c * d
            sums[0] += e * e
            sums[1] += r * r
            sums[2] += g * g
            sums[3] += d * d
            sums[4] += r * g
            sums[5] += r * d
            sums[6] += g * d
        level, mean, a, b = _step(level, mean, a, b, t, y[i], alpha, dynamic)
        qt *= q
        g *= q
    st[0], st[1], st[2], st[3] = level, mean, a, b
