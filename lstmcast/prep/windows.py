"""Windows: training examples cut from scaled series, and the chronological split.

Owns the layout the training loop sees.  A :class:`Windows` holds every series' scaled
float32 array, concatenated, and the start row of each window; it never materialises
all windows (a 1M-row series with lookback 168 would take gigabytes).  ``take(idx)``
gathers a batch by fancy indexing:

* ``X[b, l, :]`` = inputs at row ``start + l`` (targets, then features, then calendar
  features), ``l < lookback``;
* ``Y[b, h, :]`` = targets at row ``start + lookback + h``, ``h < horizon``;
* ``F[b, h * k + j]`` = future-known covariate ``j`` at row ``start + lookback + h``
  (:meth:`Windows.take_future`: the future block's input, step-major).

A missing target (NaN, kept by ``--missing mask``) stays NaN in Y, so the loss leaves
it out; as an input it is interpolated (the data carries an "observed" indicator
column), and windows whose last input row or most of whose targets are missing are not
cut at all: no origin rests on an invented value.

Windows never cross a series boundary.  With ``stride > 1`` the starts are aligned so
that the last window of each series ends on its last row.

Split (:meth:`Windows.split`): per series, the last ``ceil(val_fraction * windows)``
windows validate.  Training keeps only windows that end before the first validation
target row, so no validation target value is ever inside a training window (inputs or
targets); scalers are fitted on those same leading rows (:func:`train_rows`).

The scaling steps live in :mod:`lstmcast.prep.scaling` and are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np

from lstmcast.errors import DataError, UsageError
from lstmcast.prep.scaling import (Pipeline, apply_transform, calendar_features, fit_scaler,
                              invert_transform)

__all__ = ["Windows", "make_windows", "fill_missing", "count_windows", "train_rows", "min_rows", "prepare", "Pipeline",
           "apply_transform", "invert_transform", "calendar_features", "fit_scaler"]


def _starts(n: int, lookback: int, horizon: int, stride: int) -> np.ndarray:
    last = n - lookback - horizon
    if last < 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(last % stride, last + 1, stride, dtype=np.int64)


def _rows_used(transform: str | None) -> int:
    """Rows a target transform uses up before its first value (diff and pct: one)."""
    return 1 if transform in ("diff", "pct") else 0


def count_windows(n: int, lookback: int, horizon: int, stride: int = 1,
                  transform: str | None = None) -> int:
    """How many windows an ``n``-row series gives."""
    return len(_starts(n - _rows_used(transform), lookback, horizon, stride))


def _n_val(n_windows: int, val_fraction: float) -> int:
    if val_fraction <= 0 or n_windows == 0:
        return 0
    return min(n_windows, max(1, math.ceil(val_fraction * n_windows)))


def train_rows(n: int, lookback: int, horizon: int, val_fraction: float, stride: int = 1) -> int:
    """How many leading rows of an ``n``-row series training may see (fit scalers on these)."""
    starts = _starts(n, lookback, horizon, stride)
    n_val = _n_val(len(starts), val_fraction)
    return n if n_val == 0 else int(starts[len(starts) - n_val]) + lookback


def rows_for_training(windows: int, lookback: int, horizon: int, val_fraction: float, stride: int = 1,
                      transform: str | None = None) -> int:
    """Fewest rows one series needs to give ``windows`` training windows."""
    n = lookback + horizon
    while True:
        starts = _starts(n, lookback, horizon, stride)
        if len(starts) - _n_val(len(starts), val_fraction) >= windows:
            return n + _rows_used(transform)
        n += 1


def min_rows(lookback: int, horizon: int, val_fraction: float, stride: int = 1,
             transform: str | None = None) -> int:
    """Fewest rows a series needs for one training window and, if ``val_fraction > 0``,
    one validation window (``diff`` and ``pct`` transforms use up one more row)."""
    extra = _rows_used(transform)
    n = lookback + horizon
    while True:
        starts = _starts(n, lookback, horizon, stride)
        n_val = _n_val(len(starts), val_fraction)
        if n_val == 0 or (len(starts) > n_val and starts[0] <= starts[len(starts) - n_val] - horizon):
            return n + extra
        n += 1


class Windows:
    """All (series, start) windows over a set of scaled arrays; see the module docstring."""

    def __init__(self, arrays: dict[str, np.ndarray], target_cols: list[int], lookback: int,
                 horizon: int, stride: int = 1, future_cols: list[int] | None = None):
        for name, v in (("lookback", lookback), ("horizon", horizon), ("stride", stride)):
            if int(v) != v or v < 1:
                raise UsageError(f"--{name} must be a whole number of 1 or more, not {v}")
        self.lookback, self.horizon, self.stride = int(lookback), int(horizon), int(stride)
        self.keys = list(arrays)
        parts = [np.asarray(a, dtype=np.float32) for a in arrays.values()]
        if not parts or any(p.ndim != 2 or p.shape[1] != parts[0].shape[1] for p in parts):
            raise ValueError("make_windows needs 2-D arrays with the same number of columns")
        self.data = np.ascontiguousarray(parts[0] if len(parts) == 1 else np.concatenate(parts))
        self.target_cols = list(target_cols)
        self.future_cols = list(future_cols or [])
        self.targets = np.ascontiguousarray(self.data[:, self.target_cols])
        self.n_inputs, self.n_targets = self.data.shape[1], len(self.target_cols)
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        self.offsets = np.r_[0, np.cumsum(lengths)]
        starts = [_starts(int(n), self.lookback, self.horizon, self.stride) for n in lengths]
        self.masked = int(np.isnan(self.targets).sum())
        if self.masked:
            starts = self._observed_starts(starts)
        self.series = np.repeat(np.arange(len(parts)), [len(s) for s in starts])
        self.starts = np.concatenate(starts)
        self._rows = self.offsets[self.series] + self.starts
        self._in = np.arange(self.lookback)
        self._out = np.arange(self.lookback, self.lookback + self.horizon)

    def _observed_starts(self, starts: list[np.ndarray]) -> list[np.ndarray]:
        """Fill missing target inputs (linear in time, per series) and keep the windows
        whose last input row is observed and at least half of whose targets are."""
        L, H = self.lookback, self.horizon
        seen = ~np.isnan(self.targets).any(axis=1)
        for i in range(len(starts)):
            a, b = int(self.offsets[i]), int(self.offsets[i + 1])
            fill_missing(self.data[a:b], self.target_cols)
            if len(starts[i]):
                ok = seen[a:b]
                counts = np.r_[0, np.cumsum(ok)]
                st = starts[i]
                enough = (counts[st + L + H] - counts[st + L]) * 2 >= H
                starts[i] = st[ok[st + L - 1] & enough]
        return starts

    def __len__(self) -> int:
        return len(self.starts)

    def take_future(self, idx: np.ndarray) -> np.ndarray | None:
        """F (len(idx), horizon * n_future): the future block's inputs, or None without one."""
        if not self.future_cols:
            return None
        rows = self._rows[np.asarray(idx, dtype=np.int64)][:, None]
        f = self.data[rows + self._out][:, :, self.future_cols]
        return np.ascontiguousarray(f.reshape(len(f), -1))

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X (len(idx), lookback, n_inputs) and Y (len(idx), horizon, n_targets), float32."""
        rows = self._rows[np.asarray(idx, dtype=np.int64)][:, None]
        return self.data[rows + self._in], self.targets[rows + self._out]

    def last_inputs(self) -> dict[str, np.ndarray]:
        """The last ``lookback`` input rows of each series: (lookback, n_inputs) for forecasting."""
        ends, lengths = self.offsets[1:], np.diff(self.offsets)
        return {k: self.data[ends[i] - self.lookback:ends[i]]
                for i, k in enumerate(self.keys) if lengths[i] >= self.lookback}

    def split(self, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
        """(train, validation) window indices; chronological per series, no leakage."""
        if not 0 <= val_fraction < 1:
            raise UsageError("the validation fraction must be at least 0 and below 1, "
                             f"not {val_fraction}")
        train, val = [], []
        bounds = np.searchsorted(self.series, np.arange(len(self.keys) + 1))
        for a, b in zip(bounds[:-1], bounds[1:]):
            n_val = _n_val(int(b - a), val_fraction)
            first_val = b - n_val
            if n_val:
                limit = self.starts[first_val] - self.horizon
                train.append(np.arange(a, a + np.searchsorted(self.starts[a:first_val], limit, "right")))
                val.append(np.arange(first_val, b))
            else:
                train.append(np.arange(a, b))
        train_idx = np.concatenate(train) if train else np.zeros(0, np.int64)
        val_idx = np.concatenate(val) if val else np.zeros(0, np.int64)
        if len(train_idx) == 0 or (val_fraction > 0 and len(val_idx) == 0):
            raise DataError(f"too little data for lookback {self.lookback} + horizon {self.horizon} "
                            f"with a validation fraction of {val_fraction}: {len(self)} windows, "
                            f"{len(train_idx)} for training (try a smaller --lookback or --horizon)")
        return train_idx, val_idx


def fill_missing(a: np.ndarray, cols) -> np.ndarray:
    """Fill NaN in columns ``cols`` of ``a`` (rows, columns) in place, linearly in time
    (the ends carry the nearest value): the inputs a masked target leaves behind."""
    for col in cols:
        v = a[:, col]
        gaps = np.isnan(v)
        if gaps.any() and not gaps.all():
            known = np.flatnonzero(~gaps)
            v[gaps] = np.interp(np.flatnonzero(gaps), known, v[known])
    return a


def make_windows(arrays: dict[str, np.ndarray], target_cols: list[int], lookback: int, horizon: int,
                 stride: int = 1, future_cols: list[int] | None = None) -> Windows:
    """Windows over ``arrays`` (series id -> (rows, n_inputs)); Y takes ``target_cols``,
    the future block ``future_cols``."""
    return Windows(arrays, target_cols, lookback, horizon, stride, future_cols)


def prepare(dataset, lookback: int, horizon: int, *, val_fraction: float = 0.2, stride: int = 1,
            scaler: str = "standard", transform: str | None = None, calendar: bool = True):
    """Dataset -> (fitted Pipeline, Windows, train indices, validation indices).

    Scalers are fitted on each series' training rows only (:func:`train_rows`).
    """
    pipe = Pipeline(dataset.targets, dataset.features, dataset.freq, scaler=scaler,
                    transform=transform, calendar=calendar)
    shift = _rows_used(transform)
    rows = {k: train_rows(len(f) - shift, lookback, horizon, val_fraction, stride)
            for k, f in dataset.series.items()}
    pipe.fit(dataset.series, rows, shared=getattr(dataset, "static", []))
    arrays = {k: pipe.to_array(k, f) for k, f in dataset.series.items()}
    nt = len(dataset.targets)
    future = [nt + dataset.features.index(c) for c in getattr(dataset, "future", [])]
    windows = make_windows(arrays, list(range(nt)), lookback, horizon, stride, future)
    train_idx, val_idx = windows.split(val_fraction)
    return pipe, windows, train_idx, val_idx
