"""The rollout: a fitted forecaster's forecast, step by step, from its last windows.

Owns the network's steps (all series in one batch; recursive past the trained horizon,
feeding its forecasts, the static inputs, the known-ahead covariates and the calendar
back as inputs), the guard's choice applied to them, and the way back to the data's
units: the bands around the point, the refusal of absurd extrapolation and the floor
at 0. ``model`` below is a fitted :class:`~lstmcast.model.forecaster.LSTMForecaster`;
its known-ahead inputs come from :mod:`lstmcast.model.ahead`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.data.dataset import Dataset, future_index
from lstmcast.errors import DataError
from lstmcast.model import bands, calibration, combiner, guard, members, training
from lstmcast.nn.network import NUMPY_PREDICT_MAX
from lstmcast.prep.scaling import calendar_features, columns_of

# A forecast further than this many times the range of the history it continues, from
# its last value, is an extrapolation gone wrong (refused); bands are clipped there
ABSURD = 100.0
FORECAST_NUMPY_MAX = 2048  # series a forecast sends through the numpy forward pass, at most


def _network(model, x: np.ndarray, engine: str = "auto", f: np.ndarray | None = None) -> np.ndarray:
    return training.predict(model.net_, model.model_config_.ensemble, x, engine, f)


def network_steps(model, keys: list[str], tails: dict[str, pd.DataFrame], inputs: dict[str, np.ndarray],
                  horizon: int, known: np.ndarray | None = None) -> np.ndarray:
    """Scaled (transformed) target forecasts (series, horizon, targets) from each
    series' last window of ``inputs``, all series in one batch (10,000 series one at a
    time took 70 s); recursive past the trained horizon. ``known``: the future
    covariates (:func:`lstmcast.model.ahead.known_ahead`)."""
    m = model.model_config_
    L, H = m.lookback, m.horizon
    nt = len(model.targets_)
    hist = np.stack([inputs[k] for k in keys])  # (series, L, inputs)
    norm = model.norm()
    ends = [tails[k].index[-1] for k in keys]
    out = []
    while sum(o.shape[1] for o in out) < horizon:
        x = hist[:, -L:].copy()
        done = sum(o.shape[1] for o in out)
        f = None if known is None else known[:, done:done + H].reshape(len(keys), -1)
        x, base = norm.apply(x, nt, H, keys)
        if len(keys) <= NUMPY_PREDICT_MAX:  # a window at a time, as before batching: the
            # same float32 roundings, so a model forecasts the same numbers forever
            pred = np.concatenate([_network(model, x[i:i + 1], f=None if f is None else f[i:i + 1])
                                   for i in range(len(keys))])
        else:  # numpy up to a few thousand series (nothing to JIT-compile or load: a
            # forecast starts fast on a cold cache), the kernels beyond (10,000 series:
            # 0.26 s a call instead of 2-4 s)
            pred = _network(model, x, "numpy" if len(keys) <= FORECAST_NUMPY_MAX else "kernels", f)
        pred = pred.reshape(len(keys), H, nt).astype(np.float64) + base
        out.append(pred)
        if sum(o.shape[1] for o in out) >= horizon:
            break
        rows = np.zeros((len(keys), H, hist.shape[2]), dtype=np.float32)
        rows[:, :, :nt] = pred
        rows[:, :, nt:nt + len(model.features_)] = hist[:, -1:, nt:nt + len(model.features_)]  # static
        if known is not None:
            cols = [nt + model.features_.index(c) for c in model.future_]
            rows[:, :, cols] = known[:, done:done + H]
        if model.pipeline_.calendar:
            n_cal = len(model.pipeline_.calendar_names)
            steps = {}
            for i, end in enumerate(ends):
                if end not in steps:
                    future = future_index(end, model.freq_, H, model.trading_slots())
                    steps[end] = (future, calendar_features(future, model.freq_)[0])
                rows[i, :, hist.shape[2] - n_cal:] = steps[end][1]
            ends = [steps[e][0][-1] for e in ends]
        hist = np.concatenate([hist, rows], axis=1)
    return np.concatenate(out, axis=1)[:, :horizon]


def guarded(model, keys: list[str], rows: np.ndarray, inputs: dict[str, np.ndarray], scaled: np.ndarray,
            dataset: Dataset | None) -> np.ndarray:
    """The network's scaled forecasts with each series' mix applied (:mod:`lstmcast.model.combiner`:
    the guard's choice, and the statistical members where the combiner gave them weight);
    drift from the series' first row: the stored one, or ``dataset``'s when forecasting from it."""
    g = model.guard_
    mix = calibration.mix_of(g)[rows]
    if not (mix[..., 0] < 1).any():
        return scaled
    nt = len(model.targets_)
    if dataset is None:
        first, since = g["first"][rows], g["since"][rows]
    else:
        first = np.stack([model.pipeline_.to_array(k, dataset.series[k].iloc[:1])[0, :nt] for k in keys])
        since = np.array([len(dataset.series[k]) - 1 for k in keys])
    x = np.stack([inputs[k][:, :nt] for k in keys])
    base = guard.baselines(x, first, since, scaled.shape[1], model.model_config_.season)
    stats = np.zeros((len(members.NAMES), *scaled.shape))
    if getattr(model, "members_", None) is not None and combiner.uses(mix):
        fitted = member_states(model, keys, rows, dataset)
        made = members.forecast(fitted, rows, scaled.shape[1], model.pipeline_, keys)
        stats = np.stack([made[n] for n in members.NAMES])
    return combiner.mixed(np.concatenate([scaled[None], base, stats]), mix)


def member_states(model, keys: list[str], rows: np.ndarray, dataset: Dataset | None) -> members.Members:
    """The statistical members at the end of the rows forecast from: the stored states
    (no ``dataset``), moved on through ``dataset``'s rows after the model's history, or
    fitted again on ``dataset``'s rows of a series that do not continue the history or
    whose newer rows reach 0 or below (a multiplicative member cannot follow them)."""
    if dataset is None:
        return model.members_
    new, whole = [], []
    for key in keys:
        frame = dataset.series[key]
        last = model.history_[key].index[-1]
        z = members.values(model.pipeline_, key, frame, len(model.targets_))
        new.append(z[frame.index.get_loc(last) + 1:] if last in frame.index else None)
        whole.append(z)
    return members.continued(model.members_, rows, new, whole)


def in_units(model, key: str, frame: pd.DataFrame, scaled: np.ndarray, band, levels,
             notes: list[str], zeros: np.ndarray | None = None):
    """One series' forecast in the data's units: ``(point, lower, upper)`` from its scaled
    forecast and half-widths ``band`` (``(lower, upper)``, each (levels, steps, targets));
    no side of a band narrows as the step grows (at the same season position, where the
    widths follow it), absurd values are refused (:func:`sane`), a series of values that
    were never negative is floored at 0, and steps at a position where it was always 0
    (``zeros``, (steps, targets) bool) are 0 with no band."""
    anchor = model.pipeline_.anchor(frame)
    point = model.pipeline_.inverse(key, scaled, anchor)
    lo, hi = band
    period = model.model_config_.season if model.calibration_.get("positions") else 1
    lower, upper = {}, {}
    for li, level in enumerate(levels):
        lower[level] = np.minimum(model.pipeline_.inverse(key, scaled - lo[li], anchor), point)
        upper[level] = np.maximum(model.pipeline_.inverse(key, scaled + hi[li], anchor), point)
        if model.calibration_.get("monotone"):
            lower[level] = point - bands.monotone(point - lower[level], period)
            upper[level] = point + bands.monotone(upper[level] - point, period)
    lower, upper = sane(model, key, frame, point, lower, upper, notes)
    floored = np.asarray(model.nonnegative_, dtype=bool)
    below = floored & (np.nanmin(columns_of(frame, model.targets_), axis=0) < 0)
    if model.model_config_.nonnegative is None and below.any():  # the floor was the data's choice, and
        # the data now contradicts it: a forecast of 0 with a band of [0, 0] would hide that
        floored = floored & ~below
        names = ", ".join(repr(t) for t, b in zip(model.targets_, below) if b)
        notes.append(f"{'series ' + repr(key) + ': ' if key else ''}{names} went below 0 in the data "
                     "forecast from; its forecasts are not held at 0 or above (refit to decide again)")
    floor = np.where(floored, 0.0, -np.inf)
    point = np.maximum(point, floor)
    lower = {lv: np.maximum(a, floor) for lv, a in lower.items()}
    upper = {lv: np.maximum(a, floor) for lv, a in upper.items()}
    if zeros is not None:
        night = zeros & floored[None, :]
        point = np.where(night, 0.0, point)
        lower = {lv: np.where(night, 0.0, a) for lv, a in lower.items()}
        upper = {lv: np.where(night, 0.0, a) for lv, a in upper.items()}
    if not all(np.isfinite(a).all() for a in (point, *lower.values(), *upper.values())):
        raise DataError("the forecast is not finite (the model extrapolated out of range); "
                        "try --transform log, or refit on more data")
    return point, lower, upper


def sane(model, key: str, frame: pd.DataFrame, point, lower: dict, upper: dict, notes: list[str]):
    """Refuse a forecast that leaves the history's scale by ABSURD times its recent range
    (the model extrapolated: a pct forecast of -1.6e85); clip bands that do, with a note."""
    tail = columns_of(frame, model.targets_)
    last = tail[-1]
    span = np.nanmax(tail, axis=0) - np.nanmin(tail, axis=0)
    span = np.maximum(span, np.maximum(1e-9 * np.nanmax(np.abs(tail), axis=0), 1e-12))
    if model.model_config_.transform is None:  # a flat tail (zero sales for weeks): the
        # series' training spread, in original units, is the yardstick
        span = np.maximum(span, model.pipeline_.scale_[key][:len(model.targets_)])
    room = ABSURD * span
    for j, t in enumerate(model.targets_):
        far = np.abs(point[:, j] - last[j]) > room[j]
        if far.any():
            where = f"series {key!r}, " if key else ""
            raise DataError(f"{where}{t!r}: the forecast reaches {point[far, j][0]:.3g}, more than "
                            f"{ABSURD:g} times the range of its last {len(tail)} values away from "
                            f"{last[j]:.6g} (the model extrapolated; try --transform log, or refit)")
    clipped = []
    for level in lower:
        lo, hi = np.maximum(lower[level], last - room), np.minimum(upper[level], last + room)
        if (lo != lower[level]).any() or (hi != upper[level]).any():
            clipped.append(f"{level:g}%")
        lower[level], upper[level] = lo, hi
    if clipped:
        notes.append(f"{'series ' + repr(key) + ': ' if key else ''}the {', '.join(clipped)} band(s) "
                     f"reached beyond {ABSURD:g} times the recent range and were clipped there")
    return lower, upper
