"""Updating a fitted model with newer rows (``lstmcast update``), without a refit.

Owns what an update does to a fitted :class:`~lstmcast.model.forecaster.LSTMForecaster`:

* which rows are new (after each series' stored history) and the frame they continue
  (the file's own earlier rows, else the stored tail): a gap between the model's history
  and the new rows, or a series the model does not know, is a DataError;
* the training set: the windows over the new rows plus a replay of the ``REPLAY`` times
  as many rows of recent history before them, split chronologically as ``fit`` splits
  (the newest windows validate, never train);
* a short continuation of training from the stored weights, at ``LR_FACTOR`` times the
  fit's learning rate, for at most ``EPOCHS`` epochs with early stopping; the old weights
  are kept when the validation loss does not improve on theirs;
* the scaling is kept (the network's weights are in its units); new inputs far outside
  the range the network was trained on are refused (``UNSAFE``) or noted (``UNUSUAL``);
* the intervals recalibrated on the newest windows, the history tail and data summary
  replaced, and an entry in ``training_["updates"]`` (when, rows added, validation loss
  before and after);
* before any of that, the model's forecasts for the new rows are scored and added to its
  record (:mod:`lstmcast.model.monitor`), so ``check`` can judge rows the update has
  already taken into the history.

The constants' evidence is in ``benchmarks/production/update.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace as dataclass_replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from lstmcast.config import UPDATE_EPOCHS, UPDATE_LR_FACTOR, UPDATE_PATIENCE
from lstmcast.data.dataset import Dataset
from lstmcast.data.timeparse import period, season_position
from lstmcast.errors import DataError
from lstmcast.model import adaptive, calibration, combiner, members, training
from lstmcast.prep.windows import make_windows

# Chosen on the tuning half of benchmarks/production/update.py (lr x 0.1/0.3/1, replay 1/4/16, epochs
# 5/10/20; a year of weekly cron on 5 series): lr x 0.3, replay 1, 20 epochs had the lowest
# MASE relative to weekly refits (1.118 against 1.177 for the first choice, replay 4 and 10
# epochs). Replay only matters where new rows x (1 + REPLAY) exceed MIN_ROWS.
REPLAY = 1         # rows of recent history replayed per new row
MIN_ROWS = 120     # ...but at least this many rows of context, when the data has them
LR_FACTOR = UPDATE_LR_FACTOR  # the update's learning rate, as a share of the fit's
EPOCHS = UPDATE_EPOCHS        # at most, with early stopping after PATIENCE epochs without improvement
PATIENCE = UPDATE_PATIENCE
UNUSUAL = 3.0      # normalised new inputs beyond this many times the replayed ones: a note
UNSAFE = 10.0      # ...beyond this: refused (the scaling no longer fits; refit)


@dataclass
class UpdateReport:
    """What an update did (also stored, without the notes, in ``training_["updates"]``)."""
    rows_added: int
    series: list[str]
    val_loss_before: float | None = None
    val_loss_after: float | None = None
    kept_old_weights: bool = False
    epochs: int = 0
    seconds: float = 0.0
    stopped: str = "nothing-new"
    notes: list[str] = field(default_factory=list)
    scored: object = None  # the monitor's Scores of the new rows, before learning from them

    def entry(self, source: str) -> dict:
        return {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "source": source,
                "rows_added": self.rows_added, "series": len(self.series),
                "val_loss_before": self.val_loss_before, "val_loss_after": self.val_loss_after,
                "kept_old_weights": self.kept_old_weights, "epochs": self.epochs,
                "seconds": round(self.seconds, 3)}


def when(ts) -> str:
    """A timestamp for a message: the date alone at midnight (``2015-12-31``)."""
    ts = pd.Timestamp(ts)
    return str(ts.date()) if ts == ts.normalize() else ts.isoformat(sep=" ")


def continued(forecaster, dataset: Dataset) -> tuple[dict[str, pd.DataFrame], dict[str, int], list[str]]:
    """(frame per series: the model's history continued by the file's rows; new rows per
    series; notes). Checks the columns, frequency and series like ``forecast NEWDATA``."""
    forecaster.check_compatible(dataset)
    step = period(forecaster.freq_)[1]
    frames, added, notes = {}, {}, []
    for key, hist in forecaster.history_.items():
        frame = dataset.series.get(key)
        label = f"series {key!r}" if key else dataset.source
        if frame is None:
            notes.append(f"{label}: not in {dataset.source}; left as it was")
            continue
        last = hist.index[-1]
        new = frame.index > last
        added[key] = int(new.sum())
        if not added[key]:
            continue
        first_new = frame.index[new][0]
        expected = last + step if forecaster.trading_slots() is None else first_new
        if first_new > expected:
            raise DataError(f"{dataset.source}: {label} continues at {when(first_new)}, but the model's "
                            f"history ends at {when(last)}: the rows in between are missing (give them, or refit)")
        before = frame.loc[frame.index <= last]
        _check_overlap(forecaster, key, hist, before, dataset.source, label)
        if len(before) < len(hist):  # the file holds only (some of) the new rows
            older = hist.loc[hist.index < (before.index[0] if len(before) else first_new)]
            before = pd.concat([older, before])
        frames[key] = pd.concat([before, frame.loc[new]])
    return frames, added, notes


def _check_overlap(forecaster, key: str, hist: pd.DataFrame, rows: pd.DataFrame, source: str, label: str) -> None:
    """Rows of the file at times the model's history holds must say what the history says:
    a revision smaller than the series' spread (an adjusted close after a dividend) is
    data; more (every older value times 1000) is another series, which the update would
    replay and calibrate on. The spread, in the data's units: the training standard
    deviation (for a model without --transform), the stored history's, and 5 % of its
    typical magnitude, whichever is largest. Missing values are not compared."""
    targets = forecaster.targets_
    both = hist.index.intersection(rows.index)
    if not len(both):
        return
    stored = hist[targets].to_numpy(np.float64)
    old = hist.loc[both, targets].to_numpy(np.float64)
    new = rows.loc[both, targets].to_numpy(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.fmax(np.nanstd(stored, axis=0), 0.05 * np.nanmean(np.abs(stored), axis=0))
        if forecaster.model_config_.transform is None:  # the scaler's units are the data's
            spread = np.fmax(spread, np.asarray(forecaster.pipeline_.scale_[key][:len(targets)], np.float64))
        far = np.abs(new - old) > spread
    if far.any():
        i, j = map(int, np.argwhere(far)[0])
        where = f"{label}, " if key else ""
        raise DataError(f"{source}: {where}{targets[j]!r} at {when(both[i])} is {new[i, j]:.6g} in the file but "
                        f"{old[i, j]:.6g} in the model's history: the older rows contradict what the model "
                        "was trained on (refit on this file, or give the file the model was fitted on)")


def update(forecaster, dataset: Dataset, *, epochs: int | None = None, lr: float | None = None,
           on_epoch=None, on_batch=None, should_stop=None, resume=None,
           _replay: float = REPLAY, _lr_factor: float = LR_FACTOR, _shrink: bool = False) -> UpdateReport:
    """Continue training ``forecaster`` on the rows of ``dataset`` newer than its history
    (see the module docstring); changes it in place unless nothing is new or the update
    was interrupted (``report.stopped == "interrupted"``; ``forecaster.trainer_`` then
    holds the state to resume from). The underscored arguments are internal choices,
    settable for the evidence in ``benchmarks/production/update.py``."""
    from lstmcast.model import monitor

    frames, added, notes = continued(forecaster, dataset)
    report = UpdateReport(sum(added.values()), [k for k in frames], notes=notes)
    if not frames:
        return report
    report.scored = monitor.score_new(forecaster, dataset, frames, added)
    monitor.remember(forecaster, report.scored)
    if report.scored is not None and report.scored.hits:  # the bands move with the new actuals
        adaptive.step(forecaster.calibration_, report.scored.hits)
    m, t = forecaster.model_config_, forecaster.train_config_
    L, H, nt = m.lookback, m.horizon, len(forecaster.targets_)
    recent = {}
    for key, frame in frames.items():
        keep = int(max(added[key] * (1 + _replay), MIN_ROWS)) + L + H + 1
        recent[key] = frame.iloc[-keep:]
    arrays = {k: forecaster.pipeline_.to_array(k, f) for k, f in recent.items()}
    usable = {k: a for k, a in arrays.items() if len(a) >= L + H}
    if not usable:
        raise DataError(f"{dataset.source}: too few rows to update: a window needs {L + H} rows "
                        "(lookback + horizon) including the new ones; give the file with its earlier rows")
    future = [nt + forecaster.features_.index(c) for c in forecaster.future_]
    windows = make_windows(usable, list(range(nt)), L, H, m.stride, future)
    train_idx, val_idx = windows.split(max(t.val_fraction, 0.2))
    norm = forecaster.norm()
    take = training.taker(windows, nt, norm, m.ensemble)
    report.notes += _check_scale(take, train_idx, val_idx, dataset.source)

    n_updates = len(forecaster.training_.get("updates", []))
    config = dataclass_replace(t, epochs=EPOCHS if epochs is None else int(epochs),
                               lr=t.lr * _lr_factor if lr is None else float(lr), patience=PATIENCE,
                               seed=t.seed + 1 + n_updates)
    net = forecaster.net_
    old = net.theta.copy()
    trainer = training.build_trainer(net, config, dropout=m.dropout, members=m.ensemble, nt=nt,
                                     n_future=len(future), future_block=forecaster.choices.future_block,
                                     on_epoch=on_epoch, on_batch=on_batch, should_stop=should_stop)
    before = trainer.validation_loss(take, val_idx)
    if resume is not None:
        trainer.load_state(*resume)
    started = time.perf_counter()
    result = trainer.fit(take, train_idx, val_idx)
    forecaster.trainer_ = trainer
    report.stopped, report.epochs = result.stopped, result.epochs_run
    if result.stopped == "interrupted":
        net.theta[:] = old
        return report
    report.seconds = time.perf_counter() - started
    report.val_loss_before, report.val_loss_after = before, result.best_val_loss
    if not result.best_val_loss < before:
        net.theta[:] = old
        report.kept_old_weights, report.val_loss_after = True, before
    elif _shrink:  # as fit does: scale the head by the validation least-squares factor in [0, 1]
        training.shrink(net, m.ensemble, training.taker(windows, nt, norm), val_idx)
    _recalibrate(forecaster, windows, val_idx, added, recent)
    _advance_members(forecaster, frames, added)
    for key, frame in frames.items():
        forecaster.history_[key] = frame.iloc[-len(forecaster.history_[key]):].copy()
    data = forecaster.data_
    data["series"] = {**data["series"], **{k: [str(f.index[0]), str(f.index[-1]), len(f)]
                                           for k, f in dataset.series.items() if k in frames}}
    data.update(source=dataset.source, rows=dataset.n_rows, sha256=dataset.sha256)
    forecaster.training_.setdefault("updates", []).append(report.entry(dataset.source))
    return report


def _check_scale(take, train_idx, val_idx, source: str) -> list[str]:
    """Refuse (or note) new inputs far outside what the network was trained on: the update
    keeps the scaling, so they must stay in the range its units were made for."""
    def reach(idx):
        x = take(idx)[0]
        return float(np.abs(x).max()) if x.size else 0.0

    old, new = reach(train_idx[: max(1, len(train_idx) // 2)]), reach(val_idx)
    ratio = new / max(old, 1e-6)
    if ratio > UNSAFE:
        raise DataError(f"{source}: the new rows reach {ratio:.0f} times further (in the model's scaled units) "
                        "than the history before them: the model's scaling no longer fits; refit with "
                        "lstmcast fit")
    if ratio > UNUSUAL:
        return [f"{source}: the new rows reach {ratio:.1f} times further than the history before them "
                "(in the model's scaled units); the update keeps the scaling, but consider a refit"]
    return []


def _recalibrate(forecaster, windows, val_idx, added: dict[str, int], recent: dict[str, pd.DataFrame]) -> None:
    """Conformal residuals of the combined forecasts (the guard's and combiner's choices are
    kept) from the newest windows first, the stored ones filling up to the stored count (the
    calibration set keeps its size, and its floor): the newest windows alone when they are
    as many. Where the combiner weighs statistical members, only windows whose forecasts
    start in the new rows count (the members' states before them are not kept).
    Also moves each series' drift count on by its new rows."""
    g = forecaster.guard_
    g["since"][forecaster.series_rows(list(added))] += np.array(list(added.values()), dtype=np.int64)
    val_idx, stats = _member_forecasts(forecaster, windows, val_idx, added, recent)
    if not len(val_idx):
        return
    rows = forecaster.series_rows(windows.keys)
    row0 = g["since"][rows] - (np.diff(windows.offsets) - 1)
    result = calibration.scored(forecaster.net_, forecaster.model_config_, len(forecaster.targets_), windows,
                                val_idx, g["first"][rows], row0, forecaster.norm())
    if stats is not None:
        result = result._replace(members=stats)
    r, change, kept = calibration.guarded_residuals(result, g, rows)
    stored = forecaster.residuals_
    keep = len(stored) or len(r)
    scores = calibration.scale(r, change, forecaster.calibration_)
    forecaster.residuals_ = np.concatenate([stored, scores])[-keep:].astype(np.float32)
    if getattr(forecaster, "positions_", None) is not None:
        season = forecaster.model_config_.season
        skip = windows.lookback + (1 if forecaster.model_config_.transform in ("diff", "pct") else 0)
        first = np.array([season_position(recent[k].index[windows.starts[w] + skip:][:1],
                                          forecaster.freq_, season)[0]
                          for k, w in zip(np.asarray(windows.keys)[windows.series[val_idx]], val_idx)], np.int64)
        forecaster.positions_ = np.concatenate([forecaster.positions_, first[kept]])[-keep:]


def _member_forecasts(forecaster, windows, val_idx: np.ndarray, added: dict[str, int],
                      recent: dict[str, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray | None]:
    """``(windows, their statistical members' forecasts (2, n, H, nt))`` for the
    recalibration; ``(val_idx, None)`` when the combiner weighs no member."""
    fitted = getattr(forecaster, "members_", None)
    if fitted is None or not combiner.uses(calibration.mix_of(forecaster.guard_)):
        return val_idx, None
    L, H, nt = windows.lookback, windows.horizon, len(forecaster.targets_)
    rows = forecaster.series_rows(windows.keys)
    kept, parts = [], {n: [] for n in members.NAMES}
    for s, key in enumerate(windows.keys):
        mine = val_idx[windows.series[val_idx] == s]
        old_end = int(windows.offsets[s + 1] - windows.offsets[s]) - added.get(key, 0)
        origins = windows.starts[mine] + L - old_end
        mine, origins = mine[origins >= 0], origins[origins >= 0]
        if not len(mine):
            continue
        new = members.values(forecaster.pipeline_, key, recent[key], nt)[old_end:]
        center, scale = forecaster.pipeline_.center_[key][:nt], forecaster.pipeline_.scale_[key][:nt]
        made = members.held_forecasts(fitted, [rows[s]], [new], [origins], H, [center], [scale])
        kept.append(mine)
        for n in members.NAMES:
            parts[n].append(made[n][0])
    if not kept:
        return np.zeros(0, np.int64), None
    return np.concatenate(kept), np.stack([np.concatenate(parts[n]) for n in members.NAMES])


def _advance_members(forecaster, frames: dict[str, pd.DataFrame], added: dict[str, int]) -> None:
    """The statistical members moved on through each series' new rows (fitted again on
    the rows the update sees where a multiplicative member cannot follow them)."""
    if getattr(forecaster, "members_", None) is None:
        return
    keys = [k for k in frames if added.get(k)]
    whole = [members.values(forecaster.pipeline_, k, frames[k], len(forecaster.targets_)) for k in keys]
    forecaster.members_ = members.continued(forecaster.members_, forecaster.series_rows(keys),
                                            [z[-added[k]:] for k, z in zip(keys, whole)], whole)
