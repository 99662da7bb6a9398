"""Options that the data decides: every default of ``fit`` that is not a constant.

Owns the rules, and the measured evidence behind them (``benchmarks/defaults.py``):
lookback and horizon from the frequency and the length of the data, the validation
share and the hidden size from the number of windows, batch size and epochs from the
number of training windows, and the checks of the options a user gives. Works on the
plain options dict of :class:`lstmcast.model.forecaster.LSTMForecaster`.
"""

from __future__ import annotations

import math

import pandas as pd

from lstmcast.model import baselines
from lstmcast.prep import windows
from lstmcast.data.dataset import Dataset
from lstmcast.errors import UsageError
from lstmcast.prep.normalize import NORMALIZE
from lstmcast.data.timeparse import period

# Defaults by the length of one step: (lookback, horizon). Chosen on the evidence in
# benchmarks/defaults.py; lookback is then capped by the length of the data.
_BY_STEP = [  # (step at most, lookback, horizon)
    (pd.Timedelta(minutes=1), 120, 60),
    (pd.Timedelta(hours=1), 168, 24),
    (pd.Timedelta(days=1), 56, 14),
    (pd.Timedelta(days=7), 52, 8),
    (pd.Timedelta(days=31), 24, 12),
    (pd.Timedelta(days=92), 12, 8),
    (pd.Timedelta(days=10000), 8, 4),
]


# Hidden size by the number of training windows: (fewer than, hidden), and the size
# beyond the last limit. Larger networks overfit these series and train slower: 64
# lost to 32 even on the 3,000-window half-hourly series (MASE 0.322 vs 0.246). Nothing
# above ~4,000 windows was measured: pass --hidden for much longer data.
# Evidence: benchmarks/defaults.py.
HIDDEN_BY_WINDOWS = [(2000, 16)]
HIDDEN_MAX = 32
# Share of windows held out for validation: (fewer windows than, share), else the last.
# Small data needs the larger share: early stopping and the shrinkage are fitted on it,
# and on a handful of windows they are noise. Evidence: benchmarks/defaults.py.
VAL_FRACTION_BY_WINDOWS = [(1000, 0.3), (None, 0.2)]


def count_windows(dataset: Dataset, p: dict, lookback: int, horizon: int) -> int:
    """How many windows the data gives at this lookback and horizon, with the options'
    stride and transform."""
    return sum(windows.count_windows(len(f), lookback, horizon, int(p["stride"]), p["transform"])
               for f in dataset.series.values())


def default_val_fraction(windows: int) -> float:
    """The validation share for data that gives ``windows`` windows."""
    for limit, share in VAL_FRACTION_BY_WINDOWS[:-1]:
        if windows < limit:
            return share
    return VAL_FRACTION_BY_WINDOWS[-1][1]


def default_hidden(train_windows: int) -> int:
    """The hidden size for about ``train_windows`` training windows."""
    for limit, hidden in HIDDEN_BY_WINDOWS:
        if train_windows < limit:
            return hidden
    return HIDDEN_MAX


def frequency_defaults(freq: str) -> tuple[int, int]:
    """(lookback, horizon) for a frequency before the data's length is considered."""
    step = period(freq)[2]
    for limit, lookback, horizon in _BY_STEP:
        if step <= limit:
            return lookback, horizon
    return _BY_STEP[-1][1:]


def resolve(p: dict, dataset: Dataset) -> dict:
    """A copy of the options ``p`` with the data's defaults filled in; a UsageError for
    an option out of range."""
    p = dict(p)
    if p["normalize"] not in NORMALIZE:
        raise UsageError(f"--normalize must be auto, last, season or none, not {p['normalize']!r}")
    if p["season"] is None:
        p["season"] = baselines.season_length(dataset.freq)
    if int(p["season"]) != p["season"] or p["season"] < 1:
        raise UsageError(f"--season must be a whole number of 1 or more, not {p['season']}")
    if p["seasons"] is not None and (int(p["seasons"]) != p["seasons"] or p["seasons"] < 1):
        raise UsageError(f"seasons must be a whole number of 1 or more, not {p['seasons']}")
    for name in ("hidden", "layers", "patience", "stride"):  # only hidden has a default to fill
        if (p[name] is not None or name != "hidden") and (
                not isinstance(p[name], (int, float)) or int(p[name]) != p[name] or p[name] < 1):
            raise UsageError(f"--{name} must be a whole number of 1 or more, not {p[name]}")
    base_lookback, base_horizon = frequency_defaults(dataset.freq)
    if p["val_fraction"] is None:  # counted before lookback is settled, which depends on it
        p["val_fraction"] = default_val_fraction(count_windows(
            dataset, p, p["lookback"] or base_lookback, p["horizon"] or base_horizon))
    if not 0 <= p["val_fraction"] < 1:
        raise UsageError(f"--val-fraction must be at least 0 and below 1, not {p['val_fraction']}")
    shortest = min(len(f) for f in dataset.series.values())
    if p["horizon"] is None:
        p["horizon"] = max(1, min(base_horizon, shortest // 8))
    if p["lookback"] is None:
        # leave room for enough training and validation windows in the shortest series
        room = int((shortest - p["horizon"]) * (1 - p["val_fraction"]) / 2)
        p["lookback"] = max(2, min(base_lookback, room))
    if p["hidden"] is None:
        p["hidden"] = default_hidden(train_windows(dataset, p))
    return p


def train_windows(dataset: Dataset, p: dict) -> int:
    """About how many training windows the data gives (after the validation split)."""
    return int(count_windows(dataset, p, p["lookback"], p["horizon"]) * (1 - p["val_fraction"]))


def resolve_schedule(p: dict, n_train: int) -> None:
    """Fill in batch size and epochs (in place) for ``n_train`` training windows: about
    3,000 optimiser steps, which early stopping usually cuts short."""
    if p["batch_size"] is None:
        p["batch_size"] = 32 if n_train < 4000 else (64 if n_train < 40000 else 128)
    if p["epochs"] is None:
        per_epoch = max(1, math.ceil(n_train / p["batch_size"]))
        p["epochs"] = int(min(300, max(20, math.ceil(3000 / per_epoch))))
