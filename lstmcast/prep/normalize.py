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
* ``none``: raw scaled values.

:func:`choose_normalize` picks the mode, and ``k`` or the smoothing coefficients, that
forecast the training windows best on their own (before any training). The evidence for the thresholds is in
``benchmarks/accuracy/defaults.py``. Numerics only: numpy, no pandas or files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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


@dataclass(frozen=True)
class Norm:
    """How a model's windows are normalised: the mode and what it was fitted with."""

    mode: str = "none"
    season: int = 1
    seasons: int | None = None      # season: whole seasons in the profile
    alpha: float | None = None      # es: the level's smoothing coefficient
    gamma: float | None = None      # es: the seasonal indices' (None: no season)

    @classmethod
    def of(cls, m) -> "Norm":
        """The normalisation of a model config (or a dict of its fields)."""
        get = m.get if isinstance(m, dict) else lambda k, d=None: getattr(m, k, d)
        return cls(get("normalize"), get("season") or 1, get("seasons"), get("es_alpha"), get("es_gamma"))

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, x: np.ndarray, nt: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, base)``: windows ``x`` (batch, lookback, inputs) with their target
        columns normalised (a new array), and what the network's output is added to
        (batch, horizon, nt)."""
        if self.mode == "es":
            z, base = es_offsets(x[:, :, :nt], horizon, self.season, self.alpha, self.gamma)
        else:
            shift, base = window_offsets(x, nt, horizon, self.mode, self.season, self.seasons)
            z = x[:, :, :nt] - shift[:, None, :]
        out = x.copy()
        out[:, :, :nt] = z
        return out, base


def _smooth(z: np.ndarray, season: int, alpha: float, gamma: float | None):
    """Additive exponential smoothing through each window: ``(level (b, nt), indices
    (b, season, nt) or None)``; indices are kept by position ``t % season``."""
    z = z.astype(np.float64)
    L = z.shape[1]
    if gamma is None or season < 2 or L < 2 * season:
        level = z[:, 0].copy()
        for t in range(1, L):
            level += alpha * (z[:, t] - level)
        return level, None
    level = z[:, :season].mean(axis=1)
    idx = z[:, :season] - level[:, None, :]
    for t in range(season, L):
        p = t % season
        level = level + alpha * (z[:, t] - idx[:, p] - level)
        idx[:, p] += gamma * (z[:, t] - level - idx[:, p])
    return level, idx


def es_offsets(z: np.ndarray, horizon: int, season: int, alpha: float, gamma: float | None):
    """``es`` for the target columns ``z`` (batch, lookback, nt): ``(inputs, base)``, the
    inputs relative to the last level and each step's seasonal index, the base the
    level plus the index of each forecast step."""
    if alpha is None:
        raise UsageError("--normalize es needs its smoothing coefficients (fit chooses them)")
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
                     season_max_windows: int = SEASON_MAX_WINDOWS, es: bool = False) -> Norm:
    """The :class:`Norm` for ``normalize`` ("auto", "season" or "es"; others pass through).

    ``auto`` considers the seasonal profile only when the season fits in the lookback
    and there are fewer than :data:`SEASON_MAX_WINDOWS` training windows, and (with
    ``es``) exponential smoothing under the same window limit; then it takes whichever
    of the last value, the profiles of ``k = 1, 2, ...`` whole seasons and the smoothing
    coefficients of :data:`ES_ALPHAS` x :data:`ES_GAMMAS` is closest to the training
    windows' targets (mean absolute error over every step, in scaled units). ``season``
    chooses ``k`` and ``es`` the coefficients the same way. A given ``seasons`` is the only
    ``k`` considered.
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
    errors = dict.fromkeys(candidates, 0.0)
    for start in range(0, len(idx), 4096):
        x, y = windows.take(idx[start:start + 4096])
        for c in candidates:
            base = Norm(c[0], season, c[1], c[2], c[3]).apply(x, nt, horizon)[1]
            errors[c] += float(np.nansum(np.abs(y - base), dtype=np.float64))
    best = min(candidates, key=lambda c: errors[c])  # the first of equals: last, then fewer seasons
    return Norm(best[0], season, best[1], best[2], best[3])
