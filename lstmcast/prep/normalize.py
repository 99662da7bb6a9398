"""Per-window normalisation: what the network's inputs and outputs are relative to.

Owns the three modes of ``--normalize`` and the ``auto`` choice between them:

* ``last``: the network sees the window minus its last value and predicts the change
  from it (trending and random-walk series).
* ``season``: the network predicts the correction to the window's seasonal profile:
  the mean of each position over the last ``k`` whole seasons in the window, moved to
  the level of the last season and repeated. ``k = 1`` is the seasonal naive forecast;
  a larger ``k`` averages noise away but follows a changing pattern more slowly.
* ``none``: raw scaled values.

:func:`choose_normalize` picks the mode, and ``k``, that forecast the training windows
best on their own (before any training). The evidence for the thresholds is in
``benchmarks/accuracy/defaults.py``. Numerics only: numpy, no pandas or files.
"""

from __future__ import annotations

import numpy as np

from lstmcast.errors import UsageError


# normalize="auto" considers the seasonal profile only below this many training windows:
# with many windows the network learns the seasonal pattern from a last-value anchor by
# itself, and does better than by correcting the profile. Evidence: benchmarks/accuracy/defaults.py.
SEASON_MAX_WINDOWS = 1000
# Windows compared by choose_normalize (evenly spaced beyond this many).
CHOICE_WINDOWS = 20000


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
    raise UsageError(f"--normalize must be auto, last, season or none, not {normalize!r}")


def window_change(x: np.ndarray, nt: int) -> np.ndarray:
    """Mean absolute step-to-step change of the target columns of each window: (batch, nt)."""
    if x.shape[1] < 2:
        return np.ones((x.shape[0], nt))
    return np.abs(np.diff(x[:, :, :nt].astype(np.float64), axis=1)).mean(axis=1)


def choose_normalize(windows, train_idx: np.ndarray, nt: int, horizon: int, season: int,
                     normalize: str = "auto", seasons: int | None = None,
                     season_max_windows: int = SEASON_MAX_WINDOWS) -> tuple[str, int | None]:
    """``(mode, seasons)`` for ``normalize`` ("auto" or "season"; others pass through).

    ``auto`` considers the seasonal profile only when the season fits in the lookback
    and there are fewer than :data:`SEASON_MAX_WINDOWS` training windows; then it takes
    whichever of the last value and the profiles of ``k = 1, 2, ...`` whole seasons is
    closest to the training windows' targets (mean absolute error over every step, in
    scaled units). ``season`` chooses ``k`` the same way. A given ``seasons`` is the only
    ``k`` considered. The returned ``seasons`` is None unless the mode is ``season``.
    """
    if normalize not in ("auto", "season"):
        return normalize, None
    whole = windows.lookback // season  # whole seasons in the lookback
    if normalize == "season":
        if whole < 1:  # window_offsets gives the clear error
            return normalize, seasons
        if seasons is not None or season == 1:  # with a season of 1 step every k is "last"
            return normalize, min(seasons or 1, whole)
    elif season < 2 or whole < 1 or len(train_idx) >= season_max_windows:
        return "last", None
    idx = train_idx if len(train_idx) <= CHOICE_WINDOWS else \
        train_idx[np.linspace(0, len(train_idx) - 1, CHOICE_WINDOWS).astype(np.int64)]
    ks = [min(seasons, whole)] if seasons else range(1, whole + 1)
    candidates = [("season", k) for k in ks]
    if normalize == "auto":
        candidates.insert(0, ("last", None))
    errors = dict.fromkeys(candidates, 0.0)
    for start in range(0, len(idx), 4096):
        x, y = windows.take(idx[start:start + 4096])
        for mode, k in candidates:
            base = window_offsets(x, nt, horizon, mode, season, k)[1]
            errors[(mode, k)] += float(np.abs(y - base).sum(dtype=np.float64))
    return min(candidates, key=lambda c: errors[c])  # the first of equals: last, then fewer seasons
