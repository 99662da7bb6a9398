"""Per-window normalisation: what the network's inputs and outputs are relative to.

Owns the modes of ``--normalize`` and the ``auto`` choice between them:

* ``last``: the network sees the window minus its last value and predicts the change
  from it (trending and random-walk series).
* ``season``: the network predicts the correction to the window's seasonal profile:
  the mean of each position over the last ``k`` whole seasons in the window, moved to
  the level of the last season and repeated. ``k = 1`` is the seasonal naive forecast;
  a larger ``k`` averages noise away but follows a changing pattern more slowly.
* ``es``: exponential smoothing inside the window (the normalisation of Smyl's ES-RNN,
  additive because the values are scaled): a level and, when two seasons fit in the
  lookback, seasonal indices, smoothed through the window with coefficients ``alpha``
  and ``gamma``; every input step is read relative to the last level and its position's
  index, and the network predicts the correction to ``level + index`` of each step.
  Optionally (``Choices.es_series_windows``; off, as the evidence found it no better),
  each series of a file of several has its own coefficients (``Norm.series``), chosen on
  its own training windows when it has at least that many (kept where they differ from
  the model's); the model's (``alpha``, ``gamma``) serve the others and any series it
  has not seen.
* ``none``: raw scaled values.

:func:`choose_normalize` picks the mode, and ``k`` or the smoothing coefficients, that
forecast the training windows best on their own (before any training). The evidence for the thresholds is in
``benchmarks/accuracy/defaults.py``. Numerics only: numpy, no pandas or files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from lstmcast.errors import UsageError


# normalize="auto" considers the seasonal profile only below this many training windows:
# with many windows the network learns the seasonal pattern from a last-value anchor by
# itself, and does better than by correcting the profile. Evidence: benchmarks/accuracy/defaults.py.
SEASON_MAX_WINDOWS = 1000
# Windows compared by choose_normalize (evenly spaced beyond this many).
CHOICE_WINDOWS = 20000
# The smoothing coefficients choose_normalize tries for ``es``: the level's and the
# seasonal indices' (a level of 1.0 with no season is exactly ``last``).
ES_ALPHAS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0)
ES_GAMMAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
# With per-series es coefficients on (Choices.es_series_windows), the fewest training
# windows a series chooses its own from (fewer: the model's, chosen on every series' windows).
ES_SERIES_WINDOWS = 20


@dataclass(frozen=True)
class Norm:
    """How a model's windows are normalised: the mode and what it was fitted with."""

    mode: str = "none"
    season: int = 1
    seasons: int | None = None      # season: whole seasons in the profile
    alpha: float | None = None      # es: the level's smoothing coefficient
    gamma: float | None = None      # es: the seasonal indices' (None: no season)
    # es, several series: {series key: (alpha, gamma)}, each series' own; others use the above
    series: dict | None = field(default=None, compare=False)

    @classmethod
    def of(cls, m, series: dict | None = None) -> "Norm":
        """The normalisation of a model config (or a dict of its fields), with the
        per-series es coefficients ``series`` (a fitted model's)."""
        get = m.get if isinstance(m, dict) else lambda k, d=None: getattr(m, k, d)
        return cls(get("normalize"), get("season") or 1, get("seasons"), get("es_alpha"), get("es_gamma"),
                   series if get("normalize") == "es" and series else None)

    def to_dict(self) -> dict:
        """Plain JSON values (the Dask setups send it)."""
        d = asdict(self)
        d["series"] = None if self.series is None else {str(k): list(v) for k, v in self.series.items()}
        return d

    def coefficients(self, keys) -> tuple:
        """es: ``(alpha, gamma)`` for windows of series ``keys`` (one key a window): the
        model's scalars when no series has its own, else arrays (gamma NaN: no season)."""
        if not self.series or keys is None:
            return self.alpha, self.gamma
        own = [self.series.get(k, (self.alpha, self.gamma)) for k in keys]
        alpha = np.array([a for a, _ in own], np.float64)
        gamma = np.array([np.nan if g is None else g for _, g in own], np.float64)
        return alpha, gamma

    def keys_of(self, windows, idx: np.ndarray):
        """The series key of each window ``idx`` of ``windows``, where :meth:`apply` needs
        them (per-series coefficients), else None."""
        return None if not self.series else [windows.keys[s] for s in windows.series[idx]]

    def apply(self, x: np.ndarray, nt: int, horizon: int, keys=None) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, base)``: windows ``x`` (batch, lookback, inputs) with their target
        columns normalised (a new array), and what the network's output is added to
        (batch, horizon, nt). ``keys``: each window's series (es with per-series
        coefficients; otherwise unused)."""
        if self.mode == "es":
            alpha, gamma = self.coefficients(keys)
            z, base = es_offsets(x[:, :, :nt], horizon, self.season, alpha, gamma)
        else:
            shift, base = window_offsets(x, nt, horizon, self.mode, self.season, self.seasons)
            z = x[:, :, :nt] - shift[:, None, :]
        out = x.copy()
        out[:, :, :nt] = z
        return out, base


def _smooth(z: np.ndarray, season: int, alpha, gamma):
    """Additive exponential smoothing through each window: ``(level (b, nt), indices
    (b, season, nt) or None)``; indices are kept by position ``t % season``. ``alpha``
    and ``gamma`` are scalars or one value a window (b,)."""
    z = z.astype(np.float64)
    L = z.shape[1]
    alpha = np.asarray(alpha, np.float64).reshape(-1, 1)  # (1 or b, 1): broadcasts over targets
    if gamma is None or season < 2 or L < 2 * season:
        level = z[:, 0].copy()
        for t in range(1, L):
            level += alpha * (z[:, t] - level)
        return level, None
    gamma = np.asarray(gamma, np.float64).reshape(-1, 1)
    level = z[:, :season].mean(axis=1)
    idx = z[:, :season] - level[:, None, :]
    for t in range(season, L):
        p = t % season
        level = level + alpha * (z[:, t] - idx[:, p] - level)
        idx[:, p] += gamma * (z[:, t] - level - idx[:, p])
    return level, idx


def es_offsets(z: np.ndarray, horizon: int, season: int, alpha, gamma):
    """``es`` for the target columns ``z`` (batch, lookback, nt): ``(inputs, base)``, the
    inputs relative to the last level and each step's seasonal index, the base the
    level plus the index of each forecast step. ``alpha`` and ``gamma`` are scalars, or
    arrays of one value a window where a NaN ``gamma`` means no season for that window."""
    if alpha is None:
        raise UsageError("--normalize es needs its smoothing coefficients (fit chooses them)")
    if np.ndim(gamma) == 1:  # per window: the seasonal and the plain smoothing, each where asked
        plain = np.isnan(gamma)
        inputs, base = np.empty(z.shape, z.dtype), np.empty((z.shape[0], horizon, z.shape[2]))
        for rows, g in ((plain, None), (~plain, gamma[~plain])):
            if rows.any():
                inputs[rows], base[rows] = _es(z[rows], horizon, season, np.asarray(alpha)[rows], g)
        return inputs, base
    return _es(z, horizon, season, alpha, gamma)


def _es(z, horizon, season, alpha, gamma):
    level, idx = _smooth(z, season, alpha, gamma)
    L = z.shape[1]
    inputs = z - level[:, None, :]
    base = np.broadcast_to(level[:, None, :], (z.shape[0], horizon, z.shape[2]))
    if idx is not None:
        inputs = inputs - idx[:, np.arange(L) % season]
        base = base + idx[:, np.arange(L, L + horizon) % season]
    return inputs.astype(z.dtype), np.ascontiguousarray(base)


def window_offsets(x: np.ndarray, nt: int, horizon: int, normalize: str, season: int,
                   seasons: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-window normalisation of windows ``x`` (batch, lookback, inputs), targets first.

    Returns ``(shift, base)``: ``shift`` (batch, nt) is subtracted from the window's
    target columns before the network reads them, and ``base`` (batch, horizon, nt) is
    what the network's output is added to (so it is subtracted from the training
    targets). For ``season``, ``seasons`` is how many whole seasons are averaged into
    the profile (None: all that fit in the lookback; never more than fit).
    """
    b = x.shape[0]
    if normalize == "none":
        return np.zeros((b, nt), x.dtype), np.zeros((b, horizon, nt), x.dtype)
    last = x[:, -1, :nt].copy()
    if normalize == "last":
        return last, np.broadcast_to(last[:, None, :], (b, horizon, nt))
    if normalize == "season":
        lookback = x.shape[1]
        if not 1 <= season <= lookback:
            raise UsageError(f"--normalize season needs a lookback of at least one season "
                             f"({season} steps), not {lookback}")
        k = max(1, min(lookback // season, seasons or lookback))
        whole = x[:, lookback - k * season:, :nt].reshape(b, k, season, nt)
        profile = whole.mean(axis=1)                                   # (b, season, nt)
        level = whole[:, -1].mean(axis=1) - whole.mean(axis=(1, 2))    # (b, nt)
        rows = np.arange(horizon) % season
        return last, profile[:, rows] + level[:, None, :]
    raise UsageError(f"--normalize must be auto, last, season, es or none, not {normalize!r}")


def window_change(x: np.ndarray, nt: int) -> np.ndarray:
    """Mean absolute step-to-step change of the target columns of each window: (batch, nt)."""
    if x.shape[1] < 2:
        return np.ones((x.shape[0], nt))
    return np.abs(np.diff(x[:, :, :nt].astype(np.float64), axis=1)).mean(axis=1)


def _es_grid(season: int, lookback: int) -> list[tuple]:
    gammas = (None,) + ES_GAMMAS if season >= 2 and lookback >= 2 * season else (None,)
    return [("es", None, a, g) for a in ES_ALPHAS for g in gammas]


def choose_normalize(windows, train_idx: np.ndarray, nt: int, horizon: int, season: int,
                     normalize: str = "auto", seasons: int | None = None,
                     season_max_windows: int = SEASON_MAX_WINDOWS, es: bool = False,
                     series_windows: int | None = None) -> Norm:
    """The :class:`Norm` for ``normalize`` ("auto", "season" or "es"; others pass through).

    ``auto`` considers the seasonal profile only when the season fits in the lookback
    and there are fewer than :data:`SEASON_MAX_WINDOWS` training windows, and (with
    ``es``) exponential smoothing under the same window limit; then it takes whichever
    of the last value, the profiles of ``k = 1, 2, ...`` whole seasons and the smoothing
    coefficients of :data:`ES_ALPHAS` x :data:`ES_GAMMAS` is closest to the training
    windows' targets (mean absolute error over every step, in scaled units). ``season``
    chooses ``k`` and ``es`` the coefficients the same way. A given ``seasons`` is the only
    ``k`` considered. When ``es`` is chosen for several series and ``series_windows`` is
    given, each series with at least that many training windows also gets the
    coefficients closest on its own windows (``Norm.series``), where they differ from the
    model's.
    """
    L = windows.lookback
    if normalize not in ("auto", "season", "es"):
        return Norm(normalize, season)
    whole = L // season  # whole seasons in the lookback
    if normalize == "season":
        if whole < 1:  # window_offsets gives the clear error
            return Norm(normalize, season, seasons)
        if seasons is not None or season == 1:  # with a season of 1 step every k is "last"
            return Norm(normalize, season, min(seasons or 1, whole))
    elif normalize == "auto" and (len(train_idx) >= season_max_windows
                                  or not es and (season < 2 or whole < 1)):
        return Norm("last", season)
    candidates = []
    if normalize == "auto":
        candidates.append(("last", None, None, None))
    if normalize == "season" or normalize == "auto" and season >= 2 and whole >= 1:
        ks = [min(seasons, whole)] if seasons else range(1, whole + 1)
        candidates += [("season", k, None, None) for k in ks]
    if normalize == "es" or normalize == "auto" and es:
        candidates += _es_grid(season, L)
    idx = train_idx if len(train_idx) <= CHOICE_WINDOWS else \
        train_idx[np.linspace(0, len(train_idx) - 1, CHOICE_WINDOWS).astype(np.int64)]
    S = len(windows.keys)
    series = windows.series[idx]
    errors = {c: np.zeros(S) for c in candidates}  # per series
    for start in range(0, len(idx), 4096):
        x, y = windows.take(idx[start:start + 4096])
        s = series[start:start + 4096]
        for c in candidates:
            base = Norm(c[0], season, c[1], c[2], c[3]).apply(x, nt, horizon)[1]
            per_window = np.nansum(np.abs(y - base), axis=(1, 2), dtype=np.float64)
            errors[c] += np.bincount(s, per_window, minlength=S)
    best = min(candidates, key=lambda c: errors[c].sum())  # the first of equals: last, then fewer seasons
    norm = Norm(best[0], season, best[1], best[2], best[3])
    if best[0] != "es" or S < 2 or series_windows is None:
        return norm
    own = {}
    counts = np.bincount(series, minlength=S)
    grid = [c for c in candidates if c[0] == "es"]
    for i in np.flatnonzero(counts >= series_windows):
        c = min(grid, key=lambda c: errors[c][i])
        if c != best:  # only where a series' own differ from the model's
            own[str(windows.keys[i])] = (c[2], c[3])
    return replace(norm, series=own or None)
