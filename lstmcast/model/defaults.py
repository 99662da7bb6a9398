"""Options that the data decides: every default of ``fit`` that is not a constant.

Owns the rules, and the measured evidence behind them (``benchmarks/accuracy/defaults.py``):
lookback and horizon from the frequency and the length of the data, the validation
share and the hidden size from the number of windows, batch size and epochs from the
number of training windows, and the function that fills them into the configs
(:mod:`lstmcast.config`): :func:`resolve`.
"""

from __future__ import annotations

import math

import pandas as pd

from lstmcast.prep import windows
from lstmcast.config import ModelConfig, TrainConfig
from lstmcast.data.dataset import Dataset
from lstmcast.frequencies import season_length
from lstmcast.data.timeparse import period

# Defaults by the length of one step: (lookback, horizon). Chosen on the evidence in
# benchmarks/accuracy/defaults.py; lookback is then capped by the length of the data. Hourly and
# half-hourly: 48, not 168 (benchmarks/results/hourly-lookback.md, tuning half: MASE
# 0.253 vs 0.246 on taylor, 1.158 vs 1.476 on seattle-temps, a third of the time; a year
# of hourly rows fits in 8 s instead of 22 on 2 cores).
_BY_STEP = [  # (step at most, lookback, horizon)
    (pd.Timedelta(minutes=1), 120, 60),
    (pd.Timedelta(hours=1), 48, 24),
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
# Evidence: benchmarks/accuracy/defaults.py.
HIDDEN_BY_WINDOWS = [(2000, 16)]
HIDDEN_MAX = 32
# Share of windows held out for validation: (fewer windows than, share), else the last.
# Small data needs the larger share: early stopping and the shrinkage are fitted on it,
# and on a handful of windows they are noise. Evidence: benchmarks/accuracy/defaults.py.
VAL_FRACTION_BY_WINDOWS = [(1000, 0.3), (None, 0.2)]
# Windows an epoch samples, at most (a fresh sample each epoch), and validation windows
# used for early stopping, shrinkage and calibration, at most (a fixed sample): beyond
# these a fit costs the same however much data there is. 1,000 daily series of two years
# (515,000 training windows) took 410 s for 20 full epochs; evidence in benchmarks/scale/many_series.py.
EPOCH_WINDOWS = 32768
VAL_WINDOWS = 16384


def count_windows(dataset: Dataset, model: ModelConfig, lookback: int, horizon: int) -> int:
    """How many windows the data gives at this lookback and horizon, with the model's
    stride and transform."""
    return sum(windows.count_windows(len(f), lookback, horizon, model.stride, model.transform)
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


def resolve(model: ModelConfig, train: TrainConfig, dataset: Dataset,
            lookback_seasons: int | None = None) -> tuple[ModelConfig, TrainConfig]:
    """Copies of the configs with every default that the data decides filled in, except
    the batch size and epochs, which depend on the training windows
    (:func:`resolve_schedule`). The configs were checked when they were made.
    ``lookback_seasons`` (evidence only) asks for that many seasons of lookback instead of
    the frequency's default."""
    m = model.replace(season=model.season or season_length(dataset.freq))
    base_lookback, base_horizon = frequency_defaults(dataset.freq)
    if lookback_seasons:
        base_lookback = max(8, lookback_seasons * season_length(dataset.freq))
    val_fraction = train.val_fraction
    if val_fraction is None:  # counted before lookback is settled, which depends on it
        val_fraction = default_val_fraction(count_windows(
            dataset, m, m.lookback or base_lookback, m.horizon or base_horizon))
    shortest = min(len(f) for f in dataset.series.values())
    horizon = m.horizon or max(1, min(base_horizon, shortest // 8))
    # leave room for enough training and validation windows in the shortest series
    room = int((shortest - horizon) * (1 - val_fraction) / 2)
    m = m.replace(horizon=horizon, lookback=m.lookback or max(2, min(base_lookback, room)))
    if m.hidden is None:
        m = m.replace(hidden=default_hidden(
            int(count_windows(dataset, m, m.lookback, m.horizon) * (1 - val_fraction))))
    return m, train.replace(val_fraction=val_fraction)


def resolve_schedule(train: TrainConfig, n_train: int) -> TrainConfig:
    """Batch size, windows per epoch and epochs for ``n_train`` training windows: about
    3,000 optimiser steps, which early stopping usually cuts short. An epoch samples at
    most :data:`EPOCH_WINDOWS` windows, so a fit's cost stops growing with the data."""
    batch = train.batch_size or (32 if n_train < 4000 else (64 if n_train < 40000 else 128))
    sampled = min(n_train, train.epoch_windows or EPOCH_WINDOWS)
    per_epoch = max(1, math.ceil(sampled / batch))
    return train.replace(batch_size=batch, epoch_windows=sampled,
                         epochs=train.epochs or int(min(300, max(20, math.ceil(3000 / per_epoch)))))
