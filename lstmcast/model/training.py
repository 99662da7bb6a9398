"""The training problem on windows: what fit, update and a Dask worker train on, and the
one place a trainer is built.

Owns the batches (:func:`taker`: windows with the per-window normalisation applied, the
targets repeated for an ensemble's members), the gradient mask (:func:`grad_mask`: an
ensemble's members stay apart, each forecast step reads its own step's covariates), the
trainer (:func:`build_trainer`), the shrinkage of the network's output after training
(:func:`shrink`) and the split of the validation windows into early-stopping and
held-out ones (:func:`holdout_split`). Plain functions over arrays and configs: the
forecaster (:mod:`lstmcast.model.forecaster`), :mod:`lstmcast.model.update` and
:mod:`lstmcast.cluster.parallel` call them openly, so the three cannot drift apart.
"""

from __future__ import annotations

import math

import numpy as np

from lstmcast.config import TrainConfig
from lstmcast.model import ensemble
from lstmcast.nn.network import Net, Spec
from lstmcast.nn.train import Trainer, unpack
from lstmcast.prep.normalize import Norm

PREDICT_BATCH = 4096  # windows per slice when predicting every validation window (bounded memory)


def taker(windows, nt: int, norm: Norm, members: int = 1):
    """take(idx) -> (X, Y[, F]) with the windows' normalisation applied (:class:`Norm`);
    for an ensemble's training, Y repeated for each member (``members``)."""
    horizon = windows.horizon

    def take(idx):
        x, y = windows.take(idx)
        f = windows.take_future(idx)
        if norm.mode != "none":
            x, base = norm.apply(x, nt, horizon, norm.keys_of(windows, idx))
            y = y - base
        y = y if members == 1 else np.concatenate([y] * members, axis=1)
        return (x, y) if f is None else (x, y, f)
    return take


def grad_mask(net: Net, members: int, nt: int, n_future: int, future_block: str) -> np.ndarray | None:
    """The flat gradient mask: an ensemble's cross-member weights, and the future block's
    weights from one step's covariates to another step's output (``future_block`` "step"),
    stay 0 (each step's forecast reads its own step's covariates: a forecast of fewer steps
    needs no covariates beyond them). None when nothing is masked."""
    if members == 1 and not (n_future and future_block == "step"):
        return None
    spec: Spec = net.spec
    flat = np.ones(net.size, dtype=net.dtype)
    named = net.unflatten(flat)
    if members > 1:
        for name, a in ensemble.mask(spec, members).items():
            named[name][...] = a
    if n_future and future_block == "step":
        H = spec.future_size // n_future
        out_step = np.tile(np.repeat(np.arange(H), nt), members)  # outputs: members, steps, targets
        in_step = np.repeat(np.arange(H), spec.future_width // H)  # inputs: steps, covariates (+ units)
        named["future.weight"][...] *= out_step[:, None] == in_step[None, :]  # within the members' blocks
    return flat


def build_trainer(net: Net, train: TrainConfig, *, dropout: float, members: int, nt: int, n_future: int,
                  future_block: str, on_epoch=None, on_batch=None, should_stop=None, snapshots: int = 1) -> Trainer:
    """The trainer of ``net`` (the only place one is made): ``train``'s schedule, the
    model's dropout, and the gradient mask of the model's members and future block."""
    return Trainer(net, train, dropout=dropout, on_epoch=on_epoch, on_batch=on_batch, should_stop=should_stop,
                   grad_mask=grad_mask(net, members, nt, n_future, future_block), snapshots=snapshots)


def predict(net: Net, members: int, x: np.ndarray, engine: str = "auto", f: np.ndarray | None = None):
    """The network's output for windows ``x`` (and future block inputs ``f``), an
    ensemble's members averaged."""
    return ensemble.combine(net.predict(x, engine=engine, f=f), members)


def shrink(net: Net, members: int, take, val_idx: np.ndarray) -> float:
    """Scale the head (and the future block) of ``net`` by the least-squares factor in
    [0, 1] on the validation windows ``val_idx``; returns the factor."""
    pp = pt = 0.0
    for a in range(0, len(val_idx), PREDICT_BATCH):
        x, y, f = unpack(take(val_idx[a:a + PREDICT_BATCH]))
        p64 = predict(net, members, x, "kernels", f).reshape(y.shape).astype(np.float64)
        seen = ~np.isnan(y)  # missing targets (--missing mask) do not count
        pp += float((p64 * p64)[seen].sum())
        pt += float((p64 * y)[seen].sum())
    factor = 1.0 if pp <= 0 else float(np.clip(pt / pp, 0.0, 1.0))
    if factor < 1.0:
        for name in ("head.weight", "head.bias", "future.weight"):
            if name in net.params:
                net.params[name][:] *= factor
    return factor


def holdout_split(windows, val_idx: np.ndarray, horizon: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """(early stopping and shrinkage windows, guard and calibration windows): with a
    holdout ``share``, the latest windows of each series are held out, and the earlier
    ones end their targets before the held-out targets begin; else both are all."""
    if share <= 0 or not len(val_idx):
        return val_idx, val_idx
    series, starts = windows.series[val_idx], windows.starts[val_idx]
    early, held = [], []
    for s in np.unique(series):
        mine = val_idx[series == s]
        st = starts[series == s]
        k = max(1, int(math.ceil(share * len(mine))))
        held.append(mine[-k:])
        early.append(mine[:-k][st[:-k] <= st[-k] - horizon])
    early_idx, held_idx = np.concatenate(early), np.concatenate(held)
    return (early_idx if len(early_idx) else held_idx), held_idx
