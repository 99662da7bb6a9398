"""The baseline guard: per series, the network against naive, seasonal naive and drift.

After training, ``fit`` scores the network's forecasts and three simple ones on held-out
windows of every series (:func:`choose`). Where a baseline, or a blend of the network
and the series' best baseline, has the lower mean absolute error, that series
forecasts with it from then on; the choice is stored in the model file and shown by
``fit``, ``info`` and ``evaluate``. An LSTM that loses to "same hour yesterday" on some
series of a file should not forecast those series.

Everything here works on the scaled (and log-transformed) target values the network
sees, where per-series scaling is affine, so naive, seasonal naive and drift mean what
they mean in original units (drift on a log scale is a constant growth rate). The three
baselines are computed from a window of the most recent ``lookback`` values, plus the
series' first value and how many rows lie between them for drift (:func:`baselines`).

A choice is a pair per (series, target): the baseline (``BASELINES`` index, or -1 for
none) and the network's weight (1 = the network alone, 0 = the baseline alone, in
between a blend; the weights tried are the caller's, by default ``BLEND``, an even
mix). Series with fewer than :data:`MIN_WINDOWS` held-out windows take the choice (and
blend weight) that is best pooled over all series. Pure numpy.
"""

from __future__ import annotations

import numpy as np

BASELINES = ("naive", "seasonal_naive", "drift")
BLEND = 0.5
MIN_WINDOWS = 3  # held-out windows a series needs for a choice of its own


def baselines(x: np.ndarray, first: np.ndarray, since: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """The three baselines (3, windows, horizon, targets) from windows ``x`` (windows,
    lookback, targets) of target values; ``first`` (windows, targets) is each series'
    first value and ``since`` (windows,) how many steps the window's last value lies
    after it. Seasonal naive needs ``1 < season <= lookback``; otherwise it is naive."""
    n, lookback, nt = x.shape
    last = x[:, -1, :].astype(np.float64)
    out = np.empty((3, n, horizon, nt))
    out[0] = last[:, None, :]
    if 1 < season <= lookback:
        out[1] = x[:, lookback - season + np.arange(horizon) % season, :]
    else:
        out[1] = out[0]
    slope = (last - first) / np.maximum(since, 1)[:, None]
    out[2] = last[:, None, :] + np.arange(1, horizon + 1)[None, :, None] * slope[:, None, :]
    return out


def combine(network: np.ndarray, base: np.ndarray, baseline: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The guarded forecasts (n, horizon, targets): ``network`` (same shape) mixed with
    ``base`` (3, n, horizon, targets) by each row's ``baseline`` index and network
    ``weight`` (n, targets); a row is a series, or a held-out window of one."""
    s, t = np.meshgrid(np.arange(network.shape[0]), np.arange(network.shape[2]), indexing="ij")
    chosen = base[np.maximum(baseline, 0), s, :, t]        # (series, targets, horizon)
    chosen = np.moveaxis(chosen, 2, 1)
    w = np.where(baseline < 0, 1.0, weight)[:, None, :]
    return w * network + (1.0 - w) * chosen


def _mean_abs(e: np.ndarray, axis: int) -> np.ndarray:
    """Mean absolute error over ``axis``, missing targets (NaN, --missing mask) left out
    (0 where nothing is observed)."""
    seen = ~np.isnan(e)
    return np.abs(np.where(seen, e, 0.0)).sum(axis=axis) / np.maximum(seen.sum(axis=axis), 1)


def choose(network: np.ndarray, base: np.ndarray, y: np.ndarray, series: np.ndarray,
           n_series: int, blends: tuple[float, ...] = (BLEND,)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (series, target): ``(baseline, weight, scores)`` from held-out windows:
    ``network`` and ``y`` (windows, horizon, targets), ``base`` as from :func:`baselines`,
    ``series`` (windows,) the series index of each window. ``blends``: the network's
    weights tried in the blend with the series' best baseline (the best of them competes).
    ``scores`` (series, targets, 5) are the mean absolute errors of the network, the three
    baselines and the best blend, -1 for a series without held-out windows."""
    nt = y.shape[2]
    err = np.empty((4, len(y), nt))
    err[0] = _mean_abs(network - y, 1)
    err[1:4] = _mean_abs(base - y[None], 2)
    count = np.bincount(series, minlength=n_series).astype(np.float64)

    def per_series(e: np.ndarray) -> np.ndarray:  # (windows, targets) -> (series, targets)
        return np.stack([np.bincount(series, weights=e[:, j], minlength=n_series) for j in range(nt)], axis=1)

    sums = np.zeros((n_series, nt, 5))
    for m in range(4):
        sums[:, :, m] = per_series(err[m])
    # the blend mixes the network with the series' best baseline (by these same windows)
    best = np.argmin(sums[:, :, 1:4], axis=2)                      # (series, targets)
    pick = best[series]                                            # (windows, targets)
    w_idx, t_idx = np.meshgrid(np.arange(len(y)), np.arange(nt), indexing="ij")
    chosen = np.moveaxis(base[pick, w_idx, :, t_idx], 2, 1)
    blend_sums = np.stack([per_series(_mean_abs(b * network + (1 - b) * chosen - y, 1)) for b in blends])
    few = count < MIN_WINDOWS
    # a series with too few windows of its own takes the blend weight best pooled over all
    which = np.argmin(blend_sums, axis=0)                          # (series, targets)
    which[few] = int(np.argmin(blend_sums.sum(axis=(1, 2))))
    sums[:, :, 4] = np.take_along_axis(blend_sums, which[None], axis=0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = sums / count[:, None, None]
    method = np.argmin(np.where(np.isnan(scores), np.inf, scores), axis=2)  # ties: the network
    pooled = int(np.argmin(sums.sum(axis=(0, 1))))
    method[few] = pooled
    blend_weight = np.asarray(blends, dtype=np.float64)[which]
    baseline = np.where(method == 0, -1, np.where(method == 4, best, method - 1)).astype(np.int8)
    weight = np.where(method == 0, 1.0, np.where(method == 4, blend_weight, 0.0)).astype(np.float32)
    return baseline, weight, np.where(np.isnan(scores), -1.0, scores)


SHOWN = 50  # series named in a model file's guard summary, at most


def name(baseline: int, weight: float) -> str:
    """``lstm``, a baseline's name, or ``blend_<baseline>``."""
    if baseline < 0 or weight >= 1:
        return "lstm"
    return BASELINES[baseline] if weight <= 0 else f"blend_{BASELINES[baseline]}"


def summary(keys: list[str], baseline: np.ndarray, weight: np.ndarray) -> dict:
    """For the model file and ``info``: how many (series, target) pairs use each method,
    and the first :data:`SHOWN` series that do not use the network alone."""
    others = {}
    for i, key in enumerate(keys):
        names = [name(b, w) for b, w in zip(baseline[i], weight[i])]
        if any(n != "lstm" for n in names) and len(others) < SHOWN:
            others[key] = names if len(names) > 1 else names[0]
    return {"forecasts": describe(baseline, weight), "series": others}


def describe(baseline: np.ndarray, weight: np.ndarray) -> dict[str, int]:
    """How many (series, target) pairs forecast with each method, by name."""
    out: dict[str, int] = {}
    for b, w in zip(np.ravel(baseline), np.ravel(weight)):
        out[name(b, w)] = out.get(name(b, w), 0) + 1
    return out


def empty(S: int, nt: int, first: np.ndarray | None = None, since: np.ndarray | None = None) -> dict:
    """The guard's arrays for ``S`` series and ``nt`` targets with the network everywhere
    (scores -1: not scored); ``first`` and ``since`` for drift, zeros if not given."""
    return {"baseline": np.full((S, nt), -1, np.int8), "weight": np.ones((S, nt), np.float32),
            "scores": np.full((S, nt, 5), -1.0, np.float32),
            "first": np.zeros((S, nt)) if first is None else np.asarray(first, dtype=np.float64),
            "since": np.zeros(S, np.int64) if since is None else np.asarray(since).astype(np.int64)}


def from_arrays(arrays: dict, meta: dict | None, S: int, nt: int) -> tuple[dict, dict]:
    """The guard's arrays and metadata from a model file's ``guard.*`` arrays, checked (a
    ValueError says what is wrong); files from before the guard get :func:`empty`, so
    they forecast with the network alone, as they always did."""
    if "guard.baseline" not in arrays:
        return empty(S, nt), {"enabled": False}
    try:
        g = {"baseline": np.asarray(arrays["guard.baseline"]).astype(np.int8),
             "weight": np.asarray(arrays["guard.weight"], dtype=np.float32),
             "scores": np.asarray(arrays["guard.scores"], dtype=np.float32),
             "first": np.asarray(arrays["guard.first"], dtype=np.float64),
             "since": np.asarray(arrays["guard.since"]).astype(np.int64)}
        meta = dict(meta)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"incomplete guard section ({e})") from None
    shapes = {"baseline": (S, nt), "weight": (S, nt), "scores": (S, nt, 5), "first": (S, nt), "since": (S,)}
    bad = [k for k, shape in shapes.items() if g[k].shape != shape]
    if bad or not isinstance(meta.get("enabled"), bool):
        raise ValueError(f"guard.{bad[0] if bad else 'meta'} does not match the model's "
                         f"{S} series and {nt} target(s)")
    if not (((g["baseline"] >= -1) & (g["baseline"] < len(BASELINES))).all()
            and ((g["weight"] >= 0) & (g["weight"] <= 1)).all()
            and np.isfinite(g["first"]).all() and (g["since"] >= 0).all()):
        raise ValueError("the guard's choices are out of range (the file is damaged)")
    return g, meta
